"""The loaded models every call shares, each behind its own worker thread."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

from edge.adapters.asr import WhisperTranscriber
from edge.adapters.emotion import OnnxEmotionScorer
from edge.adapters.text import MiniLmTextScorer
from edge.adapters.vad import SileroStream, SileroVad
from edge.contracts import (
    EmotionScore,
    EmotionScorer,
    Frame,
    Hypothesis,
    Samples,
    SpeechDetector,
    TextScore,
    TextScorer,
    Transcriber,
    VadStream,
)
from edge.errors import ModelError
from edge.languages import TEXT_LANGUAGES
from edge.pipeline.batching import BatchWorker
from edge.pipeline.feed import score_voice
from edge.pipeline.load import LoadGovernor, LoadStep, StepChange
from edge.pipeline.options import PipelineOptions
from edge.pipeline.workers import LATER, URGENT, PriorityWorkers
from edge.stages.channel import AsrJob, JobKind
from edge.stages.voice import EmotionJob

_T = TypeVar("_T")
_I = TypeVar("_I")

log = logging.getLogger(__name__)

LOAD_EVERY = 0.25  # seconds between two looks at the calls' lag

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


class Lagging(Protocol):
    """A live call, as the engine's load governor sees it."""

    def lag(self, now: float) -> float:
        """Seconds its processing trails its audio at ``now`` (the engine's clock)."""
        ...


class Engine:
    r"""Shared models and their workers, and the load governor over the calls they serve.

    Whisper runs on ``asr.workers`` threads (default one: CTranslate2 already
    uses every core it is given for one decode) that take finals before
    partials (:class:`~edge.pipeline.workers.PriorityWorkers`), so with many
    calls a final does not wait behind every other call's partials. The ASR
    queue is bounded by construction: each channel has at most one job in
    flight (:class:`~edge.stages.channel.ChannelStage` enforces it). The
    emotion and text models share a third worker; each channel has at most
    one emotion job in flight too.

    With ``[pipeline.batching] enabled`` (the default), speech detection and
    the text model run on :class:`~edge.pipeline.batching.BatchWorker`\ s
    instead: the VAD frames of all live channels, and the finals of all calls,
    go through their model as one batch (Silero's batch dimension; the text
    model's padded batch). Per-call state stays in the channel's stream and
    stages: a batch only carries it. A VAD that is not Silero's runs one
    channel at a time on its worker as before.
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
        batching = options.batching
        self._vad_batches: BatchWorker[_VadJob, list[float]] | None = None
        self._text_batches: BatchWorker[str, TextScore] | None = None
        if batching.enabled:
            window, most, waiting = batching.window, batching.max_batch, batching.max_waiting
            self._vad_batches = BatchWorker(
                _vad_batch,
                name="edge-vad-batch",
                window=window,
                max_batch=most,
                max_waiting=waiting,
            )
            if text is not None:
                self._text_batches = BatchWorker(
                    text.score,
                    name="edge-text-batch",
                    window=window,
                    max_batch=most,
                    max_waiting=waiting,
                )
        # Told each model job's stage ("vad", "asr_partial", "asr_final", "emotion",
        # "text") and its seconds, queueing included: the service's latency metrics.
        self.observe: Callable[[str, float], None] | None = None
        # Told the stage of every job that failed (the calls report each stage once).
        self.failed: Callable[[str], None] | None = None
        # Told each batch's model ("vad", "text") and size (the service's metrics).
        self.batched: Callable[[str, int], None] | None = None
        for stage, worker in (("vad", self._vad_batches), ("text", self._text_batches)):
            if worker is not None:
                worker.on_batch = functools.partial(self._batched_size, stage)
        # The load: the calls attached, the governor, the clock both read.
        self.clock: Callable[[], float] = time.monotonic
        self.governor = LoadGovernor(options.load)
        self.change: StepChange | None = None  # the governor's last change
        # Told every change of step (the service's metrics and readiness).
        self.load_changed: Callable[[StepChange], None] | None = None
        self._calls: set[Lagging] = set()
        self._looked = -LOAD_EVERY
        self._behind_with: int | None = None  # live calls when the service fell behind

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
        context = contextvars.copy_context()  # the worker's log lines name the call too
        priority = URGENT if urgent else LATER
        timeout = self.options.job_timeout
        return await self._settled(
            stage, pool.run(priority, lambda: context.run(work), timeout=timeout)
        )

    async def _batched(self, stage: str, worker: BatchWorker[_I, _T], item: _I) -> _T:
        """One job in the next batch of its model; as :meth:`_run`, but ``job_timeout``
        counts from now (the gathering window is milliseconds) and a batch worker stuck
        in its model is not replaced: the jobs behind it time out one by one."""
        context = contextvars.copy_context()  # for the job's run alone, if its batch fails
        job = worker.run(item, LATER, context=context)
        return await self._settled(stage, asyncio.wait_for(job, self.options.job_timeout))

    async def _settled(self, stage: str, job: Awaitable[_T]) -> _T:
        """``job``'s result; its failure or timeout as :class:`ModelJobFailed`."""
        started = time.perf_counter()
        timeout = self.options.job_timeout
        try:
            result = await job
        except TimeoutError as e:  # JobTimeout, or wait_for's
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

    def _batched_size(self, stage: str, size: int) -> None:
        if self.batched is not None:
            self.batched(stage, size)

    def _failed(self, stage: str) -> None:
        if self.failed is not None:
            self.failed(stage)

    # -- load -------------------------------------------------------------

    @property
    def step(self) -> LoadStep:
        """What the live calls give up now to keep within ``[pipeline.load] lag_budget``."""
        return self.governor.step

    @property
    def full(self) -> bool:
        """Whether a new call must be refused (``[pipeline.load] refuse``).

        At capacity (step 4), none is taken; from the first step on, no more
        than the live calls the service had when it fell behind: the lag shows
        seconds after the load that caused it, and every call taken meanwhile
        would make it worse. A call that ends frees a place.
        """
        if not self.options.load.refuse:
            return False
        if self.governor.at_capacity:
            return True
        return self._behind_with is not None and len(self._calls) >= self._behind_with

    def attach(self, call: Lagging) -> None:
        """A live call starts: its lag counts."""
        self._calls.add(call)

    def detach(self, call: Lagging) -> None:
        """A live call ended; with none left, nothing is behind."""
        self._calls.discard(call)
        if not self._calls:
            self._changed(self.governor.idle())

    def check_load(self) -> None:
        """Look at the calls' lag (at most every ``LOAD_EVERY`` s); change step if due."""
        now = self.clock()
        if now - self._looked < LOAD_EVERY:
            return
        self._looked = now
        lag = max((call.lag(now) for call in self._calls), default=0.0)
        self._changed(self.governor.observe(now, lag))

    def _changed(self, change: StepChange | None) -> None:
        if change is None:
            return
        self.change = change
        if change.was is LoadStep.NORMAL:
            self._behind_with = len(self._calls)
        elif change.step is LoadStep.NORMAL:
            self._behind_with = None
        if change.degraded:
            log.warning(
                "calls %.1f s behind ([pipeline.load] lag_budget %g s): step %d, %s",
                change.lag,
                self.options.load.lag_budget,
                change.step,
                change.step.label,
            )
        else:
            log.info(
                "calls %.1f s behind: back to step %d, %s",
                change.lag,
                change.step,
                change.step.label,
            )
        if self.load_changed is not None:
            self.load_changed(change)

    # -- model jobs ---------------------------------------------------------

    @property
    def asr_backlogged(self) -> bool:
        """Partials should hold off: Whisper jobs are waiting, or, with several workers,
        only one is free. That one is kept for a final: a final that arrives while
        every worker decodes partials waits for one of them to finish, and with six
        calls on two workers that wait made the finals' p95 over 2 s (issue 15)."""
        return not self._asr_workers.room_for_later()

    async def probabilities(self, stream: VadStream, frames: Sequence[Frame]) -> list[float]:
        if self._vad_batches is not None and isinstance(stream, SileroStream):
            job = (stream, [f.samples for f in frames])
            return await self._batched("vad", self._vad_batches, job)
        return await self._run(
            "vad", self._vad_pool, lambda: [stream.probability(f.samples) for f in frames]
        )

    async def transcribe(
        self, job: AsrJob, language: str | None, *, greedy: bool = False
    ) -> Hypothesis:
        """``job`` decoded in ``language`` (None: Whisper detects it from the job's audio).

        ``greedy``: one greedy pass (beam 1) even for a final: the load step ``greedy_finals``.
        """
        call = functools.partial(
            self.asr.transcribe,
            job.utterance.audio,
            prefix=job.prefix,
            final=job.final,
            language=language,
            greedy=greedy,
            speculative=job.kind is JobKind.SPECULATIVE,
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
        if self._text_batches is not None:
            return await self._batched("text", self._text_batches, text)
        scorer = self.text
        scores = await self._run("text", self._affect_pool, lambda: scorer.score([text]))
        return scores[0]

    def window_fallbacks(self, kind: str) -> int:
        """Whisper's short-window decodes of ``kind`` that failed (edge_asr_window_fallbacks)."""
        return self.asr.window_fallbacks[kind] if isinstance(self.asr, WhisperTranscriber) else 0

    @property
    def batch_sizes(self) -> dict[str, list[int]]:
        """The size of each recent batch per batched model (empty when batching is off)."""
        workers = {"vad": self._vad_batches, "text": self._text_batches}
        return {stage: list(w.batches) for stage, w in workers.items() if w is not None}

    def close(self) -> None:
        for pool in (self._asr_workers, self._vad_pool, self._affect_pool):
            pool.shutdown()
        for worker in (self._vad_batches, self._text_batches):
            if worker is not None:
                worker.shutdown()


_VadJob = tuple[SileroStream, Sequence[Samples]]  # a channel's stream and its new frames


def _vad_batch(jobs: Sequence[_VadJob]) -> list[list[float]]:
    """Each channel's probabilities of its frames, all channels in one batch."""
    return jobs[0][0].model.probabilities(jobs)
