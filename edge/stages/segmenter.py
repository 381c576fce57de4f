"""Cutting one channel's audio into utterances from per-frame speech probabilities.

The rules follow Silero's ``VADIterator``: speech starts when the probability
reaches ``threshold`` and ends after ``min_silence`` seconds below
``threshold - 0.15``; stretches shorter than ``min_speech`` are ignored as
clicks and coughs. Utterances carry ``pad`` seconds of audio either side so
that Whisper hears the first and last phonemes whole. An utterance that
reaches ``max_utterance`` seconds is cut at its quietest frame in the last few
seconds and continues as a new utterance.
"""

from __future__ import annotations

import collections
import enum
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from edge.contracts import Frame, Samples
from edge.events import Event, FinalReason, SpeechEnded, SpeechStarted
from edge.settings import POSITIVE, Flag, Order, Range, check, setting
from edge.types import FRAME_SECONDS, SAMPLE_RATE


@dataclass(frozen=True, kw_only=True)
class VadOptions:
    """Speech detection (Silero VAD) and cutting speech into utterances."""

    SECTION: ClassVar[str] = "pipeline.vad"
    RULES: ClassVar[tuple[Order, ...]] = (Order("split_search", "max_utterance", strict=True),)

    threshold: float = setting(
        0.5,
        help="speech probability that starts speech",
        range=Range(0.05, 0.95),
        flag=Flag("--vad-threshold", metavar="P"),
    )
    min_speech: float = setting(0.25, help="seconds of speech before it counts", range=Range(0, 5))
    min_silence: float = setting(
        0.5,
        help="seconds of pause that end an utterance",
        range=Range(0.1, 5),
        unit="s",
        flag=Flag("--min-silence", metavar="S"),
    )
    pad: float = setting(
        0.2, help="seconds of audio kept before and after speech", range=Range(0, 1)
    )
    max_utterance: float = setting(
        20.0,
        help="seconds after which an utterance is cut; Whisper's window is 30",
        range=Range(2, 29),
        unit="s",
        flag=Flag("--max-utterance", metavar="S"),
    )
    split_search: float = setting(
        4.0, help="seconds before max_utterance searched for a pause", range=POSITIVE
    )

    def __post_init__(self) -> None:
        check(self)

    @property
    def release(self) -> float:
        """The probability below which speech counts as paused."""
        return max(self.threshold - 0.15, 0.01)


class State(enum.Enum):
    IDLE = "idle"  # no speech
    ONSET = "onset"  # speech seen, not yet min_speech long
    SPEECH = "speech"
    TRAILING = "trailing"  # below the release threshold, waiting for min_silence


@dataclass(frozen=True)
class Utterance:
    """A stretch of one channel's audio to transcribe; ``start`` is its first sample's time."""

    index: int
    start: float
    audio: Samples
    speech_end: float  # where speech stopped (end of audio minus padding) when closed
    speech_ratio: float  # share of frames at or above the threshold

    @property
    def end(self) -> float:
        return self.start + len(self.audio) / SAMPLE_RATE


@dataclass(frozen=True)
class Closed:
    """An utterance that is complete and wants its final transcript."""

    utterance: Utterance
    reason: FinalReason


class Segmenter:
    """Frames and probabilities in; speech events and closed utterances out."""

    def __init__(self, options: VadOptions) -> None:
        self.options = options
        self._pad_frames = max(1, round(options.pad / FRAME_SECONDS))
        self._min_speech_frames = max(1, round(options.min_speech / FRAME_SECONDS))
        self._min_silence_frames = max(1, round(options.min_silence / FRAME_SECONDS))
        self._max_frames = round(options.max_utterance / FRAME_SECONDS)
        self._search_frames = round(options.split_search / FRAME_SECONDS)
        self.closed: collections.deque[Closed] = collections.deque()
        self._next_index = 0
        self.reset()

    def reset(self) -> None:
        self.state = State.IDLE
        self._history: collections.deque[tuple[Frame, float]] = collections.deque(
            maxlen=self._pad_frames
        )
        self._frames: list[Frame] = []
        self._probs: list[float] = []
        self._quiet = 0  # consecutive frames below release
        self._speech_start = 0.0
        self._index = -1
        self.closed.clear()

    # -- queries --------------------------------------------------------

    @property
    def open_index(self) -> int | None:
        """Index of the utterance in progress, if speech has been confirmed."""
        return self._index if self.state in (State.SPEECH, State.TRAILING) else None

    def open_utterance(self) -> Utterance | None:
        """The audio of the utterance in progress so far (for partials)."""
        if self.open_index is None or not self._frames:
            return None
        return self._build(len(self._frames))

    def pending_final(self) -> Utterance | None:
        """While trailing: the utterance as it will be if the pause lasts (for speculation)."""
        if not self.can_speculate():
            return None  # not yet the same audio the close will take
        return self._build(self._speech_frames_end() + self._pad_frames)

    def open_span(self) -> tuple[int, float, float] | None:
        """(index, start, end) of the utterance in progress, without copying its audio."""
        if self.open_index is None or not self._frames:
            return None
        return self._index, self._frames[0].start, self._frames[-1].end

    @property
    def pausing(self) -> bool:
        """Speech has gone quiet, not yet for long enough to end the utterance."""
        return self.state is State.TRAILING and self._quiet > 0

    def can_speculate(self) -> bool:
        """True while :meth:`pending_final` would return an utterance."""
        return self.state is State.TRAILING and self._quiet >= self._pad_frames

    # -- feeding --------------------------------------------------------

    def feed(self, frame: Frame, prob: float) -> list[Event]:
        opts = self.options
        events: list[Event] = []
        if self.state is State.IDLE:
            if prob >= opts.threshold:
                self.state = State.ONSET
                self._speech_start = frame.start
                self._frames = [f for f, _ in self._history]
                self._probs = [p for _, p in self._history]
                self._quiet = 0
            else:
                self._history.append((frame, prob))
                return events
        self._frames.append(frame)
        self._probs.append(prob)
        self._quiet = self._quiet + 1 if prob < opts.release else 0
        if self.state is State.ONSET:
            if self._quiet >= self._pad_frames:  # a blip, not speech
                self._abandon()
            elif self._voiced_frames() >= self._min_speech_frames:
                self.state = State.SPEECH
                self._index = self._next_index
                self._next_index += 1
                events.append(
                    SpeechStarted(
                        stream_time=frame.end, utterance=self._index, start=self._speech_start
                    )
                )
        elif self.state is State.SPEECH and self._quiet:
            self.state = State.TRAILING
        elif self.state is State.TRAILING:
            if prob >= opts.threshold:
                self.state = State.SPEECH
                self._quiet = 0
            elif self._quiet >= self._min_silence_frames:
                events.append(self._close(frame))
        if self.state in (State.SPEECH, State.TRAILING) and len(self._frames) >= self._max_frames:
            self._split()
        return events

    def flush(self, stream_time: float) -> list[Event]:
        """End of stream: close the utterance in progress, if any."""
        if self.open_index is None:
            self._abandon()
            return []
        end = self._speech_frames_end()
        utterance = self._build(min(len(self._frames), end + self._pad_frames))
        self.closed.append(Closed(utterance, FinalReason.END_OF_STREAM))
        event = SpeechEnded(
            stream_time=stream_time,
            utterance=self._index,
            start=self._speech_start,
            end=utterance.speech_end,
        )
        self._abandon()
        return [event]

    # -- internals ------------------------------------------------------

    def _voiced_frames(self) -> int:
        return sum(p >= self.options.threshold for p in self._probs)

    def _speech_frames_end(self) -> int:
        """Number of buffered frames up to the end of the last speech frame."""
        return len(self._frames) - self._quiet

    def _build(self, n_frames: int) -> Utterance:
        frames = self._frames[:n_frames]
        probs = self._probs[:n_frames]
        speech_end_frames = min(n_frames, self._speech_frames_end())
        return Utterance(
            index=self._index,
            start=frames[0].start,
            audio=np.concatenate([f.samples for f in frames]),
            speech_end=frames[speech_end_frames - 1].end if speech_end_frames else frames[0].start,
            speech_ratio=float(np.mean(np.asarray(probs) >= self.options.threshold)),
        )

    def _close(self, frame: Frame) -> SpeechEnded:
        utterance = self._build(self._speech_frames_end() + self._pad_frames)
        self.closed.append(Closed(utterance, FinalReason.PAUSE))
        event = SpeechEnded(
            stream_time=frame.end,
            utterance=self._index,
            start=self._speech_start,
            end=utterance.speech_end,
        )
        self._abandon()
        return event

    def _abandon(self) -> None:
        """Back to idle, keeping the last frames as padding for the next onset."""
        tail = list(zip(self._frames, self._probs, strict=False))[-self._pad_frames :]
        self.state = State.IDLE
        self._history.clear()
        self._history.extend(tail)
        self._frames, self._probs, self._quiet = [], [], 0

    def _split(self) -> None:
        """Cut a too-long utterance at its quietest frame near the end; speech goes on."""
        window = self._probs[-self._search_frames :]
        cut = len(self._probs) - len(window) + int(np.argmin(window)) + 1
        utterance = self._build(cut)
        self.closed.append(Closed(utterance, FinalReason.MAX_DURATION))
        self._frames, self._probs = self._frames[cut:], self._probs[cut:]
        self._quiet = min(self._quiet, len(self._frames))
        self._index = self._next_index
        self._next_index += 1
        if not self._frames:  # cut at the very last frame: nothing left to carry
            self.state = State.SPEECH
