"""``edge serve``: the live service (websocket ingest, subscribers, pages, metrics)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import logging
import sys
from typing import Any

from edge.cli.options import add_common, add_pipeline, pipeline_options
from edge.cli.stopping import on_stop_signals
from edge.config import Config, check_serve, load_config
from edge.pipeline.engine import Engine

log = logging.getLogger(__name__)


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "serve",
        help="run the live service: websocket ingest, agent panel, wallboard",
        description="Accept call audio over websockets, run every call through the pipeline "
        "and push transcripts and cues to the agent panel and the supervisor wallboard "
        "(protocols: docs/server.md; settings: the [server], [privacy] and [[tokens]] "
        "sections of the config file).",
    )
    parser.add_argument("--host", help="address to listen on (default: [server] host)")
    parser.add_argument("--port", type=int, help="port to listen on (default: [server] port)")
    add_pipeline(parser)
    add_common(parser)
    parser.set_defaults(run=run)


def serve_config(args: argparse.Namespace) -> Config:
    config = load_config(args.config)
    server = config.server
    if args.host is not None:
        server = dataclasses.replace(server, host=args.host)
    if args.port is not None:
        server = dataclasses.replace(server, port=args.port)
    config = dataclasses.replace(
        config, server=server, pipeline=pipeline_options(args, config.pipeline)
    )
    check_serve(config)
    return config


async def until_signalled() -> None:
    """Wait for SIGTERM or Ctrl-C; a second one exits at once."""
    stop = asyncio.Event()

    def first() -> None:
        if stop.is_set():
            log.warning("second signal: exiting now")
            sys.exit(1)
        stop.set()

    # Left installed on return: a second signal during shutdown still exits at once.
    on_stop_signals(asyncio.get_running_loop(), first)
    await stop.wait()


GC_YOUNG = 10_000  # allocations between young collections (Python's default: 700)


def settle_heap() -> None:
    """Leave what start-up made (modules, settings, models) out of the garbage
    collector's passes, and collect the young generation less often.

    A hub node at 1,000 calls spent 1.4 to 1.9 s of a 36 s bench run in the
    collector, with six full passes of 50 to 300 ms that stalled every call's events;
    with this, 0.5 s and one full pass of 60 ms (scripts/bench_fleet.py).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG, 10, 10)


async def run(args: argparse.Namespace) -> int:
    from edge.server.app import Service  # the server's imports only when serving

    config = serve_config(args)
    service = Service(config)
    await service.start()  # /healthz answers while the models load
    settle_heap()
    print(
        f"edge serve: listening on {service.url}  "
        f"(agent panel {service.url}/agent, wallboard {service.url}/wallboard)",
        flush=True,
    )
    engine: Engine | None = None
    if not config.fleet.analyse:  # a hub node: published calls and subscribers only
        print("edge serve: hub node ([fleet] analyse = false), no models", flush=True)
        try:
            await until_signalled()
            print("edge serve: shutting down", flush=True)
        finally:
            await service.shutdown()
        return 0
    try:
        loading = asyncio.create_task(asyncio.to_thread(Engine.load, config.pipeline))
        signalled = asyncio.create_task(until_signalled())
        done, _ = await asyncio.wait({loading, signalled}, return_when=asyncio.FIRST_COMPLETED)
        if loading in done:
            engine = loading.result()
            service.set_engine(engine)
            settle_heap()  # the models' objects too
            print("edge serve: models loaded, ready for calls", flush=True)
            await signalled
        print("edge serve: shutting down", flush=True)
        await service.shutdown()
        if engine is None:
            engine = await loading  # signalled while loading: let the load end, then close
        return 0
    finally:
        await service.shutdown()  # idempotent: here for the error paths
        if engine is not None:
            engine.close()
