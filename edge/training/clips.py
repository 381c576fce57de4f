"""Labelled speech clips of an emotion corpus, as the training and evaluation scripts read them.

A corpus is a folder with ``labels.csv`` (file, actor, emotion, intensity, …)
beside its audio, RAVDESS's layout, under :data:`edge.training.DATA`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from edge.adapters.emotion import DISTRESS_LABELS
from edge.audio.files import read_audio
from edge.audio.frames import Samples

TO_LABEL = {"calm": "neutral"}  # the model has no "calm": a calm voice is its neutral
CALM = ("neutral", "calm")


@dataclass(frozen=True)
class Clip:
    """One recorded sentence: who said it, in which emotion, how strongly (1 normal, 2 strong)."""

    file: str
    actor: int
    emotion: str
    intensity: int

    @property
    def label(self) -> str:
        """The model's label for the clip's emotion."""
        return TO_LABEL.get(self.emotion, self.emotion)

    @property
    def calm(self) -> bool:
        return self.emotion in CALM

    @property
    def distressed(self) -> bool:
        return self.label in DISTRESS_LABELS


def read_clips(folder: Path) -> list[Clip]:
    """The clips listed in ``folder/labels.csv``, in its order."""
    with (folder / "labels.csv").open() as f:
        return [
            Clip(row["file"], int(row["actor"]), row["emotion"], int(row["intensity"]))
            for row in csv.DictReader(f)
        ]


def load(folder: Path, clip: Clip) -> Samples:
    """A clip's audio, 16 kHz mono float32."""
    return read_audio(folder / clip.file, mono=True)
