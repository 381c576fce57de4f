"""The emotion corpora under :data:`edge.training.DATA`, read into one shape.

Each corpus becomes a list of :class:`~edge.training.clips.Clip` whose ``actor``
is an index into :attr:`Corpus.speakers` (offset so no two corpora share one)
and whose ``emotion`` is the model's word where the corpus has one:

* ``ravdess``: acted English, 20 actors (CC BY-NC-SA 4.0).
* ``urdu``: Urdu television talk shows, real speech (research use only).
* ``baved``: Arabic words at three levels of expressed emotion; ``emotion`` is
  ``low`` (level 0, tired or down), ``neutral`` (level 1) or ``high`` (level 2).
  **Evaluation only.**
* ``tess``: two English-speaking women, seven emotions.  **Evaluation only.**
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.training import DATA
from edge.training.clips import Clip, read_clips

BAVED_LEVELS = {"0": "low", "1": "neutral", "2": "high"}
TRAINABLE = ("ravdess", "urdu")  # the others' terms allow evaluation only
CORPORA = ("ravdess", "urdu", "baved", "tess")
_OFFSET = {"ravdess": 0, "urdu": 1000, "baved": 2000, "tess": 3000}


@dataclass(frozen=True)
class Corpus:
    """One corpus's clips; ``speakers[clip.actor - offset]`` names a clip's speaker."""

    name: str
    folder: Path
    clips: list[Clip]
    speakers: list[str]

    def speaker(self, clip: Clip) -> str:
        return self.speakers[clip.actor - _OFFSET[self.name]]


def read_corpus(name: str, folder: Path | None = None) -> Corpus:
    """A corpus by its folder name, one of :data:`CORPORA`, from ``DATA/name`` or ``folder``."""
    if name not in CORPORA:
        raise ValueError(f"unknown corpus {name!r}; choose from {', '.join(CORPORA)}")
    folder = folder or DATA / name
    if not (folder / "labels.csv").is_file():
        raise FileNotFoundError(f"{folder}/labels.csv is missing; set EDGE_DATA to the data folder")
    if name == "ravdess":
        clips = read_clips(folder)
        return Corpus(name, folder, clips, [str(a) for a in range(max(c.actor for c in clips) + 1)])
    with (folder / "labels.csv").open() as f:
        rows = list(csv.DictReader(f))
    speakers = sorted({row["speaker"] for row in rows})
    index = {s: _OFFSET[name] + i for i, s in enumerate(speakers)}

    def emotion(row: dict[str, str]) -> str:
        return BAVED_LEVELS[row["level"]] if name == "baved" else row["emotion"]

    clips = [Clip(row["file"], index[row["speaker"]], emotion(row), 1) for row in rows]
    return Corpus(name, folder, clips, speakers)


def split_speakers(corpus: Corpus, fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """Speaker-disjoint (train, test) speakers, stratified by each speaker's main emotion.

    URDU speakers mostly speak in one emotion, so a plain random split can leave
    an emotion out of one side; here each emotion's speakers are shuffled (seeded)
    and ``fraction`` of them, at least one and leaving one, train.
    """
    by_speaker: dict[str, list[str]] = {}
    for clip in corpus.clips:
        by_speaker.setdefault(corpus.speaker(clip), []).append(clip.label)
    main = {s: max(sorted(set(e)), key=e.count) for s, e in by_speaker.items()}
    rng = np.random.default_rng(seed)
    train: list[str] = []
    for emotion in sorted(set(main.values())):
        group = sorted(s for s in main if main[s] == emotion)
        group = [group[i] for i in rng.permutation(len(group))]
        k = min(max(round(fraction * len(group)), 1), len(group) - 1) if len(group) > 1 else 1
        train += group[:k]
    return sorted(train), sorted(set(main) - set(train))


def speaker_folds(corpus: Corpus, folds: int, seed: int) -> list[list[str]]:
    """Speakers in ``folds`` disjoint groups, each emotion's speakers dealt round the groups.

    Every speaker is held out exactly once across the folds; with at least ``folds``
    speakers of an emotion, every group holds one of them.
    """
    by_speaker: dict[str, list[str]] = {}
    for clip in corpus.clips:
        by_speaker.setdefault(corpus.speaker(clip), []).append(clip.label)
    main = {s: max(sorted(set(e)), key=e.count) for s, e in by_speaker.items()}
    rng = np.random.default_rng([seed, folds])
    groups: list[list[str]] = [[] for _ in range(folds)]
    dealt = 0
    for emotion in sorted(set(main.values())):
        group = sorted(s for s in main if main[s] == emotion)
        for i in rng.permutation(len(group)):
            groups[dealt % folds].append(group[i])
            dealt += 1
    return [sorted(g) for g in groups]
