"""Train the acoustic emotion model and export it to ONNX.

    python scripts/train_emotion.py                 # train, export models/emotion.onnx
    python scripts/train_emotion.py --cv            # also 5-fold leave-actors-out estimates
    python scripts/train_emotion.py --encoder base --corpora ravdess,urdu \
        --out /tmp/models --name emotion_multi_base.onnx   # multi-corpus, Whisper base

Cross-corpus figures: every run also scores whole clips of the held-out RAVDESS
actors, the held-out URDU speakers, BAVED and TESS (the last two evaluation
only, never trained on) against four kinds of speaker baseline
(``edge/training/crosscorpus.py``) and writes them to ``*.train.json``.

Data: a RAVDESS-style folder (``labels.csv`` with file, actor, emotion,
intensity; 16 kHz audio), by default ``$EDGE_DATA/ravdess``.  Actors in
``--test-actors`` are held out completely (``scripts/eval_emotion.py`` scores
them); everything else trains.  With ``urdu`` in ``--corpora``, a seeded,
speaker-disjoint ``--urdu-train-fraction`` of the URDU speakers (stratified by
their main emotion) trains too; the split is written to the train JSON.  Each
clip is used clean and through five channel variants (telephone, noise, room,
gain, crops; ``edge/training/augment.py``; three with ``--encoder base``).

Model: the Whisper tiny.en encoder that transcription already ships, frozen,
run on just the window being scored; mean and standard deviation of every
layer's states over time, *relative to the speaker's own calm voice* (the
mean of those statistics over the speaker's calm and neutral clips, per actor
and channel variant here; at run time a running mean over the caller's
earlier windows that the model judged calm); learned
layer weights; a small MLP with seven emotion outputs and arousal.  The
exported graph takes the baseline as a second input and also returns the
window's statistics (to update the baseline) and the population mean (the
baseline to assume before a speaker has said much).  Training needs torch (``pip install -e
'.[train]'``); the exported ONNX runs on onnxruntime alone.  Deterministic for
a given ``--seed`` on the same machine and library versions.
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score, roc_auc_score
from tqdm import tqdm

from edge.adapters.emotion import DISTRESS_LABELS, LABELS
from edge.adapters.model_files import sha256
from edge.training import ROOT
from edge.training.augment import VARIANTS
from edge.training.clips import Clip
from edge.training.corpora import (
    CORPORA,
    TRAINABLE,
    Corpus,
    read_corpus,
    speaker_folds,
    split_speakers,
)
from edge.training.crosscorpus import evaluate, pooled, readings_of
from edge.training.features import CACHE, ENCODERS, extract, load_encoder
from edge.training.head import EmotionModel, Head

# Channel variants per encoder: base costs ~3x tiny.en to run, so it gets four.
TRAIN_VARIANTS = {
    "tiny.en": tuple(VARIANTS),
    "base": ("clean", "phone", "noise", "phone_room"),
}
EVAL_VARIANTS = ("clean", "phone")  # evaluation-only corpora

# Arousal targets (Russell's circumplex, roughly), raised for strong intensity.
AROUSAL = {
    "neutral": 0.1,
    "calm": 0.0,
    "sad": 0.25,
    "happy": 0.7,
    "angry": 0.9,
    "fearful": 0.8,
    "disgust": 0.5,
    "surprised": 0.8,
}
FOUR = {"neutral": 0, "happy": 1, "sad": 2, "angry": 3}  # the 4-class task of the issue


def arousal_target(clip: Clip) -> float:
    """The clip's arousal target, raised for strong intensity."""
    bump = 0.1 if clip.intensity == 2 and not clip.calm else 0.0
    return min(1.0, AROUSAL[clip.emotion] + bump)


def train_head(
    x: np.ndarray, labels: np.ndarray, arousal: np.ndarray, *, seed: int, epochs: int
) -> Head:
    """x: (samples, layers, dims)."""
    torch.manual_seed(seed)
    head = Head(x.shape[1], x.shape[2], len(LABELS))
    head.centre.copy_(torch.from_numpy(x.mean(axis=0)))
    head.spread.copy_(torch.from_numpy(x.std(axis=0) + 1e-3))
    counts = np.bincount(labels, minlength=len(LABELS)).astype(np.float32)
    weights = torch.from_numpy(counts.sum() / np.maximum(counts, 1) / len(LABELS))
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights, label_smoothing=0.1)
    optimiser = torch.optim.AdamW(head.parameters(), lr=1e-3, weight_decay=0.05)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, epochs)
    xt, yt, at = torch.from_numpy(x), torch.from_numpy(labels), torch.from_numpy(arousal)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        head.train()
        order = torch.randperm(len(xt), generator=generator)
        for batch in order.split(64):
            # Feature noise: a cheap stand-in for unseen speakers and channels.
            noisy = (
                xt[batch] + 0.05 * torch.randn(xt[batch].shape, generator=generator) * head.spread
            )
            logits, a = head(noisy)
            loss = loss_fn(logits, yt[batch])
            loss = loss + 0.3 * torch.nn.functional.binary_cross_entropy_with_logits(a, at[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        schedule.step()
    return head.eval()


def predict(head: Head, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with torch.no_grad():
        logits, arousal = head(torch.from_numpy(x))
    return torch.softmax(logits, -1).numpy(), torch.sigmoid(arousal).numpy()


def scores(probs: np.ndarray, clips: list[Clip]) -> dict[str, float]:
    """Distress ROC AUC over all clips and 4-class balanced accuracy."""
    distress = probs[:, [LABELS.index(k) for k in DISTRESS_LABELS]].sum(axis=1)
    truth = np.array([c.distressed for c in clips])
    four = [i for i, c in enumerate(clips) if c.label in FOUR]
    columns = [LABELS.index(k) for k in FOUR]
    guess = probs[four][:, columns].argmax(axis=1)
    actual = [FOUR[clips[i].label] for i in four]
    return {
        "distress_auc": float(roc_auc_score(truth, distress)),
        "balanced_accuracy_4": float(balanced_accuracy_score(actual, guess)),
    }


def caught_at_rare_alarms(probs: np.ndarray, clips: list[Clip]) -> dict:
    """How many distressed clips a single clip can flag when calm clips almost never are.

    A cue within seconds of an onset has to come from the first distressed utterance
    alone (a RAVDESS clip is one utterance), and a live call has ~900 calm utterances
    an hour, so at most 1 false cue an hour leaves ~0.1 % of calm utterances. Here the
    threshold is the 99th percentile (1 %) or the highest (0 of 240) of the calm and
    neutral clips' distress, whole clips, offline, against the speaker's own full calm
    baseline: an upper bound on what the live path can do with one utterance.
    """
    distress = probs[:, [LABELS.index(k) for k in DISTRESS_LABELS]].sum(axis=1)
    calm = np.array([c.calm for c in clips])
    out: dict = {"calm_clips": int(calm.sum())}
    for name, threshold in (
        ("calm_p99", float(np.quantile(distress[calm], 0.99))),
        ("calm_max", float(distress[calm].max())),
    ):
        caught = {"threshold": round(threshold, 3)}
        for emotion in DISTRESS_LABELS:
            for intensity, strength in ((1, "normal"), (2, "strong")):
                mine = [c.emotion == emotion and c.intensity == intensity for c in clips]
                caught[f"{emotion}_{strength}"] = round(
                    float(np.mean(distress[mine] > threshold)), 3
                )
        distressed = np.array([c.distressed for c in clips])
        caught["all_distressed"] = round(float(np.mean(distress[distressed] > threshold)), 3)
        out[name] = caught
    return out


def relative(features: np.ndarray, clips: list[Clip], prior: np.ndarray) -> np.ndarray:
    """Each speaker's statistics minus the mean of their calm and neutral clips, per variant.

    That is the speaker's calm voice, which is what the run-time baseline
    estimates (it averages only the windows the model judged calm).  A speaker
    with no calm clip (most URDU speakers speak in one emotion) is judged against
    ``prior`` (variants, layers, dims), as a new caller is at first.
    """
    actors = np.array([c.actor for c in clips])
    calm = np.array([c.calm for c in clips])
    out = np.empty_like(features)
    for actor in np.unique(actors):
        mine = actors == actor
        base = features[mine & calm].mean(axis=0) if (mine & calm).any() else prior
        out[mine] = features[mine] - base[None]
    return out


def live_relative(
    raw: np.ndarray, clips: list[Clip], train: list[int], prior: np.ndarray, seed: int
) -> np.ndarray:
    """Each training clip against a live-like baseline, blind to emotion, per variant.

    A caller's running baseline holds whatever they said before, upset or not:
    here a random number (0 to 12) of the speaker's other training clips of any
    emotion, averaged with the population ``prior`` (variants, layers, dims)
    worth three clips, as :mod:`edge.training.crosscorpus` scores ``live``.
    """
    rng = np.random.default_rng([seed, 1])
    actors = np.array([clips[i].actor for i in train])
    out = np.empty_like(raw[train])
    for row, i in enumerate(train):
        others = np.flatnonzero(actors == clips[i].actor)
        others = np.array([train[k] for k in others if train[k] != i])
        count = int(rng.integers(0, min(12, len(others)) + 1))
        chosen = rng.choice(others, count, replace=False) if count else others[:0]
        base = (raw[chosen].sum(axis=0) + 3.0 * prior) / (count + 3.0)
        out[row] = raw[i] - base
    return out


def fit(
    features: np.ndarray,
    clips: list[Clip],
    train: list[int],
    *,
    seed: int,
    epochs: int,
    live: np.ndarray | None = None,
) -> Head:
    """A head on the training rows; ``live``: the same rows against live-like baselines too."""
    v = features.shape[1]
    x = features[train].reshape(len(train) * v, *features.shape[2:])
    labels = np.repeat([LABELS.index(clips[i].label) for i in train], v)
    targets = np.repeat([arousal_target(clips[i]) for i in train], v).astype(np.float32)
    if live is not None:
        x = np.concatenate([x, live.reshape(x.shape)])
        labels, targets = np.tile(labels, 2), np.tile(targets, 2)
    return train_head(x, labels, targets, seed=seed, epochs=epochs)


def cross_validate(
    raw: np.ndarray,
    clips: list[Clip],
    *,
    extra: list[int],
    encoder: str,
    seed: int,
    epochs: int,
    urdu_repeat: int = 1,
    live_baselines: bool = False,
    export_to: Path | None = None,
) -> dict:
    """5-fold leave-4-actors-out over all RAVDESS actors (``clips`` with actor < 1000),
    the ``extra`` rows (other corpora's training speakers) training in every fold;
    with ``export_to``, each fold's model is exported there (``fold{k}.onnx`` and
    ``fold{k}.json`` naming its held-out actors) for ``scripts/eval_emotion.py
    --folds`` to run through the streaming path."""
    ravdess = [i for i, c in enumerate(clips) if c.actor < 1000]
    actors = sorted({clips[i].actor for i in ravdess})
    folds = [actors[i::5] for i in range(5)]
    clean = np.zeros((len(clips), len(LABELS)), np.float32)
    phone = np.zeros_like(clean)
    for k, fold in enumerate(tqdm(folds, desc="cross-validation", unit="fold")):
        test = [i for i in ravdess if clips[i].actor in fold]
        train = [i for i in ravdess if clips[i].actor not in fold] + extra
        prior = calm_prior(raw, clips, train)
        fitted = train + extra * (urdu_repeat - 1)
        vp = variant_prior(raw, clips, train)
        features = relative(raw, clips, vp)
        live = live_relative(raw, clips, fitted, vp, seed) if live_baselines else None
        head = fit(features, clips, fitted, seed=seed, epochs=epochs, live=live)
        clean[test] = predict(head, features[test, 0])[0]
        phone[test] = predict(head, features[test, 1])[0]
        if export_to is not None:
            export_to.mkdir(parents=True, exist_ok=True)
            export(head, prior, export_to / f"fold{k}.onnx", encoder=encoder)
            (export_to / f"fold{k}.json").write_text(json.dumps({"test_actors": fold}) + "\n")
    held = [clips[i] for i in ravdess]
    clean, phone = clean[ravdess], phone[ravdess]
    return {
        "clean": scores(clean, held) | {"one_clip": caught_at_rare_alarms(clean, held)},
        "phone": scores(phone, held) | {"one_clip": caught_at_rare_alarms(phone, held)},
    }


def calm_prior(raw: np.ndarray, clips: list[Clip], train: list[int]) -> np.ndarray:
    """The training speakers' mean calm-voice statistics: a new speaker's first baseline."""
    calm = [i for i in train if clips[i].calm]
    return raw[calm].mean(axis=(0, 1)).astype(np.float32)


def variant_prior(raw: np.ndarray, clips: list[Clip], train: list[int]) -> np.ndarray:
    """:func:`calm_prior` for every channel variant: one prior, as at run time, where a
    new caller on any channel starts from the model's one ``prior``."""
    return np.broadcast_to(calm_prior(raw, clips, train), raw.shape[1:]).copy()


def export(
    head: Head, prior: np.ndarray, path: Path, *, encoder: str = "tiny.en", opset: int = 17
) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    path.parent.mkdir(parents=True, exist_ok=True)
    model = EmotionModel(load_encoder(encoder), head, torch.from_numpy(prior)).eval()
    raw = path.with_suffix(".fp32.onnx")
    torch.onnx.export(
        model,
        (torch.zeros(1, 80, 300), torch.from_numpy(prior)),
        str(raw),
        input_names=["mel", "baseline"],
        output_names=["probs", "arousal", "stats", "prior"],
        dynamic_axes={"mel": {2: "frames"}},
        opset_version=opset,
        dynamo=False,
    )
    quantize_dynamic(str(raw), str(path), weight_type=QuantType.QInt8)
    raw.unlink()
    import onnx

    stored = onnx.load(str(path))
    entry = stored.metadata_props.add()
    entry.key, entry.value = "labels", ",".join(LABELS)
    entry = stored.metadata_props.add()
    entry.key, entry.value = "encoder", f"whisper {encoder}"
    onnx.save(stored, str(path))


def ms_per_reading(path: Path, corpus: Corpus, runs: int = 30) -> dict[str, float]:
    """Median milliseconds per reading of the exported file on one thread, log-mel included:
    a 3 s window and a 1 s utterance of real speech (what the live path reads)."""
    from edge.adapters.emotion import OnnxEmotionScorer
    from edge.training.clips import load

    scorer = OnnxEmotionScorer(path, threads=1)
    speech = np.tile(load(corpus.folder, corpus.clips[0]), 3)
    out = {}
    for name, seconds in (("window_3s", 3.0), ("utterance_1s", 1.0)):
        audio = speech[: int(seconds * 16000)]
        scorer.score(audio)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            scorer.score(audio, scorer.prior)
            times.append(time.perf_counter() - start)
        out[name] = round(1000 * float(np.median(times)), 1)
    return out


def update_manifest(folder: Path, name: str) -> None:
    manifest = folder / "MANIFEST.sha256"
    if not manifest.is_file():  # a scratch folder, not models/
        return
    lines = [
        line
        for line in manifest.read_text().splitlines()
        if line.strip() and line.split(maxsplit=1)[1].strip() != name
    ]
    lines.append(f"{sha256(folder / name)}  {name}")
    manifest.write_text("\n".join(sorted(lines, key=lambda s: s.split()[1])) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data", type=Path, default=None, help="RAVDESS-style folder (default $EDGE_DATA/ravdess)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "models")
    parser.add_argument("--name", default="emotion.onnx")
    parser.add_argument("--encoder", choices=ENCODERS, default="tiny.en")
    parser.add_argument(
        "--corpora", default="ravdess", help=f"training corpora, of {', '.join(TRAINABLE)}"
    )
    parser.add_argument(
        "--urdu-train-fraction",
        type=float,
        default=0.6,
        help="share of URDU speakers that train (the rest are held out)",
    )
    parser.add_argument(
        "--urdu-repeat", type=int, default=1, help="times each URDU training clip counts"
    )
    parser.add_argument(
        "--live-baselines",
        action="store_true",
        help="also train every clip against a live-like baseline of the speaker's other "
        "clips of any emotion (not only their calm voice)",
    )
    parser.add_argument(
        "--urdu-folds",
        type=int,
        default=0,
        help="also hold every URDU speaker out once: this many speaker-disjoint folds, each "
        "training on RAVDESS and the other folds' URDU speakers (figures: urdu_cv)",
    )
    parser.add_argument("--test-actors", default="17,18,19,20")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--cv", action="store_true", help="5-fold leave-actors-out estimates")
    parser.add_argument(
        "--cv-models",
        type=Path,
        default=ROOT / "artifacts" / "emotion_cv",
        help="with --cv: where each fold's model goes (for eval_emotion.py --folds)",
    )
    parser.add_argument("--cache", type=Path, default=CACHE, help="feature cache folder")
    args = parser.parse_args()
    training = [c for c in args.corpora.split(",") if c]
    if "ravdess" not in training or not set(training) <= set(TRAINABLE):
        parser.error(f"--corpora must include ravdess and may add only {', '.join(TRAINABLE)}")

    torch.set_num_threads(args.threads)
    started = time.time()
    corpora = {name: read_corpus(name) for name in CORPORA}
    if args.data is not None:
        corpora["ravdess"] = read_corpus("ravdess", folder=args.data)
    raws = {
        name: extract(
            corpus,
            args.encoder,
            TRAIN_VARIANTS[args.encoder] if name in TRAINABLE else EVAL_VARIANTS,
            seed=args.seed,
            cache=args.cache,
        )
        for name, corpus in corpora.items()
    }
    # One pool of the trainable corpora (their test speakers too: they are scored, not fit).
    clips = corpora["ravdess"].clips + corpora["urdu"].clips
    raw = np.concatenate([raws["ravdess"], raws["urdu"]])
    urdu_train, urdu_test = split_speakers(corpora["urdu"], args.urdu_train_fraction, args.seed)
    if "urdu" not in training:
        urdu_train, urdu_test = [], sorted(corpora["urdu"].speakers)
    held_out = {int(a) for a in args.test_actors.split(",") if a}
    urdu = corpora["urdu"]
    extra = [i for i, c in enumerate(clips) if c.actor >= 1000 and urdu.speaker(c) in urdu_train]
    train = [i for i, c in enumerate(clips) if c.actor < 1000 and c.actor not in held_out] + extra
    test = [i for i, c in enumerate(clips) if c.actor in held_out]
    report: dict = {
        "encoder": args.encoder,
        "corpora": training,
        "clips": len(train),
        "variants": list(TRAIN_VARIANTS[args.encoder]),
        "seed": args.seed,
        "urdu_repeat": args.urdu_repeat,
        "live_baselines": args.live_baselines,
        "urdu_train_speakers": urdu_train,
        "urdu_test_speakers": urdu_test,
    }
    if args.cv:
        report["cv"] = cross_validate(
            raw,
            clips,
            extra=extra,
            encoder=args.encoder,
            seed=args.seed,
            epochs=args.epochs,
            urdu_repeat=args.urdu_repeat,
            live_baselines=args.live_baselines,
            export_to=args.cv_models,
        )
        print("5-fold leave-actors-out:", json.dumps(report["cv"], indent=1))

    fitted = train + extra * (args.urdu_repeat - 1)
    features = relative(raw, clips, variant_prior(raw, clips, train))
    live = None
    if args.live_baselines:
        live = live_relative(raw, clips, fitted, variant_prior(raw, clips, train), args.seed)
    head = fit(features, clips, fitted, seed=args.seed, epochs=args.epochs, live=live)
    prior = calm_prior(raw, clips, train)
    if test:
        report["held_out_offline"] = {
            "clean": scores(predict(head, features[test, 0])[0], [clips[i] for i in test]),
            "phone": scores(predict(head, features[test, 1])[0], [clips[i] for i in test]),
        }
        print("held-out actors, whole clips:", json.dumps(report["held_out_offline"], indent=1))
    if args.urdu_folds and "urdu" in training:
        report["urdu_cv"] = urdu_cv(raw, clips, corpora["urdu"], held_out, args)
        print("URDU, every speaker held out once:", json.dumps(report["urdu_cv"], indent=1))
    figures = cross_corpus(head, prior, corpora, raws, held_out, urdu_test, args.seed)
    report["cross_corpus"] = figures
    print(table(report["cross_corpus"]))
    report["layer_weights"] = torch.softmax(head.layer_logits, 0).tolist()
    export(head, prior, args.out / args.name, encoder=args.encoder)
    update_manifest(args.out, args.name)
    report["ms_per_reading"] = ms_per_reading(args.out / args.name, corpora["ravdess"])
    report["megabytes"] = round((args.out / args.name).stat().st_size / 1e6, 1)
    report["train_actors"] = sorted({clips[i].actor for i in train if clips[i].actor < 1000})
    report["test_actors"] = sorted(held_out)
    report["seconds"] = round(time.time() - started)
    out = args.out / args.name.replace(".onnx", ".train.json")
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.out / args.name} and {out} in {report['seconds']} s")


def urdu_cv(
    raw: np.ndarray, clips: list[Clip], urdu: Corpus, held_out: set[int], args: argparse.Namespace
) -> dict:
    """URDU with every speaker held out once: the same recipe per fold, and the clips of
    all folds scored together (each by the model that never heard its speaker)."""
    ravdess = [i for i, c in enumerate(clips) if c.actor < 1000 and c.actor not in held_out]
    mine = [i for i, c in enumerate(clips) if c.actor >= 1000]
    readings: dict[str, list] = {}
    for fold in tqdm(speaker_folds(urdu, args.urdu_folds, args.seed), desc="URDU folds"):
        extra = [i for i in mine if urdu.speaker(clips[i]) not in fold]
        test = [i for i in mine if urdu.speaker(clips[i]) in fold]
        train = ravdess + extra
        fitted = train + extra * (args.urdu_repeat - 1)
        vp = variant_prior(raw, clips, train)
        live = live_relative(raw, clips, fitted, vp, args.seed) if args.live_baselines else None
        features = relative(raw, clips, vp)
        head = fit(features, clips, fitted, seed=args.seed, epochs=args.epochs, live=live)
        prior = calm_prior(raw, clips, train)
        model = functools.partial(predict, head)
        for channel, v in (("clean", 0), ("phone", 1)):
            found = readings_of(raw[test, v], [clips[i] for i in test], prior, model, args.seed)
            readings.setdefault(channel, []).append(found)
    return {channel: pooled(parts) for channel, parts in readings.items()} | {
        "folds": speaker_folds(urdu, args.urdu_folds, args.seed)
    }


def cross_corpus(
    head: Head,
    prior: np.ndarray,
    corpora: dict[str, Corpus],
    raws: dict[str, np.ndarray],
    held_out: set[int],
    urdu_test: list[str],
    seed: int,
) -> dict:
    """Held-out speakers of every corpus, clean and telephone, under each baseline."""
    sets = {
        "ravdess": [i for i, c in enumerate(corpora["ravdess"].clips) if c.actor in held_out],
        "urdu": [
            i
            for i, c in enumerate(corpora["urdu"].clips)
            if corpora["urdu"].speaker(c) in urdu_test
        ],
        "baved": list(range(len(corpora["baved"].clips))),
        "tess": list(range(len(corpora["tess"].clips))),
    }
    out: dict = {}
    for name, rows in sets.items():
        clips = [corpora[name].clips[i] for i in rows]
        for channel, v in (("clean", 0), ("phone", 1)):
            out[f"{name}_{channel}"] = evaluate(
                raws[name][rows, v], clips, prior, lambda x: predict(head, x), seed=seed
            ) | {"clips": len(rows)}
    return out


def table(figures: dict) -> str:
    """The cross-corpus AUCs as a plain text table (rows: set; columns: baseline/score)."""
    kinds = ("prior", "live", "live_gated", "oracle")
    columns = [(b, s) for b in kinds for s in ("distress", "arousal")]
    lines = ["set".ljust(14) + " ".join(f"{b[:6]}/{s[:4]}".rjust(12) for b, s in columns)]
    for name, row in figures.items():
        lines.append(name.ljust(14) + " ".join(f"{row[b][s]:12.3f}" for b, s in columns))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
