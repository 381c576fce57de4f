"""A distress cue follows the caller's words, with the real text model: issue 14's report."""

from __future__ import annotations

import pytest

from edge.adapters.text import MiniLmTextScorer
from edge.events import CueKind, CueRaised, FinalReason, TranscriptFinal, VoiceEmotion, Word
from edge.pipeline.feed import ChannelFeed
from edge.pipeline.options import PipelineOptions
from edge.stages.signals import CallSignals
from edge.types import Role

pytestmark = pytest.mark.slow


CALM = 30.0  # seconds the caller sounds calm before their voice turns distressed


def voice(t: float) -> VoiceEmotion:
    """A scripted reading of the voice model: calm for CALM seconds, then distressed,
    aroused (the voice model's own behaviour is pinned in tests/pipeline/test_distress.py;
    a voice alone raises a cue only when it changes for this caller, issue 13)."""
    calm = t <= CALM
    shares = (("neutral", 0.2), ("angry", 0.1), ("fearful", 0.7))
    return VoiceEmotion(
        stream_time=t,
        role=Role.CALLER,
        start=t - 3.0,
        end=t,
        probs=(("neutral", 0.9), ("angry", 0.05), ("fearful", 0.05)) if calm else shares,
        distress=0.1 if calm else 0.85,
        arousal=0.3 if calm else 0.8,
    )


def test_a_voice_only_cue_is_re_sent_with_the_words_and_their_quote() -> None:
    """A cue raised on the voice alone ("tone of voice only") is re-sent, same id, once
    the caller says "my chest hurts so much": "pain words", the words quoted, and a
    suggestion about pain, the text model's real reading in between."""
    options = PipelineOptions()  # shipped settings, warm-up included
    signals = CallSignals(options.conversation, options.cues)
    events = []
    t = 0.0
    while t < CALM + 30.0:  # half a minute calm, half a minute distressed, every half second
        t = round(t + 0.5, 3)
        events += signals.tick(t) + signals.observe(voice(t))
    (first,) = [e for e in events if isinstance(e, CueRaised)]
    assert first.cue is CueKind.CALLER_DISTRESSED
    assert "tone of voice only" in first.evidence and first.quote == ()
    assert first.message.startswith("Caller may be distressed")

    said = "my chest hurts so much"
    at = CALM + 30.0
    words = tuple(
        Word(w, at + 0.3 * i, at + 0.3 + 0.3 * i, 0.9) for i, w in enumerate(said.split())
    )
    final = TranscriptFinal(
        stream_time=at + 2.0,
        role=Role.CALLER,
        utterance=7,
        text=said,
        start=at,
        end=at + 1.5,
        confidence=0.9,
        reason=FinalReason.PAUSE,
        words=words,
    )
    # The text model's reading as the call's channel makes it (ChannelFeed.text_emotion).
    feed = ChannelFeed(Role.CALLER, threshold=0.5)
    reading = feed.text_emotion(final, MiniLmTextScorer.load().score([final.text])[0])
    assert reading.evidence == ("pain words",) and reading.quote == ("my chest hurts",)
    events = signals.tick(at + 2.0) + signals.observe(final) + signals.observe(reading)
    while t < at + 5.0:
        t = round(t + 0.5, 3)
        events += signals.tick(t) + signals.observe(voice(t))
    raised = [e for e in events if isinstance(e, CueRaised)]
    # The words are also an emergency (chest pain): that cue is separate, with its own id.
    assert {e.cue for e in raised} == {CueKind.CALLER_DISTRESSED, CueKind.POSSIBLE_EMERGENCY}
    resent = [e for e in raised if e.cue is CueKind.CALLER_DISTRESSED]
    assert resent and resent[0].cue_id == first.cue_id
    assert resent[0].stream_time - (at + 2.0) <= 1.0
    assert "pain words" in resent[0].evidence and "tone of voice only" not in resent[0].evidence
    assert resent[0].quote == ("my chest hurts",)
    assert resent[0].suggestion == "Ask where it hurts and how bad it is, from 1 to 10."
    assert resent[0].message.startswith("Caller sounds")
