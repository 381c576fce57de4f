"""Distress cues end to end: an assembled call through the whole pipeline, as `edge replay` does."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from edge.adapters.model_files import models_dir
from edge.events import CueKind, CueRaised, VoiceEmotion, from_json
from tests.helpers import assembled_call, run_file

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def actor() -> int:
    """A speaker the model never trained on."""
    return json.loads((models_dir() / "emotion.train.json").read_text())["test_actors"][0]


def test_distress_cue_fires_in_the_distressed_part_only(engine, tmp_path, actor) -> None:
    """The caller's voice alone (the words are emotionally neutral) raises the cue after onset."""
    path = tmp_path / "call.flac"
    onset = assembled_call(path, actor, "angry")
    events = run_file(engine, path, channels="caller")
    cues = [e for e in events if isinstance(e, CueRaised) and e.cue is CueKind.CALLER_DISTRESSED]
    assert cues, "no distress cue in the distressed part"
    assert all(c.stream_time >= onset for c in cues), [(c.stream_time, onset) for c in cues]
    first = cues[0]
    # Latency is measured by scripts/eval_emotion.py, not pinned here; it must come in time.
    assert first.stream_time - onset < 20.0
    assert first.evidence and "distressed" in first.message.lower()
    voice = [e for e in events if isinstance(e, VoiceEmotion)]
    assert len(voice) > 60  # two scores a second of speech
    # "Kids are talking by the door": the evidence names the voice, not the words.
    assert {"raised voice", "shaky voice", "tone of voice only"} & set(first.evidence)
    assert first.suggestion


def test_replay_prints_cues_and_jsonl_carries_the_signals(tmp_path, actor) -> None:
    """`edge replay` shows the cue in its readable output and every signal in --jsonl."""
    path = tmp_path / "call.flac"
    assembled_call(path, actor, "fearful", seed=5)
    edge = [sys.executable, "-m", "edge.cli.main", "replay", str(path), "--channels", "caller"]
    readable = subprocess.run(edge, capture_output=True, text=True, check=True).stdout
    assert "CUE caller_distressed" in readable
    assert "voice: distress" not in readable  # per-second readings only with --signals
    lines = subprocess.run(
        [*edge, "--jsonl"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    types = {from_json(line).type for line in lines}
    assert {"emotion.voice", "prosody", "cue.raised"} <= types
