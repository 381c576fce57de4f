"""`edge calibrate` as a user runs it, on stores filled by scripts/fill_verdicts.py."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from edge.config import load_config
from edge.feedback.calibrate import best_cut, wilson
from edge.stages.cues import CueOptions

ROOT = Path(__file__).resolve().parents[2]
FILL = ROOT / "scripts" / "fill_verdicts.py"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def fill(tmp: Path, name: str, *, calls: int, site: str, seed: int = 0, events: bool = False):
    extra = ["--events", str(tmp / "events")] if events else []
    out = run(
        str(FILL),
        "--store",
        str(tmp / name),
        "--calls",
        str(calls),
        "--site",
        site,
        "--seed",
        str(seed),
        *extra,
        cwd=tmp,
    )
    assert out.returncode == 0, out.stderr
    return tmp / name


def calibrate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run("-m", "edge", "calibrate", *args, cwd=cwd)


def test_wilson_interval_matches_the_formula() -> None:
    """Known values: 0 of 10 is [0, 0.28]; 5 of 10 is [0.24, 0.76]; no data is [0, 1]."""
    assert wilson(0, 10) == (0.0, pytest.approx(0.2775, abs=1e-4))
    assert wilson(5, 10) == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))
    assert wilson(0, 0) == (0.0, 1.0)


def test_a_threshold_is_only_raised_and_keeps_the_cues_called_right() -> None:
    """Wrong cues up to 0.678, right ones from 0.75: the lowest cut that drops every wrong
    one (0.68, keeping every right one); all right: no cut; never below the current."""
    scored = [(0.66 + 0.002 * i, False) for i in range(10)] + [
        (0.75 + 0.01 * i, True) for i in range(20)
    ]
    cut = best_cut(scored, 0.65)
    assert cut is not None and cut.threshold == 0.68
    assert cut.kept_right == 20 and cut.kept_wrong == 0
    assert best_cut([(0.7, True)] * 20, 0.65) is None
    assert best_cut(scored, 0.7) is None  # nothing left to drop above 0.7


def test_calibrate_prints_precision_and_a_snippet_the_config_loader_takes(tmp_path) -> None:
    """A filled store and its event log: precision per site, cue kind and tag; a proposal
    for caller_distressed with its effect; the --out file loads with the config loader."""
    store = fill(tmp_path, "v.sqlite3", calls=200, site="clinic-north", events=True)
    out = calibrate(
        str(store),
        "--events",
        "events",
        "--out",
        "proposed.toml",
        "--config",
        "none.toml",
        cwd=tmp_path,
    )
    assert out.returncode == 1 and "none.toml: no such file" in out.stderr  # config is read
    out = calibrate(str(store), "--events", "events", "--out", "proposed.toml", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "Precision per cue kind" in text and "Precision per evidence tag" in text
    row = re.search(r"clinic-north\s+caller_distressed\s+(\d+)\s+(\d+)\s+(0\.\d\d) \[", text)
    assert row is not None and int(row.group(1)) == 200
    assert re.search(r"clinic-north\s+raised voice\s+\d+", text)
    assert "Called wrong, by reason: " in text
    assert "never changes the running service" in text
    proposed = re.search(r"raise_at 0.65 -> (0\.\d+)", text)
    assert proposed is not None
    assert re.search(
        r"cues: 200 -> \d+ \(-\d+%\) in the event log, [\d.]+ -> [\d.]+ per call", text
    )
    config = load_config(tmp_path / "proposed.toml", environ={})
    assert config.pipeline.cues.raise_at == float(proposed.group(1)) > CueOptions().raise_at
    assert config.pipeline.cues.high_at >= config.pipeline.cues.raise_at
    check = run("-m", "edge", "config", "--check", "--config", "proposed.toml", cwd=tmp_path)
    assert check.returncode == 0 and check.stdout.strip() == "proposed.toml: ok"


def test_too_few_verdicts_propose_nothing(tmp_path) -> None:
    """12 calls: precision is printed, no change proposed, and the --out file not written."""
    store = fill(tmp_path, "v.sqlite3", calls=12, site="small")
    out = calibrate(str(store), "--out", "proposed.toml", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (
        "small caller_distressed: nothing proposed: too few verdicts (12; 30 needed)" in out.stdout
    )
    assert not (tmp_path / "proposed.toml").exists()


def test_several_sites_need_site_in_the_out_name(tmp_path) -> None:
    """Two sites' stores: proposals per site; --out without {site} is one line of error."""
    a = fill(tmp_path, "a.sqlite3", calls=150, site="north", seed=1)
    b = fill(tmp_path, "b.sqlite3", calls=150, site="south", seed=2)
    out = calibrate(str(a), str(b), "--out", "proposed.toml", cwd=tmp_path)
    assert out.returncode == 1 and out.stderr.count("\n") == 1
    assert "put {site} in the name" in out.stderr
    out = calibrate(str(a), str(b), "--out", "proposed-{site}.toml", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    for site in ("north", "south"):
        load_config(tmp_path / f"proposed-{site}.toml", environ={})
    assert re.search(r"\(all\)\s+caller_distressed\s+300\s", out.stdout)


def test_a_missing_store_is_one_line(tmp_path) -> None:
    """No such store: one line that says which file the service writes."""
    out = calibrate(str(tmp_path / "nope.sqlite3"), cwd=tmp_path)
    assert out.returncode == 1 and out.stderr.count("\n") == 1
    assert "no such verdict store" in out.stderr
