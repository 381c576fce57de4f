"""The after-call summary on a recorded event stream: the bundled sample call as
`edge replay --jsonl` gave it (tests/data/summary/sample_call.jsonl; no models here)."""

from __future__ import annotations

import dataclasses

from edge.events import (
    CallEnded,
    CallSummaryFinal,
    CueCleared,
    CueKind,
    CueRaised,
    VoiceEmotion,
    from_json,
)
from edge.stages.summary import Summarizer, SummaryOptions
from edge.types import Role
from tests.helpers import DATA

EVENTS = [
    from_json(line) for line in (DATA / "summary" / "sample_call.jsonl").read_text().splitlines()
]


def test_the_summary_comes_last_before_the_end_and_offline_gives_the_same():
    """call.summary.final is the event before call.ended; the call's other events fed to a
    new Summarizer give the same summary (offline equals online)."""
    *rest, recorded, ended = EVENTS
    assert isinstance(recorded, CallSummaryFinal) and isinstance(ended, CallEnded)
    assert not any(isinstance(e, CallSummaryFinal) for e in rest)
    summarizer = Summarizer(SummaryOptions())
    for event in rest:
        summarizer.feed(event)
    again = summarizer.summary(ended.duration)
    assert again is not None
    envelope = {"call_id": recorded.call_id, "seq": recorded.seq, "wall_time": recorded.wall_time}
    assert dataclasses.replace(again, **envelope) == recorded


def test_the_recorded_figures_agree_with_the_events_they_come_from():
    """Time distressed is the distress cue's cleared duration, the peak the highest
    caller window, the cues one per id; the triage the last call.triage sent."""
    *rest, summary, _ = EVENTS
    assert isinstance(summary, CallSummaryFinal)
    distress = [e for e in rest if isinstance(e, CueCleared) and e.cue is CueKind.CALLER_DISTRESSED]
    assert summary.distressed_s == sum(e.duration for e in distress) > 0
    windows = [
        e.distress
        for e in rest
        if isinstance(e, VoiceEmotion) and e.role is Role.CALLER and not e.window_repeated
    ]
    assert summary.peak_distress == max(windows)
    ids = dict.fromkeys(e.cue_id for e in rest if isinstance(e, CueRaised))
    assert len(summary.cues) == len(ids)
    assert (summary.triage, summary.topic) == ("sensitive", "distress")
    assert summary.agent_talk_share is not None and 0.3 < summary.agent_talk_share < 0.7
