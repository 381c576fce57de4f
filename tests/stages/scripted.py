"""Scripted inputs for the pure stages: frames of silence and probabilities."""

from __future__ import annotations

import numpy as np

from edge.contracts import Frame, Hypothesis, RawWord
from edge.types import FRAME_SAMPLES, FRAME_SECONDS, Role


def frames(probs: list[float], role: Role = Role.CALLER):
    """(frame, prob) pairs; each frame's first sample encodes its index."""
    for i, p in enumerate(probs):
        samples = np.zeros(FRAME_SAMPLES, dtype=np.float32)
        samples[0] = i / 10000
        yield Frame(role, i * FRAME_SECONDS, samples), p


def seconds(n: float) -> int:
    return round(n / FRAME_SECONDS)


def hypothesis(text: str, step: float = 0.3, prob: float = 0.9) -> Hypothesis:
    words = tuple(
        RawWord(" " + w, i * step, (i + 1) * step, prob) for i, w in enumerate(text.split())
    )
    return Hypothesis(words=words, avg_logprob=-0.2, no_speech_prob=0.01, compression_ratio=1.2)
