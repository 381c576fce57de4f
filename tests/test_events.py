import json
from pathlib import Path

import pytest

from edge.events import (
    EVENT_TYPES,
    SCHEMA_VERSION,
    CallEnded,
    CallLanguage,
    CallStarted,
    CallSummaryFinal,
    CallTriage,
    CueCleared,
    CueKind,
    CueLevel,
    CueRaised,
    EngineDegraded,
    EngineRecovered,
    FinalReason,
    ProsodyUpdate,
    SchemaError,
    SpeechEnded,
    SpeechStarted,
    TextEmotion,
    TranscriptFinal,
    TranscriptPartial,
    TriageLabel,
    VoiceEmotion,
    Word,
    from_json,
    to_dict,
    to_json,
)
from edge.pipeline.call import Sequencer
from edge.types import CallId, Role

EXAMPLES = [
    EngineDegraded(
        stream_time=12.0,
        step=1,
        name="fewer_partials",
        lag=3.4,
        message="Service busy: fewer live captions",
    ),
    EngineRecovered(stream_time=30.0, step=0, name="normal", lag=0.4, message="Service keeping up"),
    CallStarted(stream_time=0.0, channels=(Role.CALLER, Role.AGENT)),
    CallEnded(stream_time=61.5, duration=61.5),
    CallLanguage(
        stream_time=2.5,
        role=Role.CALLER,
        language="es",
        detected=True,
        probability=0.91,
        text_cues=False,
    ),
    CallLanguage(stream_time=0.0, role=Role.AGENT, language="en", detected=False, text_cues=True),
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
    VoiceEmotion(
        stream_time=4.0,
        role=Role.CALLER,
        start=1.0,
        end=4.0,
        probs=(("neutral", 0.1), ("happy", 0.0), ("sad", 0.2), ("angry", 0.5), ("fearful", 0.2)),
        distress=0.72,
        arousal=0.81,
    ),
    TextEmotion(
        stream_time=3.6,
        role=Role.CALLER,
        utterance=0,
        distress=0.8,
        sentiment=-0.7,
        evidence=("pain words",),
        sensitive_p=0.81,
        other_p=0.02,
        routine_topic="refill",
        sensitive_topic="pain",
    ),
    ProsodyUpdate(
        stream_time=4.0,
        role=Role.CALLER,
        start=1.0,
        end=4.0,
        pitch_hz=212.5,
        pitch_spread=2.1,
        loudness_db=-18.2,
        rate_wps=None,
        pause_ratio=0.12,
        pitch_z=2.4,
        spread_z=None,
        loudness_z=1.9,
        rate_z=None,
        pause_z=-0.3,
        baseline_ready=True,
    ),
    CueRaised(
        stream_time=5.5,
        role=Role.CALLER,
        cue=CueKind.CALLER_DISTRESSED,
        cue_id=1,
        level=CueLevel.ELEVATED,
        score=0.66,
        evidence=("raised voice", "pain words"),
        message="Caller sounds distressed: raised voice, pain words.",
        quote=("my chest hurts",),
        suggestion="Ask where it hurts and how bad it is.",
    ),
    CueCleared(
        stream_time=40.0,
        role=Role.CALLER,
        cue=CueKind.CALLER_DISTRESSED,
        cue_id=1,
        duration=34.5,
    ),
    CallTriage(
        stream_time=6.1,
        role=Role.CALLER,
        label=TriageLabel.SENSITIVE,
        topic="bereavement",
        score=0.93,
        quote=("My husband passed away last week",),
    ),
    CallSummaryFinal(
        stream_time=61.5,
        duration=61.5,
        triage="sensitive",
        topic="bereavement",
        distressed_s=22.5,
        peak_distress=0.88,
        peak_at=31.0,
        end_distress=0.31,
        calmer_at_end=True,
        cues=("caller_distressed", "long_silence"),
        high_cues=1,
        agent_talk_share=0.46,
        agent_wpm=None,
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


def _plain(value) -> bool:
    if isinstance(value, dict):
        return all(type(k) is str and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return type(value) in (str, int, float, bool, type(None))


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: e.type)
def test_to_dict_gives_plain_json_values_only(event):
    """No enum (a CueKind is a str too), tuple or dataclass is left in what to_dict returns."""
    assert _plain(to_dict(event))


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


def test_voice_emotion_probabilities_are_a_json_object():
    """probs is {label: p} in JSON and (label, p) pairs in Python; the event stays hashable."""
    voice = next(e for e in EXAMPLES if isinstance(e, VoiceEmotion))
    data = json.loads(to_json(voice))
    assert data["probs"] == {"neutral": 0.1, "happy": 0.0, "sad": 0.2, "angry": 0.5, "fearful": 0.2}
    assert voice.prob("angry") == 0.5 and voice.prob("bored") == 0.0
    assert hash(from_json(to_json(voice))) == hash(voice)


def test_cue_events_use_plain_names_in_json():
    """Cue kind and level are their string values; evidence is a list of words."""
    raised = next(e for e in EXAMPLES if isinstance(e, CueRaised))
    data = json.loads(to_json(raised))
    assert data["cue"] == "caller_distressed" and data["level"] == "elevated"
    assert data["evidence"] == ["raised voice", "pain words"]


@pytest.mark.parametrize(
    "line,message",
    [
        ('{"v": 99, "type": "call.ended"}', "version 99"),
        ('{"v": 1, "type": "nope"}', "unknown event type"),
        ('{"v": 1, "type": "call.ended", "stream_time": 1}', "malformed call.ended"),
        ("not json", "not valid JSON"),
        (
            '{"v": 1, "type": "emotion.voice", "stream_time": 1, "start": 0, "end": 1,'
            ' "probs": [0.5, 0.5], "distress": 0.1, "arousal": 0.1}',
            "malformed emotion.voice",
        ),
        (
            '{"v": 1, "type": "cue.cleared", "stream_time": 1, "cue": "nope", "cue_id": 1,'
            ' "duration": 1}',
            "malformed cue.cleared",
        ),
    ],
)
def test_bad_json_events_are_refused_clearly(line, message):
    """A reader gets a SchemaError that says what is wrong."""
    with pytest.raises(SchemaError, match=message):
        from_json(line)
