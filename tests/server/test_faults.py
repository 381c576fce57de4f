"""Fault injection on a real `edge serve`: the event log's disk failing, a stalled subscriber.

The service runs on loopback with real sockets; its engine is the real one with
the real Silero VAD and scripted stand-ins for the other models (the behaviour
under test is the service's, not the models').
"""

from __future__ import annotations

import logging
import os
import time
import urllib.request
from collections.abc import Iterator

import numpy as np
import pytest
from faster_whisper.audio import decode_audio

from edge.adapters.vad import SileroVad
from edge.config import Config
from edge.pipeline.engine import Engine
from edge.pipeline.options import PipelineOptions
from edge.server import eventlog
from edge.server.options import PrivacyOptions
from tests.helpers import DATA
from tests.pipeline.test_faults import ScriptedEmotion, ScriptedText, ScriptedTranscriber
from tests.server.harness import ServiceThread, messages, subscriber, upload

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scripted() -> Iterator[Engine]:
    """The real engine and VAD; scripted Whisper, emotion and text models (fast)."""
    engine = Engine(
        SileroVad(None),
        ScriptedTranscriber(),
        PipelineOptions(),
        emotion=ScriptedEmotion(),
        text=ScriptedText(),
    )
    yield engine
    engine.close()


def jfk() -> np.ndarray:
    return decode_audio(str(DATA / "jfk.flac"))


def metric(thread: ServiceThread, name: str) -> float:
    with urllib.request.urlopen(thread.http + "/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise AssertionError(f"no {name} in /metrics")


def a_call_is_delivered(thread: ServiceThread, call_id: str) -> None:
    """A call streams in and its subscriber gets it to the end: the service goes on."""
    with subscriber(thread.ws, view="agent", agent_id=call_id) as (ws, _):
        upload(thread.ws, jfk(), call_id, agent_id=call_id)
        seen = messages(ws, until="call.ended", timeout=20)
    assert any(m["type"] == "transcript.final" and m["text"] for m in seen)


def log_lines(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == eventlog.__name__ and text in r.getMessage()]


def wait_for(condition, timeout: float = 5) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def fast_flush(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eventlog, "FLUSH_EVERY", 0.1)


def test_event_log_folder_gone_mid_run_is_logged_once_and_calls_go_on(
    scripted, tmp_path, caplog, fast_flush
) -> None:
    """The log's folder replaced by a file (unwritable even for root): calls and subscribers
    go on, one error line says so (not one per flush), the lost lines are counted, and
    when the folder is back the log says so once and writes again."""
    folder = tmp_path / "log"
    privacy = PrivacyOptions(event_log=folder, retention_days=30)
    caplog.set_level(logging.INFO, logger=eventlog.__name__)
    with ServiceThread(Config(privacy=privacy), scripted) as thread:
        folder.rename(tmp_path / "away")
        folder.write_text("not a folder\n")
        a_call_is_delivered(thread, "gone-1")
        wait_for(lambda: log_lines(caplog, "cannot write"))
        a_call_is_delivered(thread, "gone-2")
        time.sleep(0.5)  # several flushes fail
        assert len(log_lines(caplog, "cannot write")) == 1
        assert metric(thread, "edge_event_log_lost_lines_total") > 10
        thread.call(thread.service.event_log.prune())  # housekeeping survives it too
        folder.unlink()
        (tmp_path / "away").rename(folder)
        a_call_is_delivered(thread, "back-1")
        wait_for(lambda: log_lines(caplog, "writes again"))
    (day,) = folder.glob("events-*.jsonl")
    logged = day.read_text()
    assert '"back-1"' in logged and '"gone-2"' not in logged
    assert len(log_lines(caplog, "cannot write")) == 1


def test_event_log_disk_full_is_logged_once_and_calls_go_on(
    scripted, tmp_path, caplog, fast_flush
) -> None:
    """The day file on a full disk (/dev/full: ENOSPC on every write): the same."""
    folder = tmp_path / "log"
    folder.mkdir()
    day = folder / f"{eventlog.PREFIX}{time.strftime('%Y-%m-%d', time.gmtime())}.jsonl"
    os.symlink("/dev/full", day)
    privacy = PrivacyOptions(event_log=folder, retention_days=36500)
    caplog.set_level(logging.INFO, logger=eventlog.__name__)
    with ServiceThread(Config(privacy=privacy), scripted) as thread:
        a_call_is_delivered(thread, "full-1")
        wait_for(lambda: log_lines(caplog, "cannot write"))
        a_call_is_delivered(thread, "full-2")
        time.sleep(0.5)
        lost = metric(thread, "edge_event_log_lost_lines_total")
    (line,) = log_lines(caplog, "cannot write")
    assert "No space left on device" in line.getMessage() and lost > 10
    assert line.levelno == logging.ERROR and not line.exc_info
