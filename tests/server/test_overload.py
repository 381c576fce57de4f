"""Honest under overload (issue 15), over real sockets: a real `edge serve` whose
Whisper stand-in is deliberately slowed falls behind its lag budget, says so to
its call's subscribers step by step (`engine.degraded`), refuses a new call with
1013 while `/readyz` says "at capacity", and recovers step by step
(`engine.recovered`) once the model is fast again; the call in progress goes on.

Real audio streamed at real-time pace, the real Silero VAD; scripted emotion
and text models (the behaviour under test is the service's, not the models').
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from faster_whisper.audio import decode_audio
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from edge.adapters.vad import SileroVad
from edge.client import CallSpec, stream_call
from edge.config import Config
from edge.contracts import Hypothesis, Samples
from edge.pipeline.engine import Engine
from edge.pipeline.load import LoadOptions, LoadStep
from edge.pipeline.options import PipelineOptions
from tests.helpers import DATA, TIME_FACTOR
from tests.pipeline.test_faults import ScriptedEmotion, ScriptedText, ScriptedTranscriber
from tests.server.harness import ServiceThread, receive, subscriber

pytestmark = pytest.mark.slow

SLOW = 4.0 * TIME_FACTOR  # seconds each transcription takes while slowed
# A tight budget and short holds, so the test sees every step within seconds.
LOAD = LoadOptions(lag_budget=1.0, recover_at=0.5, hold=0.3, recover_hold=0.6)


class Slowed:
    """A transcriber that sleeps ``delay`` seconds before each job: a box too small."""

    def __init__(self, inner: ScriptedTranscriber) -> None:
        self.inner = inner
        self.delay = 0.0
        self.jobs = 0
        self.greedy_finals = 0

    def transcribe(
        self,
        audio: Samples,
        *,
        prefix: str | None,
        final: bool,
        language: str | None = "en",
        greedy: bool = False,
        speculative: bool = False,
    ) -> Hypothesis:
        self.jobs += 1
        self.greedy_finals += final and greedy
        time.sleep(self.delay)
        return self.inner.transcribe(audio, prefix=prefix, final=final, language=language)


@pytest.fixture
def slowed() -> Iterator[tuple[Engine, Slowed]]:
    asr = Slowed(ScriptedTranscriber())
    options = PipelineOptions(load=LOAD)
    engine = Engine(SileroVad(None), asr, options, emotion=ScriptedEmotion(), text=ScriptedText())
    yield engine, asr
    engine.close()


def readyz(thread: ServiceThread) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(thread.http + "/readyz", timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def metric(thread: ServiceThread, name: str) -> float:
    with urllib.request.urlopen(thread.http + "/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise AssertionError(f"no {name} in /metrics")


def refused(thread: ServiceThread, call_id: str) -> tuple[int, str]:
    """Start a new call: the close code and the error message the service answers with."""
    message = ""
    with connect(thread.ws + "/ingest", open_timeout=10) as ws:
        ws.send(json.dumps({"type": "start", "call_id": call_id, "agent_id": call_id}))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                data = json.loads(ws.recv(timeout=10))
                if data.get("type") == "error":
                    message = data["message"]
    assert closed.value.rcvd is not None, "the service did not close the connection"
    return closed.value.rcvd.code, message


def test_overload_degrades_step_by_step_refuses_then_recovers(slowed) -> None:
    """Lag over budget: engine.degraded 1, 2, 3, 4 in order; at 4 a new call gets 1013 and
    /readyz "at capacity"; the model fast again: engine.recovered back to 0 step by step,
    the call in progress ends normally with its finals, and a new call is taken again."""
    engine, asr = slowed
    asr.delay = SLOW
    audio = np.tile(decode_audio(str(DATA / "jfk.flac")), 3)  # 33 s of speech and pauses
    with ServiceThread(Config(), engine) as thread:
        assert readyz(thread) == (200, "ready\n")
        with subscriber(thread.ws, view="agent", agent_id="a-1") as (ws, _):
            reply: dict[str, Any] = {}

            def stream() -> None:
                spec = CallSpec(call_id="busy", agent_id="a-1", channels=("caller",))
                reply.update(asyncio.run(stream_call(thread.ws + "/ingest", audio, spec)))

            streaming = threading.Thread(target=stream, daemon=True)
            streaming.start()
            seen: list[dict[str, Any]] = []
            refusal: tuple[int, str] | None = None
            ready_at_capacity: tuple[int, str] | None = None
            while (data := receive(ws, timeout=60))["type"] != "call.ended":
                seen.append(data)
                if data["type"] == "engine.degraded" and data["step"] == LoadStep.AT_CAPACITY:
                    ready_at_capacity = readyz(thread)
                    refusal = refused(thread, "newcomer")
                    assert metric(thread, "edge_load_step") == LoadStep.AT_CAPACITY
                    asr.delay = 0.0  # load drops
            streaming.join(30)

        told = [(m["type"], m["step"]) for m in seen if m["type"].startswith("engine.")]
        degraded = [step for kind, step in told if kind == "engine.degraded"]
        recovered = [step for kind, step in told if kind == "engine.recovered"]
        assert degraded == [1, 2, 3, 4], told
        assert recovered == [3, 2, 1, 0], told
        assert told.index(("engine.degraded", 4)) < told.index(("engine.recovered", 3))
        first = next(m for m in seen if m["type"] == "engine.degraded")
        assert first["name"] == "fewer_partials" and first["lag"] > LOAD.lag_budget
        assert first["message"] == "Service busy: fewer live captions"

        assert ready_at_capacity == (503, "at capacity\n")
        assert refusal is not None
        code, message = refusal
        assert code == 1013 and "at capacity" in message and "another node" in message
        assert metric(thread, "edge_calls_refused_at_capacity_total") == 1
        assert asr.greedy_finals > 0  # step 2 decoded finals greedily

        # The call in progress went on to its end, its finals delivered.
        assert reply["type"] == "stopped"
        finals = [m for m in seen if m["type"] == "transcript.final" and m["text"]]
        assert len(finals) >= 4
        # Recovered: ready again, the gauge back at 0, a new call is taken.
        assert readyz(thread) == (200, "ready\n")
        assert metric(thread, "edge_load_step") == 0
        spec = CallSpec(call_id="after", agent_id="a-2", channels=("caller",))
        short = decode_audio(str(DATA / "jfk.flac"))[: 16000 * 3]
        after = asyncio.run(stream_call(thread.ws + "/ingest", short, spec, realtime=False))
        assert after["type"] == "stopped"
