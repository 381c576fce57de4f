"""The after-call summary (edge.stages.summary): scripted event streams in, one
call.summary.final out; and through CallSignals, just before the call ends."""

from __future__ import annotations

import pytest

from edge.events import (
    CallStarted,
    CallSummaryFinal,
    CallTriage,
    CueCleared,
    CueKind,
    CueLevel,
    CueRaised,
    Event,
    FinalReason,
    SpeechEnded,
    TranscriptFinal,
    TriageLabel,
    VoiceEmotion,
)
from edge.stages.conversation import ConversationOptions
from edge.stages.cues import CueOptions
from edge.stages.signals import CallSignals
from edge.stages.summary import Summarizer, SummaryOptions
from edge.types import Role

BOTH = (Role.CALLER, Role.AGENT)


def voice(t: float, distress: float, *, repeated: bool = False) -> VoiceEmotion:
    return VoiceEmotion(
        stream_time=t,
        role=Role.CALLER,
        start=t - 3.0,
        end=t,
        probs=(("neutral", 1.0 - distress), ("fearful", distress)),
        distress=distress,
        arousal=0.5,
        window_repeated=repeated,
    )


def raised(t: float, cue_id: int, kind: CueKind, level: CueLevel) -> CueRaised:
    return CueRaised(
        stream_time=t,
        role=Role.CALLER,
        cue=kind,
        cue_id=cue_id,
        level=level,
        score=0.7,
        message="m",
    )


def cleared(t: float, cue_id: int, kind: CueKind, duration: float) -> CueCleared:
    return CueCleared(stream_time=t, role=Role.CALLER, cue=kind, cue_id=cue_id, duration=duration)


def speech(role: Role, start: float, end: float) -> SpeechEnded:
    return SpeechEnded(stream_time=end + 0.5, role=role, utterance=0, start=start, end=end)


def final(role: Role, start: float, end: float, text: str) -> TranscriptFinal:
    return TranscriptFinal(
        stream_time=end + 0.5,
        role=role,
        utterance=0,
        text=text,
        start=start,
        end=end,
        confidence=0.9,
        reason=FinalReason.PAUSE,
    )


def summarize(events: list[Event], now: float, **options: float) -> CallSummaryFinal:
    s = Summarizer(SummaryOptions(**options))  # type: ignore[arg-type]
    for event in events:
        s.feed(event)
    summary = s.summary(now)
    assert summary is not None
    return summary


def test_a_distressed_call_that_calms_down():
    """Triage, time distressed, peak and a calmer ending, the cues once each with their
    highest level: a caller distressed for 40 s who ends calm."""
    events: list[Event] = [
        CallStarted(stream_time=0.0, channels=BOTH),
        CallTriage(
            stream_time=5.0, role=Role.CALLER, label=TriageLabel.ROUTINE, topic="refill", score=0.1
        ),
        voice(10.0, 0.2),
        raised(20.0, 1, CueKind.CALLER_DISTRESSED, CueLevel.ELEVATED),
        CallTriage(
            stream_time=20.0, role=Role.CALLER, label=TriageLabel.SENSITIVE, topic="distress",
            score=1.0,
        ),
        voice(25.0, 0.9),
        raised(26.0, 1, CueKind.CALLER_DISTRESSED, CueLevel.HIGH),  # the same cue, risen
        raised(27.0, 2, CueKind.AGENT_SPEAKING_FAST, CueLevel.NOTICE),
        cleared(60.0, 1, CueKind.CALLER_DISTRESSED, 40.0),
        cleared(62.0, 2, CueKind.AGENT_SPEAKING_FAST, 35.0),
        voice(80.0, 0.3),
        voice(90.0, 0.2),
        voice(90.25, 0.95, repeated=True),  # an utterance reading: not a window's
    ]  # fmt: skip
    s = summarize(events, 95.0, ending=30.0)
    assert (s.triage, s.topic) == ("sensitive", "distress")
    assert s.distressed_s == 40.0
    assert (s.peak_distress, s.peak_at) == (0.9, 25.0)
    assert s.end_distress == pytest.approx(0.25)  # the readings of 80 and 90 s
    assert s.calmer_at_end is True
    assert s.cues == ("caller_distressed", "agent_speaking_fast") and s.high_cues == 1
    assert s.duration == 95.0 and s.role is None


def test_a_caller_still_distressed_at_the_end_is_not_calmer():
    """Ending near the peak: calmer_at_end false; a distress cue still active counts to
    the end."""
    events: list[Event] = [
        CallStarted(stream_time=0.0, channels=BOTH),
        voice(10.0, 0.7),
        raised(12.0, 1, CueKind.CALLER_DISTRESSED, CueLevel.ELEVATED),
        voice(20.0, 0.8),
    ]
    s = summarize(events, 30.0)
    assert s.distressed_s == 18.0
    assert s.calmer_at_end is False and s.end_distress == pytest.approx(0.75)


def test_agent_talk_share_and_pace():
    """The agent's share of both parties' speech, and their words a minute in finals."""
    events: list[Event] = [
        CallStarted(stream_time=0.0, channels=BOTH),
        speech(Role.CALLER, 0.0, 10.0),
        speech(Role.AGENT, 11.0, 41.0),
        final(Role.AGENT, 11.0, 21.0, " ".join(["word"] * 30)),  # 30 words in 10 s
        final(Role.CALLER, 0.0, 10.0, "I'd like to book an appointment."),
    ]
    s = summarize(events, 45.0)
    assert s.agent_talk_share == 0.75
    assert s.agent_wpm == 180.0


def test_what_a_call_gave_nothing_for_is_null():
    """A caller-only call with no voice readings: no share, no pace, no distress figures."""
    s = summarize([CallStarted(stream_time=0.0, channels=(Role.CALLER,))], 12.0)
    assert (s.triage, s.topic, s.cues, s.high_cues, s.distressed_s) == ("", "", (), 0, 0.0)
    for field in ("peak_distress", "peak_at", "end_distress", "calmer_at_end"):
        assert getattr(s, field) is None, field
    assert s.agent_talk_share is None and s.agent_wpm is None


def test_disabled_sends_nothing_and_reset_forgets():
    """enabled = false: no summary; reset: a new call starts empty."""
    assert Summarizer(SummaryOptions(enabled=False)).summary(5.0) is None
    s = Summarizer(SummaryOptions())
    s.feed(raised(1.0, 1, CueKind.LONG_SILENCE, CueLevel.NOTICE))
    s.reset()
    summary = s.summary(2.0)
    assert summary is not None and summary.cues == ()


def test_call_signals_sends_the_summary_last_after_the_final_clears():
    """Through CallSignals: flush clears the active cues, then the summary (which
    counts them) comes last; the triage it reports is the one CallSignals sent."""
    signals = CallSignals(ConversationOptions(), CueOptions())
    signals.observe(CallStarted(stream_time=0.0, channels=BOTH))
    said = final(Role.CALLER, 1.0, 3.0, "My husband isn't breathing")
    out = signals.observe(said)
    assert any(isinstance(e, CallTriage) for e in out)
    ended = signals.flush(10.0)
    assert isinstance(ended[-1], CallSummaryFinal)
    assert any(isinstance(e, CueCleared) for e in ended[:-1])
    summary = ended[-1]
    assert summary.cues == ("possible_emergency",) and summary.high_cues == 1
    assert (summary.triage, summary.topic) == ("sensitive", "emergency")
