"""How readings print in the terminal (`edge replay --signals`)."""

from __future__ import annotations

from dataclasses import replace

from edge.cli.format import readable
from edge.events import CallLanguage, CueKind, CueLevel, CueRaised, VoiceEmotion
from edge.types import Role

WINDOW = VoiceEmotion(
    stream_time=12.0,
    role=Role.CALLER,
    start=9.0,
    end=12.0,
    probs=(("neutral", 0.7), ("angry", 0.3)),
    distress=0.3,
    arousal=0.4,
    onset_distress=0.81,
    utterance_start=11.0,
)


def test_a_window_reading_shows_the_utterance_beside_it() -> None:
    line = readable(WINDOW)
    assert "distress 0.30" in line and "mostly neutral (0.70)" in line
    assert line.endswith("current utterance 0.81")


def test_an_utterance_only_reading_does_not_repeat_the_window() -> None:
    line = readable(replace(WINDOW, stream_time=12.25, onset_distress=0.9, window_repeated=True))
    assert line.endswith("voice: current utterance alone, distress 0.90")
    assert "0.30" not in line


def test_the_language_line_says_how_it_was_known_and_whether_text_cues_run() -> None:
    """call.language prints the code, detected or configured, and the text cues' state."""
    detected = CallLanguage(
        stream_time=2.4,
        role=Role.CALLER,
        language="es",
        detected=True,
        probability=0.91,
        text_cues=False,
    )
    line = readable(detected)
    assert line.startswith("00:02.40 caller")
    assert "language es (detected, 0.91); text cues off" in line
    configured = replace(detected, language="en", detected=False, probability=None, text_cues=True)
    assert readable(configured).endswith("language en (configured); text cues on")


def test_a_cue_prints_its_message_and_suggestion() -> None:
    """`edge replay` shows what the agent could do, after the cue's message."""
    cue = CueRaised(
        stream_time=30.0,
        role=Role.AGENT,
        cue=CueKind.AGENT_JARGON,
        cue_id=3,
        level=CueLevel.NOTICE,
        score=1.0,
        message="The caller may not know \u201cformulary\u201d.",
        quote=("formulary",),
        suggestion="Say \u201cthe list of medicines your plan pays for\u201d instead.",
    )
    line = readable(cue)
    assert "CUE agent_jargon (notice): The caller may not know" in line
    assert line.endswith("Try: Say \u201cthe list of medicines your plan pays for\u201d instead.")
