"""`edge doctor`: each check's verdict on real files, sockets, models and a real sound server."""

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from edge.adapters.asr import AsrOptions
from edge.config import Config, load_config
from edge.errors import ConfigError
from edge.feedback.options import FeedbackOptions
from edge.ops.checks import (
    Status,
    check_config,
    check_emotion,
    check_languages,
    check_port,
    check_tls,
    check_vad,
    check_verdict_store,
    run_checks,
)
from edge.pipeline.options import PipelineOptions
from edge.server.options import ServerOptions
from tests.server.harness import ServiceThread

pytest_plugins = ["tests.pulse"]  # the pulse fixture: a real PulseAudio server

EDGE = [sys.executable, "-m", "edge"]
MODELS = Path(__file__).parents[2] / "models"
# Every check a default configuration runs, in order.
ALL = [
    "config",
    "models",
    "compute",
    "languages",
    "whisper",
    "vad",
    "emotion",
    "text",
    "port",
    "tls",
    "event log",
    "verdict store",
    "fleet",
    "audio devices",
    "sound server",
]


def clean_env(**extra):
    """This environment without EDGE_* settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not (k.startswith("EDGE_") and "__" in k)}
    env.pop("EDGE_CONFIG", None)
    return {**env, **extra}


def doctor(*args, cwd, env=None):
    return subprocess.run(
        [*EDGE, "doctor", *args],
        cwd=cwd,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def busy_port():
    """A port some other process listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def write(path, text):
    path.write_text(text)
    return path


@pytest.mark.slow
def test_every_check_passes_here_with_the_defaults(tmp_path):
    """No file, default settings: every model loads, nothing fails, exit status 0."""
    out = doctor(cwd=tmp_path, env=clean_env(EDGE_SERVER__PORT=str(free_port())))
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    verdicts = [(line[:4].strip(), line[5:].split(":")[0]) for line in lines[:-1]]
    names = ["port" if name.startswith("port ") else name for _, name in verdicts]
    assert names == ALL, out.stdout
    for status, name in verdicts:
        # No sound card on a build server: only the sound checks may warn.
        assert status == "ok" or (status == "warn" and name in ("audio devices", "sound server"))
    assert "whisper: tiny.en (embedded) loads and runs in" in out.stdout
    assert "match " in out.stdout and "MANIFEST.sha256" in out.stdout
    assert lines[-1].startswith("edge doctor: ") and "FAIL" not in out.stdout


def test_languages_says_what_each_model_covers_and_what_the_setting_gets():
    """English: tiny.en, text cues on; es: base, text cues off (warn); es with tiny.en: FAIL."""
    english = check_languages(PipelineOptions())
    assert english.status is Status.OK
    assert "Whisper tiny.en (embedded): English" in english.detail
    assert "Whisper base (embedded): 99 languages" in english.detail
    assert "text model: English" in english.detail
    assert 'language = "en": transcribed by tiny.en, text cues on' in english.detail
    spanish = check_languages(PipelineOptions(language="es"))
    assert spanish.status is Status.WARN
    assert 'language = "es": transcribed by base; text cues off' in spanish.detail
    auto = check_languages(PipelineOptions(language="auto"))
    assert auto.status is Status.WARN and "transcribed by base" in auto.detail
    wrong = check_languages(PipelineOptions(language="es", asr=AsrOptions(model="tiny.en")))
    assert wrong.status is Status.FAIL and 'model = "base"' in wrong.fix


def test_jsonl_is_one_object_per_check(tmp_path):
    """--jsonl prints one JSON object per check with check, status and detail."""
    out = doctor("--quick", "--jsonl", cwd=tmp_path, env=clean_env(EDGE_SERVER__PORT="0"))
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["check"] for r in rows][:3] == ["config", "models", "compute"]
    assert all(r["status"] in ("ok", "warn", "FAIL") and r["detail"] for r in rows)
    assert out.returncode == 0, out.stdout


def test_a_corrupt_model_copy_fails_naming_the_file_and_the_fix(tmp_path):
    """[pipeline] emotion_model pointing at damaged bytes: FAIL with the path and what to do."""
    bad = tmp_path / "emotion.onnx"
    bad.write_bytes((MODELS / "emotion.onnx").read_bytes()[:50_000])  # a truncated copy
    check = check_emotion(PipelineOptions(emotion_model=str(bad)))
    assert check.status is Status.FAIL
    assert str(bad) in check.detail and "sha256 differs from MANIFEST.sha256" in check.detail
    assert "emotion_model" in check.fix and check.line.startswith("FAIL emotion: ")
    vad = check_vad(PipelineOptions(vad_model=str(write(tmp_path / "vad.onnx", "no model"))))
    assert vad.status is Status.FAIL and str(tmp_path / "vad.onnx") in vad.detail


@pytest.mark.slow
def test_a_corrupt_model_fails_the_command(tmp_path):
    """The same through `edge doctor`: the FAIL line, then exit status 1."""
    (tmp_path / "emotion.onnx").write_bytes(b"\0" * 4096)
    write(
        tmp_path / "edge.toml", '[server]\nport = 0\n[pipeline]\nemotion_model = "emotion.onnx"\n'
    )
    out = doctor(cwd=tmp_path)
    assert out.returncode == 1
    line = next(x for x in out.stdout.splitlines() if x.startswith("FAIL"))
    assert line.startswith(f"FAIL emotion: emotion model {tmp_path / 'emotion.onnx'}")
    assert "— or leave [pipeline] emotion_model unset" in line


def test_a_port_in_use_fails(busy_port):
    """A port another process listens on: FAIL naming it and the setting to change."""
    check = check_port("127.0.0.1", busy_port, "[server] port")
    assert check.status is Status.FAIL
    assert check.line == (
        f"FAIL port {busy_port}: 127.0.0.1:{busy_port} is in use by another process "
        "— stop it or set [server] port"
    )
    assert check_port("127.0.0.1", free_port(), "[server] port").status is Status.OK


def test_a_port_held_by_edge_serve_only_warns():
    """The port of a running `edge serve` (doctor run beside the service): warn, not FAIL."""
    with ServiceThread(Config(), None) as service:
        check = check_port("127.0.0.1", service.service.port, "[server] port")
    assert check.status is Status.WARN and "running edge serve" in check.detail


def test_a_port_in_use_fails_the_command(tmp_path, busy_port):
    """`edge doctor --quick` with the configured port taken exits 1."""
    out = doctor("--quick", cwd=tmp_path, env=clean_env(EDGE_SERVER__PORT=str(busy_port)))
    assert out.returncode == 1
    assert f"FAIL port {busy_port}: " in out.stdout


def test_unreadable_tls_files_fail(tmp_path):
    """A TLS file that cannot be read, or is no PEM chain and key: FAIL with the fix."""
    unreadable = check_tls(ServerOptions(tls_cert=tmp_path, tls_key=tmp_path))  # a folder
    assert unreadable.status is Status.FAIL
    assert f"[server] tls_cert {tmp_path}: cannot read it" in unreadable.detail
    assert "may read it" in unreadable.fix
    junk = write(tmp_path / "cert.pem", "not a certificate\n")
    garbled = check_tls(ServerOptions(tls_cert=junk, tls_key=junk))
    assert garbled.status is Status.FAIL and "not a PEM certificate chain" in garbled.detail
    # A missing file is already refused by the configuration: that line names the key.
    config = write(tmp_path / "edge.toml", '[server]\ntls_cert = "no.pem"\ntls_key = "no.pem"\n')
    missing, _ = check_config(config, environ={})
    assert missing.status is Status.FAIL and "tls_cert" in missing.detail


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_a_real_certificate_passes(tmp_path):
    """A self-signed certificate and its key load."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    request = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    subprocess.run(
        [*request, "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    check = check_tls(ServerOptions(tls_cert=cert, tls_key=key))
    assert check.status is Status.OK, check.line
    other = tmp_path / "other.pem"
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "RSA", "-out", str(other)],
        check=True,
        capture_output=True,
    )
    assert check_tls(ServerOptions(tls_cert=cert, tls_key=other)).status is Status.FAIL


def test_an_invalid_config_fails_with_its_one_line_error(tmp_path):
    """A bad setting: FAIL with the config's own line; checks that need it are skipped."""
    config = write(tmp_path / "edge.toml", "[server]\nport = 70000\n")
    with pytest.raises(ConfigError) as error:
        load_config(config, environ={})
    checks = list(run_checks(config, environ={}))
    assert checks[0].status is Status.FAIL and checks[0].detail == str(error.value)
    assert [c.name for c in checks] == ["config", "models", "audio devices", "sound server"]


def test_an_invalid_config_fails_the_command(tmp_path):
    """`edge doctor` reports the bad file itself (main() does not stop first) and exits 1."""
    write(tmp_path / "edge.toml", "[server]\nprot = 9000\n")
    out = doctor("--quick", cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    assert out.stdout.startswith(
        "FAIL config: edge.toml: [server] unknown key prot: did you mean port?"
    )
    assert out.stderr == ""


def test_a_non_loopback_host_without_tokens_fails(tmp_path):
    """A config `edge serve` would refuse (0.0.0.0, no tokens) is a FAIL too."""
    config = write(tmp_path / "edge.toml", '[server]\nhost = "0.0.0.0"\n')
    check, _ = check_config(config, environ={})
    assert check.status is Status.FAIL and "refusing to serve on 0.0.0.0" in check.detail


def test_the_sound_checks_see_a_real_pulseaudio_server(tmp_path, pulse):
    """With PulseAudio reachable, the sound server and its device pass; a missing one fails."""
    env = clean_env(EDGE_SERVER__PORT="0", **pulse.env)
    out = doctor("--quick", cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stdout
    assert "ok   sound server: pulseaudio reachable" in out.stdout.lower()
    assert "ok   audio devices: " in out.stdout and " input device(s), default " in out.stdout
    env["EDGE_CAPTURE__CALLER_DEVICE"] = "softphone loopback"
    out = doctor("--quick", cwd=tmp_path, env=env)
    assert out.returncode == 1
    assert "FAIL audio devices: [capture] caller_device = 'softphone loopback': " in out.stdout


def test_the_verdict_store_check_says_where_and_whether_it_can_be_written(tmp_path):
    """Off; a writable store (or its folder to be made); a parent that is a file: FAIL."""
    off = check_verdict_store(FeedbackOptions(keep=False), {})
    assert off.status is Status.OK and "off" in off.detail
    fine = check_verdict_store(FeedbackOptions(store=tmp_path / "new" / "v.sqlite3"), {})
    assert fine.status is Status.OK and f"will be created in {tmp_path}" in fine.detail
    default = check_verdict_store(FeedbackOptions(), {"STATE_DIRECTORY": str(tmp_path)})
    assert default.detail.startswith(f"{tmp_path / 'verdicts.sqlite3'} writable")
    (tmp_path / "file").write_text("")
    bad = check_verdict_store(FeedbackOptions(store=tmp_path / "file" / "v.sqlite3"), {})
    assert bad.status is Status.FAIL and "keep = false" in bad.fix
