"""A day of kept after-call summaries, and the figures of the daily report (issue 17, part 3).

The source is the opt-in event log (``[privacy] event_log``): one file a UTC day,
``events-YYYY-MM-DD.jsonl``, every shared event a line, with the call's agent and
team. Nothing else keeps a summary: with the event log off, no summary is on
disk, and the log's retention (``[privacy] retention_days``) is the summaries'.
A day's report reads three kinds of line of that day's file:

* ``call.summary.final``: one per call (numbers, labels and cue kinds only: no
  transcript text, whatever ``[privacy] share`` says);
* ``handoff.recommended``: the hand-offs of automated calls, by reason;
* ``feedback``: the agents' verdicts on cues ("right" is helpful), the last
  verdict per cue counting, as in the verdict store.

Pure functions: :func:`read_day` reads a file, :func:`figures` counts; the page
is :mod:`edge.report.page`'s.
"""

from __future__ import annotations

import datetime
import json
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.errors import ConfigError
from edge.server.eventlog import PREFIX

NO_TEAM = "(no team)"  # calls logged before lines named their team


@dataclass(frozen=True, kw_only=True)
class KeptCall:
    """One call of the day: its summary line, its hand-offs and the verdicts on its cues."""

    call_id: str
    ended_at: float  # Unix time the summary was sent: the call's end
    team: str
    agent_id: str
    duration: float
    triage: str  # "routine", "sensitive", "" when the call was never triaged
    topic: str
    distressed_s: float
    peak_distress: float | None
    end_distress: float | None
    calmer_at_end: bool | None
    cues: tuple[str, ...]
    handoffs: tuple[str, ...] = ()  # reasons, in the order recommended
    verdicts: tuple[str, ...] = ()  # "right" / "wrong", one per judged cue

    @property
    def distressed(self) -> bool:
        return self.distressed_s > 0

    @property
    def hour(self) -> int:
        """The UTC hour the call ended in (the event log's days are UTC days)."""
        return datetime.datetime.fromtimestamp(self.ended_at, datetime.timezone.utc).hour


@dataclass(frozen=True, kw_only=True)
class Figures:
    """What the report shows: headline numbers and the series behind each plot."""

    day: datetime.date
    calls: int
    distressed_calls: int  # calls with a caller_distressed cue
    calmer: int  # of those, the ones that ended clearly calmer than their peak
    calmer_known: int  # of those, the ones whose peak and ending were both measured
    median_distressed_s: float | None  # over the distressed calls
    verdicts: int
    helpful: int  # verdicts that said "right"
    hours: dict[int, HourFigures]  # UTC hour -> its calls' distress
    cues_per_team: dict[str, Counter[str]]  # team -> cue kind -> count
    triage: Counter[str]  # "routine" / "sensitive" / "not triaged" -> calls
    handoffs: Counter[str]  # reason -> hand-offs recommended
    handed_off_calls: int  # calls with at least one hand-off recommended

    @property
    def calmer_share(self) -> float | None:
        return self.calmer / self.calmer_known if self.calmer_known else None

    @property
    def helpful_rate(self) -> float | None:
        return self.helpful / self.verdicts if self.verdicts else None


@dataclass(frozen=True)
class HourFigures:
    calls: int
    mean_peak: float | None  # the callers' mean peak distress
    mean_end: float | None  # and their mean distress at the end
    distressed_minutes: float  # minutes a caller_distressed cue was active


@dataclass
class _Building:
    summary: dict[str, Any] | None = None
    handoffs: list[str] = field(default_factory=list)
    verdicts: dict[str, str] = field(default_factory=dict)  # verdict_id -> last verdict


def day_file(folder: Path, day: datetime.date) -> Path:
    """The event log's file of a UTC day (:mod:`edge.server.eventlog`)."""
    return Path(folder) / f"{PREFIX}{day.isoformat()}.jsonl"


def read_day(folder: Path, day: datetime.date) -> list[KeptCall]:
    """The calls of ``day`` with a summary in the event log ``folder``; ConfigError if none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(
            f"--from {folder}: no such folder; give the [privacy] event_log folder of the service"
        )
    path = day_file(folder, day)
    if not path.is_file():
        raise ConfigError(
            f"no summaries for {day}: {path} does not exist (the event log writes a file a "
            "UTC day while [privacy] event_log is set; pick a day it was on)"
        )
    with path.open(encoding="utf-8", errors="replace") as lines:
        calls = kept_calls(lines)
    if not calls:
        raise ConfigError(
            f"no summaries for {day} in {path}: no call.summary.final lines (calls that ended "
            "with [pipeline.summary] enabled = true are summarised)"
        )
    return calls


def kept_calls(lines: Iterable[str]) -> list[KeptCall]:
    """The summarised calls of event log lines, in the order they ended.

    Unreadable lines and calls without a summary (still going at midnight, or
    cut off by a restart) are skipped.
    """
    building: dict[str, _Building] = {}
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict) or not isinstance(event.get("call_id"), str):
            continue
        call = building.setdefault(event["call_id"], _Building())
        kind = event.get("type")
        if kind == "call.summary.final":
            call.summary = event
        elif kind == "handoff.recommended":
            call.handoffs.append(str(event.get("reason", "")))
        elif kind == "feedback" and event.get("verdict") in ("right", "wrong"):
            key = str(event.get("verdict_id") or event.get("cue_id"))
            call.verdicts[key] = event["verdict"]
    calls = []
    for call_id, call in building.items():
        if call.summary is None:
            continue
        kept = _kept(call_id, call.summary, call)
        if kept is not None:
            calls.append(kept)
    return sorted(calls, key=lambda c: c.ended_at)


def _kept(call_id: str, s: Mapping[str, Any], call: _Building) -> KeptCall | None:
    try:
        return KeptCall(
            call_id=call_id,
            ended_at=float(s["wall_time"]),
            team=str(s.get("team") or NO_TEAM),
            agent_id=str(s.get("agent_id") or ""),
            duration=float(s["duration"]),
            triage=str(s.get("triage") or ""),
            topic=str(s.get("topic") or ""),
            distressed_s=float(s.get("distressed_s") or 0.0),
            peak_distress=_number(s.get("peak_distress")),
            end_distress=_number(s.get("end_distress")),
            calmer_at_end=calmer if isinstance(calmer := s.get("calmer_at_end"), bool) else None,
            cues=tuple(str(c) for c in s.get("cues") or ()),
            handoffs=tuple(call.handoffs),
            verdicts=tuple(call.verdicts.values()),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def figures(day: datetime.date, calls: list[KeptCall]) -> Figures:
    """The report's numbers for the calls of ``day``."""
    distressed = [c for c in calls if c.distressed]
    known = [c for c in distressed if c.calmer_at_end is not None]
    verdicts = [v for c in calls for v in c.verdicts]
    hours: dict[int, HourFigures] = {}
    for hour in sorted({c.hour for c in calls}):
        in_hour = [c for c in calls if c.hour == hour]
        peaks = [c.peak_distress for c in in_hour if c.peak_distress is not None]
        ends = [c.end_distress for c in in_hour if c.end_distress is not None]
        hours[hour] = HourFigures(
            calls=len(in_hour),
            mean_peak=statistics.fmean(peaks) if peaks else None,
            mean_end=statistics.fmean(ends) if ends else None,
            distressed_minutes=sum(c.distressed_s for c in in_hour) / 60,
        )
    cues_per_team: dict[str, Counter[str]] = {}
    for call in calls:
        cues_per_team.setdefault(call.team, Counter()).update(call.cues)
    return Figures(
        day=day,
        calls=len(calls),
        distressed_calls=len(distressed),
        calmer=sum(bool(c.calmer_at_end) for c in known),
        calmer_known=len(known),
        median_distressed_s=(
            statistics.median(c.distressed_s for c in distressed) if distressed else None
        ),
        verdicts=len(verdicts),
        helpful=verdicts.count("right"),
        hours=hours,
        cues_per_team=dict(sorted(cues_per_team.items())),
        triage=Counter(c.triage or "not triaged" for c in calls),
        handoffs=Counter(reason for c in calls for reason in c.handoffs),
        handed_off_calls=sum(bool(c.handoffs) for c in calls),
    )
