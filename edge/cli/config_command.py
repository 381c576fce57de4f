"""``edge config``: print the effective configuration, or check it."""

from __future__ import annotations

import argparse
from typing import Any

from edge.cli.options import add_common
from edge.config import config_path, config_to_toml, example_toml, load_config


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "config",
        help="print the effective configuration (secrets masked)",
        description="Print the configuration the other commands use (the defaults, then the "
        "config file, then EDGE_* environment variables) as TOML, with secrets masked. "
        "See docs/configuration.md.",
    )
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--check", action="store_true", help="only check it: print FILE: ok, or the error"
    )
    what.add_argument(
        "--example",
        action="store_true",
        help="print a commented file with every setting at its default (edge.toml.example)",
    )
    add_common(parser)
    parser.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    if args.example:
        print(example_toml(), end="")
        return 0
    config = load_config(args.config)
    path = config_path(args.config)
    if args.check:
        print(f"{path}: ok" if path is not None else "no config file: ok")
        return 0
    source = path if path is not None else "no config file"
    print(f"# The effective configuration: defaults < {source} < EDGE_* variables.")
    print(config_to_toml(config), end="")
    return 0
