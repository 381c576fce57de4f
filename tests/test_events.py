import json
from pathlib import Path

import pytest

from edge.events import (
    EVENT_TYPES,
    SCHEMA_VERSION,
    CallEnded,
    CallStarted,
    FinalReason,
    SchemaError,
    SpeechEnded,
    SpeechStarted,
    TranscriptFinal,
    TranscriptPartial,
    Word,
    from_json,
    to_json,
)
from edge.pipeline.call import Sequencer
from edge.types import CallId, Role

EXAMPLES = [
    CallStarted(stream_time=0.0, channels=(Role.CALLER, Role.AGENT)),
    CallEnded(stream_time=61.5, duration=61.5),
    SpeechStarted(stream_time=1.2, role=Role.CALLER, utterance=0, start=0.9),
    SpeechEnded(stream_time=3.5, role=Role.AGENT, utterance=0, start=0.9, end=3.0),
    TranscriptPartial(
        stream_time=2.0,
        role=Role.CALLER,
        utterance=0,
        text="I have been",
        stable="I have",
        start=0.9,
        end=1.9,
    ),
    TranscriptFinal(
        stream_time=3.5,
        role=Role.CALLER,
        utterance=0,
        text="I have been waiting.",
        start=0.9,
        end=3.0,
        confidence=0.87,
        reason=FinalReason.PAUSE,
        words=(Word("I", 0.9, 1.0, 0.9), Word("have", 1.0, 1.3, 0.8)),
    ),
]


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: e.type)
def test_every_event_round_trips_through_json(event):
    """to_json then from_json gives back an equal event."""
    stamped = Sequencer(CallId("c1"), clock=lambda: 1700000000.5).stamp(event)
    line = to_json(stamped)
    data = json.loads(line)
    assert data["v"] == SCHEMA_VERSION and data["type"] == event.type
    assert list(data)[:7] == ["v", "type", "stream_time", "role", "call_id", "seq", "wall_time"]
    assert from_json(line) == stamped


def test_sequencer_numbers_events_without_gaps():
    """The sequencer stamps 1, 2, 3 and the call id."""
    seq = Sequencer(CallId("c9"))
    stamped = [seq.stamp(e) for e in EXAMPLES]
    assert [e.seq for e in stamped] == list(range(1, len(EXAMPLES) + 1))
    assert {e.call_id for e in stamped} == {"c9"}


def test_every_event_type_is_documented():
    """docs/events.md has a section for each event type and the current version."""
    doc = (Path(__file__).parents[1] / "docs" / "events.md").read_text()
    assert f"version {SCHEMA_VERSION}" in doc
    for name in EVENT_TYPES:
        assert f"### `{name}`" in doc


@pytest.mark.parametrize(
    "line,message",
    [
        ('{"v": 99, "type": "call.ended"}', "version 99"),
        ('{"v": 1, "type": "nope"}', "unknown event type"),
        ('{"v": 1, "type": "call.ended", "stream_time": 1}', "malformed call.ended"),
        ("not json", "not valid JSON"),
    ],
)
def test_bad_json_events_are_refused_clearly(line, message):
    """A reader gets a SchemaError that says what is wrong."""
    with pytest.raises(SchemaError, match=message):
        from_json(line)
