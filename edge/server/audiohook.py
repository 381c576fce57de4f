"""Genesys Cloud AudioHook (protocol version 2), sans I/O: messages in, replies and frames out.

Genesys Cloud (the *client*) opens a websocket to the URI configured in its
AudioHook integration (here ``/audiohook``) and streams one conversation's
audio; :class:`AudioHookSession` is the server side, a state machine in the
style of :mod:`edge.server.ingest`. :meth:`~AudioHookSession.text` and
:meth:`~AudioHookSession.binary` take one websocket message each and return
what it means: a call to start (:class:`~edge.server.ingest.Started`), frames
(:class:`~edge.server.ingest.Audio`), the call's end
(:class:`~edge.server.ingest.Stopped`) or a reply to send (:class:`Reply`).
Anything wrong raises :class:`~edge.server.protocol.Refused`; the glue sends
:meth:`~AudioHookSession.disconnect` (the spec's way to refuse), answers the
client's ``close`` with ``closed`` and closes with the refusal's code.

Spec facts relied on, and where they were read (the AudioHook pages of the
Genesys Cloud developer center — "session walkthrough", "protocol reference",
"security" — as quoted by the public research notes that cite them, and the
message types of Genesys' reference implementation, the repository
purecloudlabs/audiohook-reference-implementation,
``app/audiohook/src/protocol/message.ts`` and ``core.ts``):

* Every text message is JSON with ``version: "2"``, ``id`` (the session id,
  the ``Audiohook-Session-Id`` header), ``type``, ``seq`` and ``parameters``.
  Client messages also carry ``serverseq`` (the last server ``seq`` it saw)
  and ``position`` (an ISO 8601 duration in seconds, ``PT12.34S``: the audio
  stream position); server messages carry ``clientseq`` (the last client
  ``seq`` received). Each side numbers its messages 1, 2, 3, … (message.ts;
  the reference server refuses a ``seq`` that is not the previous one plus
  one, and a ``serverseq`` above its own ``seq``: serversessionimpl.ts).
* Client messages: ``open``, ``ping``, ``update``, ``paused``, ``resumed``,
  ``discarded``, ``error``, ``close``. Server messages: ``opened``, ``pong``,
  ``updated``, ``closed``, ``disconnect`` (reasons ``completed``,
  ``unauthorized``, ``error``, with an ``info`` text), ``pause``, ``resume``,
  ``event``, ``reconnect`` (message.ts). This server sends the first five.
* ``open`` parameters: ``organizationId``, ``conversationId``,
  ``participant`` (``id``, ``ani``, ``aniName``, ``dnis``), ``media`` (the
  offer), optional ``language``, ``customConfig``, ``continuedSessions``.
  The server picks exactly one offered format, unchanged, and answers
  ``opened`` with it; the client sends no audio before ``opened``
  (session walkthrough). A ``conversationId`` of all zeros is the connection
  probe Genesys sends when the integration is saved: answer ``opened`` with
  no media and start no call.
* Media: ``type: audio``, ``format: PCMU`` (mu-law; ``L16`` only for the bot
  transcription connector), ``rate: 8000``, ``channels`` a list of
  ``external`` and/or ``internal``. Binary messages are headerless audio,
  samples interleaved in the order of ``channels``, whole samples of every
  channel per message (core.ts; session walkthrough). The session follows the
  customer: ``external`` is what the customer says, ``internal`` what the
  customer hears, in a one-to-one call the agent (introduction).
* ``ping`` (every few seconds, optional ``rtt``) must be answered with
  ``pong`` at once, within 5 s; ``close`` within 10 s with ``closed``, after
  the last events; a server that refuses sends ``disconnect`` and must not
  close the connection itself: the client answers with ``close`` and hangs up
  after ``closed`` (session walkthrough, security).
* A pause is the client's (``paused`` unprompted, e.g. a secure flow, then
  ``resumed`` with ``start`` and ``discarded`` durations) or the server's
  (``pause`` answered by ``paused``); no audio is sent while paused
  (session walkthrough). ``update`` may change ``language``; answer
  ``updated``.
* Right after ``opened`` the client sends the audio it buffered while
  connecting, faster than real time (session walkthrough): the real-time
  bound (``server.max_ahead_seconds``) leaves room for it.

What this server decides (docs/server.md, "Genesys AudioHook"):

* the call id is the ``conversationId``; the agent id and team come from
  ``customConfig`` (``agent_id``, ``team``: the integration's custom
  configuration), since AudioHook follows the customer and names no agent;
  ``language`` is logged only (the models are English);
* media: PCMU 8000 Hz, stereo first (``external`` = caller, ``internal`` =
  agent, in the offered order), else ``external`` alone (caller), else
  ``internal`` alone (agent);
* the ``X-API-KEY`` header is the ingest token; with a ``secret`` configured
  for that token the request signature must verify
  (:func:`verify_signature`), without one the API key is the credential.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge.audio.frames import Splitter
from edge.audio.sources import Encoding, decode_raw
from edge.server.auth import Tokens, require
from edge.server.ingest import (
    Audio,
    CallInfo,
    Dialect,
    Ignored,
    Started,
    Stopped,
)
from edge.server.options import TokenRole
from edge.server.protocol import Close, Refused, checked, optional, parse_object, shown
from edge.types import CallId, Role

log = logging.getLogger(__name__)

VERSION = "2"
RATE = 8000
NULL_UUID = "00000000-0000-0000-0000-000000000000"  # the connection probe's conversationId
CHANNEL_ROLES = {"external": Role.CALLER, "internal": Role.AGENT}
MAX_SEQ = 2**53  # JSON integers beyond this are no sequence number
_DURATION = re.compile(r"^PT(\d{1,9}(?:\.\d{1,9})?)S$")
_CALL_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")

# Signature checks (security page; the reference verifier's defaults):
SIGNED = (  # the components Genesys signs; a signature must cover them all
    "@request-target",
    "@authority",
    "audiohook-organization-id",
    "audiohook-session-id",
    "audiohook-correlation-id",
    "x-api-key",
)
CLOCK_SKEW = 3.0  # seconds of clock difference tolerated
MAX_SIGNATURE_AGE = 10.0  # seconds a signature's ``created`` may lie in the past


@dataclass(frozen=True)
class Reply:
    """A message to send to the client; ``last``: the session is over once it is sent."""

    message: str
    last: bool = False


Result = Started | Audio | Stopped | Reply | Ignored


class _State(enum.Enum):
    WAITING = "waiting"  # for ``open``
    OPENING = "opening"  # ``open`` accepted here, the glue starts the call
    OPEN = "open"
    PAUSED = "paused"
    PROBED = "probed"  # a connection probe: opened without media
    DISCONNECTING = "disconnecting"  # ``disconnect`` sent: waiting for ``close``
    CLOSED = "closed"


def _bad(message: str) -> Refused:
    return Refused(Close.BAD_MESSAGE, message)


class AudioHookSession:
    """One AudioHook connection's protocol state.

    ``headers`` are the websocket handshake's (any case-insensitive mapping);
    ``target`` its request target (path and query), for the signature.
    ``tokens`` check the API key in ``open`` (a connection probe included) and
    give the client secret configured with it, if any. ``max_ahead_seconds``
    bounds how far the audio may run ahead of ``clock`` since ``opened``
    (None: no bound); ``wall`` is the UNIX time a signature's ``created`` and
    ``expires`` are checked against.
    """

    def __init__(
        self,
        headers: Mapping[str, str],
        target: str,
        *,
        tokens: Tokens | None = None,
        max_seconds_per_message: float = 10.0,
        max_ahead_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.state = _State.WAITING
        self.info: CallInfo | None = None
        self.language: str | None = None
        self._headers = headers
        self._target = target
        self._tokens = tokens or Tokens(())
        self._max_seconds = max_seconds_per_message
        self._max_ahead = max_ahead_seconds
        self._clock = clock
        self._wall = wall
        self._id: str | None = _header(headers, "audiohook-session-id")
        self._seq = 0  # the last seq this server sent
        self._clientseq = 0  # the last seq received from the client
        self._media: dict[str, Any] | None = None  # the format picked in ``open``
        self._channels = 0
        self._splitter: Splitter | None = None
        self._began = 0.0  # clock() at ``opened``
        self._received = 0.0  # seconds of audio received
        self.discarded = 0.0  # seconds the client reported discarded (paused, throttled)

    # -- messages -----------------------------------------------------------

    def text(self, message: str) -> Result:
        data = parse_object(message)
        if self.state is _State.DISCONNECTING:
            # The spec's refusal was sent: only the client's ``close`` matters now.
            if data.get("type") == "close":
                return self._closed()
            return Ignored()
        if self.state is _State.CLOSED:
            raise _bad("message after close: the session is over")
        kind = self._check_envelope(data)
        parameters = checked(data, "parameters", dict, {})
        if kind == "open":
            return self._open(parameters)
        if self.state is _State.WAITING:
            raise _bad(f"{shown(kind)} before open: send open first")
        if kind == "ping":
            rtt = parameters.get("rtt")
            if rtt is not None:
                duration(rtt, "ping rtt")  # checked, not used: the client measures
            return Reply(self._message("pong", {}))
        if kind == "close":
            if self.state is _State.PROBED:
                return self._closed()
            self.state = _State.CLOSED
            return self._stop()
        if kind == "update":
            language = optional(parameters, "language", str)
            if language is not None:
                self.language = language[:32]
                log.info("AudioHook language now %s", shown(self.language))
            return Reply(self._message("updated", {}))
        if kind == "paused":
            if self.state is _State.OPEN:
                self.state = _State.PAUSED
            return Ignored()
        if kind == "resumed":
            discarded = duration(parameters.get("discarded", "PT0S"), "resumed discarded")
            self.discarded += discarded
            if self.state is _State.PAUSED:
                self.state = _State.OPEN
            return Ignored()
        if kind == "discarded":
            self.discarded += duration(parameters.get("discarded", "PT0S"), "discarded")
            return Ignored()
        if kind == "error":
            code, text = parameters.get("code"), parameters.get("message")
            log.warning("AudioHook client reports error %s: %s", shown(code), shown(text))
            return Ignored()
        raise _bad(
            f"unknown AudioHook message type {shown(kind)}: expected open, ping, update, "
            "paused, resumed, discarded, error or close"
        )

    def binary(self, message: bytes) -> Result:
        if self.state is _State.DISCONNECTING:
            return Ignored()  # in flight when the refusal was sent
        if self.state in (_State.WAITING, _State.OPENING):
            raise _bad("audio before opened: send open and wait for opened")
        if self.state is _State.PROBED:
            raise _bad("audio on a connection probe: no media was selected")
        if self.state is _State.PAUSED:
            raise _bad("audio while paused: send resumed before audio")
        if self.state is _State.CLOSED:
            raise _bad("audio after close: the client sends no audio once it closes")
        assert self._splitter is not None and self.info is not None
        if len(message) % self._channels:
            raise _bad(
                f"audio message of {len(message)} bytes is not a whole number of "
                f"{self._channels}-channel PCMU samples"
            )
        seconds = len(message) / self._channels / RATE
        if seconds > self._max_seconds:
            raise Refused(
                Close.TOO_BIG,
                f"audio message holds over {self._max_seconds:g} s of audio: "
                "send 20-200 ms per message",
            )
        self._keep_pace(self._received + seconds)
        self._received += seconds
        samples = decode_raw(message, Encoding.MULAW).reshape(-1, self._channels)
        return Audio(self._splitter.feed(samples))

    # -- replies the glue asks for ------------------------------------------

    def opened(self) -> str:
        """The ``opened`` reply, once the glue has started the call: audio may flow."""
        assert self.state is _State.OPENING and self._media is not None
        self.state = _State.OPEN
        self._began = self._clock()
        return self._message("opened", {"media": [self._media], "startPaused": False})

    def disconnect(self, refused: Refused) -> str:
        """The spec's refusal (``disconnect``) for ``refused``; then wait for ``close``.

        A bad token, or one without the ingest role, is ``unauthorized`` (Genesys
        does not retry); anything else is ``error`` with the refusal's sentence.
        """
        self.state = _State.DISCONNECTING
        unauthorized = refused.code in (Close.UNAUTHORIZED, Close.FORBIDDEN)
        reason = "unauthorized" if unauthorized else "error"
        return self._message("disconnect", {"reason": reason, "info": str(refused)})

    def timed_out(self, seconds: float) -> Refused:
        """The refusal for a connection that sent nothing for ``seconds``."""
        if self.state is _State.WAITING:
            return _bad(f"no open message within {seconds:g} s: send open as soon as connected")
        return _bad(
            f"no message for {seconds:g} s: AudioHook sends audio or ping every few "
            "seconds; the session has ended"
        )

    @property
    def position(self) -> float:
        """Seconds of audio received so far."""
        return self._received

    @property
    def finished(self) -> bool:
        """Whether the session has ended (closed or being refused)."""
        return self.state in (_State.CLOSED, _State.DISCONNECTING)

    # -- the pieces ---------------------------------------------------------

    def _check_envelope(self, data: dict[str, Any]) -> str:
        """The fields every client message has; the sequence rules. Returns the type."""
        if data.get("version") != VERSION:
            raise Refused(
                Close.UNSUPPORTED,
                f"AudioHook version {shown(data.get('version'))} is not supported: "
                'this server speaks "2"',
            )
        kind = checked(data, "type", str, "")
        if not kind:
            raise _bad("message has no 'type': expected open, ping, paused, resumed or close")
        seq, serverseq = data.get("seq"), data.get("serverseq")
        if not _is_seq(seq) or not _is_seq(serverseq):
            raise _bad("seq and serverseq must be non-negative integers")
        assert isinstance(seq, int) and isinstance(serverseq, int)
        if seq != self._clientseq + 1:
            raise _bad(
                f"seq {seq} is out of order: the previous message was {self._clientseq}, "
                "number client messages 1, 2, 3, …"
            )
        if serverseq > self._seq:
            raise _bad(
                f"serverseq {serverseq} is ahead of the server, which sent {self._seq} "
                "message(s): send the seq of the last server message received"
            )
        self._clientseq = seq
        message_id = data.get("id")
        if not isinstance(message_id, str) or not message_id:
            raise _bad("message has no session 'id'")
        if self._id is None:
            self._id = message_id[:64]  # no Audiohook-Session-Id header: the first message's
        elif message_id != self._id:
            raise _bad(
                f"session id {shown(message_id)} is not this session's "
                "(the Audiohook-Session-Id header): one session per connection"
            )
        duration(data.get("position"), "position")
        return kind

    def _open(self, parameters: dict[str, Any]) -> Result:
        if self.state is not _State.WAITING:
            raise _bad("a second open: one session per connection")
        self.state = _State.OPENING
        api_key = _header(self._headers, "x-api-key") or _bearer(self._headers)
        require(self._tokens.authenticate(api_key), TokenRole.INGEST)
        secret = self._tokens.secret_of(api_key) if api_key is not None else None
        if secret is not None:
            verify_signature(self._headers, self._target, secret, now=self._wall())
        language = optional(parameters, "language", str)
        self.language = language[:32] if language is not None else None
        conversation = parameters.get("conversationId")
        offered = checked(parameters, "media", list, [])
        if conversation == NULL_UUID:  # the connection probe: opened, no media, no call
            self.state = _State.PROBED
            log.info("AudioHook connection probe answered")
            return Reply(self._message("opened", {"media": [], "startPaused": False}))
        if not isinstance(conversation, str) or not _CALL_ID.match(conversation):
            raise _bad(f"open conversationId {shown(conversation)} is not a conversation id")
        self._media = _pick(offered)
        channels: list[str] = self._media["channels"]
        self._channels = len(channels)
        roles = [CHANNEL_ROLES[c] for c in channels]
        self._splitter = Splitter(RATE, len(roles), list(roles))
        custom = checked(parameters, "customConfig", dict, {})
        self.info = CallInfo(
            call_id=CallId(conversation),
            agent_id=_text(custom, "agent_id"),
            team=_text(custom, "team"),
            roles=self._splitter.roles,
            dialect=Dialect.AUDIOHOOK,
            token=api_key,
        )
        return Started(self.info)

    def _stop(self) -> Stopped:
        """The client's ``close``: the last frames; the glue flushes, then sends ``closed``."""
        assert self._splitter is not None
        last = self._splitter.feed(np.zeros((0, self._channels), np.float32), last=True)
        return Stopped(last)

    def closed(self) -> str:
        """The ``closed`` reply, once the call is flushed (its last events sent)."""
        return self._message("closed", {})

    def _closed(self) -> Reply:
        self.state = _State.CLOSED
        return Reply(self.closed(), last=True)

    def _keep_pace(self, position: float) -> None:
        """Refuse audio that would reach ``position`` s too far ahead of the clock."""
        if self._max_ahead is None:
            return
        ahead = position - (self._clock() - self._began)
        if ahead > self._max_ahead:
            raise _bad(
                f"audio is {ahead:.1f} s ahead of real time, over the {self._max_ahead:g} s "
                "allowed (server.max_ahead_seconds): stream at real-time pace"
            )

    def _message(self, kind: str, parameters: dict[str, Any]) -> str:
        self._seq += 1
        return json.dumps(
            {
                "version": VERSION,
                "id": self._id or NULL_UUID,
                "type": kind,
                "seq": self._seq,
                "clientseq": self._clientseq,
                "parameters": parameters,
            }
        )


def _pick(offered: list[Any]) -> dict[str, Any]:
    """The offered format this server takes: PCMU 8 kHz, stereo, else external, else internal."""
    usable = [
        m
        for m in offered
        if isinstance(m, dict)
        and m.get("type", "audio") == "audio"
        and m.get("format") == "PCMU"
        and m.get("rate") == RATE
        and isinstance(m.get("channels"), list)
        and 1 <= len(m["channels"]) <= 2
        and len(set(map(str, m["channels"]))) == len(m["channels"])
        and all(c in CHANNEL_ROLES for c in m["channels"])
    ]
    for wanted in (2, ["external"], ["internal"]):
        for media in usable:
            channels = media["channels"]
            if channels == wanted or (wanted == 2 and len(channels) == 2):
                return dict(media)  # unchanged, as the spec asks
    raise Refused(
        Close.UNSUPPORTED,
        f"no offered media format is usable ({shown(offered)}): offer PCMU at 8000 Hz "
        'with channels ["external", "internal"] or ["external"]',
    )


def duration(value: object, what: str) -> float:
    """Seconds of an AudioHook duration, ``PT<seconds>S`` (ISO 8601, seconds only)."""
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None:
        raise _bad(f"{what} {shown(value)} is not a duration: write seconds as PT12.5S")
    return float(match.group(1))


def format_duration(seconds: float) -> str:
    """``seconds`` as an AudioHook duration (``PT1.25S``), exact to the sample at 8 kHz."""
    return f"PT{seconds:.6f}".rstrip("0").rstrip(".") + "S"


def _is_seq(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SEQ


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """One header's value, stripped; ``name`` in lower case, matched in any case."""
    value = headers.get(name)
    if value is None:  # a plain dict (websockets' Headers ignores case itself)
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _bearer(headers: Mapping[str, str]) -> str | None:
    """The token of an ``Authorization: Bearer`` header (a client without X-API-KEY)."""
    value = _header(headers, "authorization") or ""
    return value[7:].strip() or None if value.lower().startswith("bearer ") else None


def _text(data: dict[str, Any], key: str) -> str:
    value = checked(data, key, str, "")
    if len(value) > 128:
        raise _bad(f"customConfig {key} must be a string of at most 128 characters")
    return value


# -- HTTP Message Signatures (the handshake's Signature and Signature-Input) --


def verify_signature(headers: Mapping[str, str], target: str, secret: str, *, now: float) -> None:
    """Check Genesys' signature of the handshake; raise :class:`Refused` (4001) if it fails.

    AudioHook signs the upgrade request per HTTP Message Signatures
    (draft-ietf-httpbis-message-signatures, now RFC 9421) with HMAC-SHA256,
    the key being the base64-decoded client secret configured with the API key
    (security page). What is checked, as the security page recommends: the
    signature covers every component in :data:`SIGNED`; ``keyid`` is the API
    key; a ``nonce`` is present; ``created`` is neither in the future nor older
    than :data:`MAX_SIGNATURE_AGE` and ``expires`` not past (both give
    :data:`CLOCK_SKEW`); the MAC is always HMAC-SHA256 whatever ``alg`` says,
    compared as bytes in constant time. Every failure gives the client the
    same sentence; the log line says which check failed.
    """
    try:
        _verify(headers, target, secret, now)
    except _Unsigned as e:
        log.warning("AudioHook signature refused: %s", e)
        raise Refused(
            Close.UNAUTHORIZED,
            "request signature missing or invalid: check the client secret of the "
            "AudioHook integration and the server's clock",
        ) from None


class _Unsigned(Exception):
    """Why a signature was refused (logged, never sent)."""


def _verify(headers: Mapping[str, str], target: str, secret: str, now: float) -> None:
    inputs = _members(_header(headers, "signature-input") or "")
    signatures = _members(_header(headers, "signature") or "")
    if not inputs or not signatures:
        raise _Unsigned("no Signature or Signature-Input header")
    label, covered = next(iter(inputs.items()))
    if label not in signatures:
        raise _Unsigned(f"no signature labelled {label!r}")
    components, params, signature_params = _inner_list(covered)
    missing = [c for c in SIGNED if c not in components]
    if missing:
        raise _Unsigned(f"signature does not cover {', '.join(missing)}")
    if params.get("keyid") != _header(headers, "x-api-key"):
        raise _Unsigned("keyid is not the X-API-KEY")
    nonce = params.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise _Unsigned("no nonce")
    alg = params.get("alg", "hmac-sha256")
    if alg != "hmac-sha256":
        raise _Unsigned(f"algorithm {alg!r} is not hmac-sha256")
    created, expires = params.get("created"), params.get("expires")
    if not isinstance(created, int):
        raise _Unsigned("no created time")
    if created > now + CLOCK_SKEW:
        raise _Unsigned("created in the future")
    if created < now - MAX_SIGNATURE_AGE - CLOCK_SKEW:
        raise _Unsigned("signature too old")
    if isinstance(expires, int) and expires < now - CLOCK_SKEW:
        raise _Unsigned("signature expired")
    lines = []
    for name in components:
        if name == "@request-target":
            value = target
        elif name == "@authority":
            value = (_header(headers, "host") or "").lower()
        elif name.startswith("@"):
            raise _Unsigned(f"derived component {name!r} is not supported")
        else:
            found = _header(headers, name)
            if found is None:
                raise _Unsigned(f"signed header {name!r} is absent")
            value = found
        lines.append(f'"{name}": {value}')
    lines.append(f'"@signature-params": {signature_params}')
    try:
        key = base64.b64decode(secret, validate=True)
        given = _byte_sequence(signatures[label])
    except (binascii.Error, ValueError):
        raise _Unsigned("signature or secret is not base64") from None
    expected = hmac.new(key, "\n".join(lines).encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(given, expected):
        raise _Unsigned("signature does not match")


# A small reader of the structured fields (RFC 8941) these two headers use:
# a dictionary of ``label=member``; Signature-Input's members are inner lists of
# strings with parameters, Signature's byte sequences (``:base64:``).
_MEMBER = re.compile(r'\s*([a-z*][a-z0-9_.*-]*)=((?:"(?:[^"\\]|\\.)*"|[^,"])*)\s*(?:,|$)')
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_PARAM = re.compile(r';\s*([a-z*][a-z0-9_.*-]*)=("(?:[^"\\]|\\.)*"|-?\d{1,15})')


def _members(field: str) -> dict[str, str]:
    members: dict[str, str] = {}
    at = 0
    while at < len(field):
        match = _MEMBER.match(field, at)
        if match is None or match.end() == at:
            raise _Unsigned("malformed signature header")
        members.setdefault(match.group(1), match.group(2).strip())
        at = match.end()
    return members


def _inner_list(member: str) -> tuple[list[str], dict[str, str | int], str]:
    """Signature-Input's member: its components, parameters, and itself re-serialised."""
    if not member.startswith("(") or ")" not in member:
        raise _Unsigned("Signature-Input is not an inner list")
    inside, rest = member[1:].split(")", 1)
    components = [m.group(1) for m in _STRING.finditer(inside)]
    if _STRING.sub("", inside).strip():
        raise _Unsigned("Signature-Input lists something other than strings")
    params: dict[str, str | int] = {}
    at = 0
    rest = rest.strip()
    serial = []
    while at < len(rest):
        match = _PARAM.match(rest, at)
        if match is None:
            raise _Unsigned("malformed Signature-Input parameters")
        name, raw = match.group(1), match.group(2)
        params[name] = raw[1:-1] if raw.startswith('"') else int(raw)
        serial.append(f";{name}={raw}")
        at = match.end()
    listed = " ".join(f'"{c}"' for c in components)
    return components, params, f"({listed})" + "".join(serial)


def _byte_sequence(member: str) -> bytes:
    if len(member) < 2 or member[0] != ":" or member[-1] != ":":
        raise ValueError("not a byte sequence")
    return base64.b64decode(member[1:-1], validate=True)


def sign(
    headers: Mapping[str, str],
    target: str,
    secret: str,
    *,
    created: int,
    nonce: str,
    expires: int | None = None,
    label: str = "sig1",
) -> dict[str, str]:
    """The ``Signature-Input`` and ``Signature`` headers Genesys would send (for clients, tests).

    ``headers`` must hold Host and the signed AudioHook headers.
    """
    listed = " ".join(f'"{c}"' for c in SIGNED)
    key = headers.get("X-API-KEY") or headers.get("x-api-key") or ""
    params = f';keyid="{key}";nonce="{nonce}";alg="hmac-sha256";created={created}'
    if expires is not None:
        params += f";expires={expires}"
    signature_params = f"({listed}){params}"
    lower = {k.lower(): v.strip() for k, v in headers.items()}
    values = {"@request-target": target, "@authority": lower.get("host", "").lower()}
    lines = [f'"{c}": {values.get(c, lower.get(c, ""))}' for c in SIGNED]
    lines.append(f'"@signature-params": {signature_params}')
    mac = hmac.new(base64.b64decode(secret), "\n".join(lines).encode(), hashlib.sha256)
    return {
        "Signature-Input": f"{label}={signature_params}",
        "Signature": f"{label}=:{base64.b64encode(mac.digest()).decode()}:",
    }
