"""The verdict store: agents' verdicts on cues in one SQLite file, written by one thread.

What a row holds, and what it never holds::

    verdicts(id, time, site, cue, level, score, peak, voice_peak, evidence,
             stream_time, verdict, reason, agent_id, team, by, settings)

``evidence`` is the cue's plain-word tags ("raised voice"), never its
``quote`` (caption words) nor its ``message``; ``reason`` is one word the panel
chose; ``agent_id``, ``team`` and ``by`` name staff, not patients; ``settings``
is the fingerprint of the ``[pipeline.cues]`` settings the cue was raised
under (their values are in the ``settings`` table). No call id: the
``id`` of a verdict is random, one per cue (a second verdict on a cue
replaces the first: the agent's last word counts), and only the opt-in event
log, which holds call ids anyway, links it to its call (``edge calibrate
--events``).

The service puts verdicts on :class:`VerdictWriter`'s bounded queue without
waiting; its thread writes them and deletes rows older than the retention at
start and every hour. A slow or failing disk costs verdicts, never a call:
each one lost is counted (``edge_feedback_lost_verdicts``), the first failure
is logged as one error line and the recovery as one more.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import queue
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.errors import EdgeError

log = logging.getLogger(__name__)

SCHEMA = 1  # PRAGMA user_version of the files this module writes
QUEUE = 1000  # verdicts waiting for the writer before new ones are dropped
PRUNE_EVERY = 3600.0  # seconds between deletions of rows past the retention
BUSY_TIMEOUT = 5.0  # seconds a write waits for another writer's lock

REASON = re.compile(r"[A-Za-z0-9_-]{1,32}")
REASON_SHAPE = "one word of at most 32 letters, digits, '-' or '_' (e.g. background_noise)"
# An evidence tag is a few plain words ("raised voice", "rising distress").
_TAG = re.compile(r"[A-Za-z][A-Za-z '-]{0,47}")

TABLES = """
CREATE TABLE IF NOT EXISTS verdicts (
    id TEXT PRIMARY KEY,
    time REAL NOT NULL,
    site TEXT NOT NULL,
    cue TEXT NOT NULL,
    level TEXT NOT NULL,
    score REAL NOT NULL,
    peak REAL NOT NULL,
    voice_peak REAL,
    evidence TEXT NOT NULL,
    stream_time REAL NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('wrong', 'right')),
    reason TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    team TEXT NOT NULL,
    by TEXT NOT NULL,
    settings TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS verdicts_time ON verdicts (time);
CREATE TABLE IF NOT EXISTS settings (
    fingerprint TEXT PRIMARY KEY,
    cues TEXT NOT NULL,
    first_seen REAL NOT NULL
);
"""


class StoreError(EdgeError):
    """The verdict store cannot be opened or read; the message says what to do."""


def reason_problem(value: object) -> str | None:
    """What is wrong with a feedback ``reason`` (None or "" is no reason), or None."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and REASON.fullmatch(value):
        return None
    return f"feedback reason must be {REASON_SHAPE}"


def plain_tags(evidence: Iterable[str], quote: Iterable[str] = ()) -> tuple[str, ...]:
    """The evidence tags a verdict may keep: plain words, none of them the caller's.

    A tag is kept if it is a few letters-only words and shares no text with the
    cue's quoted caption words (a second guard: tags are the cue rules' own
    words, but transcript text must never reach the store).
    """
    quoted = [q.casefold() for q in quote if q.strip()]
    kept = []
    for tag in evidence:
        folded = tag.casefold()
        if _TAG.fullmatch(tag) and not any(folded in q or q in folded for q in quoted):
            kept.append(tag)
    return tuple(kept)


def fingerprint(cues: Mapping[str, Any]) -> str:
    """A short name for a set of cue settings: the same values, the same name."""
    text = json.dumps(cues, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def new_id() -> str:
    """A verdict's id: random, so it says nothing about the call."""
    return secrets.token_hex(8)


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """One row of the store."""

    id: str
    time: float  # unix seconds the verdict was given
    site: str
    cue: str  # CueKind value
    level: str  # CueLevel value: the highest the cue reached
    score: float  # the cue's score as last raised
    peak: float  # the highest score of its raises
    voice_peak: float | None  # caller cues: the caller's voice distress held while active
    evidence: tuple[str, ...]
    stream_time: float  # seconds into the call the cue was (last) raised
    verdict: str  # "wrong" or "right"
    reason: str  # "" or one word
    agent_id: str
    team: str
    by: str  # who gave it: the token's name ("open" without tokens)
    settings: str  # fingerprint of the cue settings

    @classmethod
    def from_report(cls, report: Mapping[str, Any], *, site: str, settings: str) -> Verdict:
        """A verdict from the hub's report (:meth:`edge.server.hub.Hub.record_feedback`)."""
        return cls(
            id=str(report["verdict_id"]),
            time=float(report["time"]),
            site=site,
            cue=str(report["cue"]),
            level=str(report["level"]),
            score=float(report["score"]),
            peak=float(report.get("peak", report["score"])),
            voice_peak=None if report.get("voice_peak") is None else float(report["voice_peak"]),
            evidence=plain_tags(report.get("evidence", ())),
            stream_time=float(report.get("stream_time", 0.0)),
            verdict=str(report["verdict"]),
            reason=str(report.get("reason") or ""),
            agent_id=str(report.get("agent_id") or ""),
            team=str(report.get("team") or ""),
            by=str(report.get("by") or ""),
            settings=settings,
        )

    def row(self) -> tuple[object, ...]:
        values = dataclasses.astuple(self)
        index = [f.name for f in dataclasses.fields(self)].index("evidence")
        return (*values[:index], json.dumps(list(self.evidence)), *values[index + 1 :])

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Verdict:
        values = dict(row)
        values["evidence"] = tuple(json.loads(values["evidence"]))
        return cls(**values)


_COLUMNS = [f.name for f in dataclasses.fields(Verdict)]
_INSERT = (
    f"INSERT OR REPLACE INTO verdicts ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _COLUMNS)})"
)


class VerdictStore:
    """The SQLite file: open, add, prune, read. One thread at a time uses it."""

    def __init__(self, path: Path, *, busy_timeout: float = BUSY_TIMEOUT) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._db: sqlite3.Connection | None = None

    # -- opening --------------------------------------------------------------

    def open(self) -> VerdictStore:
        """Open for writing, creating the folder and the tables; :class:`StoreError` if not."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=self.busy_timeout, check_same_thread=False)
        except (OSError, sqlite3.Error) as e:
            raise self._cannot("open", e) from None
        try:
            self._check_schema(db)
            db.executescript(TABLES)
            db.execute(f"PRAGMA user_version = {SCHEMA}")
            db.commit()
        except sqlite3.Error as e:
            db.close()
            raise self._cannot("open", e) from None
        self._db = db
        return self

    def open_to_read(self) -> VerdictStore:
        """Open read-only (``edge calibrate``): nothing is created or changed."""
        if not self.path.is_file():
            raise StoreError(
                f"{self.path}: no such verdict store; give the [feedback] store of the "
                "service (edge serve creates it when it starts)"
            )
        try:
            db = sqlite3.connect(f"{self.path.absolute().as_uri()}?mode=ro", uri=True)
            self._check_schema(db)
            db.execute("SELECT count(*) FROM verdicts").fetchone()
        except sqlite3.Error as e:
            raise StoreError(
                f"{self.path}: cannot read it as a verdict store ({e}): give the file "
                "[feedback] store names"
            ) from None
        self._db = db
        return self

    def _check_schema(self, db: sqlite3.Connection) -> None:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA:
            raise StoreError(
                f"{self.path}: written by a newer edge (schema {version}): use that version"
            )

    def _cannot(self, what: str, e: Exception) -> StoreError:
        reason = getattr(e, "strerror", None) or str(e)
        return StoreError(
            f"[feedback] store {self.path}: cannot {what} it ({reason}): make its folder "
            "writable by the user running edge serve, set [feedback] store to a writable "
            "file, or set [feedback] keep = false"
        )

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreError(f"{self.path}: the verdict store is not open")
        return self._db

    # -- writing --------------------------------------------------------------

    def add(self, verdicts: Iterable[Verdict]) -> None:
        with self.db:
            self.db.executemany(_INSERT, [v.row() for v in verdicts])

    def remember_settings(self, fingerprint: str, cues: Mapping[str, Any], now: float) -> None:
        """The cue settings behind ``fingerprint`` (kept once; read by ``edge calibrate``)."""
        with self.db:
            self.db.execute(
                "INSERT OR IGNORE INTO settings (fingerprint, cues, first_seen) VALUES (?, ?, ?)",
                (fingerprint, json.dumps(cues, sort_keys=True, default=str), now),
            )

    def prune(self, *, retention_days: float, now: float) -> int:
        """Delete verdicts older than the retention; how many went."""
        with self.db:
            gone = self.db.execute(
                "DELETE FROM verdicts WHERE time < ?", (now - retention_days * 86400,)
            ).rowcount
            self.db.execute(
                "DELETE FROM settings WHERE fingerprint NOT IN (SELECT settings FROM verdicts) "
                "AND first_seen < ?",
                (now - retention_days * 86400,),
            )
        return gone

    # -- reading --------------------------------------------------------------

    def verdicts(self) -> list[Verdict]:
        """Every verdict, oldest first."""
        cursor = self.db.execute(f"SELECT {', '.join(_COLUMNS)} FROM verdicts ORDER BY time, id")
        cursor.row_factory = sqlite3.Row
        return [Verdict.from_row(row) for row in cursor]

    def settings(self) -> dict[str, dict[str, Any]]:
        """The cue settings by fingerprint."""
        rows = self.db.execute("SELECT fingerprint, cues FROM settings").fetchall()
        return {fp: json.loads(cues) for fp, cues in rows}


_STOP = object()


class VerdictWriter:
    """A store, its own writing thread, and the bounded queue in front of it.

    :meth:`put` never waits (the event loop calls it); overflow drops the new
    verdict and counts it. ``lost`` is told of every verdict lost.
    """

    def __init__(
        self,
        store: VerdictStore,
        *,
        site: str,
        cues: Mapping[str, Any],
        retention_days: float,
        lost: Callable[[int], None] | None = None,
        clock: Callable[[], float] = time.time,
        limit: int = QUEUE,
    ) -> None:
        self.store = store
        self.site = site
        self.cues = dict(cues)
        self.settings = fingerprint(self.cues)
        self.retention_days = retention_days
        self.lost = 0
        self._lost = lost
        self._clock = clock
        self._failing = 0  # verdicts lost since writes began to fail (0: they work)
        self._counting = threading.Lock()  # the loop (queue full) and the thread both count
        self._queue: queue.Queue[object] = queue.Queue(limit)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Open the store, prune it, and start writing: blocking (run it off the loop)."""
        self.store.open()
        now = self._clock()
        gone = self.store.prune(retention_days=self.retention_days, now=now)
        self.store.remember_settings(self.settings, self.cues, now)
        log.info(
            "feedback: verdicts kept in %s for %g days (%d older ones deleted)",
            self.store.path,
            self.retention_days,
            gone,
        )
        self._thread = threading.Thread(target=self._run, name="edge-verdicts", daemon=True)
        self._thread.start()

    def put(self, report: Mapping[str, Any]) -> None:
        """Queue a feedback report for writing; never waits."""
        verdict = Verdict.from_report(report, site=self.site, settings=self.settings)
        try:
            self._queue.put_nowait(verdict)
        except queue.Full:
            self._count_lost(1, "the writer is behind (slow disk)")

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued (within ``timeout``), then close the store: blocking."""
        if self._thread is None:
            self.store.close()
            return
        with contextlib.suppress(queue.Full):
            self._queue.put(_STOP, timeout=timeout)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("feedback: the verdict writer did not finish in %g s", timeout)
            return
        self._thread = None
        self.store.close()

    def _run(self) -> None:
        next_prune = self._clock() + PRUNE_EVERY
        while True:
            try:
                item = self._queue.get(timeout=max(next_prune - self._clock(), 0.0))
            except queue.Empty:
                item = None
            batch = [item]
            while not self._queue.empty() and len(batch) < 100:
                batch.append(self._queue.get_nowait())
            verdicts = [v for v in batch if isinstance(v, Verdict)]
            if verdicts:
                self._write(verdicts)
            if self._clock() >= next_prune:
                self._prune()
                next_prune = self._clock() + PRUNE_EVERY
            if _STOP in batch:
                return

    def _write(self, verdicts: list[Verdict]) -> None:
        try:
            self.store.add(verdicts)
        except (sqlite3.Error, OSError) as e:
            self._count_lost(len(verdicts), str(e))
            return
        with self._counting:
            failed, self._failing = self._failing, 0
        if failed:
            log.warning("feedback: writing verdicts to %s again (%d lost)", self.store.path, failed)

    def _prune(self) -> None:
        try:
            gone = self.store.prune(retention_days=self.retention_days, now=self._clock())
        except (sqlite3.Error, OSError) as e:
            log.warning("feedback: cannot delete old verdicts in %s: %s", self.store.path, e)
            return
        if gone:
            log.info("feedback: deleted %d verdicts older than the retention", gone)

    def _count_lost(self, count: int, why: str) -> None:
        with self._counting:
            first = not self._failing
            self.lost += count
            self._failing += count
        if self._lost is not None:
            self._lost(count)
        if first:
            log.error(
                "feedback: cannot keep verdicts in %s (%s); they are counted in "
                "edge_feedback_lost_verdicts until it works again (calls go on): "
                "free disk space or fix the file ([feedback] store)",
                self.store.path,
                why,
            )
