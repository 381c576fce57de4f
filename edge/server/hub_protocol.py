"""What ``edge serve`` needs of a hub: one small protocol, more than one implementation.

The server (:mod:`edge.server.app`) opens calls, publishes their events, attaches
and detaches subscribers, records feedback and reads a few facts about the calls
it holds; it does all of it through :class:`CallHub`. Two implementations:

* :class:`edge.server.hub.Hub`, embedded and in-process (the default): one box
  is the whole system;
* :class:`edge.fleet.hub.FleetHub` (``[fleet] redis_url``): several nodes share
  their calls on Redis Streams (docs/fleet.md); it keeps a local ``Hub`` for
  this node's subscribers and mirrors every other node's calls into it.

The server's code does not branch on which one runs.

What every implementation keeps, because subscribers and publishers rely on it:

* **Privacy first.** :meth:`CallHub.publish` applies ``[privacy]`` (``share``,
  redaction) before an event is stored, buffered, summarised, logged or fanned
  out; nothing downstream of it ever sees transcript text it may not.
* **Per call, in order.** A call's events keep their ``seq`` order for every
  subscriber; one writer per call (the node that analyses it, or the one its
  workstation publishes to) appends them.
* **Resume without duplicates.** :meth:`CallHub.attach` queues what a
  subscriber missed after its last ``seq`` per call, or a ``call.snapshot`` when
  that is gone; nothing twice (``docs/server.md``, Resume).
* **A call id is one call.** :meth:`CallHub.open_call` refuses an id that is
  streaming with :class:`~edge.server.protocol.Refused` (4009); an ended one may
  be reused.
* **Never waiting.** Every method but :meth:`CallHub.claim`, :meth:`CallHub.start`
  and :meth:`CallHub.close` is synchronous and returns at once: fan-out goes to
  each subscriber's bounded :class:`~edge.server.outbox.Outbox`, which the
  server drains to its socket. An implementation that talks to a store does it
  off these calls (tasks of its own), never inside them.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import Any, Protocol

from edge.events import Event
from edge.fleet.stats import BusStats
from edge.server.auth import Principal
from edge.server.hub import Subscription
from edge.server.summary import CallMeta, CallSummary


class HeldCall(Protocol):
    """A call the hub holds: live, or ended less than its linger ago."""

    @property
    def meta(self) -> CallMeta: ...

    @property
    def summary(self) -> CallSummary: ...  # the wallboard tile: last seq, duration, cues

    @property
    def ended_at(self) -> float | None: ...  # Unix time of call.ended; None while live


class CallHub(Protocol):
    """Live calls, their events and the subscribers attached to this node."""

    @property
    def calls(self) -> Mapping[str, HeldCall]: ...

    @property
    def subscriptions(self) -> Set[Subscription]: ...  # this node's subscribers

    @property
    def dropped(self) -> int: ...  # readings dropped across subscribers' outboxes

    async def start(self) -> None:
        """Start what the hub runs beside the calls (the fleet's Redis tasks)."""
        ...

    async def close(self) -> None:
        """Flush what is still to be shared (within a deadline) and stop."""
        ...

    async def claim(self, meta: CallMeta) -> None:
        """Take a new call id for this node; raises ``Refused`` (4009) if it streams anywhere.

        Awaited before :meth:`open_call`: the fleet asks Redis whether another
        node streams the id (one round trip, bounded by ``[fleet] timeout``).
        """
        ...

    async def adopt(self, call_id: str, source: str) -> int | None:
        """Take over a live call another node served, whose publisher came here.

        The last seq held (the publisher resends what follows), or None when
        this hub holds no such call of ``source`` from another node. Raises
        ``Refused`` (4009) while the other node still holds it: its publisher
        retries.
        """
        ...

    def problem(self) -> str | None:
        """One plain line on what is wrong with the hub's bus (``/readyz``), or None."""
        ...

    def bus(self) -> BusStats | None:
        """The bus's figures for ``/metrics``; None without one."""
        ...

    def open_call(self, meta: CallMeta) -> object:
        """Hold a new call; raises :class:`~edge.server.protocol.Refused` (4009) if streaming."""
        ...

    def publish(self, call_id: str, event: Event) -> None:
        """One event of a held call: privacy, resume buffer, tile, event log, fan-out."""
        ...

    def prune(self) -> None:
        """Forget calls that ended longer ago than the linger (wallboards hear so)."""
        ...

    def active_calls(self, source: str | None = None) -> int:
        """Calls streaming now, of one ingest source or of all."""
        ...

    def attach(self, sub: Subscription, resume: dict[str, int]) -> None:
        """Add a subscriber and queue what it missed (call id to last seq seen)."""
        ...

    def detach(self, sub: Subscription) -> None: ...

    def record_feedback(self, principal: Principal, data: dict[str, Any]) -> dict[str, Any]:
        """A verdict on a cue, checked and kept; raises ``Refused``."""
        ...

    def acknowledge(
        self, principal: Principal, teams: tuple[str, ...], data: dict[str, Any]
    ) -> dict[str, Any]:
        """A supervisor saw an alert: kept, told to the team's wallboards (on every node).

        Raises ``Refused``.
        """
        ...
