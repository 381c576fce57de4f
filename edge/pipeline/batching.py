"""One model call for the jobs of many calls (issue 15, part 1).

Each call asks its models one job at a time; with many calls, the same model
is called again and again with one input each, where one call with all of
them can cost less. :class:`BatchWorker` is a model's worker thread that
gathers the jobs waiting from all calls and runs them as one batch: a batch
starts once ``max_batch`` jobs wait, or ``window`` seconds after the first of
them arrived, so a job waits at most ``window`` for company. Within a batch,
and when more wait than fit, the most urgent go first (finals before partials
before readings: :data:`~edge.pipeline.workers.URGENT`,
:data:`~edge.pipeline.workers.LATER`), the oldest first within a priority.

:class:`Gatherer` is that rule as a pure state machine on a given clock; the
worker only moves jobs between it, the model and the awaiting tasks.

A batch that raises is run again one job at a time, each in its own call's
context (its log lines name that call): one bad input costs its own call its
result, with its own error, and the other calls' jobs of that batch succeed.

Which models pay for it was measured on the 2-core machine
(``scripts/bench_batching.py``; README, "Batched inference"): the engine
batches speech detection over all live channels and the text model over the
finals of all calls (:class:`~edge.pipeline.engine.Engine`,
``[pipeline.batching]``). Whisper stays one job at a time on its priority
workers: on the CPU its encoder, most of a decode, costs as much per input in a
batch as alone. The acoustic emotion model's ONNX export takes one window.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from edge.settings import Range, check, setting

I = TypeVar("I")  # noqa: E741 - an input
O = TypeVar("O")  # noqa: E741 - an output

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class BatchOptions:
    """Batched inference across calls (speech detection and the text model).

    One model call for the jobs waiting from all calls; Whisper and the voice
    model run one job at a time either way.
    """

    SECTION: ClassVar[str] = "pipeline.batching"

    enabled: bool = setting(
        True,
        help="run the speech detection of all live channels, and the text readings of all "
        "calls' finals, as one model call each; false = one call's job at a time",
    )
    window: float = setting(
        0.005,
        help="seconds a job waits for others to join its batch (at most)",
        range=Range(0, 1),
        unit="s",
    )
    max_batch: int = setting(32, help="jobs in one batch at most", range=Range(1, 256))
    max_waiting: int = setting(
        1024,
        help="jobs waiting per model at most; past it a job fails at once (a model.failed "
        "event) instead of queueing without end",
        range=Range(1, 100_000),
    )

    def __post_init__(self) -> None:
        check(self)


class BatchFull(RuntimeError):
    """``max_waiting`` jobs already wait for the model: the job was refused (policy: refuse)."""


@dataclass(order=True)
class _Waiting(Generic[I]):
    priority: int
    order: int
    arrived: float = field(compare=False)
    item: I = field(compare=False)
    settle: Any = field(compare=False)  # Callable[[object, BaseException | None], None]
    context: contextvars.Context | None = field(compare=False, default=None)


class Gatherer(Generic[I]):
    """Which waiting jobs make the next batch, and when: pure, on the caller's clock."""

    def __init__(self, *, window: float, max_batch: int) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.window = window
        self.max_batch = max_batch
        self._waiting: list[_Waiting[I]] = []
        self._order = itertools.count()
        self._first: float | None = None  # arrival of the oldest job waiting

    def __len__(self) -> int:
        return len(self._waiting)

    def add(
        self,
        item: I,
        priority: int,
        now: float,
        settle: Any = None,
        context: contextvars.Context | None = None,
    ) -> None:
        waiting = _Waiting(priority, next(self._order), now, item, settle, context)
        heapq.heappush(self._waiting, waiting)
        if self._first is None:
            self._first = now

    def wait(self, now: float) -> float | None:
        """Seconds until the next batch is due: 0 now, None while nothing waits."""
        if self._first is None:
            return None
        if len(self._waiting) >= self.max_batch:
            return 0.0
        return max(0.0, self._first + self.window - now)

    def take(self) -> list[_Waiting[I]]:
        """The next batch: up to ``max_batch`` jobs, most urgent first, oldest first."""
        batch = [heapq.heappop(self._waiting) for _ in range(min(self.max_batch, len(self)))]
        # The jobs left over have waited since their own arrival.
        self._first = min((w.arrived for w in self._waiting), default=None)
        return batch


class BatchWorker(Generic[I, O]):
    """A thread that runs ``run_batch`` on the jobs gathered from every caller.

    ``run_batch`` takes the inputs and returns one output per input, in order.
    If it raises on a batch of several, each job runs alone again, and gets its
    own output or its own exception. At most ``max_waiting`` jobs wait; one
    more is refused with :class:`BatchFull` (the engine's queues are bounded
    by construction, one job per channel in flight: this is the backstop).
    """

    def __init__(
        self,
        run_batch: Callable[[Sequence[I]], Sequence[O]],
        *,
        name: str,
        window: float,
        max_batch: int,
        max_waiting: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._run_batch = run_batch
        self._name = name
        self._max_waiting = max_waiting
        self._gatherer: Gatherer[I] = Gatherer(window=window, max_batch=max_batch)
        self._clock = clock
        self._ready = threading.Condition()
        self._closed = False
        self.batches: list[int] = []  # the size of each batch run (a bounded tail)
        self.on_batch: Callable[[int], None] | None = None  # told each batch's size
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def __len__(self) -> int:
        """Jobs waiting for the next batch."""
        return len(self._gatherer)

    async def run(self, item: I, priority: int, *, context: contextvars.Context | None = None) -> O:
        """``item`` through the model in the next batch it fits in; its output.

        ``context``: the job's own (its call's log context), for when it runs alone.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[O] = loop.create_future()

        def settle(result: object, error: BaseException | None) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody awaits it
                loop.call_soon_threadsafe(_settle, future, result, error)

        with self._ready:
            if self._closed:
                raise RuntimeError("the batch worker is shut down")
            if len(self._gatherer) >= self._max_waiting:
                raise BatchFull(
                    f"{self._max_waiting} jobs already wait for the model "
                    "([pipeline.batching] max_waiting)"
                )
            self._gatherer.add(item, priority, self._clock(), settle, context)
            self._ready.notify()
        return await future

    def shutdown(self) -> None:
        """Fail the waiting jobs and stop the thread after its current batch."""
        with self._ready:
            self._closed = True
            while len(self._gatherer):
                for waiting in self._gatherer.take():
                    waiting.settle(None, RuntimeError("the batch worker is shut down"))
            self._ready.notify_all()
        self._thread.join(timeout=30)

    def _work(self) -> None:
        while True:
            with self._ready:
                while not self._closed and (wait := self._gatherer.wait(self._clock())) != 0.0:
                    self._ready.wait(wait)
                if self._closed:
                    return
                batch = self._gatherer.take()
            self.batches = [*self.batches[-999:], len(batch)]
            if self.on_batch is not None:
                self.on_batch(len(batch))
            if len(batch) == 1:
                self._alone(batch[0])
                continue
            try:  # several calls' jobs: the batch's log lines name no call
                outputs = self._outputs(batch)
            except Exception as e:
                log.warning(
                    "%s: a batch of %d jobs failed (%s); running each alone",
                    self._name,
                    len(batch),
                    type(e).__name__,
                )
                for waiting in batch:
                    self._alone(waiting)
                continue
            for waiting, output in zip(batch, outputs, strict=True):
                waiting.settle(output, None)

    def _outputs(self, batch: list[_Waiting[I]]) -> list[O]:
        outputs = list(self._run_batch([w.item for w in batch]))
        if len(outputs) != len(batch):
            raise RuntimeError(f"the model gave {len(outputs)} outputs for {len(batch)} inputs")
        return outputs

    def _alone(self, waiting: _Waiting[I]) -> None:
        """One job by itself, in its own context: its output or its own error."""
        context = waiting.context or contextvars.copy_context()
        try:
            output = context.run(self._outputs, [waiting])[0]
        except Exception as e:  # the model's own error, for this job's call alone
            waiting.settle(None, e)
        else:
            waiting.settle(output, None)


def _settle(future: asyncio.Future[Any], result: object, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
