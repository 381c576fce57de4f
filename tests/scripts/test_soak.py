"""scripts/soak.py: the growth rule on made-up series, the gauges it reads, and a short real run."""

import importlib.util
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from edge.config import Config
from tests.server.harness import ServiceThread, subscriber

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "soak.py"


def _soak():
    spec = importlib.util.spec_from_file_location("soak", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["soak"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


soak = _soak()
MINUTES = [60.0 * i for i in range(61)]  # an hour sampled each minute


def test_a_steady_noisy_series_does_not_grow():
    """RSS wobbling by a few MB around 450 MB for an hour is not a leak."""
    rng = np.random.default_rng(0)
    values = list(450 + rng.normal(0, 3, len(MINUTES)))
    assert not soak.trend("rss_mb", MINUTES, values, 16.0).grows


def test_a_steady_climb_grows():
    """1 MB a minute, every minute, is a leak: 30 MB over the second half."""
    values = [400 + t / 60 for t in MINUTES]
    t = soak.trend("rss_mb", MINUTES, values, 16.0)
    assert t.grows and t.rise == pytest.approx(30.0) and t.slope_per_h == pytest.approx(60.0)


def test_spikes_late_in_the_run_do_not_tilt_the_line():
    """A Whisper decode's buffers show as 50 MB spikes in a few samples; more of them late."""
    values = [450.0 + (50 if i in (33, 47, 52, 55, 58) else 0) for i in range(len(MINUTES))]
    assert not soak.trend("rss_mb", MINUTES, values, 16.0).grows


def test_warm_up_growth_is_not_counted():
    """A climb in the first half (models, arenas, caches) that then levels off passes."""
    values = [300 + min(t, 1200) / 10 for t in MINUTES]  # +120 MB in 20 min, then flat
    assert not soak.trend("rss_mb", MINUTES, values, 16.0).grows


def test_a_sawtooth_of_calls_does_not_grow_but_accumulating_calls_do():
    """Calls held by the hub go up and down with the load; one more each 5 min is a leak."""
    saw = [2 + (i % 3) for i in range(len(MINUTES))]
    assert not soak.trend("hub_calls", MINUTES, saw, 3.0).grows
    piling = [2 + (i % 3) + i // 5 for i in range(len(MINUTES))]
    assert soak.trend("hub_calls", MINUTES, piling, 3.0).grows


def test_the_tolerance_scales_with_the_level():
    """Above the floor, 5 % of the median: a big process may wobble more in MB."""
    values = [1000.0 + (30 if t > 3000 else 0) for t in MINUTES]  # +30 MB near the end
    t = soak.trend("rss_mb", MINUTES, values, 16.0)
    assert t.tolerance == pytest.approx(50.0) and not t.grows


def _row(phase, t, **over):
    row = {key: 0 for key in soak.FLOORS} | {
        "t_s": t,
        "phase": phase,
        "live_calls": 0,
        "connections": 0,
        "subscribers": 0,
        "fds": 10,
        "tasks": 4,
    }
    return row | over


def test_the_verdict_wants_the_service_idle_again():
    """Calls still held or tasks left behind after the load fail the run, flat trends or not."""
    idle = _row("idle", 0)
    load = [_row("load", t, hub_calls=3, tasks=20, fds=16) for t in MINUTES]
    assert soak.verdict([idle, *load, _row("quiet", 4000)], idle, _row("quiet", 4000))["passed"]
    quiet = _row("quiet", 4000, hub_calls=1, tasks=9)
    result = soak.verdict([idle, *load, quiet], idle, quiet)
    assert not result["passed"]
    assert any("hub_calls = 1" in f for f in result["failures"])
    assert any("tasks = 9" in f for f in result["failures"])


def test_metrics_show_tasks_outbox_and_held_calls():
    """/metrics has the gauges the soak samples; a subscriber adds tasks, holds no call."""

    def scrape(url):
        with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
            text = response.read().decode()
        return {
            s.name: s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if not s.labels
        }

    with ServiceThread(Config(), None) as service:
        before = scrape(service.http)
        assert before["edge_asyncio_tasks"] >= 1
        assert before["edge_hub_calls"] == 0 and before["edge_outbox_messages"] == 0
        with subscriber(service.ws, view="wallboard"):
            during = scrape(service.http)
        assert during["edge_asyncio_tasks"] > before["edge_asyncio_tasks"]
        assert during["edge_hub_calls"] == 0 and during["edge_outbox_messages"] >= 0


@pytest.mark.slow
def test_a_short_soak_completes_and_finds_nothing(tmp_path):
    """A minute of 20 s calls and churning subscribers: the report is written, nothing grows."""
    docs = tmp_path / "docs"
    # One minute is all warm-up for the allocator: with the models of this release its
    # second half rose 23 MB on a loaded machine. The hour-long soak (16 MB) is the leak check.
    short = ["--minutes", "1", "--calls", "1", "--call-seconds", "20", "--rss-floor", "64"]
    out = subprocess.run(
        [sys.executable, str(SCRIPT), *short, "--out", str(tmp_path), "--docs", str(docs)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads((tmp_path / "soak.json").read_text())
    assert report["verdict"]["passed"] and report["verdict"]["failures"] == []
    load = [r for r in report["samples"] if r["phase"] == "load"]
    assert len(load) >= 20 and max(r["hub_calls"] for r in load) >= 1
    assert max(r["tasks"] for r in load) > report["idle"]["tasks"]
    assert report["tally"]["calls_completed"] >= 2 and report["tally"]["subscribes"] >= 3
    assert report["quiet"]["hub_calls"] == 0 and report["quiet"]["connections"] == 0
    assert (tmp_path / "soak.md").read_text().startswith("# `edge serve` soak")
    for suffix in (".json", ".md", ".png"):
        assert (docs / f"soak{suffix}").stat().st_size > 0
