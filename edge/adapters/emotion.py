"""Acoustic emotion: a window of speech in, emotion probabilities out.

The shipped model (``models/emotion.onnx``, trained by
``scripts/train_emotion.py``; see ``models/emotion.md``) is the encoder of the
Whisper model that transcription already uses, run on only the window being
scored, with a small head trained on RAVDESS.  Its input is Whisper's log-mel
spectrogram of the window, computed here with faster-whisper's own feature
extractor so training and run time see identical features.

The model judges a voice against the same speaker's baseline: the mean of
the window statistics (``stats``) of their earlier speech, which the caller
keeps (:class:`edge.stages.voice.VoiceBaseline`).  Before a speaker has a
baseline, the model's ``prior`` (the mean over its training speakers) stands in.

Outputs per window: a probability for each of ``LABELS``, ``distress`` (the
probability mass of sad, angry and fearful), ``arousal`` (0 calm … 1
agitated) and the window's ``stats``.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from faster_whisper.feature_extractor import FeatureExtractor

from edge.adapters.model_files import bundled
from edge.adapters.sessions import session
from edge.contracts import EmotionScore, Samples, Stats
from edge.errors import ModelError
from edge.types import SAMPLE_RATE

DEFAULT_EMOTION_MODEL = "emotion.onnx"
LABELS = ("neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised")
DISTRESS_LABELS = ("sad", "angry", "fearful")
MIN_SECONDS = 0.5  # shorter windows carry too little voice to judge


@functools.lru_cache(maxsize=1)
def _features() -> FeatureExtractor:
    return FeatureExtractor()


def log_mel(samples: Samples) -> npt.NDArray[np.float32]:
    """Whisper's normalised log-mel (80, frames) of a window, frames rounded down to even."""
    mel = _features()(np.asarray(samples, dtype=np.float32), padding=0)
    frames = mel.shape[1] - mel.shape[1] % 2
    return np.ascontiguousarray(mel[:, :frames], dtype=np.float32)


def _session(path: str, threads: int) -> ort.InferenceSession:
    fix = "use a model exported by scripts/train_emotion.py"
    return session(path, threads=threads, what="emotion model", fix=fix)


class OnnxEmotionScorer:
    """The ONNX emotion model: log-mel window in, label probabilities and arousal out."""

    def __init__(self, path: str | Path | None = None, *, threads: int = 1) -> None:
        self.path = Path(path) if path else bundled(DEFAULT_EMOTION_MODEL)
        if not self.path.is_file():
            raise ModelError(f"emotion model {self.path} does not exist; check the path")
        self.session = _session(str(self.path), threads)
        inputs = [i.name for i in self.session.get_inputs()]
        outputs = [o.name for o in self.session.get_outputs()]
        if inputs != ["mel", "baseline"] or outputs != ["probs", "arousal", "stats", "prior"]:
            raise ModelError(
                f"emotion model {self.path} has inputs {inputs} and outputs {outputs}; expected "
                "mel, baseline -> probs, arousal, stats, prior (export it with "
                "scripts/train_emotion.py)"
            )
        labels = self.session.get_modelmeta().custom_metadata_map.get("labels", "")
        self.labels = tuple(labels.split(",")) if labels else LABELS
        shape = self.session.get_inputs()[1].shape
        silence = log_mel(np.zeros(SAMPLE_RATE, np.float32))
        self._prior: Stats = self.session.run(
            ["prior"], {"mel": silence[None], "baseline": np.zeros(shape, np.float32)}
        )[0]

    @property
    def prior(self) -> Stats:
        return self._prior

    def score(self, samples: Samples, baseline: Stats | None = None) -> EmotionScore:
        if len(samples) < MIN_SECONDS * SAMPLE_RATE:
            raise ValueError(f"an emotion window needs at least {MIN_SECONDS} s of audio")
        return self.score_mel(log_mel(samples), baseline)

    def score_mel(
        self, mel: npt.NDArray[np.float32], baseline: Stats | None = None
    ) -> EmotionScore:
        feed = {"mel": mel[None], "baseline": self._prior if baseline is None else baseline}
        probs, arousal, stats = self.session.run(["probs", "arousal", "stats"], feed)
        pairs = tuple((label, float(p)) for label, p in zip(self.labels, probs[0], strict=True))
        distress = sum(p for label, p in pairs if label in DISTRESS_LABELS)
        return EmotionScore(
            probs=pairs, distress=min(1.0, distress), arousal=float(arousal[0]), stats=stats
        )
