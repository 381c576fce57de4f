"""A subscriber's bounded outgoing queue that coalesces superseded updates.

Overflow policy, in order (``docs/server.md``, "Slow subscribers"):

1. a message with a ``key`` replaces the queued message with the same key
   (a newer partial transcript, voice reading or tile summary supersedes the
   older one, which is then never sent);
2. when the queue is full, the oldest queued message that has a key (a
   reading: losing it loses nothing a later message does not carry) is
   dropped and counted;
3. when the queue is full of messages without a key (transcripts, cues), the
   subscriber is hopeless: :attr:`Outbox.overflowed` turns true and the
   server disconnects it; it reconnects and resumes from its last sequence
   number. :attr:`Outbox.hopeless` is set then too, for a server whose
   sender is itself stuck in a send (a stalled socket never asks for more).

Messages keep their order: a replacement goes to the back of the queue, so
sequence numbers reach the client in increasing order.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass


@dataclass
class _Item:
    message: str
    key: Hashable | None
    alive: bool = True


class Outbox:
    """Bounded queue of text messages; :meth:`put` never blocks."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.coalesced = 0  # superseded before they were sent
        self.dropped = 0  # readings dropped because the queue was full
        self.overflowed = False
        self.hopeless = asyncio.Event()  # set when it overflows
        self._items: deque[_Item] = deque()
        self._keyed: dict[Hashable, _Item] = {}
        self._alive = 0
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        return self._alive

    def put(self, message: str, key: Hashable | None = None) -> bool:
        """Queue ``message``; False when the subscriber is hopeless (nothing was queued)."""
        if self.overflowed:
            return False
        if key is not None and (old := self._keyed.pop(key, None)) is not None:
            self._kill(old)
            self.coalesced += 1
        elif self._alive >= self.limit and not self._drop_oldest_keyed():
            self.overflowed = True
            self.hopeless.set()
            self._ready.set()
            return False
        item = _Item(message, key)
        self._items.append(item)
        self._alive += 1
        if key is not None:
            self._keyed[key] = item
        if len(self._items) > 2 * self.limit:
            self._items = deque(i for i in self._items if i.alive)
        self._ready.set()
        return True

    def get_nowait(self) -> str | None:
        while self._items:
            item = self._items.popleft()
            if item.alive:
                self._alive -= 1
                if item.key is not None and self._keyed.get(item.key) is item:
                    del self._keyed[item.key]
                return item.message
        self._ready.clear()
        return None

    async def get(self) -> str | None:
        """The next message; None once the outbox has overflowed (disconnect the client)."""
        while True:
            if self.overflowed:
                return None
            message = self.get_nowait()
            if message is not None:
                return message
            await self._ready.wait()

    async def wait(self) -> None:
        """Until a message is queued, the outbox overflows, or :meth:`wake` is called."""
        if not self.overflowed:
            await self._ready.wait()

    def wake(self) -> None:
        """End a :meth:`wait` with nothing queued (a keepalive's timer)."""
        self._ready.set()

    def _kill(self, item: _Item) -> None:
        item.alive = False
        self._alive -= 1

    def _drop_oldest_keyed(self) -> bool:
        for item in self._items:
            if item.alive and item.key is not None:
                self._kill(item)
                del self._keyed[item.key]
                self.dropped += 1
                return True
        return False
