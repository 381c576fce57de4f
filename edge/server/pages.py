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
def _read(name: str) -> bytes | None:
    path = resources.files("edge") / "web" / name
    return path.read_bytes() if path.is_file() else None


def find(path: str) -> tuple[bytes, str] | None:
    """The page or asset at ``path`` and its content type; None if there is none."""
    name = _ROUTES.get(path)
    if name is None and path.startswith("/static/"):
        name = path.removeprefix("/static/")
        if "/" in name or name.startswith("."):
            return None
    suffix = "." + name.rsplit(".", 1)[-1] if name and "." in name else ""
    if name is None or suffix not in _TYPES:
        return None
    body = _read(name)
    return None if body is None else (body, _TYPES[suffix])
