"""One model call for the jobs of many calls (issue 15, part 1).

Each call asks its models one job at a time; with many calls, the same model
is called again and again with one input each, where one call with all of
them costs little more than one. :class:`BatchWorker` is a model's worker
thread that gathers the jobs waiting from all calls and runs them as one
batch: a batch starts once ``max_batch`` jobs wait, or ``window`` seconds
after the first of them arrived, so a job waits at most ``window`` for
company. Within a batch, and when more wait than fit, the most urgent go first
(finals before partials before readings: :data:`~edge.pipeline.workers.URGENT`,
:data:`~edge.pipeline.workers.LATER`), the oldest first within a priority.

:class:`Gatherer` is that rule as a pure state machine on a given clock; the
worker only moves jobs between it, the model and the awaiting tasks.

Not yet wired into :class:`~edge.pipeline.engine.Engine`: a batch that raises
fails the job of every call in it, where today a model failure costs one call
one result (tests/pipeline/test_faults.py); the engine needs a fallback that
reruns a failed batch one job at a time, each in its own call's log context,
before it can take this. Tested alone: the text model's batched readings
equal its one-by-one readings (tests/pipeline/test_batching.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

I = TypeVar("I")  # noqa: E741 - an input
O = TypeVar("O")  # noqa: E741 - an output


@dataclass(order=True)
class _Waiting(Generic[I]):
    priority: int
    order: int
    arrived: float = field(compare=False)
    item: I = field(compare=False)
    settle: Any = field(compare=False)  # Callable[[object, BaseException | None], None]


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

    def add(self, item: I, priority: int, now: float, settle: Any = None) -> None:
        heapq.heappush(self._waiting, _Waiting(priority, next(self._order), now, item, settle))
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

    ``run_batch`` takes the inputs and returns one output per input, in order;
    if it raises, every job of that batch gets the exception.
    """

    def __init__(
        self,
        run_batch: Callable[[Sequence[I]], Sequence[O]],
        *,
        name: str,
        window: float,
        max_batch: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._run_batch = run_batch
        self._gatherer: Gatherer[I] = Gatherer(window=window, max_batch=max_batch)
        self._clock = clock
        self._ready = threading.Condition()
        self._closed = False
        self.batches: list[int] = []  # the size of each batch run (a bounded tail)
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    async def run(self, item: I, priority: int) -> O:
        """``item`` through the model in the next batch it fits in; its output."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[O] = loop.create_future()

        def settle(result: object, error: BaseException | None) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody awaits it
                loop.call_soon_threadsafe(_settle, future, result, error)

        with self._ready:
            if self._closed:
                raise RuntimeError("the batch worker is shut down")
            self._gatherer.add(item, priority, self._clock(), settle)
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
            try:
                outputs = list(self._run_batch([w.item for w in batch]))
                if len(outputs) != len(batch):
                    raise RuntimeError(f"{len(outputs)} outputs for {len(batch)} inputs")
            except Exception as e:  # the model's own error: every job of the batch gets it
                for waiting in batch:
                    waiting.settle(None, e)
                continue
            self.batches = [*self.batches[-999:], len(batch)]
            for waiting, output in zip(batch, outputs, strict=True):
                waiting.settle(output, None)


def _settle(future: asyncio.Future[Any], result: object, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
