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

import orjson

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
    # Marked at ingest (native ``automated``, a Twilio <Parameter name="automated">): an
    # IVR or voice assistant serves the caller; hand-offs are recommended (issue 17).
    automated: bool = False


@dataclass(frozen=True, kw_only=True)
class CallEnded(Event):
    """The call's audio ended and every channel has been flushed."""

    type: ClassVar[str] = "call.ended"

    duration: float


@dataclass(frozen=True, kw_only=True)
class CallLanguage(Event):
    """The language a channel is transcribed in, once known (``[pipeline] language``).

    Configured: sent with the channel's first audio. ``auto``: sent when it is
    detected from the channel's first seconds of speech; it then stays fixed
    for the call. ``text_cues`` says whether the text model reads that language
    (English only): when false, no text readings are made for the channel.
    """

    type: ClassVar[str] = "call.language"

    language: str  # Whisper's code: "en", "es", "ja", ...
    detected: bool  # True: detected from speech; False: configured
    probability: float | None = None  # Whisper's probability of it, when detected
    text_cues: bool


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


# A field of (key, value) pairs whose JSON form is an object {key: value}: a
# mapping in JSON, yet the event stays frozen and hashable in Python.
_PAIRS_AS_OBJECT = {"json": "object"}


@dataclass(frozen=True, kw_only=True)
class VoiceEmotion(Event):
    """The acoustic emotion model's reading of one window of a channel's speech.

    ``probs`` holds ``(label, probability)`` pairs over the model's own labels, in
    its order (the model file names them; the shipped model has seven: neutral,
    happy, sad, angry, fearful, disgust, surprised); in JSON it is an object
    ``{"neutral": p, "happy": p, ...}``.
    """

    type: ClassVar[str] = "emotion.voice"

    start: float
    end: float
    probs: tuple[tuple[str, float], ...] = field(metadata=_PAIRS_AS_OBJECT)
    distress: float  # 0..1
    arousal: float  # 0..1
    # Distress of the caller's current utterance alone (None when it is the same
    # audio as the window): reacts faster at an onset than the window's reading.
    onset_distress: float | None = None
    # Arousal of the caller's current utterance alone (None as for onset_distress).
    onset_arousal: float | None = None
    # Stream time the caller's current utterance began (None: utterances not tracked).
    utterance_start: float | None = None
    # True when this event is for a new utterance reading only: the window fields
    # repeat the last window reading (between window readings, every `hop`).
    window_repeated: bool = False

    @property
    def peak(self) -> float:
        """The higher of the window's and the current utterance's distress."""
        return max(self.distress, self.onset_distress or 0.0)

    @property
    def utterance_distress(self) -> float | None:
        """Distress of the current utterance alone: its own reading, or the window's once
        the utterance fills the window; None while it is too short to read."""
        if self.onset_distress is not None:
            return self.onset_distress
        if self.utterance_start is not None and self.utterance_start <= self.start + 1e-6:
            return self.distress
        return None

    @property
    def utterance_arousal(self) -> float | None:
        """Arousal of the current utterance alone, as ``utterance_distress``."""
        if self.onset_arousal is not None:
            return self.onset_arousal
        if self.utterance_start is not None and self.utterance_start <= self.start + 1e-6:
            return self.arousal
        return None

    def prob(self, label: str) -> float:
        """The probability of ``label`` (0 if the model does not give it)."""
        return dict(self.probs).get(label, 0.0)


@dataclass(frozen=True, kw_only=True)
class TextEmotion(Event):
    """The text model's reading of one final transcript."""

    type: ClassVar[str] = "emotion.text"

    utterance: int
    distress: float  # 0..1
    sentiment: float  # -1 (negative) .. 1 (positive)
    evidence: tuple[str, ...] = ()  # human words, e.g. "pain words"
    # The caption words behind the evidence, verbatim (transcript text: the hub drops
    # them with share = "cues" and redacts them with redact, as it does a final's text).
    quote: tuple[str, ...] = ()
    # The emergency head's most likely category ("" when none was read) and its
    # probability: a second path to the possible_emergency cue (edge.stages.emergency).
    emergency: str = ""
    emergency_p: float = 0.0
    # The triage head's reading (edge.stages.triage; "" when none was read): the
    # probability that the words are a sensitive call's, and the most likely topic of
    # each label.
    sensitive_p: float = 0.0
    other_p: float = 0.0  # call-handling talk with no topic (greetings, names, thanks)
    routine_topic: str = ""
    sensitive_topic: str = ""


@dataclass(frozen=True, kw_only=True)
class ProsodyUpdate(Event):
    """Pitch, loudness and pace of a channel's recent speech, and how they compare
    with the same speaker earlier in the call.

    The ``*_z`` fields are z-scores against this speaker's baseline (0 = as
    usual for them). They are ``None`` where the feature is unknown in this
    window, and only meaningful once ``baseline_ready``.
    """

    type: ClassVar[str] = "prosody"

    start: float
    end: float
    pitch_hz: float | None  # median of voiced frames; None when too little was voiced
    pitch_spread: float | None  # standard deviation of pitch, semitones
    loudness_db: float  # RMS of speech frames, dBFS
    rate_wps: float | None  # words per second of recent finals; None until known
    pause_ratio: float  # share of the window, from its first speech, that was not speech
    pitch_z: float | None
    spread_z: float | None
    loudness_z: float
    rate_z: float | None
    pause_z: float
    baseline_ready: bool


class CueKind(str, enum.Enum):
    """What a cue tells the agent."""

    CALLER_DISTRESSED = "caller_distressed"
    ESCALATING = "escalating"
    LONG_SILENCE = "long_silence"
    OVERTALK = "overtalk"
    AGENT_SPEAKING_FAST = "agent_speaking_fast"
    POSSIBLE_EMERGENCY = "possible_emergency"
    CALLER_CONFUSED = "caller_confused"
    AGENT_JARGON = "agent_jargon"

    def __str__(self) -> str:
        return self.value


class CueLevel(str, enum.Enum):
    """How urgent a cue is: ``notice`` for conversation habits, the others for distress."""

    NOTICE = "notice"
    ELEVATED = "elevated"
    HIGH = "high"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, kw_only=True)
class CueRaised(Event):
    """A cue for the agent became active, or an active one changed.

    A second ``cue.raised`` with the same ``cue_id`` replaces the first (its
    level only goes up; its evidence, quotes and suggestion follow the caller);
    ``cue.cleared`` with that id ends it.

    ``quote`` holds the caption words the cue rests on, verbatim: they are
    transcript text, so they leave the process only as transcripts do
    (dropped with ``share = "cues"``, redacted with ``redact``).
    """

    type: ClassVar[str] = "cue.raised"

    cue: CueKind
    cue_id: int
    level: CueLevel
    score: float
    evidence: tuple[str, ...] = ()
    message: str
    quote: tuple[str, ...] = ()  # the triggering spans of the caption, verbatim
    suggestion: str = ""  # what the agent could do or say, in plain words


@dataclass(frozen=True, kw_only=True)
class CueCleared(Event):
    """The cue ``cue_id`` is no longer active; ``duration`` is seconds since it was raised."""

    type: ClassVar[str] = "cue.cleared"

    cue: CueKind
    cue_id: int
    duration: float


class TriageLabel(str, enum.Enum):
    """Who a call belongs to: automation (``routine``) or a person (``sensitive``)."""

    ROUTINE = "routine"
    SENSITIVE = "sensitive"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, kw_only=True)
class CallTriage(Event):
    """What kind of call this is, from the caller's first words, and what it is about.

    Sent once the caller's opening has been read, and again when the label
    changes: a routine call can become sensitive, a sensitive one stays so
    (``edge.stages.triage``). ``topic`` is one of the triage head's topics of that
    label (``edge.stages.triage.TOPICS``), or ``distress`` / ``emergency`` when a
    ``caller_distressed`` / ``possible_emergency`` cue made the call sensitive.
    ``score`` is the text model's probability that the words it rests on are
    sensitive (1 for a cue). ``quote`` holds those words, verbatim: transcript
    text, so it leaves the process only as transcripts do (dropped with
    ``share = "cues"``, redacted with ``redact``).
    """

    type: ClassVar[str] = "call.triage"

    label: TriageLabel
    topic: str
    score: float  # 0..1: how sensitive the words read
    quote: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class CallSummaryFinal(Event):
    """What the call was, once it is over: sent just before ``call.ended`` (issue 17).

    ``None`` where the call gave nothing to measure (no caller voice readings, no
    agent channel, too little agent speech).
    """

    type: ClassVar[str] = "call.summary.final"

    duration: float
    triage: str = ""  # the last call.triage's label: "routine", "sensitive", "" for none
    topic: str = ""
    distressed_s: float = 0.0  # seconds a caller_distressed cue was active
    peak_distress: float | None = None  # the caller's highest voice distress, 0..1
    peak_at: float | None = None  # stream time of that reading
    end_distress: float | None = None  # the caller's mean voice distress at the end
    calmer_at_end: bool | None = None  # ended clearly below their peak
    cues: tuple[str, ...] = ()  # the kind of each cue raised, in order, once per cue_id
    high_cues: int = 0  # of those, how many reached level high
    agent_talk_share: float | None = None  # the agent's share of the speech, 0..1
    agent_wpm: float | None = None  # the agent's words a minute while speaking


class HandoffReason(str, enum.Enum):
    """Why an automated call should go to a person."""

    DISTRESSED = "distressed"  # a caller_distressed cue (elevated or high) or possible_emergency
    SENSITIVE = "sensitive"  # call.triage says sensitive
    ASKED = "asked_for_person"  # the caller asked for a person, or pressed 0
    BOT_FAILING = "bot_failing"  # the automated side said it did not understand, again

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, kw_only=True)
class HandoffRecommended(Event):
    """An automated call should go to a person (``edge.stages.handoff``; issue 17).

    Sent once per ``reason`` per call, only on calls marked automated. ``summary``
    is for the person who takes the call, in plain words, and never holds
    transcript words (topic, durations and counts only), whatever ``[privacy]
    share`` says; the service also POSTs it to ``[handoff] url``.
    """

    type: ClassVar[str] = "handoff.recommended"

    reason: HandoffReason
    summary: str  # "Calling about a refill; distressed for 40 s; asked for a person twice"
    triage: str = ""  # the latest call.triage label, "" for none yet
    topic: str = ""
    distressed_s: float = 0.0  # seconds a caller_distressed cue has been active
    asks: int = 0  # times the caller asked for a person (words or the 0 key)
    bot_failures: int = 0  # times the automated side said it did not understand


@dataclass(frozen=True, kw_only=True)
class ModelFailed(Event):
    """A model job failed or passed its deadline; the call goes on without its result.

    Sent once per channel and ``stage`` per call (later failures are counted in
    the service's metrics and not repeated), so a reader knows why a channel's
    transcripts or readings are missing.
    """

    type: ClassVar[str] = "model.failed"

    stage: str  # "vad", "asr_partial", "asr_final", "emotion" or "text"
    message: str


@dataclass(frozen=True, kw_only=True)
class EngineDegraded(Event):
    """The service fell behind its lag budget and gave up something to catch up.

    Sent to every live call (and to a call that starts while the service is
    degraded) so its panels can say so; ``step`` grows one at a time
    (:class:`edge.pipeline.load.LoadStep`; docs/server.md, "Under overload").
    """

    type: ClassVar[str] = "engine.degraded"

    step: int  # 1 fewer_partials .. 4 at_capacity
    name: str  # the step's name: "fewer_partials", "greedy_finals", ...
    lag: float  # seconds: the worst lag of the live calls when the step was taken
    message: str  # what it means, in plain words: "Service busy: fewer live captions"


@dataclass(frozen=True, kw_only=True)
class EngineRecovered(Event):
    """The lag came back under the recovery line: one step less given up (0: all back)."""

    type: ClassVar[str] = "engine.recovered"

    step: int  # the step now: 0 normal .. 3
    name: str
    lag: float
    message: str


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        CallStarted,
        CallEnded,
        CallLanguage,
        SpeechStarted,
        SpeechEnded,
        TranscriptPartial,
        TranscriptFinal,
        VoiceEmotion,
        TextEmotion,
        ProsodyUpdate,
        CueRaised,
        CueCleared,
        CallTriage,
        CallSummaryFinal,
        HandoffRecommended,
        ModelFailed,
        EngineDegraded,
        EngineRecovered,
    )
}


class SchemaError(EdgeError):
    """A JSON event does not match the schema this version understands."""


def _plain(value: Any) -> Any:
    # Exact types first: the service converts every event of every call (issue 16), and
    # an enum (a CueKind is a str too) is not exactly a str.
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        return round(value, 3)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, str | int):
        return value
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):  # a Word
        return {name: _plain(getattr(value, name)) for name in _names(type(value))}
    return value


def _names(cls: type) -> tuple[str, ...]:
    """A dataclass's field names, once per class."""
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


_NAMES: dict[type, tuple[str, ...]] = {}


def to_dict(event: Event) -> dict[str, Any]:
    """The event as plain JSON-ready values, with ``v`` and ``type`` first.

    Field by field, not through ``dataclasses.asdict``: it deep-copies the
    event, and the service converts every event of every call (issue 16's
    fan-out benchmark found it the largest cost of a published event).
    """
    body: dict[str, Any] = {"v": SCHEMA_VERSION, "type": event.type}
    for name, pairs in _fields(type(event)):
        value = _plain(getattr(event, name))
        body[name] = dict(value) if pairs else value
    return body


def _fields(cls: type[Event]) -> tuple[tuple[str, bool], ...]:
    """Each field's name and whether it is pairs written as an object, once per class."""
    found = _FIELDS.get(cls)
    if found is None:
        fields = dataclasses.fields(cls)
        found = _FIELDS[cls] = tuple((f.name, f.metadata == _PAIRS_AS_OBJECT) for f in fields)
    return found


_FIELDS: dict[type[Event], tuple[tuple[str, bool], ...]] = {}


def to_json(event: Event) -> str:
    return compact_json(to_dict(event))


def compact_json(body: dict[str, Any]) -> str:
    """Compact JSON, UTF-8 as is: an event as it is printed, published and fanned out.

    orjson: the same text as ``json.dumps(body, ensure_ascii=False,
    separators=(",", ":"))`` for a tenth of the CPU; the service writes every
    event of every call for its subscribers, a workstation every event it
    publishes (issue 16's fan-out benchmark).
    """
    try:
        return orjson.dumps(body).decode()
    except TypeError:  # an integer past 64 bits (a publisher's seq may be one)
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


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
            reasons = HandoffReason if cls is HandoffRecommended else FinalReason
            values["reason"] = reasons(values["reason"])
        if "words" in values:
            values["words"] = tuple(Word(**w) for w in values["words"])
        for name, as_object in _fields(cls):
            if as_object and name in values:
                pairs = values[name]
                if not isinstance(pairs, dict):
                    raise TypeError(f"{name} must be an object, not {pairs!r}")
                values[name] = tuple((str(k), float(v)) for k, v in pairs.items())
        for name in ("evidence", "quote", "cues"):
            if name in values:
                values[name] = tuple(str(e) for e in values[name])
        if "cue" in values:
            values["cue"] = CueKind(values["cue"])
        if "level" in values:
            values["level"] = CueLevel(values["level"])
        if "label" in values:
            values["label"] = TriageLabel(values["label"])
        return cls(**values)
    except (TypeError, ValueError) as e:
        raise SchemaError(f"malformed {cls.type} event: {e}") from e


def loads(text: str) -> Any:
    """``json.loads``, by orjson where it can (a hub parses every event it takes).

    What orjson refuses (an integer past 64 bits, a lone surrogate, NaN) goes to
    the standard parser, which decides as before: the same values and errors.
    """
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def from_json(line: str) -> Event:
    try:
        data = loads(line)
    except json.JSONDecodeError as e:
        raise SchemaError(f"event is not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise SchemaError("event must be a JSON object")
    return from_dict(data)
