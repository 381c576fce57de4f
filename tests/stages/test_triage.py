"""The triage watch (edge.stages.triage): scripted finals and readings in, call.triage out."""

from __future__ import annotations

import pytest

from edge.errors import ConfigError
from edge.events import (
    CallTriage,
    CueKind,
    CueLevel,
    CueRaised,
    Event,
    FinalReason,
    TextEmotion,
    TranscriptFinal,
    TriageLabel,
)
from edge.stages.conversation import ConversationOptions
from edge.stages.cues import CueOptions
from edge.stages.signals import CallSignals
from edge.stages.triage import OUTPUTS, TOPICS, TriageOptions, TriageWatch, decide, reading
from edge.types import Role


def said(
    text: str,
    p: float,
    utterance: int,
    *,
    other: float = 0.0,
    routine: str = "refill",
    sensitive: str = "pain",
    role: Role = Role.CALLER,
) -> list[Event]:
    """A final and its text reading: ``p`` the probability that the words are sensitive."""
    at = 2.0 * (utterance + 1)
    return [
        TranscriptFinal(
            stream_time=at,
            role=role,
            utterance=utterance,
            text=text,
            start=at - 1.5,
            end=at - 0.3,
            confidence=0.9,
            reason=FinalReason.PAUSE,
        ),
        TextEmotion(
            stream_time=at + 0.2,
            role=role,
            utterance=utterance,
            distress=0.1,
            sentiment=0.0,
            sensitive_p=p,
            other_p=other,
            routine_topic=routine,
            sensitive_topic=sensitive,
        ),
    ]


def run(watch: TriageWatch, events: list[Event]) -> list[CallTriage]:
    out = []
    for event in events:
        for e in watch.feed(event):
            assert isinstance(e, CallTriage)
            out.append(e)
    return out


def cue(kind: CueKind, quote: tuple[str, ...] = ("I'm so scared",)) -> CueRaised:
    return CueRaised(
        stream_time=30.0,
        role=Role.CALLER,
        cue=kind,
        cue_id=1,
        level=CueLevel.HIGH,
        score=0.8,
        message="Caller sounds distressed.",
        quote=quote,
    )


def test_the_first_topical_final_decides_routine_with_its_topic_and_words():
    """A routine opening: one call.triage, routine, its topic, its score and its words."""
    watch = TriageWatch(TriageOptions())
    (event,) = run(watch, said("I need a repeat prescription for my inhaler.", 0.04, 0))
    assert (event.label, event.topic, event.score) == (TriageLabel.ROUTINE, "refill", 0.04)
    assert event.quote == ("I need a repeat prescription for my inhaler.",)
    assert event.role is Role.CALLER and event.stream_time == pytest.approx(2.2)


def test_a_sensitive_opening_says_sensitive_with_the_sensitive_topic():
    """An opening read at sensitive_at or more: sensitive, with the most likely sensitive topic."""
    watch = TriageWatch(TriageOptions(sensitive_at=0.25))
    opening = said("My husband passed away on Sunday.", 0.3, 0, sensitive="bereavement")
    (event,) = run(watch, opening)
    assert (event.label, event.topic) == (TriageLabel.SENSITIVE, "bereavement")


def test_short_finals_and_call_handling_talk_decide_nothing():
    """ "Hello?", a name, a date of birth: no triage until the caller says why they call."""
    watch = TriageWatch(TriageOptions(min_words=3))
    assert run(watch, said("Hello?", 0.9, 0)) == []  # too short, however it reads
    assert run(watch, said("It's Margaret Hughes speaking.", 0.1, 1, other=0.8)) == []
    (event,) = run(watch, said("Can I book a blood test please?", 0.05, 2, routine="appointment"))
    assert (event.label, event.topic) == (TriageLabel.ROUTINE, "appointment")


def test_call_handling_talk_that_reads_sensitive_still_counts():
    """Recall first: words the head reads sensitive count even when "other" is likely too."""
    watch = TriageWatch(TriageOptions(sensitive_at=0.25))
    (event,) = run(watch, said("Sorry, I'm crying, one moment.", 0.4, 0, other=0.55))
    assert event.label is TriageLabel.SENSITIVE


def test_after_the_opening_only_a_clear_reading_turns_routine_sensitive():
    """Later finals need later_at: 0.6 does not turn a routine call, 0.95 does."""
    watch = TriageWatch(TriageOptions(sensitive_at=0.25, later_at=0.9, opening=1))
    assert run(watch, said("I'd like to book an appointment.", 0.05, 0))[0].label.value == "routine"
    assert run(watch, said("It's the blood pressure tablets.", 0.6, 1)) == []
    (event,) = run(watch, said("And honestly the pain is unbearable.", 0.95, 2))
    assert (event.label, event.topic, event.quote) == (
        TriageLabel.SENSITIVE,
        "pain",
        ("And honestly the pain is unbearable.",),
    )


def test_the_opening_spans_as_many_finals_as_set():
    """With opening = 2, the second topical final is judged at sensitive_at too."""
    watch = TriageWatch(TriageOptions(sensitive_at=0.25, opening=2))
    assert run(watch, said("I got a letter about my bill.", 0.1, 0))[0].label.value == "routine"
    (event,) = run(watch, said("You charged me twice for one visit.", 0.3, 1, sensitive="x"))
    assert event.label is TriageLabel.SENSITIVE


def test_sensitive_is_sticky():
    """Once sensitive, routine words and further cues send nothing."""
    watch = TriageWatch(TriageOptions())
    assert run(watch, said("I've just been told I have cancer.", 0.99, 0))
    assert run(watch, said("Can I book an appointment with the nurse?", 0.01, 1)) == []
    assert run(watch, [cue(CueKind.CALLER_DISTRESSED)]) == []
    assert watch.label is TriageLabel.SENSITIVE


@pytest.mark.parametrize(
    ("kind", "topic"),
    [(CueKind.CALLER_DISTRESSED, "distress"), (CueKind.POSSIBLE_EMERGENCY, "emergency")],
)
def test_a_distress_or_emergency_cue_makes_the_call_sensitive(kind, topic):
    """A distressed caller belongs to a person whatever they called about; the cue's words."""
    watch = TriageWatch(TriageOptions())
    run(watch, said("What time do you open on Saturday?", 0.02, 0, routine="hours"))
    (event,) = run(watch, [cue(kind)])
    assert (event.label, event.topic, event.score) == (TriageLabel.SENSITIVE, topic, 1.0)
    assert event.quote == ("I'm so scared",)


def test_other_cues_the_agents_words_and_a_missing_head_change_nothing():
    """agent_jargon, the agent's finals and readings without a triage head are not triage."""
    watch = TriageWatch(TriageOptions())
    assert run(watch, [cue(CueKind.AGENT_JARGON), cue(CueKind.LONG_SILENCE)]) == []
    assert run(watch, said("I'm so sorry for your loss.", 0.99, 0, role=Role.AGENT)) == []
    assert run(watch, said("My mother died this morning.", 0.0, 1, routine="")) == []
    assert watch.label is None


def test_disabled_or_without_cues():
    """enabled = false: nothing; cues = false: cues do not turn the call."""
    assert run(TriageWatch(TriageOptions(enabled=False)), said("I need help now.", 0.9, 0)) == []
    assert run(TriageWatch(TriageOptions(cues=False)), [cue(CueKind.CALLER_DISTRESSED)]) == []


def test_reset_forgets_the_call():
    """A new call starts undecided."""
    watch = TriageWatch(TriageOptions())
    run(watch, said("My son has been self-harming.", 0.9, 0))
    watch.reset()
    assert watch.label is None
    assert run(watch, said("Where do I park for the clinic?", 0.02, 0))[0].label.value == "routine"


def test_reading_sums_the_sensitive_topics_and_ranks_each_label():
    """P(sensitive) is the sum over the sensitive topics; each label's best topic."""
    probs = [0.0] * len(OUTPUTS)
    probs[TOPICS.index("hours")] = 0.3
    probs[TOPICS.index("billing")] = 0.1
    probs[TOPICS.index("complaint")] = 0.2
    probs[TOPICS.index("billing_dispute")] = 0.25
    probs[-1] = 0.15
    r = reading(probs)
    assert r.sensitive_p == pytest.approx(0.45) and r.other_p == pytest.approx(0.15)
    assert (r.routine_topic, r.sensitive_topic) == ("hours", "billing_dispute")
    with pytest.raises(ValueError, match="probabilities"):
        reading(probs[:-1])


def test_decide_at_a_threshold():
    """Sensitive at the threshold; else other when it outweighs the routine topics."""
    assert decide(0.3, 0.6, 0.3) is TriageLabel.SENSITIVE
    assert decide(0.1, 0.5, 0.3) is None  # routine 0.4 < other 0.5
    assert decide(0.1, 0.3, 0.3) is TriageLabel.ROUTINE


def test_options_refuse_a_later_threshold_below_the_opening_one():
    """later_at is the stricter threshold: below sensitive_at is refused."""
    with pytest.raises(ConfigError, match=r"later_at|sensitive_at"):
        TriageOptions(sensitive_at=0.5, later_at=0.4)


def test_call_signals_sends_triage_after_the_reading_and_after_a_cue_it_raised():
    """Through CallSignals: the reading's triage, then the triage a raised cue causes."""
    signals = CallSignals(ConversationOptions(), CueOptions())
    out: list[Event] = []
    for event in said("Hi, I'd like to book a flu jab.", 0.02, 0, routine="appointment"):
        out += signals.observe(event)
    (routine,) = [e for e in out if isinstance(e, CallTriage)]
    assert routine.label is TriageLabel.ROUTINE
    final = said("My husband isn't breathing", 0.1, 1)[0]
    raised = signals.observe(final)
    assert [type(e) for e in raised] == [CueRaised, CallTriage]
    assert raised[1].topic == "emergency"  # type: ignore[attr-defined]
