"""Measure the call triage (routine or sensitive, and the topic): the figures of models/triage.md.

    python scripts/eval_triage.py                     # the figures of models/triage.md
    python scripts/eval_triage.py --tune-errors       # while tuning: the tune split's errors
    python scripts/eval_triage.py --json report.json  # also the figures as JSON

**The labelled set** (``scripts/data/triage_set.csv``, written by
``scripts/data/make_triage_set.py``): each line is a caller's opening. It goes
through the text model as a live call's caller final does
(:class:`edge.adapters.text.MiniLmTextScorer`, the triage head on the sentence
embedding), then through :class:`edge.stages.triage.TriageWatch`, the object a
live call runs, as the call's first final and its ``emotion.text`` event; the
``call.triage`` it sends is the line's triage. Rule: tune on ``tune`` only;
held-out errors are never printed.

**Whole ordinary calls**: the caller's side of each calm routine call of
``scripts/data/ordinary_calls.csv`` (bookings, refills, results, billing, …),
final after final through one watch: a call that ends sensitive is a false
hand-off to a person (the cost of the low opening threshold and ``later_at``).

**Distressed clinic lines** (label 1 of ``scripts/data/healthcare_distress.csv``,
both splits; written for the distress model, not for triage): the share read
sensitive as an opening, a check on phrasings the set's authors did not write.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.contracts import TextScore
from edge.events import CallTriage, Event, FinalReason, TextEmotion, TranscriptFinal, TriageLabel
from edge.stages.triage import OTHER, ROUTINE_TOPICS, TOPICS, TriageOptions, TriageWatch
from edge.types import Role

ROOT = Path(__file__).resolve().parents[1]
SET = ROOT / "scripts" / "data" / "triage_set.csv"
DATA = ROOT / "scripts" / "data"
TARGET_RECALL = 0.95  # of sensitive calls (issue 17)


@dataclass(frozen=True)
class Line:
    text: str
    label: TriageLabel | None  # None: call-handling talk ("other"), which decides nothing
    topic: str
    split: str

    @property
    def asr(self) -> bool:
        """The lower-case, unpunctuated form of a line (as a caption reads)."""
        return self.text == self.text.lower() and not any(c in self.text for c in ".,?!")


def load(path: Path = SET) -> list[Line]:
    with path.open(newline="") as f:
        lines = [
            Line(
                row["text"],
                None if row["label"] == OTHER else TriageLabel(row["label"]),
                row["topic"],
                row["split"],
            )
            for row in csv.DictReader(f)
        ]
    for line in lines:
        if line.label is None:
            if line.topic != OTHER:
                raise ValueError(f"{path}: an {OTHER} line has topic {line.topic!r}")
        elif line.topic not in TOPICS or (line.topic in ROUTINE_TOPICS) != (
            line.label is TriageLabel.ROUTINE
        ):
            raise ValueError(f"{path}: topic {line.topic!r} is not a {line.label} topic")
    return lines


def readings(texts: list[str]) -> dict[str, TextScore]:
    """The text model's reading of each distinct text, as a caller's final gets it."""
    from edge.adapters.text import MiniLmTextScorer

    scorer = MiniLmTextScorer.load()
    unique = sorted(set(texts), key=len)  # similar lengths batch well
    out: dict[str, TextScore] = {}
    for i in range(0, len(unique), 32):
        chunk = unique[i : i + 32]
        out.update(zip(chunk, scorer.score(chunk), strict=True))
    return out


def call_events(texts: list[str], scores: dict[str, TextScore]) -> list[Event]:
    """A caller saying ``texts``, one final each, each followed by its text reading."""
    events: list[Event] = []
    for i, text in enumerate(texts):
        at = 3.0 * (i + 1)
        events.append(
            TranscriptFinal(
                stream_time=at,
                role=Role.CALLER,
                utterance=i,
                text=text,
                start=at - 2.5,
                end=at - 0.5,
                confidence=0.9,
                reason=FinalReason.PAUSE,
            )
        )
        s = scores[text]
        events.append(
            TextEmotion(
                stream_time=at + 0.1,
                role=Role.CALLER,
                utterance=i,
                distress=s.distress,
                sentiment=s.sentiment,
                sensitive_p=s.sensitive_p,
                other_p=s.other_p,
                routine_topic=s.routine_topic,
                sensitive_topic=s.sensitive_topic,
            )
        )
    return events


def triage(
    texts: list[str], scores: dict[str, TextScore], options: TriageOptions | None = None
) -> list[CallTriage]:
    """The ``call.triage`` events of a call whose caller says ``texts``."""
    watch = TriageWatch(options or TriageOptions())
    out = []
    for event in call_events(texts, scores):
        out += [e for e in watch.feed(event) if isinstance(e, CallTriage)]
    return out


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 3) if b else None


def scores_of(lines: list[Line], got: dict[str, CallTriage | None]) -> dict[str, Any]:
    """Accuracy, recall and precision of sensitive, topic accuracy; per topic too. An
    ``other`` line is right when it decided nothing."""

    def label(x: Line) -> TriageLabel | None:
        event = got[x.text]
        return event.label if event is not None else None

    sensitive = [x for x in lines if x.label is TriageLabel.SENSITIVE]
    flagged = [x for x in lines if label(x) is TriageLabel.SENSITIVE]
    out: dict[str, Any] = {
        "lines": len(lines),
        "sensitive": len(sensitive),
        "accuracy": _ratio(sum(label(x) is x.label for x in lines), len(lines)),
        "sensitive_recall": _ratio(sum(label(x) is x.label for x in sensitive), len(sensitive)),
        "sensitive_precision": _ratio(
            sum(x.label is TriageLabel.SENSITIVE for x in flagged), len(flagged)
        ),
        "topic_accuracy": _ratio(sum(_topic(got[x.text]) == x.topic for x in lines), len(lines)),
        "other_lines": sum(x.label is None for x in lines),
        "other_sensitive": sum(
            x.label is None and label(x) is TriageLabel.SENSITIVE for x in lines
        ),
    }
    for form, asr in (("written", False), ("asr_form", True)):
        part = [x for x in lines if x.asr is asr]
        out[f"accuracy_{form}"] = _ratio(sum(label(x) is x.label for x in part), len(part))
    out["topics"] = {
        topic: {
            "lines": len(part),
            "label_right": _ratio(sum(label(x) is x.label for x in part), len(part)),
            "topic_right": _ratio(sum(_topic(got[x.text]) == topic for x in part), len(part)),
        }
        for topic in (*TOPICS, OTHER)
        if (part := [x for x in lines if x.topic == topic])
    }
    return out


def _topic(event: CallTriage | None) -> str:
    return event.topic if event is not None else OTHER


def ordinary_calls() -> dict[str, list[str]]:
    """The caller's lines of each calm routine call in ordinary_calls.csv."""
    calls: dict[str, list[str]] = {}
    with (DATA / "ordinary_calls.csv").open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["role"] == "caller":
                calls.setdefault(row["call"], []).append(row["text"])
    return calls


def distressed_lines() -> list[str]:
    with (DATA / "healthcare_distress.csv").open(newline="", encoding="utf-8") as f:
        return [row["text"] for row in csv.DictReader(f) if row["label"] == "1"]


def evaluate(path: Path = SET, options: TriageOptions | None = None) -> dict[str, Any]:
    options = options or TriageOptions()
    lines = load(path)
    calls = ordinary_calls()
    distressed = distressed_lines()
    scores = readings([x.text for x in lines] + [t for c in calls.values() for t in c] + distressed)
    got: dict[str, CallTriage | None] = {}
    for x in lines:
        events = triage([x.text], scores, options)
        got[x.text] = events[-1] if events else None
    report: dict[str, Any] = {
        split: scores_of([x for x in lines if x.split == split], got)
        for split in ("heldout", "tune")
    }
    report["sizes"] = dict(Counter(x.split for x in lines))
    ends = {name: triage(texts, scores, options) for name, texts in calls.items()}
    sensitive = TriageLabel.SENSITIVE
    report["ordinary_calls"] = {
        "calls": len(ends),
        "ended_sensitive": sorted(n for n, e in ends.items() if e and e[-1].label is sensitive),
        "opened_sensitive": sorted(n for n, e in ends.items() if e and e[0].label is sensitive),
        "first_topic": {n: e[0].topic if e else "" for n, e in ends.items()},
        "turned_sensitive_by": {
            n: e[-1].quote[0] for n, e in ends.items() if e and e[-1].label is sensitive
        },
    }
    read = [triage([t], scores, options) for t in distressed]
    decided = [e[-1] for e in read if e]
    report["distressed_lines"] = {
        "lines": len(distressed),
        "read": len(decided),
        "sensitive": _ratio(sum(e.label is TriageLabel.SENSITIVE for e in decided), len(decided)),
    }
    report["options"] = {"sensitive_at": options.sensitive_at, "later_at": options.later_at}
    report["target_recall"] = TARGET_RECALL
    report["_got"] = got
    report["_lines"] = lines
    return report


def tune_errors(report: dict[str, Any]) -> list[str]:
    """The tune split's wrong labels (never the held-out split's)."""
    out = []
    for x in report["_lines"]:
        event = report["_got"][x.text]
        if x.split == "tune" and (event.label if event else None) is not x.label:
            seen = f"{event.label}/{event.topic} {event.score:.2f}" if event else "nothing"
            out.append(f"want {x.label or ''}/{x.topic:16} got {seen:28} {x.text}")
    return out


def _print(report: dict[str, Any]) -> None:
    print(f"lines: {report['sizes']}  options: {report['options']}")
    for split in ("heldout", "tune"):
        r = report[split]
        print(
            f"\n{split}: {r['lines']} lines ({r['sensitive']} sensitive): "
            f"accuracy {r['accuracy']}, sensitive recall {r['sensitive_recall']}, "
            f"precision {r['sensitive_precision']}, "
            f"topic {r['topic_accuracy']}; written {r['accuracy_written']}, "
            f"ASR form {r['accuracy_asr_form']}; {r['other_sensitive']} of {r['other_lines']} "
            "other lines read sensitive"
        )
        for topic, row in r["topics"].items():
            print(
                f"  {topic:16} {row['lines']:4} lines  label {row['label_right']!s:>6}"
                f"  topic {row['topic_right']!s:>6}"
            )
    o = report["ordinary_calls"]
    print(
        f"\nordinary routine calls: {o['calls']}; opened sensitive {o['opened_sensitive']}, "
        f"ended sensitive {o['ended_sensitive']}"
    )
    print(f"  first topics: {o['first_topic']}")
    for name, quote in o["turned_sensitive_by"].items():
        print(f"  {name}: sensitive on {quote!r}")
    d = report["distressed_lines"]
    print(f"distressed clinic lines read as openings: {d['read']}, sensitive {d['sensitive']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--set", type=Path, default=SET, help="the labelled CSV")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--tune-errors", action="store_true", help="print the tune split's errors")
    args = parser.parse_args(argv)
    report = evaluate(args.set)
    _print(report)
    if args.tune_errors:
        print("\ntune errors:")
        print("\n".join(tune_errors(report)) or "  none")
    if args.json:
        plain = {k: v for k, v in report.items() if not k.startswith("_")}
        args.json.write_text(json.dumps(plain, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
