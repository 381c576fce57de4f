"""A Genesys AudioHook client written from the specification, to drive `edge serve` in tests.

It plays Genesys Cloud's part (docs: edge/server/audiohook.py lists the spec
facts and where they come from): the handshake headers (organization,
correlation and session ids, ``X-API-KEY``, a request signature when a client
secret is given), ``open`` offering PCMU 8 kHz stereo and both mono channels,
audio after ``opened`` as interleaved mu-law frames in the selected channel
order at real-time pace, ``ping`` every few seconds with the last round trip
as ``rtt``, one client pause (``paused`` ... ``resumed`` with ``start`` and
``discarded``), and ``close`` answered by ``closed``. Every message carries
``seq`` (1, 2, 3, ...), ``serverseq`` (the last server ``seq`` seen) and
``position`` (the stream position: audio sent plus audio discarded).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt
from websockets.asyncio.client import ClientConnection, connect

from edge.audio import g711
from edge.server.audiohook import format_duration, sign

RATE = 8000
OFFER = [
    {"type": "audio", "format": "PCMU", "channels": ["external", "internal"], "rate": RATE},
    {"type": "audio", "format": "PCMU", "channels": ["external"], "rate": RATE},
    {"type": "audio", "format": "PCMU", "channels": ["internal"], "rate": RATE},
]


class Disconnected(Exception):
    """The server refused the session with ``disconnect`` (its parameters)."""

    def __init__(self, parameters: dict[str, Any]) -> None:
        super().__init__(f"{parameters.get('reason')}: {parameters.get('info')}")
        self.parameters = parameters


@dataclass
class AudioHookClient:
    """One AudioHook session against ``url`` (``ws://host:port/audiohook``)."""

    url: str
    api_key: str
    secret: str | None = None
    conversation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    custom_config: dict[str, Any] = field(default_factory=dict)
    offer: list[dict[str, Any]] = field(default_factory=lambda: list(OFFER))
    language: str = "en-US"
    frame_seconds: float = 0.1  # 100 ms frames, as the spec's figures show
    ping_every: float = 5.0
    session_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    received: list[dict[str, Any]] = field(default_factory=list)  # every server message
    selected: dict[str, Any] | None = None
    rtts: list[float] = field(default_factory=list)
    close_code: int | None = None  # the websocket close code, once closed

    def __post_init__(self) -> None:
        self._seq = 0
        self._serverseq = 0
        self._position = 0.0
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._ping: tuple[int, float] | None = None  # outstanding ping: seq, sent at
        self._rtt: float | None = None

    def headers(self) -> dict[str, str]:
        """The handshake headers Genesys sends, signed when there is a secret."""
        headers = {
            "Audiohook-Organization-Id": "d7934305-0972-4844-938e-9060eef73d05",
            "Audiohook-Correlation-Id": str(uuid.uuid4()),
            "Audiohook-Session-Id": self.session_id,
            "X-API-KEY": self.api_key,
        }
        if self.secret is not None:
            parts = urlsplit(self.url)
            signed = {"Host": parts.netloc, **headers}
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            nonce = os.urandom(16).hex()
            headers |= sign(signed, target, self.secret, created=int(time.time()), nonce=nonce)
        return headers

    async def stream(
        self,
        left: npt.NDArray[np.floating],
        right: npt.NDArray[np.floating] | None = None,
        *,
        pause: tuple[float, float] | None = None,
        realtime: bool = True,
    ) -> None:
        """Open, stream the recording (8 kHz: left external, right internal), close.

        ``pause`` = (at, seconds): a client pause from ``at`` s for ``seconds``,
        whose audio is discarded. Raises :class:`Disconnected` if refused.
        """
        async with connect(self.url, additional_headers=self.headers()) as ws:
            reader = asyncio.create_task(self._read(ws))
            try:
                await self._session(ws, left, right, pause, realtime)
            finally:
                # After closed the server hangs up: its close code says how it ended.
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(ws.wait_closed(), 10)
                self.close_code = ws.close_code
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)

    async def _session(
        self,
        ws: ClientConnection,
        left: npt.NDArray[np.floating],
        right: npt.NDArray[np.floating] | None,
        pause: tuple[float, float] | None,
        realtime: bool,
    ) -> None:
        parameters = {
            "organizationId": "d7934305-0972-4844-938e-9060eef73d05",
            "conversationId": self.conversation_id,
            "participant": {"id": str(uuid.uuid4()), "ani": "", "aniName": "", "dnis": ""},
            "media": self.offer,
            "language": self.language,
            "customConfig": self.custom_config,
        }
        await self.send(ws, "open", parameters)
        opened = await self._expect("opened", timeout=5)  # the spec's open timeout
        self.selected = opened["parameters"]["media"][0] if opened["parameters"]["media"] else None
        if self.selected is not None:
            channels = {"external": left, "internal": right if right is not None else left}
            tracks = [channels[c] for c in self.selected["channels"]]
            await self._audio(ws, np.stack(tracks, axis=1), pause, realtime)
        await self.send(ws, "close", {"reason": "end"})
        await self._expect("closed", timeout=10)  # the spec's close timeout
        await ws.close()  # the client hangs up after closed

    async def _audio(
        self,
        ws: ClientConnection,
        audio: npt.NDArray[np.floating],
        pause: tuple[float, float] | None,
        realtime: bool,
    ) -> None:
        step = int(self.frame_seconds * RATE)
        began = time.monotonic()
        next_ping = began + 1.0  # the first ping about a second after opened
        at = 0
        paused_at, pause_for = pause if pause is not None else (None, 0.0)
        while at < len(audio):
            if realtime:
                await asyncio.sleep(max(0.0, began + at / RATE - time.monotonic()))
            if time.monotonic() >= next_ping:
                await self._send_ping(ws)
                next_ping += self.ping_every
            if paused_at is not None and at >= paused_at * RATE:
                paused_at = None
                skip = int(pause_for * RATE)
                await self.send(ws, "paused", {})
                start = self._position
                if realtime:  # the pause lasts as long as the audio it discards
                    await asyncio.sleep(pause_for)
                at += skip
                self._position += skip / RATE
                discarded = format_duration(skip / RATE)
                await self.send(
                    ws, "resumed", {"start": format_duration(start), "discarded": discarded}
                )
                continue
            block = audio[at : at + step]
            codes = g711.pcm16_to_mulaw(g711.float_to_pcm16(block.reshape(-1)))
            await ws.send(codes.tobytes())  # interleaved: external, internal, external, ...
            at += len(block)
            self._position += len(block) / RATE

    async def _send_ping(self, ws: ClientConnection) -> None:
        parameters = {} if self._rtt is None else {"rtt": format_duration(self._rtt)}
        seq = await self.send(ws, "ping", parameters)
        self._ping = (seq, time.monotonic())

    async def send(self, ws: ClientConnection, kind: str, parameters: dict[str, Any]) -> int:
        """Send one client message with the sequence bookkeeping; its seq."""
        self._seq += 1
        message = {
            "version": "2",
            "id": self.session_id,
            "type": kind,
            "seq": self._seq,
            "serverseq": self._serverseq,
            "position": format_duration(self._position),
            "parameters": parameters,
        }
        await ws.send(json.dumps(message))
        return self._seq

    async def _read(self, ws: ClientConnection) -> None:
        """Every server message: check its seq, answer what needs an answer, queue it."""
        async for raw in ws:
            message = json.loads(raw)
            self.received.append(message)
            assert message["seq"] == self._serverseq + 1, message  # the spec's rule
            assert message["clientseq"] <= self._seq, message
            self._serverseq = message["seq"]
            if message["type"] == "pong" and self._ping is not None:
                seq, sent = self._ping
                assert message["clientseq"] >= seq  # answers our ping
                self._rtt = time.monotonic() - sent
                self.rtts.append(self._rtt)
                self._ping = None
            if message["type"] == "disconnect":
                await self.send(ws, "close", {"reason": "disconnect"})
            await self._inbox.put(message)

    async def _expect(self, kind: str, timeout: float) -> dict[str, Any]:
        """The next server message of type ``kind`` (a ``disconnect`` raises)."""
        while True:  # wait_for, not asyncio.timeout: Python 3.10 too
            message = await asyncio.wait_for(self._inbox.get(), timeout)
            if message["type"] == kind:
                return message
            if message["type"] == "disconnect":
                await self._expect("closed", timeout)
                raise Disconnected(message["parameters"])
