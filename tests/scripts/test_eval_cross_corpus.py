"""scripts/eval_cross_corpus.py: clip scoring on scripted readings, and a tiny real run."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge.events import VoiceEmotion
from edge.types import Role
from tests.helpers import SHARED_DATA

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def _script():
    sys.path.insert(0, str(SCRIPTS))  # it imports its sibling eval_emotion
    try:
        spec = importlib.util.spec_from_file_location(
            "eval_cross_corpus", SCRIPTS / "eval_cross_corpus.py"
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules["eval_cross_corpus"] = module  # its dataclasses look their module up
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(SCRIPTS))


cross = _script()


def _reading(t: float, distress: float, onset: float | None = None) -> VoiceEmotion:
    probs = (("neutral", 1 - distress), ("happy", 0.0), ("sad", 0.0), ("angry", distress))
    return VoiceEmotion(
        stream_time=t, role=Role.CALLER, start=t - 3, end=t, probs=probs, distress=distress,
        arousal=distress, onset_distress=onset,
    )  # fmt: skip


def test_a_clip_scores_the_highest_reading_made_while_it_plays():
    """Readings before the clip are ignored; the utterance reading counts when it is higher."""
    events = [_reading(1.0, 0.9), _reading(2.5, 0.2, onset=0.7), _reading(3.0, 0.4)]
    score = cross.clip_reading(events, 2.0, 2.9)
    assert score.distress == pytest.approx(0.7)
    assert score.arousal == pytest.approx(0.4)
    assert cross.guess_four(score.probs) == "neutral"
    assert cross.clip_reading(events, 5.0, 6.0) is None  # nothing read: the clip is left out


def test_subsample_takes_the_largest_speakers_and_every_label_in_turn():
    """Round-robin by label, so a quick run still has both sides of the AUC."""
    items = [cross.Item(f"a{i}", "A", "neutral") for i in range(5)]
    items += [cross.Item("a9", "A", "angry"), cross.Item("b0", "B", "sad")]
    kept = cross.subsample(items, speakers=1, clips=3)
    assert [i.file for i in kept] == ["a9", "a0", "a1"]


@pytest.mark.slow
def test_a_tiny_run_prints_every_table(tmp_path):
    """Two URDU speakers and the telephone conversation through the real pipeline, < 60 s."""
    out = tmp_path / "cross.json"
    env = {**os.environ, "EDGE_DATA": str(SHARED_DATA), "OMP_NUM_THREADS": "1"}
    tiny = ["--quick", "--corpora", "urdu,phone", "--speakers", "2", "--clips", "3"]
    tiny += ["--calm-seconds", "10"]
    run = subprocess.run(
        [sys.executable, str(SCRIPTS / "eval_cross_corpus.py"), *tiny, "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "| distress AUC, live | " in run.stdout
    assert "| 4-class balanced accuracy, oracle | " in run.stdout
    assert "| telephone conversation, each speaker alone, 8 kHz G.711 (2 speakers) | " in run.stdout
    report = json.loads(out.read_text())
    urdu = report["clips"]["URDU"]["models"]["emotion"]
    assert urdu["live"]["clips"] + urdu["live"]["unread"] == 6
    assert 0.0 <= urdu["prior"]["distress_auc"] <= 1.0
    both = report["calm"]["telephone conversation, both voices"]
    assert both["hours"] == pytest.approx(30 / 3600, abs=1e-3)


@pytest.mark.slow
def test_calm_only_prints_the_false_cue_table_alone(tmp_path):
    """--calm-only skips the clip tables: the telephone conversation's calm calls only;
    with --card it refuses in one line, as the card needs every table."""
    out = tmp_path / "cross.json"
    env = {**os.environ, "EDGE_DATA": str(SHARED_DATA), "OMP_NUM_THREADS": "1"}
    args = [sys.executable, str(SCRIPTS / "eval_cross_corpus.py"), "--calm-only", "--quick"]
    args += ["--corpora", "phone", "--calm-seconds", "10", "--out", str(out)]
    run = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "distress AUC" not in run.stdout
    assert "| telephone conversation, both voices (1 speaker) | " in run.stdout
    assert json.loads(out.read_text())["clips"] == {}
    card = subprocess.run(
        [*args, "--card", str(tmp_path / "card.md")], capture_output=True, text=True, env=env
    )
    assert card.returncode != 0 and "--card needs every table" in card.stderr
