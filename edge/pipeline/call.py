"""One call: a channel runner per role, a sequencer, a bounded event queue.

Frames go in with :meth:`Call.push`; events come out of :meth:`Call.events`.
Two pacing modes:

* ``live=True`` (devices, sockets, real-time replay): a full input queue drops
  its oldest frame and counts it (``dropped_frames``), and ASR runs beside
  the audio: partials are skipped when the model is busy, finals start
  speculatively during pauses.
* ``live=False`` (fast replay, tests): input applies back-pressure, and each
  ASR job finishes before the next frame is processed, so the output depends
  only on the audio, not on the machine's speed.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import heapq
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import Any, TypeVar

from edge.audio.sources import AudioSource
from edge.contracts import Frame, Hypothesis
from edge.events import (
    CallEnded,
    CallStarted,
    EngineDegraded,
    EngineRecovered,
    Event,
    ModelFailed,
)
from edge.pipeline.engine import Engine, ModelJobFailed
from edge.pipeline.feed import ChannelFeed, VoiceScores
from edge.pipeline.load import LoadStep
from edge.stages.channel import AsrJob, ChannelStage
from edge.stages.handoff import HandoffOptions
from edge.stages.language import ChannelLanguage
from edge.stages.prosody import ProsodyTracker
from edge.stages.signals import CallSignals
from edge.stages.voice import EmotionJob, EmotionWindows
from edge.types import CallId, Role

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
R = TypeVar("R")

_END = None  # end-of-input marker in a channel queue
MAX_SKEW = 2.0  # live: seconds the cue logic waits for a lagging channel
# What a failed transcription gives the stage: no words, so no final (or an
# empty one that withdraws the utterance's partials).
NO_WORDS = Hypothesis((), avg_logprob=0.0, no_speech_prob=1.0, compression_ratio=0.0)


class Sequencer:
    """Stamps events with the call id, the next sequence number and the wall clock."""

    def __init__(self, call_id: CallId, clock: Callable[[], float] = time.time) -> None:
        self.call_id = call_id
        self.seq = 0
        self._clock = clock

    def stamp(self, event: E) -> E:
        self.seq += 1
        return dataclasses.replace(
            event, call_id=self.call_id, seq=self.seq, wall_time=self._clock()
        )


class ChannelRunner:
    """Feeds one role's frames through VAD and its stages, running their model jobs.

    The stages and what feeds them are a :class:`~edge.pipeline.feed.ChannelFeed`:
    :class:`ChannelStage` (segmentation and ASR), :class:`ProsodyTracker` and,
    for the roles the options name, :class:`EmotionWindows` (voice emotion) and
    the text model on each final. This runner only moves frames, jobs and
    events between the feed, the engine's workers and the call.

    A model job that fails (:class:`ModelJobFailed`) costs only its result: a
    failed transcription is an utterance without words, a failed voice or text
    reading is skipped, a failed VAD batch is heard as silence. The first
    failure of each stage says so, in a ``model.failed`` event and a log line.

    Live, it runs at the engine's load step (:mod:`edge.pipeline.load`): fewer
    partials, greedy finals, fewer voice readings; and it tells the engine its
    lag (:meth:`lag`).
    """

    def __init__(self, call: Call, role: Role, stage: ChannelStage, queue_size: int) -> None:
        self.call = call
        self.role = role
        engine, options = call.engine, call.engine.options
        self.vad = engine.vad.stream()
        scored = role in options.emotion.roles
        self.feed = ChannelFeed(
            role,
            threshold=options.vad.threshold,
            stage=stage,
            prosody=ProsodyTracker(role, options.prosody),
            windows=(
                EmotionWindows(role, options.emotion, engine.emotion.prior)
                if engine.emotion is not None and scored
                else None
            ),
            score_text=engine.text is not None and scored,
            language=ChannelLanguage(role, options.language, text_languages=engine.text_languages),
        )
        self.queue: asyncio.Queue[Frame | None] = asyncio.Queue(maxsize=queue_size)
        self.dropped = 0
        self.now = 0.0  # stream time processed
        # Live: when each frame in the queue could first have been processed (engine's
        # clock): when it came, or when its audio was spoken if it came early. Oldest first.
        self._arrived: collections.deque[float] = collections.deque()
        # Utterances whose speech ended and whose final is not out: when (engine's clock).
        self._ended_at: dict[int, float] = {}
        self._reported: set[str] = set()  # stages whose failure the call was told of

    def offer(self, frame: Frame | None) -> None:
        """Live intake: never waits; a full queue loses its oldest frame."""
        if self.queue.full():
            if self.queue.get_nowait() is not None and self._arrived:
                self._arrived.popleft()
            self.dropped += 1
        self.queue.put_nowait(frame)
        if frame is not None:
            spoken = self.call.started_at + frame.end
            self._arrived.append(max(self.call.engine.clock(), spoken))

    def lag(self, now: float) -> float:
        """Seconds this channel trails its audio at ``now``: how long the oldest frame
        waiting has waited, or the oldest utterance for its final since its speech ended.

        Wall time, not stream time, and a frame sent ahead of real time counts from
        when its audio was spoken: a client that sends a burst ahead (a jitter
        buffer, a source that does not pace itself) is not the service falling behind.
        """
        queued = now - self._arrived[0] if self._arrived else 0.0
        waiting = now - min(self._ended_at.values()) if self._ended_at else 0.0
        return max(queued, waiting, 0.0)

    def _track_finals(self) -> None:
        """Note when utterances close (speech ended) and forget those whose final is out."""
        assert self.feed.stage is not None
        closed = {c.utterance.index for c in self.feed.stage.segmenter.closed}
        if not closed and not self._ended_at:
            return
        now = self.call.engine.clock()
        for index in closed - self._ended_at.keys():
            self._ended_at[index] = now
        for index in self._ended_at.keys() - closed:
            del self._ended_at[index]

    async def _batch(self) -> list[Frame | None]:
        batch = [await self.queue.get()]
        while batch[-1] is not _END and not self.queue.empty() and len(batch) < 64:
            batch.append(self.queue.get_nowait())
        for frame in batch:
            if frame is not None and self._arrived:
                self._arrived.popleft()
        return batch

    async def run(self) -> None:
        engine, feed = self.call.engine, self.feed
        stage, windows = feed.stage, feed.windows
        assert stage is not None
        reader: asyncio.Task[list[Frame | None]] | None = asyncio.create_task(self._batch())
        job: AsrJob | None = None
        running: asyncio.Task[Hypothesis] | None = None
        voice_job: EmotionJob | None = None
        scoring: asyncio.Task[VoiceScores] | None = None
        try:
            while reader or running or scoring or not feed.idle:
                waiting = {t for t in (reader, running, scoring) if t is not None}
                if waiting:
                    done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                else:
                    done = set()
                if running is not None and running in done:
                    assert job is not None
                    await self._emit(feed.complete(job, await self._result(running, NO_WORDS)))
                    self._track_finals()
                    job, running = None, None
                if scoring is not None and scoring in done:
                    assert voice_job is not None
                    if (scores := await self._result(scoring, None)) is not None:
                        await self._emit(feed.complete(voice_job, scores))
                    voice_job, scoring = None, None
                if reader is not None and reader in done:
                    batch = reader.result()
                    await self._feed([f for f in batch if f is not None])
                    if batch[-1] is _END:
                        reader = None
                        await self._emit(feed.flush())
                        await self.call.tick(self.role, math.inf)
                    else:
                        reader = asyncio.create_task(self._batch())
                if running is not None and stage.withdraw_partial() is not None:
                    # A final is due: its call's partial would only hold it back.
                    abandon(running)
                    job, running = None, None
                step = engine.step if self.call.live else LoadStep.NORMAL
                spacing = step.partial_spacing
                partials = spacing is not None and not engine.asr_backlogged
                if (
                    running is None
                    and (job := stage.next_job(partials=partials, spacing=spacing or 1.0))
                    is not None
                ):
                    running = asyncio.create_task(
                        engine.transcribe(job, feed.job_language, greedy=step.greedy)
                    )
                if scoring is None and windows and (voice_job := windows.next_job()):
                    scoring = asyncio.create_task(engine.score_voice(voice_job))
        finally:
            for task in (reader, running, scoring):
                if task is not None and not task.done():
                    task.cancel()

    async def _failed(self, error: ModelJobFailed) -> None:
        """Tell the call the first time a stage fails; the engine counts every failure."""
        if error.stage in self._reported:
            log.debug("call %s, %s: %s", self.call.call_id, self.role.value, error)
            return
        self._reported.add(error.stage)
        log.warning(
            "call %s, %s channel: %s; the call goes on without that result",
            self.call.call_id,
            self.role.value,
            error,
        )
        failed = ModelFailed(
            stream_time=self.now, role=self.role, stage=error.stage, message=error.public
        )
        await self.call.emit([failed])

    async def _result(self, job: Awaitable[R], failed: R) -> R:
        """The model job's result; if the model failed, ``failed`` in its place."""
        try:
            return await job
        except ModelJobFailed as e:
            await self._failed(e)
            return failed

    async def _feed(self, frames: list[Frame]) -> None:
        silence = [0.0] * len(frames)
        engine = self.call.engine
        probs = await self._result(engine.probabilities(self.vad, frames), silence)
        if self.call.live and self.feed.windows is not None:
            self.feed.windows.spacing = engine.step.reading_spacing
        for frame, prob in zip(frames, probs, strict=False):
            await self._emit(self.feed.feed(frame, prob))
            if not self.call.live:
                await self._run_jobs_now()
        if self.call.live:
            self._track_finals()
        if frames:
            self.now = frames[-1].end
            await self.call.tick(self.role, frames[-1].end)

    async def _emit(self, events: list[Event]) -> None:
        """Emit a stage's events; a final also feeds prosody and, if scored, the text model."""
        await self.call.emit(events)
        for final in self.feed.emitted(events):
            score = await self._result(self.call.engine.score_text(final.text), None)
            if score is not None:
                await self.call.emit([self.feed.text_emotion(final, score)])

    async def _run_jobs_now(self) -> None:
        engine = self.call.engine
        while (job := self.feed.job_now()) is not None:
            if isinstance(job, AsrJob):
                result: Hypothesis | VoiceScores | None = await self._result(
                    engine.transcribe(job, self.feed.job_language), NO_WORDS
                )
            else:
                result = await self._result(engine.score_voice(job), None)
            if result is not None:
                await self._emit(self.feed.complete(job, result))


class Call:
    """A call in progress. Use as ``async with Call(...) as call``."""

    def __init__(
        self,
        engine: Engine,
        call_id: CallId,
        roles: Iterable[Role],
        *,
        live: bool,
        queue_frames: int = 256,
        queue_events: int = 1024,
        handoff: HandoffOptions | None = None,
    ) -> None:
        """``handoff``: the call is automated (marked at ingest) and hands off to people."""
        self.engine = engine
        self.call_id = call_id
        self.live = live
        self.roles = tuple(roles)
        options = engine.options
        stream = options.stream
        if not live and stream.speculative:  # speculation only saves wall time
            stream = dataclasses.replace(stream, speculative=False)
        self.sequencer = Sequencer(call_id)
        self.signals = CallSignals(
            options.conversation,
            options.cues,
            jargon=options.jargon,
            confusion=options.confusion,
            emergency=options.emergency,
            triage=options.triage,
            summary=options.summary,
            handoff=handoff,
        )
        self.automated = handoff is not None
        self._progress = {role: 0.0 for role in self.roles}
        self._held: list[tuple[float, int, Event]] = []
        self._held_seq = 0
        self.runners = {
            role: ChannelRunner(
                self,
                role,
                ChannelStage(role, vad=options.vad, stream=stream, guards=options.guards),
                queue_frames,
            )
            for role in self.roles
        }
        self._events: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=queue_events)
        self._tasks: list[asyncio.Task[None]] = []
        self._duration = 0.0
        self._finished = False
        self._announced = LoadStep.NORMAL  # the load step this call's subscribers were told
        self.started_at = engine.clock()  # when its audio began, on the engine's clock

    @property
    def dropped_frames(self) -> int:
        return sum(r.dropped for r in self.runners.values())

    @property
    def duration(self) -> float:
        """Stream seconds of audio received so far."""
        return self._duration

    def ended_event(self) -> CallEnded:
        """A ``call.ended`` stamped with the call's next seq, for a call cut short.

        A call cancelled or failed while finishing emits no ``call.ended`` of its
        own: the glue publishes this one so its subscribers and its id are freed.
        """
        event = CallEnded(stream_time=self._duration, duration=self._duration)
        return self.sequencer.stamp(event)

    @property
    def queued_frames(self) -> int:
        """Frames received and not yet processed, over the call's channels."""
        return sum(r.queue.qsize() for r in self.runners.values())

    def lag(self, now: float) -> float:
        """Seconds the call's processing trails its audio at ``now``: its worst channel's."""
        return max((r.lag(now) for r in self.runners.values()), default=0.0)

    async def __aenter__(self) -> Call:
        await self.emit(
            [CallStarted(stream_time=0.0, channels=self.roles, automated=self.automated)]
        )
        if self.live:  # an upload's pace is the pipeline's: it is never behind
            self.engine.attach(self)
        self._tasks = [
            asyncio.create_task(r.run(), name=f"{self.call_id}/{r.role}")
            for r in self.runners.values()
        ]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if exc[0] is None:
            await self.finish()
        else:
            await self.cancel()

    async def emit(self, events: list[Event]) -> None:
        """Emit a stage's events now; the cue logic sees them in stream-time order."""
        for event in events:
            await self._put([event])
            self._held_seq += 1
            heapq.heappush(self._held, (event.stream_time, self._held_seq, event))

    async def tick(self, role: Role, now: float) -> None:
        """``role``'s audio is processed up to stream time ``now``."""
        self._progress[role] = now
        await self._release()
        if self.live:
            self.engine.check_load()
            await self._announce(now)

    async def _announce(self, now: float) -> None:
        """Tell the subscribers when the engine's load step is not the one they know."""
        step = self.engine.step
        if step is self._announced or now == math.inf:
            return
        kind = EngineDegraded if step > self._announced else EngineRecovered
        self._announced = step
        change = self.engine.change
        lag = round(change.lag if change is not None else 0.0, 1)
        told = kind(stream_time=now, step=int(step), name=step.label, lag=lag, message=step.words)
        await self._put([told])

    async def _release(self) -> None:
        """Feed the cue logic every held event up to the time all channels have reached.

        Channels run independently (in fast replay one may be far ahead), but
        overtalk and silence compare them, so the cue logic must see both
        channels' events in stream-time order: a watermark, as in stream
        processing. Live, a channel that stalls (its audio stops arriving) may
        hold the others back by at most ``MAX_SKEW`` seconds, so cues keep coming
        and the held events stay bounded.
        """
        mark = min(self._progress.values(), default=0.0)
        if self.live and mark != math.inf:
            ahead = max((t for t in self._progress.values() if t != math.inf), default=mark)
            mark = max(mark, ahead - MAX_SKEW)
        while self._held and self._held[0][0] <= mark:
            at, _, event = heapq.heappop(self._held)
            await self._put(self.signals.tick(at) + self.signals.observe(event))
        if mark != math.inf:
            await self._put(self.signals.tick(mark))

    async def _put(self, events: list[Event]) -> None:
        for event in events:
            await self._events.put(self.sequencer.stamp(event))

    async def press(self, digit: str) -> None:
        """The caller pressed a key (Twilio ``dtmf``): on an automated call, 0 hands off."""
        await self._put(self.signals.press(digit))

    async def push(self, frame: Frame) -> None:
        runner = self.runners.get(frame.role)
        if runner is None:
            return
        self._duration = max(self._duration, frame.end)
        if self.live:
            runner.offer(frame)
        else:
            await runner.queue.put(frame)

    async def finish(self) -> None:
        """No more audio: flush every channel, then end the event stream."""
        if self._finished:
            return
        self._finished = True
        for runner in self.runners.values():
            if self.live:
                runner.offer(_END)
            else:
                await runner.queue.put(_END)
        try:
            await _gather_or_cancel(self._tasks)
        finally:
            self.engine.detach(self)
            if self.dropped_frames:
                log.warning(
                    "call %s: dropped %d frames (input faster than processing)",
                    self.call_id,
                    self.dropped_frames,
                )
            self._progress = {role: math.inf for role in self.roles}
            await self._release()
            await self._put(self.signals.flush(self._duration))
            await self._put([CallEnded(stream_time=self._duration, duration=self._duration)])
            await self._events.put(None)

    async def cancel(self) -> None:
        self._finished = True
        self.engine.detach(self)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(asyncio.QueueFull):
            self._events.put_nowait(None)

    async def events(self) -> AsyncIterator[Event]:
        while (event := await self._events.get()) is not None:
            yield event


def abandon(task: asyncio.Task[Any]) -> None:
    """Cancel ``task``: a job still queued never runs; one inside a model ends unheard.

    Its outcome, if it already has one, is read so that nothing is logged as
    never retrieved.
    """
    task.cancel()
    task.add_done_callback(lambda t: t.cancelled() or t.exception())


async def _gather_or_cancel(tasks: list[asyncio.Task[None]]) -> None:
    """Wait for all tasks; the first failure cancels the rest and is raised."""
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _take(frames: Iterator[Frame], n: int) -> list[Frame]:
    batch = []
    for frame in frames:
        batch.append(frame)
        if len(batch) == n:
            break
    return batch


async def paced(source: AudioSource, *, realtime: bool) -> AsyncIterator[list[Frame]]:
    """A blocking source's frames in batches, read off the loop, at real time if asked."""
    frames = source.frames()
    loop = asyncio.get_running_loop()
    started = loop.time()
    while batch := await asyncio.to_thread(_take, frames, 32):
        if not realtime:
            yield batch
            continue
        for frame in batch:
            delay = started + frame.end - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            yield [frame]


async def run_call(
    engine: Engine,
    batches: AsyncIterator[list[Frame]],
    *,
    call_id: CallId,
    roles: tuple[Role, ...],
    live: bool,
    tap: Callable[[Frame], None] | None = None,
) -> AsyncIterator[Event]:
    """Run batches of frames through one call until they end, yielding its events.

    ``tap`` sees every frame as it goes in (``edge run --forward`` sends them on).
    """
    async with Call(engine, call_id, roles, live=live) as call:

        async def push_then_finish() -> None:
            try:
                async with contextlib.aclosing(batches):  # type: ignore[type-var]
                    async for batch in batches:
                        for frame in batch:
                            if tap is not None:
                                tap(frame)
                            await call.push(frame)
            except BaseException:
                await call.cancel()
                raise
            await call.finish()

        pushing = asyncio.create_task(push_then_finish(), name=f"{call_id}/input")
        try:
            async for event in call.events():
                yield event
        finally:
            if not pushing.done():
                pushing.cancel()
            results = await asyncio.gather(pushing, return_exceptions=True)
        if isinstance(results[0], BaseException) and not isinstance(
            results[0], asyncio.CancelledError
        ):
            raise results[0]


def replay(
    engine: Engine, source: AudioSource, *, call_id: CallId, realtime: bool
) -> AsyncIterator[Event]:
    """Run a whole source through a call, yielding its events as they happen."""
    batches = paced(source, realtime=realtime)
    return run_call(engine, batches, call_id=call_id, roles=source.roles, live=realtime)
