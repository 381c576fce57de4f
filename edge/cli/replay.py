"""``edge replay FILE``: run a recording through the pipeline and print its events."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from edge.audio.frames import parse_channel_map
from edge.audio.sources import AudioSource, Encoding, FileSource, RawSource
from edge.cli.format import add_output, show
from edge.cli.options import add_common, add_pipeline, pipeline_options
from edge.config import load_config
from edge.errors import ConfigError
from edge.pipeline.call import replay
from edge.pipeline.engine import Engine
from edge.types import CallId


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "replay",
        help="run a recording through the pipeline and print the events",
        description="Run a recording (WAV, FLAC, OGG/Opus, MP3, … or raw audio on stdin) "
        "through the pipeline and print speech, transcript and cue events.",
    )
    parser.add_argument("file", metavar="FILE", help="audio file, or - for raw audio on stdin")
    add_output(parser)
    parser.add_argument(
        "--realtime",
        action="store_true",
        help="pace the audio at real speed, as a live call (default: as fast as possible)",
    )
    parser.add_argument(
        "--channels",
        default="caller,agent",
        metavar="ROLES",
        help="role of each channel in order, - to skip one "
        "(default: caller,agent; a mono file is the caller)",
    )
    parser.add_argument("--call-id", default=None, help="call id in events (default: file name)")
    raw = parser.add_argument_group("raw audio on stdin (FILE is -)")
    raw.add_argument("--rate", type=int, default=16000, help="sample rate in Hz (default: 16000)")
    raw.add_argument(
        "--encoding", default="pcm16", help="pcm16, mulaw, alaw or f32 (default: pcm16)"
    )
    raw.add_argument(
        "--raw-channels", type=int, default=1, metavar="N", help="interleaved channels (default: 1)"
    )
    add_pipeline(parser)
    add_common(parser)
    parser.set_defaults(run=run)


def open_source(args: argparse.Namespace) -> AudioSource:
    channel_map = parse_channel_map(args.channels)
    if args.file == "-":
        if sys.stdin.isatty():
            raise ConfigError(
                "FILE is - but stdin is a terminal: pipe raw audio in, or give a file"
            )
        return RawSource(
            sys.stdin.buffer,
            rate=args.rate,
            encoding=Encoding.parse(args.encoding),
            channels=args.raw_channels,
            channel_map=channel_map,
        )
    return FileSource(args.file, channel_map)


async def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    options = pipeline_options(args, config.pipeline)
    source = open_source(args)
    call_id = CallId(args.call_id or (Path(args.file).stem if args.file != "-" else "stdin"))
    engine = await asyncio.to_thread(Engine.load, options)
    try:
        async for event in replay(engine, source, call_id=call_id, realtime=args.realtime):
            show(event, jsonl=args.jsonl, signals=args.signals)
    finally:
        engine.close()
    return 0
