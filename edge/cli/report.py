"""``edge report --day``: a day of after-call summaries as a page of plots."""

from __future__ import annotations

import argparse
import asyncio
import datetime
from pathlib import Path
from typing import Any

from edge.cli.options import add_common
from edge.config import load_config
from edge.errors import ConfigError
from edge.report import day as report_day


def _date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: give YYYY-MM-DD") from None


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "report",
        help="a day's calls as a page of plots, from the after-call summaries",
        description="Read the after-call summaries (call.summary.final) of one UTC day from "
        "the service's event log ([privacy] event_log), with that day's hand-offs and agents' "
        "verdicts, and write a page (index.html, no external links) with its plots next to "
        "it: distress over the day, cues per team, calls routine and sensitive, hand-offs by "
        "reason, and four headline numbers. The summaries hold no transcript text.",
    )
    parser.add_argument(
        "--day",
        nargs="?",
        type=_date,
        const=None,
        required=True,
        metavar="YYYY-MM-DD",
        help="the UTC day to report (no date: today, UTC)",
    )
    parser.add_argument(
        "--from",
        dest="folder",
        type=Path,
        metavar="DIR",
        help="the event log folder (default: [privacy] event_log of the config)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="where to write the page and its plots (default: ./report-YYYY-MM-DD)",
    )
    add_common(parser)
    parser.set_defaults(run=run)


def _run(args: argparse.Namespace) -> int:
    day = args.day or datetime.datetime.now(datetime.timezone.utc).date()
    folder = args.folder
    if folder is None:
        folder = load_config(args.config).privacy.event_log
        if folder is None:
            raise ConfigError(
                "no summaries to read: [privacy] event_log is not set (summaries are kept only "
                "in the event log); set it, or give the folder with --from DIR"
            )
    calls = report_day.read_day(folder, day)
    from edge.report import page  # matplotlib only for this command

    figures = report_day.figures(day, calls)
    written = page.write(figures, args.out or Path(f"report-{day.isoformat()}"))
    print(f"edge report: {len(calls)} calls on {day} from {report_day.day_file(folder, day)}")
    for name, value, of in page.headline(figures):
        print(f"  {name}: {value} ({of})")
    print(f"wrote {written}")
    return 0


async def run(args: argparse.Namespace) -> int:
    return await asyncio.to_thread(_run, args)
