"""What a hub reports of its bus: the figures ``/metrics`` and ``/readyz`` show."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BusStats:
    """A moment of the fleet bus, as one node sees it."""

    connected: bool  # the last Redis command succeeded
    buffered: int  # events waiting to be written to Redis
    dropped_readings: int  # readings dropped from a full buffer (so far)
    lost_events: int  # other events dropped from a full buffer: nothing else was left (so far)
    mirrored_calls: int  # calls of other nodes held here
    lost_calls: int  # calls marked lost: their node stopped beating (so far)
