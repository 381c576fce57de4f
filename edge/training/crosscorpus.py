"""Offline, whole-clip figures of an emotion head on every corpus, under several baselines.

A clip's reading depends on the speaker baseline it is judged against, so each
held-out set is scored four ways:

* ``oracle``: the mean of the speaker's *other* calm and neutral clips (the
  population prior for a speaker without any): the best case, what training uses.
* ``prior``: the population prior alone (a caller's first seconds).
* ``live``: live-like and blind to emotion: the speaker's clips in a random order,
  each judged against the running mean of all their earlier clips, whatever their
  emotion, started from the prior worth ``PRIOR_CLIPS`` clips (a caller may be
  upset from the first word).  Five orders, pooled.
* ``live_gated``: the same, but only clips the model read as most likely neutral
  join the baseline (what :class:`edge.stages.voice.VoiceBaseline` does at run time).

Truth: distressed (sad, angry, fearful) against the rest; for BAVED, high against
low expressed emotion (level 2 against 0, neutral level 1 left out).  Three scores
are ranked: ``distress`` (p sad + angry + fearful), ``arousal``, and their mean
``blend``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.metrics import roc_auc_score

from edge.adapters.emotion import DISTRESS_LABELS, LABELS
from edge.training.clips import Clip

PRIOR_CLIPS = 3.0
ORDERS = 5
BASELINES = ("oracle", "prior", "live", "live_gated")
SCORES = ("distress", "arousal", "blend")

# (stats relative to a baseline: (n, layers, dims)) -> (probs (n, labels), arousal (n,))
Predict = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def truth(clips: list[Clip]) -> tuple[np.ndarray, np.ndarray]:
    """(which clips count, whether each counted clip is the positive class)."""
    if any(c.emotion in ("low", "high") for c in clips):  # BAVED levels
        keep = np.array([c.emotion in ("low", "high") for c in clips])
        return keep, np.array([c.emotion == "high" for c in clips])
    return np.ones(len(clips), bool), np.array([c.distressed for c in clips])


def _distress(probs: np.ndarray) -> np.ndarray:
    return probs[:, [LABELS.index(k) for k in DISTRESS_LABELS]].sum(axis=1)


def _aucs(probs: np.ndarray, arousal: np.ndarray, positive: np.ndarray) -> dict[str, float]:
    distress = _distress(probs)
    return {
        name: round(float(roc_auc_score(positive, score)), 3)
        for name, score in (
            ("distress", distress),
            ("arousal", arousal),
            ("blend", (distress + arousal) / 2),
        )
    }


def _oracle(raw: np.ndarray, clips: list[Clip], prior: np.ndarray) -> np.ndarray:
    actors = np.array([c.actor for c in clips])
    calm = np.array([c.calm for c in clips])
    base = np.empty_like(raw)
    for i, actor in enumerate(actors):
        others = (actors == actor) & calm
        others[i] = False
        base[i] = raw[others].mean(axis=0) if others.any() else prior
    return base


def _live(
    raw: np.ndarray,
    clips: list[Clip],
    prior: np.ndarray,
    predict: Predict,
    *,
    gated: bool,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Readings of every clip, ORDERS times, each against its speaker's running baseline."""
    actors = np.array([c.actor for c in clips])
    rng = np.random.default_rng(seed)
    probs, arousal, index = [], [], []
    neutral = LABELS.index("neutral")
    for _ in range(ORDERS):
        for actor in np.unique(actors):
            order = rng.permutation(np.flatnonzero(actors == actor))
            total, count = PRIOR_CLIPS * prior, PRIOR_CLIPS
            for i in order:
                p, a = predict((raw[i] - total / count)[None])
                probs.append(p[0])
                arousal.append(a[0])
                index.append(i)
                if not gated or p[0].argmax() == neutral:
                    total, count = total + raw[i], count + 1
    return np.asarray(probs), np.asarray(arousal), np.asarray(index)


Readings = dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]


def readings_of(
    raw: np.ndarray, clips: list[Clip], prior: np.ndarray, predict: Predict, seed: int
) -> Readings:
    """Per baseline: (probs, arousal, truth) of the counted clips; raw: (n, layers, dims)."""
    keep, positive = truth(clips)
    out: Readings = {}
    for name, base in (("oracle", _oracle(raw, clips, prior)), ("prior", prior[None])):
        probs, arousal = predict(raw - base)
        out[name] = (probs[keep], arousal[keep], positive[keep])
    for name, gated in (("live", False), ("live_gated", True)):
        probs, arousal, index = _live(raw, clips, prior, predict, gated=gated, seed=seed)
        mask = keep[index]
        out[name] = (probs[mask], arousal[mask], positive[index][mask])
    return out


def pooled(parts: list[Readings]) -> dict[str, dict[str, float]]:
    """AUCs of each score under each baseline, the readings of all parts together."""
    return {
        name: _aucs(*(np.concatenate([part[name][k] for part in parts]) for k in range(3)))
        for name in BASELINES
    }


def evaluate(
    raw: np.ndarray, clips: list[Clip], prior: np.ndarray, predict: Predict, *, seed: int
) -> dict[str, dict[str, float]]:
    """AUCs of each score under each baseline; raw: one channel's statistics (n, layers, dims)."""
    return pooled([readings_of(raw, clips, prior, predict, seed)])
