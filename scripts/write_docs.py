#!/usr/bin/env python3
"""Rewrite what is generated from the settings declarations (``make docs``).

``edge.toml.example``, and in docs/configuration.md the table of settings and
the table of pipeline flags (each between its ``<!-- NAME: begin -->`` and
``<!-- NAME: end -->`` markers). Tests compare each with what the declarations
give now, so a changed setting fails them until this is run.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from edge.cli.options import flags_markdown
from edge.config import example_toml, settings_markdown

ROOT = Path(__file__).resolve().parents[1]


def between(text: str, name: str, body: str) -> str:
    """``text`` with what lies between the markers of ``name`` replaced by ``body``."""
    pattern = re.compile(rf"(<!-- {name}: begin -->\n).*?(<!-- {name}: end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"no <!-- {name}: begin/end --> markers in docs/configuration.md")
    return pattern.sub(lambda m: m.group(1) + body + m.group(2), text)


def main() -> int:
    docs = ROOT / "docs" / "configuration.md"
    text = between(docs.read_text(), "settings", settings_markdown())
    text = between(text, "flags", flags_markdown())
    for path, new in ((ROOT / "edge.toml.example", example_toml()), (docs, text)):
        if path.read_text() != new:
            path.write_text(new)
            print(f"rewrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
