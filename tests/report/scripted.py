"""The scripted day of scripts/make_report_day.py, written where a test wants it."""

from __future__ import annotations

import datetime
import importlib.util
import statistics
import sys
from collections import Counter
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_report_day.py"
DAY = datetime.date(2026, 3, 2)


def _load() -> Any:
    spec = importlib.util.spec_from_file_location("make_report_day", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_report_day"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


make_report_day = _load()


def write_day(folder: Path, *, calls: int = 40) -> list[Any]:
    """The day's event log file in ``folder``; the plan of its calls."""
    lines, plan = make_report_day.scripted_day(DAY, calls=calls)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"events-{DAY.isoformat()}.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return list(plan)


def expected_headline(plan: list[Any]) -> dict[str, str]:
    """The four headline figures as the page should show them, from the plan alone."""
    distressed = [c for c in plan if c.distress_at is not None]
    calmer = sum(c.calmer for c in distressed)
    verdicts = [v for c in plan for v in c.verdicts]
    median = statistics.median(c.distress_s for c in distressed)
    return {
        "Calls": str(len(plan)),
        "Ended calmer than their peak": f"{calmer / len(distressed):.0%}",
        "Median time distressed": f"{median / 60:.1f} min",
        "Cues found helpful": f"{verdicts.count('right') / len(verdicts):.0%}",
    }


def expected_handoffs(plan: list[Any]) -> Counter[str]:
    return Counter(r.value for c in plan for r in c.handoffs)
