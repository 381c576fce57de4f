"""Guards against Whisper's known failure modes on live audio.

Whisper was trained on subtitles: given noise, music or a click it invents
"Thank you." or "you", and greedy decoding can loop on a phrase. The VAD
keeps most non-speech away from the model; these checks catch the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from edge.contracts import Hypothesis, RawWord
from edge.settings import COUNT, UNIT, Range, check, setting

# Phrases Whisper produces from silence and noise (subtitle credits and
# sign-offs); kept only when the audio and the model both say it was speech.
HALLUCINATIONS = frozenset(
    {
        "you",
        "thank you",
        "thanks",
        "thank you very much",
        "thanks for watching",
        "thank you for watching",
        "thank you so much for watching",
        "please subscribe",
        "bye",
        "bye bye",
        "so",
        "oh",
        "uh",
        "um",
        "hmm",
        "the end",
        "i'm sorry",
        "subtitles by the amaraorg community",
        "okay",
    }
)
_NON_SPEECH = re.compile(r"^[\s\W]*$|^\s*[\[(♪*].*[\])♪*]\s*$")
_NORMALISE = re.compile(r"[^a-z0-9' ]+")


def normalise(text: str) -> str:
    """Lower case, no punctuation, single spaces: for comparing words and phrases."""
    return " ".join(_NORMALISE.sub(" ", text.lower().replace("-", " ")).split())


@dataclass(frozen=True, kw_only=True)
class GuardOptions:
    """Filters against Whisper's hallucinations on silence and noise."""

    SECTION: ClassVar[str] = "pipeline.guards"

    no_speech_prob: float = setting(
        0.6, help="with a low log-probability: Whisper's own silence rule", range=UNIT
    )
    min_logprob: float = setting(
        -1.0,
        help="average log-probability below which a no-speech guess wins",
        range=Range(hi=0),
    )
    hallucination_min_confidence: float = setting(
        0.6, help="finals less confident than this are checked", range=UNIT
    )
    hallucination_min_speech_ratio: float = setting(
        0.5, help="share of speech those finals need", range=UNIT
    )
    max_repeats: int = setting(2, help="an n-gram may occur this many times in a row", range=COUNT)

    def __post_init__(self) -> None:
        check(self)


def drop_non_speech(words: tuple[RawWord, ...]) -> tuple[RawWord, ...]:
    """Remove "[Music]", "(laughs)", "♪" and bare punctuation."""
    return tuple(w for w in words if not _NON_SPEECH.match(w.text))


def collapse_repeats(words: tuple[RawWord, ...], max_repeats: int) -> tuple[RawWord, ...]:
    """Cut a decoding loop: an n-gram repeated more than ``max_repeats`` times in a row."""
    keys = [normalise(w.text) for w in words]
    out: list[int] = []
    i = 0
    while i < len(words):
        looped = False
        for n in range(1, 7):
            gram = keys[i : i + n]
            if len(gram) < n:
                break
            reps = 1
            while keys[i + reps * n : i + (reps + 1) * n] == gram:
                reps += 1
            if reps > max_repeats:
                out.extend(range(i, i + n * max_repeats))
                i += n * reps
                looped = True
                break
        if not looped:
            out.append(i)
            i += 1
    return tuple(words[k] for k in out)


def mean_confidence(words: tuple[RawWord, ...]) -> float:
    return sum(w.probability for w in words) / len(words) if words else 0.0


def screen(
    hypothesis: Hypothesis, *, speech_ratio: float, options: GuardOptions
) -> tuple[RawWord, ...]:
    """The words worth showing, or ``()`` when the whole hypothesis is likely invented."""
    if hypothesis.no_speech_prob > options.no_speech_prob and (
        hypothesis.avg_logprob < options.min_logprob
    ):
        return ()
    words = collapse_repeats(drop_non_speech(hypothesis.words), options.max_repeats)
    text = normalise("".join(w.text for w in words))
    if not text:
        return ()
    if text in HALLUCINATIONS and (
        mean_confidence(words) < options.hallucination_min_confidence
        or speech_ratio < options.hallucination_min_speech_ratio
        or hypothesis.no_speech_prob > 0.3
    ):
        return ()
    return words
