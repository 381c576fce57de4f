"""``edge serve``: the asyncio glue between websockets, the pipeline and the hub.

One process, one ``websockets`` server:

* ``/ingest`` (also ``/twilio``): call audio in, one call per connection
  (:mod:`edge.server.ingest` speaks the protocols);
* ``/audiohook``: Genesys Cloud AudioHook sessions, one call each
  (:mod:`edge.server.audiohook` speaks the protocol);
* ``/publish``: the events of a call analysed elsewhere (``edge run --publish``),
  one call per connection (:mod:`edge.server.publish` speaks the protocol);
* ``/subscribe``: agents, wallboards and call detail out
  (:mod:`edge.server.subscribe` speaks the protocol; the hub, through
  :class:`~edge.server.hub_protocol.CallHub`, holds the calls and fans out);
* plain HTTP on the same port: the pages (``/agent``, ``/wallboard``),
  ``/healthz``, ``/readyz`` and ``/metrics`` (GET and HEAD; other methods 405).

Every request's ``Host`` must be a name the service answers to
(:func:`host_allowed`, ``[server] allowed_hosts``), so a page on another site
cannot reach it through DNS rebinding; a browser's ``Origin`` must be one of
those hosts on the same port, or one of ``[server] allowed_origins``.

Every call runs in its own :class:`~edge.pipeline.call.Call` on the shared
:class:`~edge.pipeline.engine.Engine`. Tasks are owned by the connection
handler that started them; :meth:`Service.shutdown` stops intake, flushes the
calls within ``drain_seconds`` and closes every socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import http
import ipaddress
import logging
import re
import ssl
import time
from collections.abc import AsyncIterator, Generator
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed, InvalidMessage
from websockets.http11 import Request, Response
from websockets.server import ServerProtocol

from edge import logcontext
from edge.config import Config
from edge.events import HandoffRecommended
from edge.feedback.store import VerdictStore, VerdictWriter
from edge.fleet.stats import BusStats
from edge.pipeline.call import Call
from edge.pipeline.engine import Engine
from edge.server import pages
from edge.server.audiohook import AudioHookSession
from edge.server.audiohook import Reply as AudioHookReply
from edge.server.auth import Tokens, require
from edge.server.eventlog import EventLog
from edge.server.hub import Hub, Subscription, View
from edge.server.hub_protocol import CallHub
from edge.server.ingest import (
    Audio,
    Ignored,
    IngestSession,
    Pressed,
    SourcePace,
    Started,
    Stopped,
    started_message,
    stopped_message,
)
from edge.server.metrics import Metrics
from edge.server.options import ServerOptions, TokenRole
from edge.server.outbox import Outbox
from edge.server.protocol import Close, Refused, error_message, shown
from edge.server.publish import PublishInfo, PublishSession, ended_event
from edge.server.subscribe import (
    Acknowledge,
    Feedback,
    Reply,
    Subscribe,
    SubscribeSession,
    feedback_recorded_message,
    keepalive_message,
    subscribed_message,
)
from edge.server.summary import CallMeta
from edge.server.webhook import WebhookSender

log = logging.getLogger(__name__)

INGEST_PATHS = ("/ingest", "/twilio")
AUDIOHOOK_PATH = "/audiohook"
AUDIOHOOK_CLOSE_WAIT = 5.0  # seconds a refused AudioHook client gets to send close
SUBSCRIBE_PATH = "/subscribe"
PUBLISH_PATH = "/publish"
WEBSOCKET_PATHS = (*INGEST_PATHS, AUDIOHOOK_PATH, SUBSCRIBE_PATH, PUBLISH_PATH)
PRUNE_EVERY = 5.0
STALL_GRACE = 1.0  # seconds an overflowed subscriber's sender may take to finish its send
ALLOW = "GET, HEAD"
SINGLE_HEADERS = ("Host", "Origin", "Authorization", "X-API-KEY")  # twice in one request: 400


class HideSecrets(logging.Filter):
    """Blanks the credentials websockets' debug log would print (``--debug``).

    The library logs every handshake header and request line at debug level:
    the ``Authorization: Bearer ...`` header and a ``?token=...`` query would
    land in the log as they are (issue 12).
    """

    _SECRETS = (
        re.compile(r"(authorization:\s*)\S.*", re.IGNORECASE),
        re.compile(r"(x-api-key:\s*)\S.*", re.IGNORECASE),  # AudioHook's token
        re.compile(r"([?&;]token=)[^&;#\s]*", re.IGNORECASE),
    )

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = message
        for secret in self._SECRETS:
            hidden = secret.sub(r"\1[hidden]", hidden)
        if hidden != message:
            record.msg, record.args = hidden, ()
        return True


HIDE_SECRETS = HideSecrets()
for _name in ("websockets.server", "websockets.client"):  # the loggers websockets logs to
    logging.getLogger(_name).addFilter(HIDE_SECRETS)


def host_allowed(host: str, options: ServerOptions) -> bool:
    """Whether ``host`` (a Host header: name or IP, optional port) names this service.

    Accepted: the names in ``allowed_hosts``; ``localhost``; the bound host;
    any IP literal. A rebinding page always arrives with its own site's *name*
    (its Origin is that name), never with an IP literal or ``localhost``,
    which browsers resolve themselves; so bound to every interface
    (``0.0.0.0``), clients that use a DNS name need it in ``allowed_hosts``.
    """
    try:
        name = urlsplit("//" + host).hostname
    except ValueError:
        return False
    if not name:
        return False
    names = {n.lower().rstrip(".") for n in (*options.allowed_hosts, options.host, "localhost")}
    if name.rstrip(".") in names:
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _port(netloc: str) -> int | None:
    try:
        return urlsplit("//" + netloc).port
    except ValueError:
        return -1  # matches no other


def _bearer(ws: ServerConnection) -> str | None:
    """The token of an ``Authorization: Bearer`` header, if the handshake had one."""
    value = ws.request.headers.get("Authorization", "") if ws.request else ""
    return value[7:].strip() or None if value.lower().startswith("bearer ") else None


def _peer(ws: ServerConnection) -> str:
    address = ws.remote_address
    return f"{address[0]}:{address[1]}" if address else "?"


class _Session(Protocol):
    """What the handlers need of an ingest protocol's state machine (native, Twilio, AudioHook)."""

    @property
    def position(self) -> float: ...

    def text(self, message: str) -> object: ...

    def binary(self, message: bytes) -> object: ...

    def timed_out(self, seconds: float) -> Refused: ...


@dataclass(eq=False)
class _Published:
    """A call a workstation analyses and publishes; ``ws`` None while it is away."""

    source: str
    session: PublishSession
    ws: ServerConnection | None
    grace: asyncio.Task[None] | None = None  # ends the call unless the workstation returns


@dataclass
class _LiveCall:
    call: Call
    ws: ServerConnection
    pace: SourcePace | None = None  # live calls: the source's allowance
    position: float = 0.0  # stream seconds charged to it


class Service:
    """The running service: shared engine, hub, tokens and the websocket server."""

    # The embedded hub (this process is the whole system), or the fleet's
    # ([fleet] redis_url): one protocol, two implementations (issue 16).
    hub: CallHub

    def __init__(self, config: Config, engine: Engine | None = None) -> None:
        self.config = config
        self.engine: Engine | None = None  # until loaded: /readyz says 503, ingest: try later
        self.tokens = Tokens(config.tokens)
        self.metrics = Metrics()
        if engine is not None:
            self.set_engine(engine)
        self.event_log = (
            EventLog(
                config.privacy.event_log,
                retention_days=config.privacy.retention_days,
                lost=self.metrics.event_log_lost.inc,
            )
            if config.privacy.event_log is not None
            else None
        )
        self.verdicts = (
            VerdictWriter(
                VerdictStore(config.feedback.store_path()),
                site=config.feedback.site_name(),
                cues=dataclasses.asdict(config.pipeline.cues),
                retention_days=config.feedback.retention_days,
                lost=self.metrics.feedback_lost.inc,
            )
            if config.feedback.keep
            else None
        )
        record = self.event_log.write if self.event_log else None
        keep = self.verdicts.put if self.verdicts else None
        if config.fleet.enabled:
            from edge.fleet.hub import FleetHub  # the Redis client only when it is used

            self.hub = FleetHub(
                config.fleet,
                config.privacy,
                resume_events=config.server.resume_events,
                record=record,
                keep=keep,
            )
        else:
            self.hub = Hub(
                config.privacy,
                resume_events=config.server.resume_events,
                record=record,
                keep=keep,
            )
        self.webhook = (
            WebhookSender(
                config.handoff,
                counted=lambda result: self.metrics.handoff_deliveries.labels(result=result).inc(),
            )
            if config.handoff.url
            else None
        )
        self.server: Server | None = None
        self.live: dict[str, _LiveCall] = {}
        self.connections = 0  # open websocket connections (server.max_connections)
        self.paces: dict[str, SourcePace] = {}  # per ingest source (bounded by the tokens)
        self.published: dict[str, _Published] = {}  # calls analysed on workstations
        self._closing = False
        self._housekeeping: asyncio.Task[None] | None = None

    # -- lifecycle ----------------------------------------------------------

    def set_engine(self, engine: Engine) -> None:
        """The models are loaded: the service is ready for calls."""
        self.metrics.attach(engine)
        self.engine = engine

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        scheme = "https" if self.config.server.tls_cert else "http"
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(
            self.config.server.host, self.config.server.host
        )
        if ":" in host:  # IPv6
            host = f"[{host}]"
        return f"{scheme}://{host}:{self.port}"

    async def start(self) -> None:
        if self.verdicts is not None:  # first: an unwritable store stops the start at once
            await asyncio.to_thread(self.verdicts.start)
        options = self.config.server
        tls = None
        if options.tls_cert and options.tls_key:
            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.load_cert_chain(options.tls_cert, options.tls_key)
        try:
            self.server = await serve(
                self._handle,
                options.host,
                options.port,
                process_request=self._http,
                create_connection=_Connection,
                max_size=options.max_message_bytes,
                # Deflating each message to each subscriber costs the node CPU per event
                # per subscriber (issue 16's bench_fleet); a LAN does not need the bytes saved.
                compression="deflate" if options.compress else None,
                ping_interval=options.ping_interval,
                ping_timeout=options.ping_timeout,
                ssl=tls,
                server_header=None,
            )
        except BaseException:
            if self.verdicts is not None:
                await asyncio.to_thread(self.verdicts.close)
            raise
        self._housekeeping = asyncio.create_task(self._keep_house(), name="edge-housekeeping")
        if self.webhook is not None:
            self.webhook.start()
        await self.hub.start()
        if self.event_log is not None:
            await self.event_log.start()

    async def shutdown(self) -> None:
        """Stop intake, flush live calls within the deadline, close every socket."""
        if self._closing or self.server is None:
            return
        self._closing = True  # new websockets get 503, /readyz says so: still listening
        deadline = self.config.server.drain_seconds
        log.info("shutting down: %d live call(s), %.0f s to finish", len(self.live), deadline)
        # wait_for, not asyncio.timeout: the service runs on Python 3.10 too.
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._drain(), deadline)
        self.server.close(close_connections=False)  # stop listening
        for live in list(self.live.values()):
            await live.call.cancel()
        graces = [p.grace for p in self.published.values() if p.grace is not None]
        for grace in graces:
            grace.cancel()
        await asyncio.gather(*graces, return_exceptions=True)
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            await asyncio.gather(self._housekeeping, return_exceptions=True)
        # The close() above decided the server's own closing (it acts only
        # once), so the connections still open, subscribers, are closed here.
        goodbyes = [
            ws.close(Close.GOING_AWAY, "server shutting down") for ws in self.server.connections
        ]
        await asyncio.gather(*goodbyes, return_exceptions=True)
        await self.server.wait_closed()
        await self.hub.close()  # after the calls' last events: they reach the other nodes
        if self.webhook is not None:  # the calls' last hand-offs, within the deadline
            await self.webhook.close(deadline)
        if self.event_log is not None:
            await self.event_log.close()
        if self.verdicts is not None:
            await asyncio.to_thread(self.verdicts.close)

    async def _drain(self) -> None:
        """End intake (each ingest handler then flushes its call), then deliver what is queued."""
        closing = [
            live.ws.close(Close.GOING_AWAY, "server shutting down") for live in self.live.values()
        ]
        # Publishers hear what the service holds, then go: they resend the rest
        # to whatever serves next, without gaps or duplicates.
        closing += [self._let_go(p.ws, p.session) for p in self.published.values() if p.ws]
        await asyncio.gather(*closing, return_exceptions=True)
        while self.live:
            await asyncio.sleep(0.05)
        for sub in list(self.hub.subscriptions):  # let subscribers receive the ends
            while len(sub.outbox) and sub in self.hub.subscriptions:
                await asyncio.sleep(0.05)

    async def _keep_house(self) -> None:
        while True:
            await asyncio.sleep(PRUNE_EVERY)
            self.hub.prune()
            for call_id in [c for c in self.published if c not in self.hub.calls]:
                del self.published[call_id]
            if self.event_log is not None:
                await self.event_log.prune()

    # -- gauges: what /metrics reads (edge.server.metrics.Gauges) -----------

    def live_calls(self) -> int:
        return len(self.live) + sum(p.ws is not None for p in self.published.values())

    def queued_frames(self) -> int:
        return sum(live.call.queued_frames for live in self.live.values())

    def open_connections(self) -> int:
        return self.connections

    def subscribers(self, view: View) -> int:
        return sum(s.view is view for s in self.hub.subscriptions)

    def dropped_readings(self) -> int:
        return self.hub.dropped

    def ready(self) -> bool:
        return self.engine is not None or not self.config.fleet.analyse

    def bus(self) -> BusStats | None:
        return self.hub.bus()

    def load_step(self) -> int:
        return int(self.engine.step) if self.engine is not None else 0

    def lag_seconds(self) -> float:
        return self.engine.governor.lag if self.engine is not None else 0.0

    def held_calls(self) -> int:
        return len(self.hub.calls)

    def outbox_messages(self) -> int:
        return sum(len(s.outbox) for s in self.hub.subscriptions)

    def tasks(self) -> int:
        return len(asyncio.all_tasks())

    # -- plain HTTP ---------------------------------------------------------

    def _http(self, ws: ServerConnection, request: Request) -> Response | None:
        """Answer plain HTTP, or check a websocket handshake and let it go on (None)."""
        response = self._answer(ws, request)
        if request.method == "HEAD" and response is not None:
            return dataclasses.replace(response, body=b"")  # Content-Length says the GET's
        return response

    def _answer(self, ws: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        websocket = path in WEBSOCKET_PATHS
        if request.method not in ("GET", "HEAD") or (websocket and request.method != "GET"):
            return _not_allowed("GET" if websocket else ALLOW)
        for name in SINGLE_HEADERS:
            if len(request.headers.get_all(name)) > 1:
                log.info("refused %s from %s: %s header twice", path, _peer(ws), name)
                return _text(http.HTTPStatus.BAD_REQUEST, f"one {name} header, please\n")
        if path == "/healthz":
            return _text(http.HTTPStatus.OK, "ok\n")
        if path == "/readyz":
            if self._closing:
                return _text(http.HTTPStatus.SERVICE_UNAVAILABLE, "shutting down\n")
            if self.engine is None and self.config.fleet.analyse:
                return _text(http.HTTPStatus.SERVICE_UNAVAILABLE, "models loading\n")
            if self.engine is not None and self.engine.full:
                return _text(http.HTTPStatus.SERVICE_UNAVAILABLE, "at capacity\n")
            # A bus down is said, not a 503: this node still serves its own calls,
            # and a balancer taking every node out at once would serve none.
            problem = self.hub.problem()
            return _text(http.HTTPStatus.OK, f"ready; {problem}\n" if problem else "ready\n")
        host = request.headers.get("Host", "")
        if not host_allowed(host, self.config.server):
            log.warning(
                "refused %s from %s: host %s not allowed (server.allowed_hosts)",
                path,
                _peer(ws),
                shown(host),
            )
            return _text(
                http.HTTPStatus.FORBIDDEN, "host not allowed: add it to server.allowed_hosts\n"
            )
        if websocket:
            origin = request.headers.get("Origin")
            if origin is not None and not self._origin_ok(origin, host):
                log.warning(
                    "refused %s from %s: origin %s not allowed", path, _peer(ws), shown(origin)
                )
                return _text(http.HTTPStatus.FORBIDDEN, "origin not allowed\n")
            if self._closing:
                return _text(http.HTTPStatus.SERVICE_UNAVAILABLE, "shutting down\n")
            if self.connections >= self.config.server.max_connections:
                log.warning("refused %s from %s: connection limit reached", path, _peer(ws))
                return _text(http.HTTPStatus.SERVICE_UNAVAILABLE, "too many connections\n")
            return None  # the websocket handshake goes on
        if path == "/metrics":
            body, content_type = self.metrics.render(self)
            return _response(http.HTTPStatus.OK, body, content_type)
        page = pages.find(path)
        if page is None:
            return _text(http.HTTPStatus.NOT_FOUND, "not found\n")
        body, content_type = page
        return _response(http.HTTPStatus.OK, body, content_type, pages.HEADERS)

    def _origin_ok(self, origin: str, host: str) -> bool:
        """A configured origin, or one of this service's hosts on the port the client used."""
        if origin in self.config.server.allowed_origins:
            return True
        parts = urlsplit(origin)
        return (
            parts.scheme in ("http", "https")
            and host_allowed(parts.netloc, self.config.server)
            and _port(parts.netloc) == _port(host)
        )

    # -- websockets ---------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        path = urlsplit(ws.request.path).path if ws.request else ""
        self.connections += 1
        try:
            if path in INGEST_PATHS:
                await self._ingest(ws)
            elif path == SUBSCRIBE_PATH:
                await self._subscribe(ws)
            elif path == AUDIOHOOK_PATH:
                await self._audiohook(ws)
            elif path == PUBLISH_PATH:
                await self._publish(ws)
            else:
                await _refuse(ws, Refused(Close.NOT_FOUND, f"no websocket endpoint at {path}"))
        finally:
            self.connections -= 1

    async def _ingest(self, ws: ServerConnection) -> None:
        options = self.config.server
        session = IngestSession(max_ahead_seconds=options.max_ahead_seconds)
        live: _LiveCall | None = None
        consumer: asyncio.Task[None] | None = None
        peer = _peer(ws)
        deadline = asyncio.get_running_loop().time() + options.hello_timeout  # see _receive
        try:
            while True:
                result = await self._receive(ws, session, started=live is not None, until=deadline)
                if isinstance(result, Started):
                    live, consumer = await self._start_call(ws, result, peer)
                    # Only now: a client already gone fails this send, and the
                    # finally below must know the call to end it (it leaked).
                    await ws.send(started_message(result.info))
                elif isinstance(result, Audio):
                    assert live is not None
                    await self._take(live, result, session.position)
                elif isinstance(result, Pressed):
                    assert live is not None
                    await live.call.press(result.digit)
                elif isinstance(result, Stopped):
                    assert live is not None and consumer is not None
                    await self._take(live, result, session.position)
                    await live.call.finish()
                    await consumer
                    await ws.send(stopped_message(live.call.call_id, live.call.dropped_frames))
                    await ws.close(Close.NORMAL, "call ended")
                    return
        except Refused as e:
            self.metrics.ingest_errors.labels(code=str(int(e.code))).inc()
            e = self._scrubbed(e)
            log.warning("ingest from %s refused: %s", peer, e)
            await _refuse(ws, e)
        except ConnectionClosed:
            pass
        finally:
            if live is not None:
                await self._end_call(live, consumer)

    async def _receive(
        self, ws: ServerConnection, session: _Session, *, started: bool, until: float
    ) -> object:
        """The next message as ``session`` reads it.

        Until its call starts a connection holds a slot of max_connections
        without a token, so it gets ``hello_timeout`` in all (``until``); a started
        call gets ``idle_timeout`` per message, counting only the wait for the
        socket, so an upload read at the pipeline's pace is not cut (issue 12).
        """
        options = self.config.server
        wait = options.idle_timeout if started else until - asyncio.get_running_loop().time()
        try:
            message = await asyncio.wait_for(ws.recv(), max(wait, 0.0))
        except asyncio.TimeoutError:
            seconds = options.idle_timeout if started else options.hello_timeout
            raise session.timed_out(seconds) from None
        return session.text(message) if isinstance(message, str) else session.binary(message)

    async def _take(self, live: _LiveCall, result: Audio | Stopped, position: float) -> None:
        """A session's frames into its call, charged to the source's real-time allowance."""
        if live.pace is not None and isinstance(result, Audio):
            live.pace.take(position - live.position)
            live.position = position
        for frame in result.frames:
            await live.call.push(frame)

    async def _start_call(
        self, ws: ServerConnection, started: Started, peer: str
    ) -> tuple[_LiveCall, asyncio.Task[None]]:
        info = started.info
        principal = self.tokens.authenticate(info.token or _bearer(ws))
        require(principal, TokenRole.INGEST)
        if not self.config.fleet.analyse:
            raise Refused(
                Close.TRY_LATER,
                "this node analyses no audio ([fleet] analyse = false): "
                "send calls to an analysis node, or publish their events (edge run --publish)",
            )
        if self.engine is None or self._closing:
            raise Refused(Close.TRY_LATER, "the service is not ready: retry in a few seconds")
        if self.engine.full:
            self.metrics.refused_at_capacity.inc()
            raise Refused(
                Close.TRY_LATER,
                f"the service is at capacity (its calls are {self.engine.governor.lag:.0f} s "
                "behind): send this call to another node, or retry in a minute",
            )
        source = principal.source or "open"
        if self.hub.active_calls(source) >= self.config.server.max_calls_per_source:
            raise Refused(
                Close.TOO_MANY,
                f"source {source!r} already streams {self.config.server.max_calls_per_source} "
                "calls: the limit is server.max_calls_per_source",
            )
        logcontext.call_id.set(info.call_id)  # this handler's task and those it starts
        meta = CallMeta(
            call_id=info.call_id,
            agent_id=info.agent_id,
            team=info.team,
            source=source,
            started_at=time.time(),
            automated=info.automated,
        )
        await self.hub.claim(meta)  # 4009 if another node streams it
        self.hub.open_call(meta)
        handoff = self.config.handoff if info.automated else None
        call = Call(self.engine, info.call_id, info.roles, live=info.live, handoff=handoff)
        await call.__aenter__()
        if not info.live and ws.keepalive_task is not None:
            # An upload's socket is read only as fast as the pipeline goes, so a
            # pong could wait behind audio for minutes: TCP keeps it alive instead.
            ws.keepalive_task.cancel()
        live = _LiveCall(call, ws)
        if info.live:
            if source not in self.paces:
                ahead = self.config.server.max_ahead_seconds
                self.paces[source] = SourcePace(source, ahead, time.monotonic)
            live.pace = self.paces[source]
            live.pace.calls += 1
        self.live[info.call_id] = live
        consumer = asyncio.create_task(self._consume(call, meta), name=f"{info.call_id}/events")
        self.metrics.calls_started.inc()
        log.info(
            "call %s started: %s from %s (%s, agent %r, team %r)",
            info.call_id,
            "+".join(r.value for r in info.roles),
            source,
            info.dialect.value,
            info.agent_id,
            info.team,
        )
        return live, consumer

    async def _audiohook(self, ws: ServerConnection) -> None:
        """A Genesys AudioHook session: the same call path as ``/ingest``, its own protocol.

        Refusals follow the spec: a ``disconnect`` message, then the client's
        ``close`` is answered with ``closed`` and the socket closed with the
        refusal's code (or closed after :data:`AUDIOHOOK_CLOSE_WAIT` seconds).
        """
        options = self.config.server
        request = ws.request
        assert request is not None
        session = AudioHookSession(
            request.headers,
            request.path,
            tokens=self.tokens,
            max_ahead_seconds=options.max_ahead_seconds,
        )
        live: _LiveCall | None = None
        consumer: asyncio.Task[None] | None = None
        peer = _peer(ws)
        deadline = asyncio.get_running_loop().time() + options.hello_timeout  # for ``open``
        try:
            while True:
                result = await self._receive(ws, session, started=live is not None, until=deadline)
                if isinstance(result, Started):
                    live, consumer = await self._start_call(ws, result, peer)
                    await ws.send(session.opened())
                elif isinstance(result, AudioHookReply):
                    await ws.send(result.message)
                    if result.last:
                        await _hang_up(ws)
                        return
                elif isinstance(result, Audio):
                    assert live is not None
                    await self._take(live, result, session.position)
                elif isinstance(result, Stopped):
                    assert live is not None and consumer is not None
                    await self._take(live, result, session.position)
                    await live.call.finish()
                    await consumer  # the last events go out before ``closed``
                    await ws.send(session.closed())
                    await _hang_up(ws)
                    return
        except Refused as e:
            self.metrics.ingest_errors.labels(code=str(int(e.code))).inc()
            e = self._scrubbed(e)
            log.warning("AudioHook session from %s refused: %s", peer, e)
            await self._disconnect(ws, session, e)
        except ConnectionClosed:
            pass
        finally:
            if live is not None:
                await self._end_call(live, consumer)

    async def _disconnect(
        self, ws: ServerConnection, session: AudioHookSession, e: Refused
    ) -> None:
        """Refuse an AudioHook session the spec's way: disconnect, await close, closed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + AUDIOHOOK_CLOSE_WAIT
        with contextlib.suppress(ConnectionClosed, asyncio.TimeoutError, Refused):
            await ws.send(session.disconnect(e))
            while True:
                message = await asyncio.wait_for(ws.recv(), max(deadline - loop.time(), 0.0))
                result = session.text(message) if isinstance(message, str) else Ignored()
                if isinstance(result, AudioHookReply):
                    await ws.send(result.message)
                    break
        reason = str(e).encode()[:120].decode(errors="ignore")
        with contextlib.suppress(ConnectionClosed):
            await ws.close(e.code, reason)

    async def _consume(self, call: Call, meta: CallMeta) -> None:
        async for event in call.events():
            self.metrics.observe(event)
            self.hub.publish(call.call_id, event)
            if isinstance(event, HandoffRecommended):
                self.metrics.handoffs.labels(reason=event.reason.value).inc()
                log.info("call %s: hand-off recommended (%s)", call.call_id, event.reason.value)
                if self.webhook is not None:
                    self.webhook.offer(meta, event)

    async def _end_call(self, live: _LiveCall, consumer: asyncio.Task[None] | None) -> None:
        """The ingest connection is gone: flush what the call heard, then let it go."""
        call = live.call
        try:
            await call.finish()
            if consumer is not None:
                await consumer
        except asyncio.CancelledError:
            await call.cancel()
            raise
        except Exception:
            self.metrics.model_errors.labels(stage="call").inc()
            log.exception("call %s failed while finishing", call.call_id)
            await call.cancel()
        finally:
            self.live.pop(call.call_id, None)
            record = self.hub.calls.get(call.call_id)
            if record is not None and record.ended_at is None:
                # Cut short (cancelled, or failed while finishing): no call.ended came
                # out, so the subscribers would wait for ever and the id stay taken (4009).
                self.hub.publish(call.call_id, call.ended_event())
            if live.pace is not None:
                live.pace.calls -= 1
            self.metrics.dropped_frames.inc(call.dropped_frames)
            log.info("call %s ended (%d frames dropped)", call.call_id, call.dropped_frames)

    async def _publish(self, ws: ServerConnection) -> None:
        """A workstation's analysed call: its events go to the hub as if analysed here."""
        options = self.config.server
        session = PublishSession(rate=options.publish_rate, burst=options.publish_burst)
        peer = _peer(ws)
        info: PublishInfo | None = None
        try:
            try:
                first = await asyncio.wait_for(ws.recv(), options.hello_timeout)
            except asyncio.TimeoutError:
                raise session.timed_out(options.hello_timeout) from None
            info = session.hello(first)
            logcontext.call_id.set(info.call_id)
            last_seq = await self._attach_publisher(ws, info, session)
            await ws.send(session.publishing(last_seq))
            async for message in ws:
                if self._closing:
                    # Shutting down: what was published is acknowledged (_let_go),
                    # the rest the workstation resends to the next service.
                    continue
                accepted = session.event(message)
                self.metrics.observe(accepted.event)
                self.hub.publish(info.call_id, accepted.event)
                if accepted.ack is not None:
                    await ws.send(accepted.ack)
                if session.ended:
                    await ws.close(Close.NORMAL, "call ended")
        except Refused as e:
            self.metrics.ingest_errors.labels(code=str(int(e.code))).inc()
            e = self._scrubbed(e)
            log.warning("publisher %s refused: %s", peer, e)
            await _refuse(ws, e)
        except ConnectionClosed:
            pass
        finally:
            if info is not None:
                self._detach_publisher(ws, info.call_id)

    async def _attach_publisher(
        self, ws: ServerConnection, info: PublishInfo, session: PublishSession
    ) -> int:
        """Open the call, or take back one whose workstation was away: the last seq held.

        A call id is one call: a call streaming (analysed here, or published by a
        connection still open) refuses a second with 4009; so does another source
        asking for a call it did not publish.
        """
        principal = self.tokens.authenticate(info.token or _bearer(ws))
        require(principal, TokenRole.INGEST)
        if self._closing:
            raise Refused(Close.TRY_LATER, "the service is shutting down: retry in a few seconds")
        source = principal.source or "open"
        known = self.published.get(info.call_id)
        if known is None and (adopted := await self.hub.adopt(info.call_id, source)) is not None:
            # Another node served it, and its workstation came here (that node went).
            self.published[info.call_id] = _Published(source, session, ws)
            log.info(
                "call %s: publisher from %s taken over at seq %d", info.call_id, source, adopted
            )
            return adopted
        record = self.hub.calls.get(info.call_id)
        if known is not None and known.source == source and known.ws is None:
            if known.session.ended:
                # It sent call.ended and was not told it arrived (the last ack
                # lost): it learns the service holds it all.
                session.mark_ended()
                return known.session.last_seq
            assert known.grace is not None  # away, within its grace
            known.grace.cancel()
            known.ws, known.grace = ws, None
            session.last_seq = known.session.last_seq
            known.session = session
            log.info(
                "call %s: publisher back from %s at seq %d", info.call_id, source, session.last_seq
            )
            return session.last_seq
        if record is not None and record.ended_at is None:
            raise Refused(
                Close.CONFLICT,
                f"call id {info.call_id!r} is already streaming: use a new call id per call",
            )
        if self.hub.active_calls(source) >= self.config.server.max_calls_per_source:
            raise Refused(
                Close.TOO_MANY,
                f"source {source!r} already streams {self.config.server.max_calls_per_source} "
                "calls: the limit is server.max_calls_per_source",
            )
        meta = CallMeta(
            call_id=info.call_id,
            agent_id=info.agent_id,
            team=info.team,
            source=source,
            started_at=time.time(),
        )
        await self.hub.claim(meta)  # 4009 if another node streams it
        self.hub.open_call(meta)
        self.published[info.call_id] = _Published(source, session, ws)
        self.metrics.calls_started.inc()
        log.info(
            "call %s published by %s (agent %r, team %r)",
            info.call_id,
            source,
            info.agent_id,
            info.team,
        )
        return 0

    def _detach_publisher(self, ws: ServerConnection, call_id: str) -> None:
        """The publisher's connection is gone: the call ends, or waits for it to return."""
        known = self.published.get(call_id)
        if known is None or known.ws is not ws:
            return  # refused before it was attached
        known.ws = None
        if self._closing:
            del self.published[call_id]
            return
        if known.session.ended:
            return  # kept while the hub holds the call (_keep_house), for a lost last ack
        known.grace = asyncio.create_task(self._grace(call_id, known), name=f"{call_id}/grace")
        log.info(
            "call %s: publisher gone; the call ends unless it is back within %g s",
            call_id,
            self.config.server.publisher_grace,
        )

    async def _grace(self, call_id: str, known: _Published) -> None:
        """End a published call whose workstation did not come back in time.

        Forgotten here at once: a workstation back later starts a new record of the call.
        """
        await asyncio.sleep(self.config.server.publisher_grace)
        if self.published.get(call_id) is not known:
            return
        del self.published[call_id]
        record = self.hub.calls.get(call_id)
        if record is None or record.ended_at is not None:
            return
        assert known.session.info is not None
        ended = ended_event(
            known.session.info.call_id, known.session.last_seq, record.summary.duration
        )
        self.hub.publish(call_id, ended)
        log.warning("call %s ended: its publisher did not come back", call_id)

    async def _let_go(self, ws: ServerConnection, session: PublishSession) -> None:
        """Shutting down: acknowledge all a publisher sent, then close (it comes back later)."""
        with contextlib.suppress(ConnectionClosed):
            await ws.send(session.ack())
            await ws.close(Close.GOING_AWAY, "server shutting down")

    async def _subscribe(self, ws: ServerConnection) -> None:
        peer = _peer(ws)
        session = SubscribeSession(self.tokens, self.hub.calls, bearer=_bearer(ws))
        try:
            first = await asyncio.wait_for(ws.recv(), self.config.server.hello_timeout)
            request = session.receive(first)
        except asyncio.TimeoutError:
            await _refuse(ws, session.timed_out())
            return
        except Refused as e:
            e = self._scrubbed(e)
            log.warning("subscriber %s refused: %s", peer, e)
            await _refuse(ws, e)
            return
        except ConnectionClosed:
            return
        assert isinstance(request, Subscribe)
        sub = request.subscription(Outbox(self.config.server.client_queue), peer)
        try:
            await ws.send(
                subscribed_message(sub, self.config.privacy.share, self.config.server.keepalive)
            )
        except ConnectionClosed:
            log.info("subscriber %s gone before it was subscribed", peer)
            return
        self.hub.attach(sub, request.resume)
        sender = asyncio.create_task(self._send_loop(ws, sub), name=f"send/{peer}")
        watcher = asyncio.create_task(self._drop_if_stalled(ws, sub, sender), name=f"stall/{peer}")
        try:
            async for message in ws:
                result = session.receive(message)
                if isinstance(result, Feedback):
                    await self._feedback(ws, sub, result)
                elif isinstance(result, Acknowledge):
                    await self._acknowledge(ws, sub, result)
                elif isinstance(result, Reply):
                    await ws.send(result.message)
        except Refused as e:
            await _refuse(ws, self._scrubbed(e))
        except ConnectionClosed as e:
            if e.rcvd is None:  # no close frame: reset or dropped, not a goodbye
                log.info("subscriber %s disconnected without closing", peer)
        finally:
            self.hub.detach(sub)
            sender.cancel()
            watcher.cancel()
            await asyncio.gather(sender, watcher, return_exceptions=True)

    async def _feedback(self, ws: ServerConnection, sub: Subscription, feedback: Feedback) -> None:
        try:
            report = self.hub.record_feedback(sub.principal, feedback.report)
        except Refused as e:  # a bad report is answered, the subscription goes on
            await ws.send(error_message(self._scrubbed(e)))
            return
        self.metrics.feedback.labels(cue=report["cue"], verdict=report["verdict"]).inc()
        await ws.send(feedback_recorded_message(report))

    async def _acknowledge(self, ws: ServerConnection, sub: Subscription, ack: Acknowledge) -> None:
        """The updated alert reaches every wallboard of its team, this one among them."""
        try:
            self.hub.acknowledge(sub.principal, sub.teams, ack.alert)
        except Refused as e:  # an alert gone or not yours is answered, the subscription goes on
            await ws.send(error_message(self._scrubbed(e)))

    def _scrubbed(self, refused: Refused) -> Refused:
        """The refusal with any configured token blanked out of what it quotes."""
        message = self.tokens.scrub(str(refused))
        return refused if message == str(refused) else Refused(refused.code, message)

    async def _send_loop(self, ws: ServerConnection, sub: Subscription) -> None:
        """Move the outbox to the socket; a gone subscriber ends it quietly.

        A connection reset surfaces here as :class:`ConnectionClosed`: the
        receiving side (:meth:`_subscribe`) logs it once and detaches.
        """
        try:
            while (message := await self._next_message(sub)) is not None:
                await ws.send(message)
        except ConnectionClosed:
            return
        self.hub.detach(sub)
        self.metrics.slow_disconnects.inc()
        log.warning("subscriber %s too slow: disconnected (it may resume)", sub.peer)
        await ws.close(Close.TRY_LATER, "too slow: reconnect and resume")

    async def _next_message(self, sub: Subscription) -> str | None:
        """The outbox's next message, or a keepalive after ``server.keepalive`` idle seconds.

        So a page can tell a quiet call from a stalled service or a dead link
        (issue 14): it shows "stale" when even the keepalives stop.
        """
        outbox = sub.outbox
        if not outbox.overflowed and (message := outbox.get_nowait()) is not None:
            return message  # the common case under load, without a timer
        # A timer, not wait_for: a subscriber that keeps up waits once per event, and
        # wait_for made a task each time (issue 16's fan-out profile: 6 % of the node).
        timer = asyncio.get_running_loop().call_later(self.config.server.keepalive, outbox.wake)
        try:
            await outbox.wait()
        finally:
            timer.cancel()
        if outbox.overflowed:
            return None
        message = outbox.get_nowait()
        return message if message is not None else keepalive_message(time.time())

    async def _drop_if_stalled(
        self, ws: ServerConnection, sub: Subscription, sender: asyncio.Task[None]
    ) -> None:
        """Abort a hopeless subscriber whose sender is stuck in a send.

        The send loop closes an overflowed subscriber when it next asks for a
        message; one whose socket takes nothing (its send buffer full, the
        client not reading) never asks again, and no close frame would get
        through: the connection is aborted instead.
        """
        await sub.outbox.hopeless.wait()
        await asyncio.wait({sender}, timeout=STALL_GRACE)
        if sender.done():
            return
        sender.cancel()
        self.hub.detach(sub)
        self.metrics.slow_disconnects.inc()
        log.warning("subscriber %s stalled (it reads nothing): connection aborted", sub.peer)
        ws.transport.abort()


async def _refuse(ws: ServerConnection, refused: Refused) -> None:
    """Tell the client why in an ``error`` message, then close with its code."""
    with contextlib.suppress(ConnectionClosed):
        await ws.send(error_message(refused))
        reason = str(refused).encode()[:120].decode(errors="ignore")
        await ws.close(refused.code, reason)


async def _hang_up(ws: ServerConnection) -> None:
    """After ``closed`` the AudioHook client closes the connection; close it if it does not."""
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(ws.wait_closed(), AUDIOHOOK_CLOSE_WAIT)
    await ws.close(Close.NORMAL, "session closed")


def _not_allowed(allow: str) -> Response:
    response = _text(http.HTTPStatus.METHOD_NOT_ALLOWED, "method not allowed\n")
    response.headers["Allow"] = allow
    return response


class _Connection(ServerConnection):
    """A websockets connection that answers a method other than GET or HEAD with 405.

    websockets' HTTP parser drops a request with a body (POST, PUT, PATCH)
    without a word, before ``process_request`` sees it (issue 12). This reads
    the request line first and answers 405; any other request goes on to
    websockets' own parser unchanged.
    """

    def __init__(self, protocol: ServerProtocol, *args: Any, **kwargs: Any) -> None:
        protocol.parser = _methods_first(protocol)
        next(protocol.parser)
        super().__init__(protocol, *args, **kwargs)


def _methods_first(protocol: ServerProtocol) -> Generator[None, None, None]:
    reader = protocol.reader
    while b"\n" not in reader.buffer and len(reader.buffer) < 8192 and not reader.eof:
        yield
    method = bytes(reader.buffer[:32]).split(b" ", 1)[0]
    if b"\n" in reader.buffer and method.isalpha() and method not in (b"GET", b"HEAD"):
        protocol.handshake_exc = InvalidMessage(f"HTTP method {method!r} not allowed")
        protocol.send_response(_not_allowed(ALLOW))  # then websockets discards the rest
        yield
    yield from protocol.parse()


def _text(status: http.HTTPStatus, text: str) -> Response:
    return _response(status, text.encode(), "text/plain; charset=utf-8")


def _response(
    status: http.HTTPStatus,
    body: bytes,
    content_type: str,
    extra: dict[str, str] | None = None,
) -> Response:
    headers = Headers({"Content-Type": content_type, "Content-Length": str(len(body))})
    for name, value in (extra or {}).items():
        headers[name] = value
    headers["Cache-Control"] = "no-store"
    return Response(status.value, status.phrase, headers, body)


@contextlib.asynccontextmanager
async def running(config: Config, engine: Engine | None) -> AsyncIterator[Service]:
    """A started service, shut down on exit (tests, the demo, the benchmark)."""
    service = Service(config, engine)
    await service.start()
    try:
        yield service
    finally:
        await service.shutdown()
