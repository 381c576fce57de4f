"""Try variants of the emotion head's training recipe, scored beyond RAVDESS (issue 13).

    python scripts/try_emotion_heads.py base
    python scripts/try_emotion_heads.py small hidden=64 weight_decay=0.2
    python scripts/try_emotion_heads.py adversary speaker_adversary=0.3

Each run trains the head of ``scripts/train_emotion.py`` (tiny.en statistics from
its feature cache, RAVDESS actors 1-16 and URDU speakers, live-like baselines)
with one change, and prints whole-clip distress AUCs against the *gated live*
baseline (``edge/training/crosscorpus.py``), clean / telephone: RAVDESS actors
17-20, the 11 held-out URDU speakers, every URDU speaker held out once (three
folds), BAVED high against low on arousal, TESS.  Nothing is exported; the
figures go to ``artifacts/emotion_tries/NAME.json``.  The loss here is averaged
per clip (the shipped recipe averages the class-weighted loss per weight), so
compare a try with this script's own ``base`` run, not with the model card's
shipped figures.  About 4 minutes per try on one core once the features are
cached.

Options (``key=value``): ``speaker_adversary`` (weight of a speaker classifier
on the hidden layer, trained through a reversed gradient: domain-adversarial
training with speakers as domains), ``distress_loss`` (weight of a binary loss on
p(sad + angry + fearful)), ``layers`` (encoder layers kept, e.g. ``0,1,2``),
``hidden``, ``weight_decay``, ``epochs``, ``noise`` (feature noise),
``urdu_weight`` (loss weight of URDU clips), ``arousal_weight``,
``live_baselines`` (0 or 1), ``seed`` (of the head's training; the speaker
splits keep seed 7), ``export`` (a path: also export the head trained on the
shipped split as a model, with its ``.train.json``, for ``eval_cross_corpus.py
--model``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import train_emotion as recipe
from torch.nn import functional

from edge.adapters.emotion import DISTRESS_LABELS, LABELS
from edge.training import ROOT
from edge.training.corpora import CORPORA, read_corpus, speaker_folds, split_speakers
from edge.training.crosscorpus import Predict, pooled, readings_of
from edge.training.features import extract
from edge.training.head import Head

SEED = 7  # the speaker splits and folds, as train_emotion.py
HELD_OUT = {17, 18, 19, 20}
DEFAULTS: dict[str, Any] = {
    "speaker_adversary": 0.0,
    "distress_loss": 0.0,
    "layers": "",
    "hidden": 256,
    "epochs": 40,
    "weight_decay": 0.05,
    "noise": 0.05,
    "urdu_weight": 1.0,
    "arousal_weight": 0.3,
    "live_baselines": 1,
    "seed": SEED,
    "export": "",
}


class Reverse(torch.autograd.Function):
    """Identity forward; the gradient reversed and scaled backward."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: float) -> torch.Tensor:
        ctx.weight = weight
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.weight * grad, None


def train_head(
    x: np.ndarray,
    labels: np.ndarray,
    arousal: np.ndarray,
    speakers: np.ndarray,
    weights: np.ndarray,
    cfg: dict[str, Any],
) -> Head:
    """The recipe's head and loop, with the try's options."""
    torch.manual_seed(cfg["seed"])
    head = Head(x.shape[1], x.shape[2], len(LABELS), hidden=cfg["hidden"])
    head.centre.copy_(torch.from_numpy(x.mean(axis=0)))
    head.spread.copy_(torch.from_numpy(x.std(axis=0) + 1e-3))
    counts = np.bincount(labels, minlength=len(LABELS)).astype(np.float32)
    class_weights = torch.from_numpy(counts.sum() / np.maximum(counts, 1) / len(LABELS))
    loss_fn = torch.nn.CrossEntropyLoss(weight=class_weights, label_smoothing=0.1, reduction="none")
    adversary = torch.nn.Sequential(
        torch.nn.Linear(cfg["hidden"], 128),
        torch.nn.GELU(),
        torch.nn.Linear(128, int(speakers.max()) + 1),
    )
    params = list(head.parameters())
    if cfg["speaker_adversary"]:
        params += list(adversary.parameters())
    optimiser = torch.optim.AdamW(params, lr=1e-3, weight_decay=cfg["weight_decay"])
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, cfg["epochs"])
    xt, yt, at = torch.from_numpy(x), torch.from_numpy(labels), torch.from_numpy(arousal)
    st, wt = torch.from_numpy(speakers), torch.from_numpy(weights)
    distress = torch.tensor([label in DISTRESS_LABELS for label in LABELS])
    generator = torch.Generator().manual_seed(cfg["seed"])
    for epoch in range(cfg["epochs"]):
        head.train()
        for batch in torch.randperm(len(xt), generator=generator).split(64):
            noise = torch.randn(xt[batch].shape, generator=generator) * head.spread
            z = (xt[batch] + cfg["noise"] * noise - head.centre) / head.spread
            mixed = (torch.softmax(head.layer_logits, 0)[None, :, None] * z).sum(dim=1)
            hidden = head.mlp[:4](mixed)
            out = head.mlp[4](hidden)
            logits, a = out[:, :-1], out[:, -1]
            w = wt[batch]
            loss = (loss_fn(logits, yt[batch]) * w).sum() / w.sum()
            bce = functional.binary_cross_entropy_with_logits(a, at[batch], reduction="none")
            loss = loss + cfg["arousal_weight"] * (bce * w).sum() / w.sum()
            if cfg["distress_loss"]:
                p = torch.softmax(logits, -1)[:, distress].sum(-1).clamp(1e-5, 1 - 1e-5)
                target = distress[yt[batch]].float()
                loss = loss + cfg["distress_loss"] * functional.binary_cross_entropy(p, target)
            if cfg["speaker_adversary"]:
                strength = cfg["speaker_adversary"] * min(1.0, epoch / 10)
                guess = adversary(Reverse.apply(hidden, strength))
                loss = loss + functional.cross_entropy(guess, st[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        schedule.step()
    return head.eval()


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    name, cfg = sys.argv[1], dict(DEFAULTS)
    for option in sys.argv[2:]:
        key, _, value = option.partition("=")
        if key not in cfg:
            sys.exit(f"unknown option {key!r}: use one of {', '.join(DEFAULTS)}")
        cfg[key] = type(DEFAULTS[key])(value)
    torch.set_num_threads(1)
    started = time.time()
    corpora = {n: read_corpus(n) for n in CORPORA}
    raws = {
        n: extract(
            c,
            "tiny.en",
            recipe.TRAIN_VARIANTS["tiny.en"] if n in recipe.TRAINABLE else recipe.EVAL_VARIANTS,
            seed=SEED,
        )
        for n, c in corpora.items()
    }
    if cfg["layers"]:
        keep = [int(k) for k in cfg["layers"].split(",")]
        raws = {n: r[:, :, keep] for n, r in raws.items()}
    clips = corpora["ravdess"].clips + corpora["urdu"].clips
    raw = np.concatenate([raws["ravdess"], raws["urdu"]])
    urdu = corpora["urdu"]

    def fit(train: list[int]) -> tuple[Head, np.ndarray]:
        vp = recipe.variant_prior(raw, clips, train)
        features = recipe.relative(raw, clips, vp)
        v = features.shape[1]
        x = features[train].reshape(len(train) * v, *features.shape[2:])
        ids = {a: k for k, a in enumerate(sorted({clips[i].actor for i in train}))}
        columns = [
            [LABELS.index(clips[i].label) for i in train],
            [recipe.arousal_target(clips[i]) for i in train],
            [ids[clips[i].actor] for i in train],
            [cfg["urdu_weight"] if clips[i].actor >= 1000 else 1.0 for i in train],
        ]
        labels, arousal, speakers, weights = (np.repeat(np.asarray(c), v) for c in columns)
        if cfg["live_baselines"]:
            live = recipe.live_relative(raw, clips, train, vp, cfg["seed"])
            x = np.concatenate([x, live.reshape(x.shape)])
            labels, arousal, speakers, weights = (
                np.tile(c, 2) for c in (labels, arousal, speakers, weights)
            )
        head = train_head(
            x,
            labels,
            arousal.astype(np.float32),
            speakers,
            weights.astype(np.float32),
            cfg,
        )
        return head, recipe.calm_prior(raw, clips, train)

    def model(head: Head) -> Predict:
        return lambda x: recipe.predict(head, x)

    ravdess = [i for i, c in enumerate(clips) if c.actor < 1000 and c.actor not in HELD_OUT]
    mine = [i for i, c in enumerate(clips) if c.actor >= 1000]
    readings: dict[str, list] = {}
    for fold in speaker_folds(urdu, 3, SEED):
        test = [i for i in mine if urdu.speaker(clips[i]) in fold]
        head, prior = fit(ravdess + [i for i in mine if urdu.speaker(clips[i]) not in fold])
        for channel, v in (("clean", 0), ("phone", 1)):
            found = readings_of(raw[test, v], [clips[i] for i in test], prior, model(head), SEED)
            readings.setdefault(channel, []).append(found)
    urdu_train, urdu_test = split_speakers(urdu, 0.6, SEED)
    head, prior = fit(ravdess + [i for i in mine if urdu.speaker(clips[i]) in urdu_train])
    cross = recipe.cross_corpus(head, prior, corpora, raws, HELD_OUT, urdu_test, SEED)
    every = {channel: pooled(parts) for channel, parts in readings.items()}

    def gated(figures: dict, score: str = "distress") -> float:
        return figures["live_gated"][score]

    summary = {
        "ravdess_17_20": [gated(cross[f"ravdess_{c}"]) for c in ("clean", "phone")],
        "urdu_11_test_speakers": [gated(cross[f"urdu_{c}"]) for c in ("clean", "phone")],
        "urdu_every_speaker": [gated(every[c]) for c in ("clean", "phone")],
        "baved_arousal": [gated(cross[f"baved_{c}"], "arousal") for c in ("clean", "phone")],
        "tess": [gated(cross[f"tess_{c}"]) for c in ("clean", "phone")],
    }
    if cfg["export"]:
        if cfg["layers"]:
            sys.exit("export: the run-time graph reads every layer; drop layers=")
        path = Path(cfg["export"])
        recipe.export(head, prior, path)
        trained = {"corpora": ["ravdess", "urdu"], "test_actors": sorted(HELD_OUT)}
        trained |= {"urdu_train_speakers": urdu_train, "urdu_test_speakers": urdu_test}
        path.with_suffix(".train.json").write_text(json.dumps(trained | {"options": cfg}))
    out = ROOT / "artifacts" / "emotion_tries" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {"options": cfg, "summary": summary, "cross_corpus": cross, "urdu_cv": every}
    out.write_text(json.dumps(report | {"seconds": round(time.time() - started)}, indent=1))
    print(name, json.dumps(cfg))
    for key, (clean, phone) in summary.items():
        print(f"  {key:24s} {clean:.3f} / {phone:.3f}")


if __name__ == "__main__":
    main()
