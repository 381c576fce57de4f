"""``edge devices``: the sound input devices ``edge run`` can capture from."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from edge.audio.capture import DeviceInfo, list_input_devices
from edge.cli.options import add_common


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "devices",
        help="list the sound input devices `edge run` can capture from",
        description="List the input devices PortAudio sees: index, name, input channels, "
        "default sample rate and host API. * marks the default input.",
    )
    parser.add_argument(
        "--jsonl", action="store_true", help="print one JSON object per device and line"
    )
    add_common(parser)
    parser.set_defaults(run=run)


def table(devices: list[DeviceInfo]) -> list[str]:
    """The devices as aligned lines for people, with a header and a legend."""
    if not devices:
        return ["no input devices found (PortAudio sees none; is the sound server running?)"]
    width = max(len("name"), *(len(d.name) for d in devices))
    lines = [f"  {'index':>5}  {'name':<{width}}  {'channels':>8}  {'rate':>6}  host API"]
    for d in devices:
        mark = "*" if d.default else " "
        lines.append(
            f"{mark} {d.index:>5}  {d.name:<{width}}  {d.input_channels:>8}  "
            f"{d.default_rate:>6}  {d.host_api}"
        )
    lines.append(
        "* default input. Pick devices for `edge run` with --caller-device, --agent-device "
        "or --stereo-device (an index or part of a name)."
    )
    return lines


async def run(args: argparse.Namespace) -> int:
    devices = await asyncio.to_thread(list_input_devices, quiet=not args.debug)
    if args.jsonl:
        for device in devices:
            print(json.dumps(device.to_dict(), ensure_ascii=False), flush=True)
    else:
        print("\n".join(table(devices)), flush=True)
    return 0
