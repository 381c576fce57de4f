"""Feedback over real sockets lands in the verdict store: a running service and `edge serve`."""

from __future__ import annotations

import dataclasses
import json
import re
import signal
import threading
import time
from pathlib import Path

import pytest
from websockets.sync.client import connect

from edge.config import Config
from edge.events import CueKind, CueLevel, CueRaised, TranscriptFinal
from edge.feedback.options import FeedbackOptions
from edge.feedback.store import TABLES, VerdictStore
from edge.server.summary import CallMeta
from edge.types import CallId, Role
from tests.helpers import EdgeProcess
from tests.server.harness import ServiceThread, messages, subscriber, upload
from tests.server.test_hub import final

SAMPLE = Path(__file__).parents[2] / "edge" / "assets" / "sample_call.flac"
SAID = "my chest hurts and I cannot find my inhaler"


def a_cue(thread: ServiceThread, call_id: str) -> None:
    """A call of agent a17 on the hub with a caller's final and a cue quoting it."""

    def inject() -> None:
        hub = thread.service.hub
        hub.open_call(
            CallMeta(call_id=call_id, agent_id="a17", team="t", source="s", started_at=0.0)
        )
        said: TranscriptFinal = final(SAID)
        hub.publish(call_id, _stamped(said, call_id, 1))
        cue = CueRaised(
            stream_time=2.0,
            role=Role.CALLER,
            cue=CueKind.CALLER_DISTRESSED,
            cue_id=1,
            level=CueLevel.HIGH,
            score=0.82,
            evidence=("raised voice", "chest hurts"),
            message="Caller sounds very distressed.",
            quote=("my chest hurts",),
        )
        hub.publish(call_id, _stamped(cue, call_id, 2))

    thread.run(inject)


def _stamped(event, call_id: str, seq: int):
    return dataclasses.replace(event, call_id=CallId(call_id), seq=seq)


def test_feedback_over_the_socket_is_kept_without_the_callers_words(tmp_path) -> None:
    """A verdict with a reason is acknowledged and kept; a bad reason is answered with one
    line and the subscription goes on; the store's bytes hold none of the caller's words."""
    store = tmp_path / "state" / "verdicts.sqlite3"
    config = Config(feedback=FeedbackOptions(store=store, site="test-site"))
    with ServiceThread(config, None) as thread:
        a_cue(thread, "c-1")
        with subscriber(thread.ws, view="agent", agent_id="a17") as (ws, _):
            assert "cue.raised" in [m["type"] for m in messages(ws, until="cue.raised")]
            report = {"type": "feedback", "call_id": "c-1", "cue_id": 1, "verdict": "wrong"}
            ws.send(json.dumps({**report, "reason": "not distressed!"}))
            error = messages(ws, until="error")[-1]
            assert error["code"] == 1008 and "\n" not in error["message"]
            assert "at most 32 letters, digits" in error["message"]
            ws.send(json.dumps({**report, "reason": "background_noise"}))
            ack = messages(ws, until="feedback.recorded")[-1]
            assert ack == {"type": "feedback.recorded", "call_id": "c-1", "cue_id": 1}
    (kept,) = VerdictStore(store).open_to_read().verdicts()
    assert (kept.site, kept.cue, kept.level, kept.verdict) == (
        "test-site",
        "caller_distressed",
        "high",
        "wrong",
    )
    assert kept.reason == "background_noise" and kept.evidence == ("raised voice",)
    assert kept.agent_id == "a17" and kept.peak == 0.82
    data = b"".join(p.read_bytes() for p in store.parent.iterdir())
    for word in (b"chest", b"hurts", b"inhaler"):
        assert word not in data


def test_keep_false_writes_nothing(tmp_path) -> None:
    """[feedback] keep = false: the service starts no writer and creates no file."""
    store = tmp_path / "verdicts.sqlite3"
    config = Config(feedback=FeedbackOptions(store=store, keep=False))
    with ServiceThread(config, None) as thread:
        a_cue(thread, "c-2")
        with subscriber(thread.ws, view="agent", agent_id="a17") as (ws, _):
            ws.send(json.dumps({"type": "feedback", "call_id": "c-2", "cue_id": 1}))
            assert messages(ws, until="feedback.recorded")[-1]["cue_id"] == 1
    assert not store.exists()


def test_an_unwritable_store_stops_the_service_with_one_line(tmp_path) -> None:
    """The store's folder cannot be made: Service.start says which file and what to do."""
    (tmp_path / "file").write_text("")
    store = tmp_path / "file" / "v.sqlite3"
    out = EdgeProcess(
        "serve",
        "--port",
        "0",
        env={"EDGE_FEEDBACK__STORE": str(store)},
        cwd=tmp_path,
        clean_env=True,
    )
    code = out.process.wait(60)
    stderr = "".join(out.stderr)
    assert code == 1, stderr
    assert re.fullmatch(
        r"edge: error: \[feedback\] store \S+v\.sqlite3: cannot open it \(.+\): make its folder "
        r"writable by the user running edge serve, set \[feedback\] store to a writable file, "
        r"or set \[feedback\] keep = false\n",
        stderr,
    ), stderr


@pytest.mark.slow
def test_edge_serve_keeps_an_agents_verdict_on_a_real_call(tmp_path) -> None:
    """`edge serve` with a config file: the sample call raises a cue, the agent calls it
    wrong over the socket, and after SIGTERM the store holds that verdict of this site."""
    (tmp_path / "edge.toml").write_text(
        '[feedback]\nstore = "state/verdicts.sqlite3"\nsite = "clinic-test"\n'
    )
    serve = EdgeProcess("serve", "--port", "0", cwd=tmp_path, clean_env=True)
    try:
        url = re.search(r"listening on (\S+)", serve.wait_for("listening on ")).group(1)
        ws_url = url.replace("http", "ws", 1)
        serve.wait_for("models loaded, ready for calls", 300)
        from edge.audio.files import read_audio

        # No keepalive pings: on a loaded build machine a pong can wait behind the call.
        with connect(ws_url + "/subscribe", ping_interval=None, max_size=None) as ws:
            ws.send(json.dumps({"type": "subscribe", "view": "agent", "agent_id": "a17"}))
            assert json.loads(ws.recv(timeout=30))["type"] == "subscribed"
            audio = read_audio(str(SAMPLE))
            caller = threading.Thread(
                target=upload, args=(ws_url, audio, "real-1"), kwargs={"agent_id": "a17"}
            )
            caller.start()
            got = messages(ws, until="call.ended", timeout=300)
            caller.join(60)
            cue = next(m for m in got if m["type"] == "cue.raised")
            finals = [m["text"] for m in got if m["type"] == "transcript.final"]
            ws.send(
                json.dumps(
                    {
                        "type": "feedback",
                        "call_id": "real-1",
                        "cue_id": cue["cue_id"],
                        "verdict": "wrong",
                        "reason": "not_distressed",
                    }
                )
            )
            assert messages(ws, until="feedback.recorded")[-1]["cue_id"] == cue["cue_id"]
    finally:
        serve.process.send_signal(signal.SIGTERM)
        assert serve.process.wait(60) == 0
    store = tmp_path / "state" / "verdicts.sqlite3"
    (kept,) = VerdictStore(store).open_to_read().verdicts()
    assert (kept.site, kept.cue, kept.verdict, kept.reason) == (
        "clinic-test",
        cue["cue"],
        "wrong",
        "not_distressed",
    )
    raises = [m for m in got if m["type"] == "cue.raised" and m["cue_id"] == cue["cue_id"]]
    assert kept.level == raises[-1]["level"] and kept.score == raises[-1]["score"]
    assert kept.peak == max(m["score"] for m in raises) and time.time() - kept.time < 600
    data = store.read_bytes().lower()
    # The caller's and agent's words, less those the store has of its own (keys, tags).
    own = " ".join([TABLES, json.dumps(dataclasses.asdict(kept))]).lower()
    words = {w for text in finals for w in re.findall(r"[a-z]{6,}", text.lower())}
    words -= set(re.findall(r"[a-z]+", own))
    assert words and not [w for w in words if w.encode() in data]
