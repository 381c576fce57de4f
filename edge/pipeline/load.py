"""How far behind the engine is, and what it gives up to catch up (issue 15).

A box that silently falls half a minute behind is worse than one that says it
is full. The engine measures each live call's *lag* (how long the oldest audio
received has waited to be processed; how long the oldest utterance whose speech
ended has waited for its final: wall-clock seconds both) and feeds the worst
of them to :class:`LoadGovernor`, a pure state machine on a clock it is given.
While the lag stays over ``[pipeline.load] lag_budget`` the governor degrades
one :class:`LoadStep` at a time; while it stays under ``recover_at`` times the
budget it recovers one step at a time.
Between the two it holds (hysteresis), and after every change it waits
``hold`` seconds (``recover_hold`` going back) for the change to take effect
before it judges again.

The steps, cumulative (docs/server.md, "Under overload"):

0. ``normal``
1. ``fewer_partials``: partials every ``PARTIAL_SPACING`` times ``partial_interval``;
2. ``greedy_finals``: finals decoded greedily (beam 1), no fallback;
3. ``fewer_readings``: no partials, voice readings every ``READING_SPACING``
   times ``hop`` and no separate current-utterance readings;
4. ``at_capacity``: new calls are refused (``1013``); the calls in progress go on.

From step 1 the engine also takes no more calls than it had when it fell
behind (:attr:`edge.pipeline.engine.Engine.full`).

Cues from the voice and the words are the last thing to go: no step stops the
window readings, the finals or the text model.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from edge.settings import POSITIVE, Range, check, setting

PARTIAL_SPACING = 3.0  # fewer_partials: partial_interval times this
READING_SPACING = 2.0  # fewer_readings: the voice's hop times this


class LoadStep(enum.IntEnum):
    """How much the engine gives up to keep its calls' lag within budget."""

    NORMAL = 0
    FEWER_PARTIALS = 1
    GREEDY_FINALS = 2
    FEWER_READINGS = 3
    AT_CAPACITY = 4

    @property
    def label(self) -> str:
        """The step's name in events, metrics and logs: ``fewer_partials``."""
        return self.name.lower()

    @property
    def words(self) -> str:
        """What the step means to an agent, in plain words (the panel shows it)."""
        return _WORDS[self]

    @property
    def partial_spacing(self) -> float | None:
        """Partial interval times this; None: no partials at this step."""
        if self >= LoadStep.FEWER_READINGS:
            return None
        return PARTIAL_SPACING if self >= LoadStep.FEWER_PARTIALS else 1.0

    @property
    def greedy(self) -> bool:
        """Finals decoded in one greedy pass."""
        return self >= LoadStep.GREEDY_FINALS

    @property
    def reading_spacing(self) -> float:
        """The voice's hop times this (current-utterance readings stop when above 1)."""
        return READING_SPACING if self >= LoadStep.FEWER_READINGS else 1.0


_WORDS = {
    LoadStep.NORMAL: "Service keeping up",
    LoadStep.FEWER_PARTIALS: "Service busy: fewer live captions",
    LoadStep.GREEDY_FINALS: "Service busy: fewer live captions, quicker transcripts",
    LoadStep.FEWER_READINGS: "Service busy: captions only when a sentence ends, "
    "fewer voice readings",
    LoadStep.AT_CAPACITY: "Service at capacity: captions only when a sentence ends, "
    "fewer voice readings; new calls go elsewhere",
}


@dataclass(frozen=True, kw_only=True)
class LoadOptions:
    """How far behind the calls may fall before the service degrades, and then refuses calls.

    docs/server.md, "Under overload", lists the steps.
    """

    SECTION: ClassVar[str] = "pipeline.load"

    lag_budget: float = setting(
        3.0,
        help="seconds a live call's processing may trail its audio (audio waiting, or a "
        "final waiting after its speech ended) before the service degrades a step; "
        "0 = never degrade or refuse",
        range=Range(0.2, 600, zero="never degrade or refuse"),
        unit="s",
    )
    recover_at: float = setting(
        0.5,
        help="recover a step once the lag stays under this share of lag_budget",
        range=Range(0.05, 0.95),
    )
    hold: float = setting(
        2.0,
        help="seconds the lag must stay over budget before each further degradation step",
        range=POSITIVE,
        unit="s",
    )
    recover_hold: float = setting(
        5.0,
        help="seconds the lag must stay under recover_at x lag_budget before each step of recovery",
        range=POSITIVE,
        unit="s",
    )
    refuse: bool = setting(
        True,
        help="refuse new calls (1013) while behind: beyond the live calls of when the service "
        "fell behind, and every one at the last step (at_capacity); false = degrade only",
    )

    def __post_init__(self) -> None:
        check(self)


@dataclass(frozen=True)
class StepChange:
    """The governor moved from ``was`` to ``step`` at ``lag`` seconds of lag."""

    was: LoadStep
    step: LoadStep
    lag: float

    @property
    def degraded(self) -> bool:
        return self.step > self.was


class LoadGovernor:
    """The load step from the worst lag over time: ``observe(now, lag) -> StepChange | None``.

    Pure: the caller gives the time (any monotonic clock, seconds) and the lag.
    """

    def __init__(self, options: LoadOptions) -> None:
        self.options = options
        self.step = LoadStep.NORMAL
        self.lag = 0.0  # the last lag observed
        self._top = LoadStep.AT_CAPACITY if options.refuse else LoadStep.FEWER_READINGS
        self._over_since: float | None = None  # the lag has been over budget since
        self._under_since: float | None = None  # ... under the recovery line since
        self._changed_at: float | None = None

    @property
    def at_capacity(self) -> bool:
        return self.step is LoadStep.AT_CAPACITY

    def observe(self, now: float, lag: float) -> StepChange | None:
        """The worst lag of the live calls at ``now``; a change of step, if it is due."""
        self.lag = lag
        budget = self.options.lag_budget
        if not budget:
            return None
        self._over_since = _since(self._over_since, now, lag > budget)
        self._under_since = _since(self._under_since, now, lag < budget * self.options.recover_at)
        settled = self._changed_at  # a change needs time to take effect before the next
        if self._over_since is not None and self.step < self._top:
            since = max(self._over_since, settled) if settled is not None else self._over_since
            if now - since >= self.options.hold:
                return self._move(now, LoadStep(self.step + 1))
        if self._under_since is not None and self.step > LoadStep.NORMAL:
            since = max(self._under_since, settled) if settled is not None else self._under_since
            if now - since >= self.options.recover_hold:
                return self._move(now, LoadStep(self.step - 1))
        return None

    def idle(self) -> StepChange | None:
        """No call is live: nothing is behind, so back to normal at once."""
        self.lag = 0.0
        self._over_since = self._under_since = None
        if self.step is LoadStep.NORMAL:
            return None
        change = StepChange(self.step, LoadStep.NORMAL, 0.0)
        self.step = LoadStep.NORMAL
        self._changed_at = None
        return change

    def _move(self, now: float, step: LoadStep) -> StepChange:
        change = StepChange(self.step, step, self.lag)
        self.step = step
        self._changed_at = now
        return change


def _since(since: float | None, now: float, holds: bool) -> float | None:
    """When a condition that ``holds`` now began (``since``, or now); None when it does not."""
    if not holds:
        return None
    return now if since is None else since
