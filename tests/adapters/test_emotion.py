"""The shipped acoustic emotion model on real emotional speech of speakers it never heard."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from faster_whisper.audio import decode_audio

from edge.adapters.emotion import LABELS, OnnxEmotionScorer
from edge.adapters.model_files import bundled, manifest, models_dir, sha256
from edge.errors import ModelError
from tests.helpers import SHARED_DATA

RAVDESS = SHARED_DATA / "ravdess"


@pytest.fixture(scope="module")
def model() -> OnnxEmotionScorer:
    return OnnxEmotionScorer()


def held_out() -> list[int]:
    return json.loads((models_dir() / "emotion.train.json").read_text())["test_actors"]


def clips(actor: int, emotion: str) -> list[Path]:
    with (RAVDESS / "labels.csv").open() as f:
        return [
            RAVDESS / r["file"]
            for r in csv.DictReader(f)
            if int(r["actor"]) == actor and r["emotion"] == emotion
        ]


def test_model_matches_its_manifest_hash() -> None:
    """The bundled emotion model is the one the manifest (and the model card) describes."""
    path = bundled("emotion.onnx")
    assert sha256(path) == manifest(models_dir())["emotion.onnx"]


def test_a_file_of_the_wrong_kind_is_refused_in_one_line(tmp_path: Path) -> None:
    """A different ONNX graph (here the VAD) is refused with a message naming what to do."""
    with pytest.raises(ModelError, match=r"train_emotion\.py") as caught:
        OnnxEmotionScorer(bundled("silero_vad.onnx"))
    assert "\n" not in str(caught.value)


def test_outputs_are_probabilities_and_arousal(model: OnnxEmotionScorer) -> None:
    """Every label gets a probability, they sum to 1, distress is the sad+angry+fearful mass."""
    audio = decode_audio(str(clips(held_out()[0], "neutral")[0]))
    score = model.score(audio)
    assert [label for label, _ in score.probs] == list(LABELS)
    assert sum(p for _, p in score.probs) == pytest.approx(1.0, abs=1e-4)
    assert score.distress == pytest.approx(
        score.prob("sad") + score.prob("angry") + score.prob("fearful"), abs=1e-6
    )
    assert 0.0 <= score.arousal <= 1.0
    assert score.stats is not None and score.stats.shape == model.prior.shape


def test_too_short_a_window_is_refused(model: OnnxEmotionScorer) -> None:
    """Less than half a second of audio is not enough to judge a voice."""
    with pytest.raises(ValueError, match="at least"):
        model.score(np.zeros(4000, np.float32))


@pytest.mark.parametrize("emotion", ["angry", "fearful", "sad"])
def test_distressed_voice_scores_above_the_same_speakers_calm_voice(
    model: OnnxEmotionScorer, emotion: str
) -> None:
    """For every held-out speaker, their distressed sentences score higher on average than calm."""
    for actor in held_out():
        baseline = model.prior
        calm = [model.score(decode_audio(str(p)), baseline).distress for p in clips(actor, "calm")]
        upset = [
            model.score(decode_audio(str(p)), baseline).distress for p in clips(actor, emotion)
        ]
        print(f"actor {actor}: calm {np.mean(calm):.2f}, {emotion} {np.mean(upset):.2f}")
        assert np.mean(upset) > np.mean(calm) + 0.15, (actor, emotion)
