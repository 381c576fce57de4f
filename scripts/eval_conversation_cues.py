"""Measure caller_confused and agent_jargon: precision and recall on labelled lines, and
false cues per hour of ordinary conversation.

    python scripts/eval_conversation_cues.py             # the figures, as a table
    python scripts/eval_conversation_cues.py --write     # also into models/conversation_cues.md
    python scripts/eval_conversation_cues.py --json out.json

Offline equals online: every line goes through ``edge.stages.signals.CallSignals``
with the shipped settings, as ``transcript.final`` events of a call, exactly as the
pipeline hands them over; a cue counts when a ``cue.raised`` of the kind comes.

* **Labelled sets** (``scripts/data/confusion_set.csv``, ``jargon_set.csv``):
  each row is one short call: its ``context`` turns ("caller: ..." / "agent: ...",
  " || " between them), then the row's line (a caller's for confusion, the
  agent's for jargon), ``pause`` seconds after the turn before (default 0.6 s).
  Label 1: the line should raise the cue. The rules were written looking at the
  ``tune`` rows only; ``heldout`` rows were written at the same time and not
  looked at through the rules until the figures below.
* **Ordinary conversation**: ``scripts/data/ordinary_calls.csv`` (calm calls,
  plain words), the caller sentences of ``scripts/data/healthcare_distress.csv``
  labelled not distressed (written for the text model, not for these rules), and
  the transcripts in ``$EDGE_DATA/speech`` (the phone sample, LibriVox, JFK). Each
  is run with its lines as the caller's and again as the agent's, so every word is
  heard by both watchers; every cue there is false.
* **Background text** (``--background``): the 23,703 hutto sentences (tweets,
  reviews, editorials; ``$EDGE_DATA/text``), not conversation but ten times the
  volume, run the same way: how often the phrases fire in ordinary English.

Hours: ``WORDS_PER_HOUR`` words make one hour of conversation (150 words a
minute, both sides together, a typical telephone rate).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.events import CueKind, CueRaised, Event, FinalReason, TranscriptFinal
from edge.pipeline.options import PipelineOptions
from edge.stages.signals import CallSignals
from edge.types import Role

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "scripts" / "data"
CARD = ROOT / "models" / "conversation_cues.md"
WORDS_PER_HOUR = 9000
WORDS_PER_SECOND = 2.5  # how long a line takes to say
GAP = 0.6  # seconds between turns
HUTTO = ("amazonReviewSnippets", "movieReviewSnippets", "nytEditorialSnippets", "tweets")
TARGET_PER_HOUR = 1.0
# Calm lines of healthcare_distress.csv that ask to hear it again: by issue 14's own
# examples a caller_confused sign, so not "ordinary conversation" for this measure.
NOT_ORDINARY = frozenset(
    {
        "Sorry, could you repeat that? The line's a bit crackly.",
        "Can you say that again?",
        "Sorry, I didn't catch that.",
    }
)

Turn = tuple[Role, str, float]  # who, what, pause before it


def data_dir() -> Path:
    return Path(os.environ.get("EDGE_DATA", ROOT.parent / "shared" / "data"))


def run_call(turns: Iterable[Turn]) -> list[CueRaised]:
    """The turns as one call through CallSignals; the first cue.raised of each cue."""
    options = PipelineOptions()
    signals = CallSignals(
        options.conversation, options.cues, jargon=options.jargon, confusion=options.confusion
    )
    now, events = 0.0, []
    for n, (role, text, pause) in enumerate(turns):
        start = now + pause
        end = start + max(1.0, len(text.split()) / WORDS_PER_SECOND)
        final = TranscriptFinal(
            stream_time=end + 0.5,
            role=role,
            utterance=n,
            text=text,
            start=start,
            end=end,
            confidence=0.9,
            reason=FinalReason.PAUSE,
        )
        events += signals.tick(final.stream_time) + signals.observe(final)
        now = end
    events += signals.flush(now + 1.0)
    return _first_raises(events)


def _first_raises(events: list[Event]) -> list[CueRaised]:
    seen: set[int] = set()
    out = []
    for e in events:
        if isinstance(e, CueRaised) and e.cue_id not in seen:
            seen.add(e.cue_id)
            out.append(e)
    return out


# -- labelled sets ---------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    text: str
    label: int
    split: str
    kind: str
    context: str
    pause: float


def read_set(name: str) -> list[Row]:
    with (DATA / name).open(newline="", encoding="utf-8") as f:
        return [
            Row(
                r["text"],
                int(r["label"]),
                r["split"],
                r["kind"],
                r.get("context", ""),
                float(r.get("pause") or GAP),
            )
            for r in csv.DictReader(f)
        ]


def _context(text: str) -> list[Turn]:
    turns = []
    for part in filter(None, (p.strip() for p in text.split("||"))):
        who, said = part.split(":", 1)
        turns.append((Role(who.strip()), said.strip(), GAP))
    return turns


def raises(row: Row, role: Role, kind: CueKind) -> bool:
    """Does the row's line, after its context, raise a cue of ``kind``?"""
    context = _context(row.context)
    before = {c.cue_id for c in run_call(context) if c.cue is kind}
    cues = run_call([*context, (role, row.text, row.pause)])
    return any(c.cue is kind and c.cue_id not in before for c in cues)


def scores(rows: list[Row], role: Role, kind: CueKind) -> dict[str, Any]:
    """Precision, recall and the rows each rule got wrong."""
    said = [(row, raises(row, role, kind)) for row in rows]
    tp = sum(1 for row, hit in said if hit and row.label)
    fp = [row.text for row, hit in said if hit and not row.label]
    fn = [row.text for row, hit in said if not hit and row.label]
    positives = sum(row.label for row in rows)
    return {
        "lines": len(rows),
        "positives": positives,
        "precision": round(tp / (tp + len(fp)), 3) if tp + len(fp) else None,
        "recall": round(tp / positives, 3) if positives else None,
        "false_positives": fp,
        "misses": fn,
    }


# -- ordinary conversation ---------------------------------------------------------


def ordinary_calls() -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """(source, [(speaker, line), ...]) for every ordinary conversation."""
    calls: dict[str, list[tuple[str, str]]] = {}
    with (DATA / "ordinary_calls.csv").open(newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            calls.setdefault(r["call"], []).append((r["role"], r["text"]))
    for lines in calls.values():
        yield "ordinary_calls.csv", lines
    with (DATA / "healthcare_distress.csv").open(newline="", encoding="utf-8") as f:
        rows = csv.DictReader(f)
        calm = [r["text"] for r in rows if r["label"] == "0" and r["text"] not in NOT_ORDINARY]
    for i in range(0, len(calm), 20):
        yield "healthcare_distress.csv (not distressed)", [("one", t) for t in calm[i : i + 20]]
    speech = data_dir() / "speech"
    stm = speech / "phone" / "sample.stm"
    if stm.is_file():
        lines = [line.split(None, 5) for line in stm.read_text().splitlines() if line.strip()]
        yield "speech/phone/sample.stm", [(p[2], p[5]) for p in lines if len(p) == 6]
    libri = speech / "librivox" / "transcription"
    if libri.is_file():
        lines = libri.read_text().splitlines()
        said = [re.sub(r"</?s>|\(.*\)", "", line).strip() for line in lines]
        yield "speech/librivox", [("one", s) for s in said if s]
    jfk = speech / "jfk.txt"
    if jfk.is_file():
        yield "speech/jfk.txt", [("one", jfk.read_text().strip())]


def background() -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """The hutto sentences, 50 to a call."""
    path = data_dir() / "text" / "hutto_ICWSM_2014.tar.gz"
    if not path.is_file():
        sys.exit(f"{path} not found; set EDGE_DATA to the folder holding text/")
    with tarfile.open(path) as tar:
        for name in HUTTO:
            member = tar.extractfile(f"hutto_ICWSM_2014/{name}_GroundTruth.txt")
            assert member is not None
            texts = [
                line.split("\t", 2)[2].strip()
                for line in member.read().decode("utf-8", errors="replace").splitlines()
                if line.count("\t") >= 2
            ]
            for i in range(0, len(texts), 50):
                yield f"hutto {name}", [("one", t) for t in texts[i : i + 50]]


def false_cues(calls: Iterable[tuple[str, list[tuple[str, str]]]]) -> dict[str, Any]:
    """Run each conversation twice (its first speaker as the caller, then as the agent);
    every cue is false. Words count once per run."""
    counts = {CueKind.CALLER_CONFUSED: 0, CueKind.AGENT_JARGON: 0}
    examples: dict[str, list[str]] = {k.value: [] for k in counts}
    words = 0
    for _, lines in calls:
        speakers = list(dict.fromkeys(s for s, _ in lines))
        for first in (Role.CALLER, Role.AGENT):
            other = Role.AGENT if first is Role.CALLER else Role.CALLER
            roles = {s: (first if s == speakers[0] else other) for s in speakers}
            turns = [(roles[s], text, GAP) for s, text in lines]
            words += sum(len(text.split()) for _, text, _ in turns)
            for cue in run_call(turns):
                if cue.cue in counts:
                    counts[cue.cue] += 1
                    examples[cue.cue.value].append(" / ".join(cue.quote))
    hours = words / WORDS_PER_HOUR
    return {
        "words": words,
        "hours": round(hours, 3),
        **{
            k.value: {"false": n, "per_hour": round(n / hours, 2) if hours else None}
            for k, n in counts.items()
        },
        "examples": examples,
    }


# -- report ----------------------------------------------------------------------


def measure(*, with_background: bool = False) -> dict[str, Any]:
    """Every figure of the model card."""
    confusion, jargon = read_set("confusion_set.csv"), read_set("jargon_set.csv")
    out: dict[str, Any] = {}
    for split in ("tune", "heldout"):
        out[f"confusion_{split}"] = scores(
            [r for r in confusion if r.split == split], Role.CALLER, CueKind.CALLER_CONFUSED
        )
        out[f"jargon_{split}"] = scores(
            [r for r in jargon if r.split == split], Role.AGENT, CueKind.AGENT_JARGON
        )
    out["ordinary"] = false_cues(ordinary_calls())
    if with_background:
        out["background"] = false_cues(background())
    return out


def table(figures: dict[str, Any]) -> str:
    rows = [
        "| set | lines (positive) | precision | recall |",
        "|---|---|---|---|",
    ]
    for kind in ("confusion", "jargon"):
        for split in ("tune", "heldout"):
            f = figures[f"{kind}_{split}"]
            name = "caller_confused" if kind == "confusion" else "agent_jargon"
            rows.append(
                f"| {name}, {split} | {f['lines']} ({f['positives']}) | "
                f"{f['precision']} | {f['recall']} |"
            )
    rows += [
        "",
        "| conversation | words | hours | false caller_confused (per hour) "
        "| false agent_jargon (per hour) |",
        "|---|---|---|---|---|",
    ]
    for key, name in (("ordinary", "ordinary calls and transcripts"), ("background", "hutto")):
        if key in figures:
            f = figures[key]
            c, j = f["caller_confused"], f["agent_jargon"]
            rows.append(
                f"| {name} | {f['words']} | {f['hours']} | {c['false']} ({c['per_hour']}) | "
                f"{j['false']} ({j['per_hour']}) |"
            )
    return "\n".join(rows) + "\n"


def write_card(figures: dict[str, Any]) -> None:
    text = CARD.read_text()
    start, end = "<!-- figures:start -->\n", "<!-- figures:end -->"
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    CARD.write_text(head + start + table(figures) + end + tail)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--background", action="store_true", help="also run the hutto text")
    parser.add_argument("--write", action="store_true", help="write the figures into the card")
    parser.add_argument("--json", type=Path, help="write every figure (and errors) here")
    args = parser.parse_args()
    figures = measure(with_background=args.background)
    print(table(figures))
    for key in ("confusion_heldout", "jargon_heldout"):
        print(f"{key}: false positives {figures[key]['false_positives']}")
        print(f"{key}: misses {figures[key]['misses']}")
    for key in ("ordinary", "background"):
        if key in figures:
            print(f"{key}: cues {figures[key]['examples']}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    if args.write:
        write_card(figures)


if __name__ == "__main__":
    main()
