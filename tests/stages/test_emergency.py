"""The possible_emergency watch pinned by scripted transcripts: categories, what is not an
emergency now, partials, re-sends, hold and clear."""

from __future__ import annotations

import pytest

from edge.errors import ConfigError
from edge.events import (
    CallTriage,
    CueCleared,
    CueKind,
    CueLevel,
    CueRaised,
    FinalReason,
    TextEmotion,
    TranscriptFinal,
    TranscriptPartial,
)
from edge.stages.conversation import ConversationOptions
from edge.stages.cues import CueOptions
from edge.stages.emergency import (
    DEFAULT_PROTOCOL,
    Category,
    EmergencyOptions,
    EmergencyWatch,
    detect,
    vetoed,
)
from edge.stages.signals import CallSignals
from edge.types import Role


def partial(text, at, utterance=0, role=Role.CALLER):
    return TranscriptPartial(
        stream_time=at, role=role, utterance=utterance, text=text, stable="", start=0.0, end=at
    )


def final(text, at, utterance=0, role=Role.CALLER):
    return TranscriptFinal(
        stream_time=at,
        role=role,
        utterance=utterance,
        text=text,
        start=0.0,
        end=at,
        confidence=0.9,
        reason=FinalReason.PAUSE,
    )


def watch(**options):
    ids = iter(range(1, 100))
    return EmergencyWatch(EmergencyOptions(**options), lambda: next(ids))


def categories(text):
    return [f.category for f in detect(text)]


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("I can't get my breath", Category.BREATHING),
        ("my husband isn't breathing", Category.BREATHING),
        ("he's gone blue", Category.BREATHING),
        ("my chest is killing me", Category.CHEST_PAIN),
        ("I think I'm having a heart attack", Category.CHEST_PAIN),
        ("her face is drooping on one side", Category.STROKE),
        ("his speech is slurred and he can't move his left arm", Category.STROKE),
        ("it won't stop bleeding", Category.BLEEDING),
        ("I took all my pills", Category.OVERDOSE),
        ("my toddler swallowed a button battery", Category.OVERDOSE),
        ("I don't want to be here anymore", Category.SELF_HARM),
        ("I'm going to end it", Category.SELF_HARM),
        ("she won't wake up", Category.UNRESPONSIVE),
        ("he's having a seizure", Category.UNRESPONSIVE),
        ("no no he's not breathing", Category.BREATHING),
        ("i'm not feeling great i can't breathe", Category.BREATHING),
    ],
)
def test_everyday_phrasings_raise_their_category(text, category):
    """Each category from the words callers use, third parties and ASR-like lower case too."""
    assert categories(text) == [category]


@pytest.mark.parametrize(
    "text",
    [
        "I'm not short of breath.",
        "No chest pain.",
        "I'm not going to hurt myself.",
        "I don't think it's a stroke, the doctor checked.",
        "My neighbour had a stroke last year.",
        "I had a heart attack in 2015.",
        "The leaflet says call if you can't breathe.",
        "What are the signs of a stroke?",
        "Does this medication cause chest pain?",
        "This bill is killing me.",
        "I'm dying to know.",
        "The view was breathtaking.",
        "My heart sank.",
        "I nearly died laughing.",
        "You nearly gave me a heart attack.",
        "I need a refill of my seizure medication.",
        "Can I book in with the stroke nurse?",
    ],
)
def test_negated_past_reported_and_idioms_raise_nothing(text):
    """Negation, the past, reports, questions about information, idioms and clinic talk."""
    assert detect(text) == []


def test_a_clause_of_its_own_is_read_apart():
    """A negation or a past in one clause does not reach the next one."""
    assert categories("I'm not short of breath but my chest is killing me") == [Category.CHEST_PAIN]
    assert categories("I had a stroke in 2019, and now I can't move my right arm") == [
        Category.STROKE
    ]


def test_quote_is_the_verbatim_span_with_its_subject():
    """The quote is a verbatim piece of the caption, from the subject of the words."""
    text = "Sorry, um, My Husband isn\u2019t breathing!"
    (found,) = detect(text)
    assert found.quote == "My Husband isn\u2019t breathing"
    assert found.quote in text


def test_raised_from_a_partial_at_once_high_with_quote_and_protocol():
    """The first partial with the words raises a high cue: no warm-up, quote, evidence."""
    w = watch()
    assert w.feed(partial("Hello I'm calling", 0.7)) == []
    (cue,) = w.feed(partial("Hello I'm calling because I can't breathe", 1.4))
    assert isinstance(cue, CueRaised)
    assert cue.cue is CueKind.POSSIBLE_EMERGENCY and cue.level is CueLevel.HIGH
    assert cue.role is Role.CALLER and cue.stream_time == 1.4
    assert cue.quote == ("I can't breathe",)
    assert cue.evidence == ("breathing trouble",)
    assert cue.message == "Possible emergency: the caller says someone can't breathe properly."
    assert cue.suggestion == DEFAULT_PROTOCOL
    # The same words again (the next partial, the final) send nothing new.
    assert w.feed(partial("Hello I'm calling because I can't breathe", 2.1)) == []
    assert w.feed(final("Hello, I'm calling because I can't breathe.", 2.8)) == []


def test_final_that_withdraws_the_words_keeps_the_cue():
    """A partial raised it; the final dropped the words: the cue stays (a miss costs more)."""
    w = watch(hold=30.0)
    (cue,) = w.feed(partial("she won't wake up", 1.0))
    assert w.feed(final("she went to wake up", 1.8)) == []
    assert w.active == cue
    assert w.tick(20.0) == []


def test_final_with_other_words_resends_the_quote_of_the_caption():
    """Where the final's words differ from the partial's, the quote follows the final."""
    w = watch()
    (first,) = w.feed(partial("i cant breathe", 1.0))
    (again,) = w.feed(final("I can't breathe.", 1.6))
    assert again.cue_id == first.cue_id
    assert again.quote == ("I can't breathe",)


def test_new_category_resends_same_cue_id_and_other_roles_do_not_count():
    """A new category, or new words in another utterance, re-send the cue with its id."""
    w = watch(self_harm="Transfer to the crisis line now.")
    assert w.feed(final("I can't breathe", 1.0, role=Role.AGENT)) == []
    (first,) = w.feed(final("My chest is killing me.", 2.0))
    (second,) = w.feed(final("I took all my tablets, I want to die.", 6.0, utterance=1))
    assert second.cue_id == first.cue_id
    assert second.evidence == ("chest pain", "overdose or poisoning", "suicide or self-harm")
    assert second.quote == ("My chest is killing me", "I took all my tablets", "I want to die")
    assert second.score == 3.0
    assert second.message == (
        "Possible emergency: the caller describes chest pain, overdose or poisoning "
        "and suicide or self-harm."
    )
    assert second.suggestion == "Transfer to the crisis line now."  # the newest category's own
    (third,) = w.feed(final("my chest is killing me", 9.0, utterance=2))
    assert third.cue_id == first.cue_id  # the same category in new words: re-sent


def test_clears_after_hold_without_triggers_and_raises_a_new_cue_at_once():
    """`hold` seconds after the last trigger it clears; a new trigger raises a new id at once."""
    w = watch(hold=10.0)
    (first,) = w.feed(final("he's collapsed", 1.0))
    w.feed(final("he's collapsed on the floor", 5.0, utterance=1))
    assert w.tick(14.9) == []
    (cleared,) = w.tick(15.0)
    assert isinstance(cleared, CueCleared) and cleared.cue_id == first.cue_id
    assert cleared.duration == 14.0
    (again,) = w.feed(partial("he's not breathing", 15.5, utterance=2))  # no cooldown
    assert isinstance(again, CueRaised) and again.cue_id != first.cue_id
    (ended,) = w.flush(16.0)
    assert isinstance(ended, CueCleared) and ended.cue_id == again.cue_id


def test_disabled_raises_nothing():
    """enabled = false turns the watch off."""
    assert watch(enabled=False).feed(final("I can't breathe", 1.0)) == []


def test_partial_waits_for_the_next_words_where_they_often_undo_it():
    """A simple past or an idiom's first words at the end of a partial wait for the rest."""
    w = watch()
    assert w.feed(partial("my father had a stroke", 1.0)) == []
    assert w.feed(partial("my father had a stroke last year", 1.7)) == []
    assert w.feed(partial("I'm going to end it", 2.5, utterance=1)) == []
    assert w.feed(final("I'm going to end it with my old pharmacy.", 3.0, utterance=1)) == []
    (cue,) = w.feed(final("I'm going to end it.", 6.0, utterance=2))
    assert cue.evidence == ("suicide or self-harm",)


def test_call_signals_shares_one_id_sequence_and_clears_at_call_end():
    """Through CallSignals: ids from the cue machine's sequence; the call's end clears it."""
    signals = CallSignals(ConversationOptions(), CueOptions())
    taken = signals.cues.new_cue_id()
    (cue, triage) = signals.observe(partial("my husband isn't breathing", 2.0))
    assert isinstance(cue, CueRaised) and cue.cue_id == taken + 1
    assert isinstance(triage, CallTriage) and triage.topic == "emergency"  # the call's triage
    assert signals.tick(3.0) == []
    ended = [e for e in signals.flush(4.0) if isinstance(e, CueCleared)]
    assert [e.cue for e in ended] == [CueKind.POSSIBLE_EMERGENCY]


def test_options_refuse_an_empty_protocol():
    """A site must say what its agents do: an empty protocol is refused with the fix."""
    with pytest.raises(ConfigError, match="protocol"):
        EmergencyOptions(protocol="  ")
    assert EmergencyOptions(bleeding="Press on the wound.").protocol_for(Category.BLEEDING) == (
        "Press on the wound."
    )


def reading(category, p, at, utterance=0, role=Role.CALLER):
    """The text model's emotion.text event for a final, with the emergency head's reading."""
    return TextEmotion(
        stream_time=at,
        role=role,
        utterance=utterance,
        distress=0.8,
        sentiment=-0.5,
        emergency=category,
        emergency_p=p,
    )


def test_a_confident_head_reading_raises_the_cue_where_no_rule_matched():
    """No phrase matched the final; the head's confident reading raises it, quoting the final."""
    w = watch()
    text = "Grandad is slumped over in his chair and his eyes are rolling."
    assert detect(text) == [] and not vetoed(text)
    assert w.feed(final(text, 2.0)) == []
    (cue,) = w.feed(reading("unresponsive", 0.8, 2.4))
    assert cue.cue is CueKind.POSSIBLE_EMERGENCY and cue.level is CueLevel.HIGH
    assert cue.evidence == ("unconscious, collapsed or seizure",)
    assert cue.quote == (text,)


def test_a_head_reading_adds_nothing_where_the_rules_found_the_utterance():
    """The rules' finding of a final stands; the head's reading of it is not a second one."""
    w = watch()
    assert len(w.feed(final("My husband isn't breathing.", 2.0))) == 1
    assert w.feed(reading("unresponsive", 0.9, 2.4)) == []
    assert w.active.evidence == ("breathing trouble",)


def test_the_rules_vetoes_hold_against_a_confident_head():
    """Denied, past, reported, questions about facts: no cue whatever the head reads."""
    for n, text in enumerate(
        [
            "I'm not struggling for air at all today.",
            "Grandad went all floppy in his chair back in 2019.",
            "The leaflet says to ring if he goes floppy and grey.",
            "Can a stroke cause memory loss?",
        ]
    ):
        assert vetoed(text), text
        w = watch()
        w.feed(final(text, 2.0, utterance=n))
        assert w.feed(reading("breathing", 0.95, 2.4, utterance=n)) == [], text


def test_a_head_reading_below_head_at_or_of_another_utterance_raises_nothing():
    """Under head_at, for an utterance whose final it never saw, or the agent's: no cue."""
    text = "Grandad is slumped over in his chair and his eyes are rolling."
    w = watch(head_at=0.5)
    w.feed(final(text, 2.0))
    assert w.feed(reading("unresponsive", 0.49, 2.4)) == []
    assert w.feed(reading("unresponsive", 0.9, 2.4, utterance=7)) == []
    assert w.feed(reading("unresponsive", 0.9, 2.4, role=Role.AGENT)) == []
    assert watch(head_at=1.0).feed(final(text, 2.0)) == []
    assert len(w.feed(reading("unresponsive", 0.5, 2.5))) == 1
