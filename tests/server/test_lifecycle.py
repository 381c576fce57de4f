"""`edge serve` as operations sees it: health, metrics, structured logs, SIGTERM mid-call."""

import asyncio
import json
import re
import signal
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
from faster_whisper.audio import decode_audio
from prometheus_client.parser import text_string_to_metric_families
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from edge.client import CallSpec, stream_call
from edge.config import Config
from edge.server.options import ServerOptions
from tests.helpers import DATA, TIME_FACTOR, EdgeProcess, wer_text
from tests.server.harness import ServiceThread, upload

EDGE = [sys.executable, "-m", "edge.cli.main"]
START_TIMEOUT = 60 * TIME_FACTOR  # interpreter and models
DRAIN = ServerOptions().drain_seconds


def jfk():
    return decode_audio(str(DATA / "jfk.flac"))


def get(url):
    """(status, body) of a plain GET."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def scrape(url):
    """/metrics parsed with prometheus-client's own parser: {(sample, labels): value}."""
    status, text = get(url + "/metrics")
    assert status == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


# -- in process -------------------------------------------------------------------


def test_health_and_readiness_follow_the_models():
    """/healthz is 200 at once; /readyz is 503 until the models are loaded."""
    with ServiceThread(Config(), None) as service:
        assert get(service.http + "/healthz") == (200, "ok\n")
        assert get(service.http + "/readyz") == (503, "models loading\n")
        assert scrape(service.http)[("edge_ready", ())] == 0


@pytest.mark.slow
def test_metrics_move_as_a_call_runs(engine):
    """A scrape before and after an upload: calls, finals and ASR latency counted; none active."""
    with ServiceThread(Config(), engine) as service:
        assert get(service.http + "/readyz") == (200, "ready\n")
        before = scrape(service.http)
        assert before[("edge_ready", ())] == 1
        upload(service.ws, jfk(), "metrics-1")
        deadline = time.monotonic() + 10 * TIME_FACTOR
        while (after := scrape(service.http))[("edge_active_calls", ())] != 0:
            assert time.monotonic() < deadline, "the call never ended"
            time.sleep(0.1)

    def moved(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert moved("edge_calls_started_total") == 1
    assert moved("edge_events_total", type="transcript.final") >= 1
    assert moved("edge_events_total", type="call.ended") == 1
    assert moved("edge_stage_seconds_count", stage="asr_final") >= 1
    assert moved("edge_stage_seconds_count", stage="vad") >= 1
    assert moved("edge_batch_size_count", model="vad") >= 1  # batching is on by default
    assert ("edge_asr_window_fallbacks", (("kind", "final"),)) in after
    assert after[("edge_active_calls", ())] == 0
    assert after[("edge_dropped_frames_total", ())] == 0  # an upload drops nothing


# -- `edge serve` as a process ------------------------------------------------------


class EdgeServe(EdgeProcess):
    """`edge serve --port 0` as a process, its URL known and its models loaded."""

    def __init__(self, *args, env=None, cwd):
        super().__init__("serve", "--port", "0", *args, env=env, cwd=cwd, clean_env=True)
        listening = self.wait_for("edge serve: listening on ", START_TIMEOUT)
        self.http = re.search(r"listening on (\S+)", listening).group(1)
        self.ws = self.http.replace("http", "ws", 1)
        self.wait_for("models loaded, ready for calls", START_TIMEOUT)

    def terminate(self):
        self.process.send_signal(signal.SIGTERM)


class Watcher:
    """An agent subscriber on its own thread: every message with its arrival time, and the close."""

    def __init__(self, ws_url, agent_id):
        self.messages = []  # (monotonic time, message)
        self.close_code = None
        self._subscribed = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(ws_url, agent_id), daemon=True)
        self._thread.start()
        assert self._subscribed.wait(10), "not subscribed"

    def _read(self, ws_url, agent_id):
        with connect(ws_url + "/subscribe", open_timeout=10, max_size=None) as ws:
            ws.send(json.dumps({"type": "subscribe", "view": "agent", "agent_id": agent_id}))
            assert json.loads(ws.recv(timeout=10))["type"] == "subscribed"
            self._subscribed.set()
            try:
                while True:
                    self.messages.append((time.monotonic(), json.loads(ws.recv())))
            except ConnectionClosed as e:
                self.close_code = e.rcvd.code if e.rcvd else None

    def join(self, timeout):
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the server never closed the subscriber"


@pytest.mark.slow
def test_sigterm_mid_call_flushes_the_call_and_exits_0(tmp_path):
    """SIGTERM 6.5 s into a live call: the speech heard is finalised, call.ended sent, exit 0."""
    serve = EdgeServe(cwd=tmp_path)
    try:
        watcher = Watcher(serve.ws, "a1")
        streamed = []

        def stream():
            spec = CallSpec(call_id="c-term", agent_id="a1", channels=("caller",))
            try:
                streamed.append(asyncio.run(stream_call(serve.ws + "/ingest", jfk(), spec)))
            except Exception as e:  # the server ends the call: the send or the reply fails
                streamed.append(e)

        streamer = threading.Thread(target=stream, daemon=True)
        streamer.start()
        time.sleep(6.5)  # mid "what your country can do for you" (5.2 s to 8 s)
        signalled = time.monotonic()
        serve.terminate()
        code = serve.wait(timeout=DRAIN + 5)
        exited = time.monotonic() - signalled
        watcher.join(10)
        streamer.join(10)
    finally:
        if serve.process.poll() is None:
            serve.process.kill()
    assert code == 0, "".join(serve.stderr)
    assert exited < DRAIN + 5
    assert isinstance(streamed[0], ConnectionClosed) and streamed[0].rcvd.code == 1001
    kinds = [m["type"] for _, m in watcher.messages]
    assert kinds[0] == "call.started" and kinds[-1] == "call.ended", kinds
    assert watcher.close_code == 1001  # going away, after the call's last event
    finals = [(t, m) for t, m in watcher.messages if m["type"] == "transcript.final"]
    flushed = [m for t, m in finals if t > signalled]
    # The utterance cut off by the signal (from 5.2 s) is finalised, not lost.
    assert flushed and flushed[-1]["end"] > 5.5, f"no final after SIGTERM: {finals}"
    heard = wer_text(" ".join(m["text"] for _, m in finals))
    assert "fellow americans" in heard and "ask not" in heard
    assert "for your country" not in heard  # 10 s in: never sent


@pytest.mark.slow
def test_json_logs_are_one_object_per_line_with_the_call_id(tmp_path):
    """[log] json = true: every stderr line is a JSON object; the call's start names its id."""
    env = {"EDGE_LOG__JSON": "true", "EDGE_LOG__LEVEL": "info"}
    serve = EdgeServe(env=env, cwd=tmp_path)
    try:
        reply = upload(serve.ws, jfk()[: 3 * 16000], "c-log-1", agent_id="a1")
        assert reply["type"] == "stopped"
        serve.terminate()
        assert serve.wait(timeout=DRAIN + 5) == 0
    finally:
        if serve.process.poll() is None:
            serve.process.kill()
    records = [json.loads(line) for line in serve.stderr if line.strip()]
    assert records and all({"time", "level", "logger", "message"} <= r.keys() for r in records)
    started = [r for r in records if r["message"].startswith("call c-log-1 started")]
    assert len(started) == 1 and started[0]["level"] == "info"
    assert started[0]["logger"] == "edge.server.app" and started[0]["call_id"] == "c-log-1"
    ended = [r for r in records if r["message"].startswith("call c-log-1 ended")]
    assert len(ended) == 1 and ended[0]["call_id"] == "c-log-1"
    assert "call_id" not in records[0]  # "server listening": no call
