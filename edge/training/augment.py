"""Channel augmentation for training: what a clinic phone line does to a voice.

Every function takes 16 kHz float32 mono and a numpy Generator, and returns
16 kHz float32 mono, so variants compose.  The telephone channel is the real
one (8 kHz, G.711 mu-law, 300-3400 Hz band), as in ``edge.audio.g711``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import soxr
from scipy import signal

from edge.audio.g711 import mulaw_round_trip

Audio = npt.NDArray[np.float32]
RATE = 16000


def telephone(x: Audio, rng: np.random.Generator) -> Audio:
    """Band-limit to 300-3400 Hz, resample to 8 kHz, mu-law round trip, back to 16 kHz."""
    low = rng.uniform(200, 400)
    high = rng.uniform(3200, 3600)
    sos = signal.butter(4, [low, high], btype="bandpass", fs=RATE, output="sos")
    y = signal.sosfilt(sos, x).astype(np.float32)
    narrow = soxr.resample(y, RATE, 8000)
    return soxr.resample(mulaw_round_trip(narrow), 8000, RATE).astype(np.float32)[: len(x)]


def noise(x: Audio, rng: np.random.Generator, snr_db: tuple[float, float] = (5, 30)) -> Audio:
    """Add white, pink or brown noise at a random signal-to-noise ratio."""
    colour = rng.integers(3)
    n = rng.standard_normal(len(x)).astype(np.float32)
    if colour:  # 1/f (pink) or 1/f^2 (brown) by shaping the spectrum
        spectrum = np.fft.rfft(n)
        f = np.maximum(np.fft.rfftfreq(len(n)), 1.0 / len(n))
        n = np.fft.irfft(spectrum / f ** (colour / 2.0), len(n)).astype(np.float32)
    speech_power = np.mean(x**2) + 1e-10
    noise_power = np.mean(n**2) + 1e-10
    snr = rng.uniform(*snr_db)
    return (x + n * np.sqrt(speech_power / noise_power / 10 ** (snr / 10))).astype(np.float32)


def reverb(x: Audio, rng: np.random.Generator) -> Audio:
    """Convolve with a synthetic small-room response (RT60 0.1-0.5 s)."""
    rt60 = rng.uniform(0.1, 0.5)
    t = np.arange(int(rt60 * RATE)) / RATE
    tail = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60)
    response = np.concatenate([[1.0], np.zeros(int(rng.uniform(0.002, 0.01) * RATE)), tail * 0.3])
    y = signal.fftconvolve(x, response)[: len(x)]
    return (y / (np.max(np.abs(y)) + 1e-9) * np.max(np.abs(x))).astype(np.float32)


def gain(x: Audio, rng: np.random.Generator) -> Audio:
    """Scale by -15..+6 dB, clipping like a real ADC."""
    return np.clip(x * 10 ** (rng.uniform(-15, 6) / 20), -1, 1).astype(np.float32)


def crop(x: Audio, rng: np.random.Generator, shortest: float = 1.0) -> Audio:
    """A random stretch of at least ``shortest`` seconds, as a live window would see."""
    size = int(rng.uniform(shortest, max(shortest, len(x) / RATE)) * RATE)
    if size >= len(x):
        return x
    start = int(rng.integers(0, len(x) - size))
    return x[start : start + size]


def trim(x: Audio, margin: float = 0.15, floor_db: float = 40.0) -> Audio:
    """Drop leading and trailing silence (frames more than ``floor_db`` below the loudest)."""
    hop = RATE // 50
    frames = len(x) // hop
    if frames == 0:
        return x
    rms = np.sqrt(np.mean(x[: frames * hop].reshape(frames, hop) ** 2, axis=1) + 1e-12)
    db = 20 * np.log10(rms)
    voiced = np.flatnonzero(db > db.max() - floor_db)
    start = max(0, voiced[0] * hop - int(margin * RATE))
    end = min(len(x), (voiced[-1] + 1) * hop + int(margin * RATE))
    return x[start:end]


VARIANTS = {
    "clean": lambda x, rng: x,
    "phone": telephone,
    "noise": lambda x, rng: gain(noise(crop(x, rng), rng), rng),
    "room": lambda x, rng: gain(reverb(crop(x, rng), rng), rng),
    "phone_noise": lambda x, rng: telephone(noise(crop(x, rng), rng, (10, 30)), rng),
    "phone_room": lambda x, rng: telephone(reverb(gain(crop(x, rng), rng), rng), rng),
}
