"""``edge calibrate``: what agents' verdicts say about the cues, and thresholds to try."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from edge.cli.options import add_common
from edge.config import load_config
from edge.errors import ConfigError
from edge.feedback import calibrate
from edge.feedback.store import Verdict, VerdictStore


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{text} must be above 0 and at most 1")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be 1 or more")
    return value


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "calibrate",
        help="precision of each cue from agents' verdicts, and threshold changes to try",
        description="Read the verdict store ([feedback] store; several stores for several "
        "sites) and print, per site, the precision of each cue kind and evidence tag (the "
        "share of verdicts that say 'right', with a 95% Wilson interval) and, where there are "
        "enough verdicts, the [pipeline.cues] thresholds that would drop most cues agents "
        "called wrong while keeping those called right, with the expected effect on precision "
        "and on the cue rate, as a TOML snippet for that site's edge.toml. It never changes "
        "the running service or any file but --out: review the snippet, merge it into the "
        "config, check it with `edge config --check` and restart edge serve.",
    )
    parser.add_argument(
        "stores",
        nargs="*",
        type=Path,
        metavar="STORE",
        help="verdict store files (default: the [feedback] store of the config)",
    )
    parser.add_argument(
        "--events",
        type=Path,
        metavar="FOLDER",
        help="the service's event log folder ([privacy] event_log): the cue rate per call "
        "hour and the caller's voice readings behind each judged cue",
    )
    parser.add_argument("--site", help="only this site's verdicts")
    parser.add_argument(
        "--out",
        metavar="FILE",
        help="write the proposed snippet here instead of printing it; with several sites "
        "put {site} in the name (proposed-{site}.toml)",
    )
    parser.add_argument(
        "--min-verdicts",
        type=_count,
        default=calibrate.MIN_VERDICTS,
        metavar="N",
        help="verdicts a site needs on a cue kind before a change is proposed "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--keep-right",
        type=_share,
        default=calibrate.KEEP_RIGHT,
        metavar="SHARE",
        help="share of the cues called right a proposal must keep (default: %(default)s)",
    )
    add_common(parser)
    parser.set_defaults(run=run)


def read_stores(paths: list[Path]) -> tuple[list[Verdict], dict[str, dict[str, Any]]]:
    """Every verdict (once each) and every cue setting of the stores, read-only."""
    verdicts: dict[str, Verdict] = {}
    settings: dict[str, dict[str, Any]] = {}
    for path in paths:
        store = VerdictStore(path).open_to_read()
        try:
            verdicts.update((v.id, v) for v in store.verdicts())
            settings.update(store.settings())
        finally:
            store.close()
    return sorted(verdicts.values(), key=lambda v: v.time), settings


def _run(args: argparse.Namespace) -> int:
    paths = args.stores or [load_config(args.config).feedback.store_path()]
    verdicts, settings = read_stores(paths)
    if args.site is not None:
        verdicts = [v for v in verdicts if v.site == args.site]
        if not verdicts:
            raise ConfigError(f"--site {args.site}: no verdicts of that site in the store(s)")
    events = calibrate.read_event_log(args.events) if args.events else None
    result = calibrate.report(
        verdicts,
        settings,
        events=events,
        min_verdicts=args.min_verdicts,
        keep_right=args.keep_right,
    )
    print(f"edge calibrate: {', '.join(str(p) for p in paths)}")
    print("\n".join(result.lines))
    for site, text in result.snippets.items():
        if args.out:
            path = calibrate.site_file(args.out, site, len(result.snippets))
            path.write_text(text, encoding="utf-8")
            print(f"\nwrote the proposal for {site} to {path}")
        else:
            print(f"\n# ---- proposed for site {site}: add to its edge.toml ----")
            print(text, end="")
    return 0


async def run(args: argparse.Namespace) -> int:
    return await asyncio.to_thread(_run, args)
