"""Batched inference across calls (issue 15, part 1): the gathering rule on a scripted
clock, the worker's priorities and errors, and the text model's batched readings equal
to its one-by-one readings."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Sequence

import numpy as np
import pytest
from faster_whisper.audio import decode_audio

from edge.contracts import Frame, TextScore
from edge.pipeline.batching import BatchFull, BatchOptions, BatchWorker, Gatherer
from edge.pipeline.engine import Engine, ModelJobFailed
from edge.pipeline.options import PipelineOptions
from edge.pipeline.workers import LATER, URGENT
from edge.types import FRAME_SAMPLES, SAMPLE_RATE, Role
from tests.helpers import DATA

WINDOW = 0.05


def test_a_batch_is_due_a_window_after_its_first_job() -> None:
    """The first job starts the window; jobs joining it do not extend it."""
    gatherer: Gatherer[str] = Gatherer(window=WINDOW, max_batch=8)
    assert gatherer.wait(0.0) is None
    gatherer.add("a", LATER, 1.0)
    assert gatherer.wait(1.0) == pytest.approx(WINDOW)
    gatherer.add("b", LATER, 1.03)
    assert gatherer.wait(1.03) == pytest.approx(WINDOW - 0.03)
    assert gatherer.wait(1.0 + WINDOW) == 0.0
    assert [w.item for w in gatherer.take()] == ["a", "b"]
    assert gatherer.wait(2.0) is None


def test_a_full_batch_is_due_at_once_most_urgent_first() -> None:
    """max_batch jobs waiting: due now; the most urgent go, oldest first within a priority,
    and the rest wait from their own arrival."""
    gatherer: Gatherer[str] = Gatherer(window=WINDOW, max_batch=3)
    gatherer.add("reading", LATER, 0.0)
    gatherer.add("partial", LATER, 0.01)
    assert gatherer.wait(0.01) == pytest.approx(WINDOW - 0.01)
    gatherer.add("final", URGENT, 0.02)
    gatherer.add("final 2", URGENT, 0.03)
    assert gatherer.wait(0.03) == 0.0
    assert [w.item for w in gatherer.take()] == ["final", "final 2", "reading"]
    assert len(gatherer) == 1
    assert gatherer.wait(0.03) == pytest.approx(WINDOW - 0.02)  # "partial" came at 0.01


def test_the_worker_runs_urgent_jobs_first_and_gathers_within_the_window() -> None:
    """Jobs submitted together run as one batch, urgent ones at its head; a job alone
    waits about the window, no longer."""
    seen: list[list[str]] = []

    def run(items: Sequence[str]) -> list[str]:
        seen.append(list(items))
        return [item.upper() for item in items]

    worker = BatchWorker(run, name="test-batch", window=WINDOW, max_batch=8)

    async def scenario() -> tuple[list[str], float]:
        jobs = [worker.run("later 1", LATER), worker.run("later 2", LATER)]
        jobs.append(worker.run("urgent", URGENT))
        together = await asyncio.gather(*jobs)
        loop = asyncio.get_running_loop()
        began = loop.time()
        await worker.run("alone", LATER)
        return together, loop.time() - began

    try:
        together, alone = asyncio.run(scenario())
    finally:
        worker.shutdown()
    assert together == ["LATER 1", "LATER 2", "URGENT"]
    assert seen[0] == ["urgent", "later 1", "later 2"]
    assert seen[1] == ["alone"]
    assert WINDOW * 0.9 <= alone < WINDOW + 0.5


def test_a_failing_batch_is_run_again_one_job_at_a_time() -> None:
    """One bad input fails its batch: each job then runs alone, in its own caller's
    context; the bad one gets its own error, the others their outputs, and the next
    batch runs."""
    caller: contextvars.ContextVar[str] = contextvars.ContextVar("caller", default="none")
    seen: list[tuple[list[int], str]] = []

    def run(items: Sequence[int]) -> list[int]:
        seen.append((list(items), caller.get()))
        if 13 in items:
            raise ValueError(f"cannot read {caller.get()}'s input")
        return [i * 2 for i in items]

    worker = BatchWorker(run, name="test-batch", window=0.05, max_batch=4)

    async def one(name: str, item: int) -> int:
        caller.set(name)
        return await worker.run(item, LATER, context=contextvars.copy_context())

    async def scenario() -> tuple[list[object], int]:
        first = await asyncio.gather(one("a", 1), one("b", 13), one("c", 3), return_exceptions=True)
        return first, await one("d", 4)

    try:
        first, after = asyncio.run(scenario())
    finally:
        worker.shutdown()
    assert first[0] == 2 and first[2] == 6 and after == 8
    assert isinstance(first[1], ValueError) and str(first[1]) == "cannot read b's input"
    # the batch ran under no caller's context; each job alone under its own
    assert seen == [([1, 13, 3], "none"), ([1], "a"), ([13], "b"), ([3], "c"), ([4], "d")]
    assert worker.batches == [3, 1]


def test_jobs_beyond_max_waiting_are_refused_at_once() -> None:
    """The backstop bound: with max_waiting jobs waiting, one more fails with BatchFull
    instead of queueing; those waiting still run."""
    release = threading.Event()

    def run(items: Sequence[int]) -> list[int]:
        release.wait(5)
        return list(items)

    worker = BatchWorker(run, name="test-batch", window=0.0, max_batch=1, max_waiting=2)

    async def scenario() -> list[object]:
        busy = asyncio.ensure_future(worker.run(0, LATER))  # taken: the model holds it
        while not worker.batches:
            await asyncio.sleep(0.005)
        waiting = [asyncio.ensure_future(worker.run(i, LATER)) for i in (1, 2)]
        await asyncio.sleep(0.01)
        with pytest.raises(BatchFull, match="max_waiting"):
            await worker.run(3, LATER)
        release.set()
        return list(await asyncio.gather(busy, *waiting))

    try:
        assert asyncio.run(scenario()) == [0, 1, 2]
    finally:
        release.set()
        worker.shutdown()


@pytest.mark.slow
def test_batched_text_readings_equal_one_by_one_readings() -> None:
    """The real text model over a batch of finals gives each the reading it gets alone."""
    from edge.adapters.text import MiniLmTextScorer

    scorer = MiniLmTextScorer.load()
    texts = [
        "I can't breathe and my chest hurts.",
        "Thank you, that's all I needed.",
        "I've been waiting for three weeks and nobody called me back!",
        "What does that mean? I don't understand.",
        "My mother fell this morning and she can't get up.",
        "Okay.",
    ]
    alone = [scorer.score([text])[0] for text in texts]
    worker = BatchWorker(scorer.score, name="test-text", window=WINDOW, max_batch=16)

    async def batched() -> list[object]:
        return list(await asyncio.gather(*(worker.run(text, LATER) for text in texts)))

    try:
        together = asyncio.run(batched())
    finally:
        worker.shutdown()
    assert worker.batches == [len(texts)]
    for one, many in zip(alone, together, strict=True):
        assert np.isclose(many.distress, one.distress, atol=1e-4)
        assert np.isclose(many.sentiment, one.sentiment, atol=1e-4)
        assert many.evidence == one.evidence and many.quote == one.quote
        assert many.emergency == one.emergency


def _engine(batching: bool, text: object = None) -> Engine:
    from edge.adapters.vad import SileroVad
    from tests.pipeline.test_faults import ScriptedText, ScriptedTranscriber

    options = PipelineOptions(batching=BatchOptions(enabled=batching, window=WINDOW))
    return Engine(
        SileroVad(),
        ScriptedTranscriber(),
        options,
        text=text or ScriptedText(),  # type: ignore[arg-type]
    )


def _frames(seconds: float, offset: int) -> list[Frame]:
    audio = decode_audio(str(DATA / "jfk.flac"))[offset * FRAME_SAMPLES :]
    count = int(seconds * SAMPLE_RATE) // FRAME_SAMPLES
    return [
        Frame(
            Role.CALLER,
            i * FRAME_SAMPLES / SAMPLE_RATE,
            audio[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES],
        )
        for i in range(count)
    ]


def test_batched_speech_detection_equals_each_channel_alone() -> None:
    """Three channels' frames through the engine's VAD batches give each channel the
    probabilities its own stream gives alone, feed after feed (its state carried
    between batches); a channel whose frames the model refuses gets its own error,
    and the others' batch still reads theirs."""
    channels = [_frames(4.0, offset) for offset in (0, 40, 130)]
    alone = _engine(batching=False)
    together = _engine(batching=True)

    async def run(engine: Engine) -> list[list[float]]:
        streams = [engine.vad.stream() for _ in channels]
        pairs = list(zip(streams, channels, strict=True))
        out: list[list[float]] = [[] for _ in channels]
        for at in range(0, len(channels[0]), 20):
            feeds = [engine.probabilities(s, c[at : at + 20]) for s, c in pairs]
            for got, probs in zip(out, await asyncio.gather(*feeds), strict=True):
                got += probs
        bad = Frame(Role.CALLER, 0.0, np.zeros(FRAME_SAMPLES // 2, np.float32))
        feeds = [engine.probabilities(streams[0], [bad])]
        feeds += [engine.probabilities(s, c[:3]) for s, c in pairs[1:]]
        last = await asyncio.gather(*feeds, return_exceptions=True)
        assert isinstance(last[0], ModelJobFailed) and last[0].stage == "vad"
        assert "ValueError" in last[0].public
        return [*out, *last[1:]]  # type: ignore[list-item]

    try:
        expected = asyncio.run(run(alone))
        got = asyncio.run(run(together))
    finally:
        alone.close()
        together.close()
    assert got == expected
    assert max(together.batch_sizes["vad"]) == len(channels)


def test_a_bad_final_in_a_text_batch_fails_alone() -> None:
    """The text model raising on one call's final in a batch: that call gets a
    ModelJobFailed (stage text, its error's type), the other calls their readings."""

    class Picky:
        """Reads any text but one."""

        def score(self, texts: Sequence[str]) -> list[TextScore]:
            if "unreadable" in texts:
                raise RuntimeError("tokenizer overflow")
            return [TextScore(len(t) / 100, 0.0, ()) for t in texts]

    engine = _engine(batching=True, text=Picky())
    texts = ["I am fine.", "unreadable", "My chest hurts."]

    async def run() -> list[object]:
        return await asyncio.gather(*(engine.score_text(t) for t in texts), return_exceptions=True)

    try:
        fine, bad, hurts = asyncio.run(run())
    finally:
        engine.close()
    assert isinstance(fine, TextScore) and fine.distress == pytest.approx(0.1)
    assert isinstance(hurts, TextScore) and hurts.distress == pytest.approx(0.15)
    assert isinstance(bad, ModelJobFailed) and bad.stage == "text"
    assert bad.public == "the text model failed (text): RuntimeError"
    assert engine.batch_sizes["text"] == [3]  # the retries alone are not batches


@pytest.mark.slow
def test_batched_calls_give_the_finals_of_unbatched_calls(engine) -> None:
    """The test recordings as simultaneous calls, with batching (the shared engine) and
    without: each call's finals, word for word, and its text readings are the same."""
    from edge.audio.frames import parse_channel_map
    from edge.audio.sources import FileSource
    from edge.events import TextEmotion
    from edge.pipeline.call import replay
    from edge.pipeline.load import LoadOptions
    from edge.types import CallId
    from tests.helpers import finals, speech_references

    assert engine.options.batching.enabled
    paths = sorted(speech_references())
    plain = Engine.load(
        PipelineOptions(load=LoadOptions(lag_budget=0), batching=BatchOptions(enabled=False))
    )

    async def calls(on: Engine) -> list[list[object]]:
        async def one(i: int, path: object) -> list[object]:
            source = FileSource(path, parse_channel_map("caller,-"))  # type: ignore[arg-type]
            replayed = replay(on, source, call_id=CallId(f"c{i}"), realtime=False)
            return [e async for e in replayed]

        return list(await asyncio.gather(*(one(i, p) for i, p in enumerate(paths))))

    try:
        batched = asyncio.run(calls(engine))
        alone = asyncio.run(calls(plain))
    finally:
        plain.close()
    # Whisper, one final at a time, spaces the text readings out: those rarely meet.
    assert max(engine.batch_sizes["vad"]) > 1
    for one, many in zip(alone, batched, strict=True):
        assert [f.text for f in finals(one)] == [f.text for f in finals(many)]  # type: ignore[arg-type]
        readings = [(e.utterance, round(e.distress, 4)) for e in one if isinstance(e, TextEmotion)]
        assert readings == [
            (e.utterance, round(e.distress, 4)) for e in many if isinstance(e, TextEmotion)
        ]
        assert finals(one)  # type: ignore[arg-type]
