"""Triage: is this a routine call (automation could serve it) or a sensitive one (it
belongs to a person)? Issue 17.

The text model's triage head (``models/triage_head.onnx``, trained by
``scripts/train_triage.py``; ``models/triage.md``) reads each caller final's
sentence embedding, the one the distress head already uses, as a softmax over
:data:`TOPICS`; its ``emotion.text`` event carries the probability that the words
are a sensitive call's (the sum over the sensitive topics) and the most likely
topic of each label. This watch turns those readings into ``call.triage``:

* **The opening.** The caller's first ``opening`` finals of at least
  ``min_words`` words that are not call-handling talk (greetings, names, dates of
  birth, confirmations: the head's ``other``, unless it reads them sensitive)
  decide. The first of them
  sends ``call.triage``: sensitive when its reading is at least ``sensitive_at``,
  else routine. A routine call whose next opening final reads at least
  ``sensitive_at`` becomes sensitive.
* **Later in the call** a final turns a routine call sensitive only when it reads
  at least ``later_at``: a long routine call says many things, and the opening
  threshold is set for recall on openings.
* **Cues.** With ``cues``, a ``caller_distressed`` or ``possible_emergency`` cue
  makes the call sensitive (topic ``distress`` / ``emergency``): a distressed
  caller belongs to a person whatever they called about.
* **Sticky.** A sensitive call never becomes routine again: sending a distressed
  caller back to a bot is the costly mistake.

``quote`` holds the words the label rests on, verbatim (the final, up to
``QUOTE_WORDS`` words, or the cue's quote); ``score`` the head's probability
that they are sensitive (1 for a cue). Pure: events in, events out::

    events = watch.feed(event)   # the call's events, cue events included
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from edge.events import (
    CallTriage,
    CueKind,
    CueRaised,
    Event,
    TextEmotion,
    TranscriptFinal,
    TriageLabel,
)
from edge.settings import Order, Range, check, setting
from edge.types import Role

# The triage head's topics, in the order of its outputs: the routine ones, then the
# sensitive ones (scripts/data/make_triage_set.py says what each covers).
ROUTINE_TOPICS = ("appointment", "refill", "hours", "directions", "billing", "results", "records")
SENSITIVE_TOPICS = (
    "symptoms",
    "pain",
    "bad_news",
    "bereavement",
    "mental_health",
    "complaint",
    "billing_dispute",
    "distress",
)
TOPICS = (*ROUTINE_TOPICS, *SENSITIVE_TOPICS)
# The head's last output: call-handling talk with no topic (greetings, names, dates
# of birth, confirmations, thanks), which decides nothing.
OTHER = "other"
OUTPUTS = (*TOPICS, OTHER)
# What a cue that makes the call sensitive gives as its topic.
CUE_TOPICS = {CueKind.CALLER_DISTRESSED: "distress", CueKind.POSSIBLE_EMERGENCY: "emergency"}
QUOTE_WORDS = 15
KEPT_FINALS = 4


@dataclass(frozen=True)
class Reading:
    """The triage head's reading of one text."""

    sensitive_p: float  # P(a sensitive call's words): the sum over SENSITIVE_TOPICS
    other_p: float  # P(call-handling talk with no topic)
    routine_topic: str  # the most likely of ROUTINE_TOPICS
    sensitive_topic: str  # the most likely of SENSITIVE_TOPICS


def reading(probs: Sequence[float]) -> Reading:
    """The triage head's softmax over OUTPUTS, summed and ranked."""
    if len(probs) != len(OUTPUTS):
        raise ValueError(f"expected {len(OUTPUTS)} probabilities, got {len(probs)}")
    n = len(ROUTINE_TOPICS)
    routine, sensitive = list(probs[:n]), list(probs[n : len(TOPICS)])
    return Reading(
        sensitive_p=min(1.0, max(0.0, float(sum(sensitive)))),
        other_p=float(probs[-1]),
        routine_topic=ROUTINE_TOPICS[routine.index(max(routine))],
        sensitive_topic=SENSITIVE_TOPICS[sensitive.index(max(sensitive))],
    )


def decide(sensitive_p: float, other_p: float, at: float) -> TriageLabel | None:
    """What one reading says at threshold ``at``: sensitive, routine, or nothing (the
    words are call-handling talk: ``other`` outweighs the routine topics)."""
    if sensitive_p >= at:
        return TriageLabel.SENSITIVE
    if other_p >= 1.0 - other_p - sensitive_p:
        return None
    return TriageLabel.ROUTINE


@dataclass(frozen=True, kw_only=True)
class TriageOptions:
    """Triage: routine call (automation could serve it) or sensitive (a person should).

    Read from the caller's opening words by the text model's triage head; a
    routine call can become sensitive later, a sensitive one stays so
    (``call.triage`` events; models/triage.md).
    """

    SECTION: ClassVar[str] = "pipeline.triage"
    RULES: ClassVar[tuple[Order, ...]] = (Order("sensitive_at", "later_at"),)

    enabled: bool = setting(True, help="tell routine calls from sensitive ones (call.triage)")
    sensitive_at: float = setting(
        0.25,
        help="the triage head's probability at which an opening final makes the call sensitive "
        "(chosen for recall of sensitive calls, models/triage.md)",
        range=Range(0, 1),
    )
    later_at: float = setting(
        0.9,
        help="the probability at which a final after the opening makes a routine call sensitive",
        range=Range(0, 1),
    )
    opening: int = setting(
        1,
        help="how many of the caller's first topical finals (min_words or more; not greetings, "
        "names or thanks) decide the call at sensitive_at",
        range=Range(1, 100),
    )
    min_words: int = setting(
        3, help="words a caller's final needs to be read for triage", range=Range(1, 50)
    )
    cues: bool = setting(
        True, help="a caller_distressed or possible_emergency cue makes the call sensitive"
    )

    def __post_init__(self) -> None:
        check(self)


class TriageWatch:
    """The caller's finals, their text readings and the call's cues in; ``call.triage`` out."""

    def __init__(self, options: TriageOptions) -> None:
        self.options = options
        self.reset()

    def reset(self) -> None:
        self.label: TriageLabel | None = None
        self.read = 0  # opening finals read
        # The caller's last few finals, utterance -> text: its emotion.text event
        # follows each a little later (the text model runs off the event loop).
        self._finals: dict[int, str] = {}

    def feed(self, event: Event) -> list[Event]:
        """A caller's TranscriptFinal or TextEmotion, or a CueRaised; others are ignored."""
        if not self.options.enabled or self.label is TriageLabel.SENSITIVE:
            return []
        if isinstance(event, CueRaised):
            return self._cue(event)
        if event.role is not Role.CALLER:
            return []
        if isinstance(event, TranscriptFinal):
            self._finals[event.utterance] = event.text
            while len(self._finals) > KEPT_FINALS:
                del self._finals[next(iter(self._finals))]
            return []
        if isinstance(event, TextEmotion):
            return self._read(event)
        return []

    def _read(self, event: TextEmotion) -> list[Event]:
        text = self._finals.get(event.utterance, "")
        if not event.routine_topic or len(text.split()) < self.options.min_words:
            return []
        opening = self.read < self.options.opening
        at = self.options.sensitive_at if opening else self.options.later_at
        label = decide(event.sensitive_p, event.other_p, at)
        if label is None:
            return []
        self.read += 1
        quote = (" ".join(text.split()[:QUOTE_WORDS]),)
        if label is TriageLabel.SENSITIVE:
            return [self._say(event, label, event.sensitive_topic, quote)]
        if self.label is None:
            return [self._say(event, label, event.routine_topic, quote)]
        return []

    def _cue(self, cue: CueRaised) -> list[Event]:
        topic = CUE_TOPICS.get(cue.cue)
        if not self.options.cues or topic is None:
            return []
        return [
            CallTriage(
                stream_time=cue.stream_time,
                role=Role.CALLER,
                label=self._set(TriageLabel.SENSITIVE),
                topic=topic,
                score=1.0,
                quote=cue.quote,
            )
        ]

    def _say(
        self, event: TextEmotion, label: TriageLabel, topic: str, quote: tuple[str, ...]
    ) -> CallTriage:
        return CallTriage(
            stream_time=event.stream_time,
            role=Role.CALLER,
            label=self._set(label),
            topic=topic,
            score=round(event.sensitive_p, 4),
            quote=quote,
        )

    def _set(self, label: TriageLabel) -> TriageLabel:
        self.label = label
        return label
