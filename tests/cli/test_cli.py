"""The `edge` command as a user runs it: a real process, real files, real models."""

import json
import subprocess
import sys

import pytest

from tests.helpers import DATA

EDGE = [sys.executable, "-m", "edge"]


def edge(*args, stdin=None, timeout=300):
    return subprocess.run([*EDGE, *args], input=stdin, capture_output=True, timeout=timeout)


def test_version():
    """edge --version prints the version."""
    out = edge("--version")
    assert out.returncode == 0 and out.stdout.decode().startswith("edge 0.")


@pytest.mark.parametrize("args", [["--help"], ["replay", "--help"]])
def test_help_everywhere(args):
    """--help works for the program and each command."""
    out = edge(*args)
    assert out.returncode == 0 and b"usage: edge" in out.stdout


@pytest.mark.parametrize(
    "args,message",
    [
        (["replay", "no/such/file.wav"], "no such file"),
        (["replay", str(DATA / "jfk.txt")], "not a readable audio file"),
        (["replay", str(DATA / "jfk.flac"), "--channels", "patient"], "'patient' is not known"),
        (["replay", str(DATA / "jfk.flac"), "--model", str(DATA)], "holds no model.bin"),
        (["replay", str(DATA / "jfk.flac"), "--model", "large-v3"], "not a folder on this machine"),
        (
            ["replay", str(DATA / "jfk.flac"), "--vad-model", str(DATA / "jfk.txt")],
            "failed to load",
        ),
        (["replay", str(DATA / "jfk.flac"), "--beam-size", "0"], "--beam-size 0 is out of range"),
        (["replay", "-", "--encoding", "opus"], "pcm16, mulaw, alaw, f32"),
    ],
)
def test_bad_input_is_one_line_and_a_nonzero_exit(args, message):
    """Each mistake gives exactly one line on stderr naming it, no traceback."""
    out = edge(*args, stdin=b"")
    err = out.stderr.decode()
    assert out.returncode == 1
    assert err.count("\n") == 1 and err.startswith("edge: error: ")
    assert message in err
    assert "Traceback" not in err


def test_bad_option_value_is_a_usage_error():
    """A non-number for --partial-interval is refused by the parser with exit 2."""
    out = edge("replay", "x.wav", "--partial-interval", "soon")
    assert out.returncode == 2 and b"'soon' is not a number" in out.stderr


def test_debug_shows_the_traceback():
    """--debug adds the traceback to the one-line error."""
    out = edge("replay", str(DATA / "jfk.txt"), "--debug")
    assert out.returncode == 1 and b"Traceback" in out.stderr


@pytest.mark.slow
def test_replay_jsonl_prints_the_transcript():
    """edge replay --jsonl prints one JSON event per line with the words spoken."""
    out = edge("replay", str(DATA / "jfk.flac"), "--channels", "caller,-", "--jsonl")
    assert out.returncode == 0, out.stderr.decode()
    events = [json.loads(line) for line in out.stdout.decode().splitlines()]
    finals = [e["text"] for e in events if e["type"] == "transcript.final"]
    assert "ask what you can do for your country" in " ".join(finals).lower()
    assert events[0]["type"] == "call.started" and events[-1]["type"] == "call.ended"


@pytest.mark.slow
def test_replay_reads_raw_mulaw_from_stdin():
    """Telephone audio (8 kHz mu-law) piped to `edge replay -` is transcribed."""
    from tests.pipeline.test_accuracy import telephone_bytes

    data = telephone_bytes(DATA / "librivox" / "sense_and_sensibility_01_austen_64kb-0930.wav")
    out = edge("replay", "-", "--rate", "8000", "--encoding", "mulaw", stdin=data)
    assert out.returncode == 0, out.stderr.decode()
    assert "made amiable himself" in out.stdout.decode()
    assert "✓" in out.stdout.decode()
