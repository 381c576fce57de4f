"""`edge report --day` as a user runs it: a real process on a scripted day's event log."""

from __future__ import annotations

import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from edge.cli.main import build_parser
from tests.report.scripted import DAY, expected_headline, write_day

PLOTS = ("distress-by-hour.png", "cues-per-team.png", "routine-vs-sensitive.png", "handoffs.png")


def edge(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", head[16:24])


def test_the_page_and_its_plots_are_written_and_self_contained(tmp_path: Path) -> None:
    """The page, four PNG plots of the size the page gives them, the headline numbers of
    the scripted day on stdout; the page names no address outside its folder."""
    plan = write_day(tmp_path / "events")
    day = DAY.isoformat()
    out = edge("report", "--day", day, "--from", "events", "--out", "page", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    for name, value in expected_headline(plan).items():
        assert f"{name}: {value} " in out.stdout
    page = (tmp_path / "page" / "index.html").read_text(encoding="utf-8")
    for plot in PLOTS:
        width, height = png_size(tmp_path / "page" / plot)
        assert f'src="{plot}" ' in page
        assert re.search(rf'src="{plot}" alt="[^"]+" width="{width}" height="{height}"', page)
    assert sorted(re.findall(r'(?:src|href)="([^"]+)"', page)) == sorted(PLOTS)
    assert "http" not in page and "//" not in page.replace("<!--", "")


def test_no_such_folder_is_one_line(tmp_path: Path) -> None:
    """A wrong --from: one line naming it, exit 1, no page."""
    out = edge("report", "--day", "--from", "nope", cwd=tmp_path)
    assert out.returncode == 1 and out.stderr.count("\n") == 1
    assert out.stderr.startswith("edge: error: --from nope: no such folder")
    assert not any(tmp_path.iterdir())


def test_a_bad_date_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """--day 2026-02-30 is refused by the parser, saying the form it wants."""
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["report", "--day", "2026-02-30"])
    assert exit_.value.code == 2
    assert "'2026-02-30' is not a date: give YYYY-MM-DD" in capsys.readouterr().err
