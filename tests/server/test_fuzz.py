"""Protocol fuzzing (issue 12): ingest (native and Twilio), subscribe and feedback messages.

The property, for every message a client may send: the service takes it (the
protocol's documented result) or refuses it with a documented close code
(``docs/server.md``, :class:`~edge.server.protocol.Close`) and one short line;
never another exception, never a traceback, and the other calls carry on.

Two layers. The sans-I/O sessions (:class:`~edge.server.ingest.IngestSession`,
:class:`~edge.server.subscribe.SubscribeSession`, the hub's feedback check) take
many examples: structurally plausible messages with fields mutated (wrong JSON
types, missing, huge, NaN and infinities, nested, lone surrogates, integers past
Python's 4300-digit limit), binary frames of odd sizes, orderings, and raw junk.
A real service on loopback takes fewer: fuzzed sequences on ``/ingest`` and
``/subscribe`` while a healthy call streams and a healthy subscriber pings.

Budgets and seeds are the Hypothesis profiles of ``tests/conftest.py``: a fixed
budget and seed by default, ``EDGE_FUZZ=long`` for thousands of examples.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import re
import socket
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from edge.config import Config
from edge.events import CueKind, CueLevel, CueRaised
from edge.pipeline.engine import Engine
from edge.pipeline.options import PipelineOptions
from edge.server.auth import Tokens
from edge.server.hub import Hub, View
from edge.server.ingest import (
    _CALL_ID,
    RATES,
    Audio,
    Ignored,
    IngestSession,
    Started,
    Stopped,
)
from edge.server.options import PrivacyOptions, ServerOptions, TokenRole, TokenSpec
from edge.server.protocol import Close, Refused, error_message
from edge.server.subscribe import (
    Feedback,
    Reply,
    Subscribe,
    SubscribeSession,
    feedback_recorded_message,
)
from edge.server.summary import CallMeta
from edge.types import CallId, Role
from tests.server.harness import ServiceThread

INGEST = "ingest-token-0123456789"
HEALTHY_INGEST = "ingest-healthy-0123456789"
AGENT = "agent-a17-token-0123456789"
SUPERVISOR = "supervisor-cardio-0123456789"
TOKENS = (
    TokenSpec(token=INGEST, role=TokenRole.INGEST, name="pbx", source="pbx-1"),
    # The healthy call's own source: the fuzzed calls may spend pbx-1's allowance.
    TokenSpec(token=HEALTHY_INGEST, role=TokenRole.INGEST, name="pbx2", source="pbx-2"),
    TokenSpec(token=AGENT, role=TokenRole.AGENT, name="alice", agent="a17"),
    TokenSpec(token=SUPERVISOR, role=TokenRole.SUPERVISOR, name="sue", teams=("cardiology",)),
)
SOCKET_EXAMPLES = max(5, settings.default.max_examples // 8)  # ci: 25
SETTLE = 30.0  # seconds a gone client's call may take to end (a leak is forever)
MESSAGE_LIMIT = 300  # characters of a refusal's one line

# What each layer may refuse with: a subset of the documented codes.
INGEST_CODES = {Close.BAD_MESSAGE, Close.UNSUPPORTED, Close.TOO_BIG}
SUBSCRIBE_CODES = {Close.BAD_MESSAGE, Close.UNAUTHORIZED, Close.FORBIDDEN, Close.NOT_FOUND}
FEEDBACK_CODES = {Close.BAD_MESSAGE, Close.NOT_FOUND}


def documented_codes() -> set[int]:
    """The close codes of docs/server.md's table."""
    text = (Path(__file__).parents[2] / "docs" / "server.md").read_text()
    return {int(code) for code in re.findall(r"^\| (\d{4}) \|", text, re.MULTILINE)}


def test_the_close_codes_are_documented() -> None:
    """Every code the service answers with is in docs/server.md's table, and only those."""
    assert documented_codes() == {int(code) for code in Close}


def check_refusal(refused: Refused, codes: set[Close]) -> None:
    """A refusal the glue can send: an allowed code and one short line of valid text."""
    assert refused.code in codes, (refused.code, str(refused))
    message = str(refused)
    assert message and len(message) <= MESSAGE_LIMIT, message
    assert "\n" not in message and "\r" not in message, message
    message.encode()  # the close reason and the log line: no lone surrogate
    json.loads(error_message(refused))


# -- strategies ------------------------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """A JSON literal written as is: what json.dumps will not write (huge ints, NaN, nesting)."""

    text: str


RAW = [
    "1" * 5000,  # past Python's int digits limit: int() raises ValueError
    "-" + "9" * 4400,
    "1e999",
    "-1e999",
    "NaN",
    "Infinity",
    "-Infinity",
    "1e-400",
    "-0",
    '"\\ud800"',  # a lone surrogate: a str Python cannot encode
    '"a\\udfffb"',
    '"\\u0000"',
    "[" * 40 + "]" * 40,
    "[" * 5000 + "]" * 5000,
    '{"a":' * 3000 + "1" + "}" * 3000,
]


def dumps(value: Any) -> str:
    """``value`` as JSON text, its :class:`Raw` parts written literally."""
    raws: list[str] = []

    def swap(v: Any) -> Any:
        if isinstance(v, Raw):
            raws.append(v.text)
            return f"\x00raw{len(raws) - 1}\x00"
        if isinstance(v, dict):
            return {k: swap(x) for k, x in v.items()}
        if isinstance(v, list):
            return [swap(x) for x in v]
        return v

    text = json.dumps(swap(value))
    for k, raw in enumerate(raws):
        text = text.replace(f'"\\u0000raw{k}\\u0000"', raw, 1)
    return text


unicode = st.characters(codec=None, exclude_categories=())  # surrogates included
texts = (
    st.text(unicode, max_size=12)
    | st.sampled_from(["", " ", "start", "stop", "media", "subscribe", "null", "-", INGEST, AGENT])
    | st.integers(129, 20_000).map(lambda n: "x" * n)
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([2**63, -(2**63) - 1, 10**400])
    | st.floats()
    | texts
    | st.sampled_from(RAW).map(Raw)
)
junk = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=8,
)


def field(*good: Any) -> st.SearchStrategy[Any]:
    """A field's plausible values, or anything."""
    return st.sampled_from(good) | junk


def message(
    required: dict[str, st.SearchStrategy[Any]], optional: dict[str, st.SearchStrategy[Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object of these fields, any of the optional ones missing, maybe an extra one."""
    extra = st.dictionaries(st.sampled_from(["x", "seq", "", "type", "event"]), junk, max_size=1)
    shaped = st.fixed_dictionaries(required, optional=optional)
    return st.tuples(extra, shaped).map(lambda parts: {**parts[0], **parts[1]})


TOKENS_SENT = field(INGEST, AGENT, SUPERVISOR, "not-a-token-0123456789", "")

native_start = message(
    {"type": st.just("start")},
    {
        "protocol": field(1, 2),
        "call_id": field("c-1", "CA42", "x" * 129, "bad id", ""),
        "sample_rate": field(*RATES, 11025, 16000.0),
        "encoding": field("pcm16", "mulaw", "alaw", "f32", "PCM16", "opus"),
        "channels": field(["caller"], ["caller", "agent"], ["agent", None], ["-", "caller"], [])
        | st.lists(field("caller", "agent", None, "-"), max_size=3),
        "live": field(True, False),
        "token": TOKENS_SENT,
        "agent_id": field("a17", "x" * 129),
        "team": field("cardiology"),
    },
)
native_other = message({"type": field("stop", "ping", "start", None)}, {})


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


payloads = (
    st.binary(max_size=400).map(b64)
    | st.integers(0, 100_000).map(lambda n: b64(bytes(n)))
    | st.sampled_from(["", "AAAA=", "not base64!", "////", "é"])
    | junk
)
media_format = message(
    {},
    {
        "encoding": field("audio/x-mulaw", "audio/x-alaw"),
        "sampleRate": field(8000, 16000, 8000.0),
        "channels": field(1, 2),
    },
)
twilio_start = message(
    {"event": st.just("start")},
    {
        "streamSid": field("MZ1"),
        "start": message(
            {},
            {
                "callSid": field("CA1", "CA2", "bad sid"),
                "streamSid": field("MZ1"),
                "tracks": field(["inbound"], ["inbound", "outbound"], ["outbound"], []),
                "mediaFormat": media_format | junk,
                "customParameters": message(
                    {}, {"token": TOKENS_SENT, "agent_id": field("a17"), "team": field("t")}
                )
                | junk,
            },
        )
        | junk,
    },
)
twilio_media = message(
    {"event": st.just("media")},
    {
        "sequenceNumber": field("2"),
        "media": message(
            {},
            {
                "track": field("inbound", "outbound", "both"),
                "payload": payloads,
                "timestamp": field("0", "20", 20, 60_000, "nan", "-1", "1e300")
                | st.integers(-10, 10**9)
                | st.floats(),
                "chunk": field("1"),
            },
        )
        | junk,
    },
)
twilio_other = message(
    {"event": field("connected", "mark", "dtmf", "stop", "closed", None)},
    {"protocol": field("Call"), "version": field("1.0.0")},
)

json_messages = st.one_of(native_start, native_other, twilio_start, twilio_media, twilio_other).map(
    dumps
)
raw_text = (
    st.text(unicode, max_size=40)
    | st.sampled_from(["", "[]", "null", "1", '"start"', "{", "[" * 100_000])
    | junk.map(dumps)
)
audio_bytes = (
    st.binary(max_size=700)
    | st.integers(0, 400_000).map(bytes)
    | st.sampled_from([b"", b"\x00", b"\x00" * 3, b"\x00" * 640])
)

# Well-formed streaming messages, so that scripts reach the states after start.
good_audio = st.sampled_from([320, 640, 1280, 3200]).map(bytes)
good_media = st.builds(
    lambda track, n, at: json.dumps(
        {"event": "media", "media": {"track": track, "payload": b64(bytes(n)), "timestamp": at}}
    ),
    st.sampled_from(["inbound", "outbound"]),
    st.sampled_from([160, 320]),
    st.integers(0, 5000).map(str),
)
good_stop = st.sampled_from(['{"event": "stop"}', '{"event": "mark"}', '{"event": "dtmf"}'])


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` seven times in ten: scripts reach the states after the first messages."""
    return st.integers(0, 9).flatmap(lambda k: good if k < 7 else bad)


# One ingest step: a text message, a binary one, or time passing (seconds).
native_steps = st.one_of(
    good_audio.map(lambda m: ("binary", m)),
    st.just(("text", '{"type": "stop"}')),
    st.floats(0, 3).map(lambda s: ("tick", s)),
)
twilio_steps = st.one_of(
    good_media.map(lambda m: ("text", m)),
    good_stop.map(lambda m: ("text", m)),
    st.floats(0, 3).map(lambda s: ("tick", s)),
)
bad_steps = st.one_of(
    json_messages.map(lambda m: ("text", m)),
    raw_text.map(lambda m: ("text", m)),
    audio_bytes.map(lambda m: ("binary", m)),
    st.floats(0, 30).map(lambda s: ("tick", s)),
)
TWILIO_CONNECTED = ("text", json.dumps({"event": "connected", "protocol": "Call"}))
VALID_STARTS: list[list[tuple[str, Any]]] = [
    [("text", json.dumps({"type": "start", "call_id": "c-1", "token": INGEST}))],
    [
        (
            "text",
            json.dumps(
                {
                    "type": "start",
                    "call_id": "c-2",
                    "sample_rate": 8000,
                    "encoding": "mulaw",
                    "channels": ["caller", "agent"],
                    "live": False,
                }
            ),
        )
    ],
    [
        TWILIO_CONNECTED,
        (
            "text",
            json.dumps(
                {
                    "event": "start",
                    "start": {
                        "callSid": "CA1",
                        "tracks": ["inbound", "outbound"],
                        "customParameters": {"token": INGEST},
                    },
                }
            ),
        ),
    ],
]
ingest_starts = mostly(
    st.sampled_from(VALID_STARTS),
    st.one_of(
        st.just([]),
        native_start.map(lambda m: [("text", dumps(m))]),
        twilio_start.map(lambda m: [TWILIO_CONNECTED, ("text", dumps(m))]),
    ),
)


@st.composite
def ingest_scripts(draw: st.DrawFn) -> list[tuple[str, Any]]:
    """A start (mostly valid), then steps mostly in the start's dialect."""
    start = draw(ingest_starts)
    twilio = any(kind == "text" and '"event"' in item for kind, item in start)
    steps = draw(st.lists(mostly(twilio_steps if twilio else native_steps, bad_steps), max_size=8))
    return [*start, *steps]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- layer (a): the sans-I/O sessions ------------------------------------------------


def run_ingest(script: list[tuple[str, Any]]) -> None:
    """Feed one connection's steps; check each result, stop at the first refusal."""
    clock = Clock()
    session = IngestSession(max_ahead_seconds=2.0, clock=clock)
    for kind, item in script:
        if kind == "tick":
            clock.now += item
            continue
        try:
            result = session.text(item) if kind == "text" else session.binary(item)
        except Refused as e:
            check_refusal(e, INGEST_CODES)
            event(f"ingest refused {int(e.code)} in state {session.state.value}")
            return  # the glue closes the connection
        assert isinstance(result, Started | Audio | Stopped | Ignored), result
        event(f"ingest {type(result).__name__}")
        if isinstance(result, Started):
            info = result.info
            assert _CALL_ID.match(info.call_id) and info.roles
            assert all(isinstance(r, Role) for r in info.roles)
            assert info.token is None or isinstance(info.token, str)
            assert len(info.agent_id) <= 128 and len(info.team) <= 128
        if isinstance(result, Audio | Stopped):
            assert session.info is not None
            for frame in result.frames:
                assert frame.role in session.info.roles
                assert np.isfinite(frame.samples).all() and math.isfinite(frame.start)
        assert math.isfinite(session.position)
        check_refusal(session.timed_out(5.0), {Close.BAD_MESSAGE})


@given(ingest_scripts())
@example([("text", '{"type": "start", "call_id": "c-1", "x": ' + "1" * 5000 + "}")])
def test_ingest_session_takes_or_refuses_every_message(script) -> None:
    """Each ingest step is a documented result or a 1003/1008/1009 refusal of one line."""
    run_ingest(script)


SUB_TOKENS = (*TOKENS, TokenSpec(token=INGEST + "-x", role=TokenRole.INGEST, source="s"))
subscribe_hello = message(
    {"type": st.just("subscribe")},
    {
        "view": field("agent", "wallboard", "call"),
        "token": TOKENS_SENT,
        "agent_id": field("a17", "a18", ""),
        "teams": field(["cardiology"], ["oncology"], []),
        "call_id": field("c-a17", "c-a18", "c-none"),
        "resume": field({"c-a17": 3}, {})
        | st.dictionaries(texts, st.integers() | junk, max_size=3),
    },
)
feedback = message(
    {"type": st.just("feedback")},
    {
        "call_id": field("c-a17", "c-a18", "c-none"),
        "cue_id": field(7, 8, 0),
        "verdict": field("wrong", "right"),
    },
)
good_feedback = st.builds(
    lambda call_id, cue_id, verdict: json.dumps(
        {"type": "feedback", "call_id": call_id, "cue_id": cue_id, "verdict": verdict}
    ),
    st.sampled_from(["c-a17", "c-a18"]),
    st.sampled_from([7, 8]),
    st.sampled_from(["wrong", "right"]),
)
subscriber_messages = mostly(
    good_feedback | st.just('{"type": "ping"}'),
    st.one_of(
        subscribe_hello.map(dumps),
        feedback.map(dumps),
        message({"type": field("ping", "pong", "unsubscribe")}, {}).map(dumps),
        raw_text,
        st.binary(max_size=64),
    ),
)
subscribe_scripts = st.tuples(
    mostly(
        st.sampled_from(
            [
                [json.dumps({"type": "subscribe", "view": "agent", "token": AGENT})],
                [json.dumps({"type": "subscribe", "view": "agent", "agent_id": "a17"})],
                [json.dumps({"type": "subscribe", "view": "wallboard", "token": SUPERVISOR})],
                [json.dumps({"type": "subscribe", "view": "call", "call_id": "c-a17"})],
            ]
        ),
        st.just([]) | subscribe_hello.map(lambda m: [dumps(m)]),
    ),
    st.lists(subscriber_messages, max_size=8),
).map(lambda parts: [*parts[0], *parts[1]])


def cue(cue_id: int) -> CueRaised:
    return CueRaised(
        stream_time=3.0,
        role=Role.CALLER,
        call_id=CallId("c-a17"),
        seq=cue_id,
        cue=CueKind.CALLER_DISTRESSED,
        cue_id=cue_id,
        level=CueLevel.HIGH,
        score=0.8,
        evidence=("raised voice",),
        message="Caller sounds distressed: raised voice.",
    )


def a_hub() -> Hub:
    """Calls c-a17 (agent a17, cardiology, with cue 7) and c-a18 (a18, oncology)."""
    hub = Hub(PrivacyOptions(), clock=lambda: 1000.0)
    for call_id, agent, team in (("c-a17", "a17", "cardiology"), ("c-a18", "a18", "oncology")):
        hub.open_call(
            CallMeta(call_id=call_id, agent_id=agent, team=team, source="s", started_at=0.0)
        )
    hub.publish("c-a17", cue(7))
    return hub


def run_subscriber(script: list[str | bytes], secured: bool, bearer: str | None) -> None:
    """Feed one subscriber's messages; feedback goes on to the hub as the glue sends it."""
    hub = a_hub()
    tokens = Tokens(SUB_TOKENS if secured else ())
    session = SubscribeSession(tokens, hub.calls, bearer=bearer, clock=lambda: 1000.0)
    principal = None
    for item in script:
        try:
            result = session.receive(item)
        except Refused as e:
            check_refusal(e, SUBSCRIBE_CODES)
            event(f"subscribe refused {int(e.code)} in state {session.state.value}")
            return
        event(f"subscribe {type(result).__name__}")
        if isinstance(result, Subscribe):
            assert principal is None
            principal = result.principal
            assert isinstance(result.view, View)
            assert all(isinstance(k, str) and isinstance(v, int) for k, v in result.resume.items())
            assert all(isinstance(t, str) for t in result.teams)
        elif isinstance(result, Feedback):
            assert principal is not None
            try:
                report = hub.record_feedback(principal, result.report)
            except Refused as e:
                check_refusal(e, FEEDBACK_CODES)  # answered; the subscription goes on
                event(f"feedback refused {int(e.code)}")
                continue
            event("feedback recorded")
            json.loads(feedback_recorded_message(report))
        else:
            assert isinstance(result, Reply) and json.loads(result.message)["type"] == "pong"


bearers = (
    st.none() | st.sampled_from([AGENT, SUPERVISOR, INGEST, "nope"]) | st.text(unicode, max_size=30)
)


@given(subscribe_scripts, st.booleans(), bearers)
@example(['{"type": "subscribe", "view": "agent", "token": "\\ud800"}'], True, None)
@example(['{"type": "subscribe", "resume": {"c": ' + "1" * 5000 + "}}"], False, None)
def test_subscribe_session_takes_or_refuses_every_message(script, secured, bearer) -> None:
    """Each subscriber message is a documented result or a refusal of one line; feedback too."""
    run_subscriber(script, secured, bearer)


# -- layer (b): a real service on loopback -----------------------------------------------


class Silence:
    """A speech detector that hears none: calls start, stream and end without models."""

    def stream(self) -> Silence:
        return self

    def probability(self, frame: Any) -> float:
        return 0.0

    def reset(self) -> None:
        pass


class NoTranscriber:
    def transcribe(
        self,
        audio: Any,
        *,
        prefix: str | None,
        final: bool,
        language: Any,
        greedy: bool = False,
        speculative: bool = False,
    ) -> Any:
        raise AssertionError("no speech was heard: nothing to transcribe")


class Records(logging.Handler):
    """The service's log records at warning and above, from edge.* and websockets.*."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(("edge", "websockets")) and record.name != "websockets.client":
            self.records.append(record)

    def tracebacks(self) -> list[str]:
        bad = [r for r in self.records if r.exc_info or r.levelno >= logging.ERROR]
        return [f"{r.name}: {r.getMessage()[:300]}" for r in bad]


@dataclass
class Fuzzed:
    """The service under fuzzing, its log, and the healthy call and subscriber beside it."""

    thread: ServiceThread
    records: Records
    call: ClientConnection
    watcher: ClientConnection

    def still_healthy(self) -> None:
        """The healthy subscriber's ping is answered; the healthy call still takes audio."""
        self.watcher.send('{"type": "ping"}')
        while json.loads(self.watcher.recv(timeout=10))["type"] != "pong":
            pass
        self.call.send(bytes(640))  # 20 ms
        assert self.thread.run(lambda: "healthy" in self.thread.service.live)

    def settle(self) -> None:
        """Wait until the server is done with the fuzzed connections: no call outlives its socket.

        Done means their handlers have returned, not that ``Service.live`` is
        empty: a client that leaves right after ``start`` is often gone before
        the server has read it, so an empty ``live`` was read before that call
        was registered, which then showed up for a moment (a false leak).
        """
        service = self.thread.service
        server = service.server
        assert server is not None

        def busy() -> int:  # connection handlers running besides the healthy pair's
            return len(server.handler_tasks) - 2

        began = time.monotonic()
        while time.monotonic() - began < SETTLE and self.thread.run(busy) > 0:
            time.sleep(0.025)
        assert self.thread.run(busy) == 0, "a fuzzed connection is still handled after SETTLE"
        assert self.thread.run(lambda: set(service.live)) == {"healthy"}
        assert not self.records.tracebacks(), self.records.tracebacks()


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[Fuzzed]:
    """A service with tokens and a model-free engine; a healthy call and subscriber throughout."""
    engine = Engine(Silence(), NoTranscriber(), PipelineOptions())  # type: ignore[arg-type]
    records = Records()
    logging.getLogger().addHandler(records)
    config = Config(tokens=TOKENS, server=ServerOptions(hello_timeout=5.0))
    try:
        with ServiceThread(config, engine) as thread:
            hub = thread.service.hub
            meta = CallMeta(
                call_id="c-a17", agent_id="a17", team="cardiology", source="s", started_at=0.0
            )
            thread.run(hub.open_call, meta)
            thread.run(hub.publish, "c-a17", cue(7))
            with (
                connect(thread.ws + "/ingest", open_timeout=10) as call,
                connect(thread.ws + "/subscribe", open_timeout=10) as watcher,
            ):
                start = {"type": "start", "call_id": "healthy", "token": HEALTHY_INGEST}
                call.send(json.dumps({**start, "agent_id": "a17", "team": "cardiology"}))
                assert json.loads(call.recv(timeout=10))["type"] == "started"
                watcher.send(json.dumps({"type": "subscribe", "view": "agent", "token": AGENT}))
                assert json.loads(watcher.recv(timeout=10))["type"] == "subscribed"
                yield Fuzzed(thread, records, call, watcher)
                call.send('{"type": "stop"}')
                replies = [json.loads(m) for m in call]  # until the server closes
                assert replies[-1] == {"type": "stopped", "call_id": "healthy", "dropped_frames": 0}
                assert call.close_code == Close.NORMAL
    finally:
        logging.getLogger().removeHandler(records)
        engine.close()
    assert not records.tracebacks(), records.tracebacks()


def exchange(url: str, script: list[str | bytes], last: str) -> tuple[int | None, list[Any]]:
    """Send ``script`` then ``last``; read until the server closes: its code and messages.

    A text message with a lone surrogate is sent as the invalid UTF-8 it encodes to.
    """
    replies: list[Any] = []
    with connect(url, open_timeout=10, max_size=None) as ws:
        try:
            for item in [*script, last]:
                if isinstance(item, str):
                    ws.send(item.encode("utf-8", "surrogatepass"), text=True)
                else:
                    ws.send(item)
        except ConnectionClosed:
            pass  # refused part-way: the close says why
        try:
            while True:
                reply = ws.recv(timeout=10)
                replies.append(json.loads(reply))
                if last == PING and replies[-1].get("type") == "pong":
                    return None, replies  # subscribed and carrying on
        except ConnectionClosed as closed:
            assert closed.rcvd is not None, "closed without a close frame"
            return closed.rcvd.code, replies


def hang_up(url: str, script: list[str | bytes], *, reset: bool) -> None:
    """Send ``script`` and go at once: a close frame, or a TCP reset (``reset``)."""
    with connect(url, open_timeout=10, max_size=None) as ws:
        try:
            for item in script:
                if isinstance(item, str):
                    ws.send(item.encode("utf-8", "surrogatepass"), text=True)
                else:
                    ws.send(item)
        except ConnectionClosed:
            return
        if reset:
            ws.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            ws.socket.close()


PING = '{"type": "ping"}'
STOP_EITHER = '{"type": "stop", "event": "stop"}'  # ends a native or a Twilio stream


@settings(max_examples=SOCKET_EXAMPLES)
@given(ingest_scripts())
@example([("text", "\ud800")])  # not UTF-8: websockets itself closes with 1007
def test_ingest_over_sockets_closes_with_documented_codes(fuzzed, script) -> None:
    """Fuzzed ingest streams get a documented close, no traceback; the healthy pair goes on."""
    messages = [item for kind, item in script if kind != "tick"]
    url = fuzzed.thread.ws + "/ingest"
    code, replies = exchange(url, messages, STOP_EITHER)
    assert code in documented_codes(), (code, replies[-1:])
    if code not in (Close.NORMAL, None) and replies:
        assert replies[-1]["type"] == "error" and replies[-1]["code"] == code
    event(f"socket ingest closed {code}")
    fuzzed.settle()
    fuzzed.still_healthy()


@pytest.mark.parametrize("reset", [False, True])
def test_a_call_whose_client_leaves_right_after_start_is_ended(fuzzed, reset) -> None:
    """Start, then close or reset at once: no call outlives its socket (it leaked, found here)."""
    for k in range(10):
        start = {"type": "start", "call_id": f"c-gone-{k}", "token": INGEST}
        hang_up(fuzzed.thread.ws + "/ingest", [json.dumps(start)], reset=reset)
    fuzzed.settle()
    calls = fuzzed.thread.service.hub.calls
    open_calls = fuzzed.thread.run(lambda: {c for c, r in calls.items() if r.ended_at is None})
    assert open_calls == {"c-a17", "healthy"}
    assert fuzzed.thread.run(lambda: fuzzed.thread.service.paces["pbx-1"].calls) == 0
    fuzzed.still_healthy()


@settings(max_examples=SOCKET_EXAMPLES)
@given(subscribe_scripts)
@example([json.dumps({"type": "subscribe", "view": "agent", "token": AGENT}), "\ud800"])
def test_subscribe_over_sockets_closes_with_documented_codes(fuzzed, script) -> None:
    """Fuzzed subscribers are answered or closed with documented codes; the healthy pair goes on."""
    code, replies = exchange(fuzzed.thread.ws + "/subscribe", script, PING)
    assert code is None or code in documented_codes(), (code, replies[-1:])
    event(f"socket subscribe closed {code}")
    fuzzed.settle()
    fuzzed.still_healthy()
