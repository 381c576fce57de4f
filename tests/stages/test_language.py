"""ChannelLanguage: the language a channel is decoded in, configured or detected once."""

from edge.contracts import Hypothesis, RawWord
from edge.events import CallLanguage
from edge.stages.language import DETECT_SECONDS, ChannelLanguage
from edge.types import Role

ENGLISH_TEXT = frozenset({"en"})


def heard(language: str | None, probability: float | None) -> Hypothesis:
    words = (RawWord(" hola", 0.0, 0.4, 0.9),) if language else ()
    return Hypothesis(
        words,
        avg_logprob=-0.2,
        no_speech_prob=0.01,
        compression_ratio=1.1,
        language=language,
        language_probability=probability,
    )


def test_a_configured_language_is_told_once_with_the_first_audio():
    """language = "es": decoded in es from the start, one call.language, text cues off."""
    channel = ChannelLanguage(Role.CALLER, "es", text_languages=ENGLISH_TEXT)
    assert channel.language == "es"
    (told,) = channel.start(0.0)
    assert told == CallLanguage(
        stream_time=0.0,
        role=Role.CALLER,
        language="es",
        detected=False,
        probability=None,
        text_cues=False,
    )
    assert channel.start(0.032) == []
    assert channel.heard(heard("es", 1.0), utterance=0, speech=3.0, final=True, now=3.5) == []
    assert not channel.reads_final(0)


def test_english_configured_keeps_text_cues():
    """language = "en": text cues on, every final is read by the text model."""
    channel = ChannelLanguage(Role.CALLER, "en", text_languages=ENGLISH_TEXT)
    assert channel.start(0.0)[0].text_cues
    channel.heard(heard("en", 1.0), utterance=0, speech=1.0, final=True, now=1.5)
    assert channel.reads_final(0)


def test_auto_detects_on_enough_speech_then_fixes_the_language():
    """auto: detect per job until DETECT_SECONDS of speech, then that language holds."""
    channel = ChannelLanguage(Role.CALLER, "auto", text_languages=ENGLISH_TEXT)
    assert channel.start(0.0) == [] and channel.language is None
    short = DETECT_SECONDS - 0.5
    assert channel.heard(heard("it", 0.95), utterance=0, speech=short, final=False, now=1) == []
    assert channel.language is None
    (told,) = channel.heard(
        heard("es", 0.91), utterance=0, speech=DETECT_SECONDS, final=False, now=2.4
    )
    assert (told.language, told.detected, told.probability, told.text_cues) == (
        "es",
        True,
        0.91,
        False,
    )
    assert told.stream_time == 2.4 and told.role is Role.CALLER
    assert channel.language == "es"
    assert channel.heard(heard("pt", 0.99), utterance=1, speech=5.0, final=True, now=9) == []
    assert channel.language == "es"


def test_auto_waits_for_a_sure_detection():
    """A partial needs 0.8, a final 0.5; less sure, the next utterance is detected again."""
    channel = ChannelLanguage(Role.CALLER, "auto", text_languages=ENGLISH_TEXT)
    assert channel.heard(heard("th", 0.73), utterance=0, speech=2.2, final=False, now=3) == []
    assert channel.heard(heard("he", 0.31), utterance=0, speech=4.6, final=True, now=5) == []
    assert channel.language is None
    (told,) = channel.heard(heard("vi", 0.72), utterance=1, speech=2.8, final=True, now=9)
    assert told.language == "vi" and channel.language == "vi"


def test_before_detection_each_final_is_read_in_its_own_language():
    """auto: an English final before detection is read by the text model; a Spanish one is not."""
    channel = ChannelLanguage(Role.CALLER, "auto", text_languages=ENGLISH_TEXT)
    channel.heard(heard("en", 0.4), utterance=0, speech=0.8, final=True, now=1)
    channel.heard(heard("es", 0.4), utterance=1, speech=0.8, final=True, now=2)
    assert channel.reads_final(0)
    assert not channel.reads_final(1)


def test_a_failed_transcription_tells_nothing():
    """A job that failed (no language decoded) neither fixes nor records a language."""
    channel = ChannelLanguage(Role.AGENT, "auto", text_languages=ENGLISH_TEXT)
    assert channel.heard(heard(None, None), utterance=0, speech=9.0, final=True, now=9) == []
    assert channel.language is None and not channel.reads_final(0)


def test_no_text_model_means_no_text_cues():
    """With the text model off, even English says text_cues false."""
    channel = ChannelLanguage(Role.CALLER, "en", text_languages=frozenset())
    assert not channel.start(0.0)[0].text_cues
