"""Measure PHI redaction as a live call meets it: recall on a labelled set, false positives, cost.

    python scripts/eval_redaction.py                      # tests/data/phi/phi_set.jsonl
    python scripts/eval_redaction.py --json report.json   # also the figures as JSON

Each item of the set (see tests/data/phi/make_phi_set.py) is one stretch of a
call: its utterances, each a run of growing partials and then a final, are
published in order through the service's hub (``edge.server.hub.Hub``, default
``[privacy]`` settings), so they pass the same per-call redaction context a
live call does, and what a subscriber receives is read back. An identifier is
*masked* when no character of it survives in any event that left: partials
(text and stable) and finals (text and words). Recall is the share of the
set's identifiers masked in every partial, in every final, and in both, per
kind. Clinical items hold no identifier: a final that comes back changed is a
false positive; a partial that was masked for a moment is counted apart
(a trailing number is masked until it is known not to be PHI). The cost is the
time of the privacy step (``Privacy.share``) per transcript event.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.events import Event, FinalReason, TranscriptFinal, TranscriptPartial, Word
from edge.server.auth import OPEN
from edge.server.hub import Hub, Subscription, View
from edge.server.options import PrivacyOptions
from edge.server.outbox import Outbox
from edge.server.summary import CallMeta
from edge.stages.redact import PhiKind
from edge.types import CallId, Role

SET = Path(__file__).resolve().parents[1] / "tests" / "data" / "phi" / "phi_set.jsonl"
WORD_SECONDS = 0.3  # one word said every 0.3 s; utterances 0.6 s apart
_MARK = re.compile(r"\[\[([a-z_]+(?:\.\d+)?):(.*?)\]\]")
_ADDRESS = re.compile(r"\b(?:dot|at|underscore)\b|[@._]")
_TAG = re.compile("|".join(re.escape(k.tag) for k in PhiKind))


@dataclass(frozen=True)
class Labelled:
    """A text with the character spans of its identifiers' pieces: (label, start, end)."""

    text: str
    spans: tuple[tuple[str, int, int], ...]

    @classmethod
    def parse(cls, marked: str) -> Labelled:
        text, spans, pos = "", [], 0
        for m in _MARK.finditer(marked):
            text += marked[pos : m.start()]
            spans.append((m[1], len(text), len(text) + len(m[2])))
            text += m[2]
            pos = m.end()
        return cls(text + marked[pos:], tuple(spans))

    def prefix(self, n: int) -> Labelled:
        """The first ``n`` characters, with the spans cut to them.

        A spoken address cut before its first link ("It's john") is only a name
        so far, which the redactor does not mask: not yet a piece of the address.
        """
        spans = [(lab, s, min(e, n)) for lab, s, e in self.spans if s < n]
        spans = [
            (lab, s, e)
            for lab, s, e in spans
            if not lab.startswith("email") or _ADDRESS.search(self.text[s:e])
        ]
        return Labelled(self.text[:n], tuple(spans))

    def leaked(self, kept: list[tuple[int, int]]) -> set[str]:
        """Labels with a letter or digit in a kept (unredacted) stretch."""
        return {
            lab
            for lab, s, e in self.spans
            for a, b in kept
            if any(c.isalnum() for c in self.text[max(s, a) : min(e, b)])
        }


def kept_stretches(
    original: str, redacted: str, *, cut: bool = False
) -> list[tuple[int, int]] | None:
    """Where ``redacted`` keeps ``original``: the stretches between its tags.

    None when ``redacted`` is not ``original`` with some stretches replaced by
    tags (``cut``: and maybe its end cut off, as a partial's stable may be).
    """
    pieces = _TAG.split(redacted)
    pattern = "(.+?)".join(f"({re.escape(p)})" for p in pieces)
    m = (re.match if cut else re.fullmatch)(pattern, original, re.S)
    if m is None:
        return None
    return [m.span(k) for k in range(1, len(pieces) * 2, 2)]


@dataclass
class Outcome:
    """What left the process for one item."""

    leaked_partial: set[str] = field(default_factory=set)
    leaked_final: set[str] = field(default_factory=set)
    changed_partial: bool = False
    changed_final: bool = False
    samples: list[str] = field(default_factory=list)  # what leaked, as it left


def _partials(utterance: dict[str, Any], final: Labelled) -> list[Labelled]:
    if "partials" in utterance:
        return [Labelled.parse(p) for p in utterance["partials"]]
    ends = [m.end() for m in re.finditer(r"\S+", final.text)]
    return [final.prefix(e) for e in ends]


class Run:
    """The set's items through one hub, one call per item, timing the privacy step."""

    def __init__(self) -> None:
        self.hub = Hub(PrivacyOptions(), resume_events=64)
        self.costs: list[float] = []
        share = self.hub.privacy.share

        def timed(event: Event) -> Event | None:
            t0 = time.perf_counter()
            out = share(event)
            if isinstance(event, TranscriptPartial | TranscriptFinal):
                self.costs.append(time.perf_counter() - t0)
            return out

        self.hub.privacy.share = timed  # type: ignore[method-assign]
        self._seq = 0

    def item(self, item: dict[str, Any]) -> Outcome:
        call_id = CallId(item["id"])
        self.hub.open_call(
            CallMeta(call_id=call_id, agent_id="a", team="t", source="eval", started_at=0.0)
        )
        sub = Subscription(principal=OPEN, view=View.CALL, outbox=Outbox(10_000), call_id=call_id)
        self.hub.attach(sub, {})
        out, t = Outcome(), 0.0
        checked = item.get("check", range(len(item["utterances"])))
        for n, utterance in enumerate(item["utterances"]):
            role = Role(utterance["role"])
            final = Labelled.parse(utterance["final"])
            partials = _partials(utterance, final)
            stable = Labelled("", ())
            for k, partial in enumerate(partials):
                partial_event = TranscriptPartial(
                    stream_time=t + WORD_SECONDS * (k + 1),
                    role=role,
                    utterance=n,
                    text=partial.text,
                    stable=stable.text,
                    start=t,
                    end=t + WORD_SECONDS * (k + 1),
                )
                got = self._publish(call_id, partial_event, sub)
                self._check(got["text"], partial, out.leaked_partial, out.samples)
                self._check(got["stable"], stable, out.leaked_partial, out.samples, cut=True)
                for sent, said in ((got["text"], partial), (got["stable"], stable)):
                    if n in checked and sent != said.text:
                        out.changed_partial = True
                cut = partial.text.rfind(" ")
                stable = partial.prefix(max(cut, 0)) if cut > 0 else Labelled("", ())
            tokens = final.text.split(" ")
            words = tuple(
                Word(w, t + WORD_SECONDS * k, t + WORD_SECONDS * (k + 0.8), 0.9)
                for k, w in enumerate(tokens)
            )
            end = t + WORD_SECONDS * len(tokens)
            event = TranscriptFinal(
                stream_time=end,
                role=role,
                utterance=n,
                text=final.text,
                start=t,
                end=end,
                confidence=0.9,
                reason=FinalReason.PAUSE,
                words=words,
            )
            got = self._publish(call_id, event, sub)
            self._check(got["text"], final, out.leaked_final, out.samples)
            joined = " ".join(w["text"] for w in got["words"])
            out.leaked_final |= self._leaked_words(got["words"], words, final)
            if n in checked and (got["text"] != final.text or joined != final.text):
                out.changed_final = True
            t = end + 2 * WORD_SECONDS
        self.hub.detach(sub)
        return out

    def _publish(self, call_id: CallId, event: Event, sub: Subscription) -> dict[str, Any]:
        self._seq += 1
        self.hub.publish(call_id, dataclasses.replace(event, call_id=call_id, seq=self._seq))
        message = sub.outbox.get_nowait()
        assert message is not None and sub.outbox.get_nowait() is None
        body: dict[str, Any] = json.loads(message)
        return body

    @staticmethod
    def _check(
        sent: str, said: Labelled, leaked: set[str], samples: list[str], *, cut: bool = False
    ) -> None:
        kept = kept_stretches(said.text, sent, cut=cut)
        found = said.leaked(kept) if kept is not None else {lab for lab, _, _ in said.spans}
        if found:
            samples.append(f"{said.text!r} -> {sent!r}")
        leaked |= found

    @staticmethod
    def _leaked_words(
        sent: list[dict[str, Any]], words: tuple[Word, ...], final: Labelled
    ) -> set[str]:
        """Labels of the final's words that came back as themselves (matched by start time)."""
        pos, where = 0, {}
        for w in words:
            where[round(w.start, 6)] = (pos, pos + len(w.text))
            pos += len(w.text) + 1
        kept = [
            where[round(w["start"], 6)]
            for w in sent
            if not _TAG.fullmatch(w["text"]) and round(w["start"], 6) in where
        ]
        return final.leaked(kept)


def _kind(label: str) -> str:
    return label.split(".")[0]


def evaluate(path: Path = SET, *, repeat: int = 3) -> dict[str, Any]:
    """The figures for the set at ``path``; each event's cost is its best of ``repeat`` runs."""
    items = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    costs = []
    for _ in range(repeat - 1):
        again = Run()
        for item in items:
            again.item(item)
        costs.append(again.costs)
    run = Run()
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # n, partial, final, both
    missed: list[dict[str, Any]] = []
    clinical = [0, 0, 0]  # items, finals changed, partials changed
    changed: list[str] = []
    for item in items:
        out = run.item(item)
        if item["group"] == "clinical":
            clinical[0] += 1
            clinical[1] += out.changed_final
            clinical[2] += out.changed_partial
            if out.changed_final:
                changed.append(item["id"])
            continue
        labels = {m[1] for u in item["utterances"] for m in _MARK.finditer(u["final"])}
        for label in labels:
            for key in (_kind(label), "all"):
                row = totals[key]
                row[0] += 1
                row[1] += label not in out.leaked_partial
                row[2] += label not in out.leaked_final
                row[3] += label not in out.leaked_partial | out.leaked_final
            if label in out.leaked_partial | out.leaked_final:
                where = [
                    w
                    for w, s in (("partial", out.leaked_partial), ("final", out.leaked_final))
                    if label in s
                ]
                missed.append(
                    {"id": item["id"], "label": label, "in": where, "sample": out.samples[:1]}
                )
    us = sorted(min(each) * 1e6 for each in zip(run.costs, *costs, strict=True))
    return {
        "items": len(items),
        "recall": {
            kind: {
                "identifiers": n,
                "partials": p / n,
                "finals": f / n,
                "both": b / n,
            }
            for kind, (n, p, f, b) in sorted(totals.items(), key=lambda kv: kv[0] == "all")
        },
        "missed": missed,
        "clinical": {
            "items": clinical[0],
            "finals_changed": clinical[1] / max(clinical[0], 1),
            "partials_masked_for_a_while": clinical[2] / max(clinical[0], 1),
            "changed_ids": changed,
        },
        "cost_us": {
            "events": len(us),
            "runs": repeat,
            "median": statistics.median(us),
            "p99": us[min(len(us) - 1, int(0.99 * len(us)))],
        },
    }


def _print(report: dict[str, Any], say: Callable[[str], None]) -> None:
    say(f"{report['items']} items; recall (identifiers masked in every event that left):")
    say(f"  {'kind':<14}{'ids':>5}{'partials':>10}{'finals':>9}{'both':>8}")
    for kind, r in report["recall"].items():
        say(
            f"  {kind:<14}{r['identifiers']:>5}{r['partials']:>10.1%}"
            f"{r['finals']:>9.1%}{r['both']:>8.1%}"
        )
    c = report["clinical"]
    say(
        f"clinical items {c['items']}: finals changed {c['finals_changed']:.1%}, "
        f"partials masked for a while {c['partials_masked_for_a_while']:.1%}"
    )
    cost = report["cost_us"]
    say(
        f"privacy step per transcript event ({cost['events']} events, best of {cost['runs']}): "
        f"median {cost['median']:.0f} us, p99 {cost['p99']:.0f} us"
    )
    for m in report["missed"]:
        say(f"  MISSED {m['id']} {m['label']} in {', '.join(m['in'])}: {m['sample']}")
    for item_id in c["changed_ids"]:
        say(f"  CHANGED {item_id}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--set", type=Path, default=SET, help="the labelled set (JSON lines)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    report = evaluate(args.set)
    _print(report, print)
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    ok = report["recall"]["all"]["both"] == 1.0 and report["clinical"]["finals_changed"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
