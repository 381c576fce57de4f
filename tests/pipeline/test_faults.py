"""Fault injection: a model that raises or hangs mid-call degrades that call, never the others.

The real engine, its workers and the real Silero VAD run the calls; only the
failing model is a stand-in behind its contract (``Transcriber``, ``TextScorer``,
``EmotionScorer``), scripted to fail on the Nth job of one call.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from edge import logcontext
from edge.adapters.vad import SileroVad
from edge.audio.frames import parse_channel_map
from edge.audio.sources import FileSource
from edge.contracts import EmotionScore, Hypothesis, RawWord, Samples, Stats, TextScore
from edge.events import (
    CallEnded,
    Event,
    ModelFailed,
    SpeechEnded,
    TextEmotion,
    TranscriptFinal,
    VoiceEmotion,
)
from edge.pipeline.batching import BatchOptions
from edge.pipeline.call import replay
from edge.pipeline.engine import Engine
from edge.pipeline.options import PipelineOptions
from edge.types import CallId
from tests.helpers import DATA, TIME_FACTOR

pytestmark = pytest.mark.slow

BROKEN = "broken"  # the call whose model jobs fail
HEALTHY = "healthy"
WORDS = (RawWord(" Hello", 0.0, 0.3, 0.9), RawWord(" there.", 0.3, 0.6, 0.9))


class Fault:
    """Fails the Nth job of the call ``BROKEN`` (every job after it too, if ``lasting``)."""

    def __init__(self, nth: int, *, hang: float = 0.0, lasting: bool = False) -> None:
        self.nth = nth
        self.hang = hang
        self.lasting = lasting
        self.jobs = 0
        self.failed = 0
        self._lock = threading.Lock()

    def strike(self) -> None:
        """Called by the stand-in model at each job; raises or sleeps when it is due."""
        if logcontext.call_id.get() != BROKEN:
            return
        with self._lock:
            self.jobs += 1
            due = self.jobs == self.nth or (self.lasting and self.jobs > self.nth)
            self.failed += due
        if due and self.hang:
            threading.Event().wait(self.hang)  # a decode stuck in a loop, then returning
        elif due:
            raise RuntimeError("CUDA error: device-side assert triggered")


class ScriptedTranscriber:
    """Two words per job; finals only count towards the fault."""

    def __init__(self, fault: Fault | None = None) -> None:
        self.fault = fault

    def transcribe(
        self,
        audio: Samples,
        *,
        prefix: str | None,
        final: bool,
        language: str | None = "en",
        greedy: bool = False,
        speculative: bool = False,
    ) -> Hypothesis:
        if final and self.fault is not None:
            self.fault.strike()
        return Hypothesis(WORDS, avg_logprob=-0.2, no_speech_prob=0.01, compression_ratio=1.2)


class ScriptedText:
    def __init__(self, fault: Fault | None = None) -> None:
        self.fault = fault

    def score(self, texts: Sequence[str]) -> list[TextScore]:
        if self.fault is not None:
            self.fault.strike()
        return [TextScore(0.2, 0.1, ()) for _ in texts]


class ScriptedEmotion:
    prior: Stats | None = None

    def __init__(self, fault: Fault | None = None) -> None:
        self.fault = fault

    def score(self, samples: Samples, baseline: Stats | None = None) -> EmotionScore:
        if self.fault is not None:
            self.fault.strike()
        return EmotionScore(probs=(("neutral", 0.9), ("angry", 0.1)), distress=0.1, arousal=0.2)


@pytest.fixture(scope="module")
def vad() -> SileroVad:
    return SileroVad(None)


def make_engine(vad: SileroVad, *, job_timeout: float = 30.0, **models: object) -> Engine:
    """Jobs one at a time: a fault here is scripted per call (its log context), and a batch
    of several calls' jobs runs in none (tests/pipeline/test_batching.py pins the batched
    path's faults)."""
    options = dataclasses.replace(
        PipelineOptions(), job_timeout=job_timeout, batching=BatchOptions(enabled=False)
    )
    return Engine(
        vad,
        models.get("asr", ScriptedTranscriber()),  # type: ignore[arg-type]
        options,
        emotion=models.get("emotion", ScriptedEmotion()),  # type: ignore[arg-type]
        text=models.get("text", ScriptedText()),  # type: ignore[arg-type]
    )


def run_two(
    engine: Engine, *, realtime: bool = False, timeout: float = 25
) -> dict[str, list[Event]]:
    """The broken call and a healthy one at once through one engine: each call's events."""

    async def one(call_id: str, path: Path) -> list[Event]:
        logcontext.call_id.set(call_id)
        source = FileSource(path, parse_channel_map("caller,-"))
        return [e async for e in replay(engine, source, call_id=CallId(call_id), realtime=realtime)]

    async def both() -> dict[str, list[Event]]:
        broken, healthy = await asyncio.wait_for(
            asyncio.gather(one(BROKEN, DATA / "jfk.flac"), one(HEALTHY, DATA / "jfk.flac")),
            timeout * TIME_FACTOR,
        )
        return {BROKEN: broken, HEALTHY: healthy}

    try:
        return asyncio.run(both())
    finally:
        engine.close()


def of(events: list[Event], kind: type) -> list:
    return [e for e in events if isinstance(e, kind)]


def test_transcriber_raising_skips_one_final_and_the_call_goes_on(vad, caplog):
    """Whisper raising on a final: that utterance's final is skipped with one model.failed
    event and one log line; the call's later finals come and it ends; the other call is whole."""
    fault = Fault(2)
    with caplog.at_level(logging.WARNING):
        calls = run_two(make_engine(vad, asr=ScriptedTranscriber(fault)))
    broken, healthy = calls[BROKEN], calls[HEALTHY]
    assert fault.failed == 1
    failed = of(broken, ModelFailed)
    assert len(failed) == 1 and failed[0].stage == "asr_final"
    assert "RuntimeError" in failed[0].message and failed[0].role is not None
    assert "CUDA" not in failed[0].message  # an error's text may quote the call: log only
    assert isinstance(broken[-1], CallEnded) and isinstance(healthy[-1], CallEnded)
    # jfk.flac has several utterances: the broken call's failed one ends in an empty
    # final that withdraws its partials; its other finals are the healthy call's
    assert [bool(f.text) for f in of(broken, TranscriptFinal)] == [True, False, True, True]
    assert [bool(f.text) for f in of(healthy, TranscriptFinal)] == [True] * 4
    assert not of(healthy, ModelFailed)
    lines = [r for r in caplog.records if "asr_final" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.WARNING and not lines[0].exc_info
    assert "CUDA error" in lines[0].getMessage()


def test_text_model_failing_for_good_leaves_transcripts_and_one_event(vad, caplog):
    """The text model failing on every final: finals still come, without text readings,
    and the call says so once (one event, one log line), not once per final."""
    fault = Fault(1, lasting=True)
    with caplog.at_level(logging.WARNING):
        calls = run_two(make_engine(vad, text=ScriptedText(fault)))
    broken, healthy = calls[BROKEN], calls[HEALTHY]
    assert fault.failed >= 2  # it was tried on each final
    assert [e.stage for e in of(broken, ModelFailed)] == ["text"]
    assert len(of(broken, TranscriptFinal)) == len(of(healthy, TranscriptFinal)) >= 2
    assert not of(broken, TextEmotion) and len(of(healthy, TextEmotion)) >= 2
    assert isinstance(broken[-1], CallEnded)
    assert len([r for r in caplog.records if "text model" in r.getMessage()]) == 1


def test_emotion_model_raising_skips_readings(vad):
    """The acoustic model failing on every window: no voice readings, one event, same finals."""
    fault = Fault(1, lasting=True)
    calls = run_two(make_engine(vad, emotion=ScriptedEmotion(fault)))
    broken, healthy = calls[BROKEN], calls[HEALTHY]
    assert [e.stage for e in of(broken, ModelFailed)] == ["emotion"]
    assert not of(broken, VoiceEmotion) and of(healthy, VoiceEmotion)
    assert len(of(broken, TranscriptFinal)) == len(of(healthy, TranscriptFinal))
    assert isinstance(broken[-1], CallEnded)


def test_transcriber_hanging_meets_the_job_deadline_and_others_go_on(vad):
    """A final that never comes back (here: 20 s) is given up after ``job_timeout``; the
    call goes on and ends, and the healthy call, sharing the one Whisper worker, finishes
    too instead of queueing behind the stuck decode."""
    fault = Fault(1, hang=20)
    engine = make_engine(vad, asr=ScriptedTranscriber(fault), job_timeout=1.0)
    calls = run_two(engine, timeout=15)
    broken, healthy = calls[BROKEN], calls[HEALTHY]
    failed = of(broken, ModelFailed)
    assert len(failed) == 1 and failed[0].stage == "asr_final"
    assert "1 s" in failed[0].message
    assert [bool(f.text) for f in of(broken, TranscriptFinal)] == [False, True, True, True]
    assert [bool(f.text) for f in of(healthy, TranscriptFinal)] == [True] * 4
    assert isinstance(broken[-1], CallEnded) and isinstance(healthy[-1], CallEnded)


def test_live_call_survives_a_raising_transcriber(vad):
    """Live pacing (speculative finals, skipped partials): the same degradation."""
    fault = Fault(1)
    calls = run_two(make_engine(vad, asr=ScriptedTranscriber(fault)), realtime=True, timeout=25)
    broken, healthy = calls[BROKEN], calls[HEALTHY]
    assert [e.stage for e in of(broken, ModelFailed)] == ["asr_final"]
    assert isinstance(broken[-1], CallEnded) and isinstance(healthy[-1], CallEnded)
    assert of(healthy, TranscriptFinal)


def test_vad_raising_treats_the_batch_as_silence(vad):
    """Speech detection failing once: one event, the call goes on to its end."""

    class FlakyVad:
        def __init__(self) -> None:
            self.fault = Fault(3)

        def stream(self):  # type: ignore[no-untyped-def]
            inner, fault = vad.stream(), self.fault

            class Stream:
                def probability(self, frame: Samples) -> float:
                    fault.strike()
                    return inner.probability(frame)

                def reset(self) -> None:
                    inner.reset()

            return Stream()

    engine = make_engine(vad)
    engine.vad = FlakyVad()  # type: ignore[assignment]
    calls = run_two(engine)
    assert [e.stage for e in of(calls[BROKEN], ModelFailed)] == ["vad"]
    assert isinstance(calls[BROKEN][-1], CallEnded) and of(calls[HEALTHY], TranscriptFinal)
    assert np.isfinite(calls[BROKEN][-1].stream_time)


class SlowPartials(ScriptedTranscriber):
    """Partials take 2 s (a busy box), finals no time."""

    def transcribe(self, audio: Samples, *, final: bool, **kwargs: object) -> Hypothesis:
        if not final:
            threading.Event().wait(2.0)
        return super().transcribe(audio, final=final, **kwargs)  # type: ignore[arg-type]


def test_a_final_does_not_wait_for_its_channels_partial(vad):
    """One live call, two Whisper workers, partials slower than the pauses: when speech
    pauses, the partial out is abandoned and the final starts on the other worker, so each
    final comes with the end of its speech, not a partial's decode later."""
    options = dataclasses.replace(PipelineOptions(), batching=BatchOptions(enabled=False))
    options = dataclasses.replace(options, asr=dataclasses.replace(options.asr, workers=2))
    engine = Engine(vad, SlowPartials(), options, emotion=ScriptedEmotion(), text=ScriptedText())

    async def live() -> list[Event]:
        source = FileSource(DATA / "jfk.flac", parse_channel_map("caller,-"))
        run = replay(engine, source, call_id=CallId("slow"), realtime=True)
        return [e async for e in run]

    try:
        events = asyncio.run(asyncio.wait_for(live(), 25 * TIME_FACTOR))
    finally:
        engine.close()
    ends, finals = of(events, SpeechEnded), of(events, TranscriptFinal)
    assert len(finals) == len(ends) >= 3
    late = [f.stream_time - e.stream_time for e, f in zip(ends, finals, strict=True)]
    assert max(late) < 0.5, late
