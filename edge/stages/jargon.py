"""``agent_jargon``: the agent says a word a lay caller may not know.

The words and what to say instead come from a glossary: the one shipped with
the package (``glossary.txt`` beside this module) plus a site's own entries,
``[pipeline.jargon] terms`` (each ``"term | other spellings = plain words"``),
minus ``[pipeline.jargon] ignore``. The glue passes every event:

    events = watch.feed(event)     # the agent's finals raise; the caller's are remembered
    events = watch.tick(now)       # an idle cue clears
    events = watch.flush(now)      # the call ended

A term raises the cue unless the agent explains it in the same breath ("your
deductible, that's the amount you pay first"), the caller said it first in this
call (they know it), or it was flagged in the last ``repeat_after`` seconds.
One ``agent_jargon`` cue is active at a time: a new term while it shows is
added to it (a new ``cue.raised`` with the same ``cue_id``); it clears
``show_for`` seconds after the last term. The message and suggestion name the
glossary's own term (a fixed word list, as the distress evidence names "pain
words"); the caption words themselves go only in ``quote``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from edge.errors import ConfigError
from edge.events import CueCleared, CueKind, CueLevel, CueRaised, Event, TranscriptFinal
from edge.settings import Format, Range, check, literal, setting
from edge.stages.held import HeldCue
from edge.types import Role

GLOSSARY = Path(__file__).with_name("glossary.txt")
ENTRY = Format(
    r"[^=]*[^\s=|][^=]*=\s*[^\s=][^=]*",
    'text of the form "term = plain words" (other spellings of the term before the '
    '"=", separated by "|")',
)
_EPS = 1e-9
# Words after a term that show the agent explaining it in the same breath.
_EXPLAINED = re.compile(
    r"\b(?:that means|which means|this means|it means|meaning|in other words|that is,|"
    r"i\.e\.|basically|simply put|put simply|in plain|"
    r"(?:that's|that is|which is|which are|it's|this is|those are) "
    r"(?:the|a|an|just|when|what|how|where|your|how much|basically|nothing|no|only)|"
    r"(?:is|are) (?:the amount|the list|the set|the most|what|how much|when|where))\b"
)
EXPLAIN_WORDS = 10  # the explanation must start within this many words after the term


@dataclass(frozen=True)
class Term:
    """One glossary entry: its name, every way it is written, and the plain words."""

    name: str  # as the glossary's first spelling writes it
    spellings: tuple[str, ...]
    plain: str
    pattern: re.Pattern[str]


def parse_entry(entry: str) -> Term:
    """``"term | other spelling = plain words"`` as a :class:`Term`; raises ConfigError."""
    if not re.fullmatch(ENTRY.pattern, entry):
        raise ConfigError(f"glossary entry {entry!r}: must be {ENTRY.shape}")
    said, plain = entry.split("=", 1)
    spellings = tuple(s.strip() for s in said.split("|") if s.strip())
    return Term(spellings[0], spellings, plain.strip(), _pattern(spellings))


def _pattern(spellings: Iterable[str]) -> re.Pattern[str]:
    """One regular expression for every spelling, each its own group (in order):
    capitals (PCP) only as capitals, with or without dots between the letters; other
    words in any case, spaces and hyphens alike, the last word also plural."""
    parts = []
    for spelling in spellings:
        if re.fullmatch(r"[A-Z][A-Z0-9]{1,5}", spelling):
            letters = r"\.?".join(re.escape(c) for c in spelling)
            parts.append(rf"((?<![\w.]){letters}(?:'?s)?(?!\w))")
        else:
            words = [re.escape(w) for w in re.split(r"[\s-]+", spelling) if w]
            parts.append(r"((?i:\b" + r"[\s-]*".join(words) + r"(?:s|es)?\b))")
    return re.compile("|".join(parts))


@functools.cache
def shipped() -> tuple[Term, ...]:
    """The glossary that comes with the package."""
    return tuple(parse_lines(GLOSSARY.read_text(encoding="utf-8")))


def parse_lines(text: str) -> list[Term]:
    """Glossary entries, one a line; blank lines and # comments are skipped."""
    return [parse_entry(line) for line in text.splitlines() if line.strip() and line[0] != "#"]


@dataclass(frozen=True, kw_only=True)
class JargonOptions:
    """Words the agent says that a caller may not know (agent_jargon), and what to say
    instead.

    The glossary shipped with the package (edge/stages/glossary.txt: insurance,
    billing and clinical words) plus `terms`, minus `ignore`.
    """

    SECTION: ClassVar[str] = "pipeline.jargon"

    enabled: bool = setting(True, help="raise agent_jargon cues")
    shipped: bool = setting(True, help="use the glossary shipped with the package")
    terms: tuple[str, ...] = setting(
        (),
        help="more words, or other plain words for shipped ones (an entry named as a shipped "
        "one replaces it)",
        format=ENTRY,
        example=["PA | prior auth = approval from your plan before you get it"],
    )
    ignore: tuple[str, ...] = setting(
        (),
        help="shipped terms your callers know (any of their spellings)",
        example=["copay"],
    )
    show_for: float = setting(
        20.0,
        help="seconds the cue stays after the last word it flagged",
        range=Range(1, 600),
        unit="s",
    )
    repeat_after: float = setting(
        600.0,
        help="seconds before the same term is flagged again in a call",
        range=Range(0, 86_400),
        unit="s",
    )
    max_terms: int = setting(3, help="terms one cue names at most (the latest)", range=Range(1, 10))

    def __post_init__(self) -> None:
        check(self)
        known = {
            s.casefold()
            for t in (*(shipped() if self.shipped else ()), *map(parse_entry, self.terms))
            for s in t.spellings
        }
        for word in self.ignore:
            if word.casefold() not in known:
                raise ConfigError(
                    f"{self.SECTION}.ignore = {literal(self.ignore)}: {literal(word)} is in no "
                    "glossary entry; spell it as edge/stages/glossary.txt or your terms do"
                )

    def glossary(self) -> tuple[Term, ...]:
        """The terms in force: shipped (unless off), then the site's, less `ignore`."""
        dropped = {s.casefold() for s in self.ignore}
        by_name: dict[str, Term] = {}
        for term in (*(shipped() if self.shipped else ()), *map(parse_entry, self.terms)):
            by_name[term.name.casefold()] = term  # a site's entry replaces a shipped one
        return tuple(
            t for t in by_name.values() if not dropped & {s.casefold() for s in t.spellings}
        )


@dataclass(frozen=True)
class Found:
    """A glossary term in a piece of text: the term, the spelling that matched (the
    glossary's, for messages), the words as said (for the quote), and whether the
    speaker explained it in the same breath."""

    term: Term
    spelling: str
    said: str
    explained: bool


def find_terms(glossary: Iterable[Term], text: str) -> list[Found]:
    """The glossary terms in ``text``, in reading order, each at its first place; where
    two overlap ("copay" in "copay accumulator") the longer one."""
    spans: list[tuple[int, int, Found]] = []
    for term in glossary:
        match = term.pattern.search(text)
        if match is None:
            continue
        after = " ".join(text[match.end() :].split()[:EXPLAIN_WORDS]).lower()
        explained = _EXPLAINED.search(after.replace("\u2019", "'")) is not None
        spelling = term.spellings[(match.lastindex or 1) - 1]
        found = Found(term, spelling, match.group(0), explained)
        spans.append((match.start(), match.end(), found))
    kept: list[tuple[int, int, Found]] = []
    for start, end, found in sorted(spans, key=lambda s: (s[0] - s[1], s[0])):  # longest first
        if all(end <= a or start >= b for a, b, _ in kept):
            kept.append((start, end, found))
    return [found for _, _, found in sorted(kept, key=lambda s: s[0])]


class JargonWatch:
    """Agent and caller finals in; ``agent_jargon`` cues out."""

    def __init__(self, options: JargonOptions, new_cue_id: Callable[[], int]) -> None:
        self.options = options
        self.glossary = options.glossary() if options.enabled else ()
        self._new_cue_id = new_cue_id
        self.reset()

    def reset(self) -> None:
        self._known: set[str] = set()  # terms the caller said
        self._flagged: dict[str, float] = {}  # term -> when it was last flagged
        self._cue = HeldCue(CueKind.AGENT_JARGON, Role.AGENT, self._new_cue_id)
        self._terms: list[Found] = []  # the active cue's terms, latest last
        self._last = 0.0  # when the active cue last flagged a term

    def feed(self, event: Event) -> list[Event]:
        if not isinstance(event, TranscriptFinal) or not self.glossary:
            return []
        found = find_terms(self.glossary, event.text)
        if event.role is Role.CALLER:
            self._known |= {f.term.name for f in found}
            return []
        if event.role is not Role.AGENT:
            return []
        now = event.stream_time
        new = [
            f
            for f in found
            if not f.explained
            and f.term.name not in self._known
            and now - self._flagged.get(f.term.name, -1e18) >= self.options.repeat_after - _EPS
        ]
        if not new:
            return []
        for f in new:
            self._flagged[f.term.name] = now
        names = {f.term.name for f in new}
        kept = [f for f in self._terms if f.term.name not in names] + new
        self._terms = kept[-self.options.max_terms :]
        self._last = now
        return [self._raise(now)]

    def tick(self, now: float) -> list[Event]:
        if self._cue.active is not None and now - self._last >= self.options.show_for - _EPS:
            return [self._clear(now)]
        return []

    def flush(self, now: float) -> list[Event]:
        return [self._clear(now)] if self._cue.active is not None else []

    def _raise(self, now: float) -> CueRaised:
        names = [f"\u201c{f.spelling}\u201d" for f in self._terms]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
        return self._cue.show(
            now,
            level=CueLevel.NOTICE,
            score=float(len(self._terms)),
            evidence=("words the caller may not know",),
            message=f"The caller may not know {listed}.",
            quote=tuple(dict.fromkeys(f.said for f in self._terms)),
            suggestion=" ".join(
                f"Say \u201c{f.term.plain}\u201d instead of \u201c{f.spelling}\u201d."
                for f in reversed(self._terms[-2:])
            ),
        )

    def _clear(self, now: float) -> CueCleared:
        cleared = self._cue.clear(now)
        self._terms = []
        return cleared
