#!/usr/bin/env python3
"""Soak test: hours of real-time calls through ``edge serve``, watching for anything that grows.

Starts ``edge serve`` as a subprocess (as ``scripts/bench_service.py`` does) and
keeps a steady load on it for ``--minutes``:

* ``--calls`` call slots, each streaming the bundled sample call (caller and
  agent channels, real-time pace) and starting it again under a new call id
  as soon as it ends;
* per slot an agent subscriber that comes and goes at random (connected 5-40 s,
  away 1-10 s), resuming with the last ``seq`` it received of each call, and
  leaving either with a clean close or by dropping its TCP connection (no
  close frame);
* two wallboard subscribers that come and go the same way.

Every ``--every`` seconds (default: each minute, or 1/30 of a short run) it
samples the service: RSS (read each second; the row keeps the least, the
floor a leak raises, and the most), open file descriptors and threads
(psutil, on the server's pid), and from ``/metrics`` its asyncio tasks,
subscriber outbox messages, queued audio frames, calls held by the hub and
connections.

The verdict (exit 1 when anything fails):

* **growth**: for each quantity, a robust line (Theil-Sen: the median of the
  slopes between every pair of samples, so a transient spike, e.g. a Whisper
  decode's buffers, does not tilt it) over the second half
  of the load (the first half is warm-up: models, allocator arenas, caches);
  its rise over that half (slope times span) must not exceed
  ``max(floor, 5 % of the quantity's median)`` (the floors, in ``FLOORS``,
  are above the sampling noise of the churning load);
* **back to idle**: after the load stops (calls finish, subscribers leave, the
  hub's 60 s linger for ended calls passes), the hub holds no call, no
  connection, subscriber or queued message remains, and tasks and fds are back
  within a few of what the idle service had before the load.

Writes soak.json (the samples), soak.md and soak.png (each quantity over time)
into ``--out``, and copies them into ``--docs`` when given.

Usage: scripts/soak.py [--minutes 60] [--calls 2] [--seed 0] [--out artifacts/soak]
                       [--docs docs/bench]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import psutil
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from edge.audio.files import read_audio
from edge.client import CallSpec, ServiceError, stream_call

# scripts/ is not a package: its own folder is on the path when it runs as a
# script, and is put there when a test imports it. The service subprocess and
# the machine description are bench_service's (one copy of each).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_service import Server, machine

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "edge/assets/sample_call.flac"
RATE = 16000
TEAM = "soak"
LINGER = 60.0  # the hub keeps an ended call this long (edge.server.hub.Hub.linger)
STAY = (5.0, 40.0)  # seconds a subscriber stays connected
AWAY = (1.0, 10.0)  # seconds it stays away
WALLBOARDS = 2

# Quantities sampled: key -> (label, unit, floor of the rise tolerated over the analysed half).
FLOORS: dict[str, tuple[str, str, float]] = {
    "rss_mb": ("RSS", "MB", 16.0),
    "fds": ("open file descriptors", "", 8.0),
    "threads": ("threads", "", 4.0),
    "tasks": ("asyncio tasks", "", 12.0),
    "outbox_messages": ("subscriber outbox messages", "", 64.0),
    "queue_frames": ("queued audio frames", "", 64.0),
    "hub_calls": ("calls held by the hub", "", 3.0),
}
RELATIVE = 0.05  # ... or this share of the quantity's median, whichever is larger
IDLE_SLACK = {"tasks": 2, "fds": 4}  # back to idle: at most this many above the start


# -- the growth rule ------------------------------------------------------------


@dataclass
class Trend:
    """One quantity's line over the second half of the load, and the rise it may have."""

    key: str
    slope_per_h: float  # fitted over the analysed half
    rise: float  # slope times the analysed span
    tolerance: float
    first: float
    last: float
    median: float

    @property
    def grows(self) -> bool:
        return self.rise > self.tolerance


def theil_sen(t: npt.NDArray[np.float64], v: npt.NDArray[np.float64]) -> float:
    """The median of the slopes between every two samples at different times."""
    i, j = np.triu_indices(len(t), k=1)
    apart = t[j] != t[i]
    if not apart.any():
        return 0.0
    return float(np.median((v[j] - v[i])[apart] / (t[j] - t[i])[apart]))


def trend(key: str, times: list[float], values: list[float], floor: float) -> Trend:
    """Fit a line to the second half of a series (by time); does it rise beyond the tolerance?"""
    if len(times) < 2:
        raise ValueError("need at least two samples")
    half = (times[0] + times[-1]) / 2
    pairs = [(t, v) for t, v in zip(times, values, strict=True) if t >= half]
    if len(pairs) < 2:
        pairs = list(zip(times, values, strict=True))[-2:]
    t = np.array([p[0] for p in pairs], dtype=float)
    v = np.array([p[1] for p in pairs], dtype=float)
    slope = theil_sen(t, v)
    median = float(np.median(v))
    return Trend(
        key=key,
        slope_per_h=round(slope * 3600, 3),
        rise=round(slope * float(np.ptp(t)), 3),
        tolerance=round(max(floor, RELATIVE * abs(median)), 3),
        first=float(v[0]),
        last=float(v[-1]),
        median=median,
    )


# -- the load -------------------------------------------------------------------


@dataclass
class Tally:
    """What the load did, for the report: a soak that did little proves little."""

    calls_started: int = 0
    calls_completed: int = 0
    call_errors: int = 0
    dropped_frames: int = 0
    subscribes: int = 0
    clean_leaves: int = 0
    abrupt_drops: int = 0
    resumes: int = 0
    subscribe_errors: int = 0
    messages: int = 0


async def call_slot(
    url: str,
    audio: npt.NDArray[np.float32],
    slot: int,
    until: float,
    tally: Tally,
    rng: random.Random,
) -> None:
    """Stream the sample call again and again, a new call id each time, until ``until``."""
    n = 0
    loop = asyncio.get_running_loop()
    while loop.time() < until:
        n += 1
        spec = CallSpec(
            call_id=f"soak-{slot}-{n}",
            agent_id=f"soak-agent-{slot}",
            team=TEAM,
            channels=("caller", "agent"),
        )
        tally.calls_started += 1
        try:
            reply = await stream_call(url, audio, spec, rate=RATE, realtime=True)
            tally.calls_completed += 1
            tally.dropped_frames += int(reply.get("dropped_frames", 0))
        except (ServiceError, OSError, InvalidHandshake) as e:
            tally.call_errors += 1
            print(f"call {spec.call_id}: {type(e).__name__}: {e}", flush=True)
            await asyncio.sleep(1.0)
        await asyncio.sleep(rng.uniform(0.0, 2.0))


async def churn(
    url: str, hello: dict[str, Any], until: float, tally: Tally, rng: random.Random
) -> None:
    """A subscriber that connects, stays a while, leaves (cleanly or not), and comes back."""
    last: dict[str, int] = {}  # call id -> highest seq received (agent view)
    loop = asyncio.get_running_loop()
    while loop.time() < until:
        message = dict(hello)
        if hello["view"] == "agent" and last and rng.random() < 0.7:
            message["resume"] = dict(last)
            tally.resumes += 1
        stay = rng.uniform(*STAY)
        abrupt = rng.random() < 0.4
        try:
            async with connect(url, max_size=None, open_timeout=30) as ws:
                await ws.send(json.dumps(message))
                tally.subscribes += 1
                await _listen(ws, min(stay, until - loop.time()), last, tally)
                if abrupt:
                    ws.transport.abort()  # no close frame: the TCP connection just goes
                    tally.abrupt_drops += 1
                else:
                    tally.clean_leaves += 1
        except (OSError, InvalidHandshake, ConnectionClosed) as e:
            tally.subscribe_errors += 1
            print(f"subscriber {hello}: {type(e).__name__}: {e}", flush=True)
        # Keep the resume map to the calls that may still be held (a few per slot).
        for call_id in sorted(last, key=last.__getitem__)[:-8]:
            del last[call_id]
        await asyncio.sleep(rng.uniform(*AWAY))


async def _listen(ws: ClientConnection, seconds: float, last: dict[str, int], tally: Tally) -> None:
    with contextlib.suppress(asyncio.TimeoutError, ConnectionClosed):
        await asyncio.wait_for(_receive(ws, last, tally), max(seconds, 0.0))


async def _receive(ws: ClientConnection, last: dict[str, int], tally: Tally) -> None:
    async for raw in ws:
        data = json.loads(raw)
        tally.messages += 1
        if data.get("type") == "error":
            tally.subscribe_errors += 1
            return
        call_id, seq = data.get("call_id"), data.get("seq")
        if isinstance(call_id, str) and isinstance(seq, int):
            last[call_id] = max(seq, last.get(call_id, 0))


# -- sampling -------------------------------------------------------------------


def sample(server: Server, t0: float, phase: str, rss: list[float] | None = None) -> dict[str, Any]:
    """One row: the process as psutil sees it, the service as /metrics says.

    ``rss``: the RSS readings (MB) since the last row, one a second; the row
    keeps their least (``rss_mb``: the floor, what a leak raises) and their
    most (``rss_peak_mb``: with a Whisper decode's transient buffers).
    """
    ps = server.ps
    metrics = server.metrics()
    now = ps.memory_info().rss / 2**20
    readings = [*(rss or []), now]

    def gauge(name: str, label: str = "") -> float:
        return float(metrics.get((name, label), 0.0))

    return {
        "t_s": round(time.monotonic() - t0, 1),
        "phase": phase,
        "rss_mb": round(min(readings), 1),
        "rss_peak_mb": round(max(readings), 1),
        "fds": ps.num_fds(),
        "threads": ps.num_threads(),
        "tasks": int(gauge("edge_asyncio_tasks")),
        "outbox_messages": int(gauge("edge_outbox_messages")),
        "queue_frames": int(gauge("edge_queue_frames")),
        "hub_calls": int(gauge("edge_hub_calls")),
        "live_calls": int(gauge("edge_active_calls")),
        "connections": int(gauge("edge_connections")),
        "subscribers": int(sum(v for (n, _), v in metrics.items() if n == "edge_subscribers")),
        "dropped_frames": int(gauge("edge_dropped_frames_total")),
        "slow_disconnects": int(gauge("edge_subscriber_slow_disconnects_total")),
        "load1": round(os.getloadavg()[0], 2),  # the machine's, other work included
    }


async def sampler(
    server: Server, t0: float, every: float, until: float, rows: list[dict[str, Any]]
) -> None:
    """A row each ``every`` seconds: "load" until ``until``, then "ending" (calls finishing)."""
    loop = asyncio.get_running_loop()
    while True:
        rss: list[float] = []
        due = loop.time() + every
        while (left := due - loop.time()) > 1.0:
            await asyncio.sleep(1.0)
            with contextlib.suppress(psutil.Error):
                rss.append(server.ps.memory_info().rss / 2**20)
        await asyncio.sleep(max(left, 0.0))
        phase = "load" if loop.time() <= until else "ending"
        row = await asyncio.to_thread(sample, server, t0, phase, rss)
        rows.append(row)
        print(
            f"[{row['t_s'] / 60:5.1f} min] RSS {row['rss_mb']} MB, fds {row['fds']}, "
            f"tasks {row['tasks']}, outbox {row['outbox_messages']}, "
            f"queue {row['queue_frames']}, hub calls {row['hub_calls']}, "
            f"connections {row['connections']}",
            flush=True,
        )


async def soak(
    server: Server,
    audio: npt.NDArray[np.float32],
    *,
    minutes: float,
    calls: int,
    every: float,
    rng: random.Random,
) -> tuple[list[dict[str, Any]], dict[str, Any], Tally]:
    """Idle sample, ``minutes`` of load sampled each ``every`` s, then wait until it is idle."""
    loop = asyncio.get_running_loop()
    t0 = time.monotonic()
    rows: list[dict[str, Any]] = []
    idle = await asyncio.to_thread(sample, server, t0, "idle")
    rows.append(idle)
    tally = Tally()
    until = loop.time() + minutes * 60
    ws = server.ws
    workers = [
        asyncio.create_task(
            call_slot(ws + "/ingest", audio, i + 1, until, tally, random.Random(rng.random()))
        )
        for i in range(calls)
    ]
    for i in range(calls):
        hello = {"type": "subscribe", "view": "agent", "agent_id": f"soak-agent-{i + 1}"}
        workers.append(
            asyncio.create_task(
                churn(ws + "/subscribe", hello, until, tally, random.Random(rng.random()))
            )
        )
    for _ in range(WALLBOARDS):
        hello = {"type": "subscribe", "view": "wallboard"}
        workers.append(
            asyncio.create_task(
                churn(ws + "/subscribe", hello, until, tally, random.Random(rng.random()))
            )
        )
    sampling = asyncio.create_task(sampler(server, t0, every, until, rows))
    try:
        await asyncio.gather(*workers)  # the calls in flight at `until` finish
    finally:
        sampling.cancel()
        for task in workers:
            task.cancel()
        await asyncio.gather(sampling, *workers, return_exceptions=True)
    # Quiet: every call ended, every subscriber gone; wait out the hub's linger.
    deadline = time.monotonic() + LINGER + 30
    end = await asyncio.to_thread(sample, server, t0, "ending")
    while time.monotonic() < deadline and (end["hub_calls"] or end["connections"]):
        rows.append(end)
        await asyncio.sleep(min(every, 5.0))
        end = await asyncio.to_thread(sample, server, t0, "ending")
    rows.append(end)
    await asyncio.sleep(2.0)
    end = await asyncio.to_thread(sample, server, t0, "quiet")
    rows.append(end)
    return rows, {"idle": idle, "quiet": end}, tally


# -- verdict and report -----------------------------------------------------------


def verdict(
    rows: list[dict[str, Any]],
    idle: dict[str, Any],
    quiet: dict[str, Any],
    floors: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Pass when nothing grows under the steady load and the service is idle again after;
    ``floors`` replaces some of :data:`FLOORS`' floors."""
    load = [r for r in rows if r["phase"] == "load"]
    chosen = {key: floor for key, (_, _, floor) in FLOORS.items()} | (floors or {})
    trends = (
        [
            trend(key, [r["t_s"] for r in load], [r[key] for r in load], floor)
            for key, floor in chosen.items()
        ]
        if len(load) >= 2
        else []
    )
    leftovers = {
        key: quiet[key]
        for key in ("hub_calls", "live_calls", "connections", "subscribers", "outbox_messages")
        if quiet[key] != 0
    }
    for key, slack in IDLE_SLACK.items():
        if quiet[key] > idle[key] + slack:
            leftovers[key] = quiet[key]
    failures = [
        f"{FLOORS[t.key][0]} rises {t.rise:g} over the second half "
        f"(tolerance {t.tolerance:g}; {t.slope_per_h:g} per hour)"
        for t in trends
        if t.grows
    ]
    failures += [
        f"after the load: {key} = {value} (idle before: {idle.get(key, 0)})"
        for key, value in leftovers.items()
    ]
    if len(load) < 2:
        failures.append("fewer than two samples under load: run longer or sample more often")
    return {
        "passed": not failures,
        "failures": failures,
        "trends": [t.__dict__ | {"grows": t.grows} for t in trends],
    }


def markdown(report: dict[str, Any]) -> str:
    s, m, v, tally = report["settings"], report["machine"], report["verdict"], report["tally"]
    idle, quiet = report["idle"], report["quiet"]
    load = [r for r in report["samples"] if r["phase"] == "load"]
    lines = [
        "# `edge serve` soak: steady real-time load, subscribers coming and going",
        "",
        f"{s['minutes']:g} minutes of load: {s['calls']} call slot(s), each streaming the "
        f"bundled sample call ({s['audio_s']:g} s, caller and agent channels) at real-time "
        "pace and starting it again under a new call id when it ends; per slot an agent "
        f"subscriber and {WALLBOARDS} wallboards connecting for {STAY[0]:g}-{STAY[1]:g} s "
        f"and away for {AWAY[0]:g}-{AWAY[1]:g} s, agents resuming with their last seq "
        "(70 %), 40 % of leaves dropping the TCP connection without a close. "
        f"Sampled every {s['every_s']:g} s. Produced by `scripts/soak.py` (seed {s['seed']}).",
        "",
        f"**Verdict: {'PASS' if v['passed'] else 'FAIL'}**"
        + ("" if v["passed"] else ": " + "; ".join(v["failures"])),
        "",
        "| quantity | idle before | under load, first / last | rise over 2nd half "
        "(tolerance) | per hour | after the load |",
        "|---|---|---|---|---|---|",
    ]
    for t in v["trends"]:
        label, unit, _ = FLOORS[t["key"]]
        first = load[0][t["key"]]
        lines.append(
            f"| {label}{f' ({unit})' if unit else ''} | {idle[t['key']]} | {first} / "
            f"{load[-1][t['key']]} | {t['rise']:g} ({t['tolerance']:g})"
            f"{' **grows**' if t['grows'] else ''} | {t['slope_per_h']:g} | {quiet[t['key']]} |"
        )
    lines += [
        "",
        f"Calls: {tally['calls_started']} started, {tally['calls_completed']} completed, "
        f"{tally['call_errors']} failed, {tally['dropped_frames']} frames dropped. "
        f"Subscribers: {tally['subscribes']} connections, {tally['resumes']} resuming, "
        f"{tally['clean_leaves']} clean leaves, {tally['abrupt_drops']} dropped TCP, "
        f"{tally['subscribe_errors']} errors; {tally['messages']} messages received.",
        "",
        (
            "RSS: the least of the readings taken each second between two samples (the floor a "
            "leak raises; a Whisper decode's transient buffers add up to ~50 MB to single "
            "readings); the plot shows the most as well."
            if "rss_peak_mb" in load[0]
            else "RSS: one reading per sample."
        ),
        "",
        "Rule: a quantity grows without bound when a robust line (Theil-Sen) over the second "
        "half of the load rises by more than max(floor, 5 % of its median) over that half "
        "(floors: "
        + ", ".join(
            f"{f[0]} {(s.get('rss_floor') or f[2]) if k == 'rss_mb' else f[2]:g}"
            for k, f in FLOORS.items()
        )
        + "); "
        "and after the load (calls ended, subscribers gone, the hub's "
        f"{LINGER:g} s linger for ended calls passed) the hub must hold no call, no "
        "connection, subscriber or queued message may remain, tasks and fds within "
        f"{IDLE_SLACK['tasks']} and {IDLE_SLACK['fds']} of the idle service's.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM, {m['os']}, "
        f"Python {m['python']}; load average before the run: "
        f"{', '.join(str(x) for x in m['load_average_before'])}, during it (1 min, mean): "
        f"{report['load_average_mean']}.",
    ]
    if report.get("note"):
        lines += ["", report["note"]]
    return "\n".join(lines) + "\n"


def plot(report: dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot")
        return False
    rows = report["samples"]
    trends = {t["key"]: t for t in report["verdict"]["trends"]}
    fig, axes = plt.subplots(2, 4, figsize=(15, 6.5), constrained_layout=True)
    for ax, (key, (label, unit, _)) in zip(axes.flat, FLOORS.items(), strict=False):
        ax.plot([r["t_s"] / 60 for r in rows], [r[key] for r in rows], ".-", ms=3)
        if key == "rss_mb" and "rss_peak_mb" in rows[-1]:
            peaks = [r.get("rss_peak_mb", r["rss_mb"]) for r in rows]
            ax.plot([r["t_s"] / 60 for r in rows], peaks, "-", color="C0", alpha=0.3, lw=0.8)
        t = trends.get(key)
        if t is not None:
            load = [r for r in rows if r["phase"] == "load"]
            end = load[-1]["t_s"]
            start = (load[0]["t_s"] + end) / 2
            mid = [r for r in load if r["t_s"] >= start]
            xs = np.array([r["t_s"] for r in mid])
            ys = np.array([r[key] for r in mid], dtype=float)
            slope = t["slope_per_h"] / 3600
            line = slope * xs + float(np.median(ys - slope * xs))
            ax.plot(xs / 60, line, "r-" if t["grows"] else "g--", lw=1)
        ending = [r["t_s"] / 60 for r in rows if r["phase"] in ("ending", "quiet")]
        if ending:  # the load has stopped: calls finish, subscribers leave, the linger passes
            ax.axvspan(min(ending), max(ending), color="grey", alpha=0.12, lw=0)
        ax.set_title(f"{label}{f' ({unit})' if unit else ''}", fontsize=10)
        ax.set_xlabel("minutes")
        ax.set_ylim(bottom=0)
    last = axes.flat[-1]
    last.plot([r["t_s"] / 60 for r in rows], [r["connections"] for r in rows], ".-", ms=3)
    last.plot([r["t_s"] / 60 for r in rows], [r["live_calls"] for r in rows], ".-", ms=3)
    last.legend(["connections", "live calls"], fontsize=8)
    last.set_title("connections, live calls", fontsize=10)
    last.set_xlabel("minutes")
    fig.suptitle(
        f"edge serve soak: {report['settings']['calls']} call slot(s) at real-time pace, "
        f"subscribers churning; fit over the second half "
        f"({'PASS' if report['verdict']['passed'] else 'FAIL'})"
    )
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


# -- main -----------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="minutes of load (default 60)")
    parser.add_argument("--calls", type=int, default=2, help="call slots at once (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the churn (default 0)")
    parser.add_argument(
        "--every",
        type=float,
        default=0.0,
        help="seconds between samples (default: 60, or 1/30 of a shorter run)",
    )
    parser.add_argument(
        "--call-seconds",
        type=float,
        default=0.0,
        help="play only the start of the sample call (default: all of it)",
    )
    parser.add_argument(
        "--rss-floor",
        type=float,
        default=0.0,
        help="MB of RSS rise tolerated over the second half (default 16; a run of a few "
        "minutes is still warming up its allocator and needs more)",
    )
    parser.add_argument("--out", default=str(ROOT / "artifacts/soak"), help="report folder")
    parser.add_argument(
        "--docs", default="", help="folder the report is copied into (e.g. docs/bench)"
    )
    parser.add_argument("--note", default="", help="a sentence for the report (e.g. the load)")
    parser.add_argument(
        "--report",
        metavar="SOAK.JSON",
        help="no run: judge the samples of an earlier run again and rewrite its report",
    )
    args = parser.parse_args()
    if args.report:
        earlier = json.loads(Path(args.report).read_text())
        earlier["note"] = args.note or earlier.get("note", "")
        return write(earlier, Path(args.out), args.docs)
    if args.minutes <= 0 or args.calls < 1:
        parser.error("--minutes must be positive and --calls at least 1")
    every = args.every or min(60.0, args.minutes * 60 / 30)
    audio = read_audio(str(SAMPLE))[:, :2]
    if args.call_seconds:
        audio = audio[: int(args.call_seconds * RATE)]
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "machine": machine(0),
        "settings": {
            "minutes": args.minutes,
            "rss_floor": args.rss_floor,
            "calls": args.calls,
            "seed": args.seed,
            "every_s": every,
            "audio": SAMPLE.name,
            "audio_s": round(len(audio) / RATE, 1),
            "channels": ["caller", "agent"],
        },
        "note": args.note,
    }
    print(
        f"soak: {args.minutes:g} min, {args.calls} call slot(s) of {len(audio) / RATE:.0f} s "
        f"at real-time pace, sampling every {every:g} s",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp, open(out / "soak.server.log", "w") as log:
        config = Path(tmp) / "soak.toml"
        config.write_text("# soak\n")
        server = Server(log, threads=0, config=config)
        try:
            server.wait_ready()
            started = time.monotonic()
            rows, ends, tally = asyncio.run(
                soak(
                    server,
                    audio,
                    minutes=args.minutes,
                    calls=args.calls,
                    every=every,
                    rng=random.Random(args.seed),
                )
            )
        finally:
            server.stop()
    report["wall_s"] = round(time.monotonic() - started, 1)
    loads = [r["load1"] for r in rows if r["phase"] == "load"]
    report["load_average_mean"] = round(float(np.mean(loads)), 2) if loads else None
    report["samples"] = rows
    report["idle"], report["quiet"] = ends["idle"], ends["quiet"]
    report["tally"] = tally.__dict__
    return write(report, out, args.docs)


def write(report: dict[str, Any], out: Path, docs: str) -> int:
    """Judge the samples, write soak.{json,md,png} into ``out`` (and ``docs``); the exit status."""
    out.mkdir(parents=True, exist_ok=True)
    for row in report["samples"]:  # reports of runs before the "ending" phase was kept apart
        if row["phase"] == "load" and row["t_s"] > report["settings"]["minutes"] * 60 + 1:
            row["phase"] = "ending"
    rss_floor = report["settings"].get("rss_floor")
    floors = {"rss_mb": float(rss_floor)} if rss_floor else None
    report["verdict"] = verdict(report["samples"], report["idle"], report["quiet"], floors)
    (out / "soak.json").write_text(json.dumps(report, indent=2) + "\n")
    text = markdown(report)
    (out / "soak.md").write_text(text)
    plotted = plot(report, out / "soak.png")
    print(text)
    if docs:
        folder = Path(docs)
        folder.mkdir(parents=True, exist_ok=True)
        for suffix in (".json", ".md") + ((".png",) if plotted else ()):
            shutil.copyfile(out / f"soak{suffix}", folder / f"soak{suffix}")
        print(f"report copied to {folder}")
    return 0 if report["verdict"]["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
