"""The web pages (``edge/web/``): the agent panel and the supervisor wallboard."""

from __future__ import annotations

import functools
from importlib import resources

_ROUTES = {
    "/": "index.html",
    "/agent": "agent.html",
    "/wallboard": "wallboard.html",
}
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# Tokens travel in the page URL's #fragment, which browsers never send; no
# referrer leaks it either. Scripts and styles come only from this server.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; connect-src 'self' ws: wss:; "
    "img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@functools.cache
def known() -> frozenset[str]:
    """The files under ``edge/web/`` that may be served: read once, never from a request.

    Only these are ever read and cached, so the cache is bounded by the
    package; any other path, however long or odd, is a 404 without a look at
    the disk (issue 12: a cache keyed by request paths grew without bound).
    """
    folder = resources.files("edge") / "web"
    return frozenset(
        entry.name
        for entry in folder.iterdir()
        if entry.is_file() and not entry.name.startswith(".") and _suffix(entry.name) in _TYPES
    )


@functools.cache
def _read(name: str) -> bytes:
    return (resources.files("edge") / "web" / name).read_bytes()


def cached() -> int:
    """How many files the page cache holds (at most ``len(known())``)."""
    return _read.cache_info().currsize


def _suffix(name: str) -> str:
    return "." + name.rsplit(".", 1)[-1] if "." in name else ""


def find(path: str) -> tuple[bytes, str] | None:
    """The page or asset at ``path`` and its content type; None if there is none."""
    name = _ROUTES.get(path)
    if name is None and path.startswith("/static/"):
        name = path.removeprefix("/static/")
    if name is None or name not in known():
        return None
    return _read(name), _TYPES[_suffix(name)]
