"""A subscriber's outbox: bounded, coalescing, in order, and hopeless when full of events."""

from __future__ import annotations

import asyncio

from edge.server.outbox import Outbox


def drain(box: Outbox) -> list[str]:
    out = []
    while (m := box.get_nowait()) is not None:
        out.append(m)
    return out


def test_a_newer_message_with_the_same_key_replaces_the_queued_one_at_the_back() -> None:
    """Superseded readings are never sent, and order (hence sequence numbers) is kept."""
    box = Outbox(10)
    box.put("p1", key="partial")
    box.put("e2")
    box.put("p3", key="partial")
    assert drain(box) == ["e2", "p3"]
    assert box.coalesced == 1


def test_a_full_outbox_drops_its_oldest_reading_first() -> None:
    """When full, a keyed (superseded-by-design) message goes before any event is lost."""
    box = Outbox(3)
    box.put("r1", key="voice")
    box.put("e1")
    box.put("e2")
    assert box.put("e3")
    assert box.dropped == 1
    assert drain(box) == ["e1", "e2", "e3"]


def test_an_outbox_full_of_events_overflows_and_wakes_the_sender() -> None:
    """No reading left to drop: the subscriber is hopeless and get() returns None."""

    async def scenario() -> str | None:
        box = Outbox(2)
        box.put("e1")
        box.put("e2")
        assert not box.put("e3")
        assert box.overflowed
        return await asyncio.wait_for(box.get(), 1)

    assert asyncio.run(scenario()) is None


def test_get_waits_for_the_next_message() -> None:
    """The sender sleeps until a message is queued."""

    async def scenario() -> str | None:
        box = Outbox(4)
        waiter = asyncio.create_task(box.get())
        await asyncio.sleep(0.01)
        assert not waiter.done()
        box.put("hello")
        return await asyncio.wait_for(waiter, 1)

    assert asyncio.run(scenario()) == "hello"


def test_many_replacements_stay_bounded() -> None:
    """Repeated coalescing does not grow the internal queue without bound."""
    box = Outbox(4)
    for k in range(1000):
        box.put(f"r{k}", key="voice")
    assert len(box) == 1
    assert len(box._items) <= 8
    assert drain(box) == ["r999"]


def test_wait_ends_on_a_message_on_wake_and_at_once_when_overflowed() -> None:
    """wait() returns when a message is queued or wake() is called (a keepalive's timer,
    nothing queued then); an overflowed outbox does not wait at all."""

    async def scenario() -> tuple[str | None, str | None, bool]:
        box = Outbox(1)
        waiter = asyncio.create_task(box.wait())
        await asyncio.sleep(0.01)
        assert not waiter.done()
        box.put("hello")
        await asyncio.wait_for(waiter, 1)
        first = box.get_nowait()
        assert box.get_nowait() is None  # drained, as the sender finds it before it waits
        waiter = asyncio.create_task(box.wait())
        await asyncio.sleep(0.01)
        assert not waiter.done()
        box.wake()
        await asyncio.wait_for(waiter, 1)
        woken = box.get_nowait()  # nothing: the sender sends a keepalive
        box.put("a")
        box.put("b")  # no key to drop: overflowed
        await asyncio.wait_for(box.wait(), 1)
        return first, woken, box.overflowed

    assert asyncio.run(scenario()) == ("hello", None, True)
