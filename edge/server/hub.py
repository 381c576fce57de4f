"""The live calls and their subscribers: what leaves the process, and to whom.

Every event a call emits goes through :meth:`Hub.publish`:

1. **privacy** (:class:`Privacy`): with ``share = "cues"`` transcripts never
   leave; otherwise they are redacted (``edge.stages.redact``) first, by one
   :class:`RedactionContext` per call and role, so a number whose pieces are
   spread over several partials and finals is masked in each; every later
   step (buffer, snapshot captions, event log, fan-out) sees only the result;
2. **resume buffer**: the last ``resume_events`` messages of each call, so a
   client that reconnects with its last sequence number gets what it missed;
3. **summary**: the call's wallboard tile (:class:`CallSummary`);
4. **fan-out**: to each subscriber's :class:`Outbox`, never waiting.

Synchronous and free of sockets: the server (``edge.server.app``) moves the
messages to and from websockets.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from edge.events import (
    CallEnded,
    CallTriage,
    CueCleared,
    CueLevel,
    CueRaised,
    Event,
    ProsodyUpdate,
    TextEmotion,
    TranscriptFinal,
    TranscriptPartial,
    VoiceEmotion,
    compact_json,
    to_dict,
)
from edge.feedback.store import new_id, plain_tags, reason_problem
from edge.fleet.stats import BusStats
from edge.server.auth import Principal
from edge.server.options import PrivacyOptions, Share
from edge.server.outbox import Outbox
from edge.server.protocol import Close, Refused, shown
from edge.server.summary import CAPTIONS, CallMeta, CallSummary, _rounded
from edge.stages.redact import RedactionContext, redact_text
from edge.types import Role

log = logging.getLogger(__name__)

ALERTS = 200  # recent alerts a new wallboard receives
_RANK = {CueLevel.NOTICE: 0, CueLevel.ELEVATED: 1, CueLevel.HIGH: 2}


class Privacy:
    """Decides what of an event may leave the process.

    Holds a redaction context per live call and role (the speaker's last words,
    in memory only), forgotten when the call ends.
    """

    def __init__(self, options: PrivacyOptions) -> None:
        self.options = options
        # Per call, per role: a call's end forgets its own, not a scan of the floor's.
        self._contexts: dict[str, dict[Role | None, RedactionContext]] = {}

    def share(self, event: Event) -> Event | None:
        if isinstance(event, CallEnded):
            self.forget(event.call_id)
        if isinstance(event, TranscriptPartial | TranscriptFinal):
            if self.options.share is Share.CUES:
                return None
            return self._context(event).event(event) if self.options.redact else event
        if isinstance(event, TextEmotion):
            if self.options.share is Share.CUES and event.quote:
                event = dataclasses.replace(event, quote=())  # caption words, as a final's
            return self._context(event).event(event) if self.options.redact else event
        if isinstance(event, CueRaised | CallTriage) and event.quote:
            if self.options.share is Share.CUES:
                return dataclasses.replace(event, quote=())
            if self.options.redact:
                return dataclasses.replace(event, quote=tuple(map(redact_text, event.quote)))
        return event

    def forget(self, call_id: str) -> None:
        """Drop a call's contexts (its speakers' last words)."""
        self._contexts.pop(call_id, None)

    def _context(self, event: Event) -> RedactionContext:
        roles = self._contexts.setdefault(event.call_id, {})
        context = roles.get(event.role)
        if context is None:
            context = roles[event.role] = RedactionContext()
        return context


def coalesce_key(event: Event) -> Hashable | None:
    """Events that a later one of the same key supersedes (readings, partials).

    Made of strings and numbers only: a resume buffer keeps a key per event, and
    such tuples leave the garbage collector's watch (an enum in them would keep
    millions of entries in every full collection: pauses of a second on a busy hub).
    """
    role = event.role.value if event.role is not None else None
    if isinstance(event, TranscriptPartial):
        return (event.call_id, "partial", role, event.utterance)
    if isinstance(event, VoiceEmotion | ProsodyUpdate):
        return (event.call_id, event.type, role)
    return None


class View(str, enum.Enum):
    """What a subscriber watches."""

    AGENT = "agent"  # every event of an agent's calls
    WALLBOARD = "wallboard"  # a summary tile per call of some teams, and alerts
    CALL = "call"  # every event of one call


@dataclass(eq=False)
class Subscription:
    principal: Principal
    view: View
    outbox: Outbox
    agent_id: str | None = None
    teams: tuple[str, ...] = ()  # wallboard; empty: every team (open service)
    call_id: str | None = None
    peer: str = ""

    def wants_events(self, meta: CallMeta) -> bool:
        if self.view is View.AGENT:
            return meta.agent_id == self.agent_id
        if self.view is View.CALL:
            return meta.call_id == self.call_id
        return False

    def wants_tiles(self, meta: CallMeta) -> bool:
        return self.view is View.WALLBOARD and (not self.teams or meta.team in self.teams)


def _watches(sub: Subscription) -> tuple[View, str | None]:
    """What a subscriber watches, as the hub indexes it: an agent, a call, or the floor."""
    if sub.view is View.AGENT:
        return View.AGENT, sub.agent_id
    if sub.view is View.CALL:
        return View.CALL, sub.call_id
    return View.WALLBOARD, None


class CallRecord:
    """A live (or recently ended) call as the hub keeps it."""

    def __init__(self, meta: CallMeta, resume_events: int) -> None:
        self.meta = meta
        self.summary = CallSummary(meta)
        self.buffer: deque[tuple[int, str, Hashable | None]] = deque(maxlen=resume_events)
        self.evicted_through = 0  # highest seq no longer in the buffer
        self.cues: dict[int, CueRaised] = {}  # every cue raised, for feedback
        self.peaks: dict[int, float] = {}  # the highest score of each cue's raises
        self.verdict_ids: dict[int, str] = {}  # one per cue: a second verdict replaces the first
        # The caller's voice distress held over two readings, its highest while each
        # caller cue was active: how far the distress behind it went (edge calibrate).
        self.voice_peaks: dict[int, float] = {}
        self._active: set[int] = set()  # caller cues raised and not cleared
        self._voice: float | None = None  # the caller's last voice reading
        self._held: float | None = None  # the lower of the caller's last two readings
        # Both roles' recent finals, for the snapshot (the summary keeps the caller's only).
        self.captions: deque[dict[str, Any]] = deque(maxlen=2 * CAPTIONS)
        self.ended_at: float | None = None

    def remember(self, seq: int, message: str, key: Hashable | None) -> None:
        if len(self.buffer) == self.buffer.maxlen:
            self.evicted_through = self.buffer[0][0]
        self.buffer.append((seq, message, key))

    def follow_cues(self, event: Event) -> None:
        """Keep each caller cue's peak score and the caller's voice while it is active."""
        if isinstance(event, CueRaised):
            self.cues[event.cue_id] = event
            self.peaks[event.cue_id] = max(self.peaks.get(event.cue_id, 0.0), event.score)
            if event.role is Role.CALLER and event.cue_id not in self._active:
                self._active.add(event.cue_id)
                if self._held is not None:  # the readings that led to the raise
                    self.voice_peaks[event.cue_id] = self._held
        elif isinstance(event, CueCleared):
            self._active.discard(event.cue_id)
        elif isinstance(event, VoiceEmotion) and event.role is Role.CALLER:
            reading = event.peak
            if self._voice is not None:
                self._held = min(reading, self._voice)
                for cue_id in self._active:
                    peak = self.voice_peaks.get(cue_id, 0.0)
                    self.voice_peaks[cue_id] = max(peak, self._held)
            self._voice = reading

    def caption(self, event: Event) -> None:
        """Keep a (shared, so already redacted) final for a later snapshot."""
        if isinstance(event, TranscriptFinal) and event.text and event.role is not None:
            line = {"seq": event.seq, "role": event.role.value, "text": event.text}
            self.captions.append({**line, "start": event.start, "end": event.end})


class Hub:
    """Live calls, their resume buffers and tiles, and the subscribers."""

    def __init__(
        self,
        privacy: PrivacyOptions,
        *,
        resume_events: int = 4096,
        linger: float = 60.0,
        clock: Callable[[], float] = time.time,
        record: Callable[[str], None] | None = None,
        keep: Callable[[dict[str, Any]], None] | None = None,
        shared: Callable[[CallRecord, Event, str], None] | None = None,
        acked: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.privacy = Privacy(privacy)
        self.resume_events = resume_events
        self.linger = linger
        self.calls: dict[str, CallRecord] = {}
        self.subscriptions: set[Subscription] = set()
        # The same subscribers by whom they watch, so an event goes through its
        # call's few watchers, not every subscriber of the floor (issue 16: 1,000 agents).
        self._watchers: dict[tuple[View, str | None], set[Subscription]] = {}
        # One alert per cue, by (call id, cue id), oldest first: a cue's rise updates
        # its alert (and asks for a fresh acknowledgement) instead of adding one.
        self.alerts: OrderedDict[tuple[str, int], dict[str, Any]] = OrderedDict()
        self.dropped = 0  # readings dropped across subscribers
        self._clock = clock
        self._record = record  # the opt-in event log's writer
        self._keep = keep  # the verdict store's writer ([feedback] keep)
        self._shared = shared  # each published event as shared (the fleet's bus)
        self._acked = acked  # each acknowledgement made here (the fleet's bus)

    # -- calls --------------------------------------------------------------

    def open_call(self, meta: CallMeta) -> CallRecord:
        self._refuse_streaming(meta.call_id)
        record = CallRecord(meta, self.resume_events)
        self.calls[meta.call_id] = record  # an ended call of the same id is replaced
        self.privacy.forget(meta.call_id)
        return record

    def publish(self, call_id: str, event: Event) -> None:
        """One event of a call this process holds: privacy first, then everything else."""
        record = self.calls[call_id]
        shared = self.privacy.share(event)
        if shared is None:
            return
        body = to_dict(shared)
        message = compact_json(body)
        if self._record is not None:
            # Whose call: `edge report` counts cues per team from these lines.
            meta = record.meta
            self._record(compact_json({**body, "agent_id": meta.agent_id, "team": meta.team}))
        self._deliver(record, shared, message)
        if self._shared is not None:
            self._shared(record, shared, message)

    def deliver(self, call_id: str, event: Event, message: str | None = None) -> None:
        """An event another node shared (the fleet's mirror): no redaction again, no event log.

        The node that owns the call applied ``[privacy]`` and logged it; this
        one keeps the resume buffer and the tile, and fans it out: ``message``,
        the event's JSON as that node shared it, goes out as it came. With
        ``share = "cues"`` here, transcripts are withheld here too: the stricter
        node wins. A call marked lost whose events come again is live again.
        """
        record = self.calls[call_id]
        if self.privacy.options.share is Share.CUES:
            withheld = self.privacy.share(event)
            if withheld is None:
                return
            if withheld is not event:
                event, message = withheld, None
        if record.summary.lost and not isinstance(event, CallEnded):
            record.summary.lost = False
            record.ended_at = None
        self._deliver(record, event, message or compact_json(to_dict(event)))

    def _deliver(self, record: CallRecord, shared: Event, message: str) -> None:
        """Resume buffer, snapshot captions, tile, alerts and fan-out of a shared event."""
        call_id = record.meta.call_id
        key = coalesce_key(shared)
        record.remember(shared.seq, message, key)
        record.caption(shared)
        changed = record.summary.observe(shared)
        record.follow_cues(shared)
        alert = self._raise_alert(record.meta, shared) if isinstance(shared, CueRaised) else None
        if isinstance(shared, CallEnded):
            record.ended_at = self._clock()
        meta = record.meta
        for watchers in (
            self._watchers.get((View.AGENT, meta.agent_id), ()),
            self._watchers.get((View.CALL, call_id), ()),
        ):
            for sub in watchers:  # each watches this call's events, as indexed
                self._send(sub, message, key)
        if not (changed or alert is not None):
            return  # nothing for a wallboard: most readings of a floor's calls
        tile = self._tile(record) if changed else None  # made once for every wallboard
        for sub in self._watchers.get((View.WALLBOARD, None), ()):
            if sub.wants_tiles(meta):
                if alert is not None:
                    self._send(sub, alert)
                if tile is not None:
                    self._send(sub, tile, ("tile", call_id))

    def lose(self, call_id: str, node: str) -> None:
        """The node that owns a call stopped beating: the call is lost, removed after the linger.

        Wallboards see the tile marked lost; agents and call detail get a
        ``call.lost`` message (no ``seq``: no call made it) and keep what they have.
        """
        record = self.calls.get(call_id)
        if record is None or record.ended_at is not None:
            return
        record.summary.lost = True
        record.ended_at = self._clock()
        self.privacy.forget(call_id)
        lost = compact_json(
            {"type": "call.lost", "call_id": call_id, "seq": record.summary.last_seq, "node": node}
        )
        for sub in list(self.subscriptions):
            if sub.wants_events(record.meta):
                self._send(sub, lost)
            elif sub.wants_tiles(record.meta):
                self._send(sub, self._tile(record), ("tile", call_id))

    def prune(self) -> None:
        """Forget calls that ended more than ``linger`` seconds ago."""
        now = self._clock()
        for call_id, record in list(self.calls.items()):
            if record.ended_at is not None and now - record.ended_at > self.linger:
                del self.calls[call_id]
                gone = compact_json({"type": "call.removed", "call_id": call_id})
                for sub in self._audience(record.meta):
                    if sub.wants_tiles(record.meta):
                        self._send(sub, gone)

    async def claim(self, meta: CallMeta) -> None:
        """Refuse a call id that is streaming here (4009); the embedded hub asks no one else."""
        self._refuse_streaming(meta.call_id)

    def _refuse_streaming(self, call_id: str) -> None:
        old = self.calls.get(call_id)
        if old is not None and old.ended_at is None:
            raise Refused(
                Close.CONFLICT,
                f"call id {call_id!r} is already streaming: use a new call id per call",
            )

    async def adopt(self, call_id: str, source: str) -> int | None:
        """No other node: nothing to take over."""
        return None

    async def start(self) -> None:
        """Nothing to connect: this process is the whole system."""

    async def close(self) -> None:
        """Nothing to flush."""

    def problem(self) -> str | None:
        """Nothing can be wrong with a bus this hub does not have."""
        return None

    def bus(self) -> BusStats | None:
        """No bus: no figures (``/metrics`` leaves the fleet gauges at 0)."""
        return None

    def active_calls(self, source: str | None = None) -> int:
        return sum(
            1
            for r in self.calls.values()
            if r.ended_at is None and (source is None or r.meta.source == source)
        )

    # -- subscribers --------------------------------------------------------

    def attach(self, sub: Subscription, resume: dict[str, int]) -> None:
        """Add a subscriber; queue what it missed (``resume``: call id → last seq)."""
        self.subscriptions.add(sub)
        self._watchers.setdefault(_watches(sub), set()).add(sub)
        if sub.view is View.WALLBOARD:
            for record in sorted(self.calls.values(), key=lambda r: -r.summary.need):
                if sub.wants_tiles(record.meta):
                    self._send(sub, self._tile(record), ("tile", record.meta.call_id))
            for alert in self.alerts.values():
                if not sub.teams or alert["team"] in sub.teams:
                    self._send(sub, compact_json(alert))
            shown = [r.meta.call_id for r in self.calls.values() if sub.wants_tiles(r.meta)]
            self._send(sub, compact_json({"type": "wallboard.synced", "calls": shown}))
            return
        for record in list(self.calls.values()):
            if sub.wants_events(record.meta):
                self._catch_up(sub, record, resume.get(record.meta.call_id, 0))

    def detach(self, sub: Subscription) -> None:
        self.subscriptions.discard(sub)
        watchers = self._watchers.get(_watches(sub))
        if watchers is not None:
            watchers.discard(sub)
            if not watchers:
                del self._watchers[_watches(sub)]

    def _audience(self, meta: CallMeta) -> list[Subscription]:
        """The subscribers a call's event may be for: its agent's, its detail views, wallboards."""
        return [
            *self._watchers.get((View.AGENT, meta.agent_id), ()),
            *self._watchers.get((View.CALL, meta.call_id), ()),
            *self._watchers.get((View.WALLBOARD, None), ()),
        ]

    def _catch_up(self, sub: Subscription, record: CallRecord, last: int) -> None:
        """Missed events from the buffer, or a snapshot when they are gone: no duplicate.

        What is resent skips nothing that still matters: superseded partials and
        readings (one key) reach the subscriber as the newest of their key only.
        A snapshot stands for everything up to its ``seq``: the call's tile and
        both roles' recent finals (``captions``) and, once the call has ended, its
        ``call.summary.final`` (``final``); other events before it are gone.

        Also a snapshot when the missed events would not fit the subscriber's
        outbox: a client dropped as too slow would otherwise be dropped again.
        """
        keys = [key for seq, _, key in record.buffer if seq > last]
        # Readings of one key coalesce to the newest in the outbox: they take one slot.
        missed = keys.count(None) + len({key for key in keys if key is not None})
        if last < record.evicted_through or missed > sub.outbox.limit // 2:
            snapshot = {
                "type": "call.snapshot",
                "call": record.summary.to_dict(),
                "captions": list(record.captions),
            }
            if record.summary.final is not None:  # the after-call summary: no transcript text
                snapshot["final"] = to_dict(record.summary.final)
            self._send(sub, compact_json(snapshot))
            last = record.summary.last_seq
        for seq, message, key in list(record.buffer):
            if seq > last:
                self._send(sub, message, key)

    def _send(self, sub: Subscription, message: str, key: Hashable | None = None) -> None:
        """Queue without waiting; an overflowed outbox is seen and closed by the server."""
        before = sub.outbox.dropped
        sub.outbox.put(message, key)
        self.dropped += sub.outbox.dropped - before

    # -- feedback -----------------------------------------------------------

    def record_feedback(self, principal: Principal, data: dict[str, Any]) -> dict[str, Any]:
        """A verdict on a cue ("wrong" or "right"): kept for calibration; raises :class:`Refused`.

        The report names the cue (kind, level, score, plain-word evidence tags),
        the verdict and its optional one-word ``reason``: never the cue's quoted
        words. It goes to the verdict store and, when on, the event log.
        """
        call_id, cue_id = data.get("call_id"), data.get("cue_id")
        record = self.calls.get(call_id) if isinstance(call_id, str) else None
        # Not yours and no such call answer alike: a token holder cannot probe call ids.
        if record is None or not principal.can_see(record.meta):
            raise Refused(Close.NOT_FOUND, f"feedback for no call {shown(call_id)} of yours")
        cue = record.cues.get(cue_id) if isinstance(cue_id, int) else None
        if cue is None:
            raise Refused(Close.BAD_MESSAGE, f"feedback for unknown cue_id {shown(cue_id)}")
        verdict = data.get("verdict", "wrong")
        if verdict not in ("wrong", "right"):
            raise Refused(Close.BAD_MESSAGE, "feedback verdict must be 'wrong' or 'right'")
        reason = data.get("reason")
        wrong = reason_problem(reason)
        if wrong is not None:
            # Not echoed: a sentence in it could be what the caller said.
            raise Refused(Close.BAD_MESSAGE, f"{wrong}: no sentence, no name")
        report = {
            "type": "feedback",
            "time": round(self._clock(), 3),
            "call_id": call_id,
            "agent_id": record.meta.agent_id,
            "team": record.meta.team,
            "cue": cue.cue.value,
            "cue_id": cue.cue_id,
            "level": cue.level.value,
            "score": round(cue.score, 3),
            "peak": round(record.peaks.get(cue.cue_id, cue.score), 3),
            "voice_peak": _rounded(record.voice_peaks.get(cue.cue_id)),
            "evidence": list(plain_tags(cue.evidence, cue.quote)),
            "stream_time": round(cue.stream_time, 2),
            "verdict": verdict,
            "reason": reason or "",
            "by": principal.name,
            # One id per cue: the store keeps an agent's last word on it; the id also
            # links the stored verdict to this line of the event log.
            "verdict_id": record.verdict_ids.setdefault(cue.cue_id, new_id()),
        }
        if self._keep is not None:
            self._keep(report)
        if self._record is not None:
            self._record(compact_json(report))
        log.info(
            "feedback on call %s cue %s: %s (%s)", call_id, cue.cue.value, verdict, principal.name
        )
        return report

    # -- alerts -------------------------------------------------------------

    def _raise_alert(self, meta: CallMeta, cue: CueRaised) -> str | None:
        """The alert of a raised cue, as a message for the wallboards; None if unchanged.

        A cue's first raise makes its alert; a rise of its level (elevated to
        high) updates that alert, which then needs acknowledging again; a raise
        at the same or a lower level (new evidence) changes nothing on the board.
        """
        key = (meta.call_id, cue.cue_id)
        alert = self.alerts.get(key)
        if alert is not None and _RANK[cue.level] <= _RANK[CueLevel(alert["level"])]:
            return None
        if alert is None:
            while len(self.alerts) >= ALERTS:
                self.alerts.popitem(last=False)
        self.alerts[key] = alert = self._alert(meta, cue)
        self.alerts.move_to_end(key)
        return compact_json(alert)

    def acknowledge(
        self, principal: Principal, teams: tuple[str, ...], data: dict[str, Any]
    ) -> dict[str, Any]:
        """A supervisor saw an alert: record who and when, tell the team's wallboards.

        ``teams``: those the acknowledging wallboard watches (empty: every team).
        Raises :class:`Refused` (4004) for an alert that is not there or not the
        supervisor's: the same answer for both, so no one can probe call ids.
        """
        call_id, cue_id = data.get("call_id"), data.get("cue_id")
        alert = (
            self.alerts.get((call_id, cue_id))
            if isinstance(call_id, str) and isinstance(cue_id, int)
            else None
        )
        if (
            alert is None
            or (principal.role is not None and alert["team"] not in principal.teams)
            or (teams and alert["team"] not in teams)
        ):
            raise Refused(Close.NOT_FOUND, f"no alert {shown(call_id)}/{shown(cue_id)} of yours")
        if alert["acked_by"] is None:  # the first acknowledgement stands
            alert["acked_by"] = principal.name
            alert["acked_at"] = round(self._clock(), 3)
            log.info("alert %s/%s acknowledged by %s", call_id, cue_id, principal.name)
            self._tell(alert)
            if self._acked is not None:
                self._acked(alert)
        return alert

    def acknowledged(self, call_id: str, cue_id: int, seq: int, by: str, at: float) -> None:
        """An acknowledgement the fleet's bus decided (made here or on another node).

        It stands over one made here meanwhile (two supervisors on two nodes: the
        one Redis took first wins everywhere). For the alert as raised at ``seq``
        only: once its cue has risen since, the new level needs acknowledging again.
        """
        alert = self.alerts.get((call_id, cue_id))
        if alert is None or alert["seq"] != seq:
            return
        if (alert["acked_by"], alert["acked_at"]) == (by, at):
            return
        alert["acked_by"], alert["acked_at"] = by, at
        self._tell(alert)

    def _tell(self, alert: dict[str, Any]) -> None:
        """An alert's news, to every wallboard of its team."""
        message = compact_json(alert)
        for sub in self._watchers.get((View.WALLBOARD, None), ()):
            if not sub.teams or alert["team"] in sub.teams:
                self._send(sub, message)

    # -- messages -----------------------------------------------------------

    def _tile(self, record: CallRecord) -> str:
        return compact_json({"type": "call.summary", "call": record.summary.to_dict()})

    @staticmethod
    def _alert(meta: CallMeta, cue: CueRaised) -> dict[str, Any]:
        return {
            "type": "alert",
            "call_id": meta.call_id,
            "agent_id": meta.agent_id,
            "team": meta.team,
            "seq": cue.seq,
            "time": round(cue.wall_time, 3),
            "cue": cue.cue.value,
            "cue_id": cue.cue_id,
            "level": cue.level.value,
            "message": cue.message,
            "evidence": list(cue.evidence),
            "acked_by": None,  # the supervisor who acknowledged it, and when (Unix time)
            "acked_at": None,
        }
