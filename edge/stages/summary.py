"""The after-call summary: what a call was, once it is over (issue 17, part 3).

A pure accumulator fed every event the call emits, in order; at the end of the
call :meth:`Summarizer.summary` gives one ``call.summary.final`` event, which
``edge.stages.signals.CallSignals`` sends after the call's last cue has cleared
and before ``call.ended``::

    summarizer.feed(event)              # every event of the call
    event = summarizer.summary(now)     # the call ended

What it keeps (docs/events.md):

* the call's **triage** and topic (the last ``call.triage``);
* **time distressed**: the seconds a ``caller_distressed`` cue was active;
* **peak and ending distress**: the caller's highest voice-window distress and
  when, and the mean of their readings over the call's last ``ending`` seconds of
  caller voice; ``calmer_at_end`` when the ending is at least ``CALMER_BY`` below
  the peak ("did the caller end calmer than their peak?");
* the **cues** raised (each ``cue_id`` once, in order) and how many reached high;
* the agent's **talk share** (their seconds of speech over both parties', from
  ``speech.ended``) and **pace** (words a minute over the time their finals span).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import ClassVar

from edge.events import (
    CallStarted,
    CallSummaryFinal,
    CallTriage,
    CueCleared,
    CueKind,
    CueLevel,
    CueRaised,
    Event,
    SpeechEnded,
    TranscriptFinal,
    VoiceEmotion,
)
from edge.settings import Range, check, setting
from edge.types import Role

# The ending counts as calmer than the peak when it is this much lower (distress 0..1):
# the voice readings of a calm stretch vary by about 0.1.
CALMER_BY = 0.15
# Pace needs this many seconds of the agent's finals to mean something.
PACE_MIN_SECONDS = 5.0


@dataclass(frozen=True, kw_only=True)
class SummaryOptions:
    """The after-call summary: one ``call.summary.final`` event before ``call.ended``.

    Triage and topic, time distressed, peak and ending distress, cues raised, the
    agent's talk share and pace.
    """

    SECTION: ClassVar[str] = "pipeline.summary"

    enabled: bool = setting(True, help="send call.summary.final when a call ends")
    ending: float = setting(
        30.0,
        help="seconds of the caller's last voice readings whose mean is the ending distress",
        range=Range(1, 600),
        unit="s",
    )

    def __post_init__(self) -> None:
        check(self)


class Summarizer:
    """A call's events in; at its end, its ``call.summary.final``."""

    def __init__(self, options: SummaryOptions) -> None:
        self.options = options
        self.reset()

    def reset(self) -> None:
        self._triage: CallTriage | None = None
        self._channels: tuple[Role, ...] = ()
        self._distressed = 0.0
        self._distress_since: dict[int, float] = {}  # active caller_distressed: id -> raised
        self._cues: dict[int, CueRaised] = {}  # every cue raised, by id, its highest level
        self._peak: tuple[float, float] | None = None  # (distress, stream time)
        self._recent: deque[tuple[float, float]] = deque()  # (window end, distress)
        self._speech = {Role.CALLER: 0.0, Role.AGENT: 0.0}
        self._agent_words = 0
        self._agent_seconds = 0.0

    def feed(self, event: Event) -> None:
        if isinstance(event, CallStarted):
            self._channels = event.channels
        elif isinstance(event, CallTriage):
            self._triage = event
        elif isinstance(event, CueRaised):
            self._raised(event)
        elif isinstance(event, CueCleared):
            raised = self._distress_since.pop(event.cue_id, None)
            if raised is not None:
                self._distressed += event.duration
        elif isinstance(event, VoiceEmotion):
            if event.role is Role.CALLER and not event.window_repeated:
                self._voice(event)
        elif isinstance(event, SpeechEnded) and event.role in self._speech:
            self._speech[event.role] += max(0.0, event.end - event.start)
        elif isinstance(event, TranscriptFinal) and event.role is Role.AGENT and event.text:
            self._agent_words += len(event.text.split())
            self._agent_seconds += max(0.0, event.end - event.start)

    def _raised(self, cue: CueRaised) -> None:
        known = self._cues.get(cue.cue_id)
        if known is None or _rank(cue.level) > _rank(known.level):
            self._cues[cue.cue_id] = cue
        if known is None and cue.cue is CueKind.CALLER_DISTRESSED:
            self._distress_since[cue.cue_id] = cue.stream_time

    def _voice(self, event: VoiceEmotion) -> None:
        if self._peak is None or event.distress > self._peak[0]:
            self._peak = (event.distress, event.stream_time)
        self._recent.append((event.end, event.distress))
        while self._recent[0][0] < event.end - self.options.ending:
            self._recent.popleft()

    def summary(self, now: float) -> CallSummaryFinal | None:
        """The call's summary at its end (stream time ``now``); None when disabled."""
        if not self.options.enabled:
            return None
        # A distress cue still active (the call was cut short) counts until now.
        distressed = self._distressed + sum(now - t for t in self._distress_since.values())
        ending = sum(d for _, d in self._recent) / len(self._recent) if self._recent else None
        peak = self._peak[0] if self._peak else None
        talk = self._speech[Role.CALLER] + self._speech[Role.AGENT]
        agent_share = (
            self._speech[Role.AGENT] / talk if Role.AGENT in self._channels and talk else None
        )
        pace = (
            60.0 * self._agent_words / self._agent_seconds
            if self._agent_seconds >= PACE_MIN_SECONDS
            else None
        )
        cues = sorted(self._cues.values(), key=lambda c: c.cue_id)
        return CallSummaryFinal(
            stream_time=now,
            duration=round(now, 3),
            triage=self._triage.label.value if self._triage else "",
            topic=self._triage.topic if self._triage else "",
            distressed_s=round(distressed, 3),
            peak_distress=_round(peak),
            peak_at=self._peak[1] if self._peak else None,
            end_distress=_round(ending),
            calmer_at_end=(None if peak is None or ending is None else ending <= peak - CALMER_BY),
            cues=tuple(c.cue.value for c in cues),
            high_cues=sum(c.level is CueLevel.HIGH for c in cues),
            agent_talk_share=_round(agent_share),
            agent_wpm=None if pace is None else round(pace, 1),
        )


def _rank(level: CueLevel) -> int:
    return (CueLevel.NOTICE, CueLevel.ELEVATED, CueLevel.HIGH).index(level)


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 3)
