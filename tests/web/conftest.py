"""A real headless Chromium (Debian's, through Playwright) for the page tests."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from edge.config import Config
from edge.pipeline.engine import Engine
from tests.server.harness import ServiceThread

CHROMIUM = Path("/usr/bin/chromium")
# Tests write only to temporary folders: set EDGE_SCREENSHOTS to keep them elsewhere.
SCREENSHOTS = Path(
    os.environ.get("EDGE_SCREENSHOTS") or Path(tempfile.gettempdir()) / "empathy-edge-screenshots"
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Problems:
    """What went wrong inside a page: console errors (CSP violations among them) and
    uncaught exceptions."""

    messages: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.messages)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Chromium, once per session. Skipped only off CI when it is not installed."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: the page tests need Debian's chromium in CI")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., ServiceThread]]:
    """Start services for a test; each is shut down after the test's pages are closed
    (a page stays subscribed: shutdown would wait for it)."""
    started: list[ServiceThread] = []

    def start(config: Config | None = None, engine: Engine | None = None) -> ServiceThread:
        thread = ServiceThread(config or Config(), engine).__enter__()
        started.append(thread)
        return thread

    yield start
    for thread in reversed(started):
        thread.__exit__(None, None, None)


@pytest.fixture
def pages(browser: object) -> Iterator[Callable[..., object]]:
    """Open a page at a URL in a fresh context; each page records its problems on
    ``page.problems``. Closed after the test.

    ``axe=True``: axe-core is injected as a script, which the pages' CSP forbids,
    so it is bypassed for the pages axe checks (every other page runs under it).
    """
    contexts = []

    def open_(url: str, *, width: int = 1280, height: int = 900, axe: bool = False) -> object:
        viewport = {"width": width, "height": height}
        context = browser.new_context(viewport=viewport, bypass_csp=axe)
        contexts.append(context)
        page = context.new_page()
        page.problems = watch(page)
        page.goto(url)
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def open_page(serve: object, pages: Callable[..., object]) -> Callable[..., object]:
    """:func:`pages`, closed after the test before its services stop."""
    return pages


def watch(page: object) -> Problems:
    """Record console errors, CSP violations and uncaught exceptions of ``page``."""
    problems = Problems()
    # A CSP violation is reported as a console error ("Refused to ... because it violates").
    page.on(
        "console",
        lambda m: (
            problems.messages.append(f"console {m.type}: {m.text}")
            if m.type == "error" or "Content Security Policy" in m.text
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.messages.append(f"page error: {e}"))
    return problems


def screenshot(page: object, name: str) -> Path:
    """Save a screenshot of ``page`` under :data:`SCREENSHOTS` (look at it)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=True)
    return path
