"""What touches the disk (only the opt-in event log, pruned) and TLS on the same port."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import time

import pytest
from faster_whisper.audio import decode_audio
from websockets.sync.client import connect

from edge.config import Config
from edge.server.options import PrivacyOptions, ServerOptions
from tests.helpers import DATA
from tests.server.harness import ServiceThread, upload

pytestmark = pytest.mark.slow


def jfk():
    return decode_audio(str(DATA / "jfk.flac"))


def test_nothing_is_written_to_disk_by_default(engine, tmp_path, monkeypatch) -> None:
    """With the default privacy settings a call leaves no file behind."""
    monkeypatch.chdir(tmp_path)
    with ServiceThread(Config(), engine) as thread:
        upload(thread.ws, jfk(), "disk-0", agent_id="a1")
    assert list(tmp_path.rglob("*")) == []


def test_the_opt_in_event_log_is_written_and_pruned(engine, tmp_path) -> None:
    """event_log set: the call's (redacted) events land in a day file, its after-call summary
    among them; old files are deleted."""
    folder = tmp_path / "log"
    folder.mkdir()
    old = folder / "events-2020-01-01.jsonl"
    old.write_text("{}\n")
    stale = time.time() - 3 * 86400
    os.utime(old, (stale, stale))
    keep = folder / "notes.txt"  # not ours: never touched
    keep.write_text("x")
    privacy = PrivacyOptions(event_log=folder, retention_days=2)
    with ServiceThread(Config(privacy=privacy), engine) as thread:
        upload(thread.ws, jfk(), "disk-1", agent_id="a1")
    assert not old.exists() and keep.exists()
    (day,) = folder.glob("events-*.jsonl")
    lines = [json.loads(line) for line in day.read_text().splitlines()]
    kinds = {line["type"] for line in lines}
    assert {"call.started", "transcript.final", "call.summary.final", "call.ended"} <= kinds
    assert all(line["call_id"] == "disk-1" for line in lines)
    # What `edge report` reads: the summary, with whose call it was.
    (summary,) = [line for line in lines if line["type"] == "call.summary.final"]
    assert summary["agent_id"] == "a1" and "team" in summary and summary["duration"] > 10


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def test_tls_serves_wss_and_https(engine, certificate) -> None:
    """With a certificate and key the same port speaks wss:// and https://."""
    cert, key = certificate
    config = Config(server=ServerOptions(tls_cert=cert, tls_key=key))
    trust = ssl.create_default_context(cafile=str(cert))
    with ServiceThread(config, engine) as thread:
        assert thread.http.startswith("https://")
        with connect(thread.ws + "/subscribe", ssl=trust) as ws:
            ws.send(json.dumps({"type": "subscribe", "view": "wallboard"}))
            assert json.loads(ws.recv(timeout=10))["type"] == "subscribed"
        import urllib.request

        with urllib.request.urlopen(thread.http + "/healthz", context=trust, timeout=10) as r:
            assert r.read() == b"ok\n"
