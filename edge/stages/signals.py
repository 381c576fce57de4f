"""A call's cue logic in one pure object: conversation tracking plus the cue machine.

The glue hands it every event the call emits and the call's stream time as
it advances; it answers with the cue events to emit:

    cues = signals.observe(event)     # every event, in emission order
    cues = signals.tick(now)          # stream time advanced (every frame batch is fine)
    cues = signals.flush(now)         # the call ended

``edge.pipeline.call`` uses it live; ``scripts/eval_emotion.py`` uses the
same object offline, so evaluation measures exactly what the service does.
"""

from __future__ import annotations

from edge.events import Event
from edge.stages.conversation import ConversationOptions, ConversationTracker
from edge.stages.cues import CueMachine, CueOptions
from edge.stages.emergency import EmergencyOptions, EmergencyWatch


class CallSignals:
    def __init__(
        self,
        conversation: ConversationOptions,
        cues: CueOptions,
        *,
        emergency: EmergencyOptions | None = None,
    ) -> None:
        self.conversation = ConversationTracker(conversation)
        self.cues = CueMachine(cues)
        self.emergency = EmergencyWatch(emergency or EmergencyOptions(), self.cues.new_cue_id)
        self.now = 0.0

    def reset(self) -> None:
        self.conversation.reset()
        self.cues.reset()
        self.emergency.reset()
        self.now = 0.0

    def observe(self, event: Event) -> list[Event]:
        self.conversation.feed(event)
        return self.cues.feed(event) + self.emergency.feed(event)

    def tick(self, now: float) -> list[Event]:
        if now <= self.now:
            return []
        self.now = now
        return self.cues.tick(now, self.conversation.observe(now)) + self.emergency.tick(now)

    def flush(self, now: float) -> list[Event]:
        now = max(now, self.now)
        self.conversation.flush(now)
        return self.cues.flush(now) + self.emergency.flush(now)
