"""The load governor (issue 15): degrade one step at a time, recover with hysteresis.

A pure state machine on a scripted clock: each test feeds (time, lag) pairs.
"""

from __future__ import annotations

import pytest

from edge.errors import ConfigError
from edge.pipeline.engine import Engine
from edge.pipeline.load import (
    PARTIAL_SPACING,
    READING_SPACING,
    LoadGovernor,
    LoadOptions,
    LoadStep,
    StepChange,
)
from edge.pipeline.options import PipelineOptions

OPTIONS = LoadOptions(lag_budget=2.0, recover_at=0.5, hold=1.0, recover_hold=3.0)


def run(governor: LoadGovernor, script: list[tuple[float, float]]) -> list[tuple[float, LoadStep]]:
    """Feed (time, lag) pairs; the (time, step) of every change."""
    changes: list[tuple[float, LoadStep]] = []
    for now, lag in script:
        change = governor.observe(now, lag)
        if change is not None:
            changes.append((now, change.step))
    return changes


def ticks(start: float, end: float, lag: float, every: float = 0.25) -> list[tuple[float, float]]:
    n = round((end - start) / every)
    return [(start + i * every, lag) for i in range(n + 1)]


def test_lag_within_budget_changes_nothing() -> None:
    """Lag up to the budget, however long, keeps the normal step."""
    governor = LoadGovernor(OPTIONS)
    assert run(governor, ticks(0, 60, 2.0)) == []
    assert governor.step is LoadStep.NORMAL and not governor.at_capacity


def test_degrades_one_step_per_hold_up_to_refusal() -> None:
    """Lag over budget: a step each `hold` seconds, in order, ending at at_capacity."""
    governor = LoadGovernor(OPTIONS)
    changes = run(governor, ticks(0, 10, 5.0))
    assert changes == [
        (1.0, LoadStep.FEWER_PARTIALS),
        (2.0, LoadStep.GREEDY_FINALS),
        (3.0, LoadStep.FEWER_READINGS),
        (4.0, LoadStep.AT_CAPACITY),
    ]
    assert governor.at_capacity


def test_a_short_spike_does_not_degrade() -> None:
    """Over budget for less than `hold`, then back under: no step."""
    governor = LoadGovernor(OPTIONS)
    script = ticks(0, 0.75, 5.0) + ticks(1.0, 5.0, 1.5)
    assert run(governor, script) == []


def test_recovers_one_step_per_recover_hold() -> None:
    """Lag under recover_at x budget: a step back each `recover_hold` seconds, down to normal."""
    governor = LoadGovernor(OPTIONS)
    run(governor, ticks(0, 4, 5.0))
    assert governor.at_capacity
    changes = run(governor, ticks(4.25, 20, 0.5))
    assert changes == [
        (7.25, LoadStep.FEWER_READINGS),
        (10.25, LoadStep.GREEDY_FINALS),
        (13.25, LoadStep.FEWER_PARTIALS),
        (16.25, LoadStep.NORMAL),
    ]


def test_hysteresis_band_holds_the_step() -> None:
    """Between recover_at x budget and the budget the step stays, neither way."""
    governor = LoadGovernor(OPTIONS)
    run(governor, ticks(0, 2, 5.0))
    assert governor.step is LoadStep.GREEDY_FINALS
    assert run(governor, ticks(2.25, 60, 1.5)) == []  # 1.5 s: under 2, over 1
    assert governor.step is LoadStep.GREEDY_FINALS


def test_recovery_restarts_when_lag_rises_again() -> None:
    """A rise above the recovery line resets the recovery clock."""
    governor = LoadGovernor(OPTIONS)
    run(governor, ticks(0, 1, 5.0))
    assert governor.step is LoadStep.FEWER_PARTIALS
    script = [*ticks(1.25, 3.0, 0.2), (3.25, 1.5), *ticks(3.5, 6.25, 0.2)]
    assert run(governor, script) == []  # 2.75 s under since 3.5: not yet 3
    assert run(governor, [(6.5, 0.2)]) == [(6.5, LoadStep.NORMAL)]


def test_each_step_waits_hold_after_the_last_change() -> None:
    """A change needs `hold` seconds to take effect: lag over budget long before counts once."""
    governor = LoadGovernor(OPTIONS)
    # Over budget since 0, but still in the band before: the first step at 1, then 2.
    changes = run(governor, [(0.0, 5.0), (1.0, 5.0), (1.5, 5.0), (2.0, 5.0)])
    assert changes == [(1.0, LoadStep.FEWER_PARTIALS), (2.0, LoadStep.GREEDY_FINALS)]


def test_without_refusal_the_last_step_is_fewer_readings() -> None:
    """refuse = false: the governor degrades but never refuses calls."""
    governor = LoadGovernor(LoadOptions(lag_budget=2.0, hold=1.0, refuse=False))
    run(governor, ticks(0, 30, 9.0))
    assert governor.step is LoadStep.FEWER_READINGS and not governor.at_capacity


def test_zero_budget_never_degrades() -> None:
    """lag_budget = 0 turns the governor off."""
    governor = LoadGovernor(LoadOptions(lag_budget=0))
    assert run(governor, ticks(0, 30, 100.0)) == []


def test_idle_goes_back_to_normal_at_once() -> None:
    """No call live: nothing is behind, the step is normal again (one change)."""
    governor = LoadGovernor(OPTIONS)
    run(governor, ticks(0, 4, 5.0))
    assert governor.idle() == StepChange(LoadStep.AT_CAPACITY, LoadStep.NORMAL, 0.0)
    assert governor.step is LoadStep.NORMAL and governor.idle() is None
    assert run(governor, ticks(5, 5.75, 5.0)) == []  # a new spike counts from its start


def test_change_carries_the_lag_and_direction() -> None:
    """A change says from, to, the lag that caused it, and whether it degraded."""
    governor = LoadGovernor(OPTIONS)
    governor.observe(0.0, 4.0)
    change = governor.observe(1.0, 4.5)
    assert change == StepChange(LoadStep.NORMAL, LoadStep.FEWER_PARTIALS, 4.5) and change.degraded


def test_steps_give_up_in_the_documented_order() -> None:
    """Partials thin first, then finals go greedy, then readings thin; never no readings."""
    fewer = PARTIAL_SPACING
    assert [s.partial_spacing for s in LoadStep] == [1.0, fewer, fewer, None, None]
    assert [s.greedy for s in LoadStep] == [False, False, True, True, True]
    assert [s.reading_spacing for s in LoadStep] == [1, 1, 1, READING_SPACING, READING_SPACING]
    assert LoadStep.FEWER_PARTIALS.words == "Service busy: fewer live captions"
    assert LoadStep.AT_CAPACITY.label == "at_capacity"


@pytest.mark.parametrize(
    "values", [{"lag_budget": 0.1}, {"recover_at": 1.0}, {"hold": 0}, {"recover_hold": -1}]
)
def test_options_out_of_range_are_refused(values: dict[str, float]) -> None:
    """Settings outside their range fail with a config error naming the setting."""
    with pytest.raises(ConfigError, match=next(iter(values))):
        LoadOptions(**values)  # type: ignore[arg-type]


class Lagging:
    """A live call as the engine sees it: a lag the test sets."""

    def __init__(self, lag: float) -> None:
        self.seconds = lag

    def lag(self, now: float) -> float:
        return self.seconds


def test_behind_the_engine_takes_no_more_calls_than_it_had_when_it_fell_behind() -> None:
    """From step 1 the engine is full at the live calls it had when the lag passed the
    budget (an ended call frees a place); at step 4 it is full whatever; back at normal,
    or with refuse = false, it takes calls again."""
    engine = Engine(object(), object(), PipelineOptions(load=OPTIONS))  # type: ignore[arg-type]
    now = [0.0]
    engine.clock = lambda: now[0]

    def look(until: float) -> None:
        while now[0] < until:
            now[0] += 0.25
            engine.check_load()

    try:
        a, b = Lagging(5.0), Lagging(5.0)
        engine.attach(a)
        engine.attach(b)
        assert not engine.full
        look(1.25)
        assert engine.step is LoadStep.FEWER_PARTIALS and engine.full
        engine.detach(b)
        assert not engine.full  # one place free
        engine.attach(c := Lagging(5.0))
        assert engine.full
        look(4.25)
        assert engine.step is LoadStep.AT_CAPACITY
        engine.detach(c)
        assert engine.full  # at capacity: none, however many ended
        a.seconds = 0.2
        look(17.5)
        assert engine.step is LoadStep.NORMAL and not engine.full
        engine.detach(a)
    finally:
        engine.close()
    lenient = Engine(
        object(),  # type: ignore[arg-type]
        object(),  # type: ignore[arg-type]
        PipelineOptions(load=LoadOptions(lag_budget=2.0, hold=1.0, refuse=False)),
    )
    lenient.clock = lambda: now[0]
    try:
        lenient.attach(Lagging(9.0))
        for _ in range(40):
            now[0] += 0.25
            lenient.check_load()
        assert lenient.step is LoadStep.FEWER_READINGS and not lenient.full
    finally:
        lenient.close()
