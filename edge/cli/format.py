"""Events as lines for people (the ``--jsonl`` form is :func:`edge.events.to_json`)."""

from __future__ import annotations

from edge.events import (
    CallEnded,
    CallStarted,
    Event,
    SpeechEnded,
    SpeechStarted,
    TranscriptFinal,
    TranscriptPartial,
)


def clock(seconds: float) -> str:
    minutes, rest = divmod(max(seconds, 0.0), 60)
    return f"{int(minutes):02d}:{rest:05.2f}"


def readable(event: Event) -> str:
    who = f"{event.role.value:<6}" if event.role else "call  "
    head = f"{clock(event.stream_time)} {who}"
    if isinstance(event, CallStarted):
        return f"{head} ▶ call started: {', '.join(r.value for r in event.channels)}"
    if isinstance(event, CallEnded):
        return f"{head} ■ call ended after {clock(event.duration)}"
    if isinstance(event, SpeechStarted):
        return f"{head} ● speaking"
    if isinstance(event, SpeechEnded):
        return f"{head} ○ stopped ({event.end - event.start:.1f} s of speech)"
    if isinstance(event, TranscriptPartial):
        return f"{head} … {event.text}"
    if isinstance(event, TranscriptFinal):
        if not event.text:
            return f"{head} ✗ (no words: earlier partials withdrawn)"
        return f"{head} ✓ {event.text}  [{event.confidence:.2f}]"
    return f"{head} {event.type}"
