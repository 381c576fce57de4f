"""``edge stream FILE``: send a recording to a running ``edge serve`` as one call."""

from __future__ import annotations

import argparse
import time
from typing import Any

from edge.audio.files import read_audio
from edge.cli.options import add_common
from edge.client import CallSpec, stream_call


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "stream",
        help="stream a recording into a running `edge serve` as a call",
        description="Send a recording to `edge serve` through the ingest protocol "
        "(docs/server.md), at real-time pace like a live call unless --upload.",
    )
    parser.add_argument("file", metavar="FILE", help="audio file (any format FFmpeg reads)")
    parser.add_argument(
        "--url",
        default="ws://127.0.0.1:8765/ingest",
        help="ingest URL (default: ws://127.0.0.1:8765/ingest)",
    )
    parser.add_argument("--call-id", help="call id (default: file name and time)")
    parser.add_argument("--agent-id", default="", help="the agent on the call")
    parser.add_argument("--team", default="", help="the agent's team")
    parser.add_argument("--token", help="ingest token (a service with [[tokens]] needs one)")
    parser.add_argument(
        "--channels",
        default="caller,agent",
        metavar="ROLES",
        help="role of each channel in order (default: caller,agent; mono = caller)",
    )
    parser.add_argument(
        "--upload",
        action="store_true",
        help="send as a recording for analysis: as fast as the service takes it, nothing dropped",
    )
    add_common(parser)
    parser.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    audio = read_audio(args.file)[:, :2]  # the ingest protocol takes at most two channels
    roles = [None if r.strip() == "-" else r.strip() for r in args.channels.split(",")]
    call_id = args.call_id or f"{args.file.rsplit('/', 1)[-1].rsplit('.', 1)[0]}-{int(time.time())}"
    spec = CallSpec(
        call_id=call_id,
        agent_id=args.agent_id,
        team=args.team,
        channels=roles[: audio.shape[1]],
        token=args.token,
        live=not args.upload,
    )
    reply = await stream_call(args.url, audio, spec, realtime=not args.upload)
    print(f"call {reply['call_id']} streamed ({reply['dropped_frames']} frames dropped)")
    return 0
