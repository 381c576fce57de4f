"""A call's events scripted into a running service's hub, for the page tests (no models)."""

from __future__ import annotations

import time
from typing import Any

from playwright.sync_api import Page, expect

from edge.events import (
    CallEnded,
    CallStarted,
    CueCleared,
    CueKind,
    CueLevel,
    CueRaised,
    Event,
    FinalReason,
    SpeechStarted,
    TranscriptFinal,
    TranscriptPartial,
    VoiceEmotion,
)
from edge.server.summary import CallMeta
from edge.types import CallId, Role
from tests.server.harness import ServiceThread

WAIT = 15_000  # ms a page gets to show what the server sent it


def live(page: Page) -> None:
    expect(page.locator("#conn")).to_have_text("Live", timeout=WAIT)


class Script:
    """One call's events, scripted into the running service's hub (no models)."""

    def __init__(
        self, thread: ServiceThread, call_id: str, agent_id: str, team: str = "cardiology"
    ):
        self.thread = thread
        self.call_id = call_id
        self.seq = 0
        meta = CallMeta(call_id, agent_id, team, source="test", started_at=time.time())
        thread.run(thread.service.hub.open_call, meta)

    def event(self, kind: type[Event], t: float, **fields: Any) -> Event:
        self.seq += 1
        return kind(
            stream_time=t,
            call_id=CallId(self.call_id),
            seq=self.seq,
            wall_time=time.time(),
            **fields,
        )

    def publish(self, *events: Event) -> None:
        """All in one go on the service's loop: no message is sent in between."""
        hub = self.thread.service.hub

        def go() -> None:
            for e in events:
                hub.publish(self.call_id, e)

        self.thread.run(go)

    def started(self) -> Event:
        return self.event(CallStarted, 0.0, channels=(Role.CALLER, Role.AGENT))

    def final(self, t: float, utterance: int, text: str, role: Role = Role.CALLER) -> Event:
        return self.event(
            TranscriptFinal,
            t,
            role=role,
            utterance=utterance,
            text=text,
            start=t - 2,
            end=t,
            confidence=0.9,
            reason=FinalReason.PAUSE,
        )

    def partial(self, t: float, utterance: int, text: str) -> Event:
        return self.event(
            TranscriptPartial, t, role=Role.CALLER, utterance=utterance, text=text, stable="",
            start=t - 1, end=t,
        )  # fmt: skip

    def speech(self, t: float, utterance: int) -> Event:
        return self.event(SpeechStarted, t, role=Role.CALLER, utterance=utterance, start=t)

    def voice(self, t: float, distress: float) -> Event:
        probs = (("neutral", 1 - distress), ("angry", distress))
        return self.event(
            VoiceEmotion, t, role=Role.CALLER, start=t - 3, end=t, probs=probs,
            distress=distress, arousal=distress,
        )  # fmt: skip

    def raised(
        self,
        t: float,
        cue_id: int,
        level: CueLevel,
        message: str,
        evidence: tuple[str, ...] = (),
        cue: CueKind = CueKind.CALLER_DISTRESSED,
        quote: tuple[str, ...] = (),
        suggestion: str = "",
    ) -> Event:
        callers = (CueKind.CALLER_DISTRESSED, CueKind.POSSIBLE_EMERGENCY, CueKind.CALLER_CONFUSED)
        role = Role.CALLER if cue in callers else None
        return self.event(
            CueRaised, t, role=role, cue=cue, cue_id=cue_id, level=level, score=0.7,
            evidence=evidence, message=message, quote=quote, suggestion=suggestion,
        )  # fmt: skip

    def cleared(self, t: float, cue_id: int, cue: CueKind = CueKind.CALLER_DISTRESSED) -> Event:
        return self.event(CueCleared, t, cue=cue, cue_id=cue_id, duration=5.0)

    def ended(self, t: float) -> Event:
        return self.event(CallEnded, t, duration=t)


def kept_reports(service: ServiceThread) -> list[dict[str, Any]]:
    """From now on, the feedback reports the hub hands the verdict store, as a list
    (still handed on to the store)."""
    reports: list[dict[str, Any]] = []
    hub = service.service.hub
    store = hub._keep

    def keep(report: dict[str, Any]) -> None:
        reports.append(report)
        if store is not None:
            store(report)

    service.run(setattr, hub, "_keep", keep)
    return reports
