"""scripts/bench_fleet.py as a user runs it: a real `edge serve`, published calls, subscribers."""

import gzip
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_fleet.py"


def _bench_fleet():
    spec = importlib.util.spec_from_file_location("bench_fleet", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_fleet"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


bench_fleet = _bench_fleet()


def test_the_recorded_calls_are_real_event_streams_that_end():
    """Each recording is `edge replay --jsonl` output: seq 1, 2, ... call.started to call.ended."""
    streams = bench_fleet.load_streams(bench_fleet.CALLS_DIR)
    assert {s.name for s in streams} == {name for name, _, _ in bench_fleet.RECORDINGS}
    for s in streams:
        kinds = [b["type"] for b in s.bodies]
        assert kinds[0] == "call.started" and kinds[-1] == "call.ended", s.name
        assert [b["seq"] for b in s.bodies] == list(range(1, len(s.bodies) + 1)), s.name
        assert s.offsets == sorted(s.offsets) and s.seconds > 5, s.name
    sample = next(s for s in streams if s.name == "sample_call")
    assert {"transcript.final", "emotion.voice", "cue.raised"} <= {b["type"] for b in sample.bodies}
    size = sum(p.stat().st_size for p in bench_fleet.CALLS_DIR.glob("*.jsonl.gz"))
    assert size < 100_000  # small enough to keep in the repository


def test_a_cut_call_ends_where_it_was_cut():
    """--limit keeps the first seconds of each call, then its call.ended; nothing after."""
    for s in bench_fleet.load_streams(bench_fleet.CALLS_DIR, limit=2.0):
        assert s.bodies[-1]["type"] == "call.ended" and max(s.offsets) <= 2.0
    stream = bench_fleet.load_streams(bench_fleet.CALLS_DIR)[0]
    ended = bench_fleet.ended_body(stream, 3, 1.5)
    assert ended["type"] == "call.ended" and ended["seq"] == 4 and ended["duration"] == 1.5


def test_a_tiny_run_delivers_every_event_in_order_and_writes_the_table(tmp_path):
    """3 seats publish short calls to one real node: each agent panel gets every event, in order.

    Every cue, final and call event arrives, once, in seq order; on a loaded
    machine a slow panel's outbox may skip a superseded reading (by design,
    counted as coalesced), nothing else.
    """
    docs = tmp_path / "docs"
    # The calls cut to 1.5 s: starting the node and the client processes is most of the time.
    command = [sys.executable, str(SCRIPT), "--calls", "3", "--seconds", "2", "--stagger", "0.2"]
    command += ["--limit", "1.5", "--wallboards", "2", "--teams", "2", "--no-models-wait"]
    command += ["--out", str(tmp_path), "--docs", str(docs), "--keep-calls", "--no-plot"]
    command += ["--stop-above", "60"]  # lag is the machine's: this checks delivery
    out = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads((tmp_path / "bench_fleet.json").read_text())
    (run,) = report["runs"]
    assert run["calls"] == 3 and run["sustained"] and not run["errors"], run["why_not"]
    assert run["lost"] == run["duplicated"] == run["disordered"] == 0
    calls = json.loads((tmp_path / "bench_fleet.calls.json").read_text())
    assert len(calls) >= 3 and {c.split("-")[1] for c in calls} == {"s0", "s1", "s2"}
    for call_id, call in calls.items():
        sent, received = call["sent"], call["received"]
        assert sent[0] == 1 and sent == sorted(sent), call_id
        assert received == [seq for seq in sent if seq in set(received)], call_id  # in order
        assert received[0] == 1 and received[-1] == sent[-1], call_id  # started and ended
    skipped = sum(len(c["sent"]) - len(c["received"]) for c in calls.values())
    assert skipped == run["coalesced"]  # only readings a later one superseded
    assert run["events_sent"] == sum(len(c["sent"]) for c in calls.values())
    assert 0 < run["lag_p50"] <= run["lag_p95"] <= run["lag_max"]
    assert run["node_cpu_pct"][0] > 0 and run["node_rss_mb"][0] > 50
    table = (docs / "bench_fleet.md").read_text()
    assert table.startswith("# The event fan-out under load") and "\n| 3 | " in table
    assert (docs / "bench_fleet.json").exists()


@pytest.mark.slow  # a redis-server and two nodes: 30 s on the loaded 2-core machine
def test_two_nodes_sharing_calls_through_redis_deliver_every_event_across_them(tmp_path):
    """--redis --nodes 2: each call published to one node reaches its agent on the other."""
    pytest.importorskip("edge.fleet", reason="the fleet bus ([fleet] redis_url) is not here")
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (make test installs it)")
    command = [sys.executable, str(SCRIPT), "--redis", "--nodes", "2", "--calls", "3"]
    command += ["--seconds", "3", "--stagger", "0.3", "--limit", "2", "--wallboards", "2"]
    command += ["--teams", "2", "--out", str(tmp_path), "--docs", "", "--keep-calls", "--no-plot"]
    out = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    (run,) = json.loads((tmp_path / "bench_fleet_redis.json").read_text())["runs"]
    assert run["nodes"] == 2 and run["redis"] and run["sustained"] and not run["errors"]
    assert run["lost"] == run["duplicated"] == run["disordered"] == 0
    assert run["redis_rss_mb"] > 0 and len(run["node_cpu_pct"]) == 2
    calls = json.loads((tmp_path / "bench_fleet.calls.json").read_text())
    assert len(calls) >= 3
    for call_id, call in calls.items():  # seat i publishes to node i % 2, listens on the other
        assert call["received"] == call["sent"], call_id


def test_the_recorded_files_are_gzipped_jsonl():
    """One JSON event per line, as `edge replay --jsonl` prints them (readable with zcat)."""
    path = bench_fleet.CALLS_DIR / "jfk.jsonl.gz"
    with gzip.open(path, "rt") as f:
        first = json.loads(f.readline())
    assert first["type"] == "call.started" and first["call_id"] == "jfk" and first["v"] == 1
