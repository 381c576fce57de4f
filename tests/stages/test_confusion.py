"""caller_confused: the caller does not follow."""

import pytest

from edge.events import CueCleared, CueKind, CueLevel, CueRaised, FinalReason, TranscriptFinal
from edge.stages.confusion import (
    AGAIN,
    HESITATED,
    SAID_SO,
    SAME_QUESTION,
    WHAT_MEANS,
    ConfusionOptions,
    ConfusionWatch,
    phrase_signs,
)
from edge.stages.guidance import suggest
from edge.stages.jargon import shipped
from edge.types import Role


def final(text, start, end=None, role=Role.CALLER):
    end = start + 1.5 if end is None else end
    return TranscriptFinal(
        stream_time=end + 0.5,
        role=role,
        utterance=0,
        text=text,
        start=start,
        end=end,
        confidence=0.9,
        reason=FinalReason.PAUSE,
    )


class Ids:
    def __init__(self):
        self.next = 0

    def __call__(self):
        self.next += 1
        return self.next


def watch(**options):
    return ConfusionWatch(ConfusionOptions(**options), Ids(), shipped())


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("I'm sorry, I don't understand.", [SAID_SO]),
        ("You've lost me there.", [SAID_SO]),
        ("What does that mean?", [WHAT_MEANS]),
        ("What's a formulary?", [WHAT_MEANS]),
        ("Can you say that again, please?", [AGAIN]),
        ("Sorry, what?", [AGAIN]),
        ("What do you mean you lost my file?", []),  # anger, not confusion
        ("I didn't understand at first, but now I do.", []),
        ("Sorry, what was your name again?", []),
        ("Can you send that again?", []),
        ("I understand, thank you.", []),
        ("I'm lost for words, thank you so much.", []),
    ],
)
def test_phrases_and_their_look_alikes(text, kinds):
    """The confusion phrases, and the look-alikes each rule leaves alone."""
    assert [s.kind for s in phrase_signs(text)] == kinds


def test_a_phrase_raises_a_notice_quoting_the_callers_words():
    """ "I don't understand" raises caller_confused with the words and a plain suggestion."""
    w = watch()
    (cue,) = w.feed(final("Sorry, I don't understand what you're saying.", 10.0))
    assert isinstance(cue, CueRaised) and cue.cue is CueKind.CALLER_CONFUSED
    assert cue.level is CueLevel.NOTICE and cue.role is Role.CALLER
    assert cue.quote == ("I don't understand",)
    assert cue.evidence == (SAID_SO,)
    assert cue.suggestion == suggest(CueKind.CALLER_CONFUSED, (SAID_SO,))


def test_asking_about_a_glossary_word_gets_its_plain_words():
    """ "What's a deductible?": the suggestion explains it with the glossary's words."""
    w = watch()
    (cue,) = w.feed(final("What's a deductible?", 3.0))
    assert cue.suggestion.startswith("Explain \u201cdeductible\u201d in plain words")
    assert "before your plan starts paying" in cue.suggestion


def test_the_same_question_after_an_answer_is_a_sign():
    """The caller asks again what the agent just answered: the answer did not land."""
    w = watch()
    assert w.feed(final("When is my next appointment with the heart doctor?", 0.0)) == []
    assert w.feed(final("It's on the fourth, at ten in the morning.", 3.0, role=Role.AGENT)) == []
    (cue,) = w.feed(final("So when is the appointment with the heart doctor?", 7.0))
    assert cue.evidence == (SAME_QUESTION,)
    unanswered = watch()  # asked twice in a row, with no answer between: no sign
    unanswered.feed(final("When is my next appointment with the heart doctor?", 0.0))
    assert unanswered.feed(final("When is my appointment with the heart doctor?", 3.0)) == []


def test_a_long_pause_after_a_question_then_um_is_a_sign():
    """The agent asks; six seconds later the caller begins "Um..."; two seconds later
    is no sign, nor is a sure reply after six."""
    w = watch(hesitation=5.0)
    w.feed(final("Do you want the morning or the afternoon slot?", 0.0, 3.0, Role.AGENT))
    (cue,) = w.feed(final("Um, I, I'm not sure.", 9.0))
    assert cue.evidence == (HESITATED,) and cue.quote == ("Um, I, I'm not",)
    quick = watch(hesitation=5.0)
    quick.feed(final("Do you want the morning slot?", 0.0, 3.0, Role.AGENT))
    assert quick.feed(final("Um, the morning.", 5.0)) == []
    sure = watch(hesitation=5.0)
    sure.feed(final("Do you want the morning slot?", 0.0, 3.0, Role.AGENT))
    assert sure.feed(final("The morning, please.", 9.0)) == []


def test_signs_add_to_one_cue_which_clears_and_cools_down():
    """A second sign re-sends the cue (same id, both quotes); it clears show_for after
    the last; a sign within the cooldown raises nothing."""
    w = watch(show_for=20.0, cooldown=30.0)
    (first,) = w.feed(final("Sorry, what?", 1.0))
    (second,) = w.feed(final("I don't understand.", 8.0))
    assert second.cue_id == first.cue_id and second.evidence == (AGAIN, SAID_SO)
    assert second.quote == ("Sorry, what?", "I don't understand")
    assert w.tick(20.0) == []
    (cleared,) = w.tick(30.0)
    assert isinstance(cleared, CueCleared)
    assert w.feed(final("Pardon?", 40.0)) == []
    (again,) = w.feed(final("Pardon?", 70.0))
    assert again.cue_id == first.cue_id + 1
    assert isinstance(w.flush(75.0)[0], CueCleared)
