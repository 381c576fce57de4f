#!/usr/bin/env python3
"""Fill a verdict store (and optionally an event log) with simulated agents' verdicts.

For trying ``edge calibrate`` and for its tests, before real agents have given
any feedback. The verdicts go the way a live service's do: cues are published
on a real :class:`~edge.server.hub.Hub` (caller voice readings, cues with
quoted caption words, clears, call ends), agents' reports go through
:meth:`~edge.server.hub.Hub.record_feedback` and its
:class:`~edge.feedback.store.VerdictWriter`; with ``--events`` the hub's event
log lines are written as the service's event log writes them.

What is simulated (made up, seeded, not measured): each call has one
caller_distressed cue whose peak score is drawn from 0.65 to 0.98; agents call
it right with probability ``1 / (1 + exp(-(peak - MIDPOINT) / SPREAD))``, so
cues peaking below about 0.7 are mostly called wrong; a quarter of the calls
also get an overtalk notice, called right 80% of the time. The evidence tag
"raised voice" goes with high peaks, "shaky voice" with any.

    python scripts/fill_verdicts.py --store /tmp/verdicts.sqlite3 --calls 200 --site clinic-north
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import random
import sys
import time
from pathlib import Path

from edge.events import CallEnded, CueCleared, CueKind, CueLevel, CueRaised, Event, VoiceEmotion
from edge.feedback.store import VerdictStore, VerdictWriter
from edge.server.auth import OPEN
from edge.server.hub import Hub
from edge.server.options import PrivacyOptions
from edge.server.summary import CallMeta
from edge.stages.cues import CueOptions
from edge.types import CallId, Role

MIDPOINT = 0.7  # peak at which agents call a distress cue right half of the time
SPREAD = 0.02
QUOTE = ("my chest hurts and I cannot breathe",)  # caption words a cue rests on (must not be kept)
REASONS = ("not_distressed", "background_noise", "already_handled")


def fill(
    store: Path,
    *,
    calls: int,
    site: str,
    seed: int = 0,
    events: Path | None = None,
    start: float | None = None,
    days: float = 7.0,
    cues: CueOptions | None = None,
) -> int:
    """Simulate ``calls`` calls with verdicts over ``days`` days from ``start``; the count."""
    rng = random.Random(seed)
    start = time.time() - days * 86400 if start is None else start
    options = cues or CueOptions()
    writer = VerdictWriter(
        VerdictStore(store),
        site=site,
        cues=dataclasses.asdict(options),
        retention_days=3650,
        clock=lambda: start,
    )
    writer.start()
    lines: dict[str, list[str]] = {}
    now = [start]

    def record(line: str) -> None:
        day = time.strftime("%Y-%m-%d", time.gmtime(now[0]))
        lines.setdefault(day, []).append(line)

    hub = Hub(PrivacyOptions(), clock=lambda: now[0], record=record, keep=writer.put)
    given = 0
    for n in range(calls):
        now[0] = start + days * 86400 * n / max(calls, 1)
        call_id = f"sim-{seed}-{n}"
        agent = f"agent-{rng.randrange(12)}"
        hub.open_call(
            CallMeta(call_id=call_id, agent_id=agent, team="t1", source="sim", started_at=now[0])
        )
        seq = iter(range(1, 1000))

        def publish(event: Event, call_id: str = call_id, seq: object = seq) -> None:
            assert hasattr(seq, "__next__")
            stamped = dataclasses.replace(event, call_id=CallId(call_id), seq=next(seq))
            hub.publish(call_id, stamped)

        peak = rng.uniform(options.raise_at, 0.98)
        raised = rng.uniform(20, 200)
        evidence = ("raised voice", "shaky voice") if peak > 0.8 else ("shaky voice",)
        level = CueLevel.HIGH if peak >= options.high_at else CueLevel.ELEVATED
        # The caller's voice a second apart around the cue, near its peak; the cue's own
        # score is just above raise_at when raised, its peak once it rises to high.
        for k in range(-3, 6):
            if k == 0:
                score = min(peak, options.raise_at + 0.01)
                publish(_distress(1, raised, score, CueLevel.ELEVATED))
            if k == 2 and level is CueLevel.HIGH:
                publish(_distress(1, raised + 2, peak, level, evidence))
            publish(_voice(max(0.0, peak - rng.uniform(0.0, 0.06)), raised + k))
        cleared = CueCleared(
            stream_time=raised + 6, role=Role.CALLER, cue=_KIND, cue_id=1, duration=6
        )
        publish(cleared)
        right = rng.random() < 1 / (1 + math.exp(-(peak - MIDPOINT) / SPREAD))
        report = {"call_id": call_id, "cue_id": 1, "verdict": "right" if right else "wrong"}
        if not right and rng.random() < 0.7:
            report["reason"] = rng.choice(REASONS)
        hub.record_feedback(OPEN, report)
        given += 1
        if rng.random() < 0.25:
            publish(_overtalk(2, raised + 30))
            verdict = "right" if rng.random() < 0.8 else "wrong"
            hub.record_feedback(OPEN, {"call_id": call_id, "cue_id": 2, "verdict": verdict})
            given += 1
        publish(CallEnded(stream_time=raised + 60, duration=raised + 60))
    writer.close()
    if events is not None:
        events.mkdir(parents=True, exist_ok=True)
        for day, day_lines in lines.items():
            with (events / f"events-{day}.jsonl").open("a", encoding="utf-8") as f:
                f.writelines(line + "\n" for line in day_lines)
    return given


_KIND = CueKind.CALLER_DISTRESSED


def _voice(distress: float, t: float) -> VoiceEmotion:
    return VoiceEmotion(
        stream_time=t,
        role=Role.CALLER,
        start=t - 3,
        end=t,
        probs=(("neutral", 1 - distress), ("angry", distress)),
        distress=distress,
        arousal=0.5,
    )


def _distress(
    cue_id: int,
    t: float,
    score: float,
    level: CueLevel,
    evidence: tuple[str, ...] = ("shaky voice",),
) -> CueRaised:
    return CueRaised(
        stream_time=t,
        role=Role.CALLER,
        cue=_KIND,
        cue_id=cue_id,
        level=level,
        score=round(score, 3),
        evidence=evidence,
        message="Caller sounds distressed.",
        quote=QUOTE,
        suggestion="Slow down and acknowledge how they feel.",
    )


def _overtalk(cue_id: int, t: float) -> CueRaised:
    return CueRaised(
        stream_time=t,
        cue=CueKind.OVERTALK,
        cue_id=cue_id,
        level=CueLevel.NOTICE,
        score=2.0,
        evidence=("talking over each other",),
        message="You and the caller are talking at the same time.",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True, help="the SQLite file to fill")
    parser.add_argument("--events", type=Path, help="also write an event log folder here")
    parser.add_argument("--calls", type=int, default=200, help="calls to simulate")
    parser.add_argument("--site", default="sim", help="the site name of the verdicts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--days", type=float, default=7.0, help="spread over this many days")
    args = parser.parse_args()
    given = fill(
        args.store,
        calls=args.calls,
        site=args.site,
        seed=args.seed,
        events=args.events,
        days=args.days,
    )
    print(f"{args.store}: {given} verdicts from {args.calls} simulated calls ({args.site})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
