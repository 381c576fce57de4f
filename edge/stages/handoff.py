"""Hand-off: when an automated call (an IVR, a voice assistant) should go to a person.
Issue 17.

On a call marked automated at ingest, this watch reads the call's events and
answers with ``handoff.recommended``, once per reason per call:

* ``distressed``: a ``caller_distressed`` cue at elevated or high, or any
  ``possible_emergency`` cue;
* ``sensitive``: ``call.triage`` says sensitive;
* ``asked_for_person``: a caller final asks for one ("representative", "a real
  person", "operator", "speak to someone", ...) or the caller pressed 0
  (:meth:`HandoffWatch.press`, from a Twilio ``dtmf`` message);
* ``bot_failing``: the automated side (the agent channel) said it did not
  understand ("I didn't understand", "sorry, I didn't get that") ``bot_failures``
  times.

Each recommendation carries a plain-language summary for the person who takes
the call, built from the triage topic, the time a ``caller_distressed`` cue was
active and the counts of asks and failures: never from transcript words, so it
is the same whatever ``[privacy] share`` says. Pure: events in, events out::

    events = watch.feed(event)        # the call's events, cue and triage events included
    events = watch.press(digit, now)  # a key the caller pressed
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from edge.events import (
    CallTriage,
    CueCleared,
    CueKind,
    CueLevel,
    CueRaised,
    Event,
    HandoffReason,
    HandoffRecommended,
    TranscriptFinal,
    TriageLabel,
)
from edge.settings import Format, Range, check, setting
from edge.types import Role

# A caller asking for a person. Words, not a model: the phrases are few and fixed,
# and a missed ask costs a caller a worse call (they can still press 0).
ASK_PATTERNS = (
    r"\brepresentative\b",
    r"\boperator\b",
    r"\b(real|live|actual) (person|human|agent|people)\b",
    r"\bhuman being\b",
    r"\b(speak|talk) (to|with) (someone|somebody|a person|a human|an agent|a nurse|a doctor|"
    r"anyone|anybody|a member of staff|staff)\b",
)
# The automated side saying it did not understand the caller.
FAILURE_PATTERNS = (
    r"\b(didn't|did not|don't|do not|couldn't|could not) (quite )?(understand|get|catch|hear)\b",
    r"\bnot sure what you (said|mean|meant)\b",
    r"\bplease (say|repeat) (that|it) again\b",
)
_ASK = re.compile("|".join(ASK_PATTERNS))
_FAILURE = re.compile("|".join(FAILURE_PATTERNS))
PERSON_DIGIT = "0"

# How a topic reads in a summary (edge.stages.triage.TOPICS and the cue topics).
TOPIC_WORDS = {
    "appointment": "an appointment",
    "refill": "a prescription refill",
    "hours": "opening hours",
    "directions": "directions",
    "billing": "a billing question",
    "results": "test results",
    "records": "medical records",
    "symptoms": "symptoms",
    "pain": "pain",
    "bad_news": "bad news",
    "bereavement": "a bereavement",
    "mental_health": "mental health",
    "complaint": "a complaint",
    "billing_dispute": "a billing dispute",
    "distress": "something distressing",
    "emergency": "a possible emergency",
}
_TIMES = {1: "once", 2: "twice"}


@dataclass(frozen=True, kw_only=True)
class HandoffOptions:
    """Hand-off from automated calls to people (issue 17; docs/server.md, "Hand-off").

    On a call marked automated at ingest, `handoff.recommended` events go out when
    the caller is distressed, triage says sensitive, the caller asks for a person
    (or presses 0) or the automated side keeps failing; with `url` set, each is
    POSTed there as signed JSON.
    """

    SECTION: ClassVar[str] = "handoff"

    url: str = setting(
        "",
        help="the automation platform's webhook for hand-offs (http:// or https://); "
        "empty = events only, no webhook",
        format=Format(r"|https?://\S+", "a URL such as https://HOST/PATH"),
        example="https://HOST/PATH",
    )
    secret: str | None = setting(
        None,
        help="shared secret of the X-Edge-Signature HMAC-SHA256; not set = unsigned; "
        "better in EDGE_HANDOFF__SECRET than in the file",
        secret=True,
    )
    timeout: float = setting(
        5.0, help="seconds one webhook attempt may take", unit="s", range=Range(0.1, 60)
    )
    retries: int = setting(
        3, help="attempts after a failed one (network error, 5xx or 429)", range=Range(0, 10)
    )
    backoff: float = setting(
        0.5,
        help="seconds before the first retry; doubled for each next one",
        unit="s",
        range=Range(0, 60),
    )
    queue: int = setting(
        256,
        help="hand-offs waiting for delivery; beyond it the newest is dropped and counted",
        range=Range(1, 100_000),
    )
    bot_failures: int = setting(
        2,
        help="times the automated side says it did not understand before a hand-off",
        range=Range(1, 20),
    )

    def __post_init__(self) -> None:
        check(self)


def asks_for_person(text: str) -> bool:
    """True if a caller's words ask for a person."""
    return _ASK.search(_plain(text)) is not None


def bot_failed(text: str) -> bool:
    """True if the automated side's words say it did not understand."""
    return _FAILURE.search(_plain(text)) is not None


def _plain(text: str) -> str:
    return text.lower().replace("\u2019", "'")


def _times(n: int) -> str:
    return _TIMES.get(n, f"{n} times")


class HandoffWatch:
    """One automated call's hand-off state."""

    def __init__(self, options: HandoffOptions) -> None:
        self.options = options
        self.reset()

    def reset(self) -> None:
        self.sent: set[HandoffReason] = set()
        self.triage: CallTriage | None = None
        self.asks = 0
        self.failures = 0
        self.emergency = False
        self._distressed = 0.0  # seconds of caller_distressed cues already cleared
        self._active: set[int] = set()  # active caller_distressed cue ids
        self._span = 0.0  # when the current span of distress began (while _active)

    def distressed_s(self, now: float) -> float:
        """Seconds a caller_distressed cue has been active up to ``now``."""
        if not self._active:
            return self._distressed
        return self._distressed + max(0.0, now - self._span)

    def feed(self, event: Event) -> list[Event]:
        now = event.stream_time
        if isinstance(event, CueRaised):
            if event.cue is CueKind.POSSIBLE_EMERGENCY:
                self.emergency = True
                return self._recommend(HandoffReason.DISTRESSED, now)
            if event.cue is CueKind.CALLER_DISTRESSED:
                if not self._active:
                    self._span = now
                self._active.add(event.cue_id)
                if event.level in (CueLevel.ELEVATED, CueLevel.HIGH):
                    return self._recommend(HandoffReason.DISTRESSED, now)
            return []
        if isinstance(event, CueCleared) and event.cue_id in self._active:
            # Overlapping distress cues count once: from the first raise to the last clear.
            self._active.discard(event.cue_id)
            if not self._active:
                self._distressed += max(0.0, now - self._span)
            return []
        if isinstance(event, CallTriage):
            self.triage = event
            if event.label is TriageLabel.SENSITIVE:
                return self._recommend(HandoffReason.SENSITIVE, now)
            return []
        if isinstance(event, TranscriptFinal) and event.text:
            if event.role is Role.CALLER and asks_for_person(event.text):
                self.asks += 1
                return self._recommend(HandoffReason.ASKED, now)
            if event.role is Role.AGENT and bot_failed(event.text):
                self.failures += 1
                if self.failures >= self.options.bot_failures:
                    return self._recommend(HandoffReason.BOT_FAILING, now)
        return []

    def press(self, digit: str, now: float) -> list[Event]:
        """The caller pressed ``digit`` (a Twilio ``dtmf`` message); 0 asks for a person."""
        if digit != PERSON_DIGIT:
            return []
        self.asks += 1
        return self._recommend(HandoffReason.ASKED, now)

    def summary(self, now: float) -> str:
        """For the person who takes the call: topic, distress and asks, no caller words."""
        parts: list[str] = []
        if self.triage is not None:
            about = TOPIC_WORDS.get(self.triage.topic, self.triage.topic.replace("_", " "))
            parts.append(f"Calling about {about} ({self.triage.label.value})")
        else:
            parts.append("Topic not known yet")
        distressed = round(self.distressed_s(now))
        if distressed:
            parts.append(f"distressed for {distressed} s")
        if self.emergency:
            parts.append("possible emergency")
        if self.asks:
            parts.append(f"asked for a person {_times(self.asks)}")
        if self.failures:
            parts.append(f"the automated system did not understand {_times(self.failures)}")
        return "; ".join(parts)

    def _recommend(self, reason: HandoffReason, now: float) -> list[Event]:
        if reason in self.sent:
            return []
        self.sent.add(reason)
        return [
            HandoffRecommended(
                stream_time=now,
                reason=reason,
                summary=self.summary(now),
                triage=self.triage.label.value if self.triage else "",
                topic=self.triage.topic if self.triage else "",
                distressed_s=round(self.distressed_s(now), 1),
                asks=self.asks,
                bot_failures=self.failures,
            )
        ]
