"""Measure the possible_emergency cue's rules: precision and recall, and false cues per hour.

    python scripts/eval_emergency.py                     # the figures of models/emergency.md
    python scripts/eval_emergency.py --tune-errors       # while tuning: the tune split's errors
    python scripts/eval_emergency.py --json report.json  # also the figures as JSON
    python scripts/eval_emergency.py --latency [--live]  # the recorded calls through the models

**The labelled set** (``scripts/data/emergency_set.csv``, written by
``scripts/data/make_emergency_set.py``): each line is read as a caller's
utterance would be, by :class:`edge.stages.emergency.EmergencyWatch`, the
object a live call runs: first as growing partials (every word added, more
often than a live call's partials, so the worst case), then as the final. A
line *raised* the cue when any of them did. Per category, a line counts for the
categories the cue named; overall, a line is an emergency when it has a
category, and caught when the cue was raised at all. Rule: tune on ``tune``
only; held-out errors are never printed.

**False cues per hour of ordinary calls.** Ordinary caller speech: the set's
non-emergency lines, and the reference transcripts of the shared speech data
(``phone/sample.stm``, LibriVox, JFK) and of the bundled sample call. Each text
goes through one watch as a call's caller finals (and partials), one utterance
after another; every distinct ``cue_id`` raised is a false cue. Hours are
words / (150 words a minute x 60), a typical conversational rate.

**Latency** (``--latency``): the short espeak-ng calls of the pipeline test
(``tests/data/emergency``, phone band too) through the real pipeline, as
``edge replay`` runs them (``--live``: paced in real time, as a live call, so
model time counts); seconds of stream time from the end of the phrase to the
first ``possible_emergency``, and whether a partial or the final raised it.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import re
import sys
import tarfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.events import (
    CueKind,
    CueRaised,
    Event,
    FinalReason,
    TextEmotion,
    TranscriptFinal,
    TranscriptPartial,
)
from edge.stages.emergency import Category, EmergencyOptions, EmergencyWatch
from edge.types import Role

ROOT = Path(__file__).resolve().parents[1]
SET = ROOT / "scripts" / "data" / "emergency_set.csv"
SHARED_DATA = Path(os.environ.get("EDGE_DATA", ROOT.parent / "shared" / "data"))
WORDS_PER_MINUTE = 150
WORD_SECONDS = 60 / WORDS_PER_MINUTE
HUTTO_FILES = ("tweets", "movieReviewSnippets", "amazonReviewSnippets", "nytEditorialSnippets")
TARGET_RECALL, TARGET_PRECISION = 0.95, 0.9


@dataclass(frozen=True)
class Line:
    text: str
    categories: frozenset[Category]
    split: str


def load(path: Path = SET) -> list[Line]:
    with path.open(newline="") as f:
        return [
            Line(
                row["text"],
                frozenset(Category(c) for c in row["category"].split("|") if c and c != "none"),
                row["split"],
            )
            for row in csv.DictReader(f)
        ]


def utterance_events(text: str, utterance: int, start: float) -> Iterator[Event]:
    """A caller saying ``text`` from ``start``: a partial after every word, then the final."""
    words = text.split()
    for n in range(1, len(words) + 1):
        yield TranscriptPartial(
            stream_time=start + n * WORD_SECONDS,
            role=Role.CALLER,
            utterance=utterance,
            text=" ".join(words[:n]),
            stable="",
            start=start,
            end=start + n * WORD_SECONDS,
        )
    end = start + len(words) * WORD_SECONDS
    yield TranscriptFinal(
        stream_time=end + 0.5,
        role=Role.CALLER,
        utterance=utterance,
        text=text,
        start=start,
        end=end,
        confidence=0.9,
        reason=FinalReason.PAUSE,
    )


Readings = dict[str, tuple[str, float]]


def head_readings(texts: list[str]) -> Readings:
    """The text model's emergency reading (category, probability) of each distinct text,
    as the text adapter gives it for a caller's final."""
    from edge.adapters.text import MiniLmTextScorer

    scorer = MiniLmTextScorer.load()
    unique = sorted(set(texts), key=len)  # similar lengths batch well
    out: Readings = {}
    for i in range(0, len(unique), 32):
        chunk = unique[i : i + 32]
        for text, score in zip(chunk, scorer.score(chunk), strict=True):
            out[text] = (score.emergency, score.emergency_p)
    return out


def cues_of(
    texts: list[str], options: EmergencyOptions | None = None, readings: Readings | None = None
) -> list[list[CueRaised]]:
    """The ``cue.raised`` events (new or re-sent) during each utterance of a call whose
    caller says ``texts``, one utterance each. With ``readings``, each final is followed
    by its ``emotion.text`` event carrying the emergency head's reading, as in a call."""
    ids = iter(range(1, 1_000_000))
    watch = EmergencyWatch(options or EmergencyOptions(), lambda: next(ids))
    raised: list[list[CueRaised]] = []
    now = 0.0
    for i, text in enumerate(texts):
        raised.append([])
        for event in utterance_events(text, i, now):
            out = watch.tick(event.stream_time) + watch.feed(event)
            if readings is not None and isinstance(event, TranscriptFinal):
                category, p = readings[text]
                reading = TextEmotion(
                    stream_time=event.stream_time,
                    role=Role.CALLER,
                    utterance=i,
                    distress=0.0,
                    sentiment=0.0,
                    emergency=category,
                    emergency_p=p,
                )
                out += watch.feed(reading)
            raised[-1] += [e for e in out if isinstance(e, CueRaised)]
            now = event.stream_time
        now += 1.0
    assert all(c.cue is CueKind.POSSIBLE_EMERGENCY for cues in raised for c in cues)
    return raised


def named(text: str, readings: Readings | None = None) -> frozenset[Category]:
    """The categories the cue named for one utterance (empty: no cue); rules only
    unless ``readings`` gives the emergency head's."""
    by_plain = {c.plain: c for c in Category}
    cues = cues_of([text], readings=readings)[0]
    return frozenset(by_plain[e] for cue in cues for e in cue.evidence)


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 3) if b else None


def scores(lines: list[Line], found: dict[str, frozenset[Category]]) -> dict[str, Any]:
    """Precision and recall per category and overall (cue raised or not)."""
    out: dict[str, Any] = {}
    for c in Category:
        tp = sum(1 for x in lines if c in x.categories and c in found[x.text])
        fn = sum(1 for x in lines if c in x.categories and c not in found[x.text])
        fp = sum(1 for x in lines if c not in x.categories and c in found[x.text])
        out[c.value] = {
            "lines": tp + fn,
            "precision": _ratio(tp, tp + fp),
            "recall": _ratio(tp, tp + fn),
        }
    tp = sum(1 for x in lines if x.categories and found[x.text])
    fn = sum(1 for x in lines if x.categories and not found[x.text])
    fp = sum(1 for x in lines if not x.categories and found[x.text])
    out["overall"] = {
        "lines": len(lines),
        "emergencies": tp + fn,
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "false_cues": fp,
    }
    return out


def ordinary_texts() -> dict[str, list[str]]:
    """Ordinary call speech, source -> utterances: none of it describes an emergency."""
    with (ROOT / "scripts" / "data" / "healthcare_distress.csv").open(newline="") as f:
        calm = [row["text"] for row in csv.DictReader(f) if row["label"] == "0"]
    texts: dict[str, list[str]] = {"clinic talk (healthcare_distress.csv, calm)": calm}
    speech = SHARED_DATA / "speech"
    stm = speech / "phone" / "sample.stm"
    if stm.exists():
        texts["phone/sample.stm"] = [
            " ".join(line.split()[5:]) for line in stm.read_text().splitlines() if line.strip()
        ]
    librivox = speech / "librivox" / "transcription"
    if librivox.exists():
        texts["librivox"] = re.findall(r"<s> (.*?) </s>", librivox.read_text())
    jfk = speech / "jfk.txt"
    if jfk.exists():
        texts["jfk"] = [jfk.read_text().strip()]
    sample = ROOT / "edge" / "assets" / "sample_call.json"
    texts["sample call (both sides)"] = [t["text"] for t in json.loads(sample.read_text())["turns"]]
    return texts


def hutto_texts() -> list[str]:
    """General English (tweets, reviews, news): far from a clinic call, rich in idioms."""
    path = SHARED_DATA / "text" / "hutto_ICWSM_2014.tar.gz"
    if not path.is_file():
        return []
    texts = []
    with tarfile.open(path) as tar:
        for name in (
            "tweets",
            "movieReviewSnippets",
            "amazonReviewSnippets",
            "nytEditorialSnippets",
        ):
            member = tar.extractfile(f"hutto_ICWSM_2014/{name}_GroundTruth.txt")
            assert member is not None
            for line in member.read().decode("utf-8", errors="replace").splitlines():
                if line.strip():
                    texts.append(line.split("\t", 2)[2].strip())
    return texts


def false_cues(sources: dict[str, list[str]], head: bool = True) -> dict[str, Any]:
    """Cues raised or re-sent in speech that describes no emergency, per hour of it.

    Each utterance that raised or re-sent the cue counts as one false cue (an
    agent would see the cue again), so several in one call count several times.
    """
    rows = {}
    words = cues = 0
    for source, texts in sources.items():
        n = sum(len(t.split()) for t in texts)
        readings = head_readings(texts) if head else None
        k = sum(1 for raised in cues_of(texts, readings=readings) if raised)
        rows[source] = {"utterances": len(texts), "words": n, "false_cues": k}
        words, cues = words + n, cues + k
    hours = words / (WORDS_PER_MINUTE * 60)
    return {
        "sources": rows,
        "words": words,
        "hours": round(hours, 3),
        "false_cues": cues,
        "false_cues_per_hour": round(cues / hours, 2) if hours else None,
        "words_per_minute": WORDS_PER_MINUTE,
    }


def evaluate(path: Path = SET, *, general: bool = True, head: bool = True) -> dict[str, Any]:
    """The figures; with ``head``, the rules and the text model's emergency head (as a
    call runs them), else the rules alone."""
    lines = load(path)
    readings = head_readings([x.text for x in lines]) if head else None
    found = {x.text: named(x.text, readings) for x in lines}
    report: dict[str, Any] = {
        split: scores([x for x in lines if x.split == split], found)
        for split in ("tune", "heldout")
    }
    report["sizes"] = dict(Counter(x.split for x in lines))
    report["head"] = head
    report["ordinary"] = false_cues(ordinary_texts(), head)
    report["hard_negatives"] = false_cues(
        {
            split: [x.text for x in lines if not x.categories and x.split == split]
            for split in ("tune", "heldout")
        },
        head,
    )
    if general:
        general_text = {"hutto (tweets, reviews, news)": hutto_texts()}
        report["general_text"] = false_cues(general_text, head)
    report["targets"] = {"recall": TARGET_RECALL, "precision": TARGET_PRECISION}
    report["_found"] = found
    report["_lines"] = lines
    return report


def tune_errors(report: dict[str, Any]) -> list[str]:
    """The tune split's misses and false cues (never the held-out split's)."""
    out = []
    for x in report["_lines"]:
        if x.split != "tune":
            continue
        got = report["_found"][x.text]
        if got != x.categories:
            want = "|".join(sorted(c.value for c in x.categories)) or "none"
            seen = "|".join(sorted(c.value for c in got)) or "none"
            out.append(f"want {want:24} got {seen:24} {x.text}")
    return out


def latency(*, live: bool = False, partial_interval: float | None = None) -> list[dict[str, Any]]:
    """The recorded calls through the real models: when the cue came after the phrase."""
    import asyncio

    from edge.audio.frames import parse_channel_map
    from edge.audio.sources import FileSource
    from edge.pipeline.call import replay
    from edge.pipeline.engine import Engine
    from edge.pipeline.options import PipelineOptions
    from edge.types import CallId

    folder = ROOT / "tests" / "data" / "emergency"
    options = PipelineOptions()
    if partial_interval is not None:
        stream = dataclasses.replace(options.stream, partial_interval=partial_interval)
        options = dataclasses.replace(options, stream=stream)
    engine = Engine.load(options)

    async def run(path: Path) -> list[Event]:
        source = FileSource(path, parse_channel_map("caller"))
        return [e async for e in replay(engine, source, call_id=CallId("x"), realtime=live)]

    rows = []
    try:
        for call in json.loads((folder / "calls.json").read_text()):
            events = asyncio.run(run(folder / call["file"]))
            cues = [
                e
                for e in events
                if isinstance(e, CueRaised) and e.cue is CueKind.POSSIBLE_EMERGENCY
            ]
            finals = [e for e in events if isinstance(e, TranscriptFinal)]
            first = cues[0] if cues else None
            by_final = first is not None and any(
                f.stream_time == first.stream_time and first.quote[0] in f.text for f in finals
            )
            rows.append(
                {
                    "call": call["file"],
                    "emergency": call["emergency"],
                    "cue": first is not None,
                    "latency": round(first.stream_time - call["phrase_end"], 2) if first else None,
                    "from": None if first is None else "final" if by_final else "partial",
                    "partial_interval": options.stream.partial_interval,
                }
            )
    finally:
        engine.close()
    return rows


def _print(report: dict[str, Any]) -> None:
    print(f"lines: {report['sizes']}")
    for split in ("heldout", "tune"):
        print(f"\n{split}: precision / recall (lines)")
        for name, row in report[split].items():
            n = row["lines"] if name != "overall" else row["emergencies"]
            print(f"  {name:14} {row['precision']!s:>6} / {row['recall']!s:>6}  ({n})")
    for key, title in (
        ("ordinary", "ordinary call speech"),
        ("hard_negatives", "the set's non-emergency lines (hard negatives)"),
        ("general_text", "general English text"),
    ):
        if key not in report:
            continue
        o = report[key]
        print(f"\n{title} ({o['words_per_minute']} words a minute):")
        for source, row in o["sources"].items():
            print(f"  {source:44} {row['words']:7} words  {row['false_cues']:4} false cues")
        print(
            f"  {o['false_cues']} in {o['hours']} h: {o['false_cues_per_hour']} false cues an hour"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--set", type=Path, default=SET, help="the labelled CSV")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--tune-errors", action="store_true", help="print the tune split's errors")
    parser.add_argument(
        "--latency", action="store_true", help="time the recorded calls through the models"
    )
    parser.add_argument("--live", action="store_true", help="with --latency: in real time")
    parser.add_argument(
        "--partial-interval", type=float, metavar="S", help="with --latency: this partial cadence"
    )
    parser.add_argument(
        "--rules-only", action="store_true", help="without the text model's emergency head"
    )
    args = parser.parse_args(argv)
    if args.latency:
        print(f"latency after the phrase's end ({'live' if args.live else 'replay'}):")
        for row in latency(live=args.live, partial_interval=args.partial_interval):
            print(f"  {row}")
        return 0
    report = evaluate(args.set, head=not args.rules_only)
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
