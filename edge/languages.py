"""The languages a call may be in, and which models read which.

Standard library only: the settings declare their choices from here without
loading a model runtime.
"""

from __future__ import annotations

from edge.stages.language import AUTO

__all__ = ["AUTO", "ENGLISH", "TEXT_LANGUAGES", "WHISPER_LANGUAGES", "describe"]

ENGLISH = "en"

# Whisper's language codes (faster_whisper.tokenizer._LANGUAGE_CODES, in its order),
# less "yue", which only large-v3 knows: the 99 languages of the multilingual base.
WHISPER_LANGUAGES: tuple[str, ...] = (
    "af", "am", "ar", "as", "az", "ba", "be", "bg", "bn", "bo", "br", "bs", "ca", "cs", "cy",
    "da", "de", "el", "en", "es", "et", "eu", "fa", "fi", "fo", "fr", "gl", "gu", "ha", "haw",
    "he", "hi", "hr", "ht", "hu", "hy", "id", "is", "it", "ja", "jw", "ka", "kk", "km", "kn",
    "ko", "la", "lb", "ln", "lo", "lt", "lv", "mg", "mi", "mk", "ml", "mn", "mr", "ms", "mt",
    "my", "ne", "nl", "nn", "no", "oc", "pa", "pl", "ps", "pt", "ro", "ru", "sa", "sd", "si",
    "sk", "sl", "sn", "so", "sq", "sr", "su", "sv", "sw", "ta", "te", "tg", "th", "tk", "tl",
    "tr", "tt", "uk", "ur", "uz", "vi", "yi", "yo", "zh",
)  # fmt: skip

# What the text model (all-MiniLM-L6-v2, trained on English) reads: its distress
# readings and evidence tags are meaningless for words in another language.
TEXT_LANGUAGES: frozenset[str] = frozenset({ENGLISH})


def describe(languages: tuple[str, ...] | frozenset[str]) -> str:
    """'English' for English alone, else 'N languages'."""
    if set(languages) == {ENGLISH}:
        return "English"
    return f"{len(languages)} languages"
