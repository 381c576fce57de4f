"""One cue of a kind at a time, for the watches that raise cues from words
(``emergency``, ``confusion``, ``jargon``).

The first :meth:`HeldCue.show` raises the cue with a new id; later ones re-send
it under the same id as it grows; :meth:`HeldCue.clear` ends it with the time
it was shown. When to show and when to clear stays each watch's own business.
"""

from __future__ import annotations

from collections.abc import Callable

from edge.events import CueCleared, CueKind, CueLevel, CueRaised
from edge.types import Role


class HeldCue:
    def __init__(self, kind: CueKind, role: Role, new_cue_id: Callable[[], int]) -> None:
        self.kind, self.role = kind, role
        self._new_cue_id = new_cue_id
        self.active: CueRaised | None = None
        self._raised_at = 0.0

    def show(
        self,
        now: float,
        *,
        level: CueLevel,
        score: float,
        evidence: tuple[str, ...],
        message: str,
        quote: tuple[str, ...],
        suggestion: str,
    ) -> CueRaised:
        """Raise the cue, or re-send the active one with what it now rests on."""
        if self.active is None:
            cue_id, self._raised_at = self._new_cue_id(), now
        else:
            cue_id = self.active.cue_id
        self.active = CueRaised(
            stream_time=round(now, 3),
            role=self.role,
            cue=self.kind,
            cue_id=cue_id,
            level=level,
            score=score,
            evidence=evidence,
            message=message,
            quote=quote,
            suggestion=suggestion,
        )
        return self.active

    def clear(self, now: float) -> CueCleared:
        """End the active cue."""
        assert self.active is not None
        cleared = CueCleared(
            stream_time=round(now, 3),
            role=self.role,
            cue=self.kind,
            cue_id=self.active.cue_id,
            duration=round(now - self._raised_at, 3),
        )
        self.active = None
        return cleared
