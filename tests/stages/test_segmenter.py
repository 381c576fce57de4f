import itertools

import pytest

from edge.errors import ConfigError
from edge.events import FinalReason, SpeechEnded, SpeechStarted
from edge.stages.segmenter import Segmenter, VadOptions
from edge.types import FRAME_SECONDS
from tests.stages.scripted import frames, seconds


def run(probs, options=None):
    seg = Segmenter(options or VadOptions())
    events = []
    for frame, p in frames(probs):
        events += seg.feed(frame, p)
    return seg, events


def test_speech_between_pauses_is_one_utterance_with_padding():
    """1 s of silence, 2 s of speech, 1 s of silence: one utterance, 0.2 s padded each side."""
    seg, events = run([0.0] * seconds(1) + [0.9] * seconds(2) + [0.0] * seconds(1))
    started, ended = events
    assert isinstance(started, SpeechStarted) and isinstance(ended, SpeechEnded)
    assert started.start == pytest.approx(1.0, abs=FRAME_SECONDS)
    assert ended.end == pytest.approx(3.0, abs=FRAME_SECONDS)
    # the end is decided after min_silence, not before
    assert ended.stream_time == pytest.approx(3.5, abs=2 * FRAME_SECONDS)
    (closed,) = seg.closed
    assert closed.reason is FinalReason.PAUSE
    assert closed.utterance.start == pytest.approx(0.8, abs=2 * FRAME_SECONDS)
    assert closed.utterance.end == pytest.approx(3.2, abs=2 * FRAME_SECONDS)


def test_short_blips_are_not_speech():
    """A 0.1 s click produces no events and no utterance."""
    seg, events = run([0.0] * 10 + [0.95] * 3 + [0.0] * 40)
    assert events == [] and not seg.closed


def test_short_pause_inside_speech_does_not_split_it():
    """A 0.3 s pause (under min_silence) keeps one utterance."""
    _, events = run([0.9] * seconds(1) + [0.1] * seconds(0.3) + [0.9] * seconds(1) + [0.0] * 30)
    assert [type(e) for e in events] == [SpeechStarted, SpeechEnded]


def test_hysteresis_keeps_speech_between_the_two_thresholds():
    """Probabilities between release (0.35) and threshold (0.5) do not end speech."""
    _, events = run([0.9] * 10 + [0.4] * 40 + [0.0] * 30)
    assert [type(e) for e in events] == [SpeechStarted, SpeechEnded]
    assert events[1].end == pytest.approx(50 * FRAME_SECONDS, abs=FRAME_SECONDS)


def test_long_speech_is_cut_at_max_utterance_at_its_quietest_point():
    """45 s of speech with dips makes finals of at most max_utterance, cut at the dips."""
    probs = []
    for i in range(seconds(45)):
        probs.append(0.55 if i % seconds(7) == 0 else 0.9)
    options = VadOptions(max_utterance=10.0, split_search=4.0)
    seg, events = run(probs, options)
    closed = list(seg.closed)
    assert [c.reason for c in closed] == [FinalReason.MAX_DURATION] * len(closed)
    assert len(closed) >= 4
    for c in closed:
        assert c.utterance.end - c.utterance.start <= 10.0 + FRAME_SECONDS
    # cut right after a dip (every 7 s)
    assert closed[0].utterance.end == pytest.approx(7.0 + FRAME_SECONDS, abs=FRAME_SECONDS)
    assert [type(e) for e in events] == [SpeechStarted]
    indices = [c.utterance.index for c in closed]
    assert indices == sorted(set(indices))
    # no audio lost or repeated between consecutive pieces
    for a, b in itertools.pairwise(closed):
        assert b.utterance.start == pytest.approx(a.utterance.end)


def test_flush_closes_open_speech_as_end_of_stream():
    """Audio that stops mid-speech still gets its utterance."""
    seg, _ = run([0.9] * seconds(2))
    (ended,) = seg.flush(2.0)
    assert isinstance(ended, SpeechEnded)
    assert seg.closed[0].reason is FinalReason.END_OF_STREAM


def test_options_out_of_range_name_the_setting():
    """A threshold of 2 is refused with the setting's name."""
    with pytest.raises(ConfigError, match=r"vad\.threshold"):
        VadOptions(threshold=2.0)
