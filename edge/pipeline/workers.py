"""Worker threads that take the most urgent job first.

Whisper is the one model every call shares, and it is the bottleneck when
several calls stream at once. A plain executor runs jobs first come, first
served, so a call's final transcript waits behind every other call's
partials. Here a final (priority 0) always goes before a partial (priority
1); within a priority, the oldest job goes first. The engine's other models
(VAD, emotion and text) run on workers of their own, one job at a time in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

_T = TypeVar("_T")

URGENT = 0
LATER = 1


class PriorityWorkers:
    """``count`` daemon threads taking jobs from one priority queue."""

    def __init__(self, count: int, *, name: str) -> None:
        if count < 1:
            raise ValueError("count must be at least 1")
        # (priority, order, job, cancel): cancel settles the job's future unrun.
        self._jobs: list[tuple[int, int, Callable[[], None], Callable[[], None]]] = []
        self._order = itertools.count()
        self._ready = threading.Condition()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{k}", daemon=True)
            for k in range(count)
        ]
        for thread in self._threads:
            thread.start()

    def __len__(self) -> int:
        """Jobs waiting for a worker."""
        return len(self._jobs)

    async def run(self, priority: int, work: Callable[[], _T]) -> _T:
        """Run ``work`` on a worker thread, ``priority`` 0 first; await its result."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[_T] = loop.create_future()

        def job() -> None:
            if future.cancelled():
                return
            try:
                result: Any = work()
            except BaseException as e:  # handed to the awaiting task, which raises it
                loop.call_soon_threadsafe(_settle, future, None, e)
            else:
                loop.call_soon_threadsafe(_settle, future, result, None)

        with self._ready:
            if self._closed:
                raise RuntimeError("the workers are shut down")

            def cancel() -> None:
                loop.call_soon_threadsafe(future.cancel)

            heapq.heappush(self._jobs, (priority, next(self._order), job, cancel))
            self._ready.notify()
        return await future

    def shutdown(self) -> None:
        """Cancel the waiting jobs and stop the threads after their current job."""
        with self._ready:
            self._closed = True
            for *_, cancel in self._jobs:
                # A closed loop raises RuntimeError: nobody awaits that job any more.
                with contextlib.suppress(RuntimeError):
                    cancel()
            self._jobs.clear()
            self._ready.notify_all()
        for thread in self._threads:
            thread.join(timeout=30)

    def _work(self) -> None:
        while True:
            with self._ready:
                while not self._jobs and not self._closed:
                    self._ready.wait()
                if self._closed:
                    return
                _, _, job, _ = heapq.heappop(self._jobs)
            job()


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
