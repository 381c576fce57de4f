"""The agent's suggestions: plain words, short, one for every kind of cue."""

from edge.events import CueKind
from edge.stages.guidance import BY_KIND, CONFUSED, TOPICS, suggest
from edge.stages.jargon import find_terms, shipped


def test_no_suggestion_uses_a_word_of_the_jargon_glossary():
    """Guidance for plain speech must itself be plain: no glossary term in any line."""
    lines = [line for _, line in TOPICS + CONFUSED] + list(BY_KIND.values())
    for line in lines:
        assert find_terms(shipped(), line) == [], line
        assert len(line.split()) <= 16, line


def test_the_glossary_explains_in_plain_words_too():
    """Each glossary entry's plain words hold no glossary term and stay short."""
    for term in shipped():
        assert find_terms(shipped(), term.plain) == [], term
        assert len(term.plain.split()) <= 14, term


def test_every_kind_but_the_emergency_has_a_line():
    """possible_emergency is worded by its own stage; every other kind has a fallback."""
    for kind in CueKind:
        if kind is not CueKind.POSSIBLE_EMERGENCY:
            assert suggest(kind), kind


def test_the_most_pressing_topic_wins():
    """Breathing trouble comes before pain, pain before money."""
    evidence = ("money words", "pain words", "breathing trouble")
    assert suggest(CueKind.CALLER_DISTRESSED, evidence).startswith("Ask if they can breathe")
    assert suggest(CueKind.CALLER_DISTRESSED, evidence[:2]).startswith("Ask where it hurts")
