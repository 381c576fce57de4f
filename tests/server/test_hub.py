"""The hub without sockets: privacy, resume buffers, tiles and who receives what."""

from __future__ import annotations

import dataclasses
import json

import pytest

from edge.events import (
    CallEnded,
    CallStarted,
    CallSummaryFinal,
    CallTriage,
    CueKind,
    CueLevel,
    CueRaised,
    FinalReason,
    TextEmotion,
    TranscriptFinal,
    TriageLabel,
    VoiceEmotion,
    Word,
)
from edge.server.auth import OPEN, Principal
from edge.server.hub import Hub, Subscription, View
from edge.server.options import PrivacyOptions, Share, TokenRole
from edge.server.outbox import Outbox
from edge.server.protocol import Refused
from edge.server.summary import CallMeta
from edge.types import CallId, Role
from tests.stages.test_redact import growing


def meta(call_id: str, agent: str = "a1", team: str = "t1") -> CallMeta:
    return CallMeta(call_id=call_id, agent_id=agent, team=team, source="s", started_at=0.0)


class Stamp:
    def __init__(self, call_id: str) -> None:
        self.call_id, self.seq = call_id, 0

    def __call__(self, event):
        import dataclasses

        self.seq += 1
        return dataclasses.replace(event, call_id=CallId(self.call_id), seq=self.seq)


def final(text: str, t: float = 1.0) -> TranscriptFinal:
    return TranscriptFinal(
        stream_time=t,
        role=Role.CALLER,
        utterance=1,
        text=text,
        start=0.0,
        end=t,
        confidence=0.9,
        reason=FinalReason.PAUSE,
    )


def voice(distress: float, t: float) -> VoiceEmotion:
    return VoiceEmotion(
        stream_time=t,
        role=Role.CALLER,
        start=t - 3,
        end=t,
        probs=(("neutral", 1 - distress), ("angry", distress)),
        distress=distress,
        arousal=0.5,
    )


def cue(level: CueLevel, t: float, cue_id: int = 1) -> CueRaised:
    return CueRaised(
        stream_time=t,
        role=Role.CALLER,
        cue=CueKind.CALLER_DISTRESSED,
        cue_id=cue_id,
        level=level,
        score=0.8,
        evidence=("raised voice",),
        message="Caller sounds distressed: raised voice.",
    )


def sub(view: View, **fields) -> Subscription:
    return Subscription(principal=OPEN, view=view, outbox=Outbox(1000), **fields)


def drain(s: Subscription) -> list[dict]:
    out = []
    while (m := s.outbox.get_nowait()) is not None:
        out.append(json.loads(m))
    return out


@pytest.mark.parametrize(
    ("said", "tag", "secret"),
    [
        ("call me back on 555-123-4567 please", "[phone]", "4567"),
        ("my date of birth is March 14 1952", "[date of birth]", "1952"),
        ("my social is 123-45-6789", "[ssn]", "6789"),
        ("the card is 4111 1111 1111 1111", "[card]", "1111"),
        ("email me at jane.doe@example.com", "[email]", "example"),
        ("my member id is ABC12345", "[member id]", "ABC12345"),
    ],
)
def test_transcripts_leave_redacted_and_stay_redacted_for_resume(said, tag, secret) -> None:
    """Each PHI kind is masked before fan-out and in the buffer a resuming client reads."""
    hub = Hub(PrivacyOptions())
    hub.open_call(meta("c1"))
    live = sub(View.AGENT, agent_id="a1")
    hub.attach(live, {})
    stamp = Stamp("c1")
    hub.publish("c1", stamp(CallStarted(stream_time=0.0, channels=(Role.CALLER,))))
    hub.publish("c1", stamp(final(said)))
    late = sub(View.AGENT, agent_id="a1")
    hub.attach(late, {"c1": 1})
    for got in (drain(live)[-1], drain(late)[-1]):
        assert got["type"] == "transcript.final"
        assert tag in got["text"] and secret not in json.dumps(got)


def test_share_cues_keeps_transcripts_in_and_seq_shows_the_skip() -> None:
    """share = cues: finals never reach a subscriber; the next event keeps its own seq."""
    hub = Hub(PrivacyOptions(share=Share.CUES))
    hub.open_call(meta("c1"))
    s = sub(View.AGENT, agent_id="a1")
    hub.attach(s, {})
    stamp = Stamp("c1")
    hub.publish("c1", stamp(final("I can't breathe")))
    hub.publish("c1", stamp(cue(CueLevel.HIGH, 2.0)))
    got = drain(s)
    assert [m["type"] for m in got] == ["cue.raised"] and got[0]["seq"] == 2


def test_wallboard_tiles_sort_by_need_and_alerts_reach_the_team_only() -> None:
    """A distressed call's tile outranks a calm one; another team's alerts stay away."""
    hub = Hub(PrivacyOptions())
    for call_id, team in (("calm", "t1"), ("upset", "t1"), ("other", "t2")):
        hub.open_call(meta(call_id, agent=call_id, team=team))
    stamps = {c: Stamp(c) for c in ("calm", "upset", "other")}
    for t in range(1, 30):
        hub.publish("calm", stamps["calm"](voice(0.1, float(t))))
        hub.publish("upset", stamps["upset"](voice(0.8, float(t))))
    hub.publish("upset", stamps["upset"](cue(CueLevel.ELEVATED, 30.0)))
    hub.publish("other", stamps["other"](cue(CueLevel.HIGH, 30.0)))
    board = sub(View.WALLBOARD, teams=("t1",))
    hub.attach(board, {})
    got = drain(board)
    tiles = [m["call"]["call_id"] for m in got if m["type"] == "call.summary"]
    assert tiles == ["upset", "calm"]
    alerts = [m for m in got if m["type"] == "alert"]
    assert [a["call_id"] for a in alerts] == ["upset"]
    upset = next(m["call"] for m in got if m["type"] == "call.summary")
    assert upset["level"] == "elevated" and len(upset["spark"]) >= 10
    assert upset["cues"][0]["message"].startswith("Caller sounds distressed")


def test_one_alert_per_cue_and_a_rise_updates_it() -> None:
    """A cue raised again at its level adds nothing; elevated to high updates its one alert."""
    hub = Hub(PrivacyOptions())
    hub.open_call(meta("c1"))
    board = sub(View.WALLBOARD)
    hub.attach(board, {})
    stamp = Stamp("c1")
    for level in (CueLevel.ELEVATED, CueLevel.ELEVATED, CueLevel.HIGH, CueLevel.HIGH):
        hub.publish("c1", stamp(cue(level, 2.0)))
    alerts = [m for m in drain(board) if m["type"] == "alert"]
    assert [(a["cue_id"], a["level"]) for a in alerts] == [(1, "elevated"), (1, "high")]
    assert [(key, a["level"]) for key, a in hub.alerts.items()] == [(("c1", 1), "high")]


def test_the_tile_says_why_and_since_when_and_a_reading_leaves_it_there() -> None:
    """attention, attention_since and why follow the cues; voice readings change neither."""
    hub = Hub(PrivacyOptions())
    hub.open_call(meta("c1"))
    stamp = Stamp("c1")
    hub.publish("c1", stamp(dataclasses.replace(cue(CueLevel.ELEVATED, 2.0), wall_time=50.0)))
    hub.publish("c1", stamp(dataclasses.replace(voice(0.9, 3.0), wall_time=51.0)))
    tile = hub.calls["c1"].summary.to_dict()
    assert (tile["attention"], tile["attention_since"], tile["why"]) == (
        "elevated",
        50.0,
        "raised voice",
    )
    hub.publish("c1", stamp(dataclasses.replace(cue(CueLevel.HIGH, 4.0), wall_time=52.0)))
    hub.publish("c1", stamp(dataclasses.replace(cue(CueLevel.HIGH, 5.0), wall_time=53.0)))
    tile = hub.calls["c1"].summary.to_dict()
    assert (tile["attention"], tile["attention_since"]) == ("high", 52.0)


def test_an_acknowledgement_reaches_the_teams_wallboards_and_later_ones() -> None:
    """Who and when go to every wallboard of the alert's team, now and on a new subscribe;
    another team's supervisor can neither acknowledge it nor see it."""
    now = [1000.0]
    hub = Hub(PrivacyOptions(), clock=lambda: now[0])
    hub.open_call(meta("c1", team="t1"))
    boss = Principal("sup-ann", TokenRole.SUPERVISOR, teams=("t1",))
    other = Principal("sup-bob", TokenRole.SUPERVISOR, teams=("t2",))
    boards = [sub(View.WALLBOARD, teams=("t1",)), sub(View.WALLBOARD, teams=("t2",))]
    for board in boards:
        hub.attach(board, {})
    hub.publish("c1", Stamp("c1")(cue(CueLevel.HIGH, 2.0)))
    for board in boards:
        drain(board)
    with pytest.raises(Refused, match="no alert 'c1'/1 of yours"):
        hub.acknowledge(other, ("t2",), {"call_id": "c1", "cue_id": 1})
    with pytest.raises(Refused, match="no alert 'c1'/9 of yours"):
        hub.acknowledge(boss, ("t1",), {"call_id": "c1", "cue_id": 9})
    hub.acknowledge(boss, ("t1",), {"call_id": "c1", "cue_id": 1})
    (seen,) = drain(boards[0])
    assert (seen["type"], seen["acked_by"], seen["acked_at"]) == ("alert", "sup-ann", 1000.0)
    assert drain(boards[1]) == []
    later = sub(View.WALLBOARD, teams=("t1",))
    hub.attach(later, {})
    (synced,) = [m for m in drain(later) if m["type"] == "alert"]
    assert synced["acked_by"] == "sup-ann"


def test_an_acknowledgement_decided_elsewhere_stands_over_one_made_here() -> None:
    """acknowledged() (the fleet's bus): it replaces a local one and tells the wallboards once;
    one for an earlier raise of the cue (it has risen since) changes nothing."""
    hub = Hub(PrivacyOptions(), clock=lambda: 1000.0)
    hub.open_call(meta("c1", team="t1"))
    board = sub(View.WALLBOARD, teams=("t1",))
    hub.attach(board, {})
    stamp = Stamp("c1")
    hub.publish("c1", stamp(cue(CueLevel.ELEVATED, 2.0)))
    boss = Principal("sup-ann", TokenRole.SUPERVISOR, teams=("t1",))
    hub.acknowledge(boss, ("t1",), {"call_id": "c1", "cue_id": 1})
    seq = hub.alerts[("c1", 1)]["seq"]
    drain(board)
    hub.acknowledged("c1", 1, seq, "sup-bob", 999.5)
    (seen,) = drain(board)
    assert (seen["acked_by"], seen["acked_at"]) == ("sup-bob", 999.5)
    hub.acknowledged("c1", 1, seq, "sup-bob", 999.5)  # read again (floor, then catch-up)
    assert drain(board) == []
    hub.publish("c1", stamp(cue(CueLevel.HIGH, 3.0)))  # risen: a fresh acknowledgement
    drain(board)
    hub.acknowledged("c1", 1, seq, "sup-cy", 999.0)
    assert drain(board) == [] and hub.alerts[("c1", 1)]["acked_by"] is None


def test_ended_calls_linger_then_are_removed_from_wallboards() -> None:
    """After call.ended the tile stays `linger` seconds, then `call.removed` is sent."""
    now = [100.0]
    hub = Hub(PrivacyOptions(), linger=60, clock=lambda: now[0])
    hub.open_call(meta("c1"))
    board = sub(View.WALLBOARD)
    hub.attach(board, {})
    hub.publish("c1", Stamp("c1")(CallEnded(stream_time=5.0, duration=5.0)))
    hub.prune()
    assert "c1" in hub.calls
    now[0] += 61
    hub.prune()
    assert "c1" not in hub.calls
    assert drain(board)[-1] == {"type": "call.removed", "call_id": "c1"}


def test_a_live_call_id_cannot_be_opened_twice_but_an_ended_one_can() -> None:
    """4009 while streaming; the id is free again once the call has ended."""
    hub = Hub(PrivacyOptions())
    hub.open_call(meta("c1"))
    with pytest.raises(Refused) as refused:
        hub.open_call(meta("c1"))
    assert refused.value.code == 4009
    hub.publish("c1", Stamp("c1")(CallEnded(stream_time=1.0, duration=1.0)))
    hub.open_call(meta("c1"))


def test_feedback_is_recorded_with_the_cue_it_concerns() -> None:
    """A report names the cue, its level, score and evidence, and who sent it; no transcript."""
    hub = Hub(PrivacyOptions(), clock=lambda: 1000.0)
    hub.open_call(meta("c1"))
    stamp = Stamp("c1")
    hub.publish("c1", stamp(final("my chest hurts")))
    hub.publish("c1", stamp(cue(CueLevel.HIGH, 3.0, cue_id=7)))
    report = hub.record_feedback(OPEN, {"call_id": "c1", "cue_id": 7, "verdict": "wrong"})
    assert report["cue"] == "caller_distressed" and report["level"] == "high"
    assert report["evidence"] == ["raised voice"] and report["by"] == "open"
    assert "chest" not in json.dumps(report)
    assert report["peak"] == report["score"] and report["reason"] == ""
    with pytest.raises(Refused):
        hub.record_feedback(OPEN, {"call_id": "c1", "cue_id": 8})


@pytest.mark.parametrize("reason", ["my chest hurts", "x" * 33, 7, "name:Ann"])
def test_a_feedback_reason_is_one_short_word_or_refused(reason: object) -> None:
    """`reason` is kept when it is one word (at most 32 characters); a sentence, which
    could carry what the caller said, is refused with a message that does not echo it."""
    kept: list[dict] = []
    hub = Hub(PrivacyOptions(), clock=lambda: 1000.0, keep=kept.append)
    hub.open_call(meta("c1"))
    stamp = Stamp("c1")
    hub.publish("c1", stamp(cue(CueLevel.HIGH, 3.0, cue_id=7)))
    report = hub.record_feedback(
        OPEN, {"call_id": "c1", "cue_id": 7, "verdict": "right", "reason": "misheard"}
    )
    assert (report["verdict"], report["reason"]) == ("right", "misheard")
    assert hub.record_feedback(OPEN, {"call_id": "c1", "cue_id": 7})["reason"] == ""
    with pytest.raises(Refused, match="one word of at most 32") as refused:
        hub.record_feedback(OPEN, {"call_id": "c1", "cue_id": 7, "reason": reason})
    assert refused.value.code == 1008 and "chest" not in str(refused.value)
    assert len(kept) == 2


def test_a_late_subscriber_gets_the_events_when_only_readings_would_overflow() -> None:
    """Missed readings coalesce to the newest, so they do not force a snapshot; missed
    events that would not fit the queue do."""
    hub = Hub(PrivacyOptions())
    hub.open_call(meta("c1"))
    stamp = Stamp("c1")
    for k in range(40):  # far more readings than half the queue below
        hub.publish("c1", stamp(voice(0.1, 1.0 + 0.25 * k)))
    hub.publish("c1", stamp(cue(CueLevel.ELEVATED, 12.0)))
    late = Subscription(principal=OPEN, view=View.AGENT, outbox=Outbox(8), agent_id="a1")
    hub.attach(late, {})
    got = drain(late)
    assert [m["type"] for m in got] == ["emotion.voice", "cue.raised"]
    assert got[0]["seq"] == 40
    for k in range(6):
        hub.publish("c1", stamp(cue(CueLevel.HIGH, 13.0 + k, cue_id=2 + k)))
    later = Subscription(principal=OPEN, view=View.AGENT, outbox=Outbox(8), agent_id="a1")
    hub.attach(later, {})
    assert drain(later)[0]["type"] == "call.snapshot"


def test_a_snapshot_after_the_call_carries_its_summary() -> None:
    """A panel that catches up by snapshot once the call is over still gets the
    after-call summary (``final``), not only the tile."""
    hub = Hub(PrivacyOptions())
    hub.open_call(meta("c1"))
    stamp = Stamp("c1")
    for k in range(6):
        hub.publish("c1", stamp(cue(CueLevel.HIGH, 3.0 + k, cue_id=1 + k)))
    summary = CallSummaryFinal(stream_time=20.0, duration=20.0, triage="routine", topic="refill")
    hub.publish("c1", stamp(summary))
    hub.publish("c1", stamp(CallEnded(stream_time=20.0, duration=20.0)))
    late = Subscription(principal=OPEN, view=View.AGENT, outbox=Outbox(8), agent_id="a1")
    hub.attach(late, {})
    snapshot = drain(late)[0]
    assert snapshot["type"] == "call.snapshot"
    assert snapshot["final"]["type"] == "call.summary.final"
    assert (snapshot["final"]["topic"], snapshot["final"]["duration"]) == ("refill", 20.0)


def _final(text: str, t: float, utterance: int) -> TranscriptFinal:
    said = text.split()
    return TranscriptFinal(
        stream_time=t + 0.3 * len(said),
        role=Role.CALLER,
        utterance=utterance,
        text=text,
        start=t,
        end=t + 0.3 * len(said),
        confidence=0.9,
        reason=FinalReason.PAUSE,
        words=tuple(Word(w, t + 0.3 * k, t + 0.3 * k + 0.2, 0.9) for k, w in enumerate(said)),
    )


def test_phi_spread_over_utterances_never_leaves_the_hub() -> None:
    """A birthday's year and a phone number's rest in the next utterance are masked
    in every partial, final, resumed message, snapshot caption and event log line."""
    logged: list[str] = []
    hub = Hub(PrivacyOptions(), resume_events=3, record=logged.append)
    hub.open_call(meta("c1"))
    live = sub(View.AGENT, agent_id="a1")
    hub.attach(live, {})
    stamp = Stamp("c1")
    said = [
        ("My birthday is March third", 0.0),
        ("nineteen fifty.", 3.0),
        ("You can call me on 808.", 5.0),
        ("5, 5, 5, 1, 2, 3, 4.", 7.0),
    ]
    for n, (text, t) in enumerate(said, 1):
        for event in [*growing(text, t, n), _final(text, t, n)]:
            hub.publish("c1", stamp(event))
    snapshot = sub(View.AGENT, agent_id="a1")
    hub.attach(snapshot, {"c1": 1})
    sent = [json.dumps(m) for m in drain(live) + drain(snapshot)] + logged
    assert any("call.snapshot" in m for m in sent)
    for message in sent:
        for secret in ("third", "fifty", "nineteen", "808", "5, 5", "1, 2"):
            assert secret not in message, message


@pytest.mark.parametrize(
    ("share", "redact", "expected"),
    [
        (Share.TRANSCRIPTS, False, ["call me on 555-123-4567, I can't breathe"]),
        (Share.TRANSCRIPTS, True, ["call me on [phone], I can't breathe"]),
        (Share.CUES, True, []),
    ],
)
def test_a_cues_quoted_words_leave_only_as_transcripts_do(share, redact, expected) -> None:
    """A cue's quote is caption text: dropped with share = cues, redacted with redact."""
    hub = Hub(PrivacyOptions(share=share, redact=redact))
    hub.open_call(meta("c1"))
    s = sub(View.AGENT, agent_id="a1")
    hub.attach(s, {})
    said = "call me on 555-123-4567, I can't breathe"
    raised = dataclasses.replace(cue(CueLevel.HIGH, 2.0), quote=(said,))
    hub.publish("c1", Stamp("c1")(raised))
    (got,) = drain(s)
    assert got["type"] == "cue.raised" and got["quote"] == expected


@pytest.mark.parametrize(
    ("share", "redact", "expected"),
    [
        (Share.TRANSCRIPTS, False, ["my husband died, call me on 555-123-4567"]),
        (Share.TRANSCRIPTS, True, ["my husband died, call me on [phone]"]),
        (Share.CUES, False, []),
    ],
)
def test_a_triages_quoted_words_leave_only_as_transcripts_do(share, redact, expected) -> None:
    """call.triage's quote is caption text: dropped with share = cues, redacted with redact;
    its label and topic always leave."""
    hub = Hub(PrivacyOptions(share=share, redact=redact))
    hub.open_call(meta("c1"))
    s = sub(View.AGENT, agent_id="a1")
    hub.attach(s, {})
    triage = CallTriage(
        stream_time=2.0,
        role=Role.CALLER,
        label=TriageLabel.SENSITIVE,
        topic="bereavement",
        score=0.97,
        quote=("my husband died, call me on 555-123-4567",),
    )
    hub.publish("c1", Stamp("c1")(triage))
    (got,) = drain(s)
    assert got["type"] == "call.triage" and got["quote"] == expected
    assert (got["label"], got["topic"]) == ("sensitive", "bereavement")


@pytest.mark.parametrize(
    ("share", "redact", "expected"),
    [
        (Share.TRANSCRIPTS, False, ["call me on 555-123-4567", "My chest hurts"]),
        (Share.TRANSCRIPTS, True, ["call me on [phone]", "My chest hurts"]),
        (Share.CUES, False, []),
        (Share.CUES, True, []),
    ],
)
def test_a_text_readings_quoted_words_leave_only_as_transcripts_do(share, redact, expected):
    """emotion.text's quote is caption text: dropped with share = cues, redacted with redact."""
    hub = Hub(PrivacyOptions(share=share, redact=redact))
    hub.open_call(meta("c1"))
    s = sub(View.AGENT, agent_id="a1")
    hub.attach(s, {})
    reading = TextEmotion(
        stream_time=2.0,
        role=Role.CALLER,
        utterance=1,
        distress=0.9,
        sentiment=-0.6,
        evidence=("pain words",),
        quote=("call me on 555-123-4567", "My chest hurts"),
    )
    hub.publish("c1", Stamp("c1")(reading))
    (got,) = drain(s)
    assert got["type"] == "emotion.text" and got["quote"] == expected
    assert got["evidence"] == ["pain words"]


def test_each_event_reaches_its_agent_its_call_views_and_the_wallboards_only() -> None:
    """Among many subscribers an event goes to its agent, its call detail and wallboards.

    The hub looks a call's watchers up (issue 16: 1,000 agents on one node); a
    detached subscriber gets nothing more and leaves no trace behind.
    """
    hub = Hub(PrivacyOptions())
    agents = {a: sub(View.AGENT, agent_id=a) for a in ("a1", "a2", "a3")}
    detail = sub(View.CALL, call_id="c2")
    board, other_team = sub(View.WALLBOARD, teams=("t1",)), sub(View.WALLBOARD, teams=("t9",))
    for s in (*agents.values(), detail, board, other_team):
        hub.attach(s, {})
        drain(s)
    hub.open_call(meta("c1", agent="a1"))
    hub.open_call(meta("c2", agent="a2"))
    stamps = {"c1": Stamp("c1"), "c2": Stamp("c2")}
    hub.publish("c1", stamps["c1"](voice(0.5, 3.0)))
    hub.publish("c2", stamps["c2"](final("hello")))
    assert [m["call_id"] for m in drain(agents["a1"])] == ["c1"]
    assert [m["type"] for m in drain(agents["a2"])] == ["transcript.final"]
    assert drain(agents["a3"]) == [] and drain(other_team) == []
    assert [m["type"] for m in drain(detail)] == ["transcript.final"]
    assert [m["call"]["call_id"] for m in drain(board)] == ["c1"]  # the reading changed c1's tile
    for s in (*agents.values(), detail, board, other_team):
        hub.detach(s)
    hub.publish("c1", stamps["c1"](voice(0.6, 4.0)))
    assert all(drain(s) == [] for s in (*agents.values(), detail, board))
    assert hub.subscriptions == set() and hub._watchers == {}


def test_a_reading_alone_re_sends_a_tile_once_per_5_s_and_a_cue_at_once() -> None:
    """Caller readings each second: a tile at 1 s and 6 s of call, not one each; a cue at
    8 s sends its tile at once, carrying the latest reading."""
    hub = Hub(PrivacyOptions())
    hub.open_call(meta("c1"))
    board = sub(View.WALLBOARD)
    hub.attach(board, {})
    drain(board)
    stamp = Stamp("c1")
    shown = []
    for t in range(1, 9):
        hub.publish("c1", stamp(voice(t / 10, float(t))))
        shown += [m["call"]["distress"] for m in drain(board) if m["type"] == "call.summary"]
    assert shown == [0.1, 0.6]
    hub.publish("c1", stamp(cue(CueLevel.ELEVATED, 8.0)))
    tiles = [m["call"] for m in drain(board) if m["type"] == "call.summary"]
    assert [t["distress"] for t in tiles] == [0.8] and tiles[0]["level"] == "elevated"
