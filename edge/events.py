"""The typed events a call produces, and their JSON form.

Every event names its call, carries a per-call sequence number (``seq``,
1, 2, 3, … with no gaps), the channel it concerns (``role``; ``None`` for
call-level events), ``stream_time`` (seconds of call audio processed when the
event was made) and ``wall_time`` (Unix time when it was emitted).

Stages build events with the envelope fields left at their defaults; the call
stamps ``call_id``, ``seq`` and ``wall_time`` when it emits them
(:meth:`edge.pipeline.call.Sequencer.stamp`).

The JSON form is documented in ``docs/events.md``; ``SCHEMA_VERSION`` changes
whenever a field is renamed or removed (adding a field or an event type does
not change it).
"""

from __future__ import annotations

import dataclasses
import enum
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

from edge.errors import EdgeError
from edge.types import CallId, Role

SCHEMA_VERSION = 1
NO_CALL = CallId("")  # until the call stamps the event


@dataclass(frozen=True, kw_only=True)
class Event:
    """Fields every event carries."""

    type: ClassVar[str] = "event"

    stream_time: float
    role: Role | None = None
    call_id: CallId = NO_CALL
    seq: int = 0
    wall_time: float = 0.0


@dataclass(frozen=True, kw_only=True)
class CallStarted(Event):
    """Audio for a call began; ``channels`` lists the roles it carries."""

    type: ClassVar[str] = "call.started"

    channels: tuple[Role, ...]


@dataclass(frozen=True, kw_only=True)
class CallEnded(Event):
    """The call's audio ended and every channel has been flushed."""

    type: ClassVar[str] = "call.ended"

    duration: float


@dataclass(frozen=True, kw_only=True)
class SpeechStarted(Event):
    """Voice activity began on a channel (``start`` includes no padding)."""

    type: ClassVar[str] = "speech.started"

    utterance: int
    start: float


@dataclass(frozen=True, kw_only=True)
class SpeechEnded(Event):
    """Voice activity on a channel ended after a long enough pause."""

    type: ClassVar[str] = "speech.ended"

    utterance: int
    start: float
    end: float


@dataclass(frozen=True)
class Word:
    """One transcribed word with its place in the call and the model's confidence."""

    text: str
    start: float
    end: float
    confidence: float


@dataclass(frozen=True, kw_only=True)
class TranscriptPartial(Event):
    """Interim transcript of the utterance in progress.

    ``text`` always starts with ``stable``: the prefix that later partials of
    the same utterance keep unchanged. Only the rest may still change.
    """

    type: ClassVar[str] = "transcript.partial"

    utterance: int
    text: str
    stable: str
    start: float
    end: float


class FinalReason(str, enum.Enum):
    """Why an utterance was closed."""

    PAUSE = "pause"
    MAX_DURATION = "max_duration"
    END_OF_STREAM = "end_of_stream"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, kw_only=True)
class TranscriptFinal(Event):
    """The finished transcript of one utterance; it supersedes its partials."""

    type: ClassVar[str] = "transcript.final"

    utterance: int
    text: str
    start: float
    end: float
    confidence: float
    reason: FinalReason
    words: tuple[Word, ...] = field(default=())


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        CallStarted,
        CallEnded,
        SpeechStarted,
        SpeechEnded,
        TranscriptPartial,
        TranscriptFinal,
    )
}


class SchemaError(EdgeError):
    """A JSON event does not match the schema this version understands."""


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def to_dict(event: Event) -> dict[str, Any]:
    """The event as plain JSON-ready values, with ``v`` and ``type`` first."""
    body = {f.name: _plain(dataclasses.asdict(event)[f.name]) for f in dataclasses.fields(event)}
    return {"v": SCHEMA_VERSION, "type": event.type, **body}


def to_json(event: Event) -> str:
    return json.dumps(to_dict(event), ensure_ascii=False, separators=(",", ":"))


def from_dict(data: dict[str, Any]) -> Event:
    """Parse one event from its JSON object; raises :class:`SchemaError`."""
    if data.get("v") != SCHEMA_VERSION:
        raise SchemaError(
            f"event schema version {data.get('v')!r} is not supported "
            f"(this is version {SCHEMA_VERSION}); upgrade the reader"
        )
    cls = EVENT_TYPES.get(str(data.get("type")))
    if cls is None:
        raise SchemaError(f"unknown event type {data.get('type')!r}")
    values = {k: v for k, v in data.items() if k not in ("v", "type")}
    try:
        if values.get("role") is not None:
            values["role"] = Role(values["role"])
        if "channels" in values:
            values["channels"] = tuple(Role(r) for r in values["channels"])
        if "reason" in values:
            values["reason"] = FinalReason(values["reason"])
        if "words" in values:
            values["words"] = tuple(Word(**w) for w in values["words"])
        return cls(**values)
    except (TypeError, ValueError) as e:
        raise SchemaError(f"malformed {cls.type} event: {e}") from e


def from_json(line: str) -> Event:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as e:
        raise SchemaError(f"event is not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise SchemaError("event must be a JSON object")
    return from_dict(data)
