"""The publish protocol, sans I/O: a workstation's analysed events in, not its audio.

``edge run --publish`` analyses the call on the agent's workstation and sends
the resulting events (``docs/events.md``, one JSON text message each) to
``/publish``; the service hands them to the hub as if it had analysed the call
itself. No audio leaves the workstation, and with ``[privacy] share = "cues"``
no transcript either (issue 16, part 1). The protocol (``docs/server.md``)::

    workstation                                  service
    {"type": "publish", "call_id", ...}   ->
                                          <-     {"type": "publishing", "last_seq": N}
    event seq > N                         ->
    event ...                             ->
                                          <-     {"type": "ack", "seq": S}   (every ACK_EVERY)
    call.ended                            ->
                                          <-     {"type": "ack", "seq": S}   then close 1000

``last_seq`` is the highest seq the service holds for the call (0: none); a
workstation that reconnects resends what came after it, so nothing is lost or
twice. An ``ack`` lets it forget what the service has.

Two state machines, one per side:

* :class:`PublishSession` (the service): checks every message (JSON, schema,
  field types, call id, increasing seq, size, rate); anything wrong raises
  :class:`~edge.server.protocol.Refused` with the close code to answer with;
* :class:`Backlog` (the workstation): the events not yet acknowledged, bounded;
  when full, the oldest *readings* go first (partials, voice emotion,
  prosody: a later one of the same kind supersedes them), cues, finals and call
  events only when nothing else is left (counted as ``lost``).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import time
import typing
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from edge.events import (
    EVENT_TYPES,
    CallEnded,
    CallStarted,
    Event,
    SchemaError,
    from_dict,
    to_json,
)
from edge.server.hub import coalesce_key
from edge.server.ingest import call_id_field, optional_text_field, text_field
from edge.server.protocol import PROTOCOL, Close, Refused, parse_object, shown
from edge.types import CallId

MAX_EVENT_BYTES = 65_536  # a final with its words is a few KB; nothing real comes near
ACK_EVERY = 16  # events between acknowledgements (and one for call.ended)


def _bad(message: str) -> Refused:
    return Refused(Close.BAD_MESSAGE, message)


@dataclass(frozen=True)
class PublishInfo:
    """What a ``publish`` hello says about the call."""

    call_id: CallId
    agent_id: str
    team: str
    token: str | None


@dataclass(frozen=True)
class Accepted:
    """One event to publish; ``ack``: the message to send back after it, if any."""

    event: Event
    ack: str | None


class _State(enum.Enum):
    WAITING = "waiting"
    PUBLISHING = "publishing"
    ENDED = "ended"


class PublishSession:
    """One ``/publish`` connection's protocol state (the service's side).

    ``rate`` events per second may arrive on average, ``burst`` at once (a
    workstation's backlog after an outage); more is refused with 1013, and the
    workstation retries later from where the service stands.
    """

    def __init__(
        self,
        *,
        rate: float,
        burst: int,
        max_event_bytes: int = MAX_EVENT_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.state = _State.WAITING
        self.info: PublishInfo | None = None
        self.last_seq = 0
        self._rate = rate
        self._burst = float(burst)
        self._credit = float(burst)
        self._max_bytes = max_event_bytes
        self._clock = clock
        self._at = clock()
        self._unacked = 0

    def hello(self, message: str | bytes) -> PublishInfo:
        """The first message: who publishes which call."""
        data = parse_object(message)
        kind = data.get("type")
        if kind != "publish":
            raise _bad(f"expected a publish message first, not {shown(kind)}: see docs/server.md")
        protocol = data.get("protocol", PROTOCOL)
        if protocol != PROTOCOL:
            raise Refused(
                Close.UNSUPPORTED,
                f"protocol {shown(protocol)} is not supported: this server speaks 1",
            )
        self.info = PublishInfo(
            call_id=call_id_field(data.get("call_id")),
            agent_id=text_field(data, "agent_id"),
            team=text_field(data, "team"),
            token=optional_text_field(data, "token"),
        )
        return self.info

    def publishing(self, last_seq: int) -> str:
        """Accept the call; the reply says the last seq the service holds for it."""
        assert self.info is not None
        if self.state is _State.WAITING:
            self.state = _State.PUBLISHING
        self.last_seq = last_seq
        reply = {"type": "publishing", "protocol": PROTOCOL, "call_id": self.info.call_id}
        return json.dumps({**reply, "last_seq": last_seq})

    def mark_ended(self) -> None:
        """The call has ended already (a publisher back after its last ack was lost)."""
        self.state = _State.ENDED

    def event(self, message: str | bytes) -> Accepted:
        """One event message, checked; raises :class:`Refused`."""
        assert self.info is not None
        if isinstance(message, bytes):
            raise _bad("binary message: /publish takes JSON events only, never audio")
        if self.state is _State.ENDED:
            raise _bad("event after call.ended: a new call needs a new call id")
        if len(message) > self._max_bytes:
            raise Refused(
                Close.TOO_BIG,
                f"event of {len(message)} characters is over the {self._max_bytes} allowed",
            )
        self._spend()
        event = parse_event(parse_object(message))
        if event.call_id != self.info.call_id:
            raise _bad(
                f"event of call {shown(event.call_id)} on the connection of call "
                f"{self.info.call_id!r}: one call per connection"
            )
        if event.seq <= self.last_seq:
            raise _bad(
                f"event seq {event.seq} is not after {self.last_seq}: "
                "send each event once, in order, from the publishing reply's last_seq"
            )
        self.last_seq = event.seq
        self._unacked += 1
        ended = isinstance(event, CallEnded)
        if ended:
            self.state = _State.ENDED
        return Accepted(event, self.ack() if ended or self._unacked >= ACK_EVERY else None)

    def ack(self) -> str:
        """The acknowledgement of everything received so far."""
        self._unacked = 0
        return json.dumps({"type": "ack", "seq": self.last_seq})

    @property
    def ended(self) -> bool:
        return self.state is _State.ENDED

    def timed_out(self, seconds: float) -> Refused:
        return _bad(
            f"no publish message within {seconds:g} s: send it as soon as the connection opens"
        )

    def _spend(self) -> None:
        now = self._clock()
        self._credit = min(self._burst, self._credit + (now - self._at) * self._rate)
        self._at = now
        if self._credit < 1:
            raise Refused(
                Close.TRY_LATER,
                f"publishing over {self._rate:g} events/s (server.publish_rate): "
                "retry in a few seconds",
            )
        self._credit -= 1


def ended_event(call_id: CallId, last_seq: int, duration: float) -> CallEnded:
    """The ``call.ended`` the service makes for a call whose publisher never came back."""
    return CallEnded(
        stream_time=duration,
        duration=duration,
        call_id=call_id,
        seq=last_seq + 1,
        wall_time=time.time(),
    )


# -- events, checked field by field --------------------------------------------


def parse_event(data: dict[str, Any]) -> Event:
    """An event from its JSON object, every field of the right type; raises :class:`Refused`.

    :func:`edge.events.from_dict` converts enums and nested values but trusts
    the rest; an event from the network must not carry a string where the hub
    adds numbers.
    """
    kind = data.get("type")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is not None:
        known = _KNOWN.get(cls)
        if known is None:
            known = _KNOWN[cls] = frozenset(f.name for f in dataclasses.fields(cls)) | {"v", "type"}
        for name in data:
            if name not in known:
                raise _bad(f"{cls.type} has no field {shown(name)}: see docs/events.md")
    try:
        event = from_dict(data)
    except (SchemaError, ArithmeticError) as e:  # float() of a 400-digit integer overflows
        raise _bad(f"{_one_line(str(e))}: send events as docs/events.md writes them") from None
    _checker(type(event))("", event)
    if event.seq < 1:
        raise _bad(f"event seq {event.seq} is not a positive integer")
    return event


_KNOWN: dict[type[Event], frozenset[str]] = {}  # each event type's fields, with v and type


def _one_line(text: str, limit: int = 160) -> str:
    """A parser's message fit for a refusal: one line, encodable, short."""
    text = " ".join(text.encode("utf-8", "backslashreplace").decode("utf-8").split())
    return text if len(text) <= limit else f"{text[:limit]}…"


# Each type hint's check is made once, from the hint, and kept: reading the
# hints (typing.get_origin and the like) on every event was most of the cost
# of a published event (issue 16's fan-out benchmark).

_Check = Callable[[str, object], None]  # (field name, value): raises Refused
_Fits = Callable[[object], bool]
_CHECKS: dict[Any, _Check] = {}
_UnionType = type(int | None)
_NAMES = {float: "a finite number", int: "an integer", str: "a string", bool: "true or false"}


def _checker(hint: Any) -> _Check:
    """The check of values of type ``hint`` (the types events use); an event class: every field."""
    check = _CHECKS.get(hint)
    if check is None:
        check = _CHECKS[hint] = _make_check(hint)
    return check


def _make_check(hint: Any) -> _Check:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    supertype = getattr(hint, "__supertype__", None)  # a NewType such as CallId
    if supertype is not None:
        return _checker(supertype)
    if origin in (typing.Union, _UnionType):
        alternatives = [_fits(arg) for arg in args]

        def check_union(name: str, value: object) -> None:
            if not any(fits(value) for fits in alternatives):
                raise _bad(f"event field {name} has the wrong type: {shown(value)}")

        return check_union
    if origin is tuple:
        items = args[:1] if len(args) == 2 and args[1] is Ellipsis else args
        checks = [_checker(item) for item in items]

        def check_tuple(name: str, value: object) -> None:
            if not isinstance(value, tuple):
                raise _bad(f"event field {name} must be a list")
            if len(checks) != 1 and len(checks) != len(value):
                raise _bad(f"event field {name} must hold {len(checks)} items")
            for i, item in enumerate(value):
                checks[0 if len(checks) == 1 else i](f"{name}[{i}]", item)

        return check_tuple
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        hints = typing.get_type_hints(hint)
        fields = [(f.name, _checker(hints[f.name])) for f in dataclasses.fields(hint)]
        nested = not issubclass(hint, Event)

        def check_object(name: str, value: object) -> None:
            if not isinstance(value, hint):
                raise _bad(f"event field {name} must be an object")
            for field_name, check in fields:
                check(f"{name}.{field_name}" if nested else field_name, getattr(value, field_name))

        return check_object
    fits = _fits(hint)
    kind = _NAMES.get(hint, "valid")

    def check_plain(name: str, value: object) -> None:
        if not fits(value):
            raise _bad(f"event field {name} must be {kind}, not {shown(value)}")

    return check_plain


def _fits(hint: Any) -> _Fits:
    """Whether a value has type ``hint``, as a predicate made once."""
    if hint is type(None):
        return lambda value: value is None
    if hint is float:
        return lambda value: (
            -1e12 < value < 1e12  # the common case, a float: NaN and infinities fail
            if type(value) is float
            else isinstance(value, int | float)
            and not isinstance(value, bool)
            and abs(value) < 1e12  # first: a 400-digit integer has no float
            and math.isfinite(value)
        )
    if hint is int:
        return lambda value: isinstance(value, int) and not isinstance(value, bool)
    if isinstance(hint, type) and typing.get_origin(hint) is None:
        return lambda value: isinstance(value, hint)

    def fits(value: object) -> bool:
        try:
            _checker(hint)("", value)
        except Refused:
            return False
        return True

    return fits


# -- the workstation's side ---------------------------------------------------


def hello_message(info: PublishInfo) -> str:
    """The first message a publisher sends."""
    hello: dict[str, Any] = {
        "type": "publish",
        "protocol": PROTOCOL,
        "call_id": info.call_id,
        "agent_id": info.agent_id,
        "team": info.team,
    }
    if info.token:
        hello["token"] = info.token
    return json.dumps(hello)


@dataclass
class _Entry:
    seq: int
    message: str
    reading: bool  # droppable when the backlog is full


class Backlog:
    """The events a publisher has not had acknowledged, in seq order, at most ``limit``.

    :meth:`add` queues an event; :meth:`next` gives the next one to send;
    :meth:`acked` forgets what the service has; :meth:`resume` (after a
    reconnection) rewinds to what comes after the service's ``last_seq``.
    When full, the oldest reading (see :func:`edge.server.hub.coalesce_key`)
    is dropped (``dropped``); with no reading left, the oldest event of any
    kind (``lost``). The ``call.started`` event is kept apart, so a service
    that starts afresh (``last_seq`` 0) still learns the call's channels.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.dropped = 0  # readings dropped while full
        self.lost = 0  # cues, finals or call events dropped: nothing else was left
        self._entries: deque[_Entry] = deque()
        self._sent = 0  # entries at the front already sent on this connection
        self._started: _Entry | None = None
        self._resend_started = False
        self.last_seq = 0  # highest seq added

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, event: Event) -> None:
        entry = _Entry(event.seq, to_json(event), coalesce_key(event) is not None)
        self.last_seq = max(self.last_seq, event.seq)
        if isinstance(event, CallStarted):
            self._started = entry
        if len(self._entries) >= self.limit:
            self._drop()
        self._entries.append(entry)

    def next(self) -> str | None:
        """The next message to send on this connection, or None when all are sent."""
        if self._resend_started and self._started is not None:
            self._resend_started = False
            return self._started.message
        if self._sent >= len(self._entries):
            return None
        message = self._entries[self._sent].message
        self._sent += 1
        return message

    def acked(self, seq: int) -> None:
        """The service holds everything up to ``seq``: forget it."""
        while self._entries and self._entries[0].seq <= seq:
            self._entries.popleft()
            self._sent = max(0, self._sent - 1)

    def resume(self, last_seq: int) -> None:
        """A new connection: the service holds up to ``last_seq``; send the rest again."""
        self.acked(last_seq)
        self._sent = 0
        first = self._entries[0].seq if self._entries else self.last_seq + 1
        started = self._started
        self._resend_started = (
            started is not None and last_seq < started.seq < first  # already acked, not held
        )

    @property
    def done(self) -> bool:
        """Everything added has been acknowledged."""
        return not self._entries

    def _drop(self) -> None:
        """Make room for one: the oldest reading, else the oldest event of any kind."""
        at = next((i for i, e in enumerate(self._entries) if e.reading), None)
        if at is None:
            at = 0
            self.lost += 1
        else:
            self.dropped += 1
        del self._entries[at]
        if at < self._sent:
            self._sent -= 1
