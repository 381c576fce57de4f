"""What agents' verdicts say about the cues, and the thresholds they argue for.

Pure functions over :class:`~edge.feedback.store.Verdict` rows (and, where
given, the facts of an event log): ``edge calibrate`` (:mod:`edge.cli.calibrate`)
reads the files and prints what these return. Nothing here changes a setting.

**Precision** of a cue kind (or evidence tag) is the share of its verdicts that
say "right", with a 95% Wilson score interval (sound at small counts and at 0
or 1, where the normal approximation is not).

**A threshold proposal** (``caller_distressed``: ``[pipeline.cues] raise_at``,
``high_at``) replays each cue against a higher threshold: a cue is kept when
its estimated peak reaches it. A cue's own score is the fused distress when it
was raised (just above ``raise_at``, for most) or rose to high, so the estimate
is the higher of that and the caller's voice distress held over two readings
while the cue was active (the hub records both; the fused score is led by the
voice model, and words and prosody can only add to it, so the estimate leans
low and the drop it predicts leans high). Of the thresholds that
keep at least ``keep_right`` of the cues agents called right, the one that
most improves ``kept right - kept wrong`` (as shares: Youden's J) is proposed,
if it improves it by ``min_gain`` or more. A threshold can only be raised: a
cue a lower one would have raised was never shown, so no verdict speaks for it.
Cues of the fast onset path (``onset_at``) raise whatever ``raise_at`` says,
so for them the estimated drop is an upper bound.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.errors import ConfigError
from edge.events import CueKind
from edge.feedback.store import Verdict
from edge.settings import literal
from edge.stages.cues import CueOptions

Z95 = 1.959964  # the normal quantile of a two-sided 95% interval
MIN_VERDICTS = 30  # per site and cue kind before anything is proposed
MIN_EACH = 5  # verdicts of each kind ("wrong", "right") before anything is proposed
KEEP_RIGHT = 0.9  # share of the cues called right a proposal must keep
MIN_GAIN = 0.1  # the least improvement of Youden's J worth a change
STEP = 0.01  # thresholds are proposed on this grid

#: The cue kinds whose score a threshold cuts: kind -> (raise setting, high setting).
TUNABLE: dict[str, tuple[str, str | None]] = {
    CueKind.CALLER_DISTRESSED.value: ("raise_at", "high_at"),
}
SECTION = CueOptions.SECTION


def wilson(right: int, total: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of the proportion ``right / total``."""
    if total == 0:
        return 0.0, 1.0
    p = right / total
    centre = p + z * z / (2 * total)
    spread = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    scale = 1 + z * z / total
    return max(0.0, (centre - spread) / scale), min(1.0, (centre + spread) / scale)


@dataclass(frozen=True)
class Rate:
    """How many verdicts of a group said "right"."""

    right: int
    total: int

    @property
    def precision(self) -> float:
        return self.right / self.total if self.total else math.nan

    def shown(self) -> str:
        lo, hi = wilson(self.right, self.total)
        return f"{self.precision:.2f} [{lo:.2f}, {hi:.2f}]"

    @classmethod
    def of(cls, verdicts: Iterable[Verdict]) -> Rate:
        marks = [v.verdict == "right" for v in verdicts]
        return cls(sum(marks), len(marks))


# -- the event log ---------------------------------------------------------------


def estimated_peak(peak: float, voice_peak: float | None) -> float:
    """How high a caller cue's distress went: its scores, or the voice held under it."""
    return max(peak, voice_peak or 0.0)


@dataclass
class LoggedCue:
    """A cue as the event log tells it: every raise, and the caller's voice meanwhile."""

    kind: str
    peak: float = 0.0  # highest score of its raises
    raised: float = math.inf  # stream time of its first raise
    cleared: float = math.inf  # stream time it cleared (inf: not seen)
    voice_peak: float | None = None  # highest caller voice distress while it was active


@dataclass
class EventLogFacts:
    """What ``edge calibrate --events`` reads from the JSONL event log folder."""

    cues: dict[tuple[str, int], LoggedCue] = field(default_factory=dict)  # (call, cue id)
    verdicts: dict[str, tuple[str, int]] = field(default_factory=dict)  # verdict id -> cue
    call_seconds: float = 0.0  # summed durations of the calls that ended
    lines: int = 0
    unreadable: int = 0  # lines that are not JSON objects


def read_event_log(folder: Path) -> EventLogFacts:
    """The cues, their readings and the verdicts' links in an event log folder."""
    paths = sorted(Path(folder).glob("events-*.jsonl"))
    if not paths:
        raise ConfigError(
            f"--events {folder}: no events-*.jsonl files there; give the [privacy] event_log "
            "folder of the service"
        )
    facts = EventLogFacts()
    voices: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for path in paths:
        with path.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                facts.lines += 1
                try:
                    event = json.loads(line)
                except ValueError:
                    facts.unreadable += 1
                    continue
                if isinstance(event, dict):
                    _take(facts, voices, event)
                else:
                    facts.unreadable += 1
    for (call_id, _), cue in facts.cues.items():
        cue.voice_peak = _voice_peak(voices.get(call_id, []), cue.raised, cue.cleared)
    return facts


def _voice_peak(readings: list[tuple[float, float]], start: float, end: float) -> float | None:
    """As the hub keeps it: the highest reading held over two, from the pair that led to
    ``start`` until ``end``."""
    readings = sorted(readings)
    held = [(t, min(d, before)) for (_, before), (t, d) in itertools.pairwise(readings)]
    lead = [h for t, h in held if t <= start][-1:]
    during = [h for t, h in held if start < t <= end]
    return max(lead + during) if lead or during else None


def _take(
    facts: EventLogFacts, voices: dict[str, list[tuple[float, float]]], event: dict[str, Any]
) -> None:
    kind, call_id = event.get("type"), str(event.get("call_id", ""))
    try:
        if kind == "cue.raised":
            cue = facts.cues.setdefault((call_id, int(event["cue_id"])), LoggedCue(event["cue"]))
            cue.peak = max(cue.peak, float(event["score"]))
            cue.raised = min(cue.raised, float(event["stream_time"]))
        elif kind == "cue.cleared":
            logged = facts.cues.get((call_id, int(event["cue_id"])))
            if logged is not None:
                logged.cleared = float(event["stream_time"])
        elif kind == "emotion.voice" and event.get("role") == "caller":
            distress = max(float(event["distress"]), float(event.get("onset_distress") or 0.0))
            voices[call_id].append((float(event["stream_time"]), distress))
        elif kind == "call.ended":
            facts.call_seconds += float(event["duration"])
        elif kind == "feedback" and event.get("verdict_id"):
            facts.verdicts[str(event["verdict_id"])] = (call_id, int(event["cue_id"]))
    except (KeyError, TypeError, ValueError):
        facts.unreadable += 1


# -- proposals -------------------------------------------------------------------


@dataclass(frozen=True)
class Cut:
    """The effect of one threshold on a set of judged cues."""

    threshold: float
    kept_right: int
    right: int
    kept_wrong: int
    wrong: int

    @property
    def j(self) -> float:
        """Youden's J: share of right cues kept minus share of wrong cues kept."""
        return self.kept_right / self.right - self.kept_wrong / self.wrong

    @property
    def after(self) -> Rate:
        return Rate(self.kept_right, self.kept_right + self.kept_wrong)


def cut(scored: Sequence[tuple[float, bool]], threshold: float) -> Cut:
    """``scored``: (peak, called right) per cue; the cues whose peak reaches ``threshold``."""
    right = sum(1 for _, r in scored if r)
    kept_right = sum(1 for p, r in scored if r and p >= threshold - 1e-9)
    kept_wrong = sum(1 for p, r in scored if not r and p >= threshold - 1e-9)
    return Cut(threshold, kept_right, right, kept_wrong, len(scored) - right)


def best_cut(
    scored: Sequence[tuple[float, bool]],
    current: float,
    *,
    keep_right: float = KEEP_RIGHT,
    min_gain: float = MIN_GAIN,
) -> Cut | None:
    """The threshold above ``current`` that best separates right from wrong, or None."""
    if all(r for _, r in scored) or not any(r for _, r in scored):
        return None  # nothing to separate
    start = math.floor(current / STEP + 1e-6) + 1
    best: Cut | None = None
    for step in range(start, round(1 / STEP)):
        candidate = cut(scored, round(step * STEP, 2))
        if candidate.kept_right < keep_right * candidate.right:
            break  # higher thresholds keep fewer still
        if best is None or candidate.j > best.j + 1e-12:
            best = candidate
    base = cut(scored, current)
    return best if best is not None and best.j - base.j >= min_gain else None


@dataclass(frozen=True)
class Proposal:
    """What the verdicts of one site say about one cue kind's thresholds."""

    site: str
    kind: str
    judged: int  # verdicts the proposal rests on
    before: Rate
    changes: dict[str, float]  # setting -> proposed value (empty: nothing proposed)
    current: dict[str, float]  # the site's values of the settings involved
    after: Rate | None = None
    dropped_wrong: int = 0
    dropped_right: int = 0
    cues_before: int = 0  # cues the rate estimate counts...
    cues_after: int = 0  # ...and how many would be raised
    rate_source: str = "verdicts"  # "verdicts" or "event log"
    call_hours: float = 0.0  # event log: hours of calls behind cues_before
    high_before: Rate | None = None  # the cues that reach high now...
    high_after: Rate | None = None  # ...and with the proposed high threshold
    why_not: str = ""  # when ``changes`` is empty: why


def propose(
    site: str,
    kind: str,
    verdicts: Sequence[Verdict],
    cues: Mapping[str, Any],
    *,
    events: EventLogFacts | None = None,
    min_verdicts: int = MIN_VERDICTS,
    keep_right: float = KEEP_RIGHT,
    min_gain: float = MIN_GAIN,
) -> Proposal:
    """The thresholds of ``kind`` that the verdicts of ``site`` argue for (``cues``: its
    current ``[pipeline.cues]`` values)."""
    raise_key, high_key = TUNABLE[kind]
    current = {k: float(cues[k]) for k in _related(raise_key, high_key)}
    r0 = current[raise_key]
    eligible = [v for v in verdicts if v.peak >= r0 - 1e-9]  # older, lower thresholds: out
    rate = Rate.of(eligible)
    result = Proposal(site, kind, len(eligible), rate, {}, current)
    wrong = rate.total - rate.right
    if rate.total < min_verdicts or wrong < MIN_EACH or rate.right < MIN_EACH:
        if rate.total < min_verdicts:
            why = f"too few verdicts ({rate.total}; {min_verdicts} needed)"
        elif wrong < MIN_EACH:
            why = f"only {wrong} called wrong ({MIN_EACH} needed): nothing to correct"
        else:
            why = f"only {rate.right} called right ({MIN_EACH} needed to know what a change loses)"
        return dataclasses.replace(result, why_not=why)
    scored = [(estimated_peak(v.peak, v.voice_peak), v.verdict == "right") for v in eligible]
    raised = best_cut(scored, r0, keep_right=keep_right, min_gain=min_gain)
    changes: dict[str, float] = {}
    if raised is not None:
        changes[raise_key] = raised.threshold
    if high_key is not None:
        h0 = max(current[high_key], changes.get(raise_key, r0))
        highs = [s for s in scored if s[0] >= h0 - 1e-9]
        if sum(r for _, r in highs) >= MIN_EACH and sum(not r for _, r in highs) >= MIN_EACH:
            higher = best_cut(highs, h0, keep_right=keep_right, min_gain=min_gain)
            if higher is not None:
                changes[high_key] = higher.threshold
        if changes.get(raise_key, r0) > current[high_key]:
            changes.setdefault(high_key, changes[raise_key])  # raise_at <= high_at
    new_raise = changes.get(raise_key, r0)
    for rule in CueOptions.RULES:  # settings that must stay at least raise_at
        tied = rule.small == raise_key and rule.large != high_key and rule.large in current
        if tied and current[rule.large] < new_raise:
            changes[rule.large] = new_raise
    if not changes:
        return dataclasses.replace(
            result,
            why_not=f"no higher {raise_key} keeps {keep_right:.0%} of the cues called right "
            "and drops clearly more of those called wrong",
        )
    if high_key is not None and high_key in changes:
        result = dataclasses.replace(
            result,
            high_before=cut(scored, max(current[high_key], new_raise)).after,
            high_after=cut(scored, changes[high_key]).after,
        )
    after = cut(scored, new_raise)
    result = dataclasses.replace(
        result,
        changes=changes,
        after=after.after,
        dropped_wrong=after.wrong - after.kept_wrong,
        dropped_right=after.right - after.kept_right,
        cues_before=len(scored),
        cues_after=after.kept_right + after.kept_wrong,
    )
    if events is not None:
        linked = {events.verdicts.get(v.id) for v in verdicts} - {None}
        logged = [c for c in events.cues.values() if c.kind == kind and c.peak >= r0 - 1e-9]
        if linked and logged:  # the log is this site's
            peaks = [estimated_peak(c.peak, c.voice_peak) for c in logged]
            kept = sum(1 for p in peaks if p >= new_raise - 1e-9)
            result = dataclasses.replace(
                result,
                cues_before=len(logged),
                cues_after=kept,
                rate_source="event log",
                call_hours=events.call_seconds / 3600,
            )
    return result


def _related(raise_key: str, high_key: str | None) -> list[str]:
    """The settings tied to the tuned ones by a rule of [pipeline.cues], tuned ones first."""
    keys = [raise_key] + ([high_key] if high_key else [])
    for rule in CueOptions.RULES:
        for a, b in ((rule.small, rule.large), (rule.large, rule.small)):
            if a in keys[:2] and b not in keys:
                keys.append(b)
    return keys


def cue_settings(values: Mapping[str, Any]) -> CueOptions:
    """The known ``[pipeline.cues]`` settings among ``values`` (a store's record), checked."""
    known = {f.name for f in dataclasses.fields(CueOptions)}
    return CueOptions(**{k: v for k, v in values.items() if k in known})


def snippet(proposal: Proposal, *, header: Sequence[str] = ()) -> str:
    """The proposal as TOML for the site's edge.toml: the changes, and the settings that a
    rule ties to them (unchanged, so the snippet holds on its own)."""
    merged = {**proposal.current, **proposal.changes}
    cue_settings(merged)  # the rules between them hold (raises ConfigError if not)
    lines = [f"# {line}" if line else "#" for line in header]
    lines.append(f"[{SECTION}]")
    for key in proposal.current:
        value = merged[key]
        if key in proposal.changes:
            note = f"was {literal(proposal.current[key])}"
        else:
            note = "unchanged: tied to the above by a rule"
        lines.append(f"{key} = {literal(value)}  # {note}")
    return "\n".join(lines) + "\n"


# -- the report --------------------------------------------------------------------


@dataclass
class Report:
    """What ``edge calibrate`` prints, and the snippets per site."""

    lines: list[str]
    snippets: dict[str, str]  # site -> TOML


def report(
    verdicts: Sequence[Verdict],
    settings: Mapping[str, Mapping[str, Any]],
    *,
    events: EventLogFacts | None = None,
    min_verdicts: int = MIN_VERDICTS,
    keep_right: float = KEEP_RIGHT,
    min_gain: float = MIN_GAIN,
) -> Report:
    """Precision per site, cue kind and evidence tag; proposals per site.

    ``settings``: the cue settings by fingerprint (the stores' ``settings`` tables).
    """
    out: list[str] = []
    snippets: dict[str, str] = {}
    if not verdicts:
        out.append("no verdicts yet: nothing to measure and nothing proposed")
        return Report(out, snippets)
    sites = sorted({v.site for v in verdicts})
    first, last = min(v.time for v in verdicts), max(v.time for v in verdicts)
    agents = {v.agent_id for v in verdicts if v.agent_id}
    out.append(
        f"{len(verdicts)} verdicts from {_day(first)} to {_day(last)}, "
        f"{len(sites)} site(s), {len(agents)} agent(s)"
    )
    out += ["", "Precision per cue kind (share called right, 95% Wilson interval)"]
    out += _table(
        ("site", "cue", "verdicts", "right", "precision [95% interval]"),
        [
            (site, kind, str(r.total), str(r.right), r.shown())
            for (site, kind), r in _groups(verdicts, lambda v: [(v.site, v.cue)], sites)
        ],
    )
    out += ["", "Precision per evidence tag"]
    out += _table(
        ("site", "tag", "verdicts", "right", "precision [95% interval]"),
        [
            (site, tag, str(r.total), str(r.right), r.shown())
            for (site, tag), r in _groups(
                verdicts, lambda v: [(v.site, t) for t in v.evidence or ("(none)",)], sites
            )
        ],
    )
    reasons = Counter(v.reason for v in verdicts if v.verdict == "wrong" and v.reason)
    if reasons:
        listed = ", ".join(f"{r} {n}" for r, n in reasons.most_common())
        out += ["", f"Called wrong, by reason: {listed}"]
    if events is not None:
        out += ["", *_voice_lines(verdicts, events)]
    out += ["", "Proposals (not applied: edge calibrate never changes the running service)"]
    for site in sites:
        mine = [v for v in verdicts if v.site == site]
        concentration = _one_voice(mine)
        if concentration:
            out.append(f"  {site}: {concentration}")
        values = _site_settings(mine, settings)
        known = "" if values is not None else " (its cue settings are not in the store: defaults)"
        cues = dataclasses.asdict(cue_settings(values or {}))
        for kind in sorted({v.cue for v in mine}):
            if kind not in TUNABLE:
                continue
            judged = [v for v in mine if v.cue == kind]
            proposal = propose(
                site,
                kind,
                judged,
                cues,
                events=events,
                min_verdicts=min_verdicts,
                keep_right=keep_right,
                min_gain=min_gain,
            )
            out += _proposal_lines(proposal, known)
            if proposal.changes and proposal.after is not None:
                header = [
                    f"edge calibrate: proposed for site {site} from {proposal.judged} verdicts "
                    f"on {kind} ({_day(first)} to {_day(last)}).",
                    "Not applied: review it, merge it into that site's edge.toml, check it "
                    "with `edge config --check`, restart edge serve.",
                    *_effect(proposal),
                ]
                snippets[site] = snippet(proposal, header=header)
    untuned = sorted({v.cue for v in verdicts} - set(TUNABLE))
    if untuned:
        out.append(
            f"  no threshold proposals for {', '.join(untuned)}: their scores are not a "
            "level one threshold cuts (precision above)"
        )
    return Report(out, snippets)


def _groups(
    verdicts: Sequence[Verdict], keys: Any, sites: Sequence[str]
) -> list[tuple[tuple[str, str], Rate]]:
    """Rates per (site, key), plus (all, key) when there are several sites."""
    groups: dict[tuple[str, str], list[Verdict]] = defaultdict(list)
    for v in verdicts:
        for site, key in keys(v):
            groups[(site, key)].append(v)
            if len(sites) > 1:
                groups[("(all)", key)].append(v)
    return [(k, Rate.of(vs)) for k, vs in sorted(groups.items(), key=lambda kv: kv[0])]


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(head, *rows, strict=False)]
    numeric = [False, False, True, True, False]

    def line(cells: Sequence[str]) -> str:
        return (
            "  "
            + "  ".join(
                c.rjust(w) if numeric[i] else c.ljust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            ).rstrip()
        )

    return [line(head), *(line(r) for r in rows)]


def _site_settings(
    verdicts: Sequence[Verdict], settings: Mapping[str, Mapping[str, Any]]
) -> Mapping[str, Any] | None:
    """The cue settings of a site's latest verdict."""
    latest = max(verdicts, key=lambda v: v.time)
    return settings.get(latest.settings)


def _one_voice(verdicts: Sequence[Verdict]) -> str:
    """A warning when one agent gave most of a site's verdicts."""
    counts = Counter(v.agent_id or v.by for v in verdicts)
    n = counts.most_common(1)[0][1]
    if len(verdicts) >= 10 and n > len(verdicts) / 2:
        return (
            f"{n} of its {len(verdicts)} verdicts come from one agent: "
            "a proposal may reflect one person's view"
        )
    return ""


def _proposal_lines(p: Proposal, known: str) -> list[str]:
    head = f"  {p.site} {p.kind}{known}: "
    if not p.changes or p.after is None:
        return [head + f"nothing proposed: {p.why_not or 'no change needed'}"]
    changes = ", ".join(
        f"{k} {literal(p.current[k])} -> {literal(v)}" for k, v in p.changes.items()
    )
    return [head + changes, *(f"    {line}" for line in _effect(p))]


def _effect(p: Proposal) -> list[str]:
    assert p.after is not None
    lines = [
        f"cues shown: precision {p.before.shown()} -> {p.after.shown()} "
        f"(drops {p.dropped_wrong} of {p.before.total - p.before.right} cues called wrong, "
        f"{p.dropped_right} of {p.before.right} called right)"
    ]
    change = (p.cues_after - p.cues_before) / p.cues_before if p.cues_before else 0.0
    if p.rate_source == "event log" and p.call_hours > 0:
        lines.append(
            f"cues: {p.cues_before} -> {p.cues_after} ({change:+.0%}) in the event log, "
            f"{p.cues_before / p.call_hours:.1f} -> {p.cues_after / p.call_hours:.1f} "
            f"per call hour"
        )
    else:
        lines.append(
            f"cues: {change:+.0%} ({p.cues_before} -> {p.cues_after} of the cues "
            f"{'in the event log' if p.rate_source == 'event log' else 'with verdicts'})"
        )
    if p.high_before is not None and p.high_after is not None:
        lines.append(
            f"cues at level high: precision {p.high_before.shown()} -> {p.high_after.shown()} "
            f"({p.high_before.total} -> {p.high_after.total} of the cues with verdicts)"
        )
    return lines


def _voice_lines(verdicts: Sequence[Verdict], events: EventLogFacts) -> list[str]:
    """The caller's voice behind the judged cues (the readings in the event log)."""
    peaks: dict[str, list[float]] = {"right": [], "wrong": []}
    for v in verdicts:
        if v.cue not in TUNABLE:  # the caller's voice is behind the distress cues only
            continue
        key = events.verdicts.get(v.id)
        cue = events.cues.get(key) if key is not None else None
        if cue is not None and cue.voice_peak is not None:
            peaks[v.verdict].append(cue.voice_peak)
    linked = len(peaks["right"]) + len(peaks["wrong"])
    lines = [
        f"Event log: {events.lines} lines, {len(events.cues)} cues, "
        f"{events.call_seconds / 3600:.1f} call hours; {linked} verdicts linked to "
        "the caller's voice readings under their distress cue"
    ]
    for verdict, values in peaks.items():
        if values:
            values.sort()
            median = values[len(values) // 2]
            lines.append(
                f"  called {verdict}: the caller's voice distress peaked at {median:.2f} "
                f"(median of {len(values)})"
            )
    return lines


def _day(t: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(t))


def site_file(pattern: str, site: str, sites: int) -> Path:
    """``--out`` for one site: ``{site}`` in it is replaced; needed with several sites."""
    if "{site}" in pattern:
        return Path(pattern.replace("{site}", re.sub(r"[^A-Za-z0-9._-]", "_", site)))
    if sites > 1:
        raise ConfigError(
            f"--out {pattern}: proposals for {sites} sites: put {{site}} in the name "
            "(e.g. proposed-{site}.toml) or choose one with --site"
        )
    return Path(pattern)
