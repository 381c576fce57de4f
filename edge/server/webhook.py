"""Hand-off webhooks: each ``handoff.recommended`` POSTed to the automation platform.

Issue 17; docs/server.md, "Hand-off". The body is JSON (:func:`payload`); with a
``[handoff] secret`` it is signed, ``X-Edge-Signature: sha256=<hex>``, the
HMAC-SHA256 of the exact body bytes (:func:`signature`, :func:`verify`).
``Idempotency-Key`` is the same for every attempt of one call's reason
(:func:`idempotency_key`), so a receiver that saw an attempt whose answer was lost
can tell the retry is no new hand-off.

Delivery never holds up a call: :meth:`WebhookSender.offer` puts the hand-off
on a bounded queue (overflow: the newest is dropped, counted and logged) and
returns; one task owned by the sender POSTs them in order, each attempt within
``timeout``, retrying network errors, 5xx and 429 ``retries`` times with a
back-off that doubles from ``backoff``. Other 4xx answers are not retried (the
request itself is wrong). A hand-off that is not delivered is counted and
logged in one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from edge.events import SCHEMA_VERSION, HandoffRecommended
from edge.server.summary import CallMeta
from edge.stages.handoff import HandoffOptions

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Edge-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"


def idempotency_key(call_id: str, reason: str) -> str:
    """The same for every attempt of one call's hand-off for one reason."""
    return f"handoff:{call_id}:{reason}"


def payload(meta: CallMeta, event: HandoffRecommended) -> bytes:
    """The webhook's JSON body: who, why, and the summary (no transcript words)."""
    body = {
        "v": SCHEMA_VERSION,
        "type": event.type,
        "idempotency_key": idempotency_key(meta.call_id, event.reason.value),
        "call_id": meta.call_id,
        "agent_id": meta.agent_id,
        "team": meta.team,
        "reason": event.reason.value,
        "summary": event.summary,
        "triage": event.triage,
        "topic": event.topic,
        "distressed_s": round(event.distressed_s, 1),
        "asks": event.asks,
        "bot_failures": event.bot_failures,
        "stream_time": round(event.stream_time, 3),
        "wall_time": round(event.wall_time, 3),
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def signature(body: bytes, secret: str) -> str:
    """The ``X-Edge-Signature`` value: ``sha256=`` and the hex HMAC-SHA256 of ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, header: str | None, secret: str) -> bool:
    """What a receiver checks: the header is the body's signature with ``secret``."""
    return header is not None and hmac.compare_digest(header, signature(body, secret))


@dataclass(frozen=True)
class _Delivery:
    key: str
    body: bytes
    call_id: str
    reason: str


class WebhookSender:
    """The owner of the delivery task and its bounded queue.

    ``counted(result)`` is told each hand-off's fate: ``sent``, ``failed`` (every
    attempt failed) or ``dropped`` (the queue was full).
    """

    def __init__(self, options: HandoffOptions, *, counted: Callable[[str], None]) -> None:
        self.options = options
        self._counted = counted
        self._queue: asyncio.Queue[_Delivery] = asyncio.Queue(maxsize=options.queue)
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self.options.timeout)
        self._task = asyncio.create_task(self._run(), name="edge-handoff-webhook")

    async def close(self, deadline: float) -> None:
        """Deliver what is queued within ``deadline`` seconds, then stop."""
        if self._task is None:
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._queue.join(), deadline)
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None
        if self._client is not None:
            await self._client.aclose()
        left = self._queue.qsize()
        if left:
            log.warning("hand-off webhook: %d hand-off(s) not delivered at shutdown", left)
            for _ in range(left):
                self._counted("failed")

    def offer(self, meta: CallMeta, event: HandoffRecommended) -> None:
        """Queue one hand-off for delivery; never waits."""
        key = idempotency_key(meta.call_id, event.reason.value)
        delivery = _Delivery(key, payload(meta, event), meta.call_id, event.reason.value)
        try:
            self._queue.put_nowait(delivery)
        except asyncio.QueueFull:
            self._counted("dropped")
            log.warning(
                "hand-off webhook: queue full (%d), dropped %s's %s hand-off: "
                "the webhook is slower than the hand-offs; check it, or raise [handoff] queue",
                self.options.queue,
                meta.call_id,
                event.reason.value,
            )

    async def _run(self) -> None:
        while True:
            delivery = await self._queue.get()
            try:
                await self._deliver(delivery)
            finally:
                self._queue.task_done()

    async def _deliver(self, delivery: _Delivery) -> None:
        assert self._client is not None
        headers = {"Content-Type": "application/json", IDEMPOTENCY_HEADER: delivery.key}
        if self.options.secret:
            headers[SIGNATURE_HEADER] = signature(delivery.body, self.options.secret)
        attempts = self.options.retries + 1
        problem = ""
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(self.options.backoff * 2 ** (attempt - 1))
            try:
                answer = await self._client.post(
                    self.options.url, content=delivery.body, headers=headers
                )
            except httpx.HTTPError as e:
                problem = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
                continue
            if answer.is_success:
                self._counted("sent")
                return
            problem = f"HTTP {answer.status_code}"
            if answer.status_code < 500 and answer.status_code != 429:
                break  # the request itself is refused: the same again would be too
        self._counted("failed")
        log.warning(
            "hand-off webhook: %s's %s hand-off not delivered after %d attempt(s) (%s): "
            "check [handoff] url and the receiver's log",
            delivery.call_id,
            delivery.reason,
            attempt + 1,
            problem,
        )
