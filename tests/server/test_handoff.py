"""Hand-off from automated calls (issue 17 part 2): ingest marks and keys, and the signed
webhook delivered to a real local HTTP server the tests start."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from faster_whisper.audio import decode_audio
from websockets.sync.client import connect

from edge.audio import g711
from edge.client import CallSpec, _start_message
from edge.events import HandoffReason, HandoffRecommended
from edge.server.ingest import IngestSession, Pressed, Started
from edge.server.protocol import Close, Refused
from edge.server.summary import CallMeta, CallSummary
from edge.server.webhook import WebhookSender, idempotency_key, payload, verify
from edge.stages.handoff import HandoffOptions
from tests.helpers import DATA, TIME_FACTOR
from tests.server.harness import messages, subscriber
from tests.server.test_lifecycle import START_TIMEOUT, EdgeServe

SECRET = "s3cret-shared-with-the-ivr"


class Receiver:
    """A webhook receiver on a free loopback port: answers ``statuses`` in turn (then 200)
    and keeps every request's headers and body."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.requests: list[tuple[dict[str, str], bytes, int]] = []
        self.arrived: list[float] = []  # time.monotonic() of each request
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.requests.append((dict(self.headers.items()), body, status))
                    receiver.arrived.append(time.monotonic())
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/edge/handoff"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def accepted(self) -> list[tuple[dict[str, str], bytes, int]]:
        return [r for r in self.requests if r[2] == 200]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def meta(call_id: str = "CA1") -> CallMeta:
    return CallMeta(
        call_id=call_id,
        agent_id="ivr",
        team="pharmacy",
        source="open",
        started_at=0.0,
        automated=True,
    )


def asked(at: float = 3.0) -> HandoffRecommended:
    return HandoffRecommended(
        stream_time=at,
        reason=HandoffReason.ASKED,
        summary="Calling about a prescription refill (routine); asked for a person once",
        triage="routine",
        topic="refill",
        asks=1,
    )


def deliver(options: HandoffOptions, *events: HandoffRecommended) -> list[str]:
    """Offer ``events`` to a sender, let it finish, and return what it counted."""
    counted: list[str] = []

    async def main() -> None:
        sender = WebhookSender(options, counted=counted.append)
        sender.start()
        for event in events:
            sender.offer(meta(), event)
        await sender.close(30)

    asyncio.run(main())
    return counted


def test_fails_twice_then_succeeds_gives_one_accepted_delivery() -> None:
    """Two 503s, then 200: three attempts with one idempotency key and signature, one accepted."""
    with Receiver([503, 503]) as receiver:
        options = HandoffOptions(url=receiver.url, secret=SECRET, retries=3, backoff=0.01)
        started = time.monotonic()
        counted = deliver(options, asked())
        took = time.monotonic() - started
    assert counted == ["sent"]
    assert [status for _, _, status in receiver.requests] == [503, 503, 200]
    assert len(receiver.accepted()) == 1
    keys = {headers["Idempotency-Key"] for headers, _, _ in receiver.requests}
    assert keys == {idempotency_key("CA1", "asked_for_person")}
    assert len({body for _, body, _ in receiver.requests}) == 1
    assert took >= 0.03  # backed off 0.01 s, then 0.02 s


def test_signed_well_formed_and_a_wrong_secret_is_detected(receiver: Receiver) -> None:
    """The receiver recomputes the HMAC-SHA256 of the body: it matches with the shared
    secret and not with another one; the body is the documented JSON."""
    deliver(HandoffOptions(url=receiver.url, secret=SECRET), asked())
    ((headers, body, _),) = receiver.requests
    header = headers["X-Edge-Signature"]
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(header, expected)
    assert verify(body, header, SECRET)
    assert not verify(body, header, "not-the-secret")
    assert not verify(body + b" ", header, SECRET)  # a changed body fails too
    sent = json.loads(body)
    assert sent["type"] == "handoff.recommended" and sent["reason"] == "asked_for_person"
    assert sent["call_id"] == "CA1" and sent["team"] == "pharmacy"
    assert sent["idempotency_key"] == headers["Idempotency-Key"]
    assert sent["summary"].startswith("Calling about a prescription refill")
    assert headers["Content-Type"] == "application/json"


def test_unsigned_without_a_secret(receiver: Receiver) -> None:
    """No secret set: no signature header (the receiver can tell it is unsigned)."""
    deliver(HandoffOptions(url=receiver.url), asked())
    ((headers, _, _),) = receiver.requests
    assert "X-Edge-Signature" not in headers


def test_a_dead_webhook_is_counted_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    """Every attempt refused (nothing listens): counted failed, one log line that says why."""
    with Receiver() as gone:
        url = gone.url
    with caplog.at_level(logging.WARNING, logger="edge.server.webhook"):
        counted = deliver(HandoffOptions(url=url, retries=2, backoff=0.01, timeout=1), asked())
    assert counted == ["failed"]
    (line,) = [r.getMessage() for r in caplog.records]
    assert "CA1's asked_for_person hand-off not delivered after 3 attempt(s)" in line
    assert "\n" not in line


def test_a_4xx_is_not_retried() -> None:
    """A 400 means the request itself is wrong: one attempt, counted failed."""
    with Receiver([400]) as receiver:
        counted = deliver(HandoffOptions(url=receiver.url, retries=3, backoff=0.01), asked())
    assert counted == ["failed"] and len(receiver.requests) == 1


def test_a_full_queue_drops_the_newest_and_never_waits() -> None:
    """Offers beyond the queue are dropped and counted at once; the call never waits."""
    counted: list[str] = []

    async def main() -> None:
        sender = WebhookSender(
            HandoffOptions(url="http://127.0.0.1:9/", queue=1), counted=counted.append
        )
        for at in (1.0, 2.0, 3.0):  # not started: nothing leaves the queue
            sender.offer(meta(), asked(at))

    asyncio.run(main())
    assert counted == ["dropped", "dropped"]


def test_payload_holds_no_transcript_words() -> None:
    """The body carries the summary and counts only: no quote or caption field."""
    body = json.loads(payload(meta(), asked()))
    assert not {"quote", "text", "words", "captions"} & body.keys()


def test_the_wallboard_tile_says_automated_and_its_handoffs() -> None:
    """A tile shows that a call is automated and the reasons of its hand-offs, in order."""
    tile = CallSummary(meta())
    assert tile.observe(asked())
    assert tile.to_dict()["automated"] is True
    assert tile.to_dict()["handoffs"] == ["asked_for_person"]


# -- ingest -------------------------------------------------------------------


def twilio_start(params: dict[str, str]) -> str:
    return json.dumps(
        {
            "event": "start",
            "streamSid": "MZ9",
            "start": {
                "streamSid": "MZ9",
                "callSid": "CAauto",
                "tracks": ["inbound", "outbound"],
                "customParameters": params,
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            },
        }
    )


def dtmf(digit: object) -> str:
    return json.dumps(
        {"event": "dtmf", "streamSid": "MZ9", "dtmf": {"track": "inbound_track", "digit": digit}}
    )


@pytest.mark.parametrize(("value", "automated"), [("true", True), ("false", False), (None, False)])
def test_twilio_parameter_marks_the_call_automated(value: str | None, automated: bool) -> None:
    """<Parameter name="automated" value="true"> marks the call; absent or false does not."""
    params = {"agent_id": "ivr"} | ({"automated": value} if value is not None else {})
    started = IngestSession().text(twilio_start(params))
    assert isinstance(started, Started) and started.info.automated is automated


def test_twilio_dtmf_is_a_key_press() -> None:
    """A dtmf message after start is the key pressed; a bad digit or one before start is refused."""
    session = IngestSession()
    session.text(twilio_start({"automated": "true"}))
    assert session.text(dtmf("0")) == Pressed("0")
    with pytest.raises(Refused) as bad:
        session.text(dtmf("x"))
    assert bad.value.code == Close.BAD_MESSAGE and "expected 0-9, * or #" in str(bad.value)
    with pytest.raises(Refused):
        IngestSession().text(dtmf("0"))  # dialect Twilio, but no start yet
    with pytest.raises(Refused) as flag:
        IngestSession().text(twilio_start({"automated": "maybe"}))
    assert "must be true or false" in str(flag.value)


def test_native_start_marks_the_call_automated() -> None:
    """The native start's ``automated`` is a bool; anything else is refused with a reason."""
    start = {"type": "start", "call_id": "n1", "automated": True}
    started = IngestSession().text(json.dumps(start))
    assert isinstance(started, Started) and started.info.automated
    with pytest.raises(Refused) as bad:
        IngestSession().text(json.dumps(start | {"automated": "yes"}))
    assert "automated must be true" in str(bad.value)


def test_the_client_marks_a_native_call_automated() -> None:
    """CallSpec(automated=True) sends a start the ingest session reads as automated."""
    start = _start_message(CallSpec(call_id="n2", automated=True), 16000)
    started = IngestSession().text(start)
    assert isinstance(started, Started) and started.info.automated
    assert "automated" not in _start_message(CallSpec(call_id="n3"), 16000)


# -- end to end ---------------------------------------------------------------------


SILENCE = b"\xff" * 160  # 20 ms of mu-law silence
SPOKEN = DATA / "handoff" / "real_person_phone.flac"  # made by make_handoff_call.py


def twilio_media(track: str, at_ms: int, payload: bytes = SILENCE) -> str:
    return json.dumps(
        {
            "event": "media",
            "streamSid": "MZ9",
            "media": {
                "track": track,
                "timestamp": str(at_ms),
                "payload": base64.b64encode(payload).decode(),
            },
        }
    )


def automated_twilio_call(ws_url: str, caller: bytes, press: set[int]) -> list[float]:
    """An automated Twilio call: ``caller`` (8 kHz mu-law) on the inbound track, silence
    on the outbound (the bot), at real-time pace; the caller presses 0 at the 20 ms chunks
    numbered in ``press``. The time.monotonic() of each press."""
    pressed: list[float] = []
    with connect(ws_url + "/ingest", open_timeout=START_TIMEOUT) as ws:
        ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        ws.send(twilio_start({"agent_id": "ivr-1", "team": "pharmacy", "automated": "true"}))
        assert json.loads(ws.recv(timeout=10))["type"] == "started"
        began = time.monotonic()
        for k in range(len(caller) // 160):
            time.sleep(max(0.0, began + k * 0.02 - time.monotonic()))
            ws.send(twilio_media("inbound", 20 * k, caller[160 * k : 160 * (k + 1)]))
            ws.send(twilio_media("outbound", 20 * k))
            if k in press:
                ws.send(dtmf("0"))
                pressed.append(time.monotonic())
        ws.send(json.dumps({"event": "stop", "streamSid": "MZ9"}))
        assert json.loads(ws.recv(timeout=60 * TIME_FACTOR))["type"] == "stopped"
    return pressed


def wait_for_requests(receiver: Receiver, count: int) -> None:
    """Until ``count`` requests came (10 s at most), then half a second for any extra one."""
    deadline = time.monotonic() + 10 * TIME_FACTOR
    while len(receiver.requests) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)


def metric(http: str, name: str) -> float:
    text = urllib.request.urlopen(http + "/metrics", timeout=10).read().decode()
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name))


@pytest.mark.slow
def test_twilio_call_pressing_0_hands_off_through_edge_serve(receiver: Receiver, tmp_path) -> None:
    """A real `edge serve`: an automated Twilio call presses 0 (twice); the local webhook
    receives one signed, well-formed hand-off with the call's idempotency key."""
    env = {"EDGE_HANDOFF__URL": receiver.url, "EDGE_HANDOFF__SECRET": SECRET}
    serve = EdgeServe(env=env, cwd=tmp_path)
    try:
        pressed = automated_twilio_call(serve.ws, SILENCE * 50, press={25, 40})
        wait_for_requests(receiver, 1)
        sent_metric = metric(serve.http, 'edge_handoff_deliveries_total{result="sent"}')
    finally:
        serve.terminate()
        serve.wait(30 * TIME_FACTOR)
    ((headers, body, status),) = receiver.requests
    assert status == 200 and sent_metric == 1
    latency = receiver.arrived[0] - pressed[0]
    print(f"0 pressed to webhook received: {latency * 1000:.0f} ms")
    assert latency < 1.0 * TIME_FACTOR  # the key's hand-off goes out with the next audio
    assert verify(body, headers["X-Edge-Signature"], SECRET)
    assert not verify(body, headers["X-Edge-Signature"], "a-wrong-secret")
    assert headers["Idempotency-Key"] == idempotency_key("CAauto", "asked_for_person")
    sent = json.loads(body)
    assert sent["call_id"] == "CAauto" and sent["agent_id"] == "ivr-1"
    assert sent["reason"] == "asked_for_person" and sent["asks"] == 1
    assert sent["summary"] == "Topic not known yet; asked for a person once"


@pytest.mark.slow
def test_saying_real_person_and_pressing_0_hand_off_once(receiver: Receiver, tmp_path) -> None:
    """Real models: an espeak-ng caller on the phone says "I want to talk to a real person"
    and then presses 0; the webhook gets one asked_for_person hand-off (the same reason is
    not sent twice), every hand-off signed, at most one per reason."""
    narrow = decode_audio(str(SPOKEN), sampling_rate=8000)
    caller = g711.pcm16_to_mulaw(g711.float_to_pcm16(narrow)).tobytes()
    env = {"EDGE_HANDOFF__URL": receiver.url, "EDGE_HANDOFF__SECRET": SECRET}
    serve = EdgeServe(env=env, cwd=tmp_path)
    try:
        with subscriber(serve.ws, view="agent", agent_id="ivr-1") as (sub, _):
            chunks = len(caller) // 160
            automated_twilio_call(serve.ws, caller, press={chunks - 5})
            got = messages(sub, until="call.ended", timeout=60 * TIME_FACTOR)
        wait_for_requests(receiver, 1)
    finally:
        serve.terminate()
        serve.wait(30 * TIME_FACTOR)
    heard = [m["text"] for m in got if m["type"] == "transcript.final"]
    handoffs = [m for m in got if m["type"] == "handoff.recommended"]
    assert got[0]["type"] == "call.started" and got[0]["automated"] is True
    sent = [json.loads(body) for _, body, _ in receiver.requests]
    reasons = [s["reason"] for s in sent]
    assert reasons.count("asked_for_person") == 1, (reasons, heard)
    assert len(set(reasons)) == len(reasons) == len(handoffs)
    (ask,) = [s for s in sent if s["reason"] == "asked_for_person"]
    # Said before the 0 key: the words made the hand-off, the key only counted.
    assert ask["asks"] == 1 and ask["stream_time"] < (chunks - 5) * 0.02, heard
    assert "real person" in " ".join(heard).lower()
    for headers, body, _ in receiver.requests:
        assert verify(body, headers["X-Edge-Signature"], SECRET)
        assert headers["Idempotency-Key"] == json.loads(body)["idempotency_key"]
