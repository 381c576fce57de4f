"""The opt-in event log: JSON lines in one file per UTC day, pruned after the retention.

Off by default (``[privacy] event_log``): nothing is written to disk unless
configured. Lines are written by a worker thread; the queue between is
bounded (drop oldest, counted), so a slow disk never stalls a call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from pathlib import Path

log = logging.getLogger(__name__)

PREFIX = "events-"
FLUSH_EVERY = 1.0
QUEUE = 100_000


class EventLog:
    def __init__(self, folder: Path, *, retention_days: float) -> None:
        self.folder = Path(folder)
        self.retention = retention_days * 86400
        self.dropped = 0
        self._lines: deque[str] = deque()
        self._task: asyncio.Task[None] | None = None

    def write(self, line: str) -> None:
        if len(self._lines) >= QUEUE:
            self._lines.popleft()
            self.dropped += 1
        self._lines.append(line)

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
            self.dropped += len(lines)
            log.error("event log %s: %s; %d lines lost", path, e.strerror, len(lines))

    async def prune(self) -> None:
        """Delete day files older than the retention period."""
        await asyncio.to_thread(self._prune_now, time.time())

    def _prune_now(self, now: float) -> None:
        for path in self.folder.glob(f"{PREFIX}*.jsonl"):
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
