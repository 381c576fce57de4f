"""The loaded models every call shares, each behind its own worker thread."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from edge.adapters.asr import AsrOptions, Hypothesis, Transcriber, WhisperTranscriber
from edge.adapters.vad import SileroVad, SpeechDetector, VadStream
from edge.audio.frames import Frame
from edge.stages.channel import AsrJob, StreamOptions
from edge.stages.guards import GuardOptions
from edge.stages.segmenter import VadOptions


@dataclass(frozen=True, kw_only=True)
class PipelineOptions:
    """Everything that shapes a call's processing, one options object per stage."""

    vad: VadOptions = field(default_factory=VadOptions)
    stream: StreamOptions = field(default_factory=StreamOptions)
    guards: GuardOptions = field(default_factory=GuardOptions)
    asr: AsrOptions = field(default_factory=AsrOptions)
    vad_model: str | None = None  # path; None = bundled Silero VAD


class Engine:
    """Shared models and their workers.

    Whisper runs on one thread: CTranslate2 already uses every core it is
    given for one decode, so two decodes at once would only take turns. The
    ASR queue is bounded by construction: each channel has at most one job
    in flight (:class:`~edge.stages.channel.ChannelStage` enforces it).
    """

    def __init__(self, vad: SpeechDetector, asr: Transcriber, options: PipelineOptions) -> None:
        self.vad = vad
        self.asr = asr
        self.options = options
        self._asr_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="edge-asr")
        self._vad_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="edge-vad")

    @classmethod
    def load(cls, options: PipelineOptions | None = None) -> Engine:
        """Load the configured models (blocking: call it from a thread when a loop runs)."""
        options = options or PipelineOptions()
        return cls(SileroVad(options.vad_model), WhisperTranscriber(options.asr), options)

    async def probabilities(self, stream: VadStream, frames: Sequence[Frame]) -> list[float]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._vad_pool, lambda: [stream.probability(f.samples) for f in frames]
        )

    async def transcribe(self, job: AsrJob) -> Hypothesis:
        loop = asyncio.get_running_loop()
        call = functools.partial(
            self.asr.transcribe, job.utterance.audio, prefix=job.prefix, final=job.final
        )
        return await loop.run_in_executor(self._asr_pool, call)

    def close(self) -> None:
        self._asr_pool.shutdown(wait=True, cancel_futures=True)
        self._vad_pool.shutdown(wait=True, cancel_futures=True)
