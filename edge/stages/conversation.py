"""Who is speaking when: silence, overtalk, talk share and the agent's pace.

The glue passes every speech and transcript event of both channels, and asks
for an observation whenever it wants the cue rules to look (every frame is
fine; the work is a few comparisons):

    tracker.feed(event)                      # SpeechStarted, SpeechEnded, TranscriptFinal
    observation = tracker.observe(now)       # -> CueMachine.tick(now, observation)

Speaking means between a channel's ``speech.started`` and ``speech.ended``,
so pauses shorter than the VAD's ``min_silence`` are part of a turn. The
events come a little after the fact (``speech.started`` after ``min_speech``,
``speech.ended`` after ``min_silence``); the tracker uses the times they carry.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import ClassVar

from edge.events import Event, SpeechEnded, SpeechStarted, TranscriptFinal, Word
from edge.settings import POSITIVE, Order, Range, check, setting
from edge.stages.prosody import speaking_rate
from edge.types import Role


@dataclass(frozen=True, kw_only=True)
class ConversationOptions:
    """Talk time, silences and speaking rate across both sides."""

    SECTION: ClassVar[str] = "pipeline.conversation"
    RULES: ClassVar[tuple[Order, ...]] = (
        Order("min_talk", "talk_window"),
        Order("rate_min_speech", "rate_window"),
    )

    talk_window: float = setting(
        60.0, help="seconds the agent's share of talk time covers", range=Range(5, 3600)
    )
    min_talk: float = setting(
        10.0, help="seconds of talk (both sides) before a share is given", range=POSITIVE
    )
    rate_window: float = setting(
        15.0, help="seconds the agent's speaking rate covers", range=Range(2, 600)
    )
    rate_min_speech: float = setting(
        8.0, help="seconds of agent speech in it before a rate is given", range=POSITIVE
    )

    def __post_init__(self) -> None:
        check(self)


@dataclass(frozen=True, kw_only=True)
class ConversationObservation:
    """The state of the conversation at ``time`` (stream seconds)."""

    time: float
    caller_speaking: bool
    agent_speaking: bool
    silence: float  # seconds no one has spoken; 0 while someone speaks or before anyone has
    overtalk: float  # seconds both have been speaking at once; 0 unless both are
    agent_talk_ratio: float | None  # agent's share of talk time in the window; None: too little
    agent_rate_wps: float | None  # agent's words per second of speech; None: too little


class ConversationTracker:
    """Speech and transcript events of both channels in; observations out."""

    def __init__(self, options: ConversationOptions) -> None:
        self.options = options
        self.reset()

    def reset(self) -> None:
        self._open: dict[Role, float] = {}  # role -> start of its speech in progress
        self._turns: collections.deque[tuple[Role, float, float]] = collections.deque()
        self._last_end: float | None = None  # end of the latest finished speech
        self._agent_finals: collections.deque[tuple[Word, ...]] = collections.deque()

    def feed(self, event: Event) -> None:
        """A channel event; those other than speech and agent finals are ignored."""
        if event.role is None:
            return
        if isinstance(event, SpeechStarted):
            self._open.setdefault(event.role, event.start)
        elif isinstance(event, SpeechEnded):
            start = self._open.pop(event.role, event.start)
            self._turns.append((event.role, start, event.end))
            self._last_end = max(self._last_end or event.end, event.end)
        elif isinstance(event, TranscriptFinal) and event.role is Role.AGENT and event.words:
            self._agent_finals.append(event.words)

    def flush(self, now: float) -> None:
        """End of call: speech still open ends now."""
        for role, start in self._open.items():
            self._turns.append((role, start, now))
            self._last_end = now
        self._open.clear()

    def observe(self, now: float) -> ConversationObservation:
        self._forget(now)
        caller = Role.CALLER in self._open
        agent = Role.AGENT in self._open
        silence = 0.0
        if not self._open and self._last_end is not None:
            silence = max(now - self._last_end, 0.0)
        overtalk = 0.0
        if caller and agent:
            overtalk = max(now - max(self._open.values()), 0.0)
        return ConversationObservation(
            time=now,
            caller_speaking=caller,
            agent_speaking=agent,
            silence=silence,
            overtalk=overtalk,
            agent_talk_ratio=self._talk_ratio(now),
            agent_rate_wps=self._agent_rate(now),
        )

    # -- internals ------------------------------------------------------

    def _forget(self, now: float) -> None:
        since = now - max(self.options.talk_window, self.options.rate_window)
        while self._turns and self._turns[0][2] < since:
            self._turns.popleft()
        while self._agent_finals and self._agent_finals[0][-1].end < since:
            self._agent_finals.popleft()

    def _talk(self, now: float, since: float) -> dict[Role, float]:
        """Seconds each role spoke between ``since`` and ``now``."""
        talk = dict.fromkeys(Role, 0.0)
        spans = [(r, s, e) for r, s, e in self._turns] + [
            (r, s, now) for r, s in self._open.items()
        ]
        for role, start, end in spans:
            talk[role] += max(min(end, now) - max(start, since), 0.0)
        return talk

    def _talk_ratio(self, now: float) -> float | None:
        talk = self._talk(now, now - self.options.talk_window)
        total = talk[Role.AGENT] + talk[Role.CALLER]
        return talk[Role.AGENT] / total if total >= self.options.min_talk else None

    def _agent_rate(self, now: float) -> float | None:
        words, seconds = speaking_rate(self._agent_finals, now - self.options.rate_window)
        if seconds < self.options.rate_min_speech:
            return None
        return words / seconds
