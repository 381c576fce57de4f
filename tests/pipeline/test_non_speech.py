"""No transcript from silence, noise, tones or music: Whisper's classic hallucinations."""

import numpy as np
import pytest

from edge.events import TranscriptFinal, TranscriptPartial
from tests.helpers import run_file, write_audio

pytestmark = pytest.mark.slow

RATE = 16000
SECONDS = 20


def silence(rng):
    return np.zeros(RATE * SECONDS)


def white_noise(rng):
    return 0.1 * rng.standard_normal(RATE * SECONDS)


def tone_440(rng):
    t = np.arange(RATE * SECONDS) / RATE
    return 0.3 * np.sin(2 * np.pi * 440 * t)


def music_like(rng):
    """Hold music: chords with harmonics changing every half second, a beat, a little noise."""
    t = np.arange(RATE * SECONDS) / RATE
    out = np.zeros_like(t)
    chords = [
        (261.6, 329.6, 392.0),
        (220.0, 261.6, 329.6),
        (174.6, 220.0, 261.6),
        (196.0, 246.9, 293.7),
    ]
    for k, start in enumerate(np.arange(0, SECONDS, 0.5)):
        sel = (t >= start) & (t < start + 0.5)
        env = np.exp(-3 * (t[sel] - start))
        for f in chords[k % 4]:
            for h in (1, 2, 3):
                out[sel] += env * np.sin(2 * np.pi * f * h * t[sel]) / (h * 6)
        beat = sel & (t < start + 0.05)
        out[beat] += 0.3 * rng.standard_normal(beat.sum())
    return out + 0.01 * rng.standard_normal(len(t))


@pytest.mark.parametrize(
    "make", [silence, white_noise, tone_440, music_like], ids=lambda f: f.__name__
)
def test_no_transcript_from_non_speech(engine, tmp_path, make):
    """20 s of it produce no partial and no final transcript."""
    audio = make(np.random.default_rng(7))
    path = write_audio(tmp_path / f"{make.__name__}.wav", audio.astype(np.float32), RATE)
    events = run_file(engine, path)
    texts = [e for e in events if isinstance(e, (TranscriptPartial, TranscriptFinal))]
    assert texts == []
