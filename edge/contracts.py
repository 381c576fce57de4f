"""The value types and protocols that stages, adapters and the pipeline share.

What belongs here: the data that crosses a layer boundary (a frame of audio,
what Whisper made of an utterance, what a model read in a voice or a text) and
one small ``typing.Protocol`` per model capability (detect speech, transcribe,
score a voice, score a text).  Nothing that does work: no model, no I/O, no
stage logic.  At run time this module imports only the standard library,
numpy and :mod:`edge.types`, so anything built on it can be imported, tested and reused without
loading a model runtime.

The layering rule, each floor importing only from the floors before it::

    contracts  <-  stages  <-  adapters  <-  pipeline  <-  server / cli

Stages (pure state machines) speak in these types; adapters implement the
protocols with real models; the pipeline wires one to the other and runs
the models on their workers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from edge.types import SAMPLE_RATE, Role

Samples = npt.NDArray[np.float32]  # 16 kHz mono audio
Stats = npt.NDArray[np.float32]  # a voice's window statistics, as the emotion model keeps them


@dataclass(frozen=True)
class Frame:
    """``FRAME_SAMPLES`` samples of one channel, 16 kHz mono float32.

    ``start`` is the stream time of the first sample, in seconds into the call.
    """

    role: Role
    start: float
    samples: Samples

    @property
    def end(self) -> float:
        return self.start + len(self.samples) / SAMPLE_RATE


# --- speech detection ----------------------------------------------------------------


class VadStream(Protocol):
    """Speech probability of consecutive frames of one stream."""

    def probability(self, frame: Samples) -> float: ...

    def reset(self) -> None: ...


class SpeechDetector(Protocol):
    """A loaded VAD model that hands out per-stream state."""

    def stream(self) -> VadStream: ...


# --- transcription -------------------------------------------------------------------


@dataclass(frozen=True)
class RawWord:
    """A word as the model returned it, times relative to the audio it was given."""

    text: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True)
class Hypothesis:
    """What the model made of one stretch of audio, with the scores the guards need."""

    words: tuple[RawWord, ...]
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    # The language it was decoded in: the one asked for, or what the model detected
    # (with its probability) when asked for none.
    language: str | None = None
    language_probability: float | None = None
    # The decode failed (it looped on a short encoder window) and was not redone:
    # a speculative final, decoded again as the final once the pause holds. Not to
    # be shown.
    failed: bool = False

    @property
    def text(self) -> str:
        return "".join(w.text for w in self.words).strip()


class Transcriber(Protocol):
    """Turns 16 kHz mono audio into words. Called from a worker thread only.

    ``language``: the Whisper code to decode in; None: detect it from ``audio``.
    ``greedy``: one greedy pass (beam 1, no fallback) even for a final: the engine
    asks for it when it is behind (``[pipeline.load]``).
    ``speculative``: a final decoded during a pause that may yet end in more speech:
    the transcriber may spend less on it and return a hypothesis marked ``failed``
    rather than retry (the final is then decoded again if the pause holds).
    """

    def transcribe(
        self,
        audio: Samples,
        *,
        prefix: str | None,
        final: bool,
        language: str | None = "en",
        greedy: bool = False,
        speculative: bool = False,
    ) -> Hypothesis: ...


# --- acoustic emotion ----------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class EmotionScore:
    """The model's reading of one window of one speaker's voice."""

    probs: tuple[tuple[str, float], ...]
    distress: float
    arousal: float
    stats: Stats | None = None  # the window's statistics, for the speaker's baseline

    def prob(self, label: str) -> float:
        return dict(self.probs).get(label, 0.0)


class EmotionScorer(Protocol):
    """Scores one window of 16 kHz mono speech against a speaker baseline. Thread-safe."""

    @property
    def prior(self) -> Stats | None:
        """The baseline to assume for a new speaker (None: the scorer keeps no baselines)."""
        ...

    def score(self, samples: Samples, baseline: Stats | None = None) -> EmotionScore: ...


# --- text ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextScore:
    """How distressed one piece of caller text sounds.

    ``distress``: probability (0..1) that the caller is distressed or negative.
    ``sentiment``: -1 (very negative) .. 1 (very positive).
    ``evidence``: tags naming the phrases that explain the score, e.g. ("pain words",).
    ``quote``: those phrases as they stand in the text (verbatim spans), or, for a
    distressed sentence with no tag, its most distressed clause.
    ``emergency``: the emergency category the emergency head reads as most likely
    (``edge.stages.emergency.Category`` values; "" when no head ran), and
    ``emergency_p`` its probability (0..1).
    ``sensitive_p``: the triage head's probability that the words are a sensitive
    call's (``edge.stages.triage``), ``other_p`` that they are call-handling talk with
    no topic; ``routine_topic`` and ``sensitive_topic`` the most
    likely topic of each label ("" when no head ran).
    """

    distress: float
    sentiment: float
    evidence: tuple[str, ...]
    quote: tuple[str, ...] = ()
    emergency: str = ""
    emergency_p: float = 0.0
    sensitive_p: float = 0.0
    other_p: float = 0.0
    routine_topic: str = ""
    sensitive_topic: str = ""


class TextScorer(Protocol):
    """Scores caller text for distress."""

    def score(self, texts: Sequence[str]) -> list[TextScore]: ...
