"""``edge demo``: the service end to end on the bundled sample call.

Starts ``edge serve`` in this process, prints the page URLs, streams the
sample call in through the ingest protocol at real-time pace, and prints what
an agent's subscription receives (transcripts and cues) as it arrives.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
from importlib import resources
from typing import Any

from edge.audio.files import read_audio
from edge.cli.format import show
from edge.cli.options import add_common
from edge.cli.serve import until_signalled
from edge.client import CallSpec, stream_call, watch
from edge.config import check_serve, load_config
from edge.events import from_dict
from edge.pipeline.engine import Engine

AGENT = "demo-agent"
TEAM = "demo"


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "demo",
        help="serve, stream the bundled sample call in at real-time pace, print the cues",
        description="Start the service, stream the bundled sample call into it through the "
        "ingest protocol at real-time pace, print the page URLs and the events as they come.",
    )
    parser.add_argument("--port", type=int, default=8765, help="port (default: 8765)")
    parser.add_argument(
        "--hold",
        type=float,
        default=30.0,
        metavar="S",
        help="keep serving S seconds after the call so the pages can be looked at (default: 30)",
    )
    add_common(parser)
    parser.set_defaults(run=run)


async def _print_events(url: str) -> None:
    async for message in watch(url, "agent", agent_id=AGENT):
        if message.get("v") is None:
            continue
        show(from_dict(message))


async def run(args: argparse.Namespace) -> int:
    from edge.server.app import Service  # the server's imports only when serving

    config = load_config(args.config)
    config = dataclasses.replace(config, server=dataclasses.replace(config.server, port=args.port))
    check_serve(config)
    sample = resources.files("edge") / "assets" / "sample_call.flac"
    audio = read_audio(str(sample))
    service = Service(config)
    await service.start()
    url, ws = service.url, service.url.replace("http", "ws", 1)
    print(f"edge demo: agent panel  {url}/agent#agent={AGENT}")
    print(f"edge demo: wallboard    {url}/wallboard")
    print("edge demo: loading models ...", flush=True)
    engine = await asyncio.to_thread(Engine.load, config.pipeline)
    service.set_engine(engine)
    printer = asyncio.create_task(_print_events(ws + "/subscribe"))
    try:
        await asyncio.sleep(0.2)  # subscribed before the call starts
        print(f"edge demo: streaming the sample call ({len(audio) / 16000:.0f} s) ...", flush=True)
        spec = CallSpec(call_id="sample-call", agent_id=AGENT, team=TEAM)
        reply = await stream_call(ws + "/ingest", audio, spec, realtime=True)
        await asyncio.sleep(0.5)
        print(
            f"edge demo: call streamed ({reply['dropped_frames']} frames dropped); "
            f"pages stay up {args.hold:.0f} s (Ctrl-C to stop)",
            flush=True,
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(until_signalled(), args.hold)
        return 0
    finally:
        printer.cancel()
        await asyncio.gather(printer, return_exceptions=True)
        await service.shutdown()
        engine.close()
