"""The verdict store: what a row holds (never transcript text), retention, a failing disk."""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from edge.errors import ConfigError
from edge.events import CueKind, CueLevel, CueRaised
from edge.feedback.options import FeedbackOptions
from edge.feedback.store import StoreError, Verdict, VerdictStore, VerdictWriter, fingerprint
from edge.server.auth import OPEN
from edge.server.hub import Hub
from edge.server.options import PrivacyOptions
from edge.server.protocol import Refused
from edge.types import Role
from tests.server.test_hub import Stamp, final, meta, voice

SAID = "my chest hurts and my husband Jonathan is not here"


def writer(path: Path, **kwargs) -> VerdictWriter:
    kwargs.setdefault("retention_days", 30.0)
    return VerdictWriter(VerdictStore(path), site="clinic-north", cues={"raise_at": 0.65}, **kwargs)


def distress_cue(cue_id: int, t: float, score: float, level=CueLevel.ELEVATED) -> CueRaised:
    return CueRaised(
        stream_time=t,
        role=Role.CALLER,
        cue=CueKind.CALLER_DISTRESSED,
        cue_id=cue_id,
        level=level,
        score=score,
        evidence=("raised voice", "chest hurts", "Jonathan"),
        message="Caller sounds distressed: raised voice.",
        quote=("my chest hurts", "Jonathan"),
        suggestion="Acknowledge how they feel.",
    )


def a_call(hub: Hub) -> None:
    """Call c1: a final, the caller's voice, cue 1 raised elevated then high."""
    hub.open_call(meta("c1"))
    stamp = Stamp("c1")
    hub.publish("c1", stamp(final(SAID, 1.0)))
    hub.publish("c1", stamp(voice(0.7, 1.5)))
    hub.publish("c1", stamp(voice(0.72, 2.0)))
    hub.publish("c1", stamp(distress_cue(1, 2.0, 0.66)))
    hub.publish("c1", stamp(voice(0.9, 2.5)))
    hub.publish("c1", stamp(voice(0.85, 3.0)))
    hub.publish("c1", stamp(distress_cue(1, 3.0, 0.81, CueLevel.HIGH)))


def every_byte(folder: Path) -> bytes:
    """The store file and any journal beside it."""
    return b"".join(p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file())


def test_a_verdict_round_trips_with_its_cue_and_settings(tmp_path) -> None:
    """Kind, level, peak score, the caller's voice under it, tags, reason and who: all back."""
    w = writer(tmp_path / "v.sqlite3", clock=lambda: 1000.0)
    w.start()
    hub = Hub(PrivacyOptions(), clock=lambda: 1000.0, keep=w.put)
    a_call(hub)
    report = hub.record_feedback(
        OPEN, {"call_id": "c1", "cue_id": 1, "verdict": "wrong", "reason": "background_noise"}
    )
    w.close()
    store = VerdictStore(tmp_path / "v.sqlite3").open_to_read()
    (got,) = store.verdicts()
    assert got == Verdict(
        id=report["verdict_id"],
        time=1000.0,
        site="clinic-north",
        cue="caller_distressed",
        level="high",
        score=0.81,
        peak=0.81,
        voice_peak=0.85,  # held over two readings: 0.9 then 0.85
        evidence=("raised voice",),
        stream_time=3.0,
        verdict="wrong",
        reason="background_noise",
        agent_id="a1",
        team="t1",
        by="open",
        settings=fingerprint({"raise_at": 0.65}),
    )
    assert store.settings() == {fingerprint({"raise_at": 0.65}): {"raise_at": 0.65}}


def test_no_transcript_text_reaches_the_store(tmp_path) -> None:
    """A cue quoting the caller, and tags that repeat the quote: the file holds none of it."""
    folder = tmp_path / "state"
    w = writer(folder / "v.sqlite3")
    w.start()
    hub = Hub(PrivacyOptions(), keep=w.put)
    a_call(hub)
    assert hub.calls["c1"].cues[1].quote  # the shared cue still quotes the caller
    hub.record_feedback(OPEN, {"call_id": "c1", "cue_id": 1, "verdict": "right"})
    w.close()
    data = every_byte(folder)
    assert b"raised voice" in data  # the row is there...
    for word in ("chest", "hurts", "Jonathan", "husband"):  # ...without the caller's words
        assert word.encode() not in data


def test_old_verdicts_are_deleted_at_start_and_by_prune(tmp_path) -> None:
    """Rows older than retention_days go when the writer starts and when the store prunes."""
    path = tmp_path / "v.sqlite3"
    now = time.time()
    base = Verdict.from_report(
        {
            "verdict_id": "x",
            "time": now,
            "cue": "overtalk",
            "level": "notice",
            "score": 2.0,
            "verdict": "right",
        },
        site="s",
        settings="f",
    )
    store = VerdictStore(path).open()
    store.add(
        dataclasses.replace(base, id=f"d{age}", time=now - age * 86400) for age in (40, 20, 1)
    )
    store.close()
    w = writer(path, retention_days=30.0)
    w.start()
    w.close()
    store = VerdictStore(path).open()
    assert [v.id for v in store.verdicts()] == ["d20", "d1"]
    assert store.prune(retention_days=10, now=now) == 1
    assert [v.id for v in store.verdicts()] == ["d1"]


@pytest.mark.parametrize(
    "reason",
    ["not distressed", "x" * 33, "line\nbreak", 7, ["a"], "é"],
)
def test_a_bad_reason_is_refused_with_one_line(reason) -> None:
    """reason: one word of at most 32 letters, digits, - or _; else 1008 and one line."""
    hub = Hub(PrivacyOptions())
    a_call(hub)
    with pytest.raises(Refused) as refused:
        hub.record_feedback(OPEN, {"call_id": "c1", "cue_id": 1, "reason": reason})
    message = str(refused.value)
    assert refused.value.code == 1008 and "\n" not in message
    assert "at most 32 letters, digits, '-' or '_'" in message
    for good in ("", None, "not_distressed", "x" * 32, "wrong-person"):
        hub.record_feedback(OPEN, {"call_id": "c1", "cue_id": 1, "reason": good})


def test_a_locked_store_costs_verdicts_never_a_wait(tmp_path, caplog) -> None:
    """While another writer holds the file, put() returns at once; each verdict lost is
    counted, the failure logged once; writes resume when the lock goes."""
    path = tmp_path / "v.sqlite3"
    lost: list[int] = []
    w = VerdictWriter(
        VerdictStore(path, busy_timeout=0.2),
        site="s",
        cues={},
        retention_days=30.0,
        lost=lost.append,
        limit=2,
    )
    w.start()
    hub = Hub(PrivacyOptions(), keep=w.put)
    a_call(hub)
    blocker = sqlite3.connect(path)
    blocker.execute("BEGIN EXCLUSIVE")
    caplog.set_level(logging.INFO, logger="edge.feedback.store")
    started = time.monotonic()
    for _ in range(6):
        hub.record_feedback(OPEN, {"call_id": "c1", "cue_id": 1})
    assert time.monotonic() - started < 0.1  # the loop never waited for the disk
    deadline = time.monotonic() + 10
    while sum(lost) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sum(lost) == 6 and w.lost == 6
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "cannot keep verdicts" in errors[0].getMessage()
    blocker.rollback()
    blocker.close()
    hub.record_feedback(OPEN, {"call_id": "c1", "cue_id": 1, "verdict": "right"})
    w.close()
    assert [v.verdict for v in VerdictStore(path).open_to_read().verdicts()] == ["right"]
    assert any("again" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


def test_an_unwritable_store_stops_the_start_with_one_line(tmp_path) -> None:
    """A store whose folder cannot be made: one line naming the file and what to do."""
    (tmp_path / "a-file").write_text("")
    w = writer(tmp_path / "a-file" / "v.sqlite3")
    with pytest.raises(StoreError) as error:
        w.start()
    message = str(error.value)
    assert "\n" not in message and str(tmp_path / "a-file" / "v.sqlite3") in message
    assert "[feedback] keep = false" in message and "writable" in message


def test_the_default_store_is_in_the_state_folder(tmp_path) -> None:
    """systemd's $STATE_DIRECTORY, else $XDG_STATE_HOME/empathy-edge, else ~/.local/state."""
    options = FeedbackOptions()
    state = {"STATE_DIRECTORY": "/var/lib/empathy-edge:/var/lib/other"}
    assert options.store_path(state) == Path("/var/lib/empathy-edge/verdicts.sqlite3")
    xdg = {"XDG_STATE_HOME": str(tmp_path)}
    assert options.store_path(xdg) == tmp_path / "empathy-edge" / "verdicts.sqlite3"
    assert options.store_path({}) == Path.home() / ".local/state/empathy-edge/verdicts.sqlite3"
    assert FeedbackOptions(store=tmp_path / "x.db").store_path(state) == tmp_path / "x.db"
    with pytest.raises(ConfigError):
        FeedbackOptions(site="two words")


def test_the_writer_thread_goes_when_closed(tmp_path) -> None:
    """close() writes what is queued and ends the thread: nothing is left running."""
    w = writer(tmp_path / "v.sqlite3")
    w.start()
    w.close()
    assert not [t for t in threading.enumerate() if t.name == "edge-verdicts"]


def test_a_second_verdict_on_a_cue_replaces_the_first(tmp_path) -> None:
    """An agent who changes their mind: the store keeps one row per cue, the last verdict."""
    w = writer(tmp_path / "v.sqlite3")
    w.start()
    hub = Hub(PrivacyOptions(), keep=w.put)
    a_call(hub)
    first = hub.record_feedback(OPEN, {"call_id": "c1", "cue_id": 1, "verdict": "wrong"})
    second = hub.record_feedback(OPEN, {"call_id": "c1", "cue_id": 1, "verdict": "right"})
    w.close()
    assert first["verdict_id"] == second["verdict_id"]
    (kept,) = VerdictStore(tmp_path / "v.sqlite3").open_to_read().verdicts()
    assert kept.verdict == "right"


def test_the_writer_prunes_while_it_runs(tmp_path, monkeypatch) -> None:
    """Every PRUNE_EVERY seconds the writer deletes rows that have aged past the retention."""
    import edge.feedback.store as store_module

    monkeypatch.setattr(store_module, "PRUNE_EVERY", 0.05)
    path = tmp_path / "v.sqlite3"
    w = writer(path, retention_days=1.0)
    w.start()
    hub = Hub(PrivacyOptions(), clock=lambda: time.time() - 2 * 86400, keep=w.put)
    a_call(hub)
    hub.record_feedback(OPEN, {"call_id": "c1", "cue_id": 1})  # given two days ago
    deadline = time.monotonic() + 5
    seen = 1
    while seen and time.monotonic() < deadline:
        time.sleep(0.05)
        seen = len(VerdictStore(path).open_to_read().verdicts())
    w.close()
    assert seen == 0
