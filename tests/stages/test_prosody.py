import dataclasses
import time

import numpy as np
import pytest

from edge.audio.frames import Framer
from edge.errors import ConfigError
from edge.events import FinalReason, ProsodyUpdate, TranscriptFinal, Word
from edge.stages.prosody import ProsodyOptions, ProsodyTracker, Yin, speaking_rate
from edge.types import FRAME_SECONDS, SAMPLE_RATE, Role

SYLLABLE = 0.25  # seconds


def harmonic(f0, seconds, db, phase=0.0):
    """A voiced-like tone: f0 and six harmonics falling 1/h, at ``db`` dBFS RMS."""
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tone = sum(np.sin(2 * np.pi * h * f0 * t + phase * h) / h for h in range(1, 8))
    return tone / np.sqrt(np.mean(tone**2)) * 10 ** (db / 20)


def speech(seconds, *, f0, db, rng):
    """Syllables of a harmonic tone whose pitch (±0.5 st) and level (±1.5 dB) vary a little."""
    parts = []
    for _ in range(round(seconds / SYLLABLE)):
        f = f0 * 2 ** (rng.normal(0, 0.5) / 12)
        level = db + rng.normal(0, 1.5)
        t = np.arange(round(SYLLABLE * SAMPLE_RATE)) / SAMPLE_RATE
        envelope = 0.6 + 0.4 * np.sin(np.pi * t / SYLLABLE)
        syllable = harmonic(f, SYLLABLE, 0.0, phase=rng.uniform(0, 6)) * envelope
        parts.append(syllable / np.sqrt(np.mean(syllable**2)) * 10 ** (level / 20))
    return np.concatenate(parts).astype(np.float32)


class Channel:
    """Frames one channel's audio with the VAD verdict given per stretch."""

    def __init__(self, options=None):
        self.tracker = ProsodyTracker(Role.CALLER, options or ProsodyOptions())
        self.framer = Framer(Role.CALLER)
        self.updates: list[ProsodyUpdate] = []

    def say(self, samples):
        for frame in self.framer.feed(np.asarray(samples, dtype=np.float32)):
            self.updates += self.tracker.feed(frame, True)

    def pause(self, seconds):
        for frame in self.framer.feed(np.zeros(round(seconds * SAMPLE_RATE), np.float32)):
            self.updates += self.tracker.feed(frame, False)

    def talk(self, seconds, *, f0, db, rng, turn=3.0, gap=0.5):
        """``seconds`` of speech in turns of ``turn`` seconds with ``gap`` pauses."""
        while seconds > 0:
            self.say(speech(min(turn, seconds), f0=f0, db=db, rng=rng))
            self.pause(gap)
            seconds -= turn


def final(words, utterance=0):
    return TranscriptFinal(
        stream_time=words[-1].end,
        role=Role.CALLER,
        utterance=utterance,
        text=" ".join(w.text for w in words),
        start=words[0].start,
        end=words[-1].end,
        confidence=0.9,
        reason=FinalReason.PAUSE,
        words=tuple(words),
    )


def words_at(start, count, each):
    return [Word("w", start + i * each, start + (i + 1) * each, 0.9) for i in range(count)]


@pytest.mark.parametrize("f0", [70.0, 120.0, 200.0, 320.0, 480.0])
def test_yin_reads_the_pitch_of_a_harmonic_tone(f0):
    """A harmonic tone at f0 reads f0 within 1 %, for deep and high voices alike."""
    yin = Yin(60.0, 500.0, 0.2)
    estimates = yin(harmonic(f0, 0.2, -20.0).astype(np.float32))
    assert estimates == pytest.approx([f0, f0], rel=0.01)


def test_yin_finds_no_pitch_in_noise():
    """White noise is unvoiced."""
    noise = np.random.default_rng(1).normal(0, 0.1, 4000).astype(np.float32)
    assert np.isnan(Yin(60.0, 500.0, 0.2)(noise)).all()


def test_yin_finds_no_false_pitch_in_silence_or_at_an_onset():
    """Digital silence is unvoiced; across an onset a window is unvoiced or reads right."""
    yin = Yin(60.0, 500.0, 0.2)
    assert np.isnan(yin(np.zeros(2048, np.float32))).all()
    for voiced in (0.01, 0.02, 0.03, 0.04, 0.05):
        onset = np.concatenate([np.zeros(2048), harmonic(140.0, voiced, -20.0)])
        for f in yin(onset.astype(np.float32)):
            assert np.isnan(f) or f == pytest.approx(140.0, rel=0.02), (voiced, f)


def test_turns_and_pauses_do_not_widen_the_pitch_spread():
    """A speaker varying ±0.5 semitone, in turns with pauses, keeps a spread under 1 semitone."""
    ch = Channel()
    ch.talk(20.0, f0=140.0, db=-26.0, rng=np.random.default_rng(13), turn=1.5, gap=0.5)
    assert max(u.pitch_spread for u in ch.updates) < 1.0


def test_a_200_hz_tone_reads_200_hz_at_its_level():
    """Speech-like syllables around 200 Hz at -20 dBFS read ~200 Hz and ~-20 dB."""
    ch = Channel()
    ch.say(speech(4.0, f0=200.0, db=-20.0, rng=np.random.default_rng(2)))
    last = ch.updates[-1]
    assert last.pitch_hz == pytest.approx(200.0, rel=0.03)
    assert last.loudness_db == pytest.approx(-20.0, abs=1.0)
    assert 0 < last.pitch_spread < 1.0
    assert last.pause_ratio == 0.0
    assert last.role is Role.CALLER and last.end - last.start == pytest.approx(3.0, abs=0.05)


def test_noise_has_loudness_but_no_pitch():
    """Unvoiced speech (noise) still gets loudness; its pitch and pitch z are None."""
    ch = Channel()
    ch.say(np.random.default_rng(3).normal(0, 0.05, 3 * SAMPLE_RATE))
    last = ch.updates[-1]
    assert last.pitch_hz is None and last.pitch_z is None and last.pitch_spread is None
    assert last.loudness_db == pytest.approx(-26.0, abs=1.0)


def test_updates_come_once_per_second_of_speech_not_of_silence():
    """10 s of speech spread over 15 s gives about 10 updates; silence alone gives none."""
    ch = Channel()
    ch.pause(5.0)
    assert ch.updates == []
    ch.talk(10.0, f0=150.0, db=-25.0, rng=np.random.default_rng(4), turn=2.0, gap=1.0)
    assert 9 <= len(ch.updates) <= 10
    times = [u.stream_time for u in ch.updates]
    assert times == sorted(times) and times[0] >= 5.0


def test_pause_ratio_is_the_share_of_the_window_not_spoken():
    """Half a second on, half a second off reads a pause ratio near one half."""
    ch = Channel()
    ch.talk(8.0, f0=150.0, db=-25.0, rng=np.random.default_rng(5), turn=0.5, gap=0.5)
    assert ch.updates[-1].pause_ratio == pytest.approx(0.5, abs=0.15)


def test_baseline_is_flagged_until_enough_speech():
    """Updates in the first 20 s of speech say baseline_ready=False, later ones True."""
    ch = Channel()
    ch.talk(30.0, f0=150.0, db=-25.0, rng=np.random.default_rng(6))
    # one update per second of speech (31 frames: 0.992 s)
    assert [u.baseline_ready for u in ch.updates[:19]] == [False] * 19
    assert [u.baseline_ready for u in ch.updates[21:]] == [True] * len(ch.updates[21:])


def test_raising_pitch_and_loudness_after_the_baseline_gives_positive_z():
    """After 25 s at 140 Hz and -26 dB, speech at 190 Hz and -18 dB is several spreads higher."""
    rng = np.random.default_rng(7)
    ch = Channel()
    ch.talk(25.0, f0=140.0, db=-26.0, rng=rng)
    calm = ch.updates[-1]
    assert calm.baseline_ready
    assert abs(calm.pitch_z) < 1.0 and abs(calm.loudness_z) < 1.0
    ch.talk(4.0, f0=190.0, db=-18.0, rng=rng, turn=4.0)
    raised = ch.updates[-1]
    assert raised.pitch_z > 2.0 and raised.loudness_z > 2.0


def test_a_loud_steady_speaker_reads_as_usual_for_them():
    """Someone who always speaks at -6 dBFS has z-scores near 0, like a quiet one."""
    for db in (-6.0, -36.0):
        ch = Channel()
        ch.talk(40.0, f0=110.0, db=db, rng=np.random.default_rng(8))
        later = [u for u in ch.updates if u.baseline_ready]
        assert later[-1].loudness_db == pytest.approx(db, abs=1.5)
        for u in later:
            assert abs(u.loudness_z) < 1.5 and abs(u.pitch_z) < 1.5, (db, u)


def test_speaking_rate_comes_from_finals_and_faster_speech_has_positive_z():
    """Finals at 2.5 words/s set the rate; a final at 5 words/s then has a positive rate z."""
    rng = np.random.default_rng(9)
    ch = Channel()
    t = 0.0
    for i in range(8):
        ch.talk(3.0, f0=150.0, db=-25.0, rng=rng, gap=0.0)
        ch.tracker.feed_final(final(words_at(t, 7, 0.4), utterance=i))  # 2.5 words/s
        t += 3.0
    assert ch.updates[-1].rate_wps == pytest.approx(2.5, abs=0.05)
    ch.talk(3.0, f0=150.0, db=-25.0, rng=rng, gap=0.0)
    ch.tracker.feed_final(final(words_at(t, 15, 0.2), utterance=8))  # 5 words/s
    ch.talk(1.0, f0=150.0, db=-25.0, rng=rng, gap=0.0)
    assert ch.updates[-1].rate_wps > 2.5 and ch.updates[-1].rate_z > 1.0


def test_speaking_rate_is_forgotten_without_recent_finals():
    """After rate_window seconds without finals the rate is unknown again."""
    rng = np.random.default_rng(14)
    ch = Channel()
    ch.talk(3.0, f0=150.0, db=-25.0, rng=rng, gap=0.0)
    ch.tracker.feed_final(final(words_at(0.0, 7, 0.4)))
    ch.tracker.feed_final(dataclasses.replace(final(words_at(0.0, 30, 0.1)), role=Role.AGENT))
    ch.talk(1.0, f0=150.0, db=-25.0, rng=rng, gap=0.0)
    assert ch.updates[-1].rate_wps == pytest.approx(2.5)  # the agent's final did not count
    ch.pause(25.0)
    ch.talk(2.0, f0=150.0, db=-25.0, rng=rng, gap=0.0)
    assert ch.updates[-1].rate_wps is None and ch.updates[-1].rate_z is None


def test_speaking_rate_leaves_out_one_word_utterances():
    """'Okay.' says nothing about pace: only longer utterances count."""
    utterances = [words_at(0.0, 4, 0.5), words_at(3.0, 1, 0.1)]
    assert speaking_rate(utterances, since=-1.0) == (4, pytest.approx(2.0))


def test_flush_describes_the_last_speech_and_reset_forgets_the_speaker():
    """flush() emits an update for the tail; after reset() the baseline starts again."""
    ch = Channel()
    ch.talk(25.0, f0=150.0, db=-25.0, rng=np.random.default_rng(10))
    ch.say(speech(0.5, f0=150.0, db=-25.0, rng=np.random.default_rng(11)))
    (tail,) = ch.tracker.flush()
    assert tail.baseline_ready
    assert ch.tracker.flush() == []
    ch.tracker.reset()
    assert not ch.tracker.baseline_ready


def test_cost_per_frame_is_well_under_a_millisecond():
    """Tracking 20 s of speech costs under 1 ms of CPU per 32 ms frame on average."""
    audio = speech(20.0, f0=150.0, db=-25.0, rng=np.random.default_rng(12))
    tracker = ProsodyTracker(Role.CALLER, ProsodyOptions())
    frames = Framer(Role.CALLER).feed(audio)
    started = time.process_time()
    for frame in frames:
        tracker.feed(frame, True)
    per_frame = (time.process_time() - started) / len(frames)
    assert per_frame < 1e-3, f"{per_frame * 1e3:.2f} ms per frame"
    assert len(frames) == round(20.0 / FRAME_SECONDS)


def test_options_out_of_range_name_the_setting():
    """fmin above fmax is refused with the setting's name."""
    with pytest.raises(ConfigError, match=r"prosody\.fmin"):
        ProsodyOptions(fmin=600.0)
