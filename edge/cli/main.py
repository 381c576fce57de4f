"""``edge``: run call audio through the pipeline from the command line."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import logging
import sys
from collections.abc import Sequence
from typing import TextIO

from edge import __version__
from edge.config import LogOptions, load_config
from edge.errors import EdgeError
from edge.logcontext import CallIdFilter

log = logging.getLogger("edge")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edge",
        description="empathy-edge: live transcripts and distress cues from call audio.",
    )
    parser.add_argument("--version", action="version", version=f"edge {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    from edge.cli import (
        calibrate,
        config_command,
        demo,
        devices,
        doctor,
        replay,
        report,
        run,
        serve,
        stream,
    )

    replay.add_parser(commands)
    run.add_parser(commands)
    devices.add_parser(commands)
    config_command.add_parser(commands)
    serve.add_parser(commands)
    stream.add_parser(commands)
    demo.add_parser(commands)
    doctor.add_parser(commands)
    calibrate.add_parser(commands)
    report.add_parser(commands)
    return parser


class JsonFormatter(logging.Formatter):
    """One JSON object per record ([log] json = true), for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.datetime.fromtimestamp(
                record.created, datetime.timezone.utc
            ).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        call_id = getattr(record, "call_id", None)  # set by edge.logcontext's filter
        if call_id:
            entry["call_id"] = call_id
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(handler: logging.Handler, options: LogOptions, *, debug: bool) -> None:
    """Apply the [log] settings to the handler :func:`main` installed (--debug keeps DEBUG)."""
    root = logging.getLogger()
    if handler not in root.handlers:  # logging was set up by someone else (tests, an embedder)
        return
    if options.json:
        handler.setFormatter(JsonFormatter())
    if not debug:
        root.setLevel(options.level.upper())
        # Chatty at info: a line per Whisper decode and per connection opened.
        for name in ("faster_whisper", "websockets.server", "websockets.client"):
            logging.getLogger(name).setLevel(max(root.level, logging.WARNING))


def main(argv: Sequence[str] | None = None, *, stderr: TextIO | None = None) -> int:
    stderr = stderr or sys.stderr
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = logging.StreamHandler(stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(CallIdFilter())
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, handlers=[handler])
    try:
        # `edge config --example` needs no config; `edge doctor` reports a bad one itself
        if not (getattr(args, "example", False) or getattr(args, "own_config", False)):
            configure_logging(handler, load_config(args.config).log, debug=args.debug)
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
