"""Voice emotion windows: which audio the emotion model scores, and when (a pure state machine).

The glue feeds every frame of a channel with its VAD probability; the stage
keeps the most recent ``window`` seconds of *speech* (silence would dilute the
voice) and, after every ``hop`` seconds of new speech, asks for that window to
be scored:

    stage.feed(frame, prob)
    job = stage.next_job()          # None, or a window of speech to score
    event = stage.complete(job, score)

At most one job waits at a time: if the model falls behind, the newest
window replaces the waiting one (policy: score the latest, skip the stale).

With ``onset_gap`` set (the default), a job also carries the *current
utterance* (speech since a pause that long) when it is shorter than the
window, and a new utterance gets its first job once it has ``onset_first``
seconds: the cue logic's fast onset path reads it alone
(``score(job.onset)`` passed to ``complete``), since at an onset the window
is still mostly the calm speech before it.  Between window jobs the utterance
is read again every ``onset_hop`` seconds of its speech, alone: such a job has
no window audio (``job.audio is None``), and its event repeats the last window
reading (``VoiceEmotion.window_repeated``) beside the new utterance reading.

The stage also keeps the speaker's voice baseline (:class:`VoiceBaseline`):
the model judges each window against the mean statistics of this speaker's
earlier windows that it judged neutral, so a naturally tense or loud voice is
not read as distress, and a caller distressed from the first word is judged
against the population's calm voice until they calm down.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np

from edge.contracts import EmotionScore, Frame, Samples, Stats
from edge.events import VoiceEmotion
from edge.settings import NONNEGATIVE, UNIT, Flag, Order, Range, check, setting
from edge.types import FRAME_SAMPLES, SAMPLE_RATE, Role


@dataclass(frozen=True, kw_only=True)
class EmotionOptions:
    """The acoustic emotion model on the caller's voice."""

    SECTION: ClassVar[str] = "pipeline.emotion"
    RULES: ClassVar[tuple[Order, ...]] = (
        Order("first", "window"),
        Order("onset_first", "window"),
        Order("onset_hop", "hop"),
    )

    enabled: bool = setting(
        True, help="score voices with the acoustic emotion model", flag=Flag("--no-emotion")
    )
    roles: tuple[Role, ...] = setting((Role.CALLER,), help="channels whose voice is scored")
    window: float = setting(3.0, help="seconds of recent speech per score", range=Range(1, 30))
    hop: float = setting(0.5, help="seconds of new speech between scores", range=Range(0.2, 10))
    first: float = setting(
        1.0, help="seconds of speech before the first score", range=Range(0.5, 30)
    )
    threshold: float = setting(
        0.5, help="VAD probability that counts a frame as speech", range=UNIT
    )
    hangover: float = setting(
        0.2, help="seconds kept after speech drops below the threshold", range=NONNEGATIVE
    )
    gap: float = setting(
        0.0,
        help="A pause this long starts a fresh window (0: windows span pauses). Faster cues at "
        "a cost in accuracy: see models/emotion.md.",
        range=Range(0, 10),
    )
    onset_gap: float = setting(
        0.4,
        help="Also score the current utterance alone (since a pause this long; 0 = off): at a "
        "distress onset the window is still mostly the calm speech before it, so the cue "
        "logic's fast onset path reads the utterance instead (see models/emotion.md).",
        range=Range(0, 10),
    )
    onset_first: float = setting(
        0.75, help="seconds of a new utterance before its first reading", range=Range(0.5, 30)
    )
    onset_hop: float = setting(
        0.25,
        help="Seconds of utterance speech between its readings; between window readings (every "
        "`hop`) the utterance is read alone. The fast onset path needs several hot readings "
        "in a row (cues.onset_readings), so a shorter step confirms sooner (models/emotion.md).",
        range=Range(0.1, 10),
    )
    prior_weight: float = setting(
        8.0, help="windows' worth of trust in the population baseline", range=NONNEGATIVE
    )
    baseline_windows: int = setting(
        120, help="windows averaged into a speaker's baseline, then it is fixed", range=NONNEGATIVE
    )
    baseline_label: str = setting(
        "neutral", help="only windows judged most likely this join the baseline"
    )

    def __post_init__(self) -> None:
        check(self)


@dataclass(frozen=True)
class EmotionJob:
    """What the model is to read of one channel's speech: a plain value, no behaviour.

    The model's worker scores ``audio`` and ``onset`` (those not None), each against
    ``baseline``, and hands the scores to :meth:`EmotionWindows.complete` back on the
    stage's side, so no stage code runs on the model thread.
    """

    role: Role
    start: float  # stream time of the window's first speech frame
    end: float  # stream time of its last
    audio: Samples | None  # the window; None: only the current utterance is read
    baseline: Stats | None  # the speaker's baseline when the window was cut
    onset: Samples | None = None  # the current utterance, if shorter
    onset_start: float | None = None  # stream time the current utterance began


class VoiceBaseline:
    """Running mean of a speaker's calm-voice statistics, starting from a population prior.

    ``mean = (sum of windows + prior_weight * prior) / (windows + prior_weight)``
    over the first ``limit`` windows; after that it stays fixed, so a call that
    turns distressed late does not drift its own yardstick.
    """

    def __init__(self, prior: Stats | None, prior_weight: float, limit: int) -> None:
        self.prior = prior
        self.prior_weight = prior_weight
        self.limit = limit
        self.reset()

    def reset(self) -> None:
        self.windows = 0
        self._sum: Stats | None = None

    def add(self, stats: Stats | None) -> None:
        if stats is None or self.windows >= self.limit:
            return
        self._sum = stats.astype(np.float32) if self._sum is None else self._sum + stats
        self.windows += 1

    @property
    def mean(self) -> Stats | None:
        if self._sum is None:
            return self.prior
        if self.prior is None:
            return (self._sum / self.windows).astype(np.float32, copy=False)
        weight = self.prior_weight
        return ((self._sum + weight * self.prior) / (self.windows + weight)).astype(
            np.float32, copy=False
        )


class EmotionWindows:
    """Speech windows of one channel for the acoustic emotion model."""

    def __init__(
        self,
        role: Role,
        options: EmotionOptions,
        prior: Stats | None = None,
        *,
        baseline: VoiceBaseline | None = None,
    ) -> None:
        self.role = role
        self.options = options
        self.baseline = baseline or VoiceBaseline(
            prior, options.prior_weight, options.baseline_windows
        )
        self._frames: deque[Frame] = deque(
            maxlen=round(options.window * SAMPLE_RATE / FRAME_SAMPLES)
        )
        self._hangover = round(options.hangover * SAMPLE_RATE / FRAME_SAMPLES)
        self._gap = self._frames_of(options.gap)
        self._onset_gap = self._frames_of(options.onset_gap)
        self._onset_first = round(options.onset_first * SAMPLE_RATE / FRAME_SAMPLES)
        self._utterance: deque[Frame] = deque(maxlen=self._frames.maxlen)
        # Readings every ``spacing`` times ``hop``, and above 1 no utterance-only
        # readings: the service is behind (edge.pipeline.load, fewer_readings).
        self.spacing = 1.0
        self.cut()

    def reset(self) -> None:
        """A new call: forget the windows and the speaker's baseline."""
        self.cut()
        self.baseline.reset()

    def _frames_of(self, pause: float) -> int:
        """A pause in frames (past the hangover); 0 stays 0 (off)."""
        if not pause:
            return 0
        return max(round(pause * SAMPLE_RATE / FRAME_SAMPLES), self._hangover + 1)

    def cut(self) -> None:
        """Start windows afresh, keeping the speaker's baseline."""
        self._frames.clear()
        self._utterance.clear()
        self._started = 0.0
        self._quiet = self._hangover + 1
        self._since = 0.0  # seconds of speech since the last window job
        self._since_reading = 0.0  # seconds of speech since the last job of either kind
        self._total = 0.0
        self._pending: EmotionJob | None = None
        self._last: VoiceEmotion | None = None  # the last window reading

    def feed(self, frame: Frame, prob: float) -> None:
        self._quiet = 0 if prob >= self.options.threshold else self._quiet + 1
        if self._quiet > self._hangover:
            if self._onset_gap and self._quiet == self._onset_gap:
                self._utterance.clear()
            if self._gap and self._quiet == self._gap and self._frames:
                self._frames.clear()
                self._since = self._total = 0.0
            return
        seconds = len(frame.samples) / SAMPLE_RATE
        self._frames.append(frame)
        self._utterance.append(frame)
        self._since += seconds
        self._since_reading += seconds
        self._total += seconds
        if self._onset_gap and len(self._utterance) == 1:
            self._started = frame.start  # a new utterance
        hop = self.options.hop * self.spacing
        due = self.options.first if self._total - self._since <= 0 else hop
        # The first reading of a new utterance comes when it has `onset_first` seconds,
        # whatever the window's rhythm was: an onset is read as early as it can be.
        fresh = self._onset_gap and len(self._utterance) == self._onset_first
        if self._since + 1e-9 >= due or (fresh and self._total > self._since):
            self._since = self._since_reading = 0.0
            self._pending = EmotionJob(
                self.role,
                self._frames[0].start,
                frame.end,
                np.concatenate([f.samples for f in self._frames]),
                self.baseline.mean,
                self._onset_audio(),
                self._started if self._onset_gap else None,
            )
        elif (
            self.spacing == 1.0  # readings spaced out: the window's only
            and self._since_reading + 1e-9 >= self.options.onset_hop
            and self._last is not None
            and (self._pending is None or self._pending.audio is None)  # a window job stays
            and (utterance := self._onset_audio()) is not None
        ):
            self._since_reading = 0.0
            self._pending = EmotionJob(
                self.role, frame.end, frame.end, None, self.baseline.mean, utterance, self._started
            )

    def _onset_audio(self) -> Samples | None:
        """The current utterance, when it is long enough and shorter than the window."""
        if not self._onset_gap or not self._onset_first <= len(self._utterance) < len(self._frames):
            return None
        return np.concatenate([f.samples for f in self._utterance])

    def next_job(self) -> EmotionJob | None:
        job, self._pending = self._pending, None
        return job

    def complete(
        self, job: EmotionJob, score: EmotionScore | None, onset: EmotionScore | None = None
    ) -> VoiceEmotion:
        """The window's reading (and the utterance's, if one was scored) as an event.

        ``score`` is None for a job without window audio: the event then repeats the
        last window reading, marked ``window_repeated``, beside the utterance's.
        """
        if score is None:
            if self._last is None:
                raise ValueError("an utterance-only job completed before any window reading")
            return replace(
                self._last,
                stream_time=job.end,
                onset_distress=onset.distress if onset is not None else None,
                onset_arousal=onset.arousal if onset is not None else None,
                utterance_start=job.onset_start,
                window_repeated=True,
            )
        if max(score.probs, key=lambda pair: pair[1])[0] == self.options.baseline_label:
            self.baseline.add(score.stats)
        self._last = VoiceEmotion(
            stream_time=job.end,
            role=job.role,
            start=job.start,
            end=job.end,
            probs=score.probs,
            distress=score.distress,
            arousal=score.arousal,
            onset_distress=onset.distress if onset is not None else None,
            onset_arousal=onset.arousal if onset is not None else None,
            utterance_start=job.onset_start,
        )
        return self._last
