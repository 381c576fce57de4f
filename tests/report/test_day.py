"""A day's kept summaries read back from the event log, and the report's figures
checked against what the scripted day was planned to be (no models)."""

from __future__ import annotations

import dataclasses
import json
import statistics
from collections import Counter
from pathlib import Path

import pytest

from edge.errors import ConfigError
from edge.events import (
    CallEnded,
    CallStarted,
    FinalReason,
    SpeechEnded,
    TranscriptFinal,
)
from edge.report.day import NO_TEAM, figures, kept_calls, read_day
from edge.server.hub import Hub
from edge.server.options import PrivacyOptions, Share
from edge.server.summary import CallMeta
from edge.stages.summary import Summarizer, SummaryOptions
from edge.types import CallId, Role
from tests.report.scripted import DAY, expected_handoffs, write_day


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    folder = tmp_path_factory.mktemp("events")
    return folder, write_day(folder)


def test_the_figures_are_the_scripted_days(day) -> None:
    """Calls, distressed callers and those who calmed, the median time distressed,
    verdicts, cues per team, triage and hand-offs come out as the day was scripted."""
    folder, plan = day
    calls = read_day(folder, DAY)
    f = figures(DAY, calls)
    distressed = [c for c in plan if c.distress_at is not None]
    assert f.calls == len(plan) == 40
    assert f.distressed_calls == len(distressed) > 5
    assert f.calmer_known == len(distressed)
    assert f.calmer == sum(c.calmer for c in distressed) > 0
    assert f.calmer < f.calmer_known  # some callers stayed distressed to the end
    assert f.median_distressed_s == statistics.median(c.distress_s for c in distressed)
    verdicts = [v for c in plan for v in c.verdicts]
    assert (f.verdicts, f.helpful) == (len(verdicts), verdicts.count("right"))
    assert f.handoffs == expected_handoffs(plan)
    assert f.triage == Counter("sensitive" if c.sensitive else "routine" for c in plan)
    per_team = Counter(c.team for c in plan for _ in range(bool(c.distress_at) + bool(c.other_cue)))
    assert {t: sum(n.values()) for t, n in f.cues_per_team.items()} == per_team
    assert set(f.hours) == set(range(8, 16))
    assert sum(h.calls for h in f.hours.values()) == 40


def test_the_last_verdict_on_a_cue_counts_and_unreadable_lines_are_skipped() -> None:
    """A second verdict on a cue replaces the first (as in the verdict store); a broken
    line, a call without a summary and a summary without a team are read as they can be."""
    summary = {"type": "call.summary.final", "call_id": "c1", "wall_time": 1.0, "duration": 60.0}
    lines = [
        "not json",
        json.dumps({"type": "call.started", "call_id": "c0"}),  # never summarised
        json.dumps(summary),
        json.dumps({"type": "feedback", "call_id": "c1", "verdict_id": "v", "verdict": "right"}),
        json.dumps({"type": "feedback", "call_id": "c1", "verdict_id": "v", "verdict": "wrong"}),
    ]
    (call,) = kept_calls(lines)
    assert (call.call_id, call.team, call.verdicts) == ("c1", NO_TEAM, ("wrong",))


def test_a_kept_summary_holds_no_transcript_text_even_when_transcripts_are_shared() -> None:
    """With share = "transcripts", the event log has the agent's words in its finals;
    its call.summary.final line has none of them, and names the call's team."""
    said = "your date of birth please and the member number"
    logged: list[str] = []
    hub = Hub(PrivacyOptions(share=Share.TRANSCRIPTS), record=logged.append)
    hub.open_call(CallMeta("c1", "a1", "oncology", "test", 0.0))
    final = TranscriptFinal(
        stream_time=9.0, role=Role.AGENT, utterance=0, text=said, start=1.0, end=9.0,
        confidence=0.9, reason=FinalReason.PAUSE,
    )  # fmt: skip
    events = [
        CallStarted(stream_time=0.0, channels=(Role.CALLER, Role.AGENT)),
        SpeechEnded(stream_time=9.0, role=Role.AGENT, utterance=0, start=1.0, end=9.0),
        final,
    ]
    summarizer = Summarizer(SummaryOptions())
    for event in events:
        summarizer.feed(event)
    summary = summarizer.summary(10.0)
    assert summary is not None and summary.agent_wpm is not None
    for seq, event in enumerate([*events, summary, CallEnded(stream_time=10.0, duration=10.0)]):
        hub.publish("c1", _stamp(event, seq + 1))
    (line,) = [json.loads(x) for x in logged if '"call.summary.final"' in x]
    assert any(said in x for x in logged)  # the final is logged: shared transcripts
    assert line["team"] == "oncology" and line["agent_wpm"] == summary.agent_wpm
    for word in said.split():
        assert word not in json.dumps(line)


def _stamp(event, seq: int):
    return dataclasses.replace(event, call_id=CallId("c1"), seq=seq, wall_time=100.0 + seq)


def test_no_day_file_no_summaries_and_no_folder_are_one_line_each(tmp_path: Path) -> None:
    """Each says what is missing and what to give instead."""
    with pytest.raises(ConfigError, match="no such folder"):
        read_day(tmp_path / "nope", DAY)
    with pytest.raises(ConfigError, match="does not exist"):
        read_day(tmp_path, DAY)
    (tmp_path / f"events-{DAY}.jsonl").write_text('{"type":"call.started","call_id":"c"}\n')
    with pytest.raises(ConfigError, match=r"no call\.summary\.final lines"):
        read_day(tmp_path, DAY)
