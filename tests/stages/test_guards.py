from edge.contracts import Hypothesis, RawWord
from edge.stages.guards import GuardOptions, collapse_repeats, normalise, screen
from tests.stages.scripted import hypothesis

OPTIONS = GuardOptions()


def _text(words):
    return normalise(" ".join(w.text for w in words))


def test_thank_you_from_noise_is_dropped():
    """'Thank you.' with low confidence over weak speech is a hallucination."""
    h = hypothesis("Thank you.", prob=0.3)
    assert screen(h, speech_ratio=0.3, options=OPTIONS) == ()


def test_a_real_thank_you_is_kept():
    """'Thank you.' said clearly (confident, mostly speech) is kept: callers say it."""
    h = hypothesis("Thank you.", prob=0.9)
    assert _text(screen(h, speech_ratio=0.9, options=OPTIONS)) == "thank you"


def test_whisper_silence_rule_drops_low_confidence_no_speech():
    """High no-speech probability with low log-probability is dropped."""
    h = Hypothesis(
        words=hypothesis("so what").words,
        avg_logprob=-1.5,
        no_speech_prob=0.8,
        compression_ratio=1.0,
    )
    assert screen(h, speech_ratio=1.0, options=OPTIONS) == ()


def test_music_annotations_are_not_words():
    """'[Music]' and '♪' are removed; nothing else left means no transcript."""
    words = (RawWord(" [Music]", 0, 1, 0.9), RawWord(" ♪", 1, 2, 0.9))
    h = Hypothesis(words=words, avg_logprob=-0.3, no_speech_prob=0.1, compression_ratio=1.0)
    assert screen(h, speech_ratio=1.0, options=OPTIONS) == ()


def test_repetition_loops_are_cut():
    """'I need help' repeated ten times keeps two copies and what follows."""
    words = hypothesis("I need help " * 10 + "please").words
    assert _text(collapse_repeats(words, 2)) == "i need help i need help please"


def test_ordinary_repeats_survive():
    """'no no' and 'very very' are speech, not loops."""
    words = hypothesis("no no I am very very tired").words
    assert _text(collapse_repeats(words, 2)) == "no no i am very very tired"
