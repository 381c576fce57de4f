"""scripts/tune_cues.py: its fast replay gives the cues eval_emotion's replay gives."""

import importlib.util
import sys
from pathlib import Path

import numpy as np

from edge.events import CueKind, ProsodyUpdate, VoiceEmotion
from edge.pipeline.options import PipelineOptions
from edge.types import Role

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def _script(name):
    sys.path.insert(0, str(SCRIPTS))  # it imports its siblings
    try:
        spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # its dataclasses look their module up
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(SCRIPTS))


tune = _script("tune_cues")


def _trace():
    """A minute calm, then a distressed, louder voice: readings every 0.5 s, ticks every
    32 ms frame, as a recorded call holds them."""
    trace, t = [], 0.0
    for k in range(2800):
        t = round((k + 1) * 0.032, 3)
        trace.append(t)
        if k % 16 == 0:
            upset = t > 60.0
            d = 0.85 if upset else 0.1 + 0.05 * np.sin(k)
            probs = (("neutral", 1 - d), ("angry", d))
            trace.append(
                VoiceEmotion(
                    stream_time=t, role=Role.CALLER, start=t - 3, end=t, probs=probs,
                    distress=d, arousal=0.8 if upset else 0.3,
                )
            )  # fmt: skip
            trace.append(
                ProsodyUpdate(
                    stream_time=t, role=Role.CALLER, start=t - 3, end=t, pitch_hz=180.0,
                    pitch_spread=1.0, loudness_db=-20.0, rate_wps=None, pause_ratio=0.1,
                    pitch_z=0.0, spread_z=0.0, loudness_z=3.0 if upset else 0.0, rate_z=None,
                    pause_z=0.0, baseline_ready=True,
                )
            )  # fmt: skip
    return trace


def test_the_fast_replay_raises_the_cues_the_full_replay_raises():
    """The cue machine alone, fed the same readings and ticks, raises the same
    caller_distressed cues at the same times as CallSignals does in eval_emotion."""
    full = sys.modules["eval_emotion"]
    call = full.Call(17, "angry", np.zeros(0, np.float32), 60.0, 89.6)
    outcome = full.Outcome(call, [], [], _trace())
    cues = PipelineOptions().cues
    fast = tune.replay(outcome, cues).cues
    slow = full.replay_cues(outcome, cues).cues
    assert fast and all(c.cue is CueKind.CALLER_DISTRESSED for c in fast)
    assert [(c.stream_time, c.cue_id, c.evidence) for c in fast] == [
        (c.stream_time, c.cue_id, c.evidence) for c in slow
    ]
