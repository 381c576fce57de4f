"""``edge run``: live capture on an agent's workstation, events on the terminal.

The caller's leg comes from one input device (the softphone's loopback or
monitor device) and the agent's microphone from another, or both from one
stereo device (left caller, right agent). Ctrl-C or SIGTERM ends the call
cleanly: capture stops, the last finals are flushed, ``call.ended`` is
printed, exit status 0. A second Ctrl-C gives up on the flush.

A device that fails mid-call is logged and reopened when it comes back; its
missing time is filled with silence (see :mod:`edge.audio.capture`).

With ``--publish`` the call's events (after this workstation's ``[privacy]``)
go to ``edge serve`` too, which shows them as if it had analysed the call;
``--forward`` sends the audio instead, for the service to analyse again: more
network and CPU, and the voice leaves the workstation.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from typing import Any

from edge import logcontext
from edge.audio.capture import DeviceOptions, DeviceSpec, LiveSource, capture_frames
from edge.audio.frames import parse_channel_map
from edge.cli.format import add_output, show
from edge.cli.options import add_common, add_pipeline, pipeline_options, positive_float
from edge.cli.stopping import on_stop_signals
from edge.client import CallSpec, Forwarder, Publisher
from edge.config import Config, load_config
from edge.errors import ConfigError
from edge.ops.metrics_http import RunMetrics
from edge.pipeline.call import run_call
from edge.pipeline.engine import Engine
from edge.server.ingest import call_id_field
from edge.server.protocol import Refused
from edge.server.publish import PublishInfo
from edge.types import CallId, Role

PUBLISH_WAIT = 10.0  # seconds the end of a call waits for the service to take its last events


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "run",
        help="capture a live call from sound devices and print the events",
        description="Capture a live call from this workstation's sound devices (see "
        "`edge devices`) and print speech, transcript and cue events until Ctrl-C.",
    )
    devices = parser.add_argument_group(
        "devices",
        "A device is its index in `edge devices` or part of its name (any case). "
        "Flags replace the [capture] devices of the config file.",
    )
    devices.add_argument(
        "--caller-device", metavar="DEVICE", help="the caller's leg, e.g. the softphone's loopback"
    )
    devices.add_argument("--agent-device", metavar="DEVICE", help="the agent's microphone")
    devices.add_argument(
        "--stereo-device",
        metavar="DEVICE",
        help="one device carrying both legs (see --channels; default left caller, right agent)",
    )
    devices.add_argument(
        "--channels",
        default="caller,agent",
        metavar="ROLES",
        help="with --stereo-device: role of each channel in order, - to skip one "
        "(default: caller,agent)",
    )
    devices.add_argument(
        "--rate",
        type=int,
        metavar="HZ",
        help="open the devices at this sample rate (default: each device's default rate)",
    )
    parser.add_argument(
        "--seconds",
        type=positive_float,
        metavar="S",
        help="end the call after this many seconds (default: run until Ctrl-C)",
    )
    parser.add_argument("--call-id", default=None, help="call id in events (default: live-TIME)")
    forward = parser.add_argument_group(
        "sending the call to `edge serve`",
        "So the agent panel and the wallboard show it. --publish sends the events this "
        "workstation makes, after its [privacy] settings; --forward sends the audio for the "
        "service to analyse again (heavier, and the voice leaves the workstation).",
    )
    forward.add_argument(
        "--publish",
        metavar="URL",
        help="publish URL, e.g. ws://server:8765/publish (default: [capture] publish_url)",
    )
    forward.add_argument(
        "--publish-token", metavar="TOKEN", help="ingest token (default: [capture] publish_token)"
    )
    forward.add_argument(
        "--forward",
        metavar="URL",
        help="ingest URL, e.g. ws://server:8765/ingest (default: [capture] forward_url)",
    )
    forward.add_argument(
        "--forward-token", metavar="TOKEN", help="ingest token (default: [capture] forward_token)"
    )
    forward.add_argument("--agent-id", help="this agent's id (default: [capture] agent_id)")
    forward.add_argument("--team", help="this agent's team (default: [capture] team)")
    add_output(parser)
    add_pipeline(parser)
    add_common(parser)
    parser.set_defaults(run=run)


def open_source(args: argparse.Namespace, config: Config) -> LiveSource:
    """Find the devices the flags (else the config's [capture] section) name."""
    capture = config.capture
    flags = (args.caller_device, args.agent_device, args.stereo_device)
    caller, agent, stereo = (
        flags
        if any(flags)
        else (capture.caller_device, capture.agent_device, capture.stereo_device)
    )
    return LiveSource.from_specs(
        caller=DeviceSpec.parse(caller) if caller else None,
        agent=DeviceSpec.parse(agent) if agent else None,
        stereo=DeviceSpec.parse(stereo) if stereo else None,
        channel_map=parse_channel_map(args.channels),
        options=DeviceOptions(
            rate=args.rate or capture.rate, buffer_seconds=capture.buffer_seconds
        ),
        quiet=not args.debug,
    )


def make_forwarder(
    args: argparse.Namespace, config: Config, call_id: CallId, roles: tuple[Role, ...]
) -> Forwarder | None:
    capture = config.capture
    url = args.forward or capture.forward_url
    if not url:
        return None
    if not url.startswith(("ws://", "wss://")):
        raise ConfigError(f"--forward {url!r} is not a websocket URL: use ws://HOST:PORT/ingest")
    spec = CallSpec(
        call_id=call_id,
        agent_id=args.agent_id if args.agent_id is not None else capture.agent_id,
        team=args.team if args.team is not None else capture.team,
        token=args.forward_token or capture.forward_token,
    )
    return Forwarder(url, spec, roles)


def make_publisher(args: argparse.Namespace, config: Config, call_id: CallId) -> Publisher | None:
    capture = config.capture
    url = args.publish or capture.publish_url
    if not url:
        return None
    if not url.startswith(("ws://", "wss://")):
        raise ConfigError(f"--publish {url!r} is not a websocket URL: use ws://HOST:PORT/publish")
    if args.forward or capture.forward_url:
        raise ConfigError(
            "--publish and --forward (or [capture] publish_url and forward_url) both send "
            "the call to the service: choose one (--publish sends events, not audio)"
        )
    try:
        call_id_field(call_id)
    except Refused as e:
        raise ConfigError(f"--call-id: {e}") from None
    info = PublishInfo(
        call_id=call_id,
        agent_id=args.agent_id if args.agent_id is not None else capture.agent_id,
        team=args.team if args.team is not None else capture.team,
        token=args.publish_token or capture.publish_token,
    )
    return Publisher(url, info, config.privacy, buffer=capture.publish_buffer)


async def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    options = pipeline_options(args, config.pipeline)
    call_id = CallId(args.call_id or time.strftime("live-%Y%m%dT%H%M%S"))
    publisher = make_publisher(args, config, call_id)  # a bad setting: before any device
    source = await asyncio.to_thread(open_source, args, config)
    try:
        engine = await asyncio.to_thread(Engine.load, options)
    except BaseException:
        source.close()
        raise
    try:
        metrics = RunMetrics(config.metrics.port, engine)  # /metrics when [metrics] port is set
    except BaseException:
        source.close()
        engine.close()
        raise
    logcontext.call_id.set(call_id)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    main = asyncio.current_task()
    forced = False

    def on_signal() -> None:
        nonlocal forced
        if stop.is_set() and main is not None:  # the second Ctrl-C: give up on the flush
            forced = True
            main.cancel()
        stop.set()

    undo_signals = on_stop_signals(loop, on_signal)
    timer = loop.call_later(args.seconds, stop.set) if args.seconds else None
    forwarder = make_forwarder(args, config, call_id, source.roles)
    sending = asyncio.create_task(forwarder.run()) if forwarder is not None else None
    publishing = asyncio.create_task(publisher.run()) if publisher is not None else None
    try:
        calls = run_call(
            engine,
            capture_frames(source, stop),
            call_id=call_id,
            roles=source.roles,
            live=True,
            tap=forwarder.offer if forwarder is not None else None,
        )
        async for event in calls:
            metrics.observe(event)
            if publisher is not None:
                publisher.offer(event)
            show(event, jsonl=args.jsonl, signals=args.signals)
    except asyncio.CancelledError:
        if forced:
            return 130
        raise
    finally:
        if forwarder is not None and sending is not None:
            await forwarder.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(sending), 10)
            sending.cancel()
            await asyncio.gather(sending, return_exceptions=True)
        if publisher is not None and publishing is not None:
            await publisher.close()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(publishing), PUBLISH_WAIT)
            publishing.cancel()
            await asyncio.gather(publishing, return_exceptions=True)
        if timer is not None:
            timer.cancel()
        undo_signals()
        metrics.close()
        source.close()
        engine.close()
    return 0
