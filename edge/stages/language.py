"""Which language one channel is transcribed in: configured, or detected once per call.

``[pipeline] language`` names a language or says ``auto``.

* Configured: every transcription of the channel is decoded in it, and a
  ``call.language`` event says so with the channel's first audio.
* ``auto``: until the language is known, each transcription asks Whisper to
  detect the language of its own audio. The first transcription of an
  utterance holding at least ``DETECT_SECONDS`` of speech whose language
  Whisper is sure enough of (``FINAL_CONFIDENCE`` for a final,
  ``PARTIAL_CONFIDENCE`` for a partial) fixes that language for the rest of the
  call, and a ``call.language`` event says which and how sure Whisper was.
  Before that, partials and finals come out in the language detected for their
  own audio, which on a word or two may be wrong (the final of an utterance
  supersedes its partials); everything after it is decoded in the fixed
  language.

The text model reads a final only when the language it was decoded in is one
the model reads (``text_languages``): it gives no distress reading, and no
evidence, for words it cannot read. The voice is read whatever the language.
"""

from __future__ import annotations

from edge.contracts import Hypothesis
from edge.events import CallLanguage, Event
from edge.types import Role

AUTO = "auto"
# Whisper's language detection on a second or less of speech is often wrong
# (it pads every clip to 30 s); two seconds is a short sentence.
DETECT_SECONDS = 2.0
# How sure Whisper must be to fix the language: a final's detection is over the
# whole utterance; a partial's over its start, so it must be surer (Whisper base
# read espeak-ng Romanian as Thai at 0.73 after 2.2 s, and as Hebrew at 0.31 on the
# whole sentence). Less sure, the next utterance is detected on its own again.
FINAL_CONFIDENCE = 0.5
PARTIAL_CONFIDENCE = 0.8


class ChannelLanguage:
    """One channel's language: what to decode its next transcription in, and when it is known."""

    def __init__(self, role: Role, configured: str, *, text_languages: frozenset[str]) -> None:
        self.role = role
        self.text_languages = text_languages
        # What the next transcription is decoded in; None: detect it from the audio.
        self.language: str | None = None if configured == AUTO else configured
        self._told = False
        self._decoded: dict[int, str] = {}  # utterance -> language its final was decoded in

    def start(self, now: float) -> list[Event]:
        """The channel's audio began: a configured language is known from now."""
        if self._told or self.language is None:
            return []
        self._told = True
        return [self._event(now, self.language, detected=False, probability=None)]

    def heard(
        self,
        hypothesis: Hypothesis,
        *,
        utterance: int,
        speech: float,
        final: bool,
        now: float,
    ) -> list[Event]:
        """A transcription of ``utterance`` (``speech`` seconds of it were speech) came back."""
        if hypothesis.language is None:  # a failed job: nothing was decoded
            return []
        if final:
            self._decoded[utterance] = hypothesis.language
        if self.language is not None or speech < DETECT_SECONDS:
            return []
        needed = FINAL_CONFIDENCE if final else PARTIAL_CONFIDENCE
        if (hypothesis.language_probability or 0.0) < needed:
            return []
        self.language = hypothesis.language
        self._told = True
        return [
            self._event(
                now, self.language, detected=True, probability=hypothesis.language_probability
            )
        ]

    def reads_final(self, utterance: int) -> bool:
        """Whether the text model reads the final of ``utterance`` (called once per final)."""
        language = self._decoded.get(utterance, self.language)
        self._decoded = {u: lang for u, lang in self._decoded.items() if u > utterance}
        return language in self.text_languages

    def _event(
        self, now: float, language: str, *, detected: bool, probability: float | None
    ) -> CallLanguage:
        return CallLanguage(
            stream_time=now,
            role=self.role,
            language=language,
            detected=detected,
            probability=probability,
            text_cues=language in self.text_languages,
        )
