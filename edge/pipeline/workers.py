"""Worker threads that take the most urgent job first.

Whisper is the one model every call shares, and it is the bottleneck when
several calls stream at once. A plain executor runs jobs first come, first
served, so a call's final transcript waits behind every other call's
partials. Here a final (priority 0) always goes before a partial (priority
1); within a priority, the oldest job goes first. The engine's other models
(VAD, emotion and text) run on workers of their own, one job at a time in order.

A job may have a deadline: past it, the awaiting task gets :class:`TimeoutError`
and goes on, and the thread still inside the model is written off and replaced
(a Python thread cannot be killed), so the jobs queued behind a stuck decode
run. At most ``count`` threads are written off at once: a model that hangs on
every job then stalls its queue instead of starting threads without end.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

_T = TypeVar("_T")

log = logging.getLogger(__name__)


class JobTimeout(TimeoutError):
    """A job passed its deadline; its thread was written off."""


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
        self._name = name
        self._serial = itertools.count()
        self._threads: list[threading.Thread] = []
        self._stuck: set[threading.Thread] = set()  # written off, still inside a job
        self._spare = count  # how many may be written off at once
        self.count = count
        self.busy = 0  # workers inside a job now (those written off included)
        for _ in range(count):
            self._spawn()

    def _spawn(self) -> None:
        thread = threading.Thread(
            target=self._work, name=f"{self._name}-{next(self._serial)}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def __len__(self) -> int:
        """Jobs waiting for a worker."""
        return len(self._jobs)

    def room_for_later(self) -> bool:
        """Whether a job of priority :data:`LATER` may start now without delaying an
        urgent one: nothing waits and, with several workers, one stays free after it."""
        with self._ready:
            waiting = len(self._jobs)
            if self.count == 1:
                return waiting == 0
            return self.busy + waiting < self.count - 1

    async def run(
        self, priority: int, work: Callable[[], _T], *, timeout: float | None = None
    ) -> _T:
        """Run ``work`` on a worker thread, ``priority`` 0 first; await its result.

        ``timeout``: seconds from the moment a worker takes the job (waiting in
        the queue does not count); past them :class:`JobTimeout` is raised.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[_T] = loop.create_future()

        def job() -> None:
            if future.cancelled():
                return
            if timeout is not None:
                thread = threading.current_thread()
                loop.call_soon_threadsafe(self._arm, loop, future, thread, timeout)
            try:
                result: Any = work()
            except BaseException as e:  # handed to the awaiting task, which raises it
                outcome: tuple[Any, BaseException | None] = (None, e)
            else:
                outcome = (result, None)
            # A job written off as stuck may end after its loop closed: nobody awaits it.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, future, *outcome)

        with self._ready:
            if self._closed:
                raise RuntimeError("the workers are shut down")

            def cancel() -> None:
                loop.call_soon_threadsafe(future.cancel)

            heapq.heappush(self._jobs, (priority, next(self._order), job, cancel))
            self._ready.notify()
        return await future

    def _arm(
        self,
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future[Any],
        thread: threading.Thread,
        timeout: float,
    ) -> None:
        """A worker took a job with a deadline: start its clock (on the loop)."""
        if future.done():
            return
        timer = loop.call_later(timeout, self._expire, future, thread, timeout)
        future.add_done_callback(lambda _: timer.cancel())

    def _expire(
        self, future: asyncio.Future[Any], thread: threading.Thread, timeout: float
    ) -> None:
        if future.done():
            return
        future.set_exception(JobTimeout(f"no result within {timeout:g} s"))
        with self._ready:
            if self._closed or thread in self._stuck:
                return
            if len(self._stuck) >= self._spare:
                log.error(
                    "%s: %d workers stuck in a model call; jobs wait for them: "
                    "restart the service if this lasts",
                    self._name,
                    len(self._stuck) + 1,
                )
                return
            self._stuck.add(thread)
            self._spawn()

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
            working = [t for t in self._threads if t not in self._stuck]
        for thread in working:  # a stuck one is a daemon: it dies with the process
            thread.join(timeout=30)

    def _work(self) -> None:
        me = threading.current_thread()
        while True:
            with self._ready:
                if me in self._stuck:  # written off while in its last job: replaced
                    self._stuck.discard(me)
                    self._threads.remove(me)
                    return
                while not self._jobs and not self._closed:
                    self._ready.wait()
                if self._closed:
                    return
                _, _, job, _ = heapq.heappop(self._jobs)
                self.busy += 1
            try:
                job()
            finally:
                with self._ready:
                    self.busy -= 1


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
