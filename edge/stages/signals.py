"""A call's cue logic in one pure object: conversation tracking, the cue machine, the
watchers of the words (``agent_jargon``, ``caller_confused``, ``possible_emergency``)
and the call's triage (``call.triage``, which also reads the cues raised here); at
the end, the after-call summary (``call.summary.final``) of everything it saw.

The glue hands it every event the call emits and the call's stream time as
it advances; it answers with the cue events to emit:

    cues = signals.observe(event)     # every event, in emission order
    cues = signals.tick(now)          # stream time advanced (every frame batch is fine)
    cues = signals.flush(now)         # the call ended: the last clears, then the summary

``edge.pipeline.call`` uses it live; ``scripts/eval_emotion.py`` uses the
same object offline, so evaluation measures exactly what the service does.
"""

from __future__ import annotations

from edge.events import Event
from edge.stages.confusion import ConfusionOptions, ConfusionWatch
from edge.stages.conversation import ConversationOptions, ConversationTracker
from edge.stages.cues import CueMachine, CueOptions
from edge.stages.emergency import EmergencyOptions, EmergencyWatch
from edge.stages.handoff import HandoffOptions, HandoffWatch
from edge.stages.jargon import JargonOptions, JargonWatch
from edge.stages.summary import Summarizer, SummaryOptions
from edge.stages.triage import TriageOptions, TriageWatch


class CallSignals:
    def __init__(
        self,
        conversation: ConversationOptions,
        cues: CueOptions,
        *,
        jargon: JargonOptions | None = None,
        confusion: ConfusionOptions | None = None,
        emergency: EmergencyOptions | None = None,
        triage: TriageOptions | None = None,
        summary: SummaryOptions | None = None,
        handoff: HandoffOptions | None = None,
    ) -> None:
        """``handoff``: the call is automated (marked at ingest); None: a person serves it."""
        self.conversation = ConversationTracker(conversation)
        self.cues = CueMachine(cues)
        self.emergency = EmergencyWatch(emergency or EmergencyOptions(), self.cues.new_cue_id)
        self.jargon = JargonWatch(jargon or JargonOptions(), self.cues.new_cue_id)
        self.confusion = ConfusionWatch(
            confusion or ConfusionOptions(), self.cues.new_cue_id, self.jargon.glossary
        )
        self.triage = TriageWatch(triage or TriageOptions())
        self.summarizer = Summarizer(summary or SummaryOptions())
        self.handoff = HandoffWatch(handoff) if handoff is not None else None
        self.now = 0.0

    def reset(self) -> None:
        self.conversation.reset()
        self.cues.reset()
        self.emergency.reset()
        self.jargon.reset()
        self.confusion.reset()
        self.triage.reset()
        self.summarizer.reset()
        if self.handoff is not None:
            self.handoff.reset()
        self.now = 0.0

    def observe(self, event: Event) -> list[Event]:
        self.conversation.feed(event)
        events = self.emergency.feed(event) + self.cues.feed(event)
        events += self.jargon.feed(event) + self.confusion.feed(event)
        self.summarizer.feed(event)
        out = self._triage([event, *events], events)
        return self._handoff([event, *out], out)

    def tick(self, now: float) -> list[Event]:
        if now <= self.now:
            return []
        self.now = now
        events = self.emergency.tick(now) + self.cues.tick(now, self.conversation.observe(now))
        events += self.jargon.tick(now) + self.confusion.tick(now)
        out = self._triage(events, events)
        return self._handoff(out, out)

    def flush(self, now: float) -> list[Event]:
        now = max(now, self.now)
        self.conversation.flush(now)
        events = self.emergency.flush(now) + self.cues.flush(now)
        events += self.jargon.flush(now) + self.confusion.flush(now)
        for event in events:
            self.summarizer.feed(event)
        summary = self.summarizer.summary(now)
        return events + ([summary] if summary is not None else [])

    def press(self, digit: str) -> list[Event]:
        """The caller pressed a key (a Twilio ``dtmf`` message): a hand-off on 0."""
        return self.handoff.press(digit, self.now) if self.handoff is not None else []

    def _triage(self, seen: list[Event], out: list[Event]) -> list[Event]:
        """``out`` and the triage events that ``seen`` (the call's event and the cues it
        raised) give, each after the event that caused it; the summary sees them all."""
        for event in seen:
            out = out + self.triage.feed(event)
        for event in out:
            self.summarizer.feed(event)
        return out

    def _handoff(self, seen: list[Event], out: list[Event]) -> list[Event]:
        """``out`` and, on an automated call, the hand-offs that ``seen`` gives, last."""
        if self.handoff is not None:
            for event in seen:
                out = out + self.handoff.feed(event)
        return out
