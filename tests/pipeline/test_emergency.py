"""possible_emergency end to end: espeak-ng callers through the real models, phone band too.

The calls (tests/data/emergency, made by make_emergency_calls.py) are an ordinary
sentence, a pause, then the phrase; calls.json says where the phrase ends.
"""

from __future__ import annotations

import json

import pytest

from edge.events import CueKind, CueRaised, TranscriptFinal
from tests.helpers import DATA, TIME_FACTOR, run_file

pytestmark = pytest.mark.slow

CALLS = json.loads((DATA / "emergency" / "calls.json").read_text())
LATENCY = 1.0  # seconds of stream time after the phrase's last word (issue 14)


@pytest.mark.parametrize("call", CALLS, ids=[c["file"] for c in CALLS])
def test_emergency_phrase_raises_the_cue_within_a_second(engine, call) -> None:
    """An emergency phrase raises possible_emergency within 1 s of its end, never before
    it began; a negated or past one raises none."""
    events = run_file(engine, DATA / "emergency" / call["file"], channels="caller")
    cues = [e for e in events if isinstance(e, CueRaised) and e.cue is CueKind.POSSIBLE_EMERGENCY]
    heard = [e.text for e in events if isinstance(e, TranscriptFinal)]
    if not call["emergency"]:
        assert cues == [], heard
        return
    assert cues, f"no cue for {call['phrase']!r}; heard {heard}"
    first = cues[0]
    assert first.stream_time >= call["phrase_start"]
    assert first.stream_time - call["phrase_end"] <= LATENCY * TIME_FACTOR, heard
    assert first.quote and first.evidence and first.suggestion
    assert all(q in " ".join(e.text for e in events if hasattr(e, "text")) for q in first.quote)
