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
caller* (``onset_z`` robust spreads above their own earlier utterance readings),
or roused: the utterance's arousal ``onset_arousal_z`` spreads above their own
(the cue still needs a reason, a voice reading of ``evidence_voice``).

**Reasons that follow the caller.** A cue names what it rests on (``evidence``,
in plain words) and quotes the caption words behind them (``quote``, from the
text reading). A reason counts from when it is seen until ``evidence_hold``
seconds after it was last seen, so reasons do not flicker with each reading.
An active distress cue is re-sent (a new ``cue.raised``, same ``cue_id``)
whenever its reasons or quotes change, at most once every ``resend_after``
seconds, never for a score change alone; with each, its ``suggestion``
(:mod:`edge.stages.guidance`) follows the reasons too.

**As sure as its evidence** (issue 13). The voice model generalises poorly
beyond its training voices, so a cue resting on it alone, with no words and no
prosody against the caller's own baseline, says "tone of voice only" and stays
``elevated``; ``high`` needs corroboration (``voice_only_high`` lifts the rule).
Such a cue raises only when the window reading is unusual *for this caller*
(``voice_own_z`` robust spreads above their own running median, :class:`CallerNorm`),
since the model reads many calm voices of other corpora as steadily distressed;
a high pitch, which swings widely in calm speech, is named but corroborates
nothing (``pitch_corroborates``); ``voice_only_raise`` turns the voice alone off.
A distress cue raises only with at least one reason to show (``need_reason``):
a score made of inputs each too weak to name is no cue.

**No flapping.** Every cue has a latch: it raises after its condition has
held for a while (``min_duration`` for distress), clears only after the
opposite condition (a lower threshold: hysteresis) has held for
``clear_after``, and cannot raise again within a cooldown of clearing. At most
one cue of each kind is active; a distress cue may rise from ``elevated`` to
``high`` (a new ``cue.raised`` with the same ``cue_id``) but never falls back
until it clears, even when the reasons that lifted it fade.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

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
from edge.settings import NONNEGATIVE, POSITIVE, UNIT, Order, Range, check, setting
from edge.stages.conversation import ConversationObservation
from edge.stages.guidance import suggest
from edge.types import Role

_EPS = 1e-9

# How much each prosody feature counts in the prosody boost: loudness most,
# as "raised voice" is the plainest sign; speaking rate least, as it is known
# only from finals, seconds late.
_PROSODY_SHARES = (("loudness_z", 0.45), ("pitch_z", 0.35), ("rate_z", 0.2))


@dataclass(frozen=True, kw_only=True)
class CueOptions:
    """How the signals fuse into a distress score and when cues raise and clear."""

    SECTION: ClassVar[str] = "pipeline.cues"
    RULES: ClassVar[tuple[Order, ...]] = (
        Order("clear_at", "raise_at", strict=True),
        Order("raise_at", "high_at"),
        Order("raise_at", "warmup_raise_at"),
        Order("z_onset", "z_full", strict=True),
        Order("smoothing", "idle_fade"),
        Order("escalate_clear_slope", "escalate_slope", strict=True),
        Order("escalate_half_slope", "escalate_slope"),
        Order("agent_fast_clear_wps", "agent_fast_wps", strict=True),
    )

    # fusion
    text_weight: float = setting(
        0.35, help="share of the headroom the text model can fill", range=Range(0, 1, below=True)
    )
    prosody_weight: float = setting(
        0.3, help="share the prosody z-scores can fill", range=Range(0, 1, below=True)
    )
    z_onset: float = setting(1.0, help="a z-score starts to count here...", range=NONNEGATIVE)
    z_full: float = setting(3.0, help="...and counts fully here", range=Range(0, 10, above=True))
    smoothing: float = setting(
        1.5, help="seconds: EMA time constant while the caller is heard", range=Range(0.05, 60)
    )
    hold: float = setting(
        3.0,
        help="seconds after the caller's last input that the score follows inputs",
        range=Range(0, 60),
    )
    idle_fade: float = setting(
        30.0, help="seconds: time constant of the fade while the caller is silent", range=POSITIVE
    )
    stale: float = setting(
        5.0,
        help="seconds after which a voice or prosody reading no longer counts",
        range=Range(0.5, 60),
    )
    text_fade: float = setting(
        15.0, help="seconds: time constant of a text reading's fade", range=Range(0.5, 600)
    )
    resolution: float = setting(
        0.1, help="seconds between evaluations of the rules", range=Range(0.01, 1)
    )
    # caller_distressed
    raise_at: float = setting(
        0.65,
        help="chosen by 5-fold leave-speakers-out calls: see models/emotion.md",
        range=Range(0, 1, above=True),
    )
    clear_at: float = setting(
        0.4, help="lower than raise_at: hysteresis", range=Range(0, 1, above=True)
    )
    high_at: float = setting(
        0.8, help="distress score at which the cue turns high", range=Range(0, 1, above=True)
    )
    min_duration: float = setting(
        1.5,
        help="seconds above a threshold before raising (or rising to high)",
        range=Range(0, 60),
    )
    clear_after: float = setting(
        3.0, help="seconds below clear_at before clearing", range=Range(0, 600)
    )
    cooldown: float = setting(
        30.0,
        help="seconds after clearing before the same cue may raise again",
        range=Range(0, 3600),
    )
    warmup: float = setting(
        20.0,
        help="Until the caller's voice baseline has settled, their voice is judged against the "
        "population's: for the first `warmup` seconds after their first reading, the cue needs "
        "`warmup_raise_at` (a caller distressed from the first word still gets one).",
        range=Range(0, 600),
    )
    warmup_raise_at: float = setting(
        0.9, help="distress that raises the cue during the warm-up", range=UNIT
    )
    # fast onset path: the current utterance alone, against this caller's own utterances
    onset_readings: int = setting(
        3,
        help="readings in a row of one utterance (distressed, or roused: onset_arousal_z) that "
        "raise at once (0: off)",
        range=Range(1, 20, zero="no fast onset path"),
    )
    onset_at: float = setting(
        0.6,
        help="utterance distress each of those readings must reach",
        range=Range(0, 1, above=True),
    )
    onset_z: float = setting(
        1.75,
        help="spreads above the caller's typical utterance reading they must be",
        range=Range(0, 20),
    )
    onset_prior: float = setting(
        -2.0,
        help="a calm voice's typical reading (log-odds) for a new caller",
        range=Range(-10, 10),
    )
    onset_prior_spread: float = setting(
        1.5, help="spread of calm readings (log-odds) for a new caller", range=Range(0.05, 10)
    )
    onset_prior_weight: float = setting(
        5.0, help="readings' worth of trust in that prior", range=NONNEGATIVE
    )
    onset_history: int = setting(
        200,
        help='the caller\'s latest readings that define "typical"',
        range=Range(1, 100_000),
    )
    onset_strong_at: float = setting(
        1.0,
        help="utterance distress at which fewer readings in a row confirm an onset "
        "(onset_strong_readings; 1: off)",
        range=UNIT,
    )
    onset_strong_readings: int = setting(
        2,
        help="readings in a row at onset_strong_at (and unusual for the caller) that raise at once",
        range=Range(1, 20),
    )
    onset_arousal_z: float = setting(
        2.0,
        help="an utterance reading also counts towards an onset when its arousal is this many "
        "robust spreads above the caller's own utterance arousal and its distress at least "
        "onset_arousal_at (0: off); chosen on cue timing against false cues, see "
        "models/emotion.md",
        range=Range(0, 20),
    )
    onset_in_a_row: bool = setting(
        True,
        help="the fast path's readings must come in a row (false: anywhere in the utterance)",
    )
    onset_arousal_at: float = setting(
        0.0,
        help="utterance distress a reading with unusual arousal must reach to count",
        range=UNIT,
    )
    onset_arousal_prior: float = setting(
        -1.0,
        help="a calm voice's typical utterance arousal (log-odds) for a new caller",
        range=Range(-10, 10),
    )
    # evidence
    evidence_voice: float = setting(0.4, help="voice distress that counts as evidence", range=UNIT)
    evidence_text: float = setting(
        0.3, help="(faded) text distress that counts as evidence", range=UNIT
    )
    evidence_z: float = setting(
        2.5, help="a prosody z-score that counts as evidence on its own", range=NONNEGATIVE
    )
    arousal_high: float = setting(
        0.6, help='with loudness z >= raised_z: "raised voice"', range=UNIT
    )
    raised_z: float = setting(
        0.75, help="loudness z-score that, with arousal_high, is a raised voice"
    )
    shaky_share: float = setting(
        0.4, help='sad + fearful probability for "shaky voice"', range=UNIT
    )
    evidence_hold: float = setting(
        10.0,
        help="seconds a reason stays on an active cue after it was last seen",
        range=Range(0, 600),
    )
    resend_after: float = setting(
        1.0,
        help="seconds at least between two cue.raised of one active cue whose reasons changed",
        range=Range(0.1, 600),
    )
    max_quotes: int = setting(
        3, help="caption quotes a cue carries at most (the latest)", range=Range(0, 20)
    )
    need_reason: bool = setting(
        True,
        help="a distress cue raises only once it has a reason to show (the score alone is not one)",
    )
    voice_only_raise: bool = setting(
        True,
        help="the voice model alone may raise a distress cue (false: it needs words or "
        "prosody against the caller's own baseline as well)",
    )
    voice_own_z: float = setting(
        2.0,
        help="a cue resting on the voice alone needs its window reading this many robust "
        "spreads above the caller's own typical window reading (0: off)",
        range=Range(0, 20),
    )
    pitch_corroborates: bool = setting(
        False,
        help="a high pitch against the caller's own baseline is enough to corroborate the "
        "voice model (false: it is shown as a reason but a cue needs words, loudness or pace)",
    )
    voice_only_high: bool = setting(
        False,
        help='a cue resting on the voice model alone ("tone of voice only": no words, no '
        "prosody against the caller's own baseline) may turn high; the model's distress "
        "AUC on corpora it was not trained on is 0.57-0.73 (models/emotion.md)",
    )
    # escalating
    escalate_window: float = setting(
        60.0, help="seconds of score history the trend covers", range=Range(10, 3600)
    )
    escalate_slope: float = setting(
        0.005, help="score per second (0.3 a minute) that counts as rising", range=POSITIVE
    )
    escalate_clear_slope: float = setting(
        0.0015, help="below this the rise is over", range=NONNEGATIVE
    )
    escalate_half_slope: float = setting(
        0.002,
        help="each half-window must rise this fast: a climb, not a jump",
        range=NONNEGATIVE,
    )
    escalate_floor: float = setting(
        0.35, help="score the caller must be at for a rise to count", range=UNIT
    )
    # conversation
    long_silence: float = setting(10.0, help="seconds no one speaks", range=Range(1, 600))
    overtalk: float = setting(2.0, help="seconds both speak at once", range=Range(0.2, 60))
    agent_fast_wps: float = setting(
        3.5,
        help="agent words per second (over the conversation's rate window)",
        range=POSITIVE,
    )
    agent_fast_clear_wps: float = setting(
        3.0, help="agent words per second below which fast speech clears", range=POSITIVE
    )
    notice_clear_after: float = setting(
        1.0, help="seconds overtalk or fast speech must be over to clear", range=Range(0, 60)
    )
    notice_cooldown: float = setting(
        15.0,
        help="seconds after a notice clears before it may raise again",
        range=Range(0, 3600),
    )

    def __post_init__(self) -> None:
        check(self)


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
        self._own = CallerNorm(o, o.voice_own_z)  # the caller's window readings
        self._unusual = False  # the latest window reading is unusual for this caller
        self._first_voice: float | None = None
        self._next_id = 1
        self._active: dict[CueKind, CueRaised] = {}
        self._raised_at: dict[CueKind, float] = {}
        self._sent_at: dict[CueKind, float] = {}
        # Reasons as last seen (stream time): the voice model's words, the corroborating
        # words (the text model's, prosody against the caller's baseline) and quotes.
        self._seen_voice: dict[str, float] = {}
        self._seen_other: dict[str, float] = {}
        self._seen_quotes: dict[str, float] = {}
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

    def new_cue_id(self) -> int:
        """A cue id unused in this call: for every watcher that raises cues in it."""
        cue_id, self._next_id = self._next_id, self._next_id + 1
        return cue_id

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
            if not event.window_repeated:
                own = self.options.voice_own_z
                self._unusual = not own or self._own.unusual(event.distress)
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
            self._observe()
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

    def _observe(self) -> None:
        """Note the reasons the score rests on now, and forget those not seen for
        ``evidence_hold`` seconds, so that a cue's reasons follow the caller without
        flickering with every reading."""
        o, now = self.options, self.now
        voice, other, quotes = self._evidence()
        for seen, found in (
            (self._seen_voice, voice),
            (self._seen_other, other),
            (self._seen_quotes, quotes),
        ):
            for word in found:
                seen[word] = now  # a word seen again keeps its place: reasons keep their order
            for word in [w for w, at in seen.items() if now - at > o.evidence_hold + _EPS]:
                del seen[word]

    def _evidence(self) -> tuple[list[str], list[str], tuple[str, ...]]:
        """Human words for what the score rests on now: the voice model's, the
        corroborating ones (words, then prosody against the caller's baseline), and the
        caption words quoted."""
        o = self.options
        voice_words: list[str] = []
        other: list[str] = []
        quotes: tuple[str, ...] = ()
        voice, prosody = self._fresh_voice(), self._fresh_prosody()
        loudness_z = prosody.loudness_z if prosody else None
        if voice is not None and voice.peak >= o.evidence_voice:
            # Without a settled baseline the model's arousal alone stands for loudness.
            if voice.arousal >= o.arousal_high and (loudness_z is None or loudness_z >= o.raised_z):
                voice_words.append("raised voice")
            if voice.prob("sad") + voice.prob("fearful") >= o.shaky_share:
                voice_words.append("shaky voice")
            if not voice_words:
                voice_words.append("distressed tone")
        if self._text is not None and self._text_distress() >= o.evidence_text:
            other += self._text[1].evidence or ("upsetting words",)
            quotes = self._text[1].quote
        if prosody is not None:
            for name, words in (
                ("loudness_z", "raised voice"),
                ("pitch_z", "high pitch"),
                ("rate_z", "fast speech"),
            ):
                z = getattr(prosody, name)
                if z is not None and z >= o.evidence_z:
                    other.append(words)
        return voice_words, other, quotes

    def _corroborated(self) -> bool:
        """Does the score rest on more than the voice model: words, or prosody against
        the caller's own baseline?"""
        if self.options.pitch_corroborates:
            return bool(self._seen_other)
        return any(word != "high pitch" for word in self._seen_other)

    def _reasons(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The reasons an active distress cue shows, and its quotes.

        The voice model's words come first; "distressed tone" only when it has no more
        specific one. A cue with nothing but the voice model says so: "tone of voice
        only" (issue 13: the model generalises poorly beyond its training voices).
        """
        voice = list(self._seen_voice)
        if len(voice) > 1 and "distressed tone" in voice:
            voice.remove("distressed tone")
        if not self._seen_other:
            alone = [w for w in voice if w != "distressed tone"]
            return ((*alone, VOICE_ONLY) if voice else ()), ()
        words = tuple(dict.fromkeys([*voice, *self._seen_other]))
        keep = self.options.max_quotes
        return words, tuple(self._seen_quotes)[-keep:] if keep else ()

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
        self._observe()
        if not self._corroborated() and not self.options.voice_only_raise:
            return []
        if warming or not self._has_reason() or not self._latches[kind].trip(self.now):
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
        high = high and (o.voice_only_high or self._corroborated())  # as sure as its evidence
        kind = CueKind.CALLER_DISTRESSED
        on = s >= self._raise_at() and self._has_reason() and self._sure_enough()
        change = self._latches[kind].update(now, on=on, off=s < o.clear_at)
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
        events += self._follow(s, skip={e.cue for e in events if isinstance(e, CueRaised)})
        return events

    def _sure_enough(self) -> bool:
        """May the smoothed path raise now? A cue resting on the voice alone needs the
        window reading to be unusual for this caller (``voice_own_z``), not merely
        distressed against the population (issue 13: the model's distress reads many
        calm voices of other corpora as distressed, but steadily so)."""
        if self._corroborated():
            return True
        return self.options.voice_only_raise and self._unusual

    def _has_reason(self) -> bool:
        """Has a distress cue a reason to show now (or is none needed)?"""
        return not self.options.need_reason or bool(self._reasons()[0])

    def _follow(self, score: float, skip: set[CueKind]) -> list[Event]:
        """Re-send each active distress cue whose reasons or quotes changed (not its
        score alone), at most once every ``resend_after`` seconds."""
        events: list[Event] = []
        for kind in (CueKind.CALLER_DISTRESSED, CueKind.ESCALATING):
            active = self._active.get(kind)
            if active is None or kind in skip:
                continue
            if self.now - self._sent_at[kind] < self.options.resend_after - _EPS:
                continue
            reasons, quote = self._reasons()
            evidence, _ = _explain(kind, score, reasons, active.level)
            if (set(evidence), set(quote)) != (set(active.evidence), set(active.quote)):
                events.append(self._raise(kind, active.level, score))
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
        cue_id = self.new_cue_id() if previous is None else previous.cue_id
        reasons, quote = self._reasons() if kind in _DISTRESS else ((), ())
        evidence, message = _explain(kind, score, reasons, level)
        raised = CueRaised(
            stream_time=round(self.now, 3),
            role=_ROLES[kind],
            cue=kind,
            cue_id=cue_id,
            level=level,
            score=round(score, 3),
            evidence=evidence,
            message=message,
            quote=quote,
            suggestion=suggest(kind, evidence),
        )
        self._active[kind] = raised
        self._raised_at.setdefault(kind, self.now)
        self._sent_at[kind] = self.now
        return raised

    def _clear(self, kind: CueKind) -> CueCleared:
        raised = self._active.pop(kind)
        started = self._raised_at.pop(kind)
        self._sent_at.pop(kind, None)
        self._latches[kind].active = False
        return CueCleared(
            stream_time=round(self.now, 3),
            role=raised.role,
            cue=kind,
            cue_id=raised.cue_id,
            duration=round(self.now - started, 3),
        )


class CallerNorm:
    """Is a reading unusually high *for this caller*?

    Readings are compared, in log-odds, with the caller's own earlier readings
    (median and robust spread, so a few distressed ones do not move it, blended
    with a population prior while there are few): a reading is unusual when it is
    ``z`` spreads or more above the caller's typical reading.
    """

    def __init__(self, options: CueOptions, z: float, prior: float | None = None) -> None:
        self.options, self.z = options, z
        self.prior = options.onset_prior if prior is None else prior
        self._history: collections.deque[float] = collections.deque(maxlen=options.onset_history)

    def unusual(self, reading: float) -> bool:
        """Is this reading unusual? (It then joins the caller's history.)"""
        logit = math.log((reading + 1e-3) / (1 - reading + 1e-3))
        hot = logit >= self.typical()
        self._history.append(logit)
        return hot

    def typical(self) -> float:
        """The log-odds a reading must reach: this caller's median plus ``z`` spreads."""
        o = self.options
        n, w = len(self._history), o.onset_prior_weight
        if n:
            seen = np.fromiter(self._history, float, n)
            median = float(np.median(seen))
            spread = 1.4826 * float(np.median(np.abs(seen - median))) + 0.1
        else:
            median = spread = 0.0
        centre = (n * median + w * self.prior) / max(n + w, _EPS)
        spread = math.sqrt((n * spread**2 + w * o.onset_prior_spread**2) / max(n + w, _EPS))
        return centre + self.z * spread


class OnsetWatch:
    """The fast onset path: is the caller's current utterance, read alone, unusually
    distressed *for this caller*?

    Each reading is compared with the caller's own earlier utterance readings
    (:class:`CallerNorm`): it counts when it is at least ``onset_at`` and ``onset_z``
    spreads above the caller's typical reading. ``onset_readings`` counting readings
    in a row within one utterance confirm an onset; ``onset_strong_readings`` do when
    each is at least ``onset_strong_at``. With ``onset_arousal_z``, a reading also
    counts when the utterance's *arousal* is that unusual for the caller (and its
    distress at least ``evidence_voice``): activation carries across voices and
    languages better than the model's categories (models/emotion.md).
    """

    def __init__(self, options: CueOptions) -> None:
        self.options = options
        self._norm = CallerNorm(options, options.onset_z)
        self._arousal = CallerNorm(options, options.onset_arousal_z, options.onset_arousal_prior)
        self._utterance: float | None = None
        self._run = self._strong = 0

    def confirmed(self, voice: VoiceEmotion) -> bool:
        o = self.options
        reading = voice.utterance_distress
        if not o.onset_readings or reading is None:
            self._utterance, self._run, self._strong = None, 0, 0
            return False
        if voice.utterance_start != self._utterance:
            self._utterance, self._run, self._strong = voice.utterance_start, 0, 0
        unusual = self._norm.unusual(reading)
        hot = unusual and reading >= o.onset_at
        arousal = voice.utterance_arousal
        if o.onset_arousal_z and arousal is not None:
            roused = self._arousal.unusual(arousal)
            hot = hot or (roused and reading >= o.onset_arousal_at)
        strong = unusual and o.onset_strong_at < 1 and reading >= o.onset_strong_at
        self._run = self._run + 1 if hot else (self._run if not o.onset_in_a_row else 0)
        self._strong = self._strong + 1 if strong else (self._strong if not o.onset_in_a_row else 0)
        return self._run == o.onset_readings or self._strong == o.onset_strong_readings


def _slope(times: npt.NDArray[np.float64], values: npt.NDArray[np.float64]) -> float:
    """Least-squares slope of ``values`` over ``times``."""
    centred = times - times.mean()
    return float(np.dot(centred, values) / np.dot(centred, centred))


_DISTRESS = (CueKind.CALLER_DISTRESSED, CueKind.ESCALATING)
VOICE_ONLY = "tone of voice only"  # the reason of a cue resting on the voice model alone

_ROLES: dict[CueKind, Role | None] = {
    CueKind.CALLER_DISTRESSED: Role.CALLER,
    CueKind.ESCALATING: Role.CALLER,
    CueKind.LONG_SILENCE: None,
    CueKind.OVERTALK: None,
    CueKind.AGENT_SPEAKING_FAST: Role.AGENT,
    CueKind.POSSIBLE_EMERGENCY: Role.CALLER,
    CueKind.CALLER_CONFUSED: Role.CALLER,
    CueKind.AGENT_JARGON: Role.AGENT,
}


def _explain(
    kind: CueKind, score: float, distress_evidence: tuple[str, ...], level: CueLevel
) -> tuple[tuple[str, ...], str]:
    """The evidence words and the one calm sentence for the agent."""
    listed = ", ".join(distress_evidence)
    if kind is CueKind.CALLER_DISTRESSED:
        how = "very distressed" if level is CueLevel.HIGH else "distressed"
        if VOICE_ONLY in distress_evidence:
            return distress_evidence, f"Caller may be distressed: {listed}."
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
