"""The fleet's hub: this node's calls on Redis Streams, every other node's calls mirrored here.

:class:`FleetHub` implements :class:`~edge.server.hub_protocol.CallHub` around
a local, embedded :class:`~edge.server.hub.Hub` that keeps doing what it does
for one box (privacy, resume buffers, tiles, fan-out to this node's
subscribers). Around it, three tasks of its own talk to Redis; the hub's
methods never wait for them (docs/fleet.md has the why of each choice):

* **writer**: each event a call of this node shares (after ``[privacy]``: the
  JSON its own subscribers get) goes to :class:`~edge.fleet.buffer.Outgoing`,
  then in batches to Redis by one script per event: the call's stream
  ``P:call:ID:INSTANCE`` with stream id ``SEQ-0`` (so a ``seq`` written twice is
  refused, and a resume is an ``XRANGE`` from ``SEQ+1``), trimmed to
  ``stream_events``; and the node's floor stream ``P:floor:NODE``, which every
  other node reads, trimmed to ``floor_events``. Redis unreachable: the batch
  waits and is retried with back-off; the buffer is bounded (readings dropped
  first, counted);
* **reader**: one ``XREAD`` of the other nodes' floor streams (a node never
  reads its own events back) and of the joins stream ``P:joins``, where each
  node says it started (then its floor is read from its start); each event
  is delivered to the local hub once (:class:`~edge.fleet.buffer.Seen`: only
  a ``seq`` above the last one delivered). On every (re)connection it first
  catches up each live call from its own stream, and so for a node that joins
  later;
* **beat**: every ``heartbeat`` seconds the node's hash ``P:node:NODE`` (its
  live calls; it expires after ``lost_after``) and the owner key of each of its
  calls ``P:owner:ID`` (the claim that refuses a second node the same id). Each
  second it checks the nodes of the calls it mirrors: a node whose hash expired
  is gone, and its calls are marked lost (:meth:`Hub.lose`).

A supervisor's acknowledgement of an alert is shown here at once (the local
hub), then written by the writer to the call's hash ``P:acks:ID:INSTANCE`` with
``HSETNX`` (the first one Redis takes stands, on every node) and, if it won, to
its floor stream, which every other node applies to its local hub
(:meth:`Hub.acknowledged`); a node catching up reads the hashes.

Not Redis Cluster: a script writes keys of several calls (one Redis, or
Sentinel's primary).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass
from typing import Any, cast

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.typing import EncodableT, KeyT, StreamIdT

from edge.events import CallEnded, Event, SchemaError, from_json
from edge.fleet.buffer import Ack, Acks, Outgoing, Pending, Seen
from edge.fleet.options import FleetOptions, client_options, where
from edge.fleet.stats import BusStats
from edge.server.auth import Principal
from edge.server.hub import ALERTS, CallRecord, Hub, Subscription, coalesce_key
from edge.server.options import PrivacyOptions
from edge.server.protocol import Close, Refused
from edge.server.summary import CallMeta

log = logging.getLogger(__name__)

BATCH = 512  # events per write: one round trip
READ_COUNT = 1024  # entries per floor stream per XREAD
READ_YIELD = 32  # floor entries delivered between yields to the event loop (the ingest waits)
NODES_EVERY = 1.0  # seconds between looks at the node set (nodes back after a Redis restart)
JOINS_KEPT = 1000  # entries kept in the joins stream (each node start is one)
FOLLOW_LEFT = 300.0  # seconds a node's floor is still read after it left: its last events
BACKOFF_FIRST = 0.2  # seconds before the first retry; doubled up to BACKOFF_MAX
BACKOFF_MAX = 2.0  # a floor catches up within about this long once Redis is back
STREAM_IDLE_MS = 3_600_000  # a call stream no one writes to for an hour expires
CLOSE_DEADLINE = 5.0  # seconds shutdown waits for the buffer to reach Redis
GONE = 4096  # ended call instances remembered, so a stream read again does not revive them
YIELD_EVERY = 256  # events delivered between yields to the event loop while catching up

Entries = list[tuple[str, dict[str, str]]]  # stream entries: (id, fields), decoded

NOT_YET = "not connected yet"
BUS_ERRORS = (RedisError, OSError, asyncio.TimeoutError)

# One script call writes a whole batch (one command, not one per event: the
# writer's cost on a busy floor is in packing commands).
# ARGV: key prefix, node, stream_events, floor_events, linger ms, idle ms; then per
#       event: seq, call id, instance, message, meta, ended (1/0).
# Each event goes to its call's stream (id SEQ-0), then to the node's floor stream.
# A seq the call's stream has already (a batch re-sent after an outage) is refused
# by XADD and skipped: nothing reaches the floor twice from one write. The keys are
# made here from the prefix, so this needs one Redis (not Cluster; docs/fleet.md).
APPEND = """
local prefix, node = ARGV[1], ARGV[2]
local floor = prefix .. ':floor:' .. node
local written = 0
for i = 7, #ARGV, 6 do
  local seq, call, instance = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local stream = prefix .. ':call:' .. call .. ':' .. instance
  local added = redis.pcall('XADD', stream, 'MAXLEN', '~', ARGV[3], seq .. '-0', 'm', ARGV[i + 3])
  if not (type(added) == 'table' and added.err) then
    redis.call('XADD', floor, 'MAXLEN', '~', ARGV[4], '*',
      'c', call, 'i', instance, 's', seq, 'm', ARGV[i + 3], 'meta', ARGV[i + 4])
    if ARGV[i + 5] == '1' then
      redis.call('PEXPIRE', stream, ARGV[5])
      redis.call('PEXPIRE', prefix .. ':acks:' .. call .. ':' .. instance, ARGV[5])
      redis.call('HDEL', prefix .. ':node:' .. node, call)
      local owner = prefix .. ':owner:' .. call
      if redis.call('GET', owner) == node then
        redis.call('DEL', owner)
      end
    else
      redis.call('PEXPIRE', stream, ARGV[6])
    end
    written = written + 1
  end
end
return written
"""

# KEYS: the call's hash of acknowledgements, the call's stream, the floor stream.
# ARGV: field (cue id:seq), value (who, when), floor_events, call id, instance, node,
#       idle ms.
# The first acknowledgement of an alert Redis takes stands (HSETNX) and only it
# reaches the floor; the reply is the one that stands. The hash lives as long as
# the call's stream.
ACKNOWLEDGE = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*',
    'c', ARGV[4], 'i', ARGV[5], 'a', ARGV[1], 'm', ARGV[2])
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl < 0 then
    ttl = tonumber(ARGV[7])
  end
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return redis.call('HGET', KEYS[1], ARGV[1])
"""


@dataclass(frozen=True)
class Keys:
    """Every Redis key the fleet uses, under one prefix."""

    prefix: str

    def floor(self, node: str) -> str:
        return f"{self.prefix}:floor:{node}"

    @property
    def nodes(self) -> str:
        return f"{self.prefix}:nodes"

    @property
    def joins(self) -> str:
        return f"{self.prefix}:joins"

    def node(self, node: str) -> str:
        return f"{self.prefix}:node:{node}"

    def owner(self, call_id: str) -> str:
        return f"{self.prefix}:owner:{call_id}"

    def call(self, call_id: str, instance: str) -> str:
        return f"{self.prefix}:call:{call_id}:{instance}"

    def acks(self, call_id: str, instance: str) -> str:
        return f"{self.prefix}:acks:{call_id}:{instance}"

    def moved(self, call_id: str) -> str:
        return f"{self.prefix}:moved:{call_id}"


BEAT = "*"  # the field of a node's hash that holds its last beat (no call id is "*")


@dataclass
class _Owned:
    """A live call of this node: its instance and its meta as JSON."""

    instance: str
    meta: str


def connect(options: FleetOptions) -> aioredis.Redis:
    """A client for ``[fleet]``: its credentials and CA, its timeout, no retries of its own."""
    client: aioredis.Redis = aioredis.Redis.from_url(
        options.redis_url,
        retry=Retry(NoBackoff(), 0),  # the tasks retry, with back-off, and say so
        **client_options(options),
    )
    return client


def one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:200]


class FleetHub:
    """Live calls of every node; this node's subscribers; Redis in tasks of its own."""

    def __init__(
        self,
        options: FleetOptions,
        privacy: PrivacyOptions,
        *,
        resume_events: int = 4096,
        linger: float = 60.0,
        clock: Callable[[], float] = time.time,
        record: Callable[[str], None] | None = None,
        keep: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.options = options
        self.node = options.node_name()
        self.keys = Keys(options.key_prefix)
        self.local = Hub(
            privacy,
            resume_events=resume_events,
            linger=linger,
            clock=clock,
            record=record,
            keep=keep,
            shared=self._shared,
            acked=self._acked,
        )
        self._linger_ms = int(linger * 1000)
        self._lost_ms = int(options.lost_after * 1000)
        self._outgoing = Outgoing(options.buffer)
        self._waiting = asyncio.Event()  # set while the outgoing buffer holds something
        self._owned: dict[str, _Owned] = {}
        self._instances: dict[str, str] = {}  # this node's calls held, live or ended
        self._acks = Acks(ALERTS)  # no more than the alerts a hub holds
        self._seen = Seen()
        self._gone: deque[tuple[str, str]] = deque(maxlen=GONE)
        self._redis: aioredis.Redis | None = None
        self._tasks: list[asyncio.Task[None]] = []
        # Each task's last error while its Redis commands fail; none: the bus works.
        self._failing: dict[str, str] = {"read": NOT_YET}
        self._died: str | None = None  # a task that died of something else than Redis
        self._up_since: float | None = None  # monotonic time the bus last started working
        # Per other node, the last entry of its floor stream read (kept for a node
        # that left: one that comes back goes on from there).
        self._floor_ids: dict[str, str] = {}
        self._following: list[str] = []  # the other nodes whose floors are read
        self._joins_id = ""  # the last entry of the joins stream read ("": none yet)
        self._joined_bus = False  # this node's floor emptied and its start told (_join)
        self._left: dict[str, float] = {}  # nodes gone from the set: when (monotonic)
        self._lost_calls = 0
        self._seen_up = False  # the bus has worked once (then a recovery is "back")

    # -- the CallHub protocol: synchronous, never waiting -----------------------

    @property
    def calls(self) -> Mapping[str, CallRecord]:
        return self.local.calls

    @property
    def subscriptions(self) -> Set[Subscription]:
        return self.local.subscriptions

    @property
    def dropped(self) -> int:
        return self.local.dropped

    def open_call(self, meta: CallMeta) -> CallRecord:
        record = self.local.open_call(meta)
        meta_json = json.dumps(dataclasses.asdict(meta), separators=(",", ":"))
        self._owned[meta.call_id] = _Owned(secrets.token_hex(4), meta_json)
        self._instances[meta.call_id] = self._owned[meta.call_id].instance
        self._seen.calls.pop(meta.call_id, None)  # a mirror of an ended call of the same id
        return record

    def publish(self, call_id: str, event: Event) -> None:
        self.local.publish(call_id, event)  # privacy, then _shared below

    def prune(self) -> None:
        self.local.prune()
        for call_id in [c for c in self._seen.calls if c not in self.local.calls]:
            self._gone.append((call_id, self._seen.calls.pop(call_id).instance))
        for call_id in [c for c in self._instances if c not in self.local.calls]:
            del self._instances[call_id]

    def active_calls(self, source: str | None = None) -> int:
        return self.local.active_calls(source)

    def attach(self, sub: Subscription, resume: dict[str, int]) -> None:
        self.local.attach(sub, resume)

    def detach(self, sub: Subscription) -> None:
        self.local.detach(sub)

    def record_feedback(self, principal: Principal, data: dict[str, Any]) -> dict[str, Any]:
        return self.local.record_feedback(principal, data)

    def acknowledge(
        self, principal: Principal, teams: tuple[str, ...], data: dict[str, Any]
    ) -> dict[str, Any]:
        # Checked and shown here at once, as on one box; _acked queues it for the bus.
        return self.local.acknowledge(principal, teams, data)

    def problem(self) -> str | None:
        down = self._down
        if down is None:
            return None
        return (
            f"fleet bus unavailable ({where(self.options.redis_url)}): {down}; "
            f"this node serves its own calls only, {len(self._outgoing)} events held"
        )

    def bus(self) -> BusStats:
        return BusStats(
            connected=self._down is None,
            buffered=len(self._outgoing),
            dropped_readings=self._outgoing.dropped_readings,
            lost_events=self._outgoing.lost_events,
            mirrored_calls=sum(1 for c in self._seen.calls if c in self.local.calls),
            lost_calls=self._lost_calls,
        )

    def _instance(self, call_id: str) -> str | None:
        """The instance of the call this node holds under ``call_id`` (its own or mirrored)."""
        mirrored = self._seen.calls.get(call_id)
        return mirrored.instance if mirrored is not None else self._instances.get(call_id)

    def _acked(self, alert: dict[str, Any]) -> None:
        """An acknowledgement made here (the first here): queued for Redis, which decides.

        Redis unreachable, it waits (bounded) and is written once Redis is back:
        this node's wallboards show it at once meanwhile (docs/fleet.md says why).
        """
        call_id = alert["call_id"]
        instance = self._instance(call_id)
        if instance is None:
            return
        by, at = alert["acked_by"], alert["acked_at"]
        dropped = self._acks.dropped
        self._acks.add(Ack(call_id, instance, alert["cue_id"], alert["seq"], by, at))
        if self._acks.dropped > dropped:
            log.warning("fleet: %d acknowledgements held: the oldest dropped", self._acks.limit)
        self._waiting.set()

    def _shared(self, record: CallRecord, event: Event, message: str) -> None:
        """An event of this node's call, as shared: queued for Redis."""
        call_id = record.meta.call_id
        owned = self._owned.get(call_id)
        if owned is None:
            return  # its call.ended was shared already
        ended = isinstance(event, CallEnded)
        self._outgoing.add(
            Pending(
                call_id=call_id,
                instance=owned.instance,
                seq=event.seq,
                message=message,
                meta=owned.meta,
                reading=coalesce_key(event) is not None,
                ended=ended,
            )
        )
        self._waiting.set()
        if ended:
            del self._owned[call_id]

    # -- claims, start and close ---------------------------------------------------

    async def claim(self, meta: CallMeta) -> None:
        """Refuse an id streaming here or on another node (4009); take it for this node.

        Redis unreachable: the call goes on, unchecked against other nodes (one
        line in the log): a floor keeps taking calls while its bus is down.
        """
        await self.local.claim(meta)
        assert self._redis is not None, "claim before start"
        key = self.keys.owner(meta.call_id)
        try:
            taken = await asyncio.wait_for(
                self._redis.set(key, self.node, nx=True, px=self._lost_ms), self.options.timeout
            )
            holder = None if taken else cast(str | None, await self._redis.get(key))
        except BUS_ERRORS as e:
            log.warning(
                "call %s: not checked against other nodes (fleet bus: %s)",
                meta.call_id,
                one_line(e),
            )
            return
        if holder is not None and holder != self.node:
            raise Refused(
                Close.CONFLICT,
                f"call id {meta.call_id!r} is already streaming (on node {holder}): "
                "use a new call id per call",
            )

    async def adopt(self, call_id: str, source: str) -> int | None:
        """Take over another node's call whose workstation now publishes here.

        Its owner key is claimed first: a node that shuts down lets go of its
        published calls only after writing their events, so once the claim
        succeeds the call's stream holds all the old node acknowledged; it is
        read to the end, then the call goes on as this node's, same instance,
        ``seq`` continuing.
        """
        if call_id not in self._seen.calls and call_id not in self.local.calls:
            await self._moved_here(call_id)
        mirrored = self._seen.calls.get(call_id)
        record = self.local.calls.get(call_id)
        if mirrored is None or record is None or record.meta.source != source:
            return None
        if record.summary.ended:
            return None
        assert self._redis is not None, "adopt before start"
        key = self.keys.owner(call_id)
        stream = self.keys.call(call_id, mirrored.instance)
        try:
            taken = await asyncio.wait_for(
                self._redis.set(key, self.node, nx=True, px=self._lost_ms), self.options.timeout
            )
            holder = None if taken else cast(str | None, await self._redis.get(key))
            if holder is None or holder == self.node:
                start = f"{mirrored.last + 1}-0"
                rest = cast(Entries, await self._redis.xrange(stream, min=start, max="+"))
                await self._redis.delete(self.keys.moved(call_id))
        except BUS_ERRORS as e:
            raise Refused(
                Close.TRY_LATER, f"call {call_id!r} cannot be taken over now: {one_line(e)}"
            ) from None
        if holder is not None and holder != self.node:
            raise Refused(
                Close.CONFLICT,
                f"call id {call_id!r} is still streaming on node {holder}: retry once it lets go",
            )
        for entry_id, fields in rest:
            seq = int(entry_id.split("-", 1)[0])
            self._mirror(call_id, mirrored.instance, mirrored.node, seq, fields["m"], "{}")
        meta_json = json.dumps(dataclasses.asdict(record.meta), separators=(",", ":"))
        self._owned[call_id] = _Owned(mirrored.instance, meta_json)
        self._instances[call_id] = mirrored.instance
        del self._seen.calls[call_id]
        if record.summary.lost:
            record.summary.lost = False
            record.ended_at = None
        log.info("call %s taken over from node %s", call_id, mirrored.node)
        return record.summary.last_seq

    async def _moved_here(self, call_id: str) -> None:
        """Mirror a call a node let go of at shutdown that this node's reader has not reached
        (its moved key): adopt then reads it from its stream like any mirrored call."""
        assert self._redis is not None, "adopt before start"
        try:
            moved = await asyncio.wait_for(
                self._redis.get(self.keys.moved(call_id)), self.options.timeout
            )
        except BUS_ERRORS as e:
            raise Refused(
                Close.TRY_LATER, f"call {call_id!r} cannot be taken over now: {one_line(e)}"
            ) from None
        if not moved:
            return
        try:
            instance, node, meta = cast(str, moved).split(" ", 2)
        except ValueError:
            log.warning("fleet: call %s: malformed moved key: not taken over", call_id)
            return
        self._open_mirror(call_id, instance, node, meta)

    async def start(self) -> None:
        self._redis = connect(self.options)
        for name, work in (("write", self._write), ("read", self._read), ("beat", self._beat)):
            task = asyncio.create_task(work(), name=f"fleet-{name}")
            task.add_done_callback(self._task_done)
            self._tasks.append(task)
        log.info("fleet: node %s on %s", self.node, where(self.options.redis_url))

    async def close(self) -> None:
        """Write what is buffered (within a deadline), stop the tasks, leave the fleet."""
        if self._redis is None:
            return
        deadline = time.monotonic() + CLOSE_DEADLINE
        while self._held() and self._down is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self._held():
            log.warning(
                "fleet: %d events and %d acknowledgements not written to Redis at shutdown",
                len(self._outgoing),
                len(self._acks),
            )
        for task in self._tasks:
            task.remove_done_callback(self._task_done)
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        try:  # other nodes learn at once; the calls still live here are lost to them
            await asyncio.wait_for(self._leave(), self.options.timeout)
        except BUS_ERRORS as e:
            log.info("fleet: could not leave cleanly (%s)", one_line(e))
        await self._redis.aclose()
        self._redis = None

    def _held(self) -> bool:
        """Whether anything waits to be written to Redis."""
        return bool(len(self._outgoing) or len(self._acks))

    async def _leave(self) -> None:
        assert self._redis is not None
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.delete(self.keys.node(self.node))
            pipe.srem(self.keys.nodes, self.node)
            for call_id, owned in self._owned.items():
                # Let go (published calls): another node may adopt them, and finds
                # them by their moved key even before its reader reached this floor.
                pipe.delete(self.keys.owner(call_id))
                moved = f"{owned.instance} {self.node} {owned.meta}"
                pipe.set(self.keys.moved(call_id), moved, px=self._linger_ms)
            await pipe.execute()

    def _task_done(self, task: asyncio.Task[None]) -> None:
        """A fleet task died of something else than Redis: seen in the log and /readyz."""
        if task.cancelled():
            return
        error = task.exception()
        log.error("fleet task %s failed: %s", task.get_name(), error, exc_info=error)
        self._died = f"fleet task {task.get_name()} failed: {one_line(error or Exception())}"
        self._up_since = None

    @property
    def _down(self) -> str | None:
        """What is wrong with the bus, or None while every task's commands succeed."""
        return self._died or next(iter(self._failing.values()), None)

    def _ok(self, task: str) -> None:
        if self._failing.pop(task, None) is None or self._down is not None:
            return
        self._up_since = time.monotonic()
        first = not self._seen_up
        self._seen_up = True
        (log.info if first else log.warning)(
            "fleet bus %s (%s)", "connected" if first else "back", where(self.options.redis_url)
        )

    def _failed(self, task: str, error: BaseException) -> None:
        if self._down is None or self._down == NOT_YET:
            log.warning(
                "fleet bus unavailable (%s): %s; this node's calls go on, their events are held",
                where(self.options.redis_url),
                one_line(error),
            )
        self._failing[task] = one_line(error)
        self._up_since = None

    # -- writer ------------------------------------------------------------------

    async def _write(self) -> None:
        assert self._redis is not None
        script = self._redis.register_script(APPEND)
        acknowledge = self._redis.register_script(ACKNOWLEDGE)
        backoff = BACKOFF_FIRST
        while True:
            if not self._joined_bus:
                try:
                    await self._join()
                except BUS_ERRORS as error:
                    self._failed("write", error)
                    await asyncio.sleep(backoff)
                    backoff = min(2 * backoff, BACKOFF_MAX)
                    continue
                self._joined_bus = True
                self._ok("write")
            await self._waiting.wait()
            batch = self._outgoing.batch(BATCH)
            # Acknowledgements after every event queued before them: the floor then
            # carries an alert's raise before its acknowledgement.
            acks = self._acks.batch() if len(batch) == len(self._outgoing) else []
            if not batch and not acks:
                self._waiting.clear()
                continue
            try:
                if not acks:
                    # EVALSHA alone (loaded again after a Redis restart): a pipeline
                    # asks SCRIPT EXISTS first, a round trip per batch for nothing.
                    replies = [await script(args=self._append_args(batch), client=self._redis)]
                else:
                    async with self._redis.pipeline(transaction=False) as pipe:
                        if batch:
                            await script(args=self._append_args(batch), client=pipe)
                        for a in acks:
                            keys, args = self._ack_keys(a), self._ack_args(a)
                            await acknowledge(keys=keys, args=args, client=pipe)
                        replies = await pipe.execute()
            except BUS_ERRORS as e:
                self._failed("write", e)
                await asyncio.sleep(backoff)
                backoff = min(2 * backoff, BACKOFF_MAX)
                continue
            self._outgoing.written(batch)
            self._acks.written(acks)
            for a, standing in zip(acks, replies[1 if batch else 0 :], strict=True):
                self._apply_ack(a.call_id, a.instance, a.field, cast(str, standing))
            self._ok("write")
            backoff = BACKOFF_FIRST

    async def _join(self) -> None:
        """Empty this node's floor stream (a former process of its name wrote it), list the
        node, and say so on the joins stream, at once (one transaction).

        The other nodes read the joins stream in the same ``XREAD`` as the floors:
        they follow this floor from its start before its first event is read, so
        a call here that ends, or is handed over, within a second is not missed.
        """
        assert self._redis is not None
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.keys.floor(self.node))
            pipe.sadd(self.keys.nodes, self.node)
            pipe.xadd(self.keys.joins, {"n": self.node}, maxlen=JOINS_KEPT, approximate=True)
            await asyncio.wait_for(pipe.execute(), self.options.timeout)

    def _ack_keys(self, a: Ack) -> list[str]:
        k = self.keys
        return [k.acks(a.call_id, a.instance), k.call(a.call_id, a.instance), k.floor(self.node)]

    def _ack_args(self, a: Ack) -> list[str | int]:
        o = self.options
        return [
            a.field,
            a.value,
            o.floor_events,
            a.call_id,
            a.instance,
            self.node,
            STREAM_IDLE_MS,
        ]

    def _append_args(self, batch: list[Pending]) -> list[str | int]:
        o = self.options
        args: list[str | int] = [
            self.keys.prefix,
            self.node,
            o.stream_events,
            o.floor_events,
            self._linger_ms,
            STREAM_IDLE_MS,
        ]
        for e in batch:
            args += (e.seq, e.call_id, e.instance, e.message, e.meta, 1 if e.ended else 0)
        return args

    # -- reader ------------------------------------------------------------------

    async def _read(self) -> None:
        assert self._redis is not None
        loop = asyncio.get_running_loop()
        block = int(min(1.0, self.options.timeout / 2) * 1000)
        backoff = BACKOFF_FIRST
        while True:
            try:
                await self._catch_up()
                self._ok("read")
                backoff = BACKOFF_FIRST
                looked = loop.time()
                while True:
                    if loop.time() - looked >= NODES_EVERY:
                        await self._look_for_nodes()
                        looked = loop.time()
                    floors = {self.keys.floor(n): n for n in self._following}
                    streams: dict[KeyT, StreamIdT] = {
                        k: self._floor_ids[n] for k, n in floors.items()
                    }
                    streams[self.keys.joins] = self._joins_id
                    reply = cast(
                        list[tuple[str, Entries]] | None,
                        await self._redis.xread(streams, count=READ_COUNT, block=block),
                    )
                    self._ok("read")
                    for stream, entries in reply or []:
                        if stream == self.keys.joins:
                            self._joined(entries)
                            continue
                        node = floors[stream]
                        for k, (entry_id, fields) in enumerate(entries, 1):
                            if self._handed_over(node, fields):
                                await self._fill(fields)
                            self._floor_ids[node] = entry_id
                            self._take(node, fields)
                            if k % READ_YIELD == 0:
                                await asyncio.sleep(0)
                        await asyncio.sleep(0)
            except BUS_ERRORS as e:
                self._failed("read", e)
                await asyncio.sleep(backoff)
                backoff = min(2 * backoff, BACKOFF_MAX)

    async def _catch_up(self) -> None:
        """Every live call of the other nodes, from its own stream past what was delivered.

        First each node's floor stream's newest entry is noted (the first time
        the node is seen), so nothing written meanwhile is missed; what both give
        is delivered once.
        """
        assert self._redis is not None
        if not self._joins_id:  # before the node set: a node that joins after is not missed
            top = cast(Entries, await self._redis.xrevrange(self.keys.joins, count=1))
            self._joins_id = top[0][0] if top else "0-0"
        nodes = await self._other_nodes()
        for node in nodes:
            if node not in self._floor_ids:
                top = cast(Entries, await self._redis.xrevrange(self.keys.floor(node), count=1))
                self._floor_ids[node] = top[0][0] if top else "0-0"
        self._follow(nodes)
        for node in nodes:
            await self._catch_up_node(node)
        await self._catch_up_acks()

    async def _look_for_nodes(self) -> None:
        """Follow the floor streams of nodes that joined; stop reading those that left.

        A node new here is read from its floor stream's start: a node empties its
        floor when it starts, so that holds only its own calls, and none of them
        is missed between its first beat and this look.
        """
        assert self._redis is not None
        nodes = await self._other_nodes()
        joined = [n for n in nodes if n not in self._floor_ids]
        for node in joined:
            self._floor_ids[node] = "0-0"
        self._follow(nodes)
        for node in joined:
            await self._catch_up_node(node)
        if joined:
            await self._catch_up_acks()

    def _joined(self, entries: Entries) -> None:
        """Nodes that started: each one's floor is read from its start (it emptied it)."""
        for entry_id, fields in entries:
            self._joins_id = entry_id
            node = fields.get("n", "")
            if not node or node == self.node:
                continue
            self._floor_ids[node] = "0-0"
            self._left.pop(node, None)
            if node not in self._following:
                self._following.append(node)

    async def _other_nodes(self) -> list[str]:
        """The fleet's nodes but this one, as they list themselves in Redis."""
        assert self._redis is not None
        return sorted(cast(set[str], await self._redis.smembers(self.keys.nodes)) - {self.node})

    def _follow(self, nodes: list[str]) -> None:
        """Read the floors of ``nodes``, and for a while those of nodes that left (a node
        shutting down writes its calls' last events, then leaves the set)."""
        now = time.monotonic()
        for node in self._following:
            if node not in nodes:
                self._left.setdefault(node, now)
        for node in nodes:
            self._left.pop(node, None)
        for node, since in list(self._left.items()):
            if now - since > FOLLOW_LEFT:
                del self._left[node]
        self._following = [*nodes, *self._left]

    async def _catch_up_node(self, node: str) -> None:
        """A node's live calls (its hash), each from its own stream past what was delivered."""
        assert self._redis is not None
        calls = cast(dict[str, str], await self._redis.hgetall(self.keys.node(node)))
        delivered = 0
        for call_id, value in calls.items():
            if call_id == BEAT:
                continue
            instance, meta = value.split(" ", 1)
            known = self._seen.calls.get(call_id)
            start = known.last + 1 if known and known.instance == instance else 1
            entries = cast(
                Entries,
                await self._redis.xrange(
                    self.keys.call(call_id, instance), min=f"{start}-0", max="+"
                ),
            )
            for entry_id, fields in entries:
                seq = int(entry_id.split("-", 1)[0])
                self._mirror(call_id, instance, node, seq, fields["m"], meta)
                delivered += 1
                if delivered % YIELD_EVERY == 0:
                    await asyncio.sleep(0)

    def _handed_over(self, node: str, fields: dict[str, str]) -> bool:
        """Whether a floor entry is the first of a call another node handed to ``node``
        with events in between not yet delivered here (they are on the old node's floor,
        which this read may reach later)."""
        known = self._seen.calls.get(fields.get("c", ""))
        if known is None or known.node == node or known.instance != fields.get("i"):
            return False
        try:
            return int(fields["s"]) > known.last + 1
        except (KeyError, ValueError):
            return False

    async def _fill(self, fields: dict[str, str]) -> None:
        """The events of a handed-over call before this entry, from the call's own stream."""
        assert self._redis is not None
        call_id, instance = fields["c"], fields["i"]
        known = self._seen.calls[call_id]
        entries = cast(
            Entries,
            await self._redis.xrange(
                self.keys.call(call_id, instance),
                min=f"{known.last + 1}-0",
                max=f"{int(fields['s']) - 1}-0",
            ),
        )
        for entry_id, entry in entries:
            seq = int(entry_id.split("-", 1)[0])
            self._mirror(call_id, instance, known.node, seq, entry["m"], "{}")

    async def _catch_up_acks(self) -> None:
        """The acknowledgements of every call held here (its own and mirrored, live or ended),
        after their alerts: those made while this node was away or not yet started."""
        assert self._redis is not None
        held = [(c, i) for c in list(self.local.calls) if (i := self._instance(c)) is not None]
        if not held:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for call_id, instance in held:
                pipe.hgetall(self.keys.acks(call_id, instance))
            replies = cast(list[dict[str, str]], await pipe.execute())
        for (call_id, instance), acks in zip(held, replies, strict=True):
            for field, value in acks.items():
                self._apply_ack(call_id, instance, field, value)

    def _take(self, node: str, fields: dict[str, str]) -> None:
        """One entry of another node's floor stream."""
        try:
            if "a" in fields:
                self._apply_ack(fields["c"], fields["i"], fields["a"], fields["m"])
                return
            seq = int(fields["s"])
            self._mirror(fields["c"], fields["i"], node, seq, fields["m"], fields["meta"])
        except (KeyError, ValueError) as e:
            log.warning("fleet: a floor entry of node %s is malformed (%s): skipped", node, e)

    def _mirror(
        self, call_id: str, instance: str, node: str, seq: int, message: str, meta: str
    ) -> None:
        """Deliver another node's event to the local hub once, in order."""
        if call_id in self._owned or (call_id, instance) in self._gone:
            return  # this node streams that id (a claim refused the other), or it is gone
        if not self._seen.fresh(call_id, instance, seq):
            return
        if self._seen.first(call_id, instance) and not self._open_mirror(
            call_id, instance, node, meta
        ):
            return
        try:
            event = from_json(message)
        except SchemaError as e:
            log.warning("fleet: an event of call %s from node %s: %s", call_id, node, e)
            return
        mirrored = self._seen.calls[call_id]
        mirrored.last = seq
        mirrored.lost = False
        mirrored.node = node  # the writer now (one at a time; it may change hands)
        self.local.deliver(call_id, event, message)
        if isinstance(event, CallEnded):
            mirrored.ended = True

    def _apply_ack(self, call_id: str, instance: str, field: str, value: str) -> None:
        """The acknowledgement that stands in Redis, to this node's wallboards."""
        if self._instance(call_id) != instance:
            return  # a call this node does not hold (or another call of the same id)
        try:
            ack = Ack.parse(call_id, instance, field, value)
        except ValueError as e:
            log.warning("fleet: call %s: %s: skipped", call_id, e)
            return
        self.local.acknowledged(call_id, ack.cue_id, ack.seq, ack.by, ack.at)

    def _open_mirror(self, call_id: str, instance: str, node: str, meta: str) -> bool:
        old = self._seen.calls.get(call_id)
        record = self.local.calls.get(call_id)
        if record is not None and record.ended_at is None:
            if old is None:
                return False  # a call of this node that ended just now (its end in flight)
            self.local.lose(call_id, old.node)  # a new instance: the old one's end was missed
            self._gone.append((call_id, old.instance))
        try:
            data = json.loads(meta)
            self.local.open_call(CallMeta(**data))
        except (ValueError, TypeError) as e:
            log.warning("fleet: call %s from node %s has malformed meta (%s)", call_id, node, e)
            return False
        self._seen.follow(call_id, instance, node)
        return True

    # -- heartbeat and lost nodes ------------------------------------------------------

    async def _beat(self) -> None:
        loop = asyncio.get_running_loop()
        tick = min(1.0, self.options.heartbeat)
        due = 0.0
        while True:
            try:
                if loop.time() >= due:
                    await self._heartbeat()
                    due = loop.time() + self.options.heartbeat
                    self._ok("beat")
                await self._check_lost()
            except BUS_ERRORS as e:
                self._failed("beat", e)
            await asyncio.sleep(tick)

    async def _heartbeat(self) -> None:
        """This node's hash (its live calls) and its calls' owner keys, each for ``lost_after``.

        Rewritten whole each beat: after a Redis restart (an empty Redis) the
        fleet learns again which node streams which call.
        """
        assert self._redis is not None
        node_key = self.keys.node(self.node)
        fields: dict[EncodableT, EncodableT] = {BEAT: f"{time.time():.3f}"}
        fields.update({c: f"{o.instance} {o.meta}" for c, o in self._owned.items()})
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(node_key)
            pipe.hset(node_key, mapping=fields)
            pipe.pexpire(node_key, self._lost_ms)
            if self._joined_bus:  # listed by _join first: its floor emptied before it is read
                pipe.sadd(self.keys.nodes, self.node)
            pipe.pexpire(self.keys.floor(self.node), STREAM_IDLE_MS)  # a node gone for good
            for call_id in self._owned:
                pipe.set(self.keys.owner(call_id), self.node, px=self._lost_ms)
            await asyncio.wait_for(pipe.execute(), self.options.timeout)

    async def _check_lost(self) -> None:
        """Mark lost the calls of nodes whose hash expired (no beat for ``lost_after``).

        Only after this node has been connected for ``lost_after`` itself: after
        a Redis restart every node needs a beat to be known again.
        """
        assert self._redis is not None
        since = self._up_since
        if since is None or time.monotonic() - since < self.options.lost_after:
            return
        nodes = self._seen.live_nodes()
        nodes.pop(self.node, None)
        if not nodes:
            return
        names = sorted(nodes)
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.exists(self.keys.node(name))
            alive = await asyncio.wait_for(pipe.execute(), self.options.timeout)
        gone = [name for name, up in zip(names, alive, strict=True) if not up]
        if not gone:
            return
        async with self._redis.pipeline(transaction=False) as tidy:
            for name in gone:
                for call_id in nodes[name]:
                    mirrored = self._seen.calls[call_id]
                    mirrored.lost = True
                    self.local.lose(call_id, name)
                    self._lost_calls += 1
                    tidy.pexpire(self.keys.call(call_id, mirrored.instance), self._linger_ms)
                    tidy.pexpire(self.keys.acks(call_id, mirrored.instance), self._linger_ms)
                tidy.srem(self.keys.nodes, name)
                log.warning(
                    "fleet: node %s stopped beating: its %d call(s) marked lost",
                    name,
                    len(nodes[name]),
                )
            await asyncio.wait_for(tidy.execute(), self.options.timeout)
