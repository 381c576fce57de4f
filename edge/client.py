"""Clients of ``edge serve``: stream a call's audio in, watch its events come out.

Used by ``edge stream``, ``edge run`` (:class:`Forwarder`: the call's audio;
:class:`Publisher`: its events), the demo, the benchmark and the tests; see
``docs/server.md`` for the protocols they speak.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import random
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from edge.audio import g711
from edge.contracts import Frame
from edge.errors import EdgeError
from edge.events import Event
from edge.server.hub import Privacy
from edge.server.options import PrivacyOptions
from edge.server.protocol import PROTOCOL, Close
from edge.server.publish import Backlog, PublishInfo, hello_message
from edge.types import FRAME_SAMPLES, FRAME_SECONDS, Role

log = logging.getLogger(__name__)


class ServiceError(EdgeError):
    """The service refused or ended a connection with an error."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"the service refused: {message} (close code {code})")
        self.code = code


@dataclass(frozen=True, kw_only=True)
class CallSpec:
    """What the start message says."""

    call_id: str
    agent_id: str = ""
    team: str = ""
    channels: Sequence[str | None] = ("caller", "agent")
    token: str | None = None
    live: bool = True
    encoding: str = "pcm16"  # pcm16 or mulaw
    automated: bool = False  # an IVR or voice assistant serves the caller: hand-offs


def _encode(block: npt.NDArray[np.float32], encoding: str) -> bytes:
    pcm = g711.float_to_pcm16(block.reshape(-1))
    if encoding == "mulaw":
        return g711.pcm16_to_mulaw(pcm).tobytes()
    return pcm.astype("<i2").tobytes()


def _start_message(spec: CallSpec, rate: int) -> str:
    start = {
        "type": "start",
        "protocol": PROTOCOL,
        "call_id": spec.call_id,
        "agent_id": spec.agent_id,
        "team": spec.team,
        "sample_rate": rate,
        "encoding": spec.encoding,
        "channels": list(spec.channels),
        "live": spec.live,
    }
    if spec.token:
        start["token"] = spec.token
    if spec.automated:
        start["automated"] = True
    return json.dumps(start)


async def _reply(ws: ClientConnection) -> dict[str, Any]:
    """The next JSON message; an ``error`` message becomes :class:`ServiceError`."""
    try:
        message = await ws.recv()
    except ConnectionClosed as e:
        raise ServiceError(e.rcvd.code if e.rcvd else 1006, "connection closed") from None
    data = json.loads(message)
    if data.get("type") == "error":
        raise ServiceError(int(data["code"]), str(data["message"]))
    return dict(data)


async def stream_call(
    url: str,
    audio: npt.NDArray[np.float32],
    spec: CallSpec,
    *,
    rate: int = 16000,
    realtime: bool = True,
    chunk: float = 0.1,
) -> dict[str, Any]:
    """Stream ``audio`` (samples by channels, float) as one call; returns the ``stopped`` reply.

    ``realtime`` paces the chunks at the audio's own speed, as a live call does.
    """
    audio = audio.reshape(len(audio), -1).astype(np.float32, copy=False)
    spec = dataclasses.replace(spec, channels=list(spec.channels)[: audio.shape[1]])
    step = max(1, int(chunk * rate))
    # An upload (live=False) is read only as fast as the pipeline goes: keepalive
    # pings would wait behind the audio, so neither side sends them.
    ping = 20.0 if spec.live else None
    async with connect(url, max_size=None, open_timeout=30, ping_interval=ping) as ws:
        await ws.send(_start_message(spec, rate))
        await _reply(ws)
        loop = asyncio.get_running_loop()
        began = loop.time()
        for at in range(0, len(audio), step):
            if realtime and (delay := began + at / rate - loop.time()) > 0:
                await asyncio.sleep(delay)
            await ws.send(_encode(audio[at : at + step], spec.encoding))
        await ws.send(json.dumps({"type": "stop"}))
        return await _reply(ws)


async def watch(
    url: str,
    view: str,
    *,
    token: str | None = None,
    agent_id: str | None = None,
    teams: Sequence[str] | None = None,
    call_id: str | None = None,
    resume: dict[str, int] | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Subscribe and yield every message after ``subscribed`` until the server closes."""
    hello: dict[str, Any] = {"type": "subscribe", "view": view}
    for key, value in (
        ("token", token),
        ("agent_id", agent_id),
        ("teams", list(teams) if teams is not None else None),
        ("call_id", call_id),
        ("resume", resume),
    ):
        if value is not None:
            hello[key] = value
    async with connect(url, max_size=None) as ws:
        await ws.send(json.dumps(hello))
        await _reply(ws)
        while True:
            try:
                message = await ws.recv()
            except ConnectionClosed:
                return
            data = json.loads(message)
            if data.get("type") == "error":
                raise ServiceError(int(data["code"]), str(data["message"]))
            yield data


# Refusals that retrying cannot fix: a bad token or role, a malformed or unsupported start.
_FATAL = frozenset({Close.UNSUPPORTED, Close.BAD_MESSAGE, Close.UNAUTHORIZED, Close.FORBIDDEN})


class Forwarder:
    """Streams a live call's frames to ``edge serve``, never holding up the capture.

    ``edge run`` hands it every frame (:meth:`offer`); frames of the roles are
    paired by start time into interleaved 16 kHz PCM16 blocks and queued
    (bounded: the oldest are dropped and counted when the service is slow or
    away). :meth:`run` keeps a connection to the ingest endpoint and sends the
    blocks; when the connection is lost it logs one line and reconnects, and
    the service takes the rest as a new call under the same id.
    """

    RETRY = 2.0  # seconds between reconnection attempts

    def __init__(
        self,
        url: str,
        spec: CallSpec,
        roles: Sequence[Role],
        *,
        queue_seconds: float = 10.0,
    ) -> None:
        self.url = url
        self.spec = dataclasses.replace(
            spec, channels=[r.value for r in roles], live=True, encoding="pcm16"
        )
        self.roles = tuple(roles)
        self.dropped = 0  # frames lost while the service was slow or away
        self.sent = 0
        self._pending: dict[float, dict[Role, npt.NDArray[np.float32]]] = {}
        self._blocks: deque[bytes] = deque(maxlen=max(1, int(queue_seconds / FRAME_SECONDS)))
        self._ready = asyncio.Event()
        self._closing = False

    def offer(self, frame: Frame) -> None:
        if frame.role not in self.roles:
            return
        slot = self._pending.setdefault(round(frame.start, 4), {})
        slot[frame.role] = frame.samples
        while self._pending:
            start = min(self._pending)
            parts = self._pending[start]
            if len(parts) < len(self.roles) and len(self._pending) <= 64:
                break  # wait for the other role's frame of this time
            del self._pending[start]
            block = np.stack(
                [parts.get(r, np.zeros(FRAME_SAMPLES, np.float32)) for r in self.roles], axis=1
            )
            if len(self._blocks) == self._blocks.maxlen:
                self.dropped += 1
            self._blocks.append(_encode(block, "pcm16"))
            self._ready.set()

    async def run(self) -> None:
        """Send until :meth:`close`; reconnect whenever the connection is lost."""
        while not self._closing:
            try:
                await self._session()
                return
            except ServiceError as e:
                if e.code in _FATAL:
                    log.error("forwarding to %s stopped: %s", self.url, e)
                    return
                log.warning("forwarding to %s: %s; retrying in %.0f s", self.url, e, self.RETRY)
            except (OSError, ConnectionClosed, TimeoutError) as e:
                log.warning(
                    "forwarding to %s lost (%s); retrying in %.0f s", self.url, e, self.RETRY
                )
            await asyncio.sleep(self.RETRY)

    async def close(self) -> None:
        """No more frames: send what is queued, then stop the call."""
        self._closing = True
        self._ready.set()

    async def _session(self) -> None:
        async with connect(self.url, open_timeout=10) as ws:
            await ws.send(_start_message(self.spec, 16000))
            await _reply(ws)
            log.info("forwarding call %s to %s", self.spec.call_id, self.url)
            while True:
                while self._blocks:
                    await ws.send(self._blocks.popleft())
                    self.sent += 1
                if self._closing:
                    break
                self._ready.clear()
                await self._ready.wait()
            await ws.send(json.dumps({"type": "stop"}))
            await _reply(ws)


class Publisher:
    """Publishes a call analysed on this workstation to ``edge serve``: events, never audio.

    ``edge run --publish`` hands it every event (:meth:`offer`). What may leave
    is decided here first, by the workstation's own ``[privacy]`` (redaction,
    ``share = "cues"``), then the event waits in a bounded :class:`Backlog`
    until the service acknowledges it. :meth:`run` keeps a connection to the
    publish endpoint; when it is lost, analysis goes on, the backlog fills
    (oldest readings dropped first), and :meth:`run` reconnects with exponential
    back-off and resends what came after the service's ``last_seq``: no gap, no
    duplicate.
    """

    def __init__(
        self,
        url: str,
        info: PublishInfo,
        privacy: PrivacyOptions,
        *,
        buffer: int = 4096,
        retry: tuple[float, float] = (0.5, 10.0),
    ) -> None:
        self.url = url
        self.info = info
        self.privacy = Privacy(privacy)
        self.backlog = Backlog(buffer)
        self.retry = retry  # first and longest wait between attempts, seconds
        self.connections = 0  # accepted connections (1: never lost)
        self._delay = retry[0]
        self._ready = asyncio.Event()
        self._closing = False

    def offer(self, event: Event) -> None:
        shared = self.privacy.share(event)
        if shared is None:
            return
        self.backlog.add(shared)
        self._ready.set()

    async def close(self) -> None:
        """No more events: deliver what is left (:meth:`run` returns once it is acknowledged)."""
        self._closing = True
        self._ready.set()

    async def run(self) -> None:
        """Publish until :meth:`close` and everything is acknowledged; reconnect when lost."""
        try:
            while not (self._closing and self.backlog.done):
                try:
                    await self._session()
                    continue
                except ServiceError as e:
                    fatal = e.code in _FATAL or e.code == Close.TOO_BIG
                    # A second connection of a call the service still holds open
                    # is refused (4009) until it sees the first one gone: retry.
                    if fatal or (e.code == Close.CONFLICT and not self.connections):
                        log.error("publishing to %s stopped: %s", self.url, e)
                        return
                    problem = str(e)
                except (OSError, ConnectionClosed, asyncio.TimeoutError) as e:
                    problem = f"lost ({e or type(e).__name__})"
                wait = self._delay * random.uniform(0.8, 1.2)
                self._delay = min(self._delay * 2, self.retry[1])
                log.warning(
                    "publishing to %s: %s; %d event(s) kept, retrying in %.1f s",
                    self.url,
                    problem,
                    len(self.backlog),
                    wait,
                )
                await asyncio.sleep(wait)
        finally:
            backlog = self.backlog
            if backlog.dropped or backlog.lost or not backlog.done:
                log.warning(
                    "publishing call %s: %d reading(s) dropped and %d event(s) lost while "
                    "the service was away, %d not delivered",
                    self.info.call_id,
                    backlog.dropped,
                    backlog.lost,
                    len(backlog),
                )

    async def _session(self) -> None:
        async with connect(self.url, open_timeout=10) as ws:
            await ws.send(hello_message(self.info))
            reply = await _reply(ws)
            last_seq = reply.get("last_seq")
            if reply.get("type") != "publishing" or not isinstance(last_seq, int):
                raise ServiceError(Close.BAD_MESSAGE, f"{self.url} is not a publish endpoint")
            self.backlog.resume(last_seq)
            self.connections += 1
            self._delay = self.retry[0]
            log.info(
                "publishing call %s to %s after seq %d",
                self.info.call_id,
                self.url,
                last_seq,
            )
            reader = asyncio.create_task(self._read(ws), name="publish/acks")
            # The reader's end wakes the sender as an event offered does: one wait per
            # wake-up, no task made for each (a floor's publishers wake per event).
            reader.add_done_callback(lambda _: self._ready.set())
            try:
                while not (self._closing and self.backlog.done):
                    while (message := self.backlog.next()) is not None:
                        await ws.send(message)
                    if self._closing and self.backlog.done:
                        break
                    self._ready.clear()
                    if not reader.done():
                        await self._ready.wait()
                    if reader.done():
                        reader.result()  # the service's error, if it sent one
                        if not (self._closing and self.backlog.done):
                            raise ConnectionError("the service closed the connection")
            finally:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)

    async def _read(self, ws: ClientConnection) -> None:
        """Acknowledgements in, until the service closes; an error becomes ServiceError."""
        try:
            async for message in ws:
                try:
                    data = json.loads(message)
                except ValueError:
                    raise ServiceError(Close.BAD_MESSAGE, "the service sent no JSON") from None
                if data.get("type") == "error":
                    raise ServiceError(int(data["code"]), str(data["message"]))
                if data.get("type") == "ack":
                    self.backlog.acked(int(data["seq"]))
                self._ready.set()
        except ConnectionClosed as e:
            if e.rcvd is not None and e.rcvd.code >= 4000:
                raise ServiceError(e.rcvd.code, e.rcvd.reason) from None
            raise
