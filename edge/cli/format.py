"""Events as lines for people (the ``--jsonl`` form is :func:`edge.events.to_json`)."""

from __future__ import annotations

import argparse

from edge.events import (
    CallEnded,
    CallLanguage,
    CallStarted,
    CallSummaryFinal,
    CallTriage,
    CueCleared,
    CueRaised,
    EngineDegraded,
    EngineRecovered,
    Event,
    ProsodyUpdate,
    SpeechEnded,
    SpeechStarted,
    TextEmotion,
    TranscriptFinal,
    TranscriptPartial,
    VoiceEmotion,
    to_json,
)

# The readings behind the cues: several a second, so shown only with --signals.
SIGNALS = (VoiceEmotion, TextEmotion, ProsodyUpdate)


def add_output(parser: argparse.ArgumentParser) -> None:
    """--jsonl and --signals, for the commands that print a call's events."""
    parser.add_argument(
        "--jsonl",
        action="store_true",
        help="print one JSON event per line (schema: docs/events.md)",
    )
    parser.add_argument(
        "--signals",
        action="store_true",
        help="also print the per-second voice, words and prosody readings behind the cues "
        "(always in --jsonl)",
    )


def show(event: Event, *, jsonl: bool = False, signals: bool = False) -> None:
    """Print one event as --jsonl and --signals say."""
    if jsonl:
        print(to_json(event), flush=True)
    elif signals or not isinstance(event, SIGNALS):
        print(readable(event), flush=True)


def clock(seconds: float) -> str:
    minutes, rest = divmod(max(seconds, 0.0), 60)
    return f"{int(minutes):02d}:{rest:05.2f}"


def summary_words(s: CallSummaryFinal) -> str:
    """The after-call summary in one line for people."""
    parts = [f"{s.triage} ({s.topic.replace('_', ' ')})" if s.triage else "no triage"]
    parts.append(f"distressed {s.distressed_s:.0f} s")
    if s.peak_distress is not None and s.end_distress is not None:
        calmer = "calmer at the end" if s.calmer_at_end else "not calmer at the end"
        parts.append(f"peak {s.peak_distress:.2f}, end {s.end_distress:.2f} ({calmer})")
    parts.append(f"{len(s.cues)} cues ({s.high_cues} high)")
    if s.agent_talk_share is not None:
        parts.append(f"agent talked {s.agent_talk_share:.0%}")
    if s.agent_wpm is not None:
        parts.append(f"at {s.agent_wpm:.0f} words a minute")
    return "; ".join(parts)


def readable(event: Event) -> str:
    who = f"{event.role.value:<6}" if event.role else "call  "
    head = f"{clock(event.stream_time)} {who}"
    if isinstance(event, CallStarted):
        return f"{head} ▶ call started: {', '.join(r.value for r in event.channels)}"
    if isinstance(event, CallEnded):
        return f"{head} ■ call ended after {clock(event.duration)}"
    if isinstance(event, CallLanguage):
        how = f"detected, {event.probability or 0:.2f}" if event.detected else "configured"
        cues = "on" if event.text_cues else "off (the text model reads English only)"
        return f"{head} ⚙ language {event.language} ({how}); text cues {cues}"
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
    if isinstance(event, CueRaised):
        tip = f" Try: {event.suggestion}" if event.suggestion else ""
        return f"{head} ⚑ CUE {event.cue.value} ({event.level.value}): {event.message}{tip}"
    if isinstance(event, CueCleared):
        return f"{head} ⚐ cue {event.cue.value} cleared after {event.duration:.0f} s"
    if isinstance(event, VoiceEmotion):
        alone = event.onset_distress
        if event.window_repeated and alone is not None:
            return f"{head} ~ voice: current utterance alone, distress {alone:.2f}"
        top = max(event.probs, key=lambda pair: pair[1])
        utterance = f"; current utterance {alone:.2f}" if alone is not None else ""
        return (
            f"{head} ~ voice: distress {event.distress:.2f}, arousal {event.arousal:.2f}, "
            f"mostly {top[0]} ({top[1]:.2f}){utterance}"
        )
    if isinstance(event, TextEmotion):
        why = f" ({', '.join(event.evidence)})" if event.evidence else ""
        return (
            f"{head} ~ words: distress {event.distress:.2f}, sentiment {event.sentiment:+.2f}{why}"
        )
    if isinstance(event, CallTriage):
        words = f": “{' … '.join(event.quote)}”" if event.quote else ""
        topic = event.topic.replace("_", " ")
        return f"{head} ⇄ triage {event.label.value} ({topic}, {event.score:.2f}){words}"
    if isinstance(event, CallSummaryFinal):
        return f"{head} \u2211 summary: {summary_words(event)}"
    if isinstance(event, ProsodyUpdate):
        pitch = f"{event.pitch_hz:.0f} Hz" if event.pitch_hz else "unvoiced"
        loud = f"{event.loudness_db:.0f} dBFS (z {event.loudness_z:+.1f})"
        return f"{head} ~ prosody: {pitch}, {loud}"
    if isinstance(event, EngineDegraded | EngineRecovered):
        return f"{head} ! {event.message} (load step {event.step}, {event.lag:.1f} s behind)"
    return f"{head} {event.type}"
