"""One channel's streaming transcription as a pure state machine.

The glue feeds frames with their VAD probability and runs the ASR jobs this
stage asks for, one at a time, handing back each result:

    events = stage.feed(frame, prob)
    job = stage.next_job()               # None, or audio to transcribe
    events = stage.complete(job, hypothesis)

Finals come before everything else. While a pause is still shorter than
``min_silence`` the stage may ask for a *speculative* final of the audio up
to the pause: if the pause then lasts, that result is the final and is out
almost as soon as the VAD decides; if speech resumes it is discarded.
Between finals the stage asks for partials every ``partial_interval`` seconds
of new audio. Partials are stabilised by local agreement (a word is stable
once two consecutive hypotheses agree on it, as in whisper_streaming) and the
stable words are passed back to Whisper as a forced prefix, so the stable
part never changes.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import ClassVar

from edge.contracts import Frame, Hypothesis, RawWord
from edge.events import Event, TranscriptFinal, TranscriptPartial, Word
from edge.settings import Flag, Range, check, setting
from edge.stages.guards import GuardOptions, mean_confidence, normalise, screen
from edge.stages.segmenter import Closed, Segmenter, Utterance, VadOptions
from edge.types import Role


@dataclass(frozen=True, kw_only=True)
class StreamOptions:
    """When partial and final transcripts are asked for."""

    SECTION: ClassVar[str] = "pipeline.stream"

    partial_interval: float = setting(
        0.7,
        help="seconds of new audio between partials; 0 = no partials",
        range=Range(0.2, 10, zero="no partials"),
        unit="s",
        flag=Flag("--partial-interval", metavar="S"),
    )
    first_partial: float = setting(
        0.6, help="seconds of audio before the first partial", range=Range(0, 10)
    )
    speculative: bool = setting(True, help="start the final during the pause (live use)")

    def __post_init__(self) -> None:
        check(self)


class JobKind(enum.Enum):
    PARTIAL = "partial"
    SPECULATIVE = "speculative"
    FINAL = "final"


@dataclass(frozen=True)
class AsrJob:
    """Audio the stage wants transcribed, and why."""

    kind: JobKind
    utterance: Utterance
    prefix: str | None = None

    @property
    def final(self) -> bool:
        return self.kind is not JobKind.PARTIAL


class ChannelStage:
    """Segmentation, ASR scheduling, stabilisation and guards for one channel."""

    def __init__(
        self,
        role: Role,
        *,
        vad: VadOptions,
        stream: StreamOptions,
        guards: GuardOptions,
    ) -> None:
        self.role = role
        self.segmenter = Segmenter(vad)
        self.stream = stream
        self.guards = guards
        self.now = 0.0
        self._in_flight: AsrJob | None = None
        self._speculation: tuple[tuple[int, float], Hypothesis | None] | None = None
        self._partial_index: int | None = None  # utterance the partial state belongs to
        self._stable: list[Word] = []
        self._last_hypothesis: list[Word] = []
        self._partial_audio_end = 0.0
        self._partials_shown: set[int] = set()

    # -- feeding --------------------------------------------------------

    def feed(self, frame: Frame, prob: float) -> list[Event]:
        self.now = frame.end
        events = self._own(self.segmenter.feed(frame, prob))
        return events + self._finals_from_speculation()

    def flush(self) -> list[Event]:
        """End of stream: close what is open; the glue then drains ``next_job``."""
        return self._own(self.segmenter.flush(self.now)) + self._finals_from_speculation()

    def _own(self, events: list[Event]) -> list[Event]:
        return [dataclasses.replace(e, role=self.role) for e in events]

    @property
    def idle(self) -> bool:
        """Nothing in flight and nothing waiting for a final."""
        return self._in_flight is None and not self.segmenter.closed

    # -- scheduling -----------------------------------------------------

    def next_job(self, *, partials: bool = True, spacing: float = 1.0) -> AsrJob | None:
        """The next audio to transcribe, if any; ``partials=False`` when the model is
        backlogged: only finals (and speculative finals) then, as partials would only
        delay other calls' finals and be stale when they came. ``spacing``: partials
        every ``spacing`` times ``partial_interval`` (the service is behind:
        :mod:`edge.pipeline.load`)."""
        if self._in_flight is not None:
            return None
        job = self._final_job() or self._speculative_job()
        if job is None and partials:
            job = self._partial_job(spacing)
        self._in_flight = job
        return job

    def _final_job(self) -> AsrJob | None:
        if not self.segmenter.closed:
            return None
        return AsrJob(JobKind.FINAL, self.segmenter.closed[0].utterance)

    def _speculative_job(self) -> AsrJob | None:
        pending = self._speculation_due()
        if pending is None:
            return None
        self._speculation = (_key(pending), None)
        return AsrJob(JobKind.SPECULATIVE, pending)

    def _speculation_due(self) -> Utterance | None:
        """The utterance whose final may start during this pause, unless it has."""
        if not self.stream.speculative or not self.segmenter.can_speculate():
            return None
        pending = self.segmenter.pending_final()
        if pending is None or (self._speculation and self._speculation[0] == _key(pending)):
            return None
        return pending

    def withdraw_partial(self) -> AsrJob | None:
        """The partial in flight, taken back because a final (or speculative final) is due.

        Its result would come too late to be shown, and one job per channel is
        in flight: waiting for it would hold the final back by a decode (the
        glue abandons it; :meth:`complete` must not be called with it). None
        when nothing is to be withdrawn.
        """
        job = self._in_flight
        if job is None or job.kind is not JobKind.PARTIAL:
            return None
        if not self.segmenter.closed and self._speculation_due() is None:
            return None
        self._in_flight = None
        return job

    def _partial_job(self, spacing: float) -> AsrJob | None:
        if not self.stream.partial_interval or self.segmenter.pausing:
            return None  # nothing new is being said
        span = self.segmenter.open_span()
        if span is None:
            return None
        index, start, end = span
        if index != self._partial_index:
            self._partial_index = index
            self._stable, self._last_hypothesis = [], []
            self._partial_audio_end = start
        due = max(
            self._partial_audio_end + self.stream.partial_interval * spacing,
            start + self.stream.first_partial,
        )
        if end < due:
            return None
        utterance = self.segmenter.open_utterance()
        assert utterance is not None
        self._partial_audio_end = utterance.end
        prefix = " ".join(w.text for w in self._stable) or None
        return AsrJob(JobKind.PARTIAL, utterance, prefix)

    # -- results --------------------------------------------------------

    def complete(self, job: AsrJob, hypothesis: Hypothesis) -> list[Event]:
        if job is not self._in_flight:
            raise RuntimeError("complete() got a job this stage did not hand out")
        self._in_flight = None
        if job.kind is JobKind.PARTIAL:
            return self._partial(job.utterance, hypothesis)
        if job.kind is JobKind.SPECULATIVE:
            if self._speculation and self._speculation[0] == _key(job.utterance):
                # A failed speculation stays unanswered: the final job decodes the
                # utterance once it closes, and the same pause is not speculated on again.
                kept = None if hypothesis.failed else hypothesis
                self._speculation = (_key(job.utterance), kept)
            return self._finals_from_speculation()
        closed = self.segmenter.closed.popleft()
        return self._final(closed, hypothesis) + self._finals_from_speculation()

    def _finals_from_speculation(self) -> list[Event]:
        """Closed utterances whose speculative result is already in."""
        events: list[Event] = []
        while self.segmenter.closed and self._speculation:
            key, hypothesis = self._speculation
            closed = self.segmenter.closed[0]
            if key != _key(closed.utterance) or hypothesis is None:
                break
            self.segmenter.closed.popleft()
            self._speculation = None
            events += self._final(closed, hypothesis)
        return events

    def _final(self, closed: Closed, hypothesis: Hypothesis) -> list[Event]:
        utterance = closed.utterance
        kept = screen(hypothesis, speech_ratio=utterance.speech_ratio, options=self.guards)
        words = self._absolute(utterance, kept)
        if utterance.index == self._partial_index:
            self._partial_index = None
        if not words and utterance.index not in self._partials_shown:
            return []
        self._partials_shown.discard(utterance.index)
        # An empty final retracts the partials shown for an utterance that
        # turned out to hold no trustworthy words.
        return [
            TranscriptFinal(
                stream_time=self.now,
                role=self.role,
                utterance=utterance.index,
                text=_join(words),
                start=words[0].start if words else utterance.start,
                end=words[-1].end if words else utterance.speech_end,
                confidence=round(mean_confidence(kept), 3),
                reason=closed.reason,
                words=tuple(words),
            )
        ]

    def _partial(self, utterance: Utterance, hypothesis: Hypothesis) -> list[Event]:
        if utterance.index != self._partial_index or self.segmenter.open_index != utterance.index:
            return []  # the utterance closed meanwhile: its final is on the way
        words = self._absolute(
            utterance, screen(hypothesis, speech_ratio=utterance.speech_ratio, options=self.guards)
        )
        if not words:
            return []
        tail = self._after_stable(words)
        current = self._stable + tail
        agreed = _common_prefix(self._last_hypothesis, current)
        self._stable = self._stable + tail[: max(0, agreed - len(self._stable))]
        self._last_hypothesis = current
        self._partials_shown.add(utterance.index)
        return [
            TranscriptPartial(
                stream_time=self.now,
                role=self.role,
                utterance=utterance.index,
                text=_join(current),
                stable=_join(self._stable),
                start=current[0].start,
                end=current[-1].end,
            )
        ]

    def _after_stable(self, words: list[Word]) -> list[Word]:
        """The words of a new hypothesis that follow the stable ones."""
        n = len(self._stable)
        if [normalise(w.text) for w in words[:n]] == [normalise(w.text) for w in self._stable]:
            return words[n:]
        stable_end = self._stable[-1].end if self._stable else 0.0
        return [w for w in words if w.start >= stable_end - 0.05]

    def _absolute(self, utterance: Utterance, words: tuple[RawWord, ...]) -> list[Word]:
        limit = utterance.end
        out = []
        for w in words:
            start = min(utterance.start + w.start, limit)
            end = min(max(utterance.start + w.end, start), limit)
            out.append(
                Word(w.text.strip(), round(start, 3), round(end, 3), round(w.probability, 3))
            )
        return out


def _key(utterance: Utterance) -> tuple[int, float]:
    return utterance.index, round(utterance.end, 4)


def _join(words: list[Word]) -> str:
    return " ".join(w.text for w in words)


def _common_prefix(a: list[Word], b: list[Word]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if normalise(x.text) != normalise(y.text):
            break
        n += 1
    return n
