"""scripts/bench_service.py as a user runs it: a real `edge serve`, a real call over loopback."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_service.py"


@pytest.mark.slow
def test_quick_run_writes_the_report(tmp_path):
    """--quick streams one 20 s call through the service and reports its latencies and load."""
    docs = tmp_path / "docs"
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--out", str(tmp_path), "--docs", str(docs)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads((tmp_path / "bench_service.json").read_text())
    assert {"cpu", "cores", "ram_gb", "python", "faster_whisper", "ctranslate2"} <= set(
        report["machine"]
    )
    assert report["settings"]["quick"] is True and report["settings"]["channels"] == ["caller"]
    (run,) = report["runs"]
    assert run["calls"] == 1 and run["dropped_frames"] == 0
    for key in (
        "final_after_speech_end_p50",
        "final_after_speech_end_p95",
        "lag_p50",
        "lag_p95",
        "lag_growth_s_per_min",
        "lag_tail_max",
        "end_flush_max",
        "server_cpu_pct",
        "server_rss_mb",
    ):
        assert isinstance(run[key], float), key
    assert "cue_latency_p95" in run  # None when no cue was raised in 20 s
    assert run["server_rss_mb"] > 50 and run["server_cpu_pct"] > 0
    # The caller speaks from 6.3 s to 12.9 s: that utterance's final arrives after its speech.
    assert 0 < run["final_after_speech_end_p50"] < 10
    (call,) = run["per_call"]
    assert call["finals"] >= 1 and call["unanswered_speech_ends"] == 0
    assert (tmp_path / "bench_service.md").read_text().startswith("# `edge serve` under load")
    assert not docs.exists()  # a smoke run never overwrites the published report


@pytest.mark.slow
def test_quick_overload_run_writes_its_report(tmp_path):
    """--overload with --quick offers its calls one every --arrival s and reports each as
    admitted or refused, the load steps told, and the late finals (smoke: 2 short calls)."""
    options = ["--quick", "--overload", "2", "--arrival", "1", "--out", str(tmp_path)]
    out = subprocess.run(
        [sys.executable, str(SCRIPT), *options, "--docs", str(tmp_path / "docs")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads((tmp_path / "bench_service_overload.json").read_text())
    result = report["overload"]
    assert result["offered"] == 2 and result["arrival_s"] == 1
    assert result["admitted"] + len(result["refused_at_capacity"]) == 2
    assert not result["other_errors"]
    assert result["silently_late_finals"] <= result["late_finals"]
    assert result["admitted_run"]["calls"] == result["admitted"]
    text = (tmp_path / "bench_service_overload.md").read_text()
    assert text.startswith("# `edge serve` overloaded: 2 calls offered, one every 1 s")
    assert not (tmp_path / "docs").exists()


@pytest.mark.slow
def test_quick_batching_run_puts_both_rows_side_by_side(tmp_path):
    """--batching both runs the call with batching off, then on, and reports both rows in
    one table (bench_service_batching.*), the service's batching set in each."""
    options = ["--quick", "--batching", "both", "--out", str(tmp_path)]
    out = subprocess.run(
        [sys.executable, str(SCRIPT), *options, "--docs", str(tmp_path / "docs")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads((tmp_path / "bench_service_batching.json").read_text())
    assert [(r["calls"], r["batching"]) for r in report["runs"]] == [(1, False), (1, True)]
    assert all(r["final_after_speech_end_p50"] is not None for r in report["runs"])
    rows = [line for line in (tmp_path / "bench_service_batching.md").read_text().splitlines()]
    assert any(line.startswith("| N | batching |") for line in rows)
    assert any(line.startswith("| 1 | off |") for line in rows)
    assert any(line.startswith("| 1 | on |") for line in rows)
    assert not (tmp_path / "bench_service.json").exists()
