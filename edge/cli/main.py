"""``edge``: run call audio through the pipeline from the command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from typing import TextIO

from edge import __version__
from edge.errors import EdgeError

log = logging.getLogger("edge")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edge",
        description="empathy-edge: live transcripts and distress cues from call audio.",
    )
    parser.add_argument("--version", action="version", version=f"edge {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    from edge.cli import replay

    replay.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None, *, stderr: TextIO | None = None) -> int:
    stderr = stderr or sys.stderr
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=stderr,
    )
    try:
        return int(asyncio.run(args.run(args)))
    except EdgeError as e:
        if args.debug:
            log.exception("failed")
        print(f"edge: error: {e}", file=stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `edge replay x | head`
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
