"""`edge devices` and `edge run` against a real PortAudio device (a PulseAudio pipe source)."""

import json
import os
import signal
import subprocess
import sys
import time

import jiwer
import numpy as np
import pytest

from edge.audio.frames import parse_channel_map
from edge.audio.sources import FileSource
from tests.helpers import DATA, TIME_FACTOR, EdgeProcess, wer_text

pytest_plugins = ["tests.pulse"]  # the pulse and pipe_source fixtures

EDGE = [sys.executable, "-m", "edge"]
START_TIMEOUT = 60 * TIME_FACTOR  # interpreter, models, devices
LEAD = 0.5  # seconds between call.started and playing, so the stream is surely open


def jfk(rate):
    """The JFK clip at ``rate`` Hz, mono float32 (11 s)."""
    frames = list(FileSource(DATA / "jfk.flac", parse_channel_map("caller,-")).frames())
    audio = np.concatenate([f.samples for f in frames])
    if rate == 16000:
        return audio
    import soxr

    return soxr.resample(audio, 16000, rate, quality="HQ").astype(np.float32)


def wer_of(finals):
    reference = wer_text((DATA / "jfk.txt").read_text())
    return jiwer.wer(reference, wer_text(" ".join(finals)))


def EdgeRun(*args, env):
    """`edge run ...` as a process."""
    return EdgeProcess("run", *args, env=env)


def finals_of(events, role="caller"):
    return [e["text"] for e in events if e["type"] == "transcript.final" and e["role"] == role]


@pytest.mark.parametrize("command", ["run", "devices"])
def test_help(command):
    """--help works for both commands."""
    out = subprocess.run([*EDGE, command, "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "usage: edge " + command in out.stdout


def test_stereo_and_per_role_devices_do_not_mix():
    """--stereo-device with --caller-device is refused in one line before any device is opened."""
    out = subprocess.run(
        [*EDGE, "run", "--stereo-device", "x", "--caller-device", "y"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1 and out.stderr.count("\n") == 1
    assert "--stereo-device carries both roles" in out.stderr


def test_devices_lists_the_pulse_device(pulse):
    """`edge devices` shows the ALSA pulse device with its channels, rate and host API."""
    env = {**os.environ, **pulse.env}
    out = subprocess.run([*EDGE, "devices"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    row = next(line for line in out.stdout.splitlines() if " pulse " in line)
    assert "ALSA" in row and "default input" in out.stdout
    assert "ALSA lib" not in out.stderr  # PortAudio's probing chatter is hidden
    out = subprocess.run(
        [*EDGE, "devices", "--jsonl"], env=env, capture_output=True, text=True, timeout=60
    )
    devices = [json.loads(line) for line in out.stdout.splitlines()]
    pulse_device = next(d for d in devices if d["name"] == "pulse")
    assert pulse_device["input_channels"] > 0 and pulse_device["default_rate"] > 0
    assert pulse_device["host_api"] == "ALSA"
    assert sum(d["default"] for d in devices) <= 1


def test_an_unknown_device_is_one_line_and_exit_1(pulse):
    """`edge run --caller-device NAME` with no such device: one line listing the devices."""
    out = subprocess.run(
        [*EDGE, "run", "--caller-device", "softphone loopback"],
        env={**os.environ, **pulse.env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("edge: error: ")
    assert "'softphone loopback'" in out.stderr and "'pulse'" in out.stderr


@pytest.mark.slow
def test_run_transcribes_a_48k_device_for_n_seconds(pipe_source):
    """JFK played into a 48 kHz device: `edge run --seconds` prints its transcript, then ends."""
    pipe = pipe_source(rate=48000, channels=1)
    seconds = LEAD + 11 + 2.5
    run = EdgeRun("--caller-device", "pulse", "--seconds", str(seconds), "--jsonl", env=pipe.env)
    run.wait_for("call.started")
    time.sleep(LEAD)
    pipe.play(jfk(48000))
    code, events = run.finish(timeout=seconds + 30 * TIME_FACTOR)
    assert code == 0, run.err
    assert events[0]["type"] == "call.started" and events[0]["channels"] == ["caller"]
    assert events[-1]["type"] == "call.ended"
    assert events[-1]["duration"] == pytest.approx(seconds, abs=1.0)
    finals = finals_of(events)
    assert wer_of(finals) < 0.2, finals


@pytest.mark.slow
def test_run_splits_a_stereo_device_and_ends_on_sigterm(pipe_source):
    """Left caller, right agent; SIGTERM flushes the last final and prints call.ended, exit 0."""
    pipe = pipe_source(rate=44100, channels=2)
    run = EdgeRun("--stereo-device", "pulse", "--jsonl", env=pipe.env)
    run.wait_for("call.started")
    time.sleep(LEAD)
    speech = jfk(44100)
    pipe.play(np.stack([np.zeros_like(speech), speech], axis=1))  # the agent speaks
    pipe.wait_played(timeout=20 * TIME_FACTOR)
    run.process.send_signal(signal.SIGTERM)  # no pause after the last word: flush makes it final
    code, events = run.finish()
    assert code == 0, run.err
    assert events[0]["channels"] == ["caller", "agent"]
    assert events[-1]["type"] == "call.ended"
    assert finals_of(events, "caller") == []
    assert wer_of(finals_of(events, "agent")) < 0.2, finals_of(events, "agent")


@pytest.mark.slow
def test_run_survives_the_device_going_away_and_coming_back(pipe_source):
    """The source is unloaded mid-call: the loss is logged, the call goes on, speech after the
    reload is transcribed, and Ctrl-C ends it cleanly."""
    pipe = pipe_source(rate=48000, channels=1)
    run = EdgeRun("--caller-device", "pulse", "--jsonl", env=pipe.env)
    run.wait_for("call.started")
    time.sleep(1.0)
    pipe.unload()
    run.wait_stderr("lost", timeout=5 * TIME_FACTOR)
    time.sleep(1.5)
    pipe.load()
    run.wait_stderr("is back", timeout=5 * TIME_FACTOR)
    pipe.play(jfk(48000))
    pipe.wait_played(timeout=20 * TIME_FACTOR)
    time.sleep(1.5)
    run.process.send_signal(signal.SIGINT)
    code, events = run.finish()
    assert code == 0, run.err
    lost = [line for line in run.stderr if "lost" in line]
    assert len(lost) == 1 and "'pulse'" in lost[0], run.err
    assert "Traceback" not in run.err
    assert events[-1]["type"] == "call.ended"
    finals = finals_of(events)
    assert wer_of(finals) < 0.2, finals


@pytest.mark.slow
def test_run_forwards_the_call_to_edge_serve(pipe_source, engine):
    """--forward: the captured call also reaches a running service, whose agent view shows it."""
    from edge.config import Config
    from tests.server.harness import ServiceThread, messages, subscriber

    pipe = pipe_source(rate=16000, channels=1)
    seconds = LEAD + 11 + 2.5
    with (
        ServiceThread(Config(), engine) as service,
        subscriber(service.ws, view="agent", agent_id="ws-7") as (ws, _),
    ):
        run = EdgeRun(
            "--caller-device", "pulse", "--seconds", str(seconds), "--jsonl",
            "--forward", service.ws + "/ingest", "--agent-id", "ws-7", "--call-id", "fwd-1",
            env=pipe.env,
        )  # fmt: skip
        run.wait_for("call.started")
        time.sleep(LEAD)
        pipe.play(jfk(16000))
        code, local = run.finish(timeout=seconds + 30 * TIME_FACTOR)
        served = messages(ws, until="call.ended", timeout=30)
    assert code == 0, run.err
    assert {m["call_id"] for m in served} == {"fwd-1"}
    assert wer_of(finals_of(served)) < 0.2, finals_of(served)
    assert wer_of(finals_of(local)) < 0.2  # and on the terminal, as without --forward


def kept(messages):
    """What publishing never drops, as (type, seq): call events, finals and cues."""
    types = ("call.started", "transcript.final", "cue.raised", "call.ended")
    return [(m["type"], m["seq"]) for m in messages if m.get("type") in types]


@pytest.mark.slow
def test_run_publishes_events_and_no_audio_or_words_with_share_cues(pipe_source, tmp_path):
    """--publish with [privacy] share = "cues": the service (no models of its own) shows
    the call; on the wire it received JSON text events only, and not one word said."""
    from edge.config import Config
    from tests.server.harness import ServiceThread, Tap, messages, subscriber

    config = tmp_path / "edge.toml"
    config.write_text('[privacy]\nshare = "cues"\n')
    pipe = pipe_source(rate=16000, channels=1)
    seconds = LEAD + 11 + 2.5
    with (
        ServiceThread(Config(), None) as service,
        Tap(service.ws) as tap,
        subscriber(service.ws, view="agent", agent_id="ws-7") as (ws, _),
    ):
        run = EdgeRun(
            "--caller-device", "pulse", "--seconds", str(seconds), "--jsonl",
            "--config", str(config), "--publish", tap.ws + "/publish", "--agent-id", "ws-7",
            "--call-id", "pub-1", env=pipe.env,
        )  # fmt: skip
        run.wait_for("call.started")
        time.sleep(LEAD)
        pipe.play(jfk(16000))
        code, local = run.finish(timeout=seconds + 30 * TIME_FACTOR)
        served = messages(ws, until="call.ended", timeout=30)
    assert code == 0, run.err
    assert wer_of(finals_of(local)) < 0.2  # the terminal shows the transcript, as ever
    assert tap.seen and all(isinstance(m, str) for m in tap.seen)  # no audio frame
    sent = [json.loads(m) for m in tap.seen]
    assert sent[0]["type"] == "publish" and sent[-1]["type"] == "call.ended"
    wire = " ".join(tap.seen).lower()
    said = {w for w in wer_text(" ".join(finals_of(local))).split() if len(w) > 5}
    assert said and not [w for w in said if w in wire]
    shared = [e for e in local if not e["type"].startswith("transcript.")]
    assert [(m["type"], m["seq"]) for m in sent[1:]] == [(e["type"], e["seq"]) for e in shared]
    assert [m["seq"] for m in served if "seq" in m] == [e["seq"] for e in shared]


@pytest.mark.slow
def test_run_publishing_rides_out_the_service_going_away(pipe_source):
    """The service stops a few seconds into the call and comes back on its port: the
    workstation goes on analysing, and every final and cue it made reaches the agent's
    view once, in order (call.started again first on the fresh service)."""
    from edge.config import Config
    from tests.server.harness import ServiceThread, messages, subscriber, until_closed

    pipe = pipe_source(rate=16000, channels=1)
    seconds = LEAD + 11 + 2.5
    first = ServiceThread(Config(), None).__enter__()
    port, stopped = first.port, False
    try:
        with subscriber(first.ws, view="agent", agent_id="ws-7") as (ws, _):
            run = EdgeRun(
                "--caller-device", "pulse", "--seconds", str(seconds), "--jsonl",
                "--publish", first.ws + "/publish", "--agent-id", "ws-7", "--call-id", "pub-2",
                env=pipe.env,
            )  # fmt: skip
            run.wait_for("call.started")
            time.sleep(LEAD)
            pipe.play(jfk(16000))
            time.sleep(3.0)
            first.__exit__()  # the service stops, as on SIGTERM
            stopped = True
            before = until_closed(ws, timeout=30)
    finally:
        if not stopped:
            first.__exit__()
    run.wait_stderr("retrying", timeout=10 * TIME_FACTOR)
    time.sleep(3.0)  # away for over three seconds; the call goes on meanwhile
    with (
        ServiceThread(Config(), None, port=port) as second,
        subscriber(second.ws, view="agent", agent_id="ws-7") as (ws, _),
    ):
        code, local = run.finish(timeout=seconds + 30 * TIME_FACTOR)
        after = messages(ws, until="call.ended", timeout=30)
    assert code == 0, run.err
    assert kept(after)[0] == ("call.started", 1) and kept(before)[0] == ("call.started", 1)
    delivered = kept(before) + kept(after)[1:]
    assert delivered == kept(local), run.err
    assert len([k for k in delivered if k[0] == "transcript.final"]) >= 2
    assert wer_of(finals_of(before + after)) < 0.25


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--publish", "http://server/publish"], "is not a websocket URL"),
        (["--publish", "ws://a/publish", "--forward", "ws://a/ingest"], "choose one"),
        (["--publish", "ws://a/publish", "--call-id", "a b"], "--call-id"),
    ],
)
def test_publish_settings_are_checked_before_any_device_opens(flags, says):
    """A bad --publish setting is one line and exit 1, before devices or models."""
    out = subprocess.run(
        [*EDGE, "run", "--caller-device", "no such device", *flags],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1 and out.stderr.count("\n") == 1, out.stderr
    assert says in out.stderr
