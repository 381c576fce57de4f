"""Edge mode (issue 16, part 1): a workstation publishes its call's events to `/publish`.

The protocol's two state machines without sockets, then a real `edge serve`
(no models needed: it analyses nothing here) and the real publisher client on
loopback: delivery, privacy on both sides, refusals, an outage and a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import websockets
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.sync.client import connect

from edge.client import Publisher, watch
from edge.config import Config
from edge.events import (
    CallEnded,
    CallStarted,
    CueKind,
    CueLevel,
    CueRaised,
    Event,
    FinalReason,
    TranscriptFinal,
    TranscriptPartial,
    VoiceEmotion,
    to_dict,
    to_json,
)
from edge.server.auth import OPEN
from edge.server.hub import Hub, Subscription, View
from edge.server.options import PrivacyOptions, ServerOptions, Share, TokenRole, TokenSpec
from edge.server.outbox import Outbox
from edge.server.protocol import Close, Refused
from edge.server.publish import ACK_EVERY, Backlog, PublishInfo, PublishSession, hello_message
from edge.server.summary import CallMeta
from edge.types import CallId, Role
from tests.helpers import TIME_FACTOR
from tests.server.harness import ServiceThread, Tap, subscriber
from tests.server.test_fuzz import (
    SOCKET_EXAMPLES,
    Records,
    check_refusal,
    documented_codes,
    dumps,
    exchange,
    junk,
)

PHONE = "555-123-4567"


def scripted_call(call_id: str, turns: int) -> list[Event]:
    """A call's events as a workstation makes them: readings, partials, finals, cues."""
    cid = CallId(call_id)
    events: list[Event] = [CallStarted(stream_time=0.0, channels=(Role.CALLER, Role.AGENT))]
    for n in range(1, turns + 1):
        t = float(n)
        text = f"turn {n} call me back on {PHONE}"
        events += [
            TranscriptPartial(
                stream_time=t, role=Role.CALLER, utterance=n, text=text[:9], stable="", start=t - 1,
                end=t,
            ),
            VoiceEmotion(
                stream_time=t, role=Role.CALLER, start=t - 1, end=t,
                probs=(("neutral", 0.5), ("angry", 0.5)), distress=0.5, arousal=0.5,
            ),
            TranscriptFinal(
                stream_time=t, role=Role.CALLER, utterance=n, text=text, start=t - 1, end=t,
                confidence=0.9, reason=FinalReason.PAUSE,
            ),
        ]  # fmt: skip
        if n % 4 == 0:
            events.append(
                CueRaised(
                    stream_time=t, role=Role.CALLER, cue=CueKind.CALLER_DISTRESSED, cue_id=n,
                    level=CueLevel.ELEVATED, score=0.7, evidence=("raised voice",),
                    message="Caller sounds distressed.", quote=(PHONE,),
                )
            )  # fmt: skip
    last = float(turns + 1)
    events.append(CallEnded(stream_time=last, duration=last))
    return [
        dataclasses.replace(e, call_id=cid, seq=i, wall_time=time.time())
        for i, e in enumerate(events, 1)
    ]


def kept(messages: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """What must arrive whatever happens: cues, finals and call events, as (type, seq)."""
    types = ("call.started", "transcript.final", "cue.raised", "call.ended")
    return [(m["type"], m["seq"]) for m in messages if m.get("type") in types]


def session(**options: Any) -> PublishSession:
    s = PublishSession(rate=options.pop("rate", 100.0), burst=options.pop("burst", 1000), **options)
    info = s.hello(hello_message(PublishInfo(CallId("c1"), "a1", "t1", None)))
    assert info.call_id == "c1" and info.agent_id == "a1"
    s.publishing(0)
    return s


# -- the service's side, sans I/O ---------------------------------------------


def test_a_session_takes_events_in_order_and_acks_every_few_and_the_end() -> None:
    """Events parse back to what was sent; an ack follows every ACK_EVERY and call.ended."""
    s = session()
    events = scripted_call("c1", 8)
    acks = []
    for event in events:
        accepted = s.event(to_json(event))
        assert to_json(accepted.event) == to_json(event)
        if accepted.ack is not None:
            acks.append(json.loads(accepted.ack)["seq"])
    assert acks == [ACK_EVERY * k for k in range(1, len(events) // ACK_EVERY + 1)] + [len(events)]
    assert s.ended


def _refusal(s: PublishSession, message: str | bytes) -> Refused:
    with pytest.raises(Refused) as caught:
        s.event(message)
    assert "\n" not in str(caught.value)
    return caught.value


@pytest.mark.parametrize(
    ("change", "code", "says"),
    [
        (lambda d: {**d, "seq": 1}, Close.BAD_MESSAGE, "is not after"),
        (lambda d: {**d, "call_id": "other"}, Close.BAD_MESSAGE, "one call per connection"),
        (lambda d: {**d, "type": "transcript.magic"}, Close.BAD_MESSAGE, "unknown event type"),
        (lambda d: {**d, "v": 9}, Close.BAD_MESSAGE, "schema version"),
        (lambda d: {**d, "stream_time": "soon"}, Close.BAD_MESSAGE, "stream_time"),
        (lambda d: {**d, "confidence": float("nan")}, Close.BAD_MESSAGE, "confidence"),
        (lambda d: {**d, "utterance": True}, Close.BAD_MESSAGE, "utterance"),
        (lambda d: {**d, "words": [{"text": 1, "start": 0, "end": 1, "confidence": 1}]},
         Close.BAD_MESSAGE, "words[0].text"),
        (lambda d: {**d, "surprise": 1}, Close.BAD_MESSAGE, "no field 'surprise'"),
        (lambda d: {**d, "text": "x" * 70_000}, Close.TOO_BIG, "over the"),
    ],
)  # fmt: skip
def test_a_bad_event_is_refused_in_one_line_with_its_close_code(change, code, says) -> None:
    """Every malformed event is a Refused with the documented close code, never a crash."""
    s = session()
    s.event(to_json(scripted_call("c1", 1)[0]))
    final = to_dict(scripted_call("c1", 1)[3])
    refused = _refusal(s, json.dumps(change(final)))
    assert refused.code == code and says in str(refused)


def test_audio_and_events_after_the_end_are_refused() -> None:
    """A binary message (audio) never passes; nor does anything after call.ended."""
    s = session()
    assert "never audio" in str(_refusal(s, b"\x00\x01" * 160))
    for event in scripted_call("c1", 1):
        s.event(to_json(event))
    assert "new call id" in str(_refusal(s, to_json(scripted_call("c1", 2)[-1])))


def test_the_hello_is_checked() -> None:
    """No publish message, a bad call id or protocol: refused before anything is opened."""
    for hello, says in [
        ({"type": "start", "call_id": "c1"}, "expected a publish message"),
        ({"type": "publish", "call_id": "a b"}, "call_id"),
        ({"type": "publish", "call_id": "c1", "protocol": 2}, "protocol"),
    ]:
        with pytest.raises(Refused, match=says):
            PublishSession(rate=1, burst=16).hello(json.dumps(hello))


def test_a_session_refuses_a_flood_beyond_its_burst_and_rate() -> None:
    """Rate: `burst` events at once, then `rate` per second; more is 1013 (retry later)."""
    now = [0.0]
    s = session(rate=10.0, burst=16, clock=lambda: now[0])
    events = iter(scripted_call("c1", 40))
    for _ in range(16):
        s.event(to_json(next(events)))
    assert _refusal(s, to_json(next(events))).code == Close.TRY_LATER
    now[0] += 1.0  # ten more allowed
    for _ in range(10):
        s.event(to_json(next(events)))
    assert _refusal(s, to_json(next(events))).code == Close.TRY_LATER


# -- the workstation's side, sans I/O -----------------------------------------


def test_a_full_backlog_drops_the_oldest_readings_first_and_cues_last() -> None:
    """Over its limit the backlog drops readings (oldest first); finals and cues stay."""
    backlog = Backlog(limit=20)
    events = scripted_call("c1", 12)  # 41: 17 to keep, 12 partials, 12 voice readings
    for event in events:
        backlog.add(event)
    sent = []
    while (message := backlog.next()) is not None:
        sent.append(json.loads(message))
    assert len(sent) == 20 and backlog.lost == 0 and backlog.dropped == len(events) - 20
    assert kept(sent) == kept([to_dict(e) for e in events])
    readings = [m["seq"] for m in sent if m["type"] in ("emotion.voice", "transcript.partial")]
    assert (
        readings == [e.seq for e in events if isinstance(e, VoiceEmotion | TranscriptPartial)][-3:]
    )  # the newest readings are the ones left
    # Nothing but kept events left: the oldest of those go, and are counted.
    small = Backlog(limit=4)
    for event in scripted_call("c1", 4):
        small.add(event)
    assert small.lost > 0 and len(small) == 4


def test_a_backlog_resumes_after_the_services_last_seq_and_forgets_what_was_acked() -> None:
    """resume(n) resends from n+1; acked(n) forgets; call.started is resent to a fresh service."""
    backlog = Backlog(limit=100)
    events = scripted_call("c1", 4)
    for event in events:
        backlog.add(event)
    assert json.loads(backlog.next())["seq"] == 1
    backlog.acked(8)
    backlog.resume(10)
    seqs = []
    while (message := backlog.next()) is not None:
        seqs.append(json.loads(message)["seq"])
    assert seqs == list(range(11, len(events) + 1))
    backlog.resume(0)  # a service that starts afresh still learns the channels first
    assert [json.loads(backlog.next())["seq"] for _ in range(2)] == [1, 11]
    backlog.acked(len(events))
    assert backlog.done and backlog.next() is None


# -- over real sockets --------------------------------------------------------


def config(**server: Any) -> Config:
    return dataclasses.replace(Config(), server=ServerOptions(**server))


async def publish(
    url: str, events: list[Event], *, pace: float = 0.0, privacy: PrivacyOptions | None = None
) -> Publisher:
    """Publish ``events`` (one every ``pace`` s) with the real client until all are acked."""
    call_id = events[0].call_id
    info = PublishInfo(CallId(call_id), "ws-7", "north", None)
    publisher = Publisher(url, info, privacy or PrivacyOptions(), retry=(0.05, 0.4))
    running = asyncio.create_task(publisher.run())
    for event in events:
        publisher.offer(event)
        await asyncio.sleep(pace)
    await publisher.close()
    await asyncio.wait_for(running, 30 * TIME_FACTOR)
    return publisher


def agent_view(service: ServiceThread) -> Any:
    return subscriber(service.ws, view="agent", agent_id="ws-7")


def received(ws: Any, until: str = "call.ended") -> list[dict[str, Any]]:
    got = []
    while True:
        data = json.loads(ws.recv(timeout=20 * TIME_FACTOR))
        got.append(data)
        if data["type"] == until:
            return got


def test_published_events_reach_the_agent_panel_and_wallboard_as_if_analysed_there() -> None:
    """A published call opens in the hub: agent view, wallboard tile and alert, call end."""
    events = scripted_call("pub-1", 6)
    with (
        ServiceThread(Config(), None) as service,
        agent_view(service) as (agent, _),
        subscriber(service.ws, view="wallboard") as (board, _),
    ):
        publisher = asyncio.run(publish(service.ws + "/publish", events))
        got = received(agent)
        tiles = received(board, until="alert")
        assert service.run(lambda: service.service.hub.calls["pub-1"].ended_at) is not None
        known = service.run(lambda: service.service.published["pub-1"])
        assert known.ws is None and known.session.ended
    assert publisher.connections == 1 and publisher.backlog.done
    assert kept(got) == kept([to_dict(e) for e in events])
    assert [m["seq"] for m in got] == sorted(m["seq"] for m in got)
    assert any(m["type"] == "call.summary" and m["call"]["agent_id"] == "ws-7" for m in tiles)
    # The service's own [privacy] applies again: redaction (default on).
    finals = [m["text"] for m in got if m["type"] == "transcript.final"]
    assert finals and all(PHONE not in t and "[phone]" in t for t in finals)


def test_with_share_cues_no_audio_and_no_transcript_text_crosses_the_wire() -> None:
    """On the wire to the service: JSON text events only; with share = cues, no words said."""
    events = scripted_call("pub-2", 8)
    said = {w for e in events if isinstance(e, TranscriptFinal) for w in e.text.split()}
    with (
        ServiceThread(Config(), None) as service,
        agent_view(service) as (agent, _),
        Tap(service.ws) as tap,
    ):
        privacy = PrivacyOptions(share=Share.CUES)
        asyncio.run(publish(tap.ws + "/publish", events, privacy=privacy))
        got = received(agent)
    assert tap.seen and all(isinstance(m, str) for m in tap.seen)
    sent = [json.loads(m) for m in tap.seen]
    assert sent[0]["type"] == "publish"
    types = {m["type"] for m in sent[1:]}
    assert "cue.raised" in types and not types & {"transcript.final", "transcript.partial"}
    wire = "".join(m for m in tap.seen if isinstance(m, str))
    assert PHONE not in wire and not any(f'"{w}"' in wire for w in said)
    assert all(m.get("quote", []) == [] for m in sent)
    assert [m["seq"] for m in got if m["type"] == "cue.raised"] == [
        e.seq for e in events if isinstance(e, CueRaised)
    ]


def test_a_workstation_rides_out_a_service_restart_without_gaps_or_duplicates() -> None:
    """The service stops mid-call and comes back on its port: every cue and final the
    workstation made meanwhile arrives once, in order, across the two services."""
    events = scripted_call("pub-3", 60)  # 256 events, one every 15 ms: about 4 s
    first = ServiceThread(config(), None).__enter__()
    port = first.port
    views: list[list[dict[str, Any]]] = [[], []]

    async def follow(url: str, into: list[dict[str, Any]]) -> None:
        async for message in watch(url + "/subscribe", "agent", agent_id="ws-7"):
            into.append(message)
            if message["type"] == "call.ended":
                return

    async def main() -> Publisher:
        url = first.ws
        follower = asyncio.create_task(follow(url, views[0]))
        await asyncio.sleep(0.2)
        publishing = asyncio.create_task(publish(url + "/publish", events, pace=0.015))
        await asyncio.sleep(1.2)
        await asyncio.to_thread(first.__exit__)  # the service goes away mid-call
        await follower  # ends when the service closes it
        await asyncio.sleep(1.5)
        second = await asyncio.to_thread(ServiceThread(config(), None, port=port).__enter__)
        try:
            await asyncio.wait_for(follow(second.ws, views[1]), 30 * TIME_FACTOR)
            return await publishing
        finally:
            await asyncio.to_thread(second.__exit__)

    publisher = asyncio.run(main())
    assert publisher.connections == 2 and publisher.backlog.lost == 0
    before, after = kept(views[0]), kept(views[1])
    assert before and after and before[-1][1] < after[1][1]  # after: call.started resent first
    assert after[0] == ("call.started", 1)
    assert before + after[1:] == kept([to_dict(e) for e in events])


def test_a_second_publisher_of_a_streaming_call_is_refused_4009() -> None:
    """A call id is one call: a second connection publishing it is refused (4009)."""
    with ServiceThread(Config(), None) as service, connect(service.ws + "/publish") as one:
        hello = hello_message(PublishInfo(CallId("dup-1"), "a", "t", None))
        one.send(hello)
        assert json.loads(one.recv(timeout=10)) == {
            "type": "publishing", "protocol": 1, "call_id": "dup-1", "last_seq": 0,
        }  # fmt: skip
        with connect(service.ws + "/publish") as two:
            two.send(hello)
            error = json.loads(two.recv(timeout=10))
            assert error["code"] == 4009 and "already streaming" in error["message"]
        one.send(b"\x00" * 640)  # audio: refused, the connection closed with 1008
        error = json.loads(one.recv(timeout=10))
        assert error["code"] == 1008 and "never audio" in error["message"]
        with pytest.raises(websockets.ConnectionClosed) as closed:
            one.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


def test_a_publisher_that_does_not_come_back_has_its_call_ended() -> None:
    """Gone mid-call: the call waits publisher_grace seconds, then ends for its subscribers;
    a publisher back within the grace resumes after the last seq the service holds, one
    back later starts the call's record afresh, one back after its own end hears so."""
    events = scripted_call("pub-4", 3)
    with (
        ServiceThread(config(publisher_grace=1.0), None) as service,
        agent_view(service) as (agent, _),
    ):
        hello = hello_message(PublishInfo(CallId("pub-4"), "ws-7", "t", None))
        with connect(service.ws + "/publish") as ws:
            ws.send(hello)
            ws.recv(timeout=10)
            for event in events[:5]:
                ws.send(to_json(event))
        with connect(service.ws + "/publish") as ws:  # back in time: resumes
            ws.send(hello)
            assert json.loads(ws.recv(timeout=10))["last_seq"] == 5
            ws.send(to_json(events[5]))
        got = received(agent)
        with connect(service.ws + "/publish") as ws:  # back too late: a new record
            ws.send(hello)
            assert json.loads(ws.recv(timeout=10))["last_seq"] == 0
            for event in events[6:]:  # to its end, call.ended included
                ws.send(to_json(event))
            assert json.loads(ws.recv(timeout=10)) == {"type": "ack", "seq": len(events)}
        with connect(service.ws + "/publish") as ws:  # the last ack lost: told it is all there
            ws.send(hello)
            assert json.loads(ws.recv(timeout=10))["last_seq"] == len(events)
    assert [m["seq"] for m in got] == [1, 2, 3, 4, 5, 6, 7]
    assert got[-1]["type"] == "call.ended"


# -- fuzzed: taken whole by the hub, or refused with a documented code --------

PUBLISH_CODES = {Close.BAD_MESSAGE, Close.TOO_BIG, Close.TRY_LATER}
TEMPLATES = [to_dict(e) for e in scripted_call("c1", 4)[1:]]


@st.composite
def mutated_events(draw: st.DrawFn) -> str:
    """A real event of each kind with one field replaced, removed or added."""
    body = dict(draw(st.sampled_from(TEMPLATES)))
    name = draw(st.sampled_from([*body, "x"]))
    if draw(st.booleans()) and name in body:
        del body[name]
    else:
        body[name] = draw(junk)
    return dumps(body)


@given(st.lists(mutated_events(), min_size=1, max_size=6))
def test_a_fuzzed_event_is_taken_whole_by_the_hub_or_refused_in_one_line(script) -> None:
    """Whatever an event carries, the session refuses it with a documented code, or the
    hub takes it (privacy, resume buffer, tile, fan-out) without an exception."""
    s = session()
    hub = Hub(PrivacyOptions())
    hub.open_call(CallMeta("c1", "a1", "t1", "s", 0.0))
    watcher = Subscription(principal=OPEN, view=View.AGENT, outbox=Outbox(64), agent_id="a1")
    board = Subscription(principal=OPEN, view=View.WALLBOARD, outbox=Outbox(64))
    hub.attach(watcher, {})
    hub.attach(board, {})
    for message in script:
        try:
            accepted = s.event(message)
        except Refused as refused:
            check_refusal(refused, PUBLISH_CODES)
            return
        hub.publish("c1", accepted.event)
    assert len(watcher.outbox) >= 1


def test_publishing_needs_an_ingest_token_and_counts_against_its_source() -> None:
    """Secured service: no token 4001, an agent's token 4003, an ingest token publishes
    (also as a Bearer header), and its source's call limit holds (4029)."""
    ingest, agent = "ingest-token-0123456789", "agent-token-0123456789"
    tokens = (
        TokenSpec(token=ingest, role=TokenRole.INGEST, source="site-1"),
        TokenSpec(token=agent, role=TokenRole.AGENT, agent="a1"),
    )
    secured = Config(tokens=tokens, server=ServerOptions(max_calls_per_source=1))

    with ServiceThread(secured, None) as service, contextlib.ExitStack() as stack:

        def hello(call_id: str, token: str | None, bearer: bool = False) -> dict[str, Any]:
            headers = {"Authorization": f"Bearer {token}"} if bearer else None
            ws = stack.enter_context(connect(service.ws + "/publish", additional_headers=headers))
            sent = PublishInfo(CallId(call_id), "a1", "t", None if bearer else token)
            ws.send(hello_message(sent))
            return dict(json.loads(ws.recv(timeout=10)))

        for token, code in ((None, 4001), (agent, 4003)):
            reply = hello("c-1", token)
            assert reply["type"] == "error" and reply["code"] == code, reply
        assert hello("c-1", ingest, bearer=True)["type"] == "publishing"
        reply = hello("c-2", ingest)
        assert reply["code"] == 4029 and "max_calls_per_source" in reply["message"]


@pytest.fixture(scope="module")
def publish_service() -> Iterator[tuple[ServiceThread, Records]]:
    """A service for fuzzed publishers, and its log (warnings and errors)."""
    records = Records()
    logging.getLogger().addHandler(records)
    try:
        with ServiceThread(config(publisher_grace=0.2, hello_timeout=5.0), None) as thread:
            yield thread, records
    finally:
        logging.getLogger().removeHandler(records)
    assert not service_errors(records)


def service_errors(records: Records) -> list[str]:
    """Errors the service logged (the tests' own clients log theirs too)."""
    return [line for line in records.tracebacks() if not line.startswith("edge.client")]


CALL_NUMBERS = itertools.count()


@settings(max_examples=SOCKET_EXAMPLES)
@given(st.booleans(), junk, st.lists(mutated_events(), max_size=5))
def test_publish_over_sockets_closes_with_documented_codes(
    publish_service, good_hello, bad_hello, script
) -> None:
    """Fuzzed publishers get a documented close and an error message saying why; the
    service logs no traceback, and no call outlives its publisher's grace."""
    thread, records = publish_service
    call_id = f"fz-{next(CALL_NUMBERS)}"
    hello = hello_message(PublishInfo(CallId(call_id), "a1", "t1", None))
    events = [m.replace('"call_id": "c1"', f'"call_id": "{call_id}"') for m in script]
    end = CallEnded(stream_time=9.0, duration=9.0, call_id=CallId(call_id), seq=10**6)
    code, replies = exchange(
        thread.ws + "/publish", [hello if good_hello else dumps(bad_hello), *events], to_json(end)
    )
    assert code in documented_codes(), (code, replies[-1:])
    hypothesis.event(f"socket publish closed {code}")
    if code != Close.NORMAL and code != Close.NOT_UTF8:
        assert replies[-1]["type"] == "error" and replies[-1]["code"] == code, replies
    deadline = time.monotonic() + 10 * TIME_FACTOR
    while thread.run(lambda: thread.service.hub.active_calls()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert thread.run(lambda: thread.service.hub.active_calls()) == 0
    assert not service_errors(records)


def test_a_publisher_pointed_at_another_endpoint_stops_with_one_error(caplog) -> None:
    """--publish at /ingest by mistake: refused (1008), logged once, no retrying for ever."""
    events = scripted_call("pub-5", 1)
    with ServiceThread(Config(), None) as service, caplog.at_level(logging.WARNING):
        publisher = asyncio.run(publish(service.ws + "/ingest", events))
    assert publisher.connections == 0 and not publisher.backlog.done
    errors = [r.getMessage() for r in caplog.records if r.name == "edge.client"]
    assert errors[0].startswith("publishing to ") and "close code 1008" in errors[0], errors
    assert not any("retrying" in e for e in errors)
