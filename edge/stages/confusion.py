"""``caller_confused``: the caller does not follow what the agent says.

Signs, read from the caller's finals (partials are left alone: a sign is a
whole phrase, and a final comes within a second of the caller's pause):

* they say so: "I don't understand", "I'm confused", "you've lost me";
* they ask what a word means: "what does that mean?", "what's a formulary?";
* they ask to hear it again: "can you say that again?", "sorry, what?";
* they ask the same question again, after the agent answered it;
* a long hesitation: after the agent asks them something, a pause of
  ``hesitation`` seconds, then a reply that opens unsure ("um", "er").

Each phrase rule leaves alone the look-alikes that are not confusion ("what do
you mean you lost it?" is anger; "I didn't understand at first, but now I do";
"sorry, what was your name again?"). ``scripts/eval_conversation_cues.py``
measures the rules on labelled lines and on ordinary conversation.

One ``caller_confused`` cue is active at a time: a new sign while it shows is
added to it (a new ``cue.raised`` with the same ``cue_id``, its quotes and
suggestion following); it clears ``show_for`` seconds after the last sign and
cannot raise again within ``cooldown``. When the caller asked about a word the
glossary knows (:mod:`edge.stages.jargon`), the suggestion gives its plain words.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ClassVar

from edge.events import CueCleared, CueKind, CueLevel, CueRaised, Event, TranscriptFinal
from edge.settings import UNIT, Range, check, setting
from edge.stages.guidance import suggest
from edge.stages.held import HeldCue
from edge.stages.jargon import Term, find_terms
from edge.types import Role

_EPS = 1e-9
QUOTE_WORDS = 12

SAID_SO = "said they don't follow"
WHAT_MEANS = "asked what a word means"
AGAIN = "asked to hear it again"
SAME_QUESTION = "asked the same question again"
HESITATED = "long pause, then unsure"

# (sign, pattern) over the caller's final, lower-cased with straight apostrophes.
_PHRASES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        SAID_SO,
        re.compile(
            r"\b(?:i|we) (?:still |really |just |honestly )?(?:don't|do not|didn't|did not|"
            r"can't|cannot) (?:really |quite |fully )?(?:understand|follow|get it|get that|"
            r"get what you|see what you mean|know what (?:that|this|you|it) means?)\b"
            r"(?<!can't understand)(?<!cannot understand)|"
            r"\b(?:i|we) (?:can't|cannot) understand(?! why)\b|"
            r"\b(?:i'm|i am) (?:a bit |a little |very |so |really |totally |completely )?"
            r"(?:confused|lost(?! for words| without| my| his| her| the| it| them| in )|"
            r"not following|not with you|not sure what (?:that|you|this|it) means?)\b|"
            r"\byou(?:'ve| have)? lost me\b|"
            r"\b(?:that|this|it) (?:doesn't|does not|didn't) make (?:any )?sense\b|"
            r"\b(?:in|into) (?:plain )?english,? please\b|\bin plain english\b"
        ),
    ),
    (
        WHAT_MEANS,
        re.compile(
            r"\bwhat (?:does|did) (?:that|this|it|that word|(?:the |a )?[\w-]+(?: [\w-]+)?) "
            r"(?:mean|stand for)\b|"
            r"\bwhat do you mean\s*(?:\?|$|by)|"
            r"\bwhat(?:'s| is| are) (?:a|an) (?P<word>[\w-]+(?: [\w-]+){0,2})\s*\?|"
            r"^(?:and |sorry,? |um,? |uh,? )?what(?:'s| is) (?:that|this)\s*\?$|"
            r"\bwhat (?:is|are|was) (?:that|those) (?:again|word|term)\b"
        ),
    ),
    (
        AGAIN,
        re.compile(
            r"\b(?:can|could|would|will) you (?:please |just )?(?:repeat|re-explain)"
            r"(?: (?:that|it|this|what you (?:just )?said|yourself|all (?:of )?that)\b|\s*\?|$)|"
            r"\b(?:mind|try) (?:repeating|saying that again|going over that)\b|"
            r"\b(?:can|could|would|will) you (?:please |just )?(?:say|explain|go over|run through)"
            r" (?:that|it|this|what you said|that last (?:bit|part))"
            r"(?: (?:again|one more time|once more|more slowly|slower|another way|"
            r"differently|more simply)|\s*\?|$)|"
            r"\bsay (?:that|it) again\b|\bcome again\s*\?|\bone more time\s*\?|"
            r"\bi (?:didn't|did not|couldn't|could not) (?:catch|hear|get) "
            r"(?:that|what you said|you|all of that|the last (?:bit|part))(?! \w)|"
            r"\b(?:slow down|speak (?:up|more slowly|slower))\b|"
            r"^(?:(?:i'm )?sorry|pardon(?: me)?|excuse me|what|huh|eh|you what)"
            r"[\s,]*(?:what|sorry|pardon)?\s*\?$|"
            r"\bbeg your pardon\b"
        ),
    ),
)
# "I didn't understand at first, but now I do": the caller has caught up.
_CAUGHT_UP = re.compile(
    r"\b(?:but|and) (?:now |i think )?i (?:do|get it|understand|see)\b|"
    r"\b(?:oh|ah|okay|ok|right),? (?:now )?i (?:get it|see|understand)\b"
)
_FILLER = re.compile(r"^(?:um+|uh+|er+|erm+|hmm+|ah+|uhm+|mm+)\b")
_QUESTION_START = re.compile(
    r"^(?:so |and |but |sorry,? |um,? |uh,? )?(?:what|when|where|which|who|why|how|can|could|"
    r"do|does|did|is|are|will|would|should|am|have|has)\b"
)
# Function words: two questions are the same when they share their other words.
_FUNCTION_WORDS = (
    "a an the and or but so to of in on at for with from by about as is are was were be been "
    "am do does did have has had will would can could should may might must i you he she it we "
    "they me him her us them my your his its our their this that these those what when where "
    "which who why how there here then than just not no yes if again please sorry um uh okay ok "
    "well oh now still get got going go know mean said say tell"
)
_STOPWORDS = frozenset(_FUNCTION_WORDS.split())


@dataclass(frozen=True, kw_only=True)
class ConfusionOptions:
    """When the caller seems not to follow (caller_confused)."""

    SECTION: ClassVar[str] = "pipeline.confusion"

    enabled: bool = setting(True, help="raise caller_confused cues")
    show_for: float = setting(
        20.0,
        help="seconds the cue stays after the last sign",
        range=Range(1, 600),
        unit="s",
    )
    cooldown: float = setting(
        30.0,
        help="seconds after it clears before it may raise again",
        range=Range(0, 3600),
        unit="s",
    )
    repeat_window: float = setting(
        180.0,
        help="seconds back a caller question counts as asked before",
        range=Range(1, 3600, zero="the same question again is no sign"),
        unit="s",
    )
    repeat_overlap: float = setting(
        0.6,
        help="share of content words two questions share (Jaccard) to be the same",
        range=UNIT,
    )
    hesitation: float = setting(
        5.0,
        help="seconds' pause after the agent asks something before an unsure reply (um, er) "
        "is a sign",
        range=Range(0.5, 60, zero="no hesitation rule"),
        unit="s",
    )
    max_quotes: int = setting(
        3, help="caption quotes the cue carries at most (the latest)", range=Range(0, 20)
    )

    def __post_init__(self) -> None:
        check(self)


@dataclass(frozen=True)
class Sign:
    """One sign of confusion in a caller's final: what, and the words."""

    kind: str
    quote: str
    term: Term | None = None  # the glossary word they asked about, if any


def _folded(text: str) -> str:
    """Lower case and straight apostrophes, character for character (offsets kept)."""
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text).replace("\u2019", "'")


def _cut(text: str) -> str:
    words = text.split()
    return " ".join(words[:QUOTE_WORDS])


def phrase_signs(text: str, glossary: Iterable[Term] = ()) -> list[Sign]:
    """The confusion phrases in one caller final (no context needed), in a fixed order.

    The quotes are the caption's words verbatim.
    """
    stripped = text.strip()
    lowered = _folded(stripped)
    signs = []
    for kind, pattern in _PHRASES:
        match = pattern.search(lowered)
        if match is None or _CAUGHT_UP.search(lowered, match.end()):
            continue
        quote = stripped[match.start() : match.end()].strip(" ,")
        term = None
        if kind == WHAT_MEANS:
            asked = find_terms(glossary, stripped[match.start() :])
            term = asked[0].term if asked else None
            # "What's a copay?" asks about a word; "what's a normal blood pressure?" does
            # not: more than one word counts only when it is a glossary term.
            word = match.group("word")
            if word is not None and " " in word and term is None:
                continue
        signs.append(Sign(kind, _cut(quote), term))
    return signs


def content_words(text: str) -> frozenset[str]:
    """The words of a question that carry its meaning (no function words)."""
    words = re.findall(r"[a-z0-9']+", _folded(text))
    return frozenset(w for w in words if w not in _STOPWORDS and len(w) > 1)


def is_question(text: str) -> bool:
    lowered = _folded(text.strip())
    return lowered.endswith("?") or _QUESTION_START.match(lowered) is not None


class ConfusionWatch:
    """Both channels' finals in; ``caller_confused`` cues out."""

    def __init__(
        self,
        options: ConfusionOptions,
        new_cue_id: Callable[[], int],
        glossary: Iterable[Term] = (),
    ) -> None:
        self.options = options
        self.glossary = tuple(glossary)
        self._new_cue_id = new_cue_id
        self.reset()

    def reset(self) -> None:
        # The caller's recent questions: (when, its content words, whether the agent
        # has spoken since).
        self._questions: collections.deque[tuple[float, frozenset[str], bool]] = collections.deque()
        self._agent_asked: float | None = None  # end of the agent's question, unanswered
        self._cue = HeldCue(CueKind.CALLER_CONFUSED, Role.CALLER, self._new_cue_id)
        self._signs: list[Sign] = []
        self._last = 0.0
        self._cool_until = -1e18

    def feed(self, event: Event) -> list[Event]:
        if not self.options.enabled or not isinstance(event, TranscriptFinal):
            return []
        if not event.text.strip():
            return []
        if event.role is Role.AGENT:
            self._questions = collections.deque((t, w, True) for t, w, _ in self._questions)
            self._agent_asked = event.end if event.text.strip().endswith("?") else None
            return []
        if event.role is not Role.CALLER:
            return []
        signs = self.signs(event)
        if not signs:
            return []
        now = event.stream_time
        if self._cue.active is None and now < self._cool_until - _EPS:
            return []
        self._signs += signs
        self._last = now
        return [self._raise(now)]

    def signs(self, final: TranscriptFinal) -> list[Sign]:
        """The signs in a caller's final, given the call so far (and remember it)."""
        o, text = self.options, final.text.strip()
        signs = phrase_signs(text, self.glossary)
        asked, self._agent_asked = self._agent_asked, None
        if asked is not None and o.hesitation and final.start - asked >= o.hesitation - _EPS:
            opening = _FILLER.match(_folded(text))
            if opening is not None:
                signs.append(Sign(HESITATED, " ".join(text.split()[:4])))
        if o.repeat_window and is_question(text):
            words = content_words(text)
            while self._questions and final.end - self._questions[0][0] > o.repeat_window:
                self._questions.popleft()
            if len(words) >= 2:
                for _, before, answered in self._questions:
                    overlap = len(words & before) / len(words | before)
                    if answered and overlap >= o.repeat_overlap - _EPS:
                        signs.append(Sign(SAME_QUESTION, _cut(text)))
                        break
                self._questions.append((final.end, words, False))
        return signs

    def tick(self, now: float) -> list[Event]:
        if self._cue.active is not None and now - self._last >= self.options.show_for - _EPS:
            return [self._clear(now)]
        return []

    def flush(self, now: float) -> list[Event]:
        return [self._clear(now)] if self._cue.active is not None else []

    def _raise(self, now: float) -> CueRaised:
        evidence = tuple(dict.fromkeys(s.kind for s in self._signs))
        keep = self.options.max_quotes
        quotes = tuple(dict.fromkeys(s.quote for s in self._signs if s.quote))
        asked = [s.term for s in self._signs if s.term is not None]
        if asked:
            term = asked[-1]
            suggestion = (
                f"Explain \u201c{term.name}\u201d in plain words: \u201c{term.plain}\u201d."
            )
        else:
            suggestion = suggest(CueKind.CALLER_CONFUSED, evidence)
        return self._cue.show(
            now,
            level=CueLevel.NOTICE,
            score=float(len(self._signs)),
            evidence=evidence,
            message="The caller may not be following: " + ", ".join(evidence) + ".",
            quote=quotes[-keep:] if keep else (),
            suggestion=suggestion,
        )

    def _clear(self, now: float) -> CueCleared:
        cleared = self._cue.clear(now)
        self._signs = []
        self._cool_until = now + self.options.cooldown
        return cleared
