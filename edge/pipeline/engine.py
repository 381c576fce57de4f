"""The loaded models every call shares, each behind its own worker thread."""

from __future__ import annotations

import contextvars
import functools
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from edge.adapters.asr import WhisperTranscriber
from edge.adapters.emotion import OnnxEmotionScorer
from edge.adapters.text import MiniLmTextScorer
from edge.adapters.vad import SileroVad
from edge.contracts import (
    EmotionScore,
    EmotionScorer,
    Frame,
    Hypothesis,
    SpeechDetector,
    TextScore,
    TextScorer,
    Transcriber,
    VadStream,
)
from edge.errors import ModelError
from edge.languages import TEXT_LANGUAGES
from edge.pipeline.feed import score_voice
from edge.pipeline.options import PipelineOptions
from edge.pipeline.workers import LATER, URGENT, JobTimeout, PriorityWorkers
from edge.stages.channel import AsrJob
from edge.stages.voice import EmotionJob

_T = TypeVar("_T")

# What each stage's job is, for the one line that says which model failed.
_MODELS = {
    "vad": "speech detection",
    "asr_partial": "speech recognition",
    "asr_final": "speech recognition",
    "emotion": "voice emotion",
    "text": "text",
}


class ModelJobFailed(ModelError):
    """One model job raised or passed ``[pipeline] job_timeout``; the call goes on without it.

    ``public`` names the model and the kind of error only: it goes to
    subscribers, and an exception's own text may quote what the call said.
    """

    def __init__(self, stage: str, reason: str, detail: str = "") -> None:
        self.stage = stage
        self.public = f"the {_MODELS.get(stage, stage)} model failed ({stage}): {reason}"
        super().__init__(f"{self.public}: {detail}" if detail else self.public)


class Engine:
    """Shared models and their workers.

    Whisper runs on ``asr.workers`` threads (default one: CTranslate2 already
    uses every core it is given for one decode) that take finals before
    partials (:class:`~edge.pipeline.workers.PriorityWorkers`), so with many
    calls a final does not wait behind every other call's partials. The ASR
    queue is bounded by construction: each channel has at most one job in
    flight (:class:`~edge.stages.channel.ChannelStage` enforces it). The
    emotion and text models share a third worker; each channel has at most
    one emotion job in flight too.
    """

    def __init__(
        self,
        vad: SpeechDetector,
        asr: Transcriber,
        options: PipelineOptions,
        *,
        emotion: EmotionScorer | None = None,
        text: TextScorer | None = None,
    ) -> None:
        self.vad = vad
        self.asr = asr
        self.emotion = emotion
        self.text = text
        self.options = options
        # The languages whose finals the text model reads (none when it is off).
        self.text_languages = TEXT_LANGUAGES if text is not None else frozenset()
        self._asr_workers = PriorityWorkers(max(1, options.asr.workers), name="edge-asr")
        self._vad_pool = PriorityWorkers(1, name="edge-vad")
        self._affect_pool = PriorityWorkers(1, name="edge-affect")
        # Told each model job's stage ("vad", "asr_partial", "asr_final", "emotion",
        # "text") and its seconds, queueing included: the service's latency metrics.
        self.observe: Callable[[str, float], None] | None = None
        # Told the stage of every job that failed (the calls report each stage once).
        self.failed: Callable[[str], None] | None = None

    @classmethod
    def load(cls, options: PipelineOptions | None = None) -> Engine:
        """Load the configured models (blocking: call it from a thread when a loop runs)."""
        options = options or PipelineOptions()
        return cls(
            SileroVad(options.vad_model),
            WhisperTranscriber(options.asr, language=options.language),
            options,
            emotion=OnnxEmotionScorer(options.emotion_model) if options.emotion.enabled else None,
            text=MiniLmTextScorer.load() if options.text else None,
        )

    async def _run(
        self, stage: str, pool: PriorityWorkers, work: Callable[[], _T], *, urgent: bool = False
    ) -> _T:
        """Run one model job on its workers; a failure or a timeout is :class:`ModelJobFailed`."""
        started = time.perf_counter()
        context = contextvars.copy_context()  # the worker's log lines name the call too
        timeout = self.options.job_timeout
        try:
            result = await pool.run(
                URGENT if urgent else LATER, lambda: context.run(work), timeout=timeout
            )
        except JobTimeout as e:
            self._failed(stage)
            raise ModelJobFailed(
                stage, f"no result within {timeout:g} s ([pipeline] job_timeout)"
            ) from e
        except Exception as e:  # the model's own error, whatever its type
            self._failed(stage)
            raise ModelJobFailed(stage, type(e).__name__, str(e)[:200]) from e
        if self.observe is not None:
            self.observe(stage, time.perf_counter() - started)
        return result

    def _failed(self, stage: str) -> None:
        if self.failed is not None:
            self.failed(stage)

    @property
    def asr_backlogged(self) -> bool:
        """Every Whisper worker is busy and jobs are waiting: partials should hold off."""
        return len(self._asr_workers) > 0

    async def probabilities(self, stream: VadStream, frames: Sequence[Frame]) -> list[float]:
        return await self._run(
            "vad", self._vad_pool, lambda: [stream.probability(f.samples) for f in frames]
        )

    async def transcribe(self, job: AsrJob, language: str | None) -> Hypothesis:
        """``job`` decoded in ``language`` (None: Whisper detects it from the job's audio)."""
        call = functools.partial(
            self.asr.transcribe,
            job.utterance.audio,
            prefix=job.prefix,
            final=job.final,
            language=language,
        )
        stage = "asr_final" if job.final else "asr_partial"
        return await self._run(stage, self._asr_workers, call, urgent=job.final)

    async def score_voice(self, job: EmotionJob) -> tuple[EmotionScore | None, EmotionScore | None]:
        """The window's score and the current utterance's, for those the job carries."""
        assert self.emotion is not None
        return await self._run(
            "emotion", self._affect_pool, functools.partial(score_voice, self.emotion, job)
        )

    async def score_text(self, text: str) -> TextScore:
        assert self.text is not None
        scorer = self.text
        scores = await self._run("text", self._affect_pool, lambda: scorer.score([text]))
        return scores[0]

    def close(self) -> None:
        for pool in (self._asr_workers, self._vad_pool, self._affect_pool):
            pool.shutdown()
