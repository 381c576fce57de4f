"""The opt-in event log: JSON lines in one file per UTC day, pruned after the retention.

Off by default (``[privacy] event_log``): nothing is written to disk unless
configured. Lines are written by a worker thread; the queue between is
bounded (drop oldest, counted), so a slow disk never stalls a call.

A disk that fills up or a folder that goes away costs the log its lines, never
a call: the lines of each failed flush are dropped and counted (``lost``, the
``edge_event_log_lost_lines`` metric), the first failure is logged as one
error line and the recovery as one more, not one line per flush.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

PREFIX = "events-"
FLUSH_EVERY = 1.0
QUEUE = 100_000


class EventLog:
    def __init__(
        self,
        folder: Path,
        *,
        retention_days: float,
        lost: Callable[[int], None] | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.retention = retention_days * 86400
        self.dropped = 0  # lines lost: queue overflow and failed writes
        self._lost = lost  # told of each batch of lines lost
        self._failing = 0  # lines lost since the writes began to fail (0: they work)
        self._lines: deque[str] = deque()
        self._task: asyncio.Task[None] | None = None

    def write(self, line: str) -> None:
        if len(self._lines) >= QUEUE:
            self._lines.popleft()
            self._count_lost(1)
        self._lines.append(line)

    def _count_lost(self, lines: int) -> None:
        self.dropped += lines
        if self._lost is not None:
            self._lost(lines)

    async def start(self) -> None:
        await asyncio.to_thread(self.folder.mkdir, parents=True, exist_ok=True)
        await self.prune()
        self._task = asyncio.create_task(self._flush_loop(), name="edge-event-log")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.flush()

    async def flush(self) -> None:
        if not self._lines:
            return
        lines, self._lines = self._lines, deque()
        path = self.folder / f"{PREFIX}{time.strftime('%Y-%m-%d', time.gmtime())}.jsonl"
        try:
            await asyncio.to_thread(_append, path, lines)
        except OSError as e:
            self._count_lost(len(lines))
            if not self._failing:
                log.error(
                    "event log: cannot write %s: %s; events are not logged until it can "
                    "(calls go on): free disk space or fix the folder ([privacy] event_log)",
                    path,
                    e.strerror or e,
                )
            self._failing += len(lines)
            return
        if self._failing:
            log.warning("event log writes again to %s (%d lines lost)", path, self._failing)
            self._failing = 0

    async def prune(self) -> None:
        """Delete day files older than the retention period."""
        await asyncio.to_thread(self._prune_now, time.time())

    def _prune_now(self, now: float) -> None:
        try:
            paths = list(self.folder.glob(f"{PREFIX}*.jsonl"))
        except OSError:  # the folder is gone: flush says so
            return
        for path in paths:
            with contextlib.suppress(OSError):
                if now - path.stat().st_mtime > self.retention:
                    path.unlink()
                    log.info("event log: deleted %s (older than the retention)", path.name)

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY)
            await self.flush()


def _append(path: Path, lines: deque[str]) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.writelines(line + "\n" for line in lines)
