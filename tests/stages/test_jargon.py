"""agent_jargon: glossary words the agent says, and what to say instead."""

import pytest

from edge.config import load_config
from edge.errors import ConfigError
from edge.events import CueCleared, CueKind, CueLevel, CueRaised, FinalReason, TranscriptFinal
from edge.stages.conversation import ConversationOptions
from edge.stages.cues import CueOptions
from edge.stages.jargon import JargonOptions, JargonWatch, find_terms, parse_entry, shipped
from edge.stages.signals import CallSignals
from edge.types import Role


def final(text, t, role=Role.AGENT):
    return TranscriptFinal(
        stream_time=t,
        role=role,
        utterance=0,
        text=text,
        start=t - 2.0,
        end=t - 0.5,
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
    return JargonWatch(JargonOptions(**options), Ids())


def test_a_glossary_word_raises_a_notice_with_the_plain_words():
    """ "formulary" said by the agent: a notice naming it, quoting it, saying what to say."""
    w = watch()
    (cue,) = w.feed(final("It's not on the formulary, I'm afraid.", 5.0))
    assert isinstance(cue, CueRaised) and cue.cue is CueKind.AGENT_JARGON
    assert cue.level is CueLevel.NOTICE and cue.role is Role.AGENT
    assert cue.quote == ("formulary",)
    assert cue.message == "The caller may not know \u201cformulary\u201d."
    assert cue.suggestion == (
        "Say \u201cthe list of medicines your plan pays for\u201d instead of \u201cformulary\u201d."
    )


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("You'll need a prior auth for that.", ["prior auth"]),
        ("Your PCP can send it.", ["PCP"]),
        ("The P.C.P. will call you.", ["P.C.P"]),
        ("Is he in-network?", ["in-network"]),
        ("Your co-pays are twenty dollars.", ["co-pays"]),
        (
            "It's a tier 3 drug, so the copay accumulator applies.",
            ["tier 3 drug", "copay accumulator"],
        ),
        ("Nothing by mouth after midnight, so NPO.", ["NPO"]),
        ("We'll titrate the dose.", ["titrate"]),
        ("Er, let me check that for you.", []),  # "er" is no abbreviation
        ("It's a network of clinics.", []),
        ("The pcp field is blank.", []),  # abbreviations only in capitals
    ],
)
def test_terms_are_found_in_their_spellings(text, said):
    """Spellings, hyphens, plurals and dotted abbreviations match; look-alikes do not."""
    assert [f.said for f in find_terms(shipped(), text)] == said


def test_a_term_explained_in_the_same_breath_is_no_cue():
    """ "deductible, that's the amount you pay first": the agent already explained it."""
    w = watch()
    assert (
        w.feed(final("Your deductible, that's the amount you pay before we pay, is met.", 3.0))
        == []
    )
    assert w.feed(final("Your deductible is met.", 9.0))  # unexplained later: flagged


def test_a_term_the_caller_used_first_is_no_cue():
    """A caller who said "copay" knows it; the agent saying it back raises nothing."""
    w = watch()
    assert w.feed(final("What's my copay for this?", 2.0, Role.CALLER)) == []
    assert w.feed(final("Your copay is ten dollars.", 5.0)) == []


def test_one_cue_grows_then_clears_and_a_term_is_not_repeated():
    """A second word while the cue shows re-sends it (same id, both named); it clears
    show_for after the last word; the same word soon after is not flagged again."""
    w = watch(show_for=20.0, repeat_after=600.0)
    (first,) = w.feed(final("Check the formulary.", 1.0))
    (second,) = w.feed(final("You need a prior authorization.", 6.0))
    assert second.cue_id == first.cue_id
    assert second.quote == ("formulary", "prior authorization")
    assert "\u201cformulary\u201d or \u201cprior authorization\u201d" in second.message
    assert w.tick(25.0) == []
    (cleared,) = w.tick(26.0)
    assert isinstance(cleared, CueCleared) and cleared.duration == pytest.approx(25.0)
    assert w.feed(final("It's on the formulary.", 40.0)) == []
    (again,) = w.feed(final("It's a formulary issue.", 700.0))
    assert again.cue_id == first.cue_id + 1


def test_a_site_adds_replaces_and_ignores_terms():
    """terms add words or give shipped ones other plain words; ignore drops them."""
    options = JargonOptions(
        terms=("EHR | e.h.r. = your health record", "formulary = the drug list"),
        ignore=("copay",),
    )
    glossary = {t.name: t for t in options.glossary()}
    assert glossary["EHR"].plain == "your health record"
    assert glossary["formulary"].plain == "the drug list"
    assert "copay" not in glossary
    assert not JargonOptions(shipped=False).glossary()
    with pytest.raises(ConfigError, match="term = plain words"):
        parse_entry("formulary")
    with pytest.raises(ConfigError, match='"copya" is in no glossary entry'):
        JargonOptions(ignore=("copya",))


def test_the_config_file_takes_jargon_settings(tmp_path):
    """[pipeline.jargon] in edge.toml: terms load; a malformed entry is one clear line."""
    path = tmp_path / "edge.toml"
    path.write_text('[pipeline.jargon]\nterms = ["EHR = your health record"]\nignore = ["PCP"]\n')
    config = load_config(path, environ={})
    assert config.pipeline.jargon.terms == ("EHR = your health record",)
    path.write_text('[pipeline.jargon]\nterms = ["just a word"]\n')
    with pytest.raises(ConfigError, match=r"\[pipeline\.jargon\] terms.*term = plain words"):
        load_config(path, environ={})


def test_call_signals_raise_jargon_with_the_calls_own_cue_ids():
    """Wired into CallSignals: agent finals raise agent_jargon; ids come from the one
    sequence of the call's cues."""
    signals = CallSignals(ConversationOptions(), CueOptions())
    assert signals.cues.new_cue_id() == 1
    (cue,) = signals.observe(final("It's a tier 3 drug.", 4.0))
    assert cue.cue is CueKind.AGENT_JARGON and cue.cue_id == 2
    assert any(isinstance(e, CueCleared) for e in signals.tick(30.0))
