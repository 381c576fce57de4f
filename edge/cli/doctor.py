"""``edge doctor``: check this machine and the configuration, one line per check."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from edge.cli.options import add_common
from edge.ops.checks import Check, Status, failed, run_checks


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "doctor",
        help="check models, compute device, audio, ports, config and TLS on this machine",
        description="Check that this machine can run empathy-edge: the configuration, the "
        "model files against MANIFEST.sha256 (and each model loaded once, timed), the compute "
        "device, the ports, the TLS files, the event log folder, the verdict store, the audio "
        "input devices and the sound server. One line per check: ok, warn (not fatal) or "
        "FAIL, with what to do. Exit status 1 if any check fails.",
    )
    parser.add_argument(
        "--jsonl",
        action="store_true",
        help="print one JSON object per check: check, status, detail, fix, seconds",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="check the model files' hashes but do not load the models",
    )
    add_common(parser)
    # The doctor reports a bad configuration as a check: main() must not stop on it first.
    parser.set_defaults(run=run, own_config=True)


async def run(args: argparse.Namespace) -> int:
    checks = run_checks(args.config, load_models=not args.quick)
    results: list[Check] = []
    # One at a time off the event loop, each printed as soon as it is known.
    while (check := await asyncio.to_thread(next, checks, None)) is not None:
        results.append(check)
        print(
            json.dumps(check.to_dict(), ensure_ascii=False) if args.jsonl else check.line,
            flush=True,
        )
    if not args.jsonl:
        counts = {s: sum(c.status is s for c in results) for s in Status}
        summary = ", ".join(f"{n} {s.value}" for s, n in counts.items() if n)
        print(f"edge doctor: {summary}", flush=True)
    return 1 if failed(results) else 0
