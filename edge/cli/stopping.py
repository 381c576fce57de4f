"""Ctrl-C and SIGTERM as callbacks on the event loop, on POSIX and Windows alike."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

# SIGBREAK is Ctrl-Break on Windows (what a service manager sends); absent elsewhere.
STOP_SIGNALS = tuple(
    s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGBREAK", None)) if s is not None
)


def on_stop_signals(
    loop: asyncio.AbstractEventLoop, callback: Callable[[], None]
) -> Callable[[], None]:
    """Run ``callback`` on the loop at each stop signal; returns a function that undoes it.

    asyncio's ``add_signal_handler`` does not exist on Windows; there the
    handler is a plain ``signal.signal`` one that hands over to the loop.
    """
    installed: list[tuple[signal.Signals, object]] = []
    for sig in STOP_SIGNALS:
        try:
            loop.add_signal_handler(sig, callback)
            installed.append((sig, None))
        except (NotImplementedError, RuntimeError, ValueError):
            previous = signal.signal(sig, lambda *_: loop.call_soon_threadsafe(callback))
            installed.append((sig, previous))

    def undo() -> None:
        for sig, previous in installed:
            if previous is None:
                loop.remove_signal_handler(sig)
            else:
                signal.signal(sig, previous)  # type: ignore[arg-type]

    return undo
