"""Fault injection on a real `edge serve`: the event log's disk failing, a stalled
subscriber, SIGTERM during a burst of calls.

The service runs on loopback with real sockets; its engine is the real one with
the real Silero VAD and scripted stand-ins for the other models (the behaviour
under test is the service's, not the models'); the SIGTERM test runs `edge serve`
as a process with its real models.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import logging
import os
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator

import numpy as np
import pytest
from faster_whisper.audio import decode_audio

from edge.adapters.vad import SileroVad
from edge.client import CallSpec, stream_call
from edge.config import Config
from edge.pipeline.call import Call
from edge.pipeline.engine import Engine
from edge.pipeline.options import PipelineOptions
from edge.server import eventlog
from edge.server.app import Service
from edge.server.options import PrivacyOptions, ServerOptions
from tests.helpers import DATA, TIME_FACTOR
from tests.pipeline.test_faults import ScriptedEmotion, ScriptedText, ScriptedTranscriber
from tests.server.harness import ServiceThread, messages, subscriber, upload
from tests.server.test_lifecycle import DRAIN, EdgeServe, Watcher

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scripted() -> Iterator[Engine]:
    """The real engine and VAD; scripted Whisper, emotion and text models (fast)."""
    engine = Engine(
        SileroVad(None),
        ScriptedTranscriber(),
        PipelineOptions(),
        emotion=ScriptedEmotion(),
        text=ScriptedText(),
    )
    yield engine
    engine.close()


def jfk() -> np.ndarray:
    return decode_audio(str(DATA / "jfk.flac"))


def metric(thread: ServiceThread, name: str) -> float:
    with urllib.request.urlopen(thread.http + "/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise AssertionError(f"no {name} in /metrics")


def a_call_is_delivered(thread: ServiceThread, call_id: str) -> None:
    """A call streams in and its subscriber gets it to the end: the service goes on."""
    with subscriber(thread.ws, view="agent", agent_id=call_id) as (ws, _):
        upload(thread.ws, jfk(), call_id, agent_id=call_id)
        seen = messages(ws, until="call.ended", timeout=20)
    assert any(m["type"] == "transcript.final" and m["text"] for m in seen)


def log_lines(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == eventlog.__name__ and text in r.getMessage()]


def wait_for(condition, timeout: float = 5) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def fast_flush(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eventlog, "FLUSH_EVERY", 0.1)


def test_event_log_folder_gone_mid_run_is_logged_once_and_calls_go_on(
    scripted, tmp_path, caplog, fast_flush
) -> None:
    """The log's folder replaced by a file (unwritable even for root): calls and subscribers
    go on, one error line says so (not one per flush), the lost lines are counted, and
    when the folder is back the log says so once and writes again."""
    folder = tmp_path / "log"
    privacy = PrivacyOptions(event_log=folder, retention_days=30)
    caplog.set_level(logging.INFO, logger=eventlog.__name__)
    with ServiceThread(Config(privacy=privacy), scripted) as thread:
        folder.rename(tmp_path / "away")
        folder.write_text("not a folder\n")
        a_call_is_delivered(thread, "gone-1")
        wait_for(lambda: log_lines(caplog, "cannot write"))
        a_call_is_delivered(thread, "gone-2")
        time.sleep(0.5)  # several flushes fail
        assert len(log_lines(caplog, "cannot write")) == 1
        assert metric(thread, "edge_event_log_lost_lines_total") > 10
        thread.call(thread.service.event_log.prune())  # housekeeping survives it too
        folder.unlink()
        (tmp_path / "away").rename(folder)
        a_call_is_delivered(thread, "back-1")
        wait_for(lambda: log_lines(caplog, "writes again"))
    (day,) = folder.glob("events-*.jsonl")
    logged = day.read_text()
    assert '"back-1"' in logged and '"gone-2"' not in logged
    assert len(log_lines(caplog, "cannot write")) == 1


def test_event_log_disk_full_is_logged_once_and_calls_go_on(
    scripted, tmp_path, caplog, fast_flush
) -> None:
    """The day file on a full disk (/dev/full: ENOSPC on every write): the same."""
    folder = tmp_path / "log"
    folder.mkdir()
    day = folder / f"{eventlog.PREFIX}{time.strftime('%Y-%m-%d', time.gmtime())}.jsonl"
    os.symlink("/dev/full", day)
    privacy = PrivacyOptions(event_log=folder, retention_days=36500)
    caplog.set_level(logging.INFO, logger=eventlog.__name__)
    with ServiceThread(Config(privacy=privacy), scripted) as thread:
        a_call_is_delivered(thread, "full-1")
        wait_for(lambda: log_lines(caplog, "cannot write"))
        a_call_is_delivered(thread, "full-2")
        time.sleep(0.5)
        lost = metric(thread, "edge_event_log_lost_lines_total")
    (line,) = log_lines(caplog, "cannot write")
    assert "No space left on device" in line.getMessage() and lost > 10
    assert line.levelno == logging.ERROR and not line.exc_info


class StalledSubscriber:
    """A raw TCP websocket client that subscribes, then never reads a byte.

    Its receive buffer is small, so the server's sends back up at once: the
    socket stalls with a full send buffer, as a client on a dead network would.
    """

    def __init__(self, port: int, **hello: object) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET /subscribe HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        reply = b""
        while b"\r\n\r\n" not in reply:
            reply += self.sock.recv(1)
        assert reply.startswith(b"HTTP/1.1 101"), reply
        self.send_text(json.dumps({"type": "subscribe", **hello}))

    def send_text(self, text: str) -> None:
        payload, mask = text.encode(), os.urandom(4)
        assert len(payload) < 126
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + masked)

    def closed_by_server(self) -> bool:
        """Read what is left: True when the server ended the connection (EOF or reset)."""
        self.sock.settimeout(5)
        try:
            while self.sock.recv(65536):
                pass
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False
        return True


def small_send_buffer(service: Service, peer_port: int) -> None:
    """Shrink the service's send buffer on the connection from ``peer_port``."""
    assert service.server is not None
    (connection,) = [c for c in service.server.connections if c.remote_address[1] == peer_port]
    connection.transport.get_extra_info("socket").setsockopt(
        socket.SOL_SOCKET, socket.SO_SNDBUF, 4096
    )


def test_a_stalled_subscriber_is_closed_and_the_others_keep_their_pace(scripted) -> None:
    """A subscriber whose socket stalls with a full send buffer (it never reads): the healthy
    subscriber's events keep arriving promptly, and the stalled one is disconnected as too
    slow once its queue overflows (outbox policy), without waiting for the keepalive."""
    server = ServerOptions(client_queue=16, ping_interval=600, ping_timeout=600)
    with ServiceThread(Config(server=server), scripted) as thread:
        stalled = StalledSubscriber(thread.port, view="agent", agent_id="a-1")
        wait_for(lambda: metric(thread, 'edge_subscribers{view="agent"}') == 1)
        # The kernel's send buffer on loopback grows to megabytes: a small one stands
        # for a machine under memory pressure and keeps the test short.
        thread.run(small_send_buffer, thread.service, stalled.sock.getsockname()[1])
        lags: list[float] = []
        started = time.monotonic()
        with subscriber(thread.ws, view="agent", agent_id="a-1") as (ws, _):
            for n in itertools.count():
                worker = threading.Thread(
                    target=upload, args=(thread.ws, jfk(), f"stall-{n}"), kwargs={"agent_id": "a-1"}
                )
                worker.start()
                for message in messages(ws, until="call.ended", timeout=20):
                    lags.append(time.time() - message["wall_time"])
                worker.join(20)
                if metric(thread, "edge_subscriber_slow_disconnects_total") >= 1:
                    break
                assert time.monotonic() - started < 20, "the stalled subscriber was never closed"
            assert metric(thread, 'edge_subscribers{view="agent"}') == 1  # the healthy one
        assert stalled.closed_by_server()
    assert max(lags) < 1.0 * TIME_FACTOR, sorted(lags)[-5:]


def test_sigterm_during_a_burst_ends_every_call_and_exits_0(tmp_path) -> None:
    """`edge serve` (a real process, real models) gets SIGTERM while four live calls stream,
    each watched by its agent: it exits 0 within the drain deadline, every watcher gets its
    call's call.ended before the close, and stderr holds no traceback."""
    serve = EdgeServe(cwd=tmp_path)
    calls = [f"burst-{n}" for n in range(4)]
    try:
        watchers = {call: Watcher(serve.ws, f"agent-{call}") for call in calls}

        def stream(call: str) -> None:
            spec = CallSpec(call_id=call, agent_id=f"agent-{call}", channels=("caller",))
            with contextlib.suppress(Exception):  # the server ends the call mid-stream
                asyncio.run(stream_call(serve.ws + "/ingest", jfk(), spec))

        streamers = [threading.Thread(target=stream, args=(c,), daemon=True) for c in calls]
        for streamer in streamers:
            streamer.start()
        for watcher in watchers.values():  # every call is under way, speech in flight
            wait_for(
                lambda w=watcher: any(m["type"] == "speech.started" for _, m in w.messages),
                timeout=20 * TIME_FACTOR,
            )
        signalled = time.monotonic()
        serve.terminate()
        code = serve.wait(timeout=DRAIN + 10)
        exited = time.monotonic() - signalled
        for watcher in watchers.values():
            watcher.join(10)
        for streamer in streamers:
            streamer.join(10)
    finally:
        if serve.process.poll() is None:
            serve.process.kill()
    assert code == 0, serve.err
    assert exited < DRAIN + 5
    assert "Traceback" not in serve.err, serve.err
    for call, watcher in watchers.items():
        kinds = [m["type"] for _, m in watcher.messages]
        assert kinds[0] == "call.started" and kinds[-1] == "call.ended", (call, kinds)
        assert {m["call_id"] for _, m in watcher.messages} == {call}
        assert watcher.close_code == 1001


def test_a_call_that_fails_while_finishing_still_ends_for_its_subscribers(
    scripted, monkeypatch
) -> None:
    """A call cut short (its flush raised) gets a call.ended: its agent stops waiting, its id
    is free again and the source's slot is back; the next call goes through."""
    real_finish = Call.finish

    async def failing_finish(self: Call) -> None:
        if self.call_id == "cut-short":
            raise RuntimeError("flush failed")
        await real_finish(self)

    monkeypatch.setattr(Call, "finish", failing_finish)
    with ServiceThread(Config(), scripted) as thread:
        with subscriber(thread.ws, view="agent", agent_id="a-cut") as (ws, _):
            with contextlib.suppress(Exception):  # the server's close says it failed
                upload(thread.ws, jfk()[:16000], "cut-short", agent_id="a-cut")
            seen = messages(ws, until="call.ended", timeout=20)
        assert seen[-1]["type"] == "call.ended" and seen[-1]["call_id"] == "cut-short"
        assert thread.run(lambda: thread.service.hub.calls["cut-short"].ended_at) is not None
        assert thread.run(lambda: thread.service.hub.active_calls()) == 0
        a_call_is_delivered(thread, "after-it")
