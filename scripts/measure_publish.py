#!/usr/bin/env python3
"""What edge mode sends over the network, against forwarding the audio (issue 16).

Runs each recording through the same pipeline a live call runs (``replay``),
applies the workstation's privacy as ``edge run --publish`` does
(``edge.server.hub.Privacy``, redaction on) for ``share = "transcripts"`` and
``share = "cues"``, and counts the publish messages as they would cross the wire
(JSON text plus websocket client framing), next to what ``edge run --forward``
sends for the same call (16 kHz PCM16, one message per 32 ms frame).

Usage: scripts/measure_publish.py [--realtime] [FILE ...]   (default: the bundled
sample call, stereo: caller left, agent right). ``--realtime`` paces the audio as a
live call comes, which is what sets how many partials a call makes.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
from pathlib import Path

from edge.audio.frames import parse_channel_map
from edge.audio.sources import FileSource
from edge.events import CallEnded, Event, to_json
from edge.pipeline.call import replay
from edge.pipeline.engine import Engine
from edge.pipeline.options import PipelineOptions
from edge.server.hub import Privacy
from edge.server.options import PrivacyOptions, Share
from edge.types import FRAME_SAMPLES, CallId

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "edge" / "assets" / "sample_call.flac"


def wire_bytes(payload: int) -> int:
    """A client websocket frame: 2-byte header, extended length, 4-byte mask, payload."""
    extended = 0 if payload < 126 else 2 if payload < 65536 else 8
    return 2 + extended + 4 + payload


async def events_of(engine: Engine, path: Path, channels: str, realtime: bool) -> list[Event]:
    source = FileSource(path, parse_channel_map(channels))
    calls = replay(engine, source, call_id=CallId("measure"), realtime=realtime)
    return [e async for e in calls]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="*", type=Path, default=[SAMPLE])
    parser.add_argument("--channels", default="caller,agent", help="roles of the channels")
    parser.add_argument(
        "--realtime", action="store_true", help="at the audio's pace, as a live call (partials)"
    )
    args = parser.parse_args()
    engine = Engine.load(PipelineOptions())
    legs = len([r for r in args.channels.split(",") if r not in ("-", "")])
    print(f"machine: {platform.processor() or platform.machine()}, {platform.system()}")
    print(
        "| recording | s | forward audio KB/s | publish events/s | publish KB/s "
        "(transcripts) | publish KB/s (cues) |"
    )
    print("|---|---|---|---|---|---|")
    try:
        for path in args.files:
            events = asyncio.run(events_of(engine, path, args.channels, args.realtime))
            seconds = next(e.duration for e in events if isinstance(e, CallEnded))
            frames = seconds * 16000 / FRAME_SAMPLES
            audio = frames * wire_bytes(FRAME_SAMPLES * 2 * legs) / seconds / 1000
            rates = []
            for share in (Share.TRANSCRIPTS, Share.CUES):
                privacy = Privacy(PrivacyOptions(share=share))
                sent = [to_json(s) for e in events if (s := privacy.share(e)) is not None]
                size = sum(wire_bytes(len(m.encode())) for m in sent)
                rates.append((len(sent) / seconds, size / seconds / 1000))
            print(
                f"| {path.name} | {seconds:.1f} | {audio:.1f} | {rates[0][0]:.1f} "
                f"| {rates[0][1]:.2f} | {rates[1][1]:.2f} |"
            )
    finally:
        engine.close()


if __name__ == "__main__":
    main()
