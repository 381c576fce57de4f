"""caller_confused and agent_jargon end to end: a recorded call through the whole pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.events import CueKind, CueRaised, TranscriptFinal
from edge.types import Role
from tests.helpers import run_file

pytestmark = pytest.mark.slow

CALL = Path(__file__).parents[1] / "data" / "conversation_cues.flac"


def test_the_agents_jargon_and_the_callers_question_raise_their_cues(engine) -> None:
    """The agent says "formulary" and "prior authorization", the caller asks "what
    does that mean?": Whisper's finals raise agent_jargon with the plain words and
    caller_confused, each quoting the caption words it rests on."""
    events = run_file(engine, CALL, channels="caller,agent")
    said = {e.role: e.text for e in events if isinstance(e, TranscriptFinal)}
    cues = {e.cue: e for e in events if isinstance(e, CueRaised)}
    jargon, confused = cues[CueKind.AGENT_JARGON], cues[CueKind.CALLER_CONFUSED]
    # tiny.en hears "formulary" as "forum"; "prior authorization" comes through.
    assert jargon.role is Role.AGENT and "prior authorization" in jargon.quote
    assert (
        "Say \u201capproval from your plan before you get it\u201d instead of "
        "\u201cprior authorization\u201d."
    ) in jargon.suggestion
    assert all(q in said[Role.AGENT] for q in jargon.quote), said
    assert confused.role is Role.CALLER and confused.evidence == ("asked what a word means",)
    assert all(q.lower() in said[Role.CALLER].lower() for q in confused.quote), said
    assert jargon.cue_id != confused.cue_id
