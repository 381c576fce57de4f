"""The ingest protocols, sans I/O: messages in, call metadata and frames out.

Two dialects arrive on the same websocket path; the first message decides:

* **native** (``docs/server.md``, protocol 1): a JSON ``start`` message, binary
  messages of interleaved audio, a JSON ``stop`` message;
* **Twilio Media Streams**: JSON ``connected``, ``start``, ``media`` (base64
  8 kHz mu-law per track), ``mark`` (ignored), ``dtmf`` and ``stop``. The
  ``inbound`` track is the caller, ``outbound`` the agent. A ``dtmf`` message
  (a key the caller pressed) comes out as :class:`Pressed`.

:class:`IngestSession` is a state machine: :meth:`~IngestSession.text` and
:meth:`~IngestSession.binary` take one websocket message each and return what
it means; anything wrong raises :class:`~edge.server.protocol.Refused`, whose
``code`` is the websocket close code to answer with and whose message says what
to do.

A live call may not run ahead of the wall clock: the session knows the stream
time of what it has received, the clock says how long ago the call started,
and audio more than ``max_ahead_seconds`` ahead is refused (issue 12: one
source sending unpaced, or Twilio timestamps that jump by minutes, starved the
other calls). An upload (``live: false``) is exempt: the server reads it only
as fast as the pipeline goes. A source that reconnects for a fresh allowance
each time meets :class:`SourcePace`: the allowance is the source's, shared by
its calls.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge.audio.frames import Splitter
from edge.audio.sources import Encoding, decode_raw
from edge.contracts import Frame
from edge.server.protocol import PROTOCOL, Close, Refused, checked, optional, parse_object, shown
from edge.types import CallId, Role

RATES = (8000, 16000, 22050, 24000, 32000, 44100, 48000)
_CALL_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")
MAX_TIMESTAMP_MS = 86_400_000  # a Twilio media.timestamp beyond a day is no call's


class Dialect(str, enum.Enum):
    NATIVE = "native"
    TWILIO = "twilio"
    AUDIOHOOK = "audiohook"  # edge.server.audiohook, on its own path


@dataclass(frozen=True)
class CallInfo:
    """What a start message says about the call."""

    call_id: CallId
    agent_id: str
    team: str
    roles: tuple[Role, ...]
    dialect: Dialect
    token: str | None  # from the message (native ``token``, Twilio customParameters)
    # False: a recording uploaded for analysis; nothing is dropped, the upload
    # waits for the pipeline (back-pressure through the socket).
    live: bool = True
    # An IVR or voice assistant serves the caller (native ``automated``, a Twilio
    # <Parameter name="automated" value="true">): hand-offs are recommended.
    automated: bool = False


@dataclass(frozen=True)
class Started:
    info: CallInfo


@dataclass(frozen=True)
class Audio:
    frames: list[Frame]


@dataclass(frozen=True)
class Stopped:
    frames: list[Frame]  # the last partial frames, padded


@dataclass(frozen=True)
class Pressed:
    """The caller pressed a key (Twilio ``dtmf``): ``0``-``9``, ``*`` or ``#``."""

    digit: str


@dataclass(frozen=True)
class Ignored:
    pass


Result = Started | Audio | Stopped | Pressed | Ignored
DIGITS = frozenset("0123456789*#")
_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no", "")


class _State(enum.Enum):
    WAITING = "waiting"  # nothing yet, or Twilio's ``connected``
    STREAMING = "streaming"
    STOPPED = "stopped"


def _bad(message: str) -> Refused:
    return Refused(Close.BAD_MESSAGE, message)


class IngestSession:
    """One ingest connection's protocol state.

    ``max_ahead_seconds`` bounds how far a live call's audio may run ahead of
    ``clock`` (seconds, monotonic) since its start; ``None``: no bound.
    """

    def __init__(
        self,
        *,
        max_seconds_per_message: float = 10.0,
        max_ahead_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.state = _State.WAITING
        self.dialect: Dialect | None = None
        self.info: CallInfo | None = None
        self._max_seconds = max_seconds_per_message
        self._max_ahead = max_ahead_seconds
        self._clock = clock
        self._began = 0.0  # clock() at the start message
        self._received = 0.0  # native: seconds of audio received
        self._splitter: Splitter | None = None
        self._encoding = Encoding.PCM16
        self._rate = 16000
        self._channels = 1
        self._tracks: dict[str, _Track] = {}

    # -- messages -----------------------------------------------------------

    def text(self, message: str) -> Result:
        data = parse_object(message)
        if self.dialect is None:
            self.dialect = Dialect.TWILIO if "event" in data else Dialect.NATIVE
        if self.dialect is Dialect.TWILIO:
            return self._twilio(data)
        return self._native(data)

    def binary(self, message: bytes) -> Result:
        if self.dialect is Dialect.TWILIO:
            raise _bad("Twilio media streams send JSON 'media' messages, not binary ones")
        if self.state is _State.WAITING:
            raise _bad("audio before start: send the JSON start message first")
        if self.state is _State.STOPPED:
            raise _bad("audio after stop: open a new connection for a new call")
        assert self._splitter is not None
        width = self._encoding.width * self._channels
        if len(message) % width:
            raise _bad(
                f"audio message of {len(message)} bytes is not a whole number of "
                f"{width}-byte sample frames ({self._encoding.value}, {self._channels} channel(s))"
            )
        if len(message) / width / self._rate > self._max_seconds:
            raise Refused(
                Close.TOO_BIG,
                f"audio message holds over {self._max_seconds:g} s of audio: "
                "send 20-200 ms per message",
            )
        seconds = len(message) / width / self._rate
        self._keep_pace(self._received + seconds, "sending faster than real time: the audio")
        self._received += seconds
        samples = decode_raw(message, self._encoding).reshape(-1, self._channels)
        return Audio(self._splitter.feed(samples))

    def timed_out(self, seconds: float) -> Refused:
        """The refusal for a connection that sent nothing for ``seconds``.

        Before the start: it held a connection slot without saying who it is.
        After: a live call sends audio all the time (silence too), so the
        source is gone or stuck; the call ends with what was heard.
        """
        if self.state is _State.WAITING:
            return _bad(
                f"no start message within {seconds:g} s: send start "
                "(Twilio: connected and start) as soon as the connection opens"
            )
        return _bad(
            f"no message for {seconds:g} s: a call sends audio continuously, silence "
            "included; the call has ended"
        )

    @property
    def position(self) -> float:
        """Seconds of stream time received so far (Twilio: the furthest track)."""
        if self._tracks:
            return max(t.end_after(0, None) for t in self._tracks.values()) / 8000
        return self._received

    def _keep_pace(self, position: float, what: str) -> None:
        """Refuse a live call whose audio would reach ``position`` s too far ahead of the clock."""
        if self._max_ahead is None or self.info is None or not self.info.live:
            return
        ahead = position - (self._clock() - self._began)
        if ahead > self._max_ahead:
            raise _bad(
                f"{what} is {ahead:.1f} s ahead of real time, over the "
                f"{self._max_ahead:g} s allowed (server.max_ahead_seconds): "
                "send a live call at real-time pace, upload a recording with live: false"
            )

    def _started(self, info: CallInfo) -> Started:
        self.info = info
        self.state = _State.STREAMING
        self._began = self._clock()
        return Started(info)

    # -- native -------------------------------------------------------------

    def _native(self, data: dict[str, Any]) -> Result:
        kind = data.get("type")
        if kind == "start":
            if self.state is not _State.WAITING:
                raise _bad("a second start message: one call per connection")
            return self._native_start(data)
        if kind == "stop":
            if self.state is not _State.STREAMING:
                raise _bad("stop before start: send the start message first")
            return self._stop()
        if kind is None:
            raise _bad("message has no 'type': expected start, stop or binary audio")
        raise _bad(f"unknown message type {shown(kind)}: expected start, stop or binary audio")

    def _native_start(self, data: dict[str, Any]) -> Result:
        protocol = data.get("protocol", PROTOCOL)
        if protocol != PROTOCOL:
            raise Refused(
                Close.UNSUPPORTED,
                f"protocol {shown(protocol)} is not supported: this server speaks 1",
            )
        call_id = call_id_field(data.get("call_id"))
        rate = data.get("sample_rate", 16000)
        if not isinstance(rate, int) or isinstance(rate, bool) or rate not in RATES:
            allowed = ", ".join(map(str, RATES))
            raise Refused(
                Close.UNSUPPORTED,
                f"sample_rate {shown(rate)} is not supported: use one of {allowed}",
            )
        asked = data.get("encoding", "pcm16")
        try:
            encoding = Encoding.parse(asked if isinstance(asked, str) else "?")
        except Exception:
            raise Refused(
                Close.UNSUPPORTED,
                f"encoding {shown(asked)} is not supported: use pcm16, mulaw or alaw",
            ) from None
        if encoding is Encoding.F32:
            raise Refused(
                Close.UNSUPPORTED, "encoding 'f32' is not supported: use pcm16, mulaw or alaw"
            )
        channels = data.get("channels", ["caller"])
        if not isinstance(channels, list) or not 1 <= len(channels) <= 2:
            raise _bad('channels must be a list of one or two roles, e.g. ["caller", "agent"]')
        roles: list[Role | None] = []
        for name in channels:
            if name is None or name == "-":
                roles.append(None)
                continue
            try:
                roles.append(Role(name))
            except ValueError:
                raise _bad(
                    f"channel role {shown(name)} is not known: use caller, agent or null (skip)"
                ) from None
        named = [r for r in roles if r is not None]
        if not named or len(set(named)) != len(named):
            raise _bad("channels must name caller and/or agent, each at most once")
        live = data.get("live", True)
        if not isinstance(live, bool):
            raise _bad("live must be true (a call in progress) or false (a recording)")
        automated = data.get("automated", False)
        if not isinstance(automated, bool):
            raise _bad(
                "automated must be true (an IVR or voice assistant serves the caller) or false"
            )
        self._encoding, self._rate, self._channels = encoding, rate, len(roles)
        self._splitter = Splitter(rate, len(roles), roles)
        return self._started(
            CallInfo(
                call_id=call_id,
                agent_id=text_field(data, "agent_id"),
                team=text_field(data, "team"),
                roles=self._splitter.roles,
                dialect=Dialect.NATIVE,
                token=optional_text_field(data, "token"),
                live=live,
                automated=automated,
            )
        )

    # -- Twilio -------------------------------------------------------------

    def _twilio(self, data: dict[str, Any]) -> Result:
        event = data.get("event")
        if event == "connected":
            if self.state is not _State.WAITING:
                raise _bad("Twilio 'connected' after start")
            return Ignored()
        if event == "start":
            if self.state is not _State.WAITING:
                raise _bad("a second Twilio 'start': one stream per connection")
            return self._twilio_start(data)
        if event == "media":
            if self.state is _State.WAITING:
                raise _bad("Twilio 'media' before 'start'")
            if self.state is _State.STOPPED:
                raise _bad("Twilio 'media' after 'stop'")
            return self._twilio_media(data)
        if event == "mark":
            return Ignored()
        if event == "dtmf":
            if self.state is not _State.STREAMING:
                raise _bad("Twilio 'dtmf' outside the stream: after 'start', before 'stop'")
            return _twilio_dtmf(data)
        if event == "stop":
            if self.state is not _State.STREAMING:
                raise _bad("Twilio 'stop' before 'start'")
            return self._stop()
        raise _bad(
            f"unknown Twilio event {shown(event)}: "
            "expected connected, start, media, mark, dtmf or stop"
        )

    def _twilio_start(self, data: dict[str, Any]) -> Result:
        start = data.get("start")
        if not isinstance(start, dict):
            raise _bad("Twilio 'start' has no 'start' object")
        media = checked(start, "mediaFormat", dict, {})
        encoding, rate = media.get("encoding", "audio/x-mulaw"), media.get("sampleRate", 8000)
        if encoding != "audio/x-mulaw" or rate != 8000 or media.get("channels", 1) != 1:
            raise Refused(
                Close.UNSUPPORTED,
                f"Twilio media format {shown(encoding)} {shown(rate)} Hz is not supported: "
                "Media Streams send audio/x-mulaw at 8000 Hz, mono",
            )
        tracks = checked(start, "tracks", list, []) or ["inbound"]
        if not all(track in ("inbound", "outbound") for track in tracks):
            raise _bad(f"Twilio tracks {shown(tracks)}: expected inbound and/or outbound")
        params = checked(start, "customParameters", dict, {})
        call_id = call_id_field(
            start.get("callSid") or data.get("streamSid") or start.get("streamSid")
        )
        for track in tracks:
            role = Role.CALLER if track == "inbound" else Role.AGENT
            self._tracks[track] = _Track(role)
        return self._started(
            CallInfo(
                call_id=call_id,
                agent_id=text_field(params, "agent_id"),
                team=text_field(params, "team"),
                roles=tuple(t.role for t in self._tracks.values()),
                dialect=Dialect.TWILIO,
                token=optional_text_field(params, "token"),
                automated=_twilio_flag(params, "automated"),
            )
        )

    def _twilio_media(self, data: dict[str, Any]) -> Result:
        media = data.get("media")
        if not isinstance(media, dict) or not isinstance(media.get("payload"), str):
            raise _bad("Twilio 'media' has no media.payload string")
        name = checked(media, "track", str, "inbound")
        track = self._tracks.get(name)
        if track is None:
            raise _bad(f"Twilio media for track {shown(name)} not named in 'start'")
        try:
            payload = base64.b64decode(media["payload"], validate=True)
        except (binascii.Error, ValueError):
            raise _bad("Twilio media.payload is not valid base64") from None
        if len(payload) / 8000 > self._max_seconds:
            raise Refused(Close.TOO_BIG, "Twilio media payload too long")
        at = media.get("timestamp")
        at_ms = _timestamp(at)
        # A timestamp far ahead would be filled with silence: at most up to the bound.
        end = track.end_after(len(payload), at_ms) / 8000
        self._keep_pace(
            end, f"Twilio media.timestamp {shown(at)} ms puts the {track.role.value} track"
        )
        return Audio(track.feed(payload, at_ms))

    # -- both ---------------------------------------------------------------

    def _stop(self) -> Result:
        self.state = _State.STOPPED
        if self._splitter is not None:
            frames = self._splitter.feed(np.zeros((0, self._channels), np.float32), last=True)
        else:
            frames = sorted(
                (f for t in self._tracks.values() for f in t.flush()), key=lambda f: f.start
            )
        return Stopped(frames)


class SourcePace:
    """One ingest source's allowance of live audio ahead of real time, shared by its calls.

    A token bucket in seconds of audio: it holds at most ``ahead`` seconds for
    each of the source's open calls (at least one) and refills at one second per
    second for each of them. A call at real-time pace takes what it is given
    back; a burst (a jitter buffer, ``edge run --forward`` catching up after a
    reconnection) spends the allowance. Without it, a source that reconnects
    after every refusal would get a fresh ``max_ahead_seconds`` per connection
    and could still flood the shared workers (issue 12). The bucket grows with
    the open calls because a busy service reads its sockets late: after a
    stall of a second or two, each of many real-time calls arrives with that
    much audio at once (issue 15: 13 calls and a 1.2 s stall spent a bucket of
    15 s and cut every call).
    """

    def __init__(self, source: str, ahead: float, clock: Callable[[], float]) -> None:
        self.source = source
        self.calls = 0  # the source's open calls; the glue counts them
        self._ahead = ahead
        self._clock = clock
        self._credit = ahead
        self._at = clock()

    def take(self, seconds: float) -> None:
        """Spend ``seconds`` of audio; refuse (1013, retry later) if the allowance is spent."""
        now = self._clock()
        calls = max(1, self.calls)
        self._credit = min(self._ahead * calls, self._credit + (now - self._at) * calls)
        self._at = now
        if seconds > self._credit:
            raise Refused(
                Close.TRY_LATER,
                f"source {self.source!r} sends faster than real time over its calls "
                f"(over {self._ahead:g} s ahead, server.max_ahead_seconds): "
                "send at real-time pace, retry in a few seconds",
            )
        self._credit -= seconds


def started_message(info: CallInfo) -> str:
    """The reply to an accepted start message."""
    return json.dumps({"type": "started", "protocol": PROTOCOL, "call_id": info.call_id})


def stopped_message(call_id: str, dropped_frames: int) -> str:
    """The reply once a stopped call is flushed, before the close: what was dropped."""
    return json.dumps({"type": "stopped", "call_id": call_id, "dropped_frames": dropped_frames})


class _Track:
    """One Twilio track: 8 kHz mu-law, gaps (by timestamp) filled with silence.

    Twilio sends a track only while it has audio; its ``timestamp`` (ms since
    the stream began) places each chunk, so the two tracks stay aligned.
    """

    _SLACK = 40  # samples of jitter tolerated before a gap is filled (5 ms)
    _MAX_GAP = 8000 * 60  # never invent more than a minute at once

    def __init__(self, role: Role) -> None:
        self.role = role
        self._splitter = Splitter(8000, 1, [role])
        self._samples = 0

    def end_after(self, samples: int, at_ms: float | None) -> int:
        """The track's position (samples) once ``samples`` placed at ``at_ms`` are fed."""
        return self._samples + self._gap(at_ms) + samples

    def _gap(self, at_ms: float | None) -> int:
        """Samples of silence to insert before a chunk placed at ``at_ms``."""
        if at_ms is None:
            return 0
        gap = at_ms * 8 - self._samples
        return int(min(gap, self._MAX_GAP)) if gap > self._SLACK else 0

    def feed(self, payload: bytes, at_ms: float | None) -> list[Frame]:
        frames: list[Frame] = []
        if gap := self._gap(at_ms):
            frames += self._splitter.feed(np.zeros((gap, 1), np.float32))
            self._samples += gap
        samples = decode_raw(payload, Encoding.MULAW).reshape(-1, 1)
        self._samples += len(samples)
        return frames + self._splitter.feed(samples)

    def flush(self) -> list[Frame]:
        return self._splitter.feed(np.zeros((0, 1), np.float32), last=True)


def _twilio_dtmf(data: dict[str, Any]) -> Pressed:
    """A Twilio ``dtmf`` message: ``{"dtmf": {"track": "inbound_track", "digit": "0"}}``."""
    dtmf = data.get("dtmf")
    digit = dtmf.get("digit") if isinstance(dtmf, dict) else None
    if not isinstance(digit, str) or digit not in DIGITS:
        raise _bad(f"Twilio 'dtmf' digit {shown(digit)} is not a key: expected 0-9, * or #")
    return Pressed(digit)


def _twilio_flag(params: dict[str, Any], key: str) -> bool:
    """A yes/no <Parameter>: Twilio's customParameters are strings ("true", "false")."""
    value = params.get(key, "")
    text = str(value).strip().lower() if isinstance(value, str | bool) else None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _bad(f"Twilio parameter {key} {shown(value)} must be true or false")


def call_id_field(value: object) -> CallId:
    if not isinstance(value, str) or not _CALL_ID.match(value):
        raise _bad(
            f"call_id {shown(value)} is not valid: use 1-128 letters, digits or ._:@- characters"
        )
    return CallId(value)


def _timestamp(value: object) -> float | None:
    """Twilio's media.timestamp (milliseconds, a JSON string or number): finite, within a day."""
    if value is None:
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError
        at_ms = float(value)
    except (ValueError, OverflowError):
        raise _bad(f"Twilio media.timestamp {shown(value)} is not a number") from None
    if not 0 <= at_ms <= MAX_TIMESTAMP_MS:  # also NaN and infinities
        raise _bad(
            f"Twilio media.timestamp {shown(value)} is out of range: "
            f"milliseconds since the stream began, 0 to {MAX_TIMESTAMP_MS}"
        )
    return at_ms


def text_field(data: dict[str, Any], key: str) -> str:
    value = checked(data, key, str, "")
    if len(value) > 128:
        raise _bad(f"{key} must be a string of at most 128 characters")
    return value


def optional_text_field(data: dict[str, Any], key: str) -> str | None:
    return optional(data, key, str)
