"""What a node has shared and Redis does not have yet, and what it has seen of others.

Two small pure state machines, no Redis and no asyncio inside:

* :class:`Outgoing`: the events this node's calls shared, waiting to be
  written; bounded, and its overflow policy has a name: **readings first**
  (partials, voice emotion, prosody: a later one of the same kind supersedes
  them), other events only when nothing else is left, each counted;
* :class:`Acks`: the acknowledgements of alerts made on this node, waiting to
  be written; one per alert (a newer one replaces it), bounded (oldest dropped,
  counted);
* :class:`Seen`: per mirrored call, the highest ``seq`` delivered, so an event
  written twice (a batch re-sent after an outage, a stream read again after a
  reconnection) reaches subscribers once, in order.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass


@dataclass(eq=False)
class Pending:
    """One shared event on its way to Redis."""

    call_id: str
    instance: str  # the call's instance: a reused call id is a new call
    seq: int
    message: str  # the event's JSON, as this node's subscribers got it
    meta: str  # the call's CallMeta as JSON, for nodes that see the call first here
    reading: bool  # droppable when the buffer is full
    ended: bool  # call.ended: the call's keys are let go once it is written


class Outgoing:
    """Events waiting for Redis, in the order they were shared, at most ``limit``.

    :meth:`add` queues one; :meth:`batch` gives the oldest ones to write (they
    stay queued); :meth:`written` forgets a batch Redis took. A batch that
    failed is simply taken again: writes are idempotent (Redis refuses a
    ``seq`` a call's stream already has).
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.dropped_readings = 0
        self.lost_events = 0  # cues, finals or call events dropped: no reading was left
        self._entries: deque[Pending] = deque()

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, entry: Pending) -> None:
        if len(self._entries) >= self.limit:
            self._drop()
        self._entries.append(entry)

    def batch(self, size: int) -> list[Pending]:
        """The oldest ``size`` entries, still queued."""
        return [self._entries[i] for i in range(min(size, len(self._entries)))]

    def written(self, batch: list[Pending]) -> None:
        """Redis holds ``batch``: forget it (what was dropped meanwhile is gone already)."""
        sent = {id(e) for e in batch}
        while self._entries and id(self._entries[0]) in sent:
            self._entries.popleft()

    def _drop(self) -> None:
        at = next((i for i, e in enumerate(self._entries) if e.reading), None)
        if at is None:
            self._entries.popleft()
            self.lost_events += 1
        else:
            del self._entries[at]
            self.dropped_readings += 1


@dataclass(frozen=True)
class Ack:
    """A supervisor's acknowledgement of an alert, as Redis keeps it.

    In the call's hash of acknowledgements, field :attr:`field` (the cue and the
    ``seq`` of the raise the alert shows: a cue that rises needs a fresh one),
    value :attr:`value` (who and when).
    """

    call_id: str
    instance: str
    cue_id: int
    seq: int  # the alert's: the raise of the cue it acknowledges
    by: str
    at: float  # Unix time

    @property
    def field(self) -> str:
        return f"{self.cue_id}:{self.seq}"

    @property
    def value(self) -> str:
        return json.dumps({"by": self.by, "at": self.at}, separators=(",", ":"))

    @classmethod
    def parse(cls, call_id: str, instance: str, field: str, value: str) -> Ack:
        """An acknowledgement read back; raises ``ValueError`` if malformed."""
        try:
            cue_id, seq = map(int, field.split(":"))
            data = json.loads(value)
            by, at = data["by"], data["at"]
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"acknowledgement {field!r} {value!r}: {e}") from None
        if not isinstance(by, str) or not isinstance(at, int | float):
            raise ValueError(f"acknowledgement {field!r} {value!r}: by or at malformed")
        return cls(call_id, instance, cue_id, seq, by, float(at))


class Acks:
    """Acknowledgements made here that Redis does not have yet, at most ``limit``.

    One per alert (call and cue): a newer one replaces the older. Full, the
    oldest is dropped and counted (:attr:`dropped`): only the other nodes miss it.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.dropped = 0
        self._entries: dict[tuple[str, int], Ack] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, ack: Ack) -> None:
        key = (ack.call_id, ack.cue_id)
        self._entries.pop(key, None)
        if len(self._entries) >= self.limit:
            del self._entries[next(iter(self._entries))]
            self.dropped += 1
        self._entries[key] = ack

    def batch(self) -> list[Ack]:
        """Every one held, oldest first, still held."""
        return list(self._entries.values())

    def written(self, batch: list[Ack]) -> None:
        """Redis holds ``batch``: forget it (not one that replaced an entry of it meanwhile)."""
        for ack in batch:
            key = (ack.call_id, ack.cue_id)
            if self._entries.get(key) is ack:
                del self._entries[key]


@dataclass
class Mirrored:
    """A call of another node, as this node follows it."""

    instance: str
    node: str
    last: int = 0  # highest seq delivered here
    ended: bool = False
    lost: bool = False


class Seen:
    """Per mirrored call: which instance, whose, and the last ``seq`` delivered."""

    def __init__(self) -> None:
        self.calls: dict[str, Mirrored] = {}

    def fresh(self, call_id: str, instance: str, seq: int) -> bool:
        """Whether ``seq`` of this instance of the call comes after all delivered."""
        known = self.calls.get(call_id)
        return known is None or known.instance != instance or seq > known.last

    def first(self, call_id: str, instance: str) -> bool:
        """Whether this instance of the call is new here (the hub must open it)."""
        known = self.calls.get(call_id)
        return known is None or known.instance != instance

    def follow(self, call_id: str, instance: str, node: str) -> Mirrored:
        known = self.calls[call_id] = Mirrored(instance, node)
        return known

    def live_nodes(self) -> dict[str, list[str]]:
        """The nodes of calls still live here, each with its calls."""
        nodes: dict[str, list[str]] = {}
        for call_id, m in self.calls.items():
            if not m.ended and not m.lost:
                nodes.setdefault(m.node, []).append(call_id)
        return nodes
