"""call.triage end to end: espeak-ng callers through the real models, phone band too.

The calls (tests/data/triage, made by make_triage_calls.py) are a greeting, a pause,
then the opening; calls.json says what triage each should get.
"""

from __future__ import annotations

import json

import pytest

from edge.events import CallTriage, TextEmotion, TranscriptFinal
from tests.helpers import DATA, run_file

pytestmark = pytest.mark.slow

CALLS = json.loads((DATA / "triage" / "calls.json").read_text())


@pytest.mark.parametrize("call", CALLS, ids=[c["file"] for c in CALLS])
def test_the_opening_gets_its_triage_and_the_greeting_none(engine, call) -> None:
    """One call.triage, after the opening began (the greeting decides nothing), with the
    label and topic of the opening and words from its caption."""
    events = run_file(engine, DATA / "triage" / call["file"], channels="caller")
    triage = [e for e in events if isinstance(e, CallTriage)]
    heard = [e.text for e in events if isinstance(e, TranscriptFinal)]
    readings = [e for e in events if isinstance(e, TextEmotion)]
    assert len(readings) >= 2, heard  # the greeting was read too, and decided nothing
    assert len(triage) == 1, (heard, triage)
    (event,) = triage
    assert (event.label.value, event.topic) == (call["label"], call["topic"]), heard
    assert event.stream_time >= call["opening_end"]
    assert event.quote and event.quote[0] in heard
