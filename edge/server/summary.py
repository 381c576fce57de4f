"""What a wallboard tile and a snapshot say about one call: pure state from its events."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from edge.events import (
    CallEnded,
    CallStarted,
    CallSummaryFinal,
    CallTriage,
    CueCleared,
    CueKind,
    CueLevel,
    CueRaised,
    EngineDegraded,
    EngineRecovered,
    Event,
    HandoffRecommended,
    TranscriptFinal,
    VoiceEmotion,
)
from edge.types import Role

SPARK_STEP = 2.0  # seconds of call per sparkline point
SPARK_POINTS = 90  # three minutes of trend
# Seconds of call between tiles that a voice reading alone changes. A tile that
# something else changes (a cue, the end) carries the latest reading at once.
READING_EVERY = 5.0
CAPTIONS = 6  # recent caller finals kept for a snapshot

# How much a tile needs a supervisor's eye: sorts the wallboard.
_LEVEL_NEED = {CueLevel.HIGH: 3.0, CueLevel.ELEVATED: 2.0, CueLevel.NOTICE: 0.5}
# The levels that put a call on the wallboard's needs-attention strip, most urgent first.
ATTENTION = (CueLevel.HIGH, CueLevel.ELEVATED)


@dataclass(frozen=True)
class CallMeta:
    """Who and where a call is, from its start message."""

    call_id: str
    agent_id: str
    team: str
    source: str
    started_at: float  # Unix time
    automated: bool = False  # an IVR or voice assistant serves the caller (issue 17)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


class CallSummary:
    """The current state of one call, updated event by event."""

    def __init__(self, meta: CallMeta) -> None:
        self.meta = meta
        self.duration = 0.0
        self.ended = False
        self.lost = False  # its node stopped beating (the fleet): removed after the linger
        self.last_seq = 0
        self.distress = 0.0  # caller's latest voice reading
        self.spark: deque[float] = deque(maxlen=SPARK_POINTS)
        self._spark_until = 0.0
        self._spark_peak = 0.0
        self._reading_shown = -READING_EVERY  # the call time of the last reading a tile showed
        self.cues: dict[int, CueRaised] = {}
        self.captions: deque[dict[str, Any]] = deque(maxlen=CAPTIONS)
        self.triage: CallTriage | None = None  # the latest call.triage
        self.handoffs: list[str] = []  # hand-offs recommended (automated calls), their reasons
        # The service's load step as this call was last told (engine.degraded / recovered).
        self.load: EngineDegraded | EngineRecovered | None = None
        # When the call reached its attention level (the wall time of the cue that
        # raised it): the wallboard sorts by it and shows how long (issue 17).
        self.attention_since: float | None = None
        self.final: CallSummaryFinal | None = None  # what the call was, once over
        self._attention: CueLevel | None = None

    def observe(self, event: Event) -> bool:
        """Take one (already privacy-filtered) event; True if the tile changed."""
        changed = self._observe(event)
        if changed:
            attention = self.attention
            if attention is not self._attention:
                self._attention = attention
                self.attention_since = event.wall_time if attention is not None else None
        return changed

    def _observe(self, event: Event) -> bool:
        self.last_seq = max(self.last_seq, event.seq)
        self.duration = max(self.duration, event.stream_time)
        if isinstance(event, VoiceEmotion) and event.role is Role.CALLER:
            self.distress = event.distress  # the window: utterance readings are noisier
            self._spark_peak = max(self._spark_peak, event.distress)
            while event.end >= self._spark_until + SPARK_STEP:
                self.spark.append(round(self._spark_peak, 3))
                self._spark_until += SPARK_STEP
                self._spark_peak = event.distress
            # A reading is about one a second or two per call: a tile for each, to every
            # wallboard of a 1,000-call floor, was a third of a hub node's messages.
            if event.end - self._reading_shown < READING_EVERY:
                return False
            self._reading_shown = event.end
            return True
        if isinstance(event, CueRaised):
            self.cues[event.cue_id] = event
            return True
        if isinstance(event, CueCleared):
            return self.cues.pop(event.cue_id, None) is not None
        if isinstance(event, TranscriptFinal) and event.role is Role.CALLER and event.text:
            self.captions.append({"seq": event.seq, "text": event.text, "end": event.end})
            return False
        if isinstance(event, CallTriage):
            self.triage = event
            return True
        if isinstance(event, HandoffRecommended):
            self.handoffs.append(event.reason.value)
            return True
        if isinstance(event, CallStarted):
            return True  # the tile appears before the caller says a word
        if isinstance(event, EngineDegraded | EngineRecovered):
            self.load = event
            return True
        if isinstance(event, CallSummaryFinal):
            self.final = event
            return True
        if isinstance(event, CallEnded):
            self.ended = True
            self.cues.clear()
            return True
        return False

    @property
    def level(self) -> CueLevel | None:
        """The most urgent active distress level (notices do not count)."""
        levels = [
            c.level
            for c in self.cues.values()
            if c.cue in (CueKind.CALLER_DISTRESSED, CueKind.ESCALATING)
        ]
        for level in (CueLevel.HIGH, CueLevel.ELEVATED):
            if level in levels:
                return level
        return None

    @property
    def attention(self) -> CueLevel | None:
        """The most urgent level of any active cue, if it needs a supervisor's eye.

        A possible emergency counts as much as distress; notices (conversation
        habits) do not. The wallboard sorts by it, then by how long it has held:
        never by a reading, so a calm call keeps its place (issue 17).
        """
        levels = {c.level for c in self.cues.values()}
        return next((level for level in ATTENTION if level in levels), None)

    @property
    def why(self) -> str:
        """The most urgent active cue's first reason, in a few words ("breathing trouble")."""
        cues = [c for c in self.cues.values() if c.level is self.attention]
        if not cues:
            return ""
        cue = min(cues, key=lambda c: c.cue_id)  # the first raised: its reason holds
        return cue.evidence[0] if cue.evidence else cue.cue.value.replace("_", " ")

    @property
    def need(self) -> float:
        """How much a call needs an eye, with the voice trend (for API clients).

        The wallboard does not sort by it: a reading moves it every second.
        """
        cue_need = max((_LEVEL_NEED[c.level] for c in self.cues.values()), default=0.0)
        escalating = any(c.cue is CueKind.ESCALATING for c in self.cues.values())
        return round(cue_need + 0.5 * escalating + self.distress, 3)

    def to_dict(self) -> dict[str, Any]:
        m = self.meta
        return {
            "call_id": m.call_id,
            "agent_id": m.agent_id,
            "team": m.team,
            "started_at": round(m.started_at, 3),
            "automated": m.automated,
            "duration": round(self.duration, 1),
            "ended": self.ended,
            "lost": self.lost,
            "seq": self.last_seq,
            "level": self.level.value if self.level else None,
            "distress": round(self.distress, 3),
            "need": self.need,
            "attention": self.attention.value if self.attention else None,
            "attention_since": _rounded(self.attention_since),
            "why": self.why,
            "spark": list(self.spark),
            # Label and topic only: the quote is caption text, shown where captions are.
            "triage": (
                {"label": self.triage.label.value, "topic": self.triage.topic}
                if self.triage
                else None
            ),
            "handoffs": list(self.handoffs),
            # The after-call summary's plain figures (no words of the call), once over.
            "final": (
                {
                    "triage": self.final.triage,
                    "topic": self.final.topic,
                    "distressed_s": round(self.final.distressed_s, 1),
                    "calmer_at_end": self.final.calmer_at_end,
                }
                if self.final is not None
                else None
            ),
            # What the service gives up for this call now (null: nothing).
            "load": (
                {"step": self.load.step, "name": self.load.name, "message": self.load.message}
                if self.load is not None and self.load.step > 0 and not self.ended
                else None
            ),
            "cues": [
                {
                    "cue": c.cue.value,
                    "cue_id": c.cue_id,
                    "level": c.level.value,
                    "message": c.message,
                    "evidence": list(c.evidence),
                    "since": round(c.wall_time, 3),
                }
                for c in sorted(self.cues.values(), key=lambda c: c.cue_id)
            ],
        }
