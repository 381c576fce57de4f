"""The fleet (issue 16, parts 2 and 3): several `edge serve` nodes sharing their calls on Redis.

A real `redis-server` on a free port in a temporary folder, real services on
loopback (in threads, or as processes where one must die), real websocket
clients. The bus is the point here, so most calls are published as typed
events (no models); one real-model ingest is marked slow.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from faster_whisper.audio import decode_audio
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from edge.config import Config
from edge.events import Event
from edge.fleet import hub as fleet_hub
from edge.fleet.buffer import Ack, Acks, Outgoing, Pending, Seen
from edge.fleet.options import FleetOptions
from edge.ops.checks import Status, check_fleet
from edge.server.hub import coalesce_key
from edge.server.options import PrivacyOptions, Share, TokenRole, TokenSpec
from tests.fleet.helpers import RedisServer, publish_hello, send, serve_process
from tests.helpers import DATA, TIME_FACTOR, wer_text
from tests.server.harness import ServiceThread, messages, receive, subscriber, upload
from tests.server.test_publish import PHONE, scripted_call

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="needs redis-server (make setup installs it)"
)

HEARTBEAT = 0.5
LOST_AFTER = 2.0


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        if server.process is not None:
            server.stop()


def fleet(url: str, node: str, **more: Any) -> FleetOptions:
    return FleetOptions(
        redis_url=url, node_id=node, heartbeat=HEARTBEAT, lost_after=LOST_AFTER, **more
    )


def node(url: str, name: str, engine: Any = None, **more: Any) -> ServiceThread:
    """A service of the fleet on a free port, in a thread of this process."""
    analyse = engine is not None
    return ServiceThread(Config(fleet=fleet(url, name, analyse=analyse, **more)), engine)


def check_delivery(got: list[dict[str, Any]], events: list[Event]) -> None:
    """In order, nothing twice, nothing lost: a seq missing is only a reading that a later one
    of its kind superseded in the subscriber's outbox (docs/server.md, Slow subscribers)."""
    seqs = [m["seq"] for m in got]
    assert seqs == sorted(set(seqs)), f"out of order or twice: {seqs}"
    by_seq = {e.seq: e for e in events}
    assert all(by_seq[m["seq"]].type == m["type"] for m in got)
    delivered = set(seqs)
    for e in events:
        if e.seq in delivered:
            continue
        key = coalesce_key(e)
        assert key is not None, f"{e.type} seq {e.seq} never arrived: {seqs}"
        assert any(coalesce_key(by_seq[s]) == key for s in seqs if s > e.seq), (
            f"reading seq {e.seq} lost, not superseded: {seqs}"
        )
    assert seqs[-1] == events[-1].seq


def call_events(
    ws: ClientConnection, call_id: str, *, until: str = "call.ended", timeout: float = 20
) -> list[dict]:
    """Messages of one call an agent subscriber receives, through the one of type ``until``."""
    seen = []
    deadline = time.monotonic() + timeout * TIME_FACTOR
    while True:
        data = receive(ws, max(deadline - time.monotonic(), 0.01))
        if data.get("call_id") != call_id:
            continue
        seen.append(data)
        if data["type"] == until:
            return seen


def tile(ws: ClientConnection, call_id: str, want: Any, timeout: float) -> dict:
    """The first tile of ``call_id`` for which ``want(tile)`` holds, read from a wallboard."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            data = json.loads(ws.recv(timeout=left))
        except TimeoutError:
            break
        is_tile = data.get("type") == "call.summary" and data["call"]["call_id"] == call_id
        if is_tile and want(data["call"]):
            return data["call"]
    raise AssertionError(f"no such tile of {call_id} within {timeout} s")


def held(service: ServiceThread, call_id: str, seq: int) -> None:
    """Until ``service`` holds the call's events through ``seq``."""

    def last() -> int:
        record = service.service.hub.calls.get(call_id)
        return record.summary.last_seq if record is not None else 0

    deadline = time.monotonic() + 10 * TIME_FACTOR
    while service.run(last) < seq:
        assert time.monotonic() < deadline, f"{call_id}: seq {service.run(last)} of {seq}"
        time.sleep(0.02)


def wait_connected(*services: ServiceThread) -> None:
    """Until every node's bus is up (its first round trips done)."""
    deadline = time.monotonic() + 10 * TIME_FACTOR
    for service in services:
        while service.run(service.service.hub.problem) is not None:
            assert time.monotonic() < deadline, service.run(service.service.hub.problem)
            time.sleep(0.05)


# -- the pure parts --------------------------------------------------------------


def pending(seq: int, reading: bool) -> Pending:
    return Pending("c", "i", seq, f"m{seq}", "{}", reading, False)


def test_a_full_buffer_drops_readings_first_and_counts_what_it_drops() -> None:
    """Outgoing: the oldest reading goes first; with none left, the oldest event, counted apart."""
    out = Outgoing(3)
    for seq, reading in ((1, False), (2, True), (3, False), (4, True), (5, False)):
        out.add(pending(seq, reading))
    assert [e.seq for e in out.batch(10)] == [1, 3, 5]
    assert (out.dropped_readings, out.lost_events) == (2, 0)
    out.add(pending(6, False))
    assert [e.seq for e in out.batch(10)] == [3, 5, 6]
    assert out.lost_events == 1


def test_a_written_batch_is_forgotten_and_a_failed_one_is_taken_again() -> None:
    """Outgoing: batch() keeps entries queued until written(); drops meanwhile do not confuse it."""
    out = Outgoing(4)
    for seq in (1, 2, 3):
        out.add(pending(seq, seq == 2))
    first = out.batch(2)
    assert [e.seq for e in out.batch(2)] == [1, 2]  # not written: the same again
    out.add(pending(4, False))
    out.add(pending(5, False))  # full: reading 2 (in flight) is dropped
    out.written(first)
    assert [e.seq for e in out.batch(10)] == [3, 4, 5]


def test_acks_held_keep_one_per_alert_and_drop_the_oldest_when_full() -> None:
    """Acks: a newer acknowledgement of an alert replaces the older; full, the oldest goes,
    counted; written() keeps one that replaced an entry of the batch meanwhile."""
    acks = Acks(2)
    first = Ack("c", "i", 1, 5, "ann", 1.0)
    acks.add(first)
    acks.add(Ack("c", "i", 2, 7, "ann", 2.0))
    batch = acks.batch()
    newer = Ack("c", "i", 1, 9, "bob", 3.0)  # cue 1 rose, acknowledged again
    acks.add(newer)
    acks.written(batch)
    assert acks.batch() == [newer] and acks.dropped == 0
    acks.add(Ack("c", "i", 3, 8, "ann", 4.0))
    acks.add(Ack("c", "i", 4, 9, "ann", 5.0))
    assert [a.cue_id for a in acks.batch()] == [3, 4] and acks.dropped == 1
    again = Ack.parse("c", "i", newer.field, newer.value)
    assert again == newer
    with pytest.raises(ValueError, match="acknowledgement"):
        Ack.parse("c", "i", "1:x", newer.value)


def test_seen_delivers_each_seq_of_an_instance_once() -> None:
    """Seen: a seq at or below the last delivered is stale; a new instance of an id starts over."""
    seen = Seen()
    assert seen.first("c", "i1") and seen.fresh("c", "i1", 1)
    m = seen.follow("c", "i1", "node-a")
    m.last = 5
    assert not seen.fresh("c", "i1", 5) and seen.fresh("c", "i1", 6)
    assert seen.first("c", "i2") and seen.fresh("c", "i2", 1)
    assert seen.live_nodes() == {"node-a": ["c"]}


# -- nodes sharing their calls -------------------------------------------------------


def test_a_published_call_reaches_an_agent_on_b_and_a_wallboard_on_c(redis_server) -> None:
    """Published to A: B's agent gets every event once and in order (redacted by A); C's
    wallboard gets the tile, the alert and the end."""
    url = redis_server.url
    with node(url, "a") as a, node(url, "b") as b, node(url, "c") as c:
        wait_connected(a, b, c)
        with (
            subscriber(b.ws, view="agent", agent_id="a1") as (agent, _),
            subscriber(c.ws, view="wallboard") as (board, _),
        ):
            events = scripted_call("fleet-1", turns=8)
            with publish_hello(a.ws, "fleet-1") as pub:
                send(pub, events)
                got = call_events(agent, "fleet-1")
            check_delivery(got, events)
            finals = [m["text"] for m in got if m["type"] == "transcript.final"]
            assert finals and all(PHONE not in t for t in finals)  # A redacted, once
            ended = tile(board, "fleet-1", lambda t: t["ended"], 10 * TIME_FACTOR)
            assert ended["seq"] == events[-1].seq and not ended["lost"]
        # Resume on B from the middle: what was missed, nothing twice.
        with subscriber(b.ws, view="agent", agent_id="a1", resume={"fleet-1": 10}) as (again, _):
            rest = call_events(again, "fleet-1")
            check_delivery(rest, [e for e in events if e.seq > 10])
        assert b.run(lambda: b.service.hub.bus().mirrored_calls) == 1


def test_a_node_that_joins_late_catches_up_a_live_call(redis_server) -> None:
    """C starts after half a call: it mirrors the call from its stream, then the rest, in order."""
    url = redis_server.url
    events = scripted_call("late-1", turns=6)
    half = len(events) // 2
    with node(url, "a") as a, publish_hello(a.ws, "late-1") as pub:
        wait_connected(a)
        send(pub, events[:half])
        time.sleep(HEARTBEAT * 3)  # A's beat names the call in its hash
        with node(url, "c") as c:
            wait_connected(c)
            with subscriber(c.ws, view="agent", agent_id="a1") as (agent, _):
                send(pub, events[half:])
                got = call_events(agent, "late-1")
    check_delivery(got, events)


# The ACL rule docs/fleet.md gives for the fleet's user.
ACL = (
    "~edge:* +@stream +@hash +@set +@string +@keyspace +@scripting +@transaction "
    "+ping +info +client"
)


def test_nodes_log_in_as_an_acl_user_with_the_documented_rights(redis_server) -> None:
    """[fleet] username and password: nodes whose ACL user has docs/fleet.md's rights share
    a call; a wrong password is one line in /readyz."""
    password = "fleet-secret-0123456789"
    redis_server.client().execute_command("ACL", "SETUSER", "edge", "on", f">{password}",
                                          *ACL.split())  # fmt: skip
    url = redis_server.url
    creds = {"username": "edge", "password": password}
    with node(url, "a", **creds) as a, node(url, "b", **creds) as b:
        wait_connected(a, b)
        with subscriber(b.ws, view="agent", agent_id="a1") as (agent, _):
            events = scripted_call("acl-1", turns=2)
            with publish_hello(a.ws, "acl-1") as pub:
                send(pub, events)
                check_delivery(call_events(agent, "acl-1"), events)
    with node(url, "c", username="edge", password="wrong-password-0000") as c:
        time.sleep(0.5)
        status, text = _get(c.http + "/readyz")
    assert status == 200 and "fleet bus unavailable" in text and "password" in text, text
    assert password not in text


def test_nodes_reach_redis_over_tls_with_the_configured_ca(tmp_path) -> None:
    """rediss:// with [fleet] tls_ca: nodes share a call; without the CA the certificate is
    refused and /readyz says so."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    server = RedisServer(tmp_path, tls=(cert, key))
    server.start()
    try:
        url = server.url
        assert url.startswith("rediss://")
        with node(url, "a", tls_ca=cert) as a, node(url, "b", tls_ca=cert) as b:
            wait_connected(a, b)
            with subscriber(b.ws, view="agent", agent_id="a1") as (agent, _):
                events = scripted_call("tls-1", turns=2)
                with publish_hello(a.ws, "tls-1") as pub:
                    send(pub, events)
                    check_delivery(call_events(agent, "tls-1"), events)
        with node(url, "c") as c:  # the system's CAs do not know this one
            time.sleep(0.5)
            status, text = _get(c.http + "/readyz")
        assert status == 200 and "certificate verify failed" in text, text
    finally:
        server.stop()


def test_a_workstation_whose_node_shuts_down_goes_on_on_another_node(redis_server) -> None:
    """A shuts down mid-call: the workstation publishes to B, which takes the call over at the
    seq A held; C's agent and wallboard see one call, every event once, ended, not lost."""
    url = redis_server.url
    events = scripted_call("moved-1", turns=8)
    half = len(events) // 2
    with node(url, "b") as b, node(url, "c") as c:
        a = node(url, "a").__enter__()
        wait_connected(a, b, c)
        with (
            subscriber(c.ws, view="agent", agent_id="a1") as (agent, _),
            subscriber(c.ws, view="wallboard") as (board, _),
        ):
            # C mirrors the first half before A goes (a reading alone sends no tile).
            got = hand_over(a, b, events, agent, lambda: held(c, "moved-1", half - 2))
            ended = tile(board, "moved-1", lambda t: t["ended"], 10 * TIME_FACTOR)
    check_delivery(got, events)
    assert not ended["lost"] and ended["seq"] == events[-1].seq


def test_a_node_that_starts_is_read_at_once_without_waiting_for_a_look_at_the_node_set(
    redis_server, monkeypatch
) -> None:
    """B never looks at the node set again after it starts: A, started later, is known to B
    from the joins stream alone, and a call A streams reaches B's agent in full."""
    monkeypatch.setattr(fleet_hub, "NODES_EVERY", 3600.0)
    url = redis_server.url
    events = scripted_call("joined-1", turns=4)
    with node(url, "b") as b:
        wait_connected(b)
        with node(url, "a") as a, subscriber(b.ws, view="agent", agent_id="a1") as (agent, _):
            wait_connected(a)
            with publish_hello(a.ws, "joined-1") as pub:
                send(pub, events)
                got = call_events(agent, "joined-1")
    check_delivery(got, events)


def test_a_call_let_go_is_taken_over_by_a_node_that_never_read_its_node(
    redis_server, monkeypatch
) -> None:
    """B does not follow A's floor at all: the workstation that moves to B still goes on at
    A's seq (A's moved key), and B's agent gets the whole call once, in order."""
    monkeypatch.setattr(fleet_hub, "NODES_EVERY", 3600.0)

    def deaf(hub: fleet_hub.FleetHub, entries: fleet_hub.Entries) -> None:
        hub._joins_id = entries[-1][0]  # read past, no node followed

    monkeypatch.setattr(fleet_hub.FleetHub, "_joined", deaf)
    url = redis_server.url
    events = scripted_call("moved-2", turns=6)
    half = len(events) // 2
    with node(url, "b") as b:
        wait_connected(b)
        a = node(url, "a").__enter__()
        wait_connected(a)
        with subscriber(b.ws, view="agent", agent_id="a1") as (agent, _):
            got = hand_over(a, b, events, agent, lambda: held(a, "moved-2", half))
    check_delivery(got, events)


def hand_over(
    a: ServiceThread,
    b: ServiceThread,
    events: list[Event],
    agent: ClientConnection,
    first_half_held: Callable[[], None],
) -> list[dict]:
    """A workstation publishes the first half of a call to A, which shuts down (SIGTERM's
    path: let go, flush, leave) once ``first_half_held``; it goes on on B from the seq A
    acknowledged. What ``agent`` received of the call."""
    call_id, half = events[0].call_id, len(events) // 2
    with publish_hello(a.ws, call_id) as pub:
        send(pub, events[:half])
        first_half_held()
        a.__exit__(None, None, None)
        acked = [json.loads(m) for m in _drain(pub)]
    assert acked and acked[-1] == {"type": "ack", "seq": half}
    with connect(b.ws + "/publish", open_timeout=10) as pub:
        hello = {"type": "publish", "call_id": call_id, "agent_id": "a1", "team": "t1"}
        pub.send(json.dumps(hello))
        reply = json.loads(pub.recv(timeout=10))
        assert reply["type"] == "publishing" and reply["last_seq"] == half, reply
        send(pub, events[half:])
        return call_events(agent, call_id)


def _drain(ws: ClientConnection) -> list[str]:
    """What a connection still receives before it closes."""
    out: list[str] = []
    with contextlib.suppress(ConnectionClosed):
        while True:
            message = ws.recv(timeout=10)
            out.append(message if isinstance(message, str) else message.decode())
    return out


def test_a_node_sharing_cues_only_withholds_other_nodes_transcripts(redis_server) -> None:
    """B has share = "cues", A shares transcripts: B's agent gets A's call without a word."""
    url = redis_server.url
    cues_only = Config(
        privacy=PrivacyOptions(share=Share.CUES), fleet=fleet(url, "b", analyse=False)
    )
    with node(url, "a") as a, ServiceThread(cues_only, None) as b:
        wait_connected(a, b)
        with subscriber(b.ws, view="agent", agent_id="a1") as (agent, _):
            events = scripted_call("quiet-1", turns=4)
            with publish_hello(a.ws, "quiet-1") as pub:
                send(pub, events)
                got = call_events(agent, "quiet-1")
    kinds = {m["type"] for m in got}
    assert "cue.raised" in kinds and "call.ended" in kinds
    assert not kinds & {"transcript.partial", "transcript.final"}
    assert all(not m.get("quote") for m in got)


def test_one_call_id_on_two_nodes_is_refused_with_4009(redis_server) -> None:
    """A call id streaming on A (no event yet: only its claim in Redis) is refused on B."""
    url = redis_server.url
    with node(url, "a") as a, node(url, "b") as b:
        wait_connected(a, b)
        with publish_hello(a.ws, "dup-1"):
            with connect(b.ws + "/publish", open_timeout=10) as ws:
                ws.send(json.dumps({"type": "publish", "call_id": "dup-1", "agent_id": "x",
                                    "team": "t"}))  # fmt: skip
                error = json.loads(ws.recv(timeout=10))
                with pytest.raises(ConnectionClosed) as closed:
                    ws.recv(timeout=10)
            assert error["type"] == "error" and "already streaming" in error["message"]
            assert "node a" in error["message"]
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4009


def test_redis_restarting_mid_call_leaves_no_gap_and_no_duplicate(redis_server) -> None:
    """Redis stopped and started again (empty) mid-call: A buffers, then B's agent gets every
    seq once, in order; /readyz said what was wrong meanwhile."""
    url = redis_server.url
    events = scripted_call("restart-1", turns=12)
    third = len(events) // 3
    with node(url, "a") as a, node(url, "b") as b:
        wait_connected(a, b)
        with (
            subscriber(b.ws, view="agent", agent_id="a1") as (agent, _),
            publish_hello(a.ws, "restart-1") as pub,
        ):
            send(pub, events[:third])
            kept = max(e.seq for e in events[:third] if coalesce_key(e) is None)
            got = []
            while not got or got[-1]["seq"] < kept:  # readings before it may be coalesced
                got.append(receive(agent, 10 * TIME_FACTOR))
            redis_server.stop()
            send(pub, events[third : 2 * third])  # held by A
            deadline = time.monotonic() + 10 * TIME_FACTOR
            while a.run(a.service.hub.problem) is None:
                assert time.monotonic() < deadline, "A never noticed Redis was gone"
                time.sleep(0.05)
            ready = _get(a.http + "/readyz")
            assert ready[0] == 200 and "fleet bus unavailable" in ready[1], ready
            assert ready[1].count("\n") == 1  # one plain line
            metrics = _get(a.http + "/metrics")[1]
            assert "edge_fleet_connected 0.0" in metrics
            held = re.search(r"^edge_fleet_buffered_events (\S+)", metrics, re.M)
            assert held is not None and float(held.group(1)) >= third
            redis_server.start()
            send(pub, events[2 * third :])
            got += call_events(agent, "restart-1")
    check_delivery([m for m in got if m.get("call_id") == "restart-1"], events)


@pytest.mark.slow
def test_a_call_goes_on_through_20_s_without_redis(redis_server) -> None:
    """A call publishing ~10 events/s to A while Redis is down 20 s: A holds them all, and once
    Redis is back B's agent has every one (no reading dropped: the buffer is large enough)."""
    url = redis_server.url
    events = scripted_call("outage-1", turns=100)  # 300+ events
    with node(url, "a") as a, node(url, "b") as b:
        wait_connected(a, b)
        with (
            subscriber(b.ws, view="agent", agent_id="a1") as (agent, _),
            publish_hello(a.ws, "outage-1") as pub,
        ):
            send(pub, events[:20])
            redis_server.stop()
            for event in events[20:220]:  # 20 s at 10 events/s, Redis away
                send(pub, [event])
                time.sleep(0.1)
            held = a.run(lambda: a.service.hub.bus().buffered)
            redis_server.start()
            back = time.monotonic()
            while a.run(lambda: a.service.hub.bus().buffered) > 0:
                assert time.monotonic() - back < 30 * TIME_FACTOR, "A never caught up"
                time.sleep(0.05)
            drained = time.monotonic() - back
            send(pub, events[220:])
            got = call_events(agent, "outage-1", timeout=60)
            dropped = a.run(lambda: a.service.hub.bus().dropped_readings)
    check_delivery(got, events)
    assert held >= 200 and dropped == 0
    print(f"fleet: {held} events held through a 20 s outage, written {drained:.1f} s after "
          "Redis was back")  # fmt: skip


def _get(url: str) -> tuple[int, str]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.mark.slow
def test_a_killed_node_s_calls_are_marked_lost_within_10_s(redis_server, tmp_path) -> None:
    """kill -9 of node A (a process) mid-call: B's wallboard marks its tile lost within 10 s,
    then removes it after the linger; B's own work is undisturbed."""
    config = tmp_path / "a.toml"
    config.write_text(
        f'[fleet]\nredis_url = "{redis_server.url}"\nnode_id = "a"\nanalyse = false\n'
        f"heartbeat = 2.0\nlost_after = 6.0\n"
    )
    a, a_ws = serve_process(config)
    try:
        with node(redis_server.url, "b") as b:
            wait_connected(b)
            with subscriber(b.ws, view="wallboard") as (board, _):
                events = scripted_call("doomed-1", turns=6)
                with publish_hello(a_ws, "doomed-1") as pub:
                    send(pub, events[:8])
                    held(b, "doomed-1", 6)
                    a.process.send_signal(signal.SIGKILL)
                    killed = time.monotonic()
                    lost = tile(board, "doomed-1", lambda t: t["lost"], 12 * TIME_FACTOR)
                    took = time.monotonic() - killed
            print(f"fleet: marked lost {took:.1f} s after kill -9 (heartbeat 2 s, lost_after 6 s)")
            assert took < 10.0, f"marked lost after {took:.1f} s"
            assert lost["seq"] == 8 and not lost["ended"]
            assert b.run(lambda: b.service.hub.bus().lost_calls) == 1
            assert b.run(lambda: b.service.hub.active_calls()) == 0
    finally:
        if a.process.poll() is None:
            a.process.kill()
        a.wait(10)


def test_without_redis_url_the_embedded_hub_serves(tmp_path) -> None:
    """No [fleet] redis_url: the embedded hub, no bus to report, /readyz as ever."""
    with ServiceThread(Config(), None) as service:
        assert service.run(service.service.hub.bus) is None
        assert _get(service.http + "/readyz") == (503, "models loading\n")


@pytest.mark.slow
def test_a_call_analysed_on_a_reaches_an_agent_on_b(redis_server, engine) -> None:
    """Real audio ingested on A (real models): B's agent gets the call in full and in order."""
    url = redis_server.url
    audio = decode_audio(str(DATA / "jfk.flac"))
    with node(url, "a", engine) as a, node(url, "b") as b:
        wait_connected(a, b)
        # No client pings: on a loaded 2-core machine the models can hold the CPU for longer.
        with connect(b.ws + "/subscribe", open_timeout=10, ping_interval=None) as agent:
            agent.send(json.dumps({"type": "subscribe", "view": "agent", "agent_id": "a1"}))
            assert json.loads(agent.recv(timeout=10))["type"] == "subscribed"
            uploading = threading.Thread(
                target=upload, args=(a.ws, audio, "jfk-fleet"), kwargs={"agent_id": "a1"}
            )
            uploading.start()
            got = call_events(agent, "jfk-fleet", timeout=300 * TIME_FACTOR)
            uploading.join(60)
    seqs = [m["seq"] for m in got]
    assert seqs == sorted(set(seqs)) and seqs[0] == 1
    assert got[0]["type"] == "call.started" and got[-1]["type"] == "call.ended"
    heard = wer_text(" ".join(m["text"] for m in got if m["type"] == "transcript.final"))
    assert "ask not what your country" in heard  # punctuation aside ("ask not... what")


def test_doctor_says_whether_the_fleet_s_redis_answers(redis_server) -> None:
    """`edge doctor`: ok with Redis's version while it answers; else one FAIL line and a fix."""
    options = FleetOptions(redis_url=redis_server.url, timeout=0.5)
    up = check_fleet(options)
    assert up.status is Status.OK and "answers" in up.detail, up.line
    redis_server.stop()
    down = check_fleet(options)
    assert down.status is Status.FAIL and "does not answer" in down.detail, down.line
    assert down.fix and "\n" not in down.line
    assert check_fleet(FleetOptions()).status is Status.OK  # no fleet: nothing to reach


def test_fleet_settings_are_checked_in_one_line(tmp_path) -> None:
    """`[fleet]`: a password in the URL, lost_after over 9 s or tls_ca without rediss: refused."""
    from edge.config import load_config
    from edge.errors import ConfigError

    def load(text: str) -> Config:
        path = tmp_path / "edge.toml"
        path.write_text(text)
        return load_config(path, environ={})

    ok = load('[fleet]\nredis_url = "rediss://edge@redis.internal:6380/1"\npassword = "s3cret"\n')
    assert ok.fleet.enabled and ok.fleet.username == ""
    for text, says in (
        ('redis_url = "redis://:pw@host:6379"', "no password in it"),
        ("lost_after = 12.0", "must be a number from 0.5 to 9"),
        ("heartbeat = 3.0\nlost_after = 2.0", "must be below lost_after"),
        ('redis_url = "redis://h"\ntls_ca = "ca.pem"', "rediss://"),
    ):
        with pytest.raises(ConfigError, match=says):
            load(f"[fleet]\n{text}\n")
    assert dataclasses.replace(ok.fleet, node_id="").node_name()


# -- acknowledgements of alerts across nodes (issue 17 part 4) ---------------------------

PUBLISHER, ANN, BOB, CY = (
    "publisher-token-0001",
    "ann-token-00000001",
    "bob-token-0000001",
    ("cy-token-000000001"),
)
TOKENS = (
    TokenSpec(token=PUBLISHER, role=TokenRole.INGEST, name="desk", source="desk"),
    TokenSpec(token=ANN, role=TokenRole.SUPERVISOR, name="sup-ann", teams=("t1",)),
    TokenSpec(token=BOB, role=TokenRole.SUPERVISOR, name="sup-bob", teams=("t1",)),
    TokenSpec(token=CY, role=TokenRole.SUPERVISOR, name="sup-cy", teams=("t2",)),
)


def secured(url: str, name: str) -> ServiceThread:
    """A hub node of the fleet with tokens: supervisors ann and bob of team t1, cy of t2."""
    return ServiceThread(Config(tokens=TOKENS, fleet=fleet(url, name, analyse=False)), None)


def alert(ws: ClientConnection, call_id: str, want: Any = bool, timeout: float = 10) -> dict:
    """The first alert of ``call_id`` for which ``want(alert)`` holds, read from a wallboard."""
    deadline = time.monotonic() + timeout * TIME_FACTOR
    while (left := deadline - time.monotonic()) > 0:
        try:
            data = json.loads(ws.recv(timeout=left))  # keepalives too: the deadline holds
        except TimeoutError:
            break
        if data.get("type") == "alert" and data["call_id"] == call_id and want(data):
            return data
    raise AssertionError(f"no such alert of {call_id} within {timeout} s")


def raised(*boards: ClientConnection, call_id: str) -> int:
    """The cue id of the call's one alert, once every wallboard has it."""
    (cue_id,) = {alert(ws, call_id)["cue_id"] for ws in boards}
    return cue_id


def acked(data: dict) -> bool:
    return data["acked_by"] is not None


def ack(ws: ClientConnection, call_id: str, cue_id: int) -> None:
    ws.send(json.dumps({"type": "ack", "call_id": call_id, "cue_id": cue_id}))


def acks_held(service: ServiceThread, call_id: str, cue_id: int) -> tuple[str | None, float]:
    """Who acknowledged the alert, and when, as a node's hub holds it."""
    alerts = service.service.hub.local.alerts
    held = service.run(lambda: dict(alerts[(call_id, cue_id)]))
    return held["acked_by"], held["acked_at"]


def test_an_acknowledgement_on_b_is_seen_on_every_node_and_by_later_wallboards(
    redis_server,
) -> None:
    """Ann acknowledges on B an alert of a call published to A: A's and C's wallboards say who
    and when, as B's; a wallboard opened later on C and one on a node started later, too;
    cy (another team) is refused on B and changes nothing."""
    url = redis_server.url
    events = scripted_call("ack-1", turns=4)  # one cue, at turn 4
    with secured(url, "a") as a, secured(url, "b") as b, secured(url, "c") as c:
        wait_connected(a, b, c)
        with (
            subscriber(a.ws, view="wallboard", token=BOB) as (on_a, _),
            subscriber(b.ws, view="wallboard", token=ANN) as (on_b, _),
            subscriber(c.ws, view="wallboard", token=BOB) as (on_c, _),
            publish_hello(a.ws, "ack-1", token=PUBLISHER) as pub,
        ):
            send(pub, events[:-1])  # live: no call.ended
            cue_id = raised(on_a, on_b, on_c, call_id="ack-1")
            with subscriber(b.ws, view="wallboard", token=CY) as (other, _):
                ack(other, "ack-1", cue_id)
                refused = messages(other, until="error")[-1]
            assert refused["code"] == 4004 and "no alert 'ack-1'" in refused["message"]
            ack(on_b, "ack-1", cue_id)
            seen = [alert(ws, "ack-1", acked) for ws in (on_b, on_a, on_c)]
            who = {(m["acked_by"], m["acked_at"]) for m in seen}
            assert len(who) == 1 and seen[0]["acked_by"] == "sup-ann", seen
            with subscriber(c.ws, view="wallboard", token=BOB) as (later, _):
                assert acked(alert(later, "ack-1"))  # the sync: the alert as it stands
            time.sleep(HEARTBEAT * 3)  # A's beat names the call in its hash
            with secured(url, "d") as d:  # started after: catches the call and its acks up
                wait_connected(d)
                with subscriber(d.ws, view="wallboard", token=ANN) as (on_d, _):
                    synced = alert(on_d, "ack-1")
            assert (synced["acked_by"], synced["acked_at"]) == who.pop()
            assert acks_held(c, "ack-1", cue_id)[0] == "sup-ann"


def test_two_acknowledgements_racing_on_two_nodes_resolve_to_one_everywhere(
    redis_server,
) -> None:
    """Redis down: ann acknowledges on A, bob on B, each shown at once on its own node, nothing
    on C; Redis back (empty): the one Redis took first stands on A, B and C, and in Redis."""
    url = redis_server.url
    events = scripted_call("race-1", turns=4)
    with secured(url, "a") as a, secured(url, "b") as b, secured(url, "c") as c:
        wait_connected(a, b, c)
        with (
            subscriber(a.ws, view="wallboard", token=ANN) as (on_a, _),
            subscriber(b.ws, view="wallboard", token=BOB) as (on_b, _),
            subscriber(c.ws, view="wallboard", token=ANN) as (on_c, _),
            publish_hello(a.ws, "race-1", token=PUBLISHER) as pub,
        ):
            send(pub, events[:-1])
            cue_id = raised(on_a, on_b, on_c, call_id="race-1")
            redis_server.stop()
            ack(on_a, "race-1", cue_id)
            ack(on_b, "race-1", cue_id)
            assert alert(on_a, "race-1", acked)["acked_by"] == "sup-ann"  # at once, locally
            assert alert(on_b, "race-1", acked)["acked_by"] == "sup-bob"
            time.sleep(0.5)  # the writers retry meanwhile, and fail
            assert acks_held(c, "race-1", cue_id) == (None, None)
            redis_server.start()
            deadline = time.monotonic() + 10 * TIME_FACTOR
            while len(held := {acks_held(n, "race-1", cue_id) for n in (a, b, c)}) > 1:
                assert time.monotonic() < deadline, f"the nodes never agreed: {held}"
                time.sleep(0.05)
            (winner,) = held
            assert winner[0] in ("sup-ann", "sup-bob")
            loser_board = on_b if winner[0] == "sup-ann" else on_a
            told = alert(loser_board, "race-1", lambda m: m["acked_by"] == winner[0])
            assert told["acked_at"] == winner[1]
            assert alert(on_c, "race-1", acked)["acked_by"] == winner[0]
            stored = redis_server.client().keys("edge:acks:race-1:*")
            assert len(stored) == 1
            (value,) = redis_server.client().hgetall(stored[0]).values()
            assert json.loads(value) == {"by": winner[0], "at": winner[1]}
