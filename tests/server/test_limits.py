"""Limits over real sockets (issue 12): start and idle deadlines, the real-time bound, fairness."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from faster_whisper.audio import decode_audio
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from edge.audio.files import read_audio
from edge.client import CallSpec, stream_call
from edge.config import Config
from edge.server.options import ServerOptions, TokenRole, TokenSpec
from tests.helpers import DATA, TIME_FACTOR
from tests.server.harness import ServiceThread, receive, subscriber, upload

HELLO = 0.5 * TIME_FACTOR  # a short start deadline, so the tests wait little
SAMPLE = Path(__file__).parents[2] / "edge" / "assets" / "sample_call.flac"


def closed_with(ws: ClientConnection, timeout: float) -> tuple[int, str]:
    """Read until the server closes: (close code, the last error message)."""
    message = ""
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            data = json.loads(ws.recv(timeout=timeout))
            if data.get("type") == "error":
                message = data["message"]
    assert closed.value.rcvd is not None, "the server did not close the connection"
    return closed.value.rcvd.code, message


def wait_until(condition, timeout: float = 10 * TIME_FACTOR) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# -- the start deadline (no models) -----------------------------------------


@pytest.mark.parametrize("first", [None, '{"event": "connected", "protocol": "Call"}'])
def test_idle_ingest_sockets_are_closed_and_free_their_slots(first) -> None:
    """Sockets that never start a call are closed (1008) after hello_timeout; others get in."""
    config = Config(server=ServerOptions(max_connections=3, hello_timeout=HELLO))
    with ServiceThread(config, None) as thread, contextlib.ExitStack() as stack:
        idle = [stack.enter_context(connect(thread.ws + "/ingest")) for _ in range(3)]
        if first is not None:
            for ws in idle:
                ws.send(first)
        wait_until(lambda: thread.run(lambda: thread.service.connections) == 3)
        with pytest.raises(InvalidStatus) as full:
            connect(thread.ws + "/subscribe")
        assert full.value.response.status_code == 503
        for ws in idle:
            code, message = closed_with(ws, timeout=5 * TIME_FACTOR)
            assert code == 1008 and "no start message" in message
        wait_until(lambda: thread.run(lambda: thread.service.connections) == 0)
        with subscriber(thread.ws, view="wallboard") as (_, hello):
            assert hello["type"] == "subscribed"
        with connect(thread.ws + "/ingest") as ws:  # an ingest may connect again too
            ws.send(json.dumps({"type": "start", "call_id": "after"}))
            assert closed_with(ws, timeout=5)[0] == 1013  # no models here: try later


def test_a_silent_subscriber_gets_the_same_deadline() -> None:
    """server.hello_timeout is the subscribe deadline too: one setting for both paths."""
    config = Config(server=ServerOptions(hello_timeout=HELLO))
    with ServiceThread(config, None) as thread, connect(thread.ws + "/subscribe") as ws:
        began = time.monotonic()
        code, message = closed_with(ws, timeout=5 * TIME_FACTOR)
        assert code == 1008 and "subscribe message first" in message
        assert time.monotonic() - began < HELLO + 2 * TIME_FACTOR


# -- with the models ----------------------------------------------------------


def jfk() -> np.ndarray:
    return decode_audio(str(DATA / "jfk.flac"))


def pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def start(call_id: str, **fields: object) -> str:
    body = {"type": "start", "call_id": call_id, "agent_id": "a-limits", "channels": ["caller"]}
    return json.dumps(body | fields)


@pytest.fixture(scope="module")
def strict(engine):
    """A service with short deadlines and a tight real-time bound."""
    options = ServerOptions(idle_timeout=1.0 * TIME_FACTOR, max_ahead_seconds=2.0)
    with ServiceThread(Config(server=options), engine) as thread:
        yield thread


@pytest.mark.slow
def test_a_started_call_that_goes_silent_is_ended(strict) -> None:
    """No message for idle_timeout: closed with 1008 and a reason; the call ends."""
    with connect(strict.ws + "/ingest") as ws:
        ws.send(start("idle-1"))
        assert json.loads(ws.recv(timeout=10))["type"] == "started"
        ws.send(pcm16(jfk()[:8000]))
        code, message = closed_with(ws, timeout=10 * TIME_FACTOR)
    assert code == 1008 and "no message for" in message
    wait_until(lambda: strict.run(lambda: "idle-1" not in strict.service.live))


@pytest.mark.slow
def test_an_upload_is_not_cut_by_the_idle_deadline(strict) -> None:
    """live: false is read at the pipeline's pace: only waiting on the socket counts."""
    reply = upload(strict.ws, read_audio(str(SAMPLE)), "upload-idle", agent_id="a-limits")
    assert reply["type"] == "stopped" and reply["dropped_frames"] == 0


@pytest.mark.slow
def test_a_native_source_running_ahead_is_refused(strict) -> None:
    """Audio sent unpaced: refused (1008) once over max_ahead_seconds ahead of the clock."""
    second = pcm16(jfk()[:16000])
    with connect(strict.ws + "/ingest") as ws:
        ws.send(start("ahead-1"))
        assert json.loads(ws.recv(timeout=10))["type"] == "started"
        with pytest.raises(ConnectionClosed):
            # 100 s of audio a second, far ahead of the clock; the pauses let the server's
            # close come back before the loop ends (unpaused, a loaded machine buffered
            # all 30 s of audio before the refusal arrived, and no send failed)
            for _ in range(600):
                ws.send(second)
                time.sleep(0.01)
        code, message = closed_with(ws, timeout=10)
    assert code == 1008 and "faster than real time" in message


@pytest.mark.slow
def test_paced_clients_are_within_the_bound(strict) -> None:
    """edge stream's client at real-time pace is not refused, even with a tight bound."""
    spec = CallSpec(call_id="paced-1", agent_id="a-limits", channels=("caller",))
    reply = asyncio.run(stream_call(strict.ws + "/ingest", jfk()[:48000], spec, realtime=True))
    assert reply["type"] == "stopped"


# -- fairness -------------------------------------------------------------------


GOOD, BAD, AGENT = "ingest-good-0123456789", "ingest-bad-0123456789", "agent-healthy-0123456789"
TOKENS = (
    TokenSpec(token=GOOD, role=TokenRole.INGEST, source="pbx-good"),
    TokenSpec(token=BAD, role=TokenRole.INGEST, source="pbx-bad"),
    TokenSpec(token=AGENT, role=TokenRole.AGENT, agent="a-healthy"),
)


def abuse(url: str, audio: np.ndarray, stop: threading.Event, refusals: list[int]) -> None:
    """Stream 10 s of speech per message, unpaced, reconnecting at once whenever refused."""
    block = pcm16(audio[: 10 * 16000])
    k = 0
    while not stop.is_set():
        k += 1
        try:
            with connect(url + "/ingest", max_size=None) as ws:
                ws.send(start(f"abuse-{k}", agent_id="a-abuser", token=BAD))
                if json.loads(ws.recv(timeout=10))["type"] != "started":
                    continue
                while not stop.is_set():
                    ws.send(block)
        except ConnectionClosed as e:
            refusals.append(e.rcvd.code if e.rcvd else 1006)
        except (OSError, InvalidStatus, TimeoutError):
            time.sleep(0.1)


@pytest.mark.slow
def test_an_unpaced_source_does_not_starve_a_healthy_call(engine) -> None:
    """A call at real time beside a source sending 10 s per message: no frame lost, lag bounded.

    Issue 12 measured 17 s of lag and ~460 dropped frames before the real-time bound;
    reconnecting for a fresh allowance each time is met by the source's shared one.
    """
    with ServiceThread(Config(tokens=TOKENS), engine) as thread:
        audio = read_audio(str(SAMPLE))[:, 0]  # the caller's side
        lags: list[float] = []
        reply: dict[str, object] = {}
        with subscriber(thread.ws, view="agent", token=AGENT) as (sub, _):
            stop, refusals = threading.Event(), []
            abuser = threading.Thread(
                target=abuse, args=(thread.ws, audio, stop, refusals), daemon=True
            )
            spec = CallSpec(
                call_id="healthy-1", agent_id="a-healthy", token=GOOD, channels=("caller",)
            )

            def healthy() -> None:
                coro = stream_call(thread.ws + "/ingest", audio[: 30 * 16000], spec)
                reply.update(asyncio.run(coro))

            caller = threading.Thread(target=healthy, daemon=True)
            caller.start()
            began = None
            try:
                while True:
                    message = receive(sub)
                    now = time.monotonic()
                    if message["type"] == "call.started":
                        began = now
                        abuser.start()
                        continue
                    lags.append(now - began - message["stream_time"])
                    if message["type"] == "call.ended":
                        break
            finally:
                stop.set()
                caller.join(30)
                abuser.join(30)
    print(f"lag max {max(lags):.2f} s over {len(lags)} events; refusals {len(refusals)}")
    # Issue 12 saw 17 s; here about 1 s on an idle 2-core box and up to 2.3 s on a loaded
    # one: the bound tells a starved call from a busy machine. The refusals below are
    # what fails without the real-time bound.
    assert max(lags) < 5.0 * TIME_FACTOR, sorted(lags)[-5:]
    assert reply.get("dropped_frames") == 0, reply
    # Refused for running ahead: the call (1008), and the source (1013) when its
    # reconnections spend the shared allowance (1006: the server closed while a 320 KB
    # message was still going out). Without per-message deflate (server.compress off, the
    # default) the abuser gets through a few reconnections in the call's 30 s (4 measured,
    # against 469 with deflate), so 1013 may not come: SourcePace is pinned in test_ingest.
    assert 1008 in refusals and set(refusals) <= {1006, 1008, 1013}, set(refusals)


def test_a_quiet_subscriber_gets_keepalives() -> None:
    """server.keepalive: with no call event a subscriber still hears from the server
    that often, so a page can tell a quiet call from a stalled service."""
    keepalive = 0.3 * TIME_FACTOR
    config = Config(server=ServerOptions(keepalive=keepalive))
    with (
        ServiceThread(config, None) as thread,
        subscriber(thread.ws, view="agent", agent_id="a-quiet") as (ws, hello),
    ):
        assert hello["keepalive"] == keepalive
        began = time.monotonic()
        got = [json.loads(ws.recv(timeout=5 * TIME_FACTOR)) for _ in range(3)]
        took = time.monotonic() - began
    assert [m["type"] for m in got] == ["keepalive"] * 3
    assert all(abs(m["server_time"] - time.time()) < 5 * TIME_FACTOR for m in got)
    assert 2 * keepalive < took < 3 * keepalive + 2 * TIME_FACTOR
