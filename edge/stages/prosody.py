"""Pitch, loudness and pace of one channel's speech, relative to the same speaker.

The glue feeds every frame of the channel with the VAD's verdict for it, and
each final transcript of the channel:

    events = tracker.feed(frame, speech)   # speech: prob >= vad.threshold
    tracker.feed_final(final)              # words give the speaking rate

About once per ``interval`` seconds of speech the tracker emits a
:class:`~edge.events.ProsodyUpdate` over the last ``window`` seconds:

* pitch: YIN (de Cheveigné & Kawahara 2002) on two 32 ms windows per frame,
  60-500 Hz, speech frames only; the update carries the median of the voiced
  estimates and their spread in semitones;
* loudness: RMS of the speech frames in dBFS;
* speaking rate: words per second of speech in recent finals;
* pause ratio: share of the window, from its first speech, that was not speech.

Absolute values say little about distress (some people are loud, some speak
fast), so every feature is also given as a z-score against a baseline of this
speaker in this call: the median and MAD of the first ``baseline_speech``
seconds of speech, then a slow exponential update with outliers clipped, so
that a minute of shouting does not become the new normal.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from edge.contracts import Frame
from edge.events import Event, ProsodyUpdate, TranscriptFinal, Word
from edge.settings import COUNT, POSITIVE, Order, Range, check, setting
from edge.types import FRAME_SAMPLES, FRAME_SECONDS, SAMPLE_RATE, Role

_HOPS = 2  # pitch estimates per frame
_HOP = FRAME_SAMPLES // _HOPS
_YIN_WINDOW = 512  # samples integrated per lag (32 ms)
_SILENCE = 1e-12  # mean square added before taking logs
_OCTAVE_ERROR = 9.0  # semitones from the window's median beyond which a pitch is left out


@dataclass(frozen=True, kw_only=True)
class ProsodyOptions:
    """Pitch, loudness and speaking rate against the speaker's own baseline."""

    SECTION: ClassVar[str] = "pipeline.prosody"
    RULES: ClassVar[tuple[Order, ...]] = (
        Order("interval", "window"),
        Order("min_speech", "window"),
        Order("fmin", "fmax", strict=True),
        Order("interval", "baseline_adapt"),
    )

    window: float = setting(
        3.0, help="seconds of stream time each update describes", range=Range(1, 30)
    )
    interval: float = setting(
        1.0, help="seconds of new speech between updates", range=Range(0.2, 30)
    )
    min_speech: float = setting(
        0.75, help="seconds of speech a window needs for an update", range=POSITIVE
    )
    fmin: float = setting(
        60.0, help="Hz; lowest pitch searched (deep male voices)", range=Range(40, 1000)
    )
    fmax: float = setting(
        500.0, help="Hz; highest (children, raised female voices)", range=Range(40, 1000)
    )
    voicing: float = setting(
        0.2,
        help="YIN aperiodicity below which a window counts as voiced",
        range=Range(0.01, 0.6),
    )
    min_voiced: int = setting(6, help="voiced estimates a window needs for a pitch", range=COUNT)
    quiet_db: float = setting(
        -55.0,
        help="speech frames quieter than this get no pitch estimate",
        range=Range(-120, 0),
    )
    rate_window: float = setting(
        20.0, help="seconds of recent finals the speaking rate covers", range=Range(2, 300)
    )
    min_rate_words: int = setting(6, help="words those finals need for a rate", range=COUNT)
    baseline_speech: float = setting(
        20.0, help="seconds of speech before the baseline is ready", range=Range(2, 600)
    )
    baseline_adapt: float = setting(
        120.0, help="seconds of speech: time constant of later updates", range=POSITIVE
    )

    def __post_init__(self) -> None:
        check(self)


# -- pitch -------------------------------------------------------------------


class Yin:
    """YIN pitch estimates of the last two 32 ms windows of a signal, vectorised.

    The difference function is computed from FFT cross-correlation and running
    energies, for both windows at once. A window is left unvoiced (NaN) when
    a quarter of the span it reads is quieter than ``quiet`` (mean square) or
    20 dB below another quarter (an onset or an offset), as YIN finds false
    periods in both.
    """

    def __init__(self, fmin: float, fmax: float, threshold: float, quiet: float = 1e-7) -> None:
        self.threshold = threshold
        self.quiet = quiet
        self.tau_min = max(2, math.floor(SAMPLE_RATE / fmax))
        self.tau_max = math.ceil(SAMPLE_RATE / fmin)
        self.span = _YIN_WINDOW + self.tau_max  # samples one estimate reads
        self.needs = self.span + _HOP * (_HOPS - 1)  # samples one call reads
        self._n_fft = 1 << (self.span - 1).bit_length()
        self._taus = np.arange(1, self.tau_max + 1, dtype=np.float64)
        self._edges = np.linspace(0, self.span, 5).astype(int)  # four blocks for the level check

    def __call__(self, signal: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        """Pitch in Hz of the windows ending half a frame before the end and at the end.

        ``signal`` must hold at least :attr:`needs` samples; unvoiced windows are NaN.
        """
        w, t = _YIN_WINDOW, self.tau_max
        x = np.asarray(signal[len(signal) - self.needs :], dtype=np.float64)
        segments = np.stack([x[i * _HOP : i * _HOP + self.span] for i in range(_HOPS)])
        segments -= segments.mean(axis=1, keepdims=True)
        energy = np.concatenate(
            [np.zeros((_HOPS, 1)), np.cumsum(segments * segments, axis=1)], axis=1
        )
        blocks = np.diff(energy[:, self._edges], axis=1) / np.diff(self._edges)
        lowest = blocks.min(axis=1)
        steady = (lowest >= self.quiet) & (blocks.max(axis=1) <= 100 * lowest)
        if not steady.any():
            return np.full(_HOPS, np.nan)
        spectrum = np.fft.rfft(segments, self._n_fft)
        first = np.fft.rfft(segments[:, :w], self._n_fft)
        corr = np.fft.irfft(np.conj(first) * spectrum, self._n_fft)[:, : t + 1]
        lagged = energy[:, w : w + t + 1] - energy[:, : t + 1]
        diff = np.maximum(lagged[:, :1] + lagged - 2 * corr, 0.0)[:, 1:]
        cumulative = np.cumsum(diff, axis=1)
        cmnd = diff * self._taus / np.maximum(cumulative, 1e-12)  # index k is lag k + 1
        return np.array(
            [self._pick(row) if ok else math.nan for row, ok in zip(cmnd, steady, strict=True)]
        )

    def _pick(self, cmnd: npt.NDArray[np.float64]) -> float:
        """The first dip under the threshold, refined to its minimum and interpolated."""
        lo, hi = self.tau_min - 1, self.tau_max - 1
        below = np.flatnonzero(cmnd[lo:hi] < self.threshold)
        if not len(below):
            return math.nan
        k = lo + int(below[0])
        if k == lo and cmnd[lo - 1] <= cmnd[lo]:
            return math.nan  # the dip lies above fmax: not a voice we track
        while k + 1 < hi and cmnd[k + 1] < cmnd[k]:
            k += 1
        shift = 0.0
        if lo < k < hi:
            a, b, c = cmnd[k - 1], cmnd[k], cmnd[k + 1]
            denominator = a - 2 * b + c
            if denominator > 0:
                shift = 0.5 * (a - c) / denominator
        return SAMPLE_RATE / (k + 1 + shift)


# -- speaking rate -----------------------------------------------------------


def speaking_rate(
    utterances: Iterable[Sequence[Word]], since: float, *, min_words: int = 2
) -> tuple[int, float]:
    """(words, seconds) of speech in the words ending after ``since``.

    Each utterance counts from its first to its last such word; utterances of
    fewer than ``min_words`` words ("yes", "okay") are left out, as their
    timing says little about pace.
    """
    count, seconds = 0, 0.0
    for words in utterances:
        recent = [w for w in words if w.end > since]
        if len(recent) < min_words:
            continue
        count += len(recent)
        seconds += max(recent[-1].end - recent[0].start, 0.0)
    return count, seconds


# -- baseline ----------------------------------------------------------------


class Baseline:
    """A robust running mean and spread of one feature of one speaker.

    While warming up the values are collected and the baseline is their median
    and scaled MAD; once settled each value moves it by ``rate`` (clipped to
    three spreads, so that an outburst shifts it little).
    """

    def __init__(self, floor: float) -> None:
        self.floor = floor  # smallest spread: a steady speaker still varies this much
        self.settled = False
        self.mean = 0.0
        self.spread = floor
        self._values: list[float] = []

    @property
    def known(self) -> bool:
        """Enough values for a z-score to mean something (three, or settled)."""
        return self.settled or len(self._values) >= 3

    def z(self, value: float) -> float:
        """How many spreads ``value`` lies from the mean (0 while not :attr:`known`)."""
        return (value - self.mean) / self.spread if self.known else 0.0

    def add(self, value: float, rate: float) -> None:
        if not self.settled:
            self._values.append(value)
            values = np.asarray(self._values)
            self.mean = float(np.median(values))
            self.spread = max(1.4826 * float(np.median(np.abs(values - self.mean))), self.floor)
            return
        clipped = min(max(value, self.mean - 3 * self.spread), self.mean + 3 * self.spread)
        delta = clipped - self.mean
        self.mean += rate * delta
        variance = (1 - rate) * (self.spread**2 + rate * delta * delta)
        self.spread = max(math.sqrt(variance), self.floor)

    def settle(self) -> None:
        """End the warm-up (if there were enough values to settle on)."""
        if self.known:
            self.settled = True
            self._values = []


# -- the tracker -------------------------------------------------------------


class ProsodyTracker:
    """One channel's frames and finals in; :class:`ProsodyUpdate` events out."""

    def __init__(self, role: Role, options: ProsodyOptions) -> None:
        self.role = role
        self.options = options
        self._quiet_ms = 10 ** (options.quiet_db / 10)
        self._yin = Yin(options.fmin, options.fmax, options.voicing, self._quiet_ms)
        self._keep = math.ceil(self._yin.needs / FRAME_SAMPLES) * FRAME_SAMPLES
        self._n = max(1, round(options.window / FRAME_SECONDS))  # frames per window
        self._interval_frames = max(1, round(options.interval / FRAME_SECONDS))
        self._min_frames = max(1, round(options.min_speech / FRAME_SECONDS))
        self._baseline_frames = round(options.baseline_speech / FRAME_SECONDS)
        self.reset()

    def reset(self) -> None:
        n = self._n
        self._audio = np.zeros(self._keep, dtype=np.float32)  # the latest samples
        self._speech = np.zeros(n, dtype=bool)  # ring buffers over the window, by frame
        self._power = np.zeros(n)
        self._pitch = np.full((n, _HOPS), np.nan)
        self._frames = 0  # frames seen
        self._since_update = 0  # speech frames since the last update
        self._speech_frames = 0  # speech frames in the call so far
        self.now = 0.0
        self._finals: collections.deque[tuple[Word, ...]] = collections.deque()
        self._rate: float | None = None
        self._rate_z: float | None = None
        self._rate_at = 0.0  # end of the latest final counted in the rate
        self.baselines = {
            "pitch": Baseline(floor=1.0),  # semitones
            "spread": Baseline(floor=0.5),  # semitones
            "loudness": Baseline(floor=2.0),  # dB
            "rate": Baseline(floor=0.3),  # words per second
            "pause": Baseline(floor=0.1),
        }

    @property
    def baseline_ready(self) -> bool:
        return self._speech_frames >= self._baseline_frames

    # -- feeding --------------------------------------------------------

    def feed(self, frame: Frame, speech: bool) -> list[Event]:
        """One frame of this channel and whether the VAD counts it as speech."""
        samples = frame.samples
        self._audio = np.concatenate([self._audio[len(samples) :], samples])
        slot = self._frames % self._n
        self._frames += 1
        self.now = frame.end
        power = float(np.dot(samples, samples)) / len(samples)
        self._speech[slot] = speech
        self._power[slot] = power
        if speech and power >= self._quiet_ms:
            self._pitch[slot] = self._yin(self._audio)
        else:
            self._pitch[slot] = np.nan
        if not speech:
            return []
        self._speech_frames += 1
        self._since_update += 1
        if self._since_update < self._interval_frames:
            return []
        update = self._update()
        return [update] if update is not None else []

    def feed_final(self, final: TranscriptFinal) -> None:
        """A final transcript; its words update the speaking rate (other channels' are ignored)."""
        if final.role is not self.role or not final.words:
            return
        self._finals.append(final.words)
        since = max(self.now, final.end) - self.options.rate_window
        while self._finals and self._finals[0][-1].end <= since:
            self._finals.popleft()
        words, seconds = speaking_rate(self._finals, since)
        if words < self.options.min_rate_words or seconds <= 0:
            return
        self._rate, self._rate_at = words / seconds, final.end
        baseline = self.baselines["rate"]
        self._rate_z = baseline.z(self._rate) if baseline.known else None
        baseline.add(self._rate, min(1.0, (final.end - final.start) / self.options.baseline_adapt))

    def flush(self) -> list[Event]:
        """End of stream: an update for speech not yet described, if there is enough."""
        if not self._since_update:
            return []
        update = self._update()
        return [update] if update is not None else []

    # -- internals ------------------------------------------------------

    def _window(
        self,
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """The window's frames in time order (speech flags, powers, pitches)."""
        n = min(self._frames, self._n)
        order = np.arange(self._frames - n, self._frames) % self._n
        return self._speech[order], self._power[order], self._pitch[order]

    def _update(self) -> ProsodyUpdate | None:
        speech, power, pitch = self._window()
        if int(speech.sum()) < self._min_frames:
            return None
        self._since_update = 0
        first = int(np.argmax(speech))
        pause_ratio = 1.0 - float(speech[first:].mean())
        loudness = 10 * math.log10(float(power[speech].mean()) + _SILENCE)
        voiced = pitch[speech].ravel()
        voiced = voiced[~np.isnan(voiced)]
        pitch_hz = spread = None
        if len(voiced) >= self.options.min_voiced:
            tones = 12 * np.log2(voiced / 100.0)  # semitones above 100 Hz
            centre = float(np.median(tones))
            pitch_hz = 100.0 * 2 ** (centre / 12)
            # YIN's octave errors lie 12 semitones off; the median ignores them, std does not.
            spread = float(np.std(tones[np.abs(tones - centre) <= _OCTAVE_ERROR]))
        values = {
            "pitch": None if pitch_hz is None else 12 * math.log2(pitch_hz / 100.0),
            "spread": spread,
            "loudness": loudness,
            "pause": pause_ratio,
        }
        z: dict[str, float | None] = {}
        ready = self.baseline_ready
        for name, value in values.items():
            baseline = self.baselines[name]
            if value is None:
                z[name] = None
                continue
            z[name] = round(baseline.z(value), 3)
            baseline.add(value, self.options.interval / self.options.baseline_adapt)
        if ready:
            for baseline in self.baselines.values():
                baseline.settle()
        if self._rate is not None and self._rate_at < self.now - self.options.rate_window:
            self._rate = self._rate_z = None  # no recent finals: the pace is unknown again
        start = max(self.now - len(speech) * FRAME_SECONDS, 0.0)
        return ProsodyUpdate(
            stream_time=self.now,
            role=self.role,
            start=round(start + first * FRAME_SECONDS, 3),
            end=round(self.now, 3),
            pitch_hz=None if pitch_hz is None else round(pitch_hz, 1),
            pitch_spread=None if spread is None else round(spread, 2),
            loudness_db=round(loudness, 1),
            rate_wps=None if self._rate is None else round(self._rate, 2),
            pause_ratio=round(pause_ratio, 3),
            pitch_z=z["pitch"],
            spread_z=z["spread"],
            loudness_z=z["loudness"] or 0.0,
            rate_z=None if self._rate_z is None else round(self._rate_z, 3),
            pause_z=z["pause"] or 0.0,
            baseline_ready=ready,
        )
