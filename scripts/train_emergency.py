"""Train the emergency head (models/emergency_head.onnx): a second path to the
possible_emergency cue, on the caller's sentence embedding.

    python scripts/train_emergency.py     # embed, cross-validate, fit, export (~2 min)

Data, the **tune split only** of ``scripts/data/emergency_set.csv`` (its held-out
split is never read here): each emergency line labelled with its category (a line
naming two counts once for each, at half weight), each hard negative as ``none``;
and the calm lines (label 0) of the ``train`` split of
``scripts/data/healthcare_distress.csv`` as ``none``.

Model: a linear softmax (multinomial logistic regression, scikit-learn, seeded)
over ``none`` and the seven categories, on the int8 all-MiniLM-L6-v2 embedding
the text adapter already computes for every caller final (``edge.adapters.text``).

Threshold (``[pipeline.emergency] head_at``): chosen by grouped 5-fold
cross-validation on the tune split (a line and its lower-case ASR form in one
fold; the calm clinic lines scored too). With the out-of-fold readings, the head
counts where :func:`edge.stages.emergency.vetoed` does not veto the line; the
threshold kept is the one with the most recall for the head alone among those
whose precision is at least ``PRECISION_FLOOR`` both for the head alone and for
the rules (as ``scripts/eval_emergency.py`` runs them) and the head together.
The head is chosen on its own readings because the rules were written on the
tune lines (recall 0.995 there), which would hide what the head adds. The
script prints every try; the setting's default is the chosen value.
"""

from __future__ import annotations

import csv
import importlib.util
import re
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np

from edge.adapters.model_files import MANIFEST, sha256
from edge.adapters.text import MiniLmEncoder
from edge.stages.emergency import Category, vetoed
from edge.training.linear_head import export_linear_head

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"
NAME = "emergency_head.onnx"
SET = ROOT / "scripts" / "data" / "emergency_set.csv"
HEALTHCARE_CSV = ROOT / "scripts" / "data" / "healthcare_distress.csv"
SEED = 20261202
LABELS = ("none", *(c.value for c in Category))
C_GRID = (1.0, 4.0, 16.0)
THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.30, 0.96, 0.05))
# Above the issue's 0.9: held-out lines are new phrasings, and the rules' own tune
# precision (0.965) fell to 0.936 on them.
PRECISION_FLOOR = 0.95


def _eval_module() -> types.ModuleType:
    path = ROOT / "scripts" / "eval_emergency.py"
    spec = importlib.util.spec_from_file_location("eval_emergency", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def group_of(text: str) -> str:
    """A line and its lower-case ASR form share a group."""
    return re.sub(r"[^a-z0-9 ]", "", text.lower().replace("\u2019", "'")).strip()


def training_rows() -> tuple[list[str], list[int], list[float], list[str]]:
    """(texts, label index, weight, group): the tune split and the calm clinic lines."""
    texts, labels, weights, groups = [], [], [], []
    with SET.open(newline="") as f:
        for row in csv.DictReader(f):
            if row["split"] != "tune":
                continue
            cats = [c for c in row["category"].split("|") if c and c != "none"] or ["none"]
            for c in cats:
                texts.append(row["text"])
                labels.append(LABELS.index(c))
                weights.append(1.0 / len(cats))
                groups.append(group_of(row["text"]))
    with HEALTHCARE_CSV.open(newline="") as f:
        for row in csv.DictReader(f):
            if row["label"] == "0" and row["split"] == "train":
                texts.append(row["text"])
                labels.append(0)
                weights.append(1.0)
                groups.append(f"care {row['group']}")
    return texts, labels, weights, groups


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, c: float) -> Any:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=2000, random_state=SEED)
    model.fit(x, y, sample_weight=w)
    return model


def top(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The most likely category (not none) of each row, and its probability."""
    best = probs[:, 1:].argmax(axis=1)
    return best + 1, probs[np.arange(len(probs)), best + 1]


def main() -> None:
    from sklearn.model_selection import GroupKFold

    ev = _eval_module()
    texts, labels, weights, groups = training_rows()
    encoder = MiniLmEncoder(threads=2)
    unique = sorted(set(texts))
    vectors = {}
    for i in range(0, len(unique), 32):
        chunk = unique[i : i + 32]
        vectors.update(zip(chunk, encoder.embed(chunk), strict=True))
    x = np.stack([vectors[t] for t in texts])
    y, w = np.array(labels), np.array(weights)

    # Out-of-fold readings of the tune lines (GroupKFold is deterministic).
    folds = list(GroupKFold(n_splits=5).split(x, y, groups))
    # Scored: the tune lines, and the calm clinic lines (negatives a call is full of).
    lines = [line for line in ev.load(SET) if line.split == "tune"]
    seen = {line.text for line in lines}
    lines += [ev.Line(t, frozenset(), "care") for t in dict.fromkeys(texts) if t not in seen]
    rules = {line.text: bool(ev.named(line.text)) for line in lines}
    veto = {line.text: vetoed(line.text) for line in lines}
    results = {}
    for c in C_GRID:
        oof = np.zeros((len(texts), len(LABELS)))
        for train, test in folds:
            oof[test] = fit(x[train], y[train], w[train], c).predict_proba(x[test])
        reading = {t: oof[i] for i, t in enumerate(texts)}
        for at in THRESHOLDS:
            counts = np.zeros((2, 3), dtype=int)  # (head alone, rules + head) x (tp, fp, fn)
            for line in lines:
                _, p = top(reading[line.text][None, :])
                head = bool(p[0] >= at) and not veto[line.text]
                for row, raised in enumerate((head, head or rules[line.text])):
                    if line.categories:
                        counts[row, 0 if raised else 2] += 1
                    else:
                        counts[row, 1] += raised
            results[(c, at)] = [
                (tp / max(tp + fp, 1), tp / max(tp + fn, 1)) for tp, fp, fn in counts
            ]
    for (c, at), ((hp, hr), (cp, cr)) in sorted(results.items()):
        print(
            f"C={c:5} head_at={at:.2f}  tune CV: head alone precision {hp:.3f} recall {hr:.3f};"
            f" rules + head {cp:.3f} / {cr:.3f}"
        )
    # The rules were written on the tune lines (recall 0.995 there), so the head is chosen
    # on its own out-of-fold readings: the most recall at precision >= PRECISION_FLOOR,
    # alone and with the rules.
    ok = [
        (hr, -at, c, at)
        for (c, at), ((hp, hr), (cp, _)) in results.items()
        if min(hp, cp) >= PRECISION_FLOOR
    ]
    _, _, c, at = max(ok)
    (hp, hr), (cp, cr) = results[(c, at)]
    print(
        f"chosen: C={c} head_at={at}: head alone {hp:.3f} / {hr:.3f}, "
        f"rules + head {cp:.3f} / {cr:.3f} (tune, out of fold)"
    )

    model = fit(x, y, w, c)
    export_linear_head(
        model.coef_.T.astype(np.float32),
        model.intercept_.astype(np.float32),
        MODELS / NAME,
        output="emergency",
        producer="scripts/train_emergency.py",
        props={"C": c, "head_at": at, "seed": SEED, "labels": LABELS},
    )
    write_manifest_line(NAME)
    print(f"wrote {MODELS / NAME} ({(MODELS / NAME).stat().st_size} bytes) and its manifest line")


def write_manifest_line(name: str) -> None:
    """Set ``name``'s line in MANIFEST.sha256, appending it if it is new."""
    manifest = MODELS / MANIFEST
    line = f"{sha256(MODELS / name)}  {name}"
    lines = [e for e in manifest.read_text().splitlines() if not e.endswith(f"  {name}")]
    manifest.write_text("\n".join([*lines, line]) + "\n")


if __name__ == "__main__":
    main()
