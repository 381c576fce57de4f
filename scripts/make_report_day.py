"""A scripted day of calls, kept as the service keeps them: an event log day file.

    python scripts/make_report_day.py DIR [--day 2026-03-02] [--calls 40] [--seed 17]
    edge report --day 2026-03-02 --from DIR

Forty calls (by default) end over eight hours (08:00 to 16:00 UTC) on four
teams. Each call's events are scripted (caller voice readings, both parties'
speech, a distress cue on some, triage, hand-offs on the automated ones) and
go through the pipeline's own :class:`~edge.stages.summary.Summarizer` for
their ``call.summary.final``, then through the service's own
:class:`~edge.server.hub.Hub` (``[privacy] share = "cues"``) with the event log
as its writer, agents' verdicts included (``Hub.record_feedback``): the lines
are what `edge serve` would have written. No models, no network.

:func:`scripted_day` also returns the plan: what each call was scripted to
be, so a test can check the report against it rather than against itself.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.events import (
    CallEnded,
    CallStarted,
    CallTriage,
    CueCleared,
    CueKind,
    CueLevel,
    CueRaised,
    Event,
    FinalReason,
    HandoffReason,
    HandoffRecommended,
    SpeechEnded,
    TranscriptFinal,
    TriageLabel,
    VoiceEmotion,
)
from edge.server.auth import Principal
from edge.server.hub import Hub
from edge.server.options import PrivacyOptions, Share
from edge.server.summary import CallMeta
from edge.stages.summary import Summarizer, SummaryOptions
from edge.stages.triage import ROUTINE_TOPICS, SENSITIVE_TOPICS
from edge.types import CallId, Role

TEAMS = ("cardiology", "oncology", "pharmacy", "billing")
FIRST_HOUR, HOURS = 8, 8
READING = 3.0  # seconds between the caller's voice readings
CALM, DISTRESSED = 0.15, 0.85  # the caller's voice distress, calm and distressed


@dataclass(frozen=True)
class Planned:
    """What one call was scripted to be (the truth a report is checked against)."""

    call_id: str
    team: str
    agent_id: str
    start: float  # Unix time
    duration: float  # whole seconds
    automated: bool
    sensitive: bool
    distress_at: float | None  # stream time the distress cue is raised (None: never)
    distress_s: float  # seconds it is active
    calmer: bool  # a distressed caller calms down before the end
    other_cue: CueKind | None  # an agent cue of the call, besides distress
    verdicts: tuple[str, ...]  # the verdicts given on its cues, in cue order
    handoffs: tuple[HandoffReason, ...]

    @property
    def end(self) -> float:
        return self.start + self.duration


def plan(day: datetime.date, calls: int, seed: int) -> list[Planned]:
    rng = random.Random(seed)
    midnight = datetime.datetime.combine(day, datetime.time(), datetime.timezone.utc).timestamp()
    planned = []
    for n in range(calls):
        duration = float(rng.randint(180, 480))  # a calmed caller has a minute of calm
        # Ends spread over the eight hours, so each hour has its calls.
        end = midnight + 3600 * FIRST_HOUR + (n + rng.random()) * HOURS * 3600 / calls
        distressed = rng.random() < 0.4
        calmer = distressed and rng.random() < 0.7
        distress_at = float(rng.randint(30, 60)) if distressed else None
        # A caller who calms is distressed for a while; one who does not, until the end.
        distress_s = 0.0
        if distress_at is not None:
            distress_s = float(rng.randint(20, 60)) if calmer else duration - distress_at
        sensitive = distressed or rng.random() < 0.2
        automated = rng.random() < 0.25
        other_cue = rng.choice([None, None, CueKind.AGENT_SPEAKING_FAST, CueKind.LONG_SILENCE])
        cues = int(distressed) + int(other_cue is not None)
        verdicts = tuple(
            "right" if rng.random() < 0.7 else "wrong" for _ in range(cues) if rng.random() < 0.6
        )
        handoffs: tuple[HandoffReason, ...] = ()
        if automated:
            reasons = [HandoffReason.DISTRESSED] if distressed else []
            reasons += [HandoffReason.SENSITIVE] if sensitive else []
            if rng.random() < 0.5:
                reasons.append(rng.choice([HandoffReason.ASKED, HandoffReason.BOT_FAILING]))
            handoffs = tuple(reasons)
        planned.append(
            Planned(
                call_id=f"day-{n + 1:03d}",
                team=TEAMS[n % len(TEAMS)],
                agent_id=f"a{n % 12 + 1}",
                start=end - duration,
                duration=duration,
                automated=automated,
                sensitive=sensitive,
                distress_at=distress_at,
                distress_s=distress_s,
                calmer=calmer,
                other_cue=other_cue,
                verdicts=verdicts,
                handoffs=handoffs,
            )
        )
    return planned


def events(call: Planned, seed: int) -> list[Event]:
    """The call's events in stream-time order, its summary the pipeline's own, before the end."""
    rng = random.Random(f"{seed}/{call.call_id}")
    channels = (Role.CALLER,) if call.automated else (Role.CALLER, Role.AGENT)
    out: list[Event] = [CallStarted(stream_time=0.0, channels=channels, automated=call.automated)]
    distress_end = (call.distress_at or 0.0) + call.distress_s
    t = READING
    while t <= call.duration:
        active = call.distress_at is not None and call.distress_at - READING < t <= distress_end
        distress = DISTRESSED if active else CALM
        distress = min(1.0, max(0.0, distress + rng.uniform(-0.05, 0.05)))
        probs = (("neutral", round(1 - distress, 3)), ("angry", round(distress, 3)))
        out.append(
            VoiceEmotion(
                stream_time=t, role=Role.CALLER, start=t - READING, end=t, probs=probs,
                distress=distress, arousal=distress,
            )
        )  # fmt: skip
        t += READING
    # Turns of about 10 s, the agent first; their words only for the agent's pace.
    t, utterance = 1.0, 0
    while t + 10 < call.duration:
        role = Role.AGENT if utterance % 2 == 0 else Role.CALLER
        length = rng.uniform(4, 9)
        if role in channels:
            out.append(SpeechEnded(stream_time=t + length, role=role, utterance=utterance,
                                   start=t, end=t + length))  # fmt: skip
        if role is Role.AGENT and role in channels:
            words = " ".join(["word"] * round(length * 2.5))
            out.append(
                TranscriptFinal(
                    stream_time=t + length, role=role, utterance=utterance, text=words,
                    start=t, end=t + length, confidence=0.9, reason=FinalReason.PAUSE,
                )
            )  # fmt: skip
        t += length + 1.5
        utterance += 1
    topics = SENSITIVE_TOPICS if call.sensitive else ROUTINE_TOPICS
    label = TriageLabel.SENSITIVE if call.sensitive else TriageLabel.ROUTINE
    topic = "distress" if call.distress_at is not None else rng.choice(topics[:-1])
    triage_at = min(20.0, call.duration)
    out.append(CallTriage(stream_time=triage_at, label=label, topic=topic, score=0.8))
    cue_id = 0
    if call.distress_at is not None:
        cue_id += 1
        level = CueLevel.HIGH if call.distress_s > 45 else CueLevel.ELEVATED
        out.append(_raised(call.distress_at, CueKind.CALLER_DISTRESSED, cue_id, level, Role.CALLER))
        out.append(CueCleared(stream_time=distress_end, cue=CueKind.CALLER_DISTRESSED,
                              cue_id=cue_id, duration=call.distress_s))  # fmt: skip
    if call.other_cue is not None:
        cue_id += 1
        at = call.duration / 2
        out.append(_raised(at, call.other_cue, cue_id, CueLevel.NOTICE, None))
        out.append(CueCleared(stream_time=at + 8, cue=call.other_cue, cue_id=cue_id, duration=8.0))
    for n, reason in enumerate(call.handoffs):
        out.append(
            HandoffRecommended(
                stream_time=(call.distress_at or 30.0) + 1 + n, reason=reason,
                summary="Scripted hand-off", triage=label.value, topic=topic,
            )
        )  # fmt: skip
    out.sort(key=lambda e: e.stream_time)
    summarizer = Summarizer(SummaryOptions())
    for event in out:
        summarizer.feed(event)
    summary = summarizer.summary(call.duration)
    assert summary is not None
    return [*out, summary, CallEnded(stream_time=call.duration, duration=call.duration)]


def _raised(t: float, kind: CueKind, cue_id: int, level: CueLevel, role: Role | None) -> CueRaised:
    return CueRaised(
        stream_time=t, role=role, cue=kind, cue_id=cue_id, level=level, score=0.7,
        evidence=("raised voice",) if role else (), message=f"Scripted {kind.value}",
    )  # fmt: skip


def scripted_day(
    day: datetime.date, *, calls: int = 40, seed: int = 17
) -> tuple[list[str], list[Planned]]:
    """The event log lines of a scripted day, and its plan."""
    planned = plan(day, calls, seed)
    lines: list[str] = []
    now = [0.0]
    hub = Hub(
        PrivacyOptions(share=Share.CUES), record=lines.append, clock=lambda: now[0], linger=1e9
    )
    agent = Principal(name="scripted", role=None)

    def timeline() -> Iterator[tuple[float, int, str, Event | dict[str, object]]]:
        for order, call in enumerate(planned):
            stream = events(call, seed)
            for seq, event in enumerate(stream, 1):
                wall = call.start + event.stream_time
                stamped = dataclasses.replace(
                    event, call_id=CallId(call.call_id), seq=seq, wall_time=wall
                )
                yield wall, order, call.call_id, stamped
            cue_ids = [e.cue_id for e in stream if isinstance(e, CueCleared)]
            for cue_id, verdict in zip(cue_ids, call.verdicts, strict=False):
                # Given after the call: on the panel's "Earlier in this call".
                feedback = {"call_id": call.call_id, "cue_id": cue_id, "verdict": verdict}
                yield call.end + 5 + cue_id, order, call.call_id, feedback

    calls_by_id = {c.call_id: c for c in planned}
    for wall, _, call_id, item in sorted(timeline(), key=lambda x: x[:2]):
        now[0] = wall
        if isinstance(item, dict):
            hub.record_feedback(agent, item)
            continue
        if isinstance(item, CallStarted):
            call = calls_by_id[call_id]
            meta = CallMeta(call_id, call.agent_id, call.team, "scripted", call.start,
                            automated=call.automated)  # fmt: skip
            hub.open_call(meta)
        hub.publish(call_id, item)
    return lines, planned


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="where to write events-DAY.jsonl")
    day = datetime.date.fromisoformat
    parser.add_argument("--day", type=day, default=datetime.date(2026, 3, 2))
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args(argv)
    lines, planned = scripted_day(args.day, calls=args.calls, seed=args.seed)
    args.folder.mkdir(parents=True, exist_ok=True)
    path = args.folder / f"events-{args.day.isoformat()}.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    print(f"wrote {len(planned)} calls, {len(lines)} lines to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
