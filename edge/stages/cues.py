"""Cues for the agent: the caller's distress, fused from voice, words and prosody,
and a few conversation habits.

The glue passes the caller's emotion and prosody events as they come, and
ticks the machine with the conversation's state (every frame is fine):

    events = cues.feed(event)                          # VoiceEmotion, TextEmotion, ProsodyUpdate
    events = cues.tick(now, conversation.observe(now))
    events = cues.flush(now)                           # end of call: clears what is active

**Fusion.** The caller's distress score is led by the voice model, which can
raise ``caller_distressed`` on its own; the text model and the speaker-relative
prosody (z-scores, so a naturally loud caller reads as calm) only fill part of
the remaining headroom::

    raw = voice + (1 - voice) * min(1, text_weight * text + prosody_weight * prosody)

so words alone, or prosody alone, stay below ``raise_at``. The score follows
``raw`` with an exponential time constant of ``smoothing`` while the caller is
being heard; when they fall silent it holds and fades slowly (``idle_fade``),
so that distress does not vanish each time the agent speaks.

**Fast onset path.** The smoothed score follows the voice model's 3 s
windows, which at an onset still hold mostly the calm speech before it. So the
current utterance is also read alone (``VoiceEmotion.utterance_distress``), and
:class:`OnsetWatch` raises the cue at once when ``onset_readings`` readings in a
row of one utterance are all distressed (``onset_at``) and unusual *for this
caller* (``onset_z`` robust spreads above their own earlier utterance readings).

**No flapping.** Every cue has a latch: it raises after its condition has
held for a while (``min_duration`` for distress), clears only after the
opposite condition (a lower threshold: hysteresis) has held for
``clear_after``, and cannot raise again within a cooldown of clearing. At most
one cue of each kind is active; a distress cue may rise from ``elevated`` to
``high`` (a new ``cue.raised`` with the same ``cue_id``) but never falls back
until it clears.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge.errors import ConfigError
from edge.events import (
    CueCleared,
    CueKind,
    CueLevel,
    CueRaised,
    Event,
    ProsodyUpdate,
    TextEmotion,
    VoiceEmotion,
)
from edge.stages.conversation import ConversationObservation
from edge.types import Role

_EPS = 1e-9

# How much each prosody feature counts in the prosody boost: loudness most,
# as "raised voice" is the plainest sign; speaking rate least, as it is known
# only from finals, seconds late.
_PROSODY_SHARES = (("loudness_z", 0.45), ("pitch_z", 0.35), ("rate_z", 0.2))


@dataclass(frozen=True, kw_only=True)
class CueOptions:
    # fusion
    text_weight: float = 0.35  # share of the headroom the text model can fill
    prosody_weight: float = 0.3  # share the prosody z-scores can fill
    z_onset: float = 1.0  # a z-score starts to count here...
    z_full: float = 3.0  # ...and counts fully here
    smoothing: float = 1.5  # seconds: EMA time constant while the caller is heard
    hold: float = 3.0  # seconds after the caller's last input that the score follows inputs
    idle_fade: float = 30.0  # seconds: time constant of the fade while the caller is silent
    stale: float = 5.0  # seconds after which a voice or prosody reading no longer counts
    text_fade: float = 15.0  # seconds: time constant of a text reading's fade
    resolution: float = 0.1  # seconds between evaluations of the rules
    # caller_distressed
    raise_at: float = 0.65  # chosen by 5-fold leave-speakers-out calls: see models/emotion.md
    clear_at: float = 0.4  # lower than raise_at: hysteresis
    high_at: float = 0.8
    min_duration: float = 1.5  # seconds above a threshold before raising (or rising to high)
    clear_after: float = 3.0  # seconds below clear_at before clearing
    cooldown: float = 30.0  # seconds after clearing before the same cue may raise again
    # Until the caller's voice baseline has settled, their voice is judged against the
    # population's: for the first `warmup` seconds after their first reading, the cue
    # needs `warmup_raise_at` (a caller distressed from the first word still gets one).
    warmup: float = 20.0
    warmup_raise_at: float = 0.9  # distress that raises the cue during the warm-up
    # fast onset path: the current utterance alone, against this caller's own utterances
    onset_readings: int = 4  # readings in a row of one utterance that raise at once (0: off)
    onset_at: float = 0.6  # utterance distress each of those readings must reach
    onset_z: float = 1.75  # spreads above the caller's typical utterance reading they must be
    onset_prior: float = -2.0  # a calm voice's typical reading (log-odds) for a new caller
    onset_prior_spread: float = 1.5  # spread of calm readings (log-odds) for a new caller
    onset_prior_weight: float = 5.0  # readings' worth of trust in that prior
    onset_history: int = 200  # the caller's latest readings that define "typical"
    # evidence
    evidence_voice: float = 0.4  # voice distress that counts as evidence
    evidence_text: float = 0.3  # (faded) text distress that counts as evidence
    evidence_z: float = 1.5  # a prosody z-score that counts as evidence on its own
    arousal_high: float = 0.6  # with loudness z >= raised_z: "raised voice"
    raised_z: float = 0.75
    shaky_share: float = 0.4  # sad + fearful probability for "shaky voice"
    # escalating
    escalate_window: float = 60.0  # seconds of score history the trend covers
    escalate_slope: float = 0.005  # score per second (0.3 a minute) that counts as rising
    escalate_clear_slope: float = 0.0015  # below this the rise is over
    escalate_half_slope: float = 0.002  # each half-window must rise this fast: a climb, not a jump
    escalate_floor: float = 0.35  # score the caller must be at for a rise to count
    # conversation
    long_silence: float = 10.0  # seconds no one speaks
    overtalk: float = 2.0  # seconds both speak at once
    agent_fast_wps: float = 3.5  # agent words per second (over the conversation's rate window)
    agent_fast_clear_wps: float = 3.0
    notice_clear_after: float = 1.0  # seconds overtalk or fast speech must be over to clear
    notice_cooldown: float = 15.0

    def __post_init__(self) -> None:
        checks = {
            "text_weight": 0 <= self.text_weight < 1,
            "prosody_weight": 0 <= self.prosody_weight < 1,
            "z_onset": 0 <= self.z_onset < self.z_full,
            "z_full": self.z_onset < self.z_full <= 10,
            "smoothing": 0.05 <= self.smoothing <= 60,
            "hold": 0 <= self.hold <= 60,
            "idle_fade": self.idle_fade >= self.smoothing,
            "stale": 0.5 <= self.stale <= 60,
            "text_fade": 0.5 <= self.text_fade <= 600,
            "resolution": 0.01 <= self.resolution <= 1,
            "raise_at": 0 < self.raise_at <= self.high_at,
            "clear_at": 0 < self.clear_at < self.raise_at,
            "high_at": self.raise_at <= self.high_at <= 1,
            "min_duration": 0 <= self.min_duration <= 60,
            "clear_after": 0 <= self.clear_after <= 600,
            "cooldown": 0 <= self.cooldown <= 3600,
            "warmup": 0 <= self.warmup <= 600,
            "warmup_raise_at": self.raise_at <= self.warmup_raise_at <= 1,
            "onset_readings": 0 <= self.onset_readings <= 20,
            "onset_at": 0 < self.onset_at <= 1,
            "onset_z": 0 <= self.onset_z <= 20,
            "onset_prior": -10 <= self.onset_prior <= 10,
            "onset_prior_spread": 0.05 <= self.onset_prior_spread <= 10,
            "onset_prior_weight": self.onset_prior_weight >= 0,
            "onset_history": 1 <= self.onset_history <= 100_000,
            "escalate_window": 10 <= self.escalate_window <= 3600,
            "escalate_slope": self.escalate_slope > self.escalate_clear_slope,
            "escalate_clear_slope": self.escalate_clear_slope >= 0,
            "escalate_half_slope": 0 <= self.escalate_half_slope <= self.escalate_slope,
            "escalate_floor": 0 <= self.escalate_floor <= 1,
            "long_silence": 1 <= self.long_silence <= 600,
            "overtalk": 0.2 <= self.overtalk <= 60,
            "agent_fast_wps": self.agent_fast_wps > self.agent_fast_clear_wps > 0,
            "notice_clear_after": 0 <= self.notice_clear_after <= 60,
            "notice_cooldown": 0 <= self.notice_cooldown <= 3600,
        }
        for name, ok in checks.items():
            if not ok:
                raise ConfigError(f"cues.{name} = {getattr(self, name)!r} is out of range")


@dataclass(frozen=True, kw_only=True)
class CueSnapshot:
    """What a display needs: the caller's distress now and the cues that are active."""

    time: float
    distress: float  # fused, smoothed caller distress, 0..1
    level: CueLevel | None  # level of the active caller_distressed cue, if any
    active: tuple[CueRaised, ...]  # the latest cue.raised of each active cue


class Latch:
    """On after ``on`` has held ``rise`` seconds, off after ``off`` has held ``fall``
    seconds, and not on again within ``cooldown`` seconds of going off."""

    def __init__(self, rise: float, fall: float, cooldown: float) -> None:
        self.rise, self.fall, self.cooldown = rise, fall, cooldown
        self.active = False
        self._on_since: float | None = None
        self._off_since: float | None = None
        self._cool_until = -math.inf

    def trip(self, now: float) -> bool:
        """On at once (a confirmed onset), unless on already or cooling down."""
        if self.active or now < self._cool_until:
            return False
        self.active, self._on_since, self._off_since = True, None, None
        return True

    def update(self, now: float, *, on: bool, off: bool) -> bool | None:
        """True when it turns on, False when it turns off, None when nothing changes."""
        if not self.active:
            if not on or now < self._cool_until:
                self._on_since = None
                return None
            self._on_since = now if self._on_since is None else self._on_since
            if now - self._on_since < self.rise - _EPS:
                return None
            self.active, self._on_since, self._off_since = True, None, None
            return True
        if not off:
            self._off_since = None
            return None
        self._off_since = now if self._off_since is None else self._off_since
        if now - self._off_since < self.fall - _EPS:
            return None
        self.active, self._off_since = False, None
        self._cool_until = now + self.cooldown
        return False


class CueMachine:
    """The caller's emotion and prosody events and the conversation's state in;
    :class:`CueRaised` and :class:`CueCleared` events out."""

    def __init__(self, options: CueOptions) -> None:
        self.options = options
        self.reset()

    def reset(self) -> None:
        o = self.options
        self.now = 0.0
        self._score = 0.0
        self._voice: tuple[float, VoiceEmotion] | None = None  # (time received, event)
        self._text: tuple[float, TextEmotion] | None = None
        self._prosody: tuple[float, ProsodyUpdate] | None = None
        self._last_input: float | None = None
        self._history: collections.deque[tuple[float, float]] = collections.deque()
        self._trend: tuple[float, float] | None = None  # slopes: whole window, slower half
        self._high_since: float | None = None
        self._onset = OnsetWatch(o)
        self._first_voice: float | None = None
        self._next_id = 1
        self._active: dict[CueKind, CueRaised] = {}
        self._raised_at: dict[CueKind, float] = {}
        self._latches = {
            CueKind.CALLER_DISTRESSED: Latch(o.min_duration, o.clear_after, o.cooldown),
            CueKind.ESCALATING: Latch(o.min_duration, o.clear_after, o.cooldown),
            CueKind.LONG_SILENCE: Latch(0.0, 0.0, o.notice_cooldown),
            CueKind.OVERTALK: Latch(0.0, o.notice_clear_after, o.notice_cooldown),
            CueKind.AGENT_SPEAKING_FAST: Latch(0.0, o.notice_clear_after, o.notice_cooldown),
        }

    # -- reading ----------------------------------------------------------

    @property
    def distress_level(self) -> float:
        """The fused, smoothed caller distress, 0..1."""
        return self._score

    def snapshot(self) -> CueSnapshot:
        distressed = self._active.get(CueKind.CALLER_DISTRESSED)
        return CueSnapshot(
            time=self.now,
            distress=round(self._score, 3),
            level=distressed.level if distressed else None,
            active=tuple(self._active.values()),
        )

    # -- feeding ----------------------------------------------------------

    def feed(self, event: Event) -> list[Event]:
        """A caller's VoiceEmotion, TextEmotion or ProsodyUpdate; other events are ignored."""
        if event.role is not Role.CALLER or not isinstance(
            event, (VoiceEmotion, TextEmotion, ProsodyUpdate)
        ):
            return []
        events = self._advance(event.stream_time)
        if isinstance(event, VoiceEmotion):
            self._voice = (self.now, event)
            self._first_voice = self.now if self._first_voice is None else self._first_voice
            if self._onset.confirmed(event):
                events += self._fast_raise(event.utterance_distress or 0.0)
        elif isinstance(event, TextEmotion):
            self._text = (self.now, event)
        else:
            self._prosody = (self.now, event)
        self._last_input = self.now
        return events

    def tick(self, now: float, conversation: ConversationObservation | None = None) -> list[Event]:
        """Time passes; with an observation, the conversation cues are checked too."""
        events = self._advance(now)
        if conversation is not None:
            events += self._conversation_cues(conversation)
        return events

    def flush(self, now: float) -> list[Event]:
        """End of call: every active cue clears."""
        self.now = max(self.now, now)
        return [self._clear(kind) for kind in list(self._active)]

    # -- fusion -----------------------------------------------------------

    def _advance(self, now: float) -> list[Event]:
        if self._last_input is None and not self._active:
            self.now = max(self.now, now)  # nothing heard yet: nothing to evaluate
            return []
        events: list[Event] = []
        while self.now < now - _EPS:
            step = min(self.options.resolution, now - self.now)
            self.now += step
            self._smooth(step)
            self._record()
            events += self._distress_cues()
        return events

    def _smooth(self, step: float) -> None:
        o = self.options
        if self._last_input is not None and self.now - self._last_input <= o.hold + _EPS:
            target, tau = self._raw(), o.smoothing
        else:
            target, tau = 0.0, o.idle_fade
        self._score += (1 - math.exp(-step / tau)) * (target - self._score)

    def _raw(self) -> float:
        o = self.options
        voice = self._fresh_voice()
        # The window's reading: the utterance's alone is for the fast onset path, whose
        # per-caller check keeps its noise out (in the smoothed score it doubled false cues).
        v = voice.distress if voice else 0.0
        boost = o.text_weight * self._text_distress() + o.prosody_weight * self._prosody_boost()
        return v + (1 - v) * min(1.0, boost)

    def _fresh_voice(self) -> VoiceEmotion | None:
        if self._voice is None or self.now - self._voice[0] > self.options.stale:
            return None
        return self._voice[1]

    def _fresh_prosody(self) -> ProsodyUpdate | None:
        """The latest prosody, if recent and relative to a settled baseline."""
        if self._prosody is None or self.now - self._prosody[0] > self.options.stale:
            return None
        update = self._prosody[1]
        return update if update.baseline_ready else None

    def _text_distress(self) -> float:
        if self._text is None:
            return 0.0
        at, text = self._text
        return text.distress * math.exp(-(self.now - at) / self.options.text_fade)

    def _prosody_boost(self) -> float:
        update = self._fresh_prosody()
        if update is None:
            return 0.0
        o = self.options
        boost = 0.0
        for name, share in _PROSODY_SHARES:
            z = getattr(update, name)
            if z is not None:
                boost += share * min(max((z - o.z_onset) / (o.z_full - o.z_onset), 0.0), 1.0)
        return boost

    def _evidence(self) -> tuple[str, ...]:
        """Human words for what the score rests on now: voice, then words, then prosody."""
        o = self.options
        found: list[str] = []
        voice, prosody = self._fresh_voice(), self._fresh_prosody()
        loudness_z = prosody.loudness_z if prosody else None
        if voice is not None and voice.peak >= o.evidence_voice:
            # Without a settled baseline the model's arousal alone stands for loudness.
            if voice.arousal >= o.arousal_high and (loudness_z is None or loudness_z >= o.raised_z):
                found.append("raised voice")
            if voice.prob("sad") + voice.prob("fearful") >= o.shaky_share:
                found.append("shaky voice")
            if not found:
                found.append("distressed tone")
        if self._text is not None and self._text_distress() >= o.evidence_text:
            found += self._text[1].evidence or ("upsetting words",)
        if prosody is not None:
            for name, words in (
                ("loudness_z", "raised voice"),
                ("pitch_z", "high pitch"),
                ("rate_z", "fast speech"),
            ):
                z = getattr(prosody, name)
                if z is not None and z >= o.evidence_z:
                    found.append(words)
        return tuple(dict.fromkeys(found))

    # -- distress cues ------------------------------------------------------

    def _warming_up(self) -> bool:
        """Is the caller's baseline still settling (their first `warmup` seconds)?"""
        first = self._first_voice
        return first is None or self.now - first < self.options.warmup - _EPS

    def _raise_at(self) -> float:
        """The distress that raises the cue: higher while the caller's baseline settles."""
        return self.options.warmup_raise_at if self._warming_up() else self.options.raise_at

    def _fast_raise(self, reading: float) -> list[Event]:
        """A confirmed onset raises the cue at once, skipping smoothing and minimum duration;
        the score jumps to the reading, so hysteresis holds it as for any raise."""
        kind = CueKind.CALLER_DISTRESSED
        warming = self._warming_up() and reading < self.options.warmup_raise_at
        if warming or not self._latches[kind].trip(self.now):
            return []
        self._score = max(self._score, reading)
        return [self._raise(kind, CueLevel.ELEVATED, self._score)]

    def _record(self) -> None:
        """Keep the score once a second and refit the trend over the last window.

        Only a full window is fitted, so the score's first climb from 0 at the
        start of a call is no trend; and both halves of the window must rise,
        so a single jump (caller_distressed's business) is none either.
        """
        window = self.options.escalate_window
        if self._history and self.now - self._history[-1][0] < 1.0 - _EPS:
            return
        self._history.append((self.now, self._score))
        while self._history[0][0] < self.now - window - 0.5:
            self._history.popleft()
        self._trend = None
        if self._history[-1][0] - self._history[0][0] >= window - 1.0 - _EPS:
            times, scores = np.array(self._history).T
            half = len(times) // 2
            halves = min(_slope(times[:half], scores[:half]), _slope(times[half:], scores[half:]))
            self._trend = (_slope(times, scores), halves)

    def _distress_cues(self) -> list[Event]:
        o, s, now = self.options, self._score, self.now
        events: list[Event] = []
        if s < o.high_at:
            self._high_since = None
        elif self._high_since is None:
            self._high_since = now
        high = self._high_since is not None and now - self._high_since >= o.min_duration - _EPS
        kind = CueKind.CALLER_DISTRESSED
        change = self._latches[kind].update(now, on=s >= self._raise_at(), off=s < o.clear_at)
        if change is True:
            events.append(self._raise(kind, CueLevel.HIGH if high else CueLevel.ELEVATED, s))
        elif change is False:
            events.append(self._clear(kind))
        elif high and kind in self._active and self._active[kind].level is CueLevel.ELEVATED:
            events.append(self._raise(kind, CueLevel.HIGH, s))
        slope, halves = self._trend or (0.0, 0.0)
        kind = CueKind.ESCALATING
        rising = slope >= o.escalate_slope and halves >= o.escalate_half_slope
        change = self._latches[kind].update(
            now, on=rising and s >= o.escalate_floor, off=slope < o.escalate_clear_slope
        )
        if change is True:
            events.append(self._raise(kind, CueLevel.ELEVATED, s))
        elif change is False:
            events.append(self._clear(kind))
        return events

    # -- conversation cues --------------------------------------------------

    def _conversation_cues(self, seen: ConversationObservation) -> list[Event]:
        o = self.options
        rate = seen.agent_rate_wps
        checks = (
            (CueKind.LONG_SILENCE, seen.silence >= o.long_silence, seen.silence == 0, seen.silence),
            (CueKind.OVERTALK, seen.overtalk >= o.overtalk, seen.overtalk == 0, seen.overtalk),
            (
                CueKind.AGENT_SPEAKING_FAST,
                rate is not None and rate >= o.agent_fast_wps,
                rate is None or rate < o.agent_fast_clear_wps,
                rate or 0.0,
            ),
        )
        events: list[Event] = []
        for kind, on, off, score in checks:
            change = self._latches[kind].update(self.now, on=on, off=off)
            if change is True:
                events.append(self._raise(kind, CueLevel.NOTICE, score))
            elif change is False:
                events.append(self._clear(kind))
        return events

    # -- events -------------------------------------------------------------

    def _raise(self, kind: CueKind, level: CueLevel, score: float) -> CueRaised:
        previous = self._active.get(kind)
        if previous is None:
            cue_id, self._next_id = self._next_id, self._next_id + 1
        else:
            cue_id = previous.cue_id
        evidence, message = _explain(kind, score, self._evidence(), level)
        raised = CueRaised(
            stream_time=round(self.now, 3),
            role=_ROLES[kind],
            cue=kind,
            cue_id=cue_id,
            level=level,
            score=round(score, 3),
            evidence=evidence,
            message=message,
        )
        self._active[kind] = raised
        self._raised_at.setdefault(kind, self.now)
        return raised

    def _clear(self, kind: CueKind) -> CueCleared:
        raised = self._active.pop(kind)
        started = self._raised_at.pop(kind)
        self._latches[kind].active = False
        return CueCleared(
            stream_time=round(self.now, 3),
            role=raised.role,
            cue=kind,
            cue_id=raised.cue_id,
            duration=round(self.now - started, 3),
        )


class OnsetWatch:
    """The fast onset path: is the caller's current utterance, read alone, unusually
    distressed *for this caller*?

    Each reading is compared, in log-odds, with the caller's own earlier utterance
    readings (median and spread, robust to a few distressed ones, blended with a
    population prior while there are few): it counts when it is at least
    ``onset_at`` and ``onset_z`` spreads above the caller's typical reading.
    ``onset_readings`` counting readings in a row within one utterance confirm an onset.
    """

    def __init__(self, options: CueOptions) -> None:
        self.options = options
        self._history: collections.deque[float] = collections.deque(maxlen=options.onset_history)
        self._utterance: float | None = None
        self._run = 0

    def confirmed(self, voice: VoiceEmotion) -> bool:
        o = self.options
        reading = voice.utterance_distress
        if not o.onset_readings or reading is None:
            self._utterance, self._run = None, 0
            return False
        if voice.utterance_start != self._utterance:
            self._utterance, self._run = voice.utterance_start, 0
        logit = math.log((reading + 1e-3) / (1 - reading + 1e-3))
        hot = reading >= o.onset_at and logit >= self._typical()
        self._history.append(logit)
        self._run = self._run + 1 if hot else 0
        return self._run == o.onset_readings

    def _typical(self) -> float:
        """The log-odds a reading must reach: this caller's median plus onset_z spreads."""
        o = self.options
        n, w = len(self._history), o.onset_prior_weight
        if n:
            seen = np.fromiter(self._history, float, n)
            median = float(np.median(seen))
            spread = 1.4826 * float(np.median(np.abs(seen - median))) + 0.1
        else:
            median = spread = 0.0
        centre = (n * median + w * o.onset_prior) / max(n + w, _EPS)
        spread = math.sqrt((n * spread**2 + w * o.onset_prior_spread**2) / max(n + w, _EPS))
        return centre + o.onset_z * spread


def _slope(times: npt.NDArray[np.float64], values: npt.NDArray[np.float64]) -> float:
    """Least-squares slope of ``values`` over ``times``."""
    centred = times - times.mean()
    return float(np.dot(centred, values) / np.dot(centred, centred))


_ROLES: dict[CueKind, Role | None] = {
    CueKind.CALLER_DISTRESSED: Role.CALLER,
    CueKind.ESCALATING: Role.CALLER,
    CueKind.LONG_SILENCE: None,
    CueKind.OVERTALK: None,
    CueKind.AGENT_SPEAKING_FAST: Role.AGENT,
}


def _explain(
    kind: CueKind, score: float, distress_evidence: tuple[str, ...], level: CueLevel
) -> tuple[tuple[str, ...], str]:
    """The evidence words and the one calm sentence for the agent."""
    listed = ", ".join(distress_evidence)
    if kind is CueKind.CALLER_DISTRESSED:
        how = "very distressed" if level is CueLevel.HIGH else "distressed"
        return distress_evidence, f"Caller sounds {how}" + (f": {listed}." if listed else ".")
    if kind is CueKind.ESCALATING:
        evidence = ("rising distress", *distress_evidence)
        return evidence, "Caller is getting more upset" + (f": {listed}." if listed else ".")
    if kind is CueKind.LONG_SILENCE:
        return ("no one speaking",), f"No one has spoken for {score:.0f} seconds."
    if kind is CueKind.OVERTALK:
        return ("talking over each other",), "You and the caller are talking at the same time."
    return (
        ("fast speech",),
        f"You are speaking quickly ({score:.1f} words a second); a slower pace may help.",
    )
