#!/usr/bin/env python3
"""Fleet capacity benchmark: N simultaneous published calls' events, fanned out (issue 16, part 4).

What a contact centre in edge mode asks of the service: every workstation
analyses its own call and publishes the events (``/publish``); the service
fans them out to each call's agent panel and to the supervisors' wallboards.
This measures how many simultaneous calls' events a set of ``edge serve``
nodes carries, and how late the events arrive.

**Calls.** Recorded event streams of real calls, in
``scripts/data/fleet_calls/*.jsonl.gz``: what ``edge replay --realtime --jsonl``
printed for the bundled sample call and a few test recordings (``--record``
makes them again). A seat (one of N) plays one recording after another as
calls of its own (its own ``call_id``, ``agent_id`` and team), each event sent
at the pace it was made (its ``wall_time`` offset from the call's start in the
recording) and stamped with the sending time as its ``wall_time``. Seats start
staggered over ``--stagger`` seconds; at the end of ``--seconds`` each seat
hangs up (its call's ``call.ended``). The workstation's own privacy
(redaction) is applied once to each recording, as ``edge run --publish`` does
before anything leaves.

**Subscribers.** Every seat has its agent panel subscribed (agent view, its own
token): every event of every call is checked at the subscriber, in order, no
gap, none twice. 20 wallboards (``--wallboards``): the first two watch every
team (the floor view), the others one team each (``--teams`` teams, calls
dealt round-robin). Alerts are timed at the wallboards; tiles are counted.

**Nodes.** ``--nodes 1``: one ``edge serve`` with its in-process hub.
``--redis --nodes K``: a ``redis-server`` of its own (free port, temp folder,
no persistence) and K ``edge serve`` hub nodes with ``[fleet] redis_url`` (and
``analyse = false``: no models); seat i publishes to node i mod K and its agent
panel subscribes to node i+1 mod K, so every event crosses the bus.

**Load.** ``--clients`` processes (asyncio, ``websockets``) share the seats and
wallboards, so the load generator is not one GIL; their CPU is reported, and
how late they offered each event against its schedule. Each call is published
by :class:`edge.client.Publisher`, the client ``edge run --publish`` runs (an
event is stamped when it is offered, so the client's own queueing counts as
lag; a dropped connection resumes). A dropped agent panel resumes with its last
seqs, as the page does.

**Measured,** per N: event lag (receipt at the agent subscriber minus the
event's ``wall_time``) p50/p95/p99/max; alert lag at the wallboards; events
lost (a cue, final or call event missing) or coalesced (a superseded reading
the outbox skipped); CPU (100 % = one core), CPU per event, peak RSS and time
waiting for a core of each node, and CPU and RSS of Redis; the load generator's
CPU; the whole machine's CPU. The sweep stops after the first N whose lag p95
is over ``--stop-above`` or that lost events. ``--profile`` runs the nodes under
cProfile.

Usage:
  scripts/bench_fleet.py [--calls 50,100,250,500,1000] [--seconds 40] [--nodes 1]
  scripts/bench_fleet.py --redis --nodes 2 ...
  scripts/bench_fleet.py --record          # the recorded streams, again (a few minutes)
"""

from __future__ import annotations

import argparse
import array
import asyncio
import contextlib
import dataclasses
import gzip
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import orjson
import psutil
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: the package beside it
    sys.path.insert(0, str(ROOT))

from edge.client import Publisher  # noqa: E402
from edge.events import from_dict, to_dict  # noqa: E402
from edge.server.hub import Privacy, coalesce_key  # noqa: E402
from edge.server.options import PrivacyOptions  # noqa: E402
from edge.server.publish import PublishInfo  # noqa: E402
from edge.types import CallId  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the other benchmarks beside it
from bench_service import _status  # noqa: E402

CALLS_DIR = ROOT / "scripts/data/fleet_calls"
DEFAULT_SWEEP = (50, 100, 250, 500, 1000)
LAG_TARGET = 0.25  # seconds: issue 16's bound on event lag p95 at 1,000 calls
FLOOR_WALLBOARDS = 2  # wallboards that watch every team
TILE = '{"type":"call.summary"'  # how the hub writes a tile (edge.server.hub)
SETTLE = 15.0  # seconds to wait for the last events after every seat hung up

# (name, file under the repository, --channels for edge replay): what --record plays.
RECORDINGS = (
    ("sample_call", "edge/assets/sample_call.flac", "caller,agent"),
    ("conversation_cues", "tests/data/conversation_cues.flac", "caller,agent"),
    ("jfk", "tests/data/jfk.flac", "caller,-"),
    ("collapsed_phone", "tests/data/emergency/collapsed_phone.flac", "caller"),
    ("wake_clean", "tests/data/emergency/wake_clean.flac", "caller"),
    ("chest_phone", "tests/data/emergency/chest_phone.flac", "caller"),
    ("negated_clean", "tests/data/emergency/negated_clean.flac", "caller"),
)


# -- recorded calls -------------------------------------------------------------


def record(folder: Path) -> None:
    """Replay each recording through the pipeline at real-time pace; keep its events."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, path, channels in RECORDINGS:
        command = [sys.executable, "-m", "edge", "replay", "--realtime", "--jsonl"]
        command += ["--channels", channels, "--call-id", name, str(ROOT / path)]
        print(f"recording {name}: {' '.join(command[1:])}", flush=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("EDGE_")}
        out = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
        if out.returncode != 0:
            raise SystemExit(f"edge replay {path} failed:\n{out.stderr[-2000:]}")
        lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
        with gzip.open(folder / f"{name}.jsonl.gz", "wt", compresslevel=9) as f:
            f.write("\n".join(lines) + "\n")
        print(f"  {len(lines)} events", flush=True)


@dataclass
class Stream:
    """One recorded call, ready to publish: each event's offset (s) and body."""

    name: str
    offsets: list[float]
    bodies: list[dict[str, Any]]  # as the workstation sends them, call_id and wall_time aside
    keyed: list[bool]  # a reading a later one supersedes (an outbox may coalesce it)

    @property
    def seconds(self) -> float:
        return self.offsets[-1]


def load_streams(folder: Path, *, limit: float | None = None) -> list[Stream]:
    """The recorded calls; ``limit``: each cut after that many seconds (ended there)."""
    files = sorted(folder.glob("*.jsonl.gz"))
    if not files:
        raise SystemExit(f"no recorded calls in {folder}: run scripts/bench_fleet.py --record")
    streams = []
    for path in files:
        with gzip.open(path, "rt") as f:
            events = [from_dict(json.loads(line)) for line in f if line.strip()]
        privacy = Privacy(PrivacyOptions())  # the workstation's own redaction
        start = events[0].wall_time
        offsets: list[float] = []
        bodies: list[dict[str, Any]] = []
        keyed: list[bool] = []
        for event in events:
            shared = privacy.share(event)
            if shared is None:
                continue
            offset = max(0.0, shared.wall_time - start)
            if limit is not None and offset > limit and shared.type != "call.ended":
                continue
            offsets.append(min(offset, limit) if limit is not None else offset)
            bodies.append(to_dict(shared))
            keyed.append(coalesce_key(shared) is not None)
        streams.append(Stream(path.name.removesuffix(".jsonl.gz"), offsets, bodies, keyed))
    return streams


def ended_body(stream: Stream, sent: int, offset: float) -> dict[str, Any]:
    """The ``call.ended`` of a call hung up after its first ``sent`` events."""
    last = stream.bodies[-1]
    assert last["type"] == "call.ended", f"{stream.name} does not end with call.ended"
    seq = stream.bodies[sent - 1]["seq"] + 1
    return {**last, "seq": seq, "stream_time": round(offset, 3), "duration": round(offset, 3)}


# -- the load: one client process's seats and wallboards ------------------------


@dataclass
class Seat:
    index: int
    agent_id: str
    team: str
    agent_token: str
    publish_url: str
    subscribe_url: str


@dataclass
class WorkerPlan:
    """What one client process does (sent to it as JSON)."""

    worker: int
    n: int
    seats: list[dict[str, Any]]
    wallboards: list[dict[str, Any]]  # url, token
    ingest_token: str
    seconds: float
    stagger: float
    streams_dir: str
    limit: float | None
    deflate: bool  # permessage-deflate, as browsers offer it
    seed: int
    result: str


@dataclass
class CallLog:
    """One published call as its agent subscriber saw it."""

    stream: int
    sent: list[int] = field(default_factory=list)  # seqs published, in order
    received: list[int] = field(default_factory=list)  # seqs received, in order


class Worker:
    """Publishes its seats' calls and subscribes their agent panels and its wallboards."""

    def __init__(self, plan: WorkerPlan) -> None:
        self.plan = plan
        self.streams = load_streams(Path(plan.streams_dir), limit=plan.limit)
        self.rng = random.Random(plan.seed)
        self.compression: str | None = "deflate" if plan.deflate else None
        self.calls: dict[str, CallLog] = {}
        self.lag = array.array("f")
        self.alert_lag = array.array("f")
        self.late = array.array("f")  # how late each event was sent against its schedule
        self.tiles = 0
        self.errors: list[str] = []
        self.started_calls = 0
        self.reconnections = 0  # publishers that lost their connection and resumed
        self.resubscriptions = 0  # agent panels that lost theirs and resumed
        self.loop_lag = array.array("f")
        self.cpu_pct = 0.0  # this process's CPU from the start to the last event

    async def run(self) -> None:
        subscribed = [asyncio.Event() for _ in self.plan.seats + self.plan.wallboards]
        tasks = [
            asyncio.create_task(self._agent(Seat(**s), subscribed[i]))
            for i, s in enumerate(self.plan.seats)
        ]
        offset = len(self.plan.seats)
        tasks += [
            asyncio.create_task(self._wallboard(w["url"], w["token"], subscribed[offset + i]))
            for i, w in enumerate(self.plan.wallboards)
        ]
        await asyncio.gather(*(e.wait() for e in subscribed))
        print("ready", flush=True)
        line = await asyncio.to_thread(sys.stdin.readline)  # "go <unix time>" from the main process
        t0 = float(line.split()[1])
        cpu0, wall0 = time.process_time(), time.monotonic()
        ticker = asyncio.create_task(self._tick())
        seats = [
            self._seat(Seat(**s), t0 + self.rng.uniform(0, self.plan.stagger))
            for s in self.plan.seats
        ]
        await asyncio.gather(*seats)
        deadline = time.monotonic() + SETTLE
        while time.monotonic() < deadline and not self._all_ended():
            await asyncio.sleep(0.1)
        print(
            f"worker {self.plan.worker}: calls done {time.time() - t0:.1f} s after the start",
            file=sys.stderr,
        )
        self.cpu_pct = 100 * (time.process_time() - cpu0) / (time.monotonic() - wall0)
        for task in [*tasks, ticker]:
            task.cancel()
        await asyncio.gather(*tasks, ticker, return_exceptions=True)

    def _all_ended(self) -> bool:
        return all(c.received and c.received[-1] == c.sent[-1] for c in self.calls.values())

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.1)
            self.loop_lag.append(loop.time() - before - 0.1)

    async def _seat(self, seat: Seat, start: float) -> None:
        """One agent's calls, one after another, until the run's end (then hang up)."""
        end = start + self.plan.seconds
        # A recording is picked in proportion to its length: a seat spends most of
        # its time in long calls, as a floor does (short ones add variety, and churn).
        weights = [s.seconds for s in self.streams]
        k = 0
        await asyncio.sleep(max(0.0, start - time.time()))
        while time.time() < end:
            (index,) = self.rng.choices(range(len(self.streams)), weights)
            call_id = f"n{self.plan.n}-s{seat.index}-c{k}"
            k += 1
            try:
                await self._publish(seat, call_id, index, end)
            except (OSError, ConnectionClosed, asyncio.TimeoutError, RuntimeError) as e:
                self.errors.append(f"{call_id}: {type(e).__name__}: {e}")
                return

    async def _publish(self, seat: Seat, call_id: str, index: int, end: float) -> None:
        """One call, published as ``edge run --publish`` does: the workstation's own client.

        :class:`edge.client.Publisher` keeps the events until they are acknowledged
        and, when its connection drops, reconnects and resends what the service
        lacks; so a connection lost under load costs lag here, not events.
        """
        stream = self.streams[index]
        log = self.calls[call_id] = CallLog(index)
        info = PublishInfo(CallId(call_id), seat.agent_id, seat.team, self.plan.ingest_token)
        # The recordings were redacted once, when loaded: as a workstation's events are.
        publisher = Publisher(seat.publish_url, info, PrivacyOptions(redact=False))
        running = asyncio.create_task(publisher.run())
        try:
            start = time.time()
            for i, (offset, body) in enumerate(zip(stream.offsets, stream.bodies, strict=True)):
                due = start + offset
                if due > end and i and body["type"] != "call.ended":  # hang up
                    body = ended_body(stream, i, end - start)
                    due = end
                if (wait := due - time.time()) > 0:
                    await asyncio.sleep(wait)
                now = time.time()
                self.late.append(now - due)
                log.sent.append(body["seq"])
                publisher.offer(from_dict({**body, "call_id": call_id, "wall_time": now}))
                if body["type"] == "call.ended":
                    break
            await publisher.close()
            await asyncio.wait_for(asyncio.shield(running), SETTLE + 30)
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
        self.started_calls += 1
        self.reconnections += max(0, publisher.connections - 1)
        if not publisher.backlog.done:
            raise RuntimeError(f"{len(publisher.backlog)} event(s) never acknowledged")

    async def _agent(self, seat: Seat, subscribed: asyncio.Event) -> None:
        """The seat's agent panel: every event of its calls; dropped, it resumes as a page does."""
        resume: dict[str, int] = {}
        while True:
            hello = {"type": "subscribe", "view": "agent", "token": seat.agent_token}
            if resume:
                hello["resume"] = resume
            try:
                async with connect(
                    seat.subscribe_url, open_timeout=60, max_size=None, compression=self.compression
                ) as ws:
                    await ws.send(json.dumps(hello))
                    reply = json.loads(await ws.recv())
                    if reply.get("type") != "subscribed":
                        raise RuntimeError(f"agent {seat.agent_id} not subscribed: {reply}")
                    subscribed.set()
                    async for message in ws:
                        now = time.time()
                        data = orjson.loads(message)  # the load generator's CPU is the node's too
                        call_id = data.get("call_id", "")
                        call = self.calls.get(call_id)
                        if call is None or "seq" not in data or "wall_time" not in data:
                            continue  # a snapshot stands for what it covers: not counted
                        call.received.append(data["seq"])
                        resume[call_id] = data["seq"]
                        self.lag.append(now - data["wall_time"])
            except RuntimeError as e:  # refused: no point in trying again
                self.errors.append(f"agent {seat.agent_id}: {e}")
                subscribed.set()
                return
            except (OSError, ConnectionClosed, asyncio.TimeoutError):
                pass  # dropped (too slow, or the machine too busy to answer): resume
            self.resubscriptions += 1
            await asyncio.sleep(0.5)

    async def _wallboard(self, url: str, token: str, subscribed: asyncio.Event) -> None:
        try:
            async with connect(
                url, open_timeout=60, max_size=None, compression=self.compression
            ) as ws:
                await ws.send(
                    json.dumps({"type": "subscribe", "view": "wallboard", "token": token})
                )
                reply = json.loads(await ws.recv())
                if reply.get("type") != "subscribed":
                    raise RuntimeError(f"wallboard not subscribed: {reply}")
                subscribed.set()
                async for message in ws:
                    now = time.time()
                    if isinstance(message, str) and message.startswith(TILE):
                        self.tiles += 1  # counted, not read: most of what a wallboard gets
                        continue
                    data = orjson.loads(message)
                    if data.get("type") == "alert" and data.get("call_id", "") in self.calls:
                        self.alert_lag.append(now - data["time"])
        except (OSError, ConnectionClosed, RuntimeError) as e:
            self.errors.append(f"wallboard: {type(e).__name__}: {e}")
            subscribed.set()

    def results(self) -> dict[str, Any]:
        """What the main process pools: the checks per call, the lags as lists."""
        lost = coalesced = duplicated = disordered = 0
        for call in self.calls.values():
            stream = self.streams[call.stream]
            keyed = {b["seq"]: k for b, k in zip(stream.bodies, stream.keyed, strict=True)}
            received = set(call.received)
            duplicated += len(call.received) - len(received)
            disordered += sum(
                b <= a for a, b in zip(call.received[:-1], call.received[1:], strict=True)
            )
            for seq in call.sent:
                if seq not in received:
                    if keyed.get(seq, False):
                        coalesced += 1
                    else:
                        lost += 1
        return {
            "calls": len(self.calls),
            "sent": sum(len(c.sent) for c in self.calls.values()),
            "received": sum(len(c.received) for c in self.calls.values()),
            "lost": lost,
            "coalesced": coalesced,
            "duplicated": duplicated,
            "disordered": disordered,
            "tiles": self.tiles,
            "reconnections": self.reconnections,
            "resubscriptions": self.resubscriptions,
            "cpu_pct": self.cpu_pct,
            "errors": self.errors[:20],
            "error_count": len(self.errors),
            "lag": self.lag.tolist(),
            "alert_lag": self.alert_lag.tolist(),
            "late": self.late.tolist(),
            "loop_lag": self.loop_lag.tolist(),
            "per_call": {
                call_id: {"sent": c.sent, "received": c.received}
                for call_id, c in self.calls.items()
            }
            if len(self.calls) <= 20
            else {},
        }


def worker_main() -> int:
    """A client process: started early (its imports overlap the nodes' start), then given a plan."""
    line = sys.stdin.readline()  # "plan <path>", once the nodes listen
    if not line.startswith("plan "):
        return 1  # the run was called off
    plan = WorkerPlan(**json.loads(Path(line[5:].strip()).read_text()))
    worker = Worker(plan)
    asyncio.run(worker.run())
    Path(plan.result).write_text(json.dumps(worker.results()))
    return 0


# -- the service: nodes and Redis -------------------------------------------------


def niced(priority: int) -> Callable[[], None] | None:
    """What a child runs before it starts: ``os.nice(priority)`` (below 0 needs root).

    On a machine shared with other work, ``--priority -10`` gives the benchmark's
    processes the cores first: closer to the idle machine the figures stand for.
    """
    return None if priority == 0 else lambda: os.setpriority(os.PRIO_PROCESS, 0, priority)


@contextlib.contextmanager
def autogroup_niced(priority: int) -> Iterator[None]:
    """This session's scheduler group niced too, for the run (Linux ``sched_autogroup``).

    With autogroups on (most desktop and VM kernels), the scheduler first shares
    the cores between sessions, and a process's nice counts only within its own
    session: ``--priority`` alone gives the benchmark nothing against another
    session's work. Set back afterwards; left alone where it cannot be written.
    """
    path = Path("/proc/self/autogroup")  # "/autogroup-7 nice 0"
    if priority == 0:
        yield
        return
    try:
        before = int(path.read_text().split()[-1])
        path.write_text(str(priority))
    except (OSError, ValueError, IndexError):
        yield
        return
    try:
        yield
    finally:
        path.write_text(str(before))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Redis:
    """A ``redis-server`` of the run's own: a free loopback port, a temp folder, no persistence."""

    def __init__(self, folder: Path, log: TextIO, *, priority: int = 0) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed: apt-get install redis-server")
        self.port = free_port()
        command = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(folder)]
        command += ["--save", "", "--appendonly", "no", "--protected-mode", "yes"]
        self.process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, preexec_fn=niced(priority)
        )
        self.ps = psutil.Process(self.process.pid)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            time.sleep(0.05)
        raise SystemExit(f"redis-server did not start on port {self.port}")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Node:
    """``edge serve`` in a subprocess on a free loopback port."""

    def __init__(
        self, config: Path, log: TextIO, *, profile: Path | None = None, priority: int = 0
    ) -> None:
        command = [sys.executable, "-m", "edge", "serve", "--port", "0", "--config", str(config)]
        if profile is not None:  # where the node's time goes: python -m pstats FILE
            command[1:1] = ["-m", "cProfile", "-o", str(profile)]
        # The node's settings come from the config file only, not from this shell's EDGE_*.
        env = {k: v for k, v in os.environ.items() if not k.startswith("EDGE_")}
        self.log = log
        self.log_start = log.tell()
        self.process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
            preexec_fn=niced(priority),
        )
        self.ps = psutil.Process(self.process.pid)
        self.url = ""

    def wait(self, *, models: bool, timeout: float = 180.0) -> None:
        """Until it listens; with ``models``, until ``/readyz`` says the models are loaded."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(
                    f"edge serve exited ({self.process.returncode}): see {self.log.name}"
                )
            if not self.url:
                with open(self.log.name) as f:
                    f.seek(self.log_start)
                    found = re.search(r"listening on (http://\S+)", f.read())
                self.url = found.group(1) if found else ""
            if self.url and (not models or _status(self.url + "/readyz") == 200):
                return
            time.sleep(0.1)
        raise SystemExit(f"edge serve not ready after {timeout:.0f} s: see {self.log.name}")

    @property
    def ws(self) -> str:
        return self.url.replace("http://", "ws://", 1)

    def stop(self, wait: float = 30.0) -> None:
        """SIGTERM, then SIGKILL after ``wait`` s (a node still loading models finishes first)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(wait)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass(frozen=True)
class Tokens:
    """The run's tokens: one ingest token per client process, one per agent and wallboard."""

    ingest: list[str]
    agents: list[str]
    wallboards: list[tuple[str, tuple[str, ...]]]  # token, teams

    @staticmethod
    def make(n: int, clients: int, wallboards: int, teams: list[str]) -> Tokens:
        def token(kind: str, i: int) -> str:
            return f"bench-{kind}-{i:05d}-{random.getrandbits(64):016x}"

        boards = [
            (
                token("wallboard", j),
                tuple(teams) if j < FLOOR_WALLBOARDS else (teams[j % len(teams)],),
            )
            for j in range(wallboards)
        ]
        return Tokens(
            ingest=[token("ingest", k) for k in range(clients)],
            agents=[token("agent", i) for i in range(n)],
            wallboards=boards,
        )

    def toml(self, n: int) -> str:
        lines = []
        for k, t in enumerate(self.ingest):
            lines += ["[[tokens]]", f'token = "{t}"', 'role = "ingest"', f'source = "bench-{k}"']
        for i, t in enumerate(self.agents):
            lines += ["[[tokens]]", f'token = "{t}"', 'role = "agent"', f'agent = "{agent_id(i)}"']
        for t, teams in self.wallboards:
            lines += ["[[tokens]]", f'token = "{t}"', 'role = "supervisor"']
            lines.append("teams = [" + ", ".join(f'"{x}"' for x in teams) + "]")
        return "\n".join(lines) + "\n"


def agent_id(i: int) -> str:
    return f"agent-{i:05d}"


def node_config(n: int, clients: int, tokens: Tokens, redis: str | None, node: int) -> str:
    """One node's config: room for the run's connections, the tokens, the bus."""
    lines = [
        "# bench_fleet",
        "[server]",
        f"max_connections = {4 * n + 100}",  # publishers, agents, wallboards; churn between calls
        f"max_calls_per_source = {n + 1}",  # one source per client process
        "",
        "[feedback]",
        "keep = false",
    ]
    if redis is not None:
        lines += ["", "[fleet]", f'redis_url = "{redis}"', f'node_id = "bench-{node}"']
        lines += ["analyse = false"]  # hub nodes: no models
    return "\n".join(lines) + "\n\n" + tokens.toml(n)


# -- one run --------------------------------------------------------------------


@dataclass
class Run:
    calls: int
    nodes: int
    redis: bool
    seconds: float
    events_sent: int
    events_per_s: float
    calls_started: int
    lag_p50: float | None
    lag_p95: float | None
    lag_p99: float | None
    lag_max: float | None
    alert_lag_p95: float | None
    alerts: int
    tiles: int
    lost: int
    coalesced: int
    resumed_publishers: int  # connections lost and taken up again with their last seq
    resumed_agents: int
    duplicated: int
    disordered: int
    errors: list[str]
    node_cpu_pct: list[float]
    node_rss_mb: list[float]
    node_rss_idle_mb: list[float]
    node_wait_pct: list[float]  # the event loop runnable but waiting for a CPU, % of the run
    node_cpu_ms_per_event: float | None  # the nodes' CPU over the events they took
    redis_cpu_pct: float | None
    redis_rss_mb: float | None
    clients_cpu_pct: float
    machine_cpu_pct: float
    send_late_p95: float | None
    client_loop_lag_p95: float | None
    sustained: bool
    why_not: str


def pct(values: list[float] | np.ndarray, q: float) -> float | None:
    return round(float(np.percentile(values, q)), 4) if len(values) else None


class Usage:
    """CPU time and peak RSS of a set of processes over the measured window."""

    def __init__(self, processes: list[psutil.Process]) -> None:
        self.processes = processes
        self.rss_peak = [0] * len(processes)
        self.rss_idle = [p.memory_info().rss for p in processes]

    def begin(self) -> None:
        self.t0 = time.monotonic()
        self.cpu0 = [_cpu(p) for p in self.processes]
        self.wait0 = [_waited(p) for p in self.processes]
        self.system0 = psutil.cpu_times()

    def sample(self) -> None:
        for i, p in enumerate(self.processes):
            with contextlib.suppress(psutil.Error):
                self.rss_peak[i] = max(self.rss_peak[i], p.memory_info().rss)

    def end(self) -> tuple[list[float], float]:
        """Each process's CPU % (100 = one core) and the machine's."""
        self.sample()
        wall = time.monotonic() - self.t0
        self.waited = [
            100 * (_waited(p) - w0) / wall for p, w0 in zip(self.processes, self.wait0, strict=True)
        ]
        cpu = [100 * (_cpu(p) - c0) / wall for p, c0 in zip(self.processes, self.cpu0, strict=True)]
        system = psutil.cpu_times()
        busy = sum(system) - system.idle - system.iowait
        busy0 = sum(self.system0) - self.system0.idle - self.system0.iowait
        total = sum(system) - sum(self.system0)
        machine = 100 * (psutil.cpu_count() or 1) * (busy - busy0) / max(total, 1e-9)
        return cpu, machine


def _waited(process: psutil.Process) -> float:
    """Seconds the process's main thread (a node's event loop) waited for a CPU, runnable.

    On a machine shared with other work this is the time the node was starved,
    which its lag includes (Linux ``/proc/PID/schedstat``: run, wait, slices).
    """
    try:
        return int(Path(f"/proc/{process.pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def _cpu(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
        return float(times.user + times.system + times.children_user + times.children_system)
    except psutil.Error:
        return 0.0


def run_once(n: int, args: argparse.Namespace, out: Path, log: TextIO) -> Run:
    nodes_n = args.nodes
    teams = [f"team-{t:02d}" for t in range(args.teams)]
    tokens = Tokens.make(n, args.clients, args.wallboards, teams)
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        folder = Path(tmp)
        redis = Redis(folder, log, priority=args.priority) if args.redis else None
        nodes: list[Node] = []
        workers: list[subprocess.Popen[str]] = []
        try:
            for k in range(nodes_n):
                config = folder / f"node{k}.toml"
                config.write_text(node_config(n, args.clients, tokens, redis and redis.url, k))
                print(f"--- N = {n}, node {k}", file=log, flush=True)
                profile = out / f"bench_fleet.node{k}.prof" if args.profile else None
                nodes.append(Node(config, log, profile=profile, priority=args.priority))
                # One at a time: a node finds its address as the first "listening on"
                # after its own start in the shared log (started together, two nodes
                # read the same line, and every seat went to one node).
                nodes[-1].wait(models=False)
            for _ in range(args.clients):
                workers.append(
                    subprocess.Popen(
                        [sys.executable, __file__, "--worker"],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=log,
                        text=True,
                        cwd=ROOT,
                        preexec_fn=niced(args.priority),
                    )
                )
            for node in nodes:
                node.wait(models=not args.redis and not args.no_models_wait)
            seats = [
                dataclasses.asdict(
                    Seat(
                        index=i,
                        agent_id=agent_id(i),
                        team=teams[i % len(teams)],
                        agent_token=tokens.agents[i],
                        publish_url=nodes[i % nodes_n].ws + "/publish",
                        subscribe_url=nodes[(i + 1) % nodes_n].ws + "/subscribe",
                    )
                )
                for i in range(n)
            ]
            boards = [
                {"url": nodes[j % nodes_n].ws + "/subscribe", "token": t}
                for j, (t, _) in enumerate(tokens.wallboards)
            ]
            for k in range(args.clients):
                plan = WorkerPlan(
                    worker=k,
                    n=n,
                    seats=seats[k :: args.clients],
                    wallboards=boards[k :: args.clients],
                    ingest_token=tokens.ingest[k],
                    seconds=args.seconds,
                    stagger=args.stagger,
                    streams_dir=str(args.streams),
                    limit=args.limit,
                    deflate=args.deflate,
                    seed=args.seed * 1000 + k,
                    result=str(folder / f"worker{k}.json"),
                )
                path = folder / f"plan{k}.json"
                path.write_text(json.dumps(dataclasses.asdict(plan)))
                stdin = workers[k].stdin
                assert stdin is not None
                stdin.write(f"plan {path}\n")
                stdin.flush()
            for w in workers:
                assert w.stdout is not None
                if w.stdout.readline().strip() != "ready":
                    raise SystemExit(f"a client process did not get ready: see {log.name}")
            servers = [node.ps for node in nodes] + ([redis.ps] if redis else [])
            usage = Usage(servers)
            usage.begin()
            go = time.time() + 0.5
            for w in workers:
                assert w.stdin is not None
                w.stdin.write(f"go {go}\n")
                w.stdin.flush()
            while any(w.poll() is None for w in workers):
                usage.sample()
                time.sleep(0.5)
            cpu, machine = usage.end()
            wall = time.monotonic() - usage.t0
            if any(w.returncode for w in workers):
                raise SystemExit(f"a client process failed: see {log.name}")
            results = [
                json.loads((folder / f"worker{k}.json").read_text()) for k in range(args.clients)
            ]
        finally:
            for w in workers:
                if w.poll() is None:
                    w.kill()
            for node in nodes:
                node.stop(1.0 if args.no_models_wait else 30.0)
            if redis is not None:
                redis.stop()

    def pooled(key: str) -> np.ndarray:
        return np.concatenate([np.asarray(r[key], dtype=np.float64) for r in results])

    def total(key: str) -> int:
        return int(sum(r[key] for r in results))

    lag, alerts, late, loop_lag = (
        pooled("lag"),
        pooled("alert_lag"),
        pooled("late"),
        pooled("loop_lag"),
    )
    errors = [e for r in results for e in r["errors"]]
    problems = []
    if total("error_count"):
        problems.append(f"{total('error_count')} errors ({errors[0]})")
    if total("lost") or total("duplicated") or total("disordered"):
        problems.append(
            f"{total('lost')} events lost, {total('duplicated')} twice, "
            f"{total('disordered')} out of order"
        )
    lag_p95 = pct(lag, 95)
    if lag_p95 is None or lag_p95 > args.stop_above:
        problems.append(f"lag p95 {lag_p95} s over {args.stop_above:g} s")
    nodes_cpu = cpu[:nodes_n]
    run = Run(
        calls=n,
        nodes=nodes_n,
        redis=args.redis,
        seconds=round(wall, 1),
        events_sent=total("sent"),
        events_per_s=round(total("sent") / max(args.seconds, 1e-9), 1),
        calls_started=total("calls"),
        lag_p50=pct(lag, 50),
        lag_p95=lag_p95,
        lag_p99=pct(lag, 99),
        lag_max=round(float(lag.max()), 4) if len(lag) else None,
        alert_lag_p95=pct(alerts, 95),
        alerts=len(alerts),
        tiles=total("tiles"),
        lost=total("lost"),
        coalesced=total("coalesced"),
        resumed_publishers=total("reconnections"),
        resumed_agents=total("resubscriptions"),
        duplicated=total("duplicated"),
        disordered=total("disordered"),
        errors=errors[:5],
        node_cpu_pct=[round(c, 1) for c in nodes_cpu],
        node_rss_mb=[round(r / 2**20, 1) for r in usage.rss_peak[:nodes_n]],
        node_rss_idle_mb=[round(r / 2**20, 1) for r in usage.rss_idle[:nodes_n]],
        node_wait_pct=[round(w, 1) for w in usage.waited[:nodes_n]],
        # Over the events the nodes took: a lost one may never have reached them.
        node_cpu_ms_per_event=round(10 * sum(nodes_cpu) * wall / (total("sent") - total("lost")), 3)
        if total("sent") > total("lost")
        else None,
        redis_cpu_pct=round(cpu[-1], 1) if args.redis else None,
        redis_rss_mb=round(usage.rss_peak[-1] / 2**20, 1) if args.redis else None,
        clients_cpu_pct=round(sum(r["cpu_pct"] for r in results), 1),
        machine_cpu_pct=round(machine, 1),
        send_late_p95=pct(late, 95),
        client_loop_lag_p95=pct(loop_lag, 95),
        sustained=not problems,
        why_not="; ".join(problems),
    )
    if args.keep_calls:
        per_call = {k: v for r in results for k, v in r["per_call"].items()}
        (out / "bench_fleet.calls.json").write_text(json.dumps(per_call))
    return run


# -- the report -------------------------------------------------------------------


COLUMNS = [
    ("N calls", lambda r: f"{r.calls}"),
    ("events/s", lambda r: f"{r.events_per_s:.0f}"),
    (
        "lag p50 / p95 / p99 ms",
        lambda r: " / ".join(_ms(x) for x in (r.lag_p50, r.lag_p95, r.lag_p99)),
    ),
    ("lag max ms", lambda r: _ms(r.lag_max)),
    ("alert lag p95 ms", lambda r: _ms(r.alert_lag_p95)),
    ("lost / coalesced", lambda r: f"{r.lost} / {r.coalesced}"),
    ("resumed publishers / agents", lambda r: f"{r.resumed_publishers} / {r.resumed_agents}"),
    ("node CPU %", lambda r: " + ".join(f"{c:.0f}" for c in r.node_cpu_pct)),
    (
        "node CPU ms / event",
        lambda r: "-" if r.node_cpu_ms_per_event is None else f"{r.node_cpu_ms_per_event:.2f}",
    ),
    ("node waited for CPU %", lambda r: " + ".join(f"{w:.0f}" for w in r.node_wait_pct)),
    (
        "node RSS MB (idle)",
        lambda r: " + ".join(
            f"{a:.0f} ({b:.0f})" for a, b in zip(r.node_rss_mb, r.node_rss_idle_mb, strict=True)
        ),
    ),
    (
        "Redis CPU % / RSS MB",
        lambda r: (
            "-" if r.redis_cpu_pct is None else f"{r.redis_cpu_pct:.0f} / {r.redis_rss_mb:.0f}"
        ),
    ),
    ("load gen CPU %", lambda r: f"{r.clients_cpu_pct:.0f}"),
    ("machine CPU %", lambda r: f"{r.machine_cpu_pct:.0f}"),
    (
        "p95 ≤ 250 ms",
        lambda r: (
            "yes" if r.lag_p95 is not None and r.lag_p95 <= LAG_TARGET and r.sustained else "**no**"
        ),
    ),
]


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{1000 * seconds:.0f}"


def table(runs: list[Run]) -> str:
    lines = ["| " + " | ".join(c for c, _ in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(f(r) for _, f in COLUMNS) + " |" for r in runs]
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    redis = shutil.which("redis-server")
    version = ""
    if redis:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            text = subprocess.run([redis, "--version"], capture_output=True, text=True).stdout
            version = text.split("v=")[1].split()[0] if "v=" in text else ""
    return {
        "cpu": cpu,
        "cores": os.cpu_count() or 1,
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": platform.python_version(),
        "redis": version,
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }


def command_line(args: argparse.Namespace) -> str:
    parts = ["scripts/bench_fleet.py"]
    if args.calls:
        parts.append("--calls " + ",".join(map(str, args.calls)))
    parts += [f"--seconds {args.seconds:g}", f"--nodes {args.nodes}"]
    if args.redis:
        parts.append("--redis")
    if args.clients != 2:
        parts.append(f"--clients {args.clients}")
    if not args.deflate:
        parts.append("--no-deflate")
    if args.priority:
        parts.append(f"--priority {args.priority}")
    return " ".join(parts)


def markdown(report: dict[str, Any], runs: list[Run]) -> str:
    m, s = report["machine"], report["settings"]
    mode = (
        f"{s['nodes']} `edge serve` hub nodes sharing calls through Redis {m['redis']} "
        "(`[fleet] redis_url`, each node a process of its own)"
        if s["redis"]
        else "one `edge serve` with its in-process hub"
    )
    best = report["within_target"]
    lines = [
        "# The event fan-out under load: N simultaneous published calls",
        "",
        f"Mode: {mode}. Each of N seats publishes recorded calls (`/publish`, an ingest token "
        f"per client process) at the pace they were analysed, one after another, for "
        f"{s['seconds']:g} s (starts staggered over {s['stagger']:g} s); each seat's agent "
        f"panel is subscribed (its own agent token), and {s['wallboards']} wallboards watch "
        f"({FLOOR_WALLBOARDS} the whole floor, the others one team of {s['teams']}). "
        f"Recorded calls: {', '.join(report['streams'])} "
        f"(`scripts/data/fleet_calls/`, mean {report['mean_call_s']:.0f} s, "
        f"{report['events_per_call_s']:.1f} events/s per call). "
        f"{s['clients']} load-generator processes on the same machine. "
        "Produced by `" + report["command"] + "`.",
        "",
        table(runs),
        "",
        f"**Within the target (event lag p95 ≤ {LAG_TARGET * 1000:.0f} ms, nothing lost): "
        f"{best or 'no N measured'}{' simultaneous calls' if best else ''}.**",
        "",
        "- *lag*: arrival at the agent subscriber minus the event's `wall_time` (stamped by the "
        "publisher when it sent the event): publish, the node's checks, hub, fan-out, "
        "the subscriber's socket"
        + (
            ", and the Redis round trip (publisher and subscriber on different nodes)"
            if s["redis"]
            else ""
        )
        + ". *alert lag*: a wallboard's `alert` after its cue was sent.",
        "- *lost*: published events that never reached their agent panel (cues, finals, call "
        "events); *coalesced*: superseded readings and partials a slow subscriber's outbox "
        "skipped by design (docs/server.md, Slow subscribers). *resumed*: publishers "
        "(`edge.client.Publisher`, as `edge run --publish`) and agent panels whose "
        "connection was lost and that took up again where the service stood.",
        "- *CPU %*: 100 % = one core, over the run; *node RSS* peak, with the node's RSS before "
        "the run in brackets; *machine*: everything, the load generator "
        "(publishers and subscribers) and other work included. *node CPU ms / event*: the "
        "nodes' CPU time over the events published and not lost (each fanned out to its "
        "agent panel and the wallboards): what sizes a hub node. *node waited for CPU*: how "
        "long the node's event loop was ready to run but had no core "
        "(`/proc/PID/schedstat`): on a shared machine, the part of the lag that is other "
        "work's.",
        f"- *events/s*: events published over the {s['seconds']:g} s; every seat's agent panel "
        "and the wallboards receive them.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM, {m['os']}, "
        f"Python {m['python']}. Load average before the run: "
        f"{', '.join(str(x) for x in m['load_average_before'])}. The load generator shares "
        "the cores with the nodes: the figures are a floor for what the nodes alone carry.",
    ]
    if report.get("note"):
        lines += ["", report["note"]]
    return "\n".join(lines) + "\n"


def plot(runs: list[Run], path: Path, title: str) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install matplotlib, or make train-setup)")
        return False
    ns = [r.calls for r in runs]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    for key, style, label in (
        ("lag_p50", "o-C0", "lag p50"),
        ("lag_p95", "o-C3", "lag p95"),
        ("lag_p99", "o:C3", "lag p99"),
        ("alert_lag_p95", "s--C2", "wallboard alert lag p95"),
    ):
        values = [getattr(r, key) for r in runs]
        xs = [n for n, v in zip(ns, values, strict=True) if v is not None]
        left.plot(xs, [1000 * v for v in values if v is not None], style, label=label)
    left.axhline(LAG_TARGET * 1000, color="grey", lw=1, ls="--")
    left.text(
        ns[0],
        LAG_TARGET * 1000,
        f" {LAG_TARGET * 1000:.0f} ms target",
        va="bottom",
        color="grey",
        fontsize=8,
    )
    left.set(
        xlabel="simultaneous calls", ylabel="ms", title="event lag at the subscribers", yscale="log"
    )
    left.legend(fontsize=8, loc="upper left")
    for k in range(max(len(r.node_cpu_pct) for r in runs)):
        right.plot(ns, [r.node_cpu_pct[k] for r in runs], f"o-C{1 + k}", label=f"node {k} CPU %")
    if any(r.redis_cpu_pct is not None for r in runs):
        right.plot(ns, [r.redis_cpu_pct or 0 for r in runs], "^-C5", label="redis-server CPU %")
    right.plot(ns, [r.clients_cpu_pct for r in runs], "v:C7", label="load generator CPU %")
    waited = [sum(r.node_wait_pct) for r in runs]
    right.plot(ns, waited, "x--C9", label="nodes waited for a core, % of the run")
    right.plot(ns, [r.machine_cpu_pct for r in runs], "o:C8", label="whole machine CPU %")
    cores = os.cpu_count() or 1
    right.axhline(100 * cores, color="grey", lw=1, ls="--")
    right.set(xlabel="simultaneous calls", ylabel="CPU % (100 = one core)", title="CPU and memory")
    rss = right.twinx()
    rss.plot(ns, [sum(r.node_rss_mb) for r in runs], "d-C4", label="nodes' RSS MB")
    rss.set_ylabel("RSS MB")
    rss.set_ylim(0, 1.5 * max(sum(r.node_rss_mb) for r in runs))
    handles = right.get_legend_handles_labels()
    more = rss.get_legend_handles_labels()
    right.legend(handles[0] + more[0], handles[1] + more[1], fontsize=8, loc="upper left")
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xticks(ns, [str(n) for n in ns])
    fig.suptitle(title)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def sweep_of(text: str) -> list[int]:
    try:
        values = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give numbers of calls like 50,100,250"
        ) from None
    if not values or values[0] < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give numbers of calls of 1 or more")
    return values


def main() -> int:
    if sys.argv[1:] == ["--worker"]:
        return worker_main()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--record", action="store_true", help="record the event streams again, then stop"
    )
    parser.add_argument(
        "--calls",
        type=sweep_of,
        metavar="N,N,...",
        help="simultaneous calls "
        f"(default: {','.join(map(str, DEFAULT_SWEEP))}, stopping after the first "
        "N not within --stop-above)",
    )
    parser.add_argument(
        "--seconds", type=float, default=40.0, help="seconds of calls per N (default: 40)"
    )
    parser.add_argument(
        "--stagger",
        type=float,
        default=10.0,
        help="seats start within this many seconds (default: 10)",
    )
    parser.add_argument(
        "--nodes", type=int, default=1, help="edge serve nodes (more than 1 needs --redis)"
    )
    parser.add_argument(
        "--redis",
        action="store_true",
        help="a redis-server of its own; nodes share calls through it",
    )
    parser.add_argument(
        "--clients", type=int, default=2, help="load-generator processes (default: 2)"
    )
    parser.add_argument(
        "--wallboards", type=int, default=20, help="wallboards subscribed (default: 20)"
    )
    parser.add_argument(
        "--teams", type=int, default=18, help="teams the seats are dealt into (default: 18)"
    )
    parser.add_argument(
        "--limit", type=float, default=None, help="cut each recorded call after this many seconds"
    )
    parser.add_argument(
        "--stop-above",
        type=float,
        default=1.0,
        help="stop the sweep after an N with lag p95 over this (s; default 1)",
    )
    parser.add_argument(
        "--no-models-wait",
        action="store_true",
        help="do not wait for the node's models (publishing needs none)",
    )
    parser.add_argument("--streams", type=Path, default=CALLS_DIR, help="folder of recorded calls")
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "artifacts",
        help="folder for bench_fleet.{json,md,png} and the logs",
    )
    parser.add_argument(
        "--docs",
        default=str(ROOT / "docs/bench"),
        help="folder the report is copied into, '' for none",
    )
    parser.add_argument(
        "--no-deflate",
        dest="deflate",
        action="store_false",
        help="clients offer no permessage-deflate (browsers do; this measures what it costs)",
    )
    parser.add_argument(
        "--priority",
        type=int,
        default=0,
        help="nice value of the nodes, Redis and clients, and of this session's scheduler "
        "group (e.g. -10 on a machine shared with other work; below 0 needs root)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run the nodes under cProfile (OUT/bench_fleet.nodeK.prof)",
    )
    parser.add_argument(
        "--no-plot",
        dest="plot",
        action="store_false",
        help="no plot (matplotlib takes seconds to load)",
    )
    parser.add_argument(
        "--keep-calls",
        action="store_true",
        help="also write each call's sent and received seqs (small N)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the staggered starts and call order"
    )
    parser.add_argument("--note", default="", help="a sentence for the report (e.g. the load)")
    args = parser.parse_args()
    if args.record:
        record(args.streams)
        return 0
    if args.nodes > 1 and not args.redis:
        parser.error("--nodes above 1 needs --redis: without a bus the nodes share nothing")
    streams = load_streams(args.streams, limit=args.limit)
    mean_s = float(np.mean([s.seconds for s in streams]))
    rate = float(np.mean([len(s.bodies) / max(s.seconds, 1e-9) for s in streams]))
    sweep = args.calls or list(DEFAULT_SWEEP)
    stop_early = args.calls is None
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    name = "bench_fleet_redis" if args.redis else "bench_fleet"
    report: dict[str, Any] = {
        "machine": machine(),
        "command": command_line(args),
        "settings": {
            "nodes": args.nodes,
            "redis": args.redis,
            "seconds": args.seconds,
            "stagger": args.stagger,
            "clients": args.clients,
            "wallboards": args.wallboards,
            "teams": args.teams,
            "limit": args.limit,
            "seed": args.seed,
        },
        "streams": [s.name for s in streams],
        "mean_call_s": round(mean_s, 1),
        "events_per_call_s": round(rate, 2),
        "note": args.note,
    }
    print(
        f"bench_fleet: {args.nodes} node(s){' + Redis' if args.redis else ''}, "
        f"N = {', '.join(map(str, sweep))}, {args.seconds:g} s each; {len(streams)} recorded "
        f"calls (mean {mean_s:.0f} s, {rate:.1f} events/s)",
        flush=True,
    )
    runs: list[Run] = []
    with open(out / f"{name}.log", "w") as log, autogroup_niced(args.priority):
        for n in sweep:
            run = run_once(n, args, out, log)
            runs.append(run)
            print(
                f"  N={n}: {run.events_per_s:.0f} events/s, lag p50/p95/p99 "
                f"{_ms(run.lag_p50)}/{_ms(run.lag_p95)}/{_ms(run.lag_p99)} ms, "
                f"lost {run.lost}, coalesced {run.coalesced}, node CPU {run.node_cpu_pct} %, "
                f"RSS {run.node_rss_mb} MB, load gen CPU {run.clients_cpu_pct} %, "
                f"machine {run.machine_cpu_pct} %"
                + ("" if run.sustained else f"  NOT sustained: {run.why_not}"),
                flush=True,
            )
            if stop_early and not run.sustained:
                break
    within = [
        r.calls for r in runs if r.sustained and r.lag_p95 is not None and r.lag_p95 <= LAG_TARGET
    ]
    report["within_target"] = max(within, default=0)
    report["runs"] = [dataclasses.asdict(r) for r in runs]
    (out / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / f"{name}.md").write_text(markdown(report, runs))
    mode = f"{args.nodes} node(s) + Redis" if args.redis else "1 node, in-process hub"
    plotted = args.plot and plot(
        runs,
        out / f"{name}.png",
        f"published calls' events to agent panels and wallboards ({mode}, "
        f"{os.cpu_count()} cores, load generator on the same machine)",
    )
    print(table(runs))
    if args.docs:
        docs = Path(args.docs)
        docs.mkdir(parents=True, exist_ok=True)
        for suffix in (".json", ".md") + ((".png",) if plotted else ()):
            shutil.copyfile(out / f"{name}{suffix}", docs / f"{name}{suffix}")
        print(f"report copied to {docs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
