"""The hand-off watch (edge.stages.handoff): scripted call events in, handoff.recommended out."""

from __future__ import annotations

import pytest

from edge.errors import ConfigError
from edge.events import (
    CallTriage,
    CueCleared,
    CueKind,
    CueLevel,
    CueRaised,
    Event,
    FinalReason,
    HandoffReason,
    HandoffRecommended,
    TranscriptFinal,
    TriageLabel,
    from_json,
    to_json,
)
from edge.stages.conversation import ConversationOptions
from edge.stages.cues import CueOptions
from edge.stages.handoff import HandoffOptions, HandoffWatch, asks_for_person, bot_failed
from edge.stages.signals import CallSignals
from edge.types import Role


def final(text: str, at: float, role: Role = Role.CALLER) -> TranscriptFinal:
    return TranscriptFinal(
        stream_time=at,
        role=role,
        utterance=int(at),
        text=text,
        start=at - 1.0,
        end=at,
        confidence=0.9,
        reason=FinalReason.PAUSE,
    )


def raised(cue: CueKind, level: CueLevel, at: float, cue_id: int = 1) -> CueRaised:
    return CueRaised(
        stream_time=at, role=Role.CALLER, cue=cue, cue_id=cue_id, level=level, score=0.8, message=""
    )


def triage(label: TriageLabel, topic: str, at: float) -> CallTriage:
    return CallTriage(stream_time=at, label=label, topic=topic, score=0.1, quote=("my", "words"))


def run(watch: HandoffWatch, events: list[Event]) -> list[HandoffRecommended]:
    out: list[Event] = []
    for event in events:
        out += watch.feed(event)
    assert all(isinstance(e, HandoffRecommended) for e in out)
    return [e for e in out if isinstance(e, HandoffRecommended)]


@pytest.mark.parametrize(
    "text",
    [
        "Can I speak to a representative please",
        "I want to talk to a real person",
        "operator",
        "Let me speak to someone",
        "I'd like to talk with a human being",
    ],
)
def test_asks_for_person(text: str) -> None:
    """The ways a caller asks for a person are recognised."""
    assert asks_for_person(text)


@pytest.mark.parametrize(
    "text",
    ["I need a refill of my heart medication", "my personal details changed", "thank you"],
)
def test_not_an_ask(text: str) -> None:
    """Ordinary caller words are not an ask."""
    assert not asks_for_person(text)


def test_bot_failed_phrases() -> None:
    """The automated side's "did not understand" phrases are recognised, typographic
    apostrophes included; an ordinary prompt is not."""
    assert bot_failed("Sorry, I didn\u2019t get that.")
    assert bot_failed("I didn't understand. Please say that again.")
    assert not bot_failed("Which pharmacy would you like to use?")


def test_ask_once_per_reason_and_summary_counts_asks() -> None:
    """Two asks give one recommendation; the summary says the topic and the count so far."""
    watch = HandoffWatch(HandoffOptions())
    out = run(
        watch,
        [
            triage(TriageLabel.ROUTINE, "refill", 3.0),
            final("I want a real person", 4.0),
            final("operator, operator", 6.0),
        ],
    )
    assert [e.reason for e in out] == [HandoffReason.ASKED]
    assert (
        out[0].summary == "Calling about a prescription refill (routine); asked for a person once"
    )
    assert watch.asks == 2
    assert "asked for a person twice" in watch.summary(7.0)


def test_zero_key_asks_and_other_keys_do_not() -> None:
    """Pressing 0 asks for a person; any other key does nothing."""
    watch = HandoffWatch(HandoffOptions())
    assert watch.press("5", 1.0) == []
    (event,) = watch.press("0", 2.0)
    assert isinstance(event, HandoffRecommended)
    assert event.reason is HandoffReason.ASKED and event.stream_time == 2.0
    assert watch.press("0", 3.0) == []  # once per reason


def test_distress_needs_elevated_and_its_time_is_summed() -> None:
    """A notice-level distress cue does not hand off, elevated does; the time distressed
    counts from the first raise to the clear, and the summary says it without words."""
    watch = HandoffWatch(HandoffOptions())
    events: list[Event] = [
        triage(TriageLabel.ROUTINE, "refill", 2.0),
        raised(CueKind.CALLER_DISTRESSED, CueLevel.NOTICE, 10.0),
    ]
    assert run(watch, events) == []
    out = run(watch, [raised(CueKind.CALLER_DISTRESSED, CueLevel.ELEVATED, 30.0)])
    assert [e.reason for e in out] == [HandoffReason.DISTRESSED]
    assert out[0].distressed_s == 20.0
    assert out[0].summary == "Calling about a prescription refill (routine); distressed for 20 s"
    run(watch, [CueCleared(stream_time=50.0, cue=CueKind.CALLER_DISTRESSED, cue_id=1, duration=40)])
    assert watch.distressed_s(80.0) == 40.0
    assert "my" not in watch.summary(80.0) and "words" not in watch.summary(80.0)


def test_emergency_hands_off_at_any_level() -> None:
    """A possible_emergency cue is a distressed hand-off, and the summary says so."""
    out = run(
        HandoffWatch(HandoffOptions()),
        [raised(CueKind.POSSIBLE_EMERGENCY, CueLevel.NOTICE, 5.0)],
    )
    assert [e.reason for e in out] == [HandoffReason.DISTRESSED]
    assert out[0].summary == "Topic not known yet; possible emergency"


def test_sensitive_triage_hands_off_once() -> None:
    """call.triage sensitive hands off; a second sensitive reading does not repeat it."""
    watch = HandoffWatch(HandoffOptions())
    out = run(
        watch,
        [triage(TriageLabel.ROUTINE, "hours", 2.0), triage(TriageLabel.SENSITIVE, "pain", 5.0)],
    )
    out += run(watch, [triage(TriageLabel.SENSITIVE, "symptoms", 8.0)])
    assert [(e.reason, e.topic, e.triage) for e in out] == [
        (HandoffReason.SENSITIVE, "pain", "sensitive")
    ]


def test_bot_failing_after_n_failures_on_the_agent_channel() -> None:
    """The bot's "didn't understand" hands off at the bot_failures-th time; the caller
    saying it does not count."""
    watch = HandoffWatch(HandoffOptions(bot_failures=3))
    said = [
        final("Sorry, I didn't get that.", 2.0, Role.AGENT),
        final("I didn't understand the question", 3.0),  # the caller: no
        final("I did not understand. Please say that again.", 5.0, Role.AGENT),
    ]
    assert run(watch, said) == []
    out = run(watch, [final("Sorry, I didn't catch that.", 8.0, Role.AGENT)])
    assert [e.reason for e in out] == [HandoffReason.BOT_FAILING]
    assert out[0].bot_failures == 3
    assert "did not understand 3 times" in out[0].summary


def test_signals_hand_off_only_on_automated_calls() -> None:
    """CallSignals with handoff options hands off (and on the 0 key); without, it never does."""
    automated = CallSignals(ConversationOptions(), CueOptions(), handoff=HandoffOptions())
    person = CallSignals(ConversationOptions(), CueOptions())
    ask = final("Can I talk to a real person", 3.0)
    kinds = [type(e) for e in automated.observe(ask)]
    assert HandoffRecommended in kinds
    assert HandoffRecommended not in [type(e) for e in person.observe(ask)]
    assert person.press("0") == [] and automated.press("0") == []  # asked already
    fresh = CallSignals(ConversationOptions(), CueOptions(), handoff=HandoffOptions())
    assert [type(e) for e in fresh.press("0")] == [HandoffRecommended]


def test_event_round_trips_json() -> None:
    """handoff.recommended survives its JSON form, reason typed."""
    (event,) = HandoffWatch(HandoffOptions()).press("0", 1.5)
    back = from_json(to_json(event))
    assert back == event and isinstance(back, HandoffRecommended)
    assert back.reason is HandoffReason.ASKED


def test_options_refuse_a_bad_url() -> None:
    """[handoff] url must be an http(s) URL or empty."""
    with pytest.raises(ConfigError):
        HandoffOptions(url="ftp://x")
