import dataclasses

import pytest

from edge.errors import ConfigError
from edge.events import FinalReason, SpeechEnded, SpeechStarted, TranscriptFinal, Word
from edge.stages.conversation import ConversationOptions, ConversationTracker
from edge.types import Role

CALLER, AGENT = Role.CALLER, Role.AGENT


def started(role, start):
    # speech.started comes min_speech (0.25 s) after the speech began
    return SpeechStarted(stream_time=start + 0.25, role=role, utterance=0, start=start)


def ended(role, start, end):
    # speech.ended comes min_silence (0.5 s) after the speech stopped
    return SpeechEnded(stream_time=end + 0.5, role=role, utterance=0, start=start, end=end)


def turn(tracker, role, start, end):
    tracker.feed(started(role, start))
    tracker.feed(ended(role, start, end))


def agent_final(start, count, each):
    words = tuple(Word("w", start + i * each, start + (i + 1) * each, 0.9) for i in range(count))
    return TranscriptFinal(
        stream_time=words[-1].end + 0.6,
        role=AGENT,
        utterance=0,
        text=" ".join(w.text for w in words),
        start=words[0].start,
        end=words[-1].end,
        confidence=0.9,
        reason=FinalReason.PAUSE,
        words=words,
    )


def tracker(**options):
    return ConversationTracker(ConversationOptions(**options))


def test_silence_counts_from_the_last_speech_once_someone_has_spoken():
    """No silence before the first speech or while someone talks; then it grows."""
    t = tracker()
    assert t.observe(30.0).silence == 0.0  # ringing, on hold: not yet a conversation
    t.feed(started(CALLER, 31.0))
    assert t.observe(33.0).silence == 0.0 and t.observe(33.0).caller_speaking
    t.feed(ended(CALLER, 31.0, 34.0))
    assert t.observe(34.5).silence == pytest.approx(0.5)
    assert t.observe(46.0).silence == pytest.approx(12.0)
    t.feed(started(AGENT, 46.0))
    assert t.observe(46.3).silence == 0.0


def test_overtalk_counts_while_both_speak():
    """Overtalk runs from the later of two starts and stops when either ends."""
    t = tracker()
    t.feed(started(CALLER, 10.0))
    assert t.observe(11.0).overtalk == 0.0
    t.feed(started(AGENT, 11.0))
    seen = t.observe(13.5)
    assert seen.overtalk == pytest.approx(2.5) and seen.caller_speaking and seen.agent_speaking
    t.feed(ended(AGENT, 11.0, 14.0))
    assert t.observe(14.5).overtalk == 0.0


def test_agent_talk_ratio_is_its_share_of_talk_in_the_window():
    """30 s of agent and 10 s of caller in the last minute: the agent has 75 %."""
    t = tracker()
    turn(t, CALLER, 0.0, 5.0)  # outside the 60 s window by the end
    turn(t, AGENT, 20.0, 50.0)
    turn(t, CALLER, 50.0, 60.0)
    assert t.observe(75.0).agent_talk_ratio == pytest.approx(0.75)


def test_agent_talk_ratio_needs_enough_talk():
    """With under min_talk seconds of talk there is no ratio yet."""
    t = tracker()
    turn(t, AGENT, 0.0, 4.0)
    turn(t, CALLER, 4.0, 8.0)
    assert t.observe(9.0).agent_talk_ratio is None


def test_open_speech_counts_in_the_talk_ratio_up_to_now():
    """An agent still talking counts until the moment of the observation."""
    t = tracker()
    turn(t, CALLER, 0.0, 10.0)
    t.feed(started(AGENT, 10.0))
    assert t.observe(40.0).agent_talk_ratio == pytest.approx(0.75)


def test_agent_rate_comes_from_recent_agent_finals():
    """Agent finals at 4 words/s over 12 s read 4 words/s; the caller's finals do not count."""
    t = tracker()
    for start in (0.0, 4.0, 8.0):
        t.feed(agent_final(start, 16, 0.25))
    t.feed(dataclasses.replace(agent_final(0.0, 20, 0.1), role=CALLER))
    assert t.observe(13.0).agent_rate_wps == pytest.approx(4.0)


def test_agent_rate_needs_enough_recent_speech():
    """Under rate_min_speech seconds of agent words there is no rate; old words age out."""
    t = tracker()
    t.feed(agent_final(0.0, 12, 0.5))  # 6 s
    assert t.observe(7.0).agent_rate_wps is None
    t.feed(agent_final(7.0, 12, 0.5))  # 12 s in all
    assert t.observe(14.0).agent_rate_wps == pytest.approx(2.0)
    assert t.observe(60.0).agent_rate_wps is None


def test_flush_closes_open_speech_and_reset_forgets_the_call():
    """After flush() no one is speaking; after reset() there is no history."""
    t = tracker(min_talk=5.0)
    t.feed(started(CALLER, 0.0))
    t.feed(started(AGENT, 1.0))
    t.flush(5.0)
    seen = t.observe(5.0)
    assert not seen.caller_speaking and not seen.agent_speaking and seen.overtalk == 0.0
    assert seen.agent_talk_ratio == pytest.approx(4.0 / 9.0)
    t.reset()
    seen = t.observe(6.0)
    assert seen.silence == 0.0 and seen.agent_talk_ratio is None


def test_options_out_of_range_name_the_setting():
    """A rate window of 0 s is refused with the setting's name."""
    with pytest.raises(ConfigError, match=r"conversation\.rate_window"):
        ConversationOptions(rate_window=0.0)
