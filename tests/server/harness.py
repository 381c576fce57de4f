"""A real `edge serve` on loopback, run in a thread of its own for synchronous tests.

Tests talk to it with real websocket clients (``websockets.sync``) and a real
browser, as users would.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

from websockets.asyncio.client import connect as connect_async
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from edge.client import CallSpec, stream_call
from edge.config import Config
from edge.pipeline.engine import Engine
from edge.server.app import Service
from edge.server.options import ServerOptions


class ServiceThread:
    """Runs a :class:`Service` on ``port`` (0: a free one) in a background event loop."""

    def __init__(self, config: Config, engine: Engine | None, *, port: int = 0) -> None:
        server = dataclasses.replace(config.server, port=port)
        self.config = dataclasses.replace(config, server=server)
        self.engine = engine
        self.loop = asyncio.new_event_loop()
        self.service: Service | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> ServiceThread:
        self._thread.start()
        self.service = self.call(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        self.call(self.service.shutdown(), timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    async def _start(self) -> Service:
        service = Service(self.config, self.engine)
        await service.start()
        return service

    def call(self, coro: Any, timeout: float = 30) -> Any:
        """Run a coroutine on the service's loop and wait for its result."""
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    def run(self, fn: Any, *args: Any) -> Any:
        """Call a plain function on the service's loop (to read its state safely)."""

        async def inside() -> Any:
            return fn(*args)

        return self.call(inside())

    @property
    def http(self) -> str:
        return self.service.url

    @property
    def port(self) -> int:
        return self.service.port

    @property
    def ws(self) -> str:
        return self.service.url.replace("http", "ws", 1)


def options(**server: Any) -> ServerOptions:
    return ServerOptions(**server)


@contextlib.contextmanager
def subscriber(url: str, **hello: Any) -> Iterator[tuple[ClientConnection, dict[str, Any]]]:
    """A subscribed client and the server's `subscribed` reply."""
    with connect(url + "/subscribe", open_timeout=10, max_size=None) as ws:
        ws.send(json.dumps({"type": "subscribe", **hello}))
        reply = json.loads(ws.recv(timeout=10))
        yield ws, reply


def messages(ws: ClientConnection, *, until: str, timeout: float = 60) -> list[dict[str, Any]]:
    """Read JSON messages until one of type ``until`` (included); keepalives are skipped."""
    seen: list[dict[str, Any]] = []
    while True:
        data = receive(ws, timeout)
        seen.append(data)
        if data.get("type") == until:
            return seen


def receive(ws: ClientConnection, timeout: float = 60) -> dict[str, Any]:
    """The next JSON message that is not a ``keepalive`` (a quiet spell's filler)."""
    while (data := json.loads(ws.recv(timeout=timeout))).get("type") == "keepalive":
        pass
    return data


def upload(ws_url: str, audio: Any, call_id: str, **spec: Any) -> dict[str, Any]:
    """A recording streamed in as fast as the service takes it (live=False): the reply.

    A mono recording is the caller; a stereo one caller (left) and agent (right).
    """
    channels = ("caller", "agent") if audio.ndim == 2 else ("caller",)
    full = CallSpec(call_id=call_id, channels=channels, live=False, **spec)
    return asyncio.run(stream_call(ws_url + "/ingest", audio, full, realtime=False))


class Tap:
    """A websocket relay on loopback that records what clients send to the service.

    Clients connect to :attr:`ws` instead of the service; every message they
    send is kept in :attr:`seen` (text as ``str``, binary as ``bytes``) and
    passed on, and the service's answers and close come back unchanged. So a
    test asserts on what crosses the wire, not on what a client says it sent.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream  # ws://host:port of the service
        self.seen: list[str | bytes] = []
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._server: Any = None

    def __enter__(self) -> Tap:
        self._thread.start()
        self._server = self._call(self._serve())
        return self

    async def _serve(self) -> Any:
        return await serve(self._relay, "127.0.0.1", 0)

    def __exit__(self, *exc: object) -> None:
        self._server.close()
        self._call(self._server.wait_closed())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    async def _relay(self, client: ServerConnection) -> None:
        assert client.request is not None
        async with connect_async(self.upstream + client.request.path) as service:

            async def back() -> None:
                with contextlib.suppress(ConnectionClosed):
                    async for message in service:
                        await client.send(message)
                code = service.close_code or 1000
                await client.close(code if code != 1006 else 1011, service.close_reason or "")

            answers = asyncio.create_task(back())
            with contextlib.suppress(ConnectionClosed):
                async for message in client:
                    self.seen.append(message)
                    await service.send(message)
            await service.close()
            await asyncio.gather(answers, return_exceptions=True)


def until_closed(ws: ClientConnection, timeout: float = 60) -> list[dict[str, Any]]:
    """Read JSON messages until the service closes the connection."""
    seen: list[dict[str, Any]] = []
    with contextlib.suppress(ConnectionClosed):
        while True:
            seen.append(json.loads(ws.recv(timeout=timeout)))
    return seen
