"""Issue 12, findings 3, 4, 6 and 7: what a hostile or broken client finds at the door.

A real ``edge serve`` (no models: nothing here needs a call to run) answered by raw
websocket, HTTP and TCP clients. Every refusal is a documented code with one line in
the log, never a traceback; input echoed in messages is short; secrets stay out of logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import logging
import socket
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from edge.config import Config
from edge.events import CallStarted, FinalReason, TranscriptFinal
from edge.server import pages
from edge.server.app import _LiveCall
from edge.server.auth import OPEN, Principal, require
from edge.server.hub import Hub, Subscription, View
from edge.server.ingest import IngestSession
from edge.server.options import PrivacyOptions, ServerOptions, TokenRole, TokenSpec
from edge.server.outbox import Outbox
from edge.server.protocol import Close, Refused, shown
from edge.server.summary import CallMeta
from edge.types import CallId, Role
from tests.server.harness import ServiceThread

INGEST = "ingest-token-0123456789"
AGENT = "agent-a17-token-0123456789"
SUPERVISOR = "supervisor-cardio-0123456789"
TOKENS = (
    TokenSpec(token=INGEST, role=TokenRole.INGEST, name="pbx", source="pbx-1"),
    TokenSpec(token=AGENT, role=TokenRole.AGENT, name="alice", agent="a17"),
    TokenSpec(token=SUPERVISOR, role=TokenRole.SUPERVISOR, name="sue", teams=("cardiology",)),
)


@pytest.fixture(scope="module")
def open_service() -> Iterator[ServiceThread]:
    """A token-less service on loopback, no models."""
    with ServiceThread(Config(), None) as thread:
        yield thread


@pytest.fixture(scope="module")
def secured() -> Iterator[ServiceThread]:
    """A service with tokens, no models; its hub holds a17's call c-a17 (cardiology)."""
    with ServiceThread(Config(tokens=TOKENS), None) as thread:
        meta = CallMeta(
            call_id="c-a17", agent_id="a17", team="cardiology", source="s", started_at=0.0
        )
        thread.run(thread.service.hub.open_call, meta)
        meta = CallMeta(
            call_id="c-a18", agent_id="a18", team="oncology", source="s", started_at=0.0
        )
        thread.run(thread.service.hub.open_call, meta)
        yield thread


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)
    return caplog


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    """Every server record is one line: no exception attached, nothing at error level."""
    server = [r for r in caplog.records if r.name != "websockets.client"]  # not the test's client
    bad = [r for r in server if r.exc_info or r.levelno >= logging.ERROR]
    assert not bad, [r.getMessage()[:200] for r in bad]


def refusal(url: str, *messages: str | bytes) -> tuple[int, dict]:
    """Send ``messages``; the close code and the ``error`` message that came before it."""
    with connect(url, max_size=None) as ws:
        for message in messages:
            ws.send(message)
        reply: dict = {}
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                reply = json.loads(ws.recv(timeout=10))
    assert closed.value.rcvd is not None, "closed without a close frame"
    return closed.value.rcvd.code, reply


def raw_http(port: int, request: bytes) -> bytes:
    """Send raw bytes; everything the server answers until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def connect_as(service: ServiceThread, host: str, path: str, origin: str | None = None) -> Any:
    """A websocket to the service that names ``host`` in its Host header (as a rebound page)."""
    sock = socket.create_connection(("127.0.0.1", service.port), timeout=10)
    return connect(f"ws://{host}{path}", sock=sock, origin=origin)  # type: ignore[arg-type]


def http_request(
    port: int, method: str, path: str, body: bytes | None = None, **headers: str
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


# -- finding 3: malformed messages are refused, never a traceback ------------------


@pytest.mark.parametrize("path", ["/ingest", "/subscribe"])
def test_deep_json_nesting_is_a_bad_message(open_service, logs, path) -> None:
    """'[' * 100000 as the first message: close 1008 with one line, no RecursionError."""
    code, reply = refusal(open_service.ws + path, "[" * 100_000)
    assert code == Close.BAD_MESSAGE and "nest" in reply["message"]
    no_tracebacks(logs)


@pytest.mark.parametrize(
    "start",
    [
        {"mediaFormat": "audio/x-mulaw"},
        {"mediaFormat": ["audio/x-mulaw"]},
        {"mediaFormat": {"encoding": ["x"], "sampleRate": 8000}},
        {"tracks": [["inbound"]]},
        {"tracks": "inbound"},
        {"customParameters": {"token": 17}},
        {"callSid": ["CA1"]},
    ],
)
def test_malformed_twilio_starts_are_refused(open_service, logs, start) -> None:
    """A Twilio start with a field of the wrong type: 1008 or 1003, before any token check."""
    message = json.dumps({"event": "start", "start": {"callSid": "CA1", **start}})
    code, reply = refusal(open_service.ws + "/ingest", message)
    assert code in (Close.BAD_MESSAGE, Close.UNSUPPORTED), reply
    no_tracebacks(logs)


@pytest.mark.parametrize(
    "media",
    [
        {"track": ["inbound"], "payload": "AAAA"},
        {"track": {"x": 1}, "payload": "AAAA"},
        {"timestamp": "nan", "payload": "AAAA"},
        {"timestamp": "inf", "payload": "AAAA"},
        {"timestamp": "-inf", "payload": "AAAA"},
        {"timestamp": -20, "payload": "AAAA"},
        {"timestamp": 1e300, "payload": "AAAA"},
        {"timestamp": True, "payload": "AAAA"},
    ],
)
def test_malformed_twilio_media_is_refused(media) -> None:
    """Media fields of the wrong type or out of range: a refusal (1008), not a crash."""
    session = IngestSession()
    session.text(json.dumps({"event": "start", "start": {"callSid": "CA1"}}))
    with pytest.raises(Refused) as refused:
        session.text(json.dumps({"event": "media", "media": media}))
    assert refused.value.code == Close.BAD_MESSAGE


@pytest.mark.parametrize("token", [17, 1.5, {"a": 1}, ["x"], True])
def test_a_token_that_is_not_a_string_is_refused(secured, logs, token) -> None:
    """subscribe with a token of another JSON type: a clear refusal, no traceback."""
    hello = json.dumps({"type": "subscribe", "view": "agent", "token": token})
    code, reply = refusal(secured.ws + "/subscribe", hello)
    assert code in (Close.BAD_MESSAGE, Close.UNAUTHORIZED) and "token" in reply["message"]
    no_tracebacks(logs)


@pytest.mark.parametrize(
    "hello",
    [
        {"view": ["agent"]},
        {"view": "agent", "agent_id": ["a1"]},
        {"view": "call", "call_id": {"x": 1}},
        {"view": "wallboard", "teams": "cardiology"},
        {"view": "agent", "agent_id": "a1", "resume": {"c": True}},
    ],
)
def test_subscribe_fields_of_the_wrong_type_are_refused(open_service, logs, hello) -> None:
    """Every field of subscribe is type-checked: 1008 with the field's name."""
    code, reply = refusal(
        open_service.ws + "/subscribe", json.dumps({"type": "subscribe", **hello})
    )
    assert code in (Close.BAD_MESSAGE, Close.NOT_FOUND), reply
    no_tracebacks(logs)


def test_a_subscriber_that_resets_its_connection_leaves_no_traceback(open_service, logs) -> None:
    """TCP RST after subscribing, while events flow: a normal disconnect, logged at info."""
    hub = open_service.service.hub
    meta = CallMeta(call_id="c-rst", agent_id="a-rst", team="t", source="s", started_at=0.0)
    open_service.run(hub.open_call, meta)
    stop = threading.Event()

    def publish() -> None:
        seq = 0
        while not stop.is_set():
            seq += 1
            event = CallStarted(
                stream_time=0.0, channels=(Role.CALLER,), call_id=CallId("c-rst"), seq=seq
            )
            open_service.run(hub.publish, "c-rst", event)
            time.sleep(0.002)

    publisher = threading.Thread(target=publish, daemon=True)
    publisher.start()
    try:
        for k in range(20):
            with contextlib.suppress(OSError), connect(open_service.ws + "/subscribe") as ws:
                ws.send(json.dumps({"type": "subscribe", "view": "agent", "agent_id": "a-rst"}))
                if k % 2:  # else: reset while the server sends its reply
                    ws.recv(timeout=10)
                    ws.recv(timeout=10)  # events are flowing
                linger = struct.pack("ii", 1, 0)
                ws.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                ws.socket.close()  # RST, no close frame
            time.sleep(0.05)
        deadline = time.monotonic() + 5
        while open_service.run(lambda: len(hub.subscriptions)) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        publisher.join(5)
    assert open_service.run(lambda: len(hub.subscriptions)) == 0
    no_tracebacks(logs)


def test_long_static_names_are_404_and_not_cached(open_service) -> None:
    """GET /static/<300 characters>: 404 (was 500); unknown paths never enter the page cache."""
    status, _, _ = http_request(open_service.port, "GET", "/static/" + "a" * 300 + ".js")
    assert status == 404
    for k in range(200):
        assert pages.find(f"/static/missing-{k}.js") is None
    assert pages.cached() <= len(pages.known())
    assert pages.find("/static/common.js") is not None


def test_two_host_headers_are_a_bad_request(open_service, logs) -> None:
    """A handshake with two Host headers: HTTP 400, not 500."""
    for path in ("/subscribe", "/agent"):
        answer = raw_http(
            open_service.port,
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
            "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode(),
        )
        assert answer.startswith(b"HTTP/1.1 400"), answer[:100]
    no_tracebacks(logs)


# -- finding 4: DNS rebinding ----------------------------------------------------------


@pytest.mark.parametrize("path", ["/subscribe", "/ingest"])
def test_a_rebound_host_is_refused(open_service, path) -> None:
    """Host evil.example:P with Origin http://evil.example:P: 403, the page gets nothing."""
    port = open_service.port
    with pytest.raises(InvalidStatus) as refused:
        connect_as(open_service, f"evil.example:{port}", path, f"http://evil.example:{port}")
    assert refused.value.response.status_code == 403
    assert b"host" in refused.value.response.body


def test_the_names_the_service_answers_to_are_accepted(open_service) -> None:
    """localhost and 127.0.0.1 (bound to loopback), same-origin pages: accepted."""
    port = open_service.port
    for host in (f"localhost:{port}", f"127.0.0.1:{port}"):
        with connect_as(open_service, host, "/subscribe", f"http://{host}") as ws:
            ws.send(json.dumps({"type": "subscribe", "view": "agent", "agent_id": "a1"}))
            assert json.loads(ws.recv(timeout=10))["type"] == "subscribed"
    status, _, _ = http_request(port, "GET", "/agent", Host=f"evil.example:{port}")
    assert status == 403  # pages too
    status, _, _ = http_request(port, "GET", "/healthz", Host=f"evil.example:{port}")
    assert status == 200  # health checks name the host their own way


def test_allowed_hosts_adds_names() -> None:
    """[server] allowed_hosts: a configured name is accepted, others still refused."""
    config = Config(server=ServerOptions(allowed_hosts=("desk.example.org",)))
    with ServiceThread(config, None) as thread:
        port = thread.port
        host = f"desk.example.org:{port}"
        status, _, _ = http_request(port, "GET", "/agent", Host=host)
        assert status == 200
        with connect_as(thread, host, "/subscribe", f"http://{host}"):
            pass
        with pytest.raises(InvalidStatus):  # same name, another port: another site
            connect_as(thread, host, "/subscribe", "http://desk.example.org:1")
        status, _, _ = http_request(port, "GET", "/agent", Host=f"evil.example:{port}")
        assert status == 403


def test_the_default_allowed_hosts_follow_the_bound_address() -> None:
    """Loopback: its literals and localhost; a named address: that name; any IP literal."""
    from edge.server.app import host_allowed

    assert host_allowed("localhost:1", ServerOptions())
    assert host_allowed("[::1]:1", ServerOptions())
    assert host_allowed("10.1.2.3:8765", ServerOptions(host="0.0.0.0"))
    assert not host_allowed("evil.example:8765", ServerOptions(host="0.0.0.0"))
    assert host_allowed("Edge.Internal", ServerOptions(host="edge.internal"))
    assert not host_allowed("", ServerOptions())
    assert not host_allowed("evil.example", ServerOptions())


# -- finding 6: logs and memory -----------------------------------------------------------


def test_echoed_input_is_truncated(open_service, logs) -> None:
    """A 900 KB type or call_id: the error and the log line stay short and give the length."""
    huge = "x" * 900_000
    for start in ({"type": huge}, {"type": "start", "call_id": huge}):
        code, reply = refusal(open_service.ws + "/ingest", json.dumps(start))
        assert code == Close.BAD_MESSAGE
        assert len(reply["message"]) < 300 and "900" in reply["message"]
    assert max(len(r.getMessage()) for r in logs.records) < 400
    assert shown("y" * 1000).endswith("… (1000 characters)")


def test_a_token_in_the_wrong_field_is_never_echoed(secured, logs) -> None:
    """A configured token sent as the message type or a call id is not written back or logged."""
    for message in (
        {"type": AGENT},
        {"type": "subscribe", "view": AGENT},
        {"type": "subscribe", "view": "call", "token": SUPERVISOR, "call_id": AGENT},
    ):
        _, reply = refusal(secured.ws + "/subscribe", json.dumps(message))
        assert AGENT not in reply["message"]
    _, reply = refusal(secured.ws + "/ingest", json.dumps({"type": INGEST}))
    assert INGEST not in reply["message"]
    assert AGENT not in logs.text and INGEST not in logs.text


def test_debug_logs_hide_the_authorization_header_and_token_urls(open_service, caplog) -> None:
    """--debug: websockets logs the handshake; the bearer token and ?token= are hidden."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="websockets.server")
    secret = "very-secret-token-0123456789"
    with connect(
        open_service.ws + f"/subscribe?token={secret}&x=1",
        additional_headers={"Authorization": f"Bearer {secret}"},
    ) as ws:
        ws.send(json.dumps({"type": "subscribe", "view": "agent", "agent_id": "a1"}))
        ws.recv(timeout=10)
    assert "Authorization" in caplog.text  # the handshake was logged
    assert secret not in caplog.text


# -- finding 7: smaller ------------------------------------------------------------------


def test_readyz_answers_503_while_draining() -> None:
    """SIGTERM drain: /readyz says 503 shutting down (was: connection refused)."""
    config = Config(server=ServerOptions(drain_seconds=3.0))
    thread = ServiceThread(config, None)
    thread.__enter__()
    service = thread.service

    class Slow:  # a call that takes its time to flush
        call_id = "c-slow"

        async def cancel(self) -> None:
            service.live.pop("c-slow", None)

    try:
        with connect(thread.ws + "/ingest"):
            server_ws = thread.run(lambda: next(iter(service.server.connections)))
            slow = _LiveCall(Slow(), server_ws)  # type: ignore[arg-type]
            thread.run(service.live.__setitem__, "c-slow", slow)
            draining = asyncio.run_coroutine_threadsafe(service.shutdown(), thread.loop)
            time.sleep(0.3)
            status, _, body = http_request(thread.port, "GET", "/readyz")
            assert (status, body) == (503, b"shutting down\n")
            with pytest.raises(InvalidStatus) as refused:
                connect(thread.ws + "/subscribe")
            assert refused.value.response.status_code == 503
            draining.result(10)
    finally:
        thread.__exit__(None, None, None)


def test_head_answers_headers_only(open_service) -> None:
    """HEAD: the GET's status and headers, no body."""
    status, headers, body = http_request(open_service.port, "HEAD", "/agent")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0
    answer = raw_http(open_service.port, b"HEAD /agent HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"\r\n\r\n")


@pytest.mark.parametrize("method", ["DELETE", "OPTIONS", "TRACE", "POST", "PUT", "PATCH"])
def test_other_methods_answer_405(open_service, logs, method) -> None:
    """Methods other than GET and HEAD: 405 with Allow, with or without a body."""
    for body in (None, b"x" * 100):
        status, headers, _ = http_request(open_service.port, method, "/agent", body=body)
        assert status == 405 and headers["Allow"] == "GET, HEAD"
    no_tracebacks(logs)


def test_a_call_not_yours_answers_like_a_missing_one(secured) -> None:
    """Call detail of another team's call and of no call: the same 4004, so ids can't be probed."""
    answers = []
    for call_id in ("c-a18", "c-none"):
        hello = {"type": "subscribe", "view": "call", "token": SUPERVISOR, "call_id": call_id}
        code, reply = refusal(secured.ws + "/subscribe", json.dumps(hello))
        answers.append((code, reply["message"].replace(call_id, "ID")))
    assert answers[0] == answers[1] and answers[0][0] == Close.NOT_FOUND


def test_feedback_on_a_call_not_yours_answers_like_a_missing_one() -> None:
    """Feedback too: another's call and no call give the same refusal."""
    hub = Hub(PrivacyOptions())
    hub.open_call(CallMeta(call_id="c1", agent_id="a1", team="t", source="s", started_at=0.0))
    bob = Principal(name="bob", role=TokenRole.AGENT, agent="a2")
    answers = []
    for call_id in ("c1", "c2"):
        with pytest.raises(Refused) as refused:
            hub.record_feedback(bob, {"call_id": call_id, "cue_id": 1})
        answers.append((refused.value.code, str(refused.value).replace(call_id, "ID")))
    assert answers[0] == answers[1] and answers[0][0] == Close.NOT_FOUND


def test_the_role_is_named_with_its_article() -> None:
    """'an agent token', 'an ingest token', 'a supervisor token'."""
    for role, article in ((TokenRole.AGENT, "an"), (TokenRole.INGEST, "an")):
        with pytest.raises(Refused) as refused:
            require(Principal(name="x", role=role), TokenRole.SUPERVISOR)
        assert str(refused.value).startswith(f"{article} {role.value} token")
    with pytest.raises(Refused) as refused:
        require(Principal(name="x", role=TokenRole.SUPERVISOR), TokenRole.AGENT)
    assert str(refused.value).startswith("a supervisor token")


def test_the_snapshot_carries_both_roles_recent_finals() -> None:
    """After an overflow the snapshot holds the caller's and the agent's finals, with roles."""
    hub = Hub(PrivacyOptions(), resume_events=16)
    hub.open_call(CallMeta(call_id="c1", agent_id="a1", team="t", source="s", started_at=0.0))
    for seq in range(1, 41):
        role = Role.CALLER if seq % 2 else Role.AGENT
        final = TranscriptFinal(
            stream_time=float(seq),
            role=role,
            call_id=CallId("c1"),
            seq=seq,
            utterance=seq,
            text=f"line {seq}",
            start=seq - 1.0,
            end=float(seq),
            confidence=0.9,
            reason=FinalReason.PAUSE,
        )
        hub.publish("c1", final)
    late = Subscription(principal=OPEN, view=View.AGENT, outbox=Outbox(64), agent_id="a1")
    hub.attach(late, {"c1": 1})
    first = json.loads(late.outbox.get_nowait())
    assert first["type"] == "call.snapshot"
    roles = {line["role"] for line in first["captions"]}
    assert roles == {"caller", "agent"}
    assert first["captions"][-1] == {
        "seq": 40,
        "role": "agent",
        "text": "line 40",
        "start": 39.0,
        "end": 40.0,
    }
