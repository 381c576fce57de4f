"""The ASR workers: finals go before partials, results and errors reach the awaiting task."""

from __future__ import annotations

import asyncio
import threading

import pytest

from edge.pipeline.workers import LATER, URGENT, PriorityWorkers


def test_urgent_jobs_overtake_waiting_ones_and_order_holds_within_a_priority() -> None:
    """While a job runs, a later final is taken before partials queued earlier."""

    async def scenario() -> list[str]:
        workers = PriorityWorkers(1, name="test")
        gate = threading.Event()
        done: list[str] = []

        def job(name: str) -> str:
            if name == "first":
                gate.wait(5)
            done.append(name)
            return name

        first = asyncio.create_task(workers.run(LATER, lambda: job("first")))
        await asyncio.sleep(0.05)  # the worker is busy with "first"
        later = [asyncio.create_task(workers.run(LATER, lambda n=n: job(n))) for n in "ab"]
        await asyncio.sleep(0.01)
        urgent = asyncio.create_task(workers.run(URGENT, lambda: job("final")))
        await asyncio.sleep(0.01)
        gate.set()
        assert await urgent == "final"
        await asyncio.gather(first, *later)
        workers.shutdown()
        return done

    assert asyncio.run(scenario()) == ["first", "final", "a", "b"]


def test_an_error_in_a_job_is_raised_in_the_awaiting_task() -> None:
    """A failing model call surfaces where it was awaited, and the worker lives on."""

    async def scenario() -> int:
        workers = PriorityWorkers(2, name="test")

        def boom() -> int:
            raise ValueError("bad audio")

        with pytest.raises(ValueError, match="bad audio"):
            await workers.run(URGENT, boom)
        value = await workers.run(LATER, lambda: 7)
        workers.shutdown()
        return value

    assert asyncio.run(scenario()) == 7


def test_shutdown_cancels_what_is_still_waiting() -> None:
    """Jobs not yet started are cancelled, not left hanging."""

    async def scenario() -> None:
        workers = PriorityWorkers(1, name="test")
        gate = threading.Event()
        running = asyncio.create_task(workers.run(LATER, lambda: gate.wait(5)))
        await asyncio.sleep(0.05)
        waiting = asyncio.create_task(workers.run(LATER, lambda: 1))
        await asyncio.sleep(0.01)
        closer = asyncio.create_task(asyncio.to_thread(workers.shutdown))
        await asyncio.sleep(0.05)
        gate.set()
        await closer
        await running
        with pytest.raises(asyncio.CancelledError):
            await waiting

    asyncio.run(scenario())


def test_later_jobs_leave_one_of_several_workers_free_for_an_urgent_one() -> None:
    """With two workers, one running job leaves no room for a partial; one worker alone
    takes a partial whenever nothing waits."""

    async def scenario() -> None:
        gate = threading.Event()
        pair, single = PriorityWorkers(2, name="pair"), PriorityWorkers(1, name="single")
        assert pair.room_for_later() and single.room_for_later()
        running = asyncio.create_task(pair.run(LATER, lambda: gate.wait(5)))
        alone = asyncio.create_task(single.run(LATER, lambda: gate.wait(5)))
        await asyncio.sleep(0.05)
        assert pair.busy == 1 and not pair.room_for_later()
        assert single.busy == 1 and single.room_for_later()  # nothing waits
        gate.set()
        await asyncio.gather(running, alone)
        for _ in range(200):  # the worker counts itself free just after the result
            if pair.busy == 0:
                break
            await asyncio.sleep(0.01)
        assert pair.busy == 0 and pair.room_for_later()
        pair.shutdown()
        single.shutdown()

    asyncio.run(scenario())
