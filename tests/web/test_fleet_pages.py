"""The wallboard of a fleet node in a real browser: another node's call, then that node killed;
a workstation's call seen on two other nodes.

A real `redis-server`, node A as an `edge serve` process (so it can be killed -9),
node B in this process with the page open on it (issue 16: a lost call is
visibly marked on the wallboard within 10 s). And issue 16's edge mode end to
end: `edge run` on a PulseAudio pipe source publishes to node A, an agent
subscribes on node B, a wallboard on node C.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from edge.config import Config
from edge.fleet.options import FleetOptions
from tests.cli.test_run import LEAD, EdgeRun, finals_of, jfk, kept, wer_of
from tests.fleet.helpers import RedisServer, publish_hello, send, serve_process
from tests.helpers import TIME_FACTOR
from tests.server.harness import Tap, messages, subscriber
from tests.server.test_publish import scripted_call
from tests.web.conftest import screenshot

pytest_plugins = ["tests.pulse"]  # the pulse and pipe_source fixtures

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="needs redis-server (make setup installs it)"
)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        if server.process is not None:
            server.stop()


@pytest.mark.slow
def test_a_killed_node_s_call_is_marked_lost_on_another_node_s_wallboard(
    redis_server, serve, open_page, tmp_path
) -> None:
    """Node A's call shows on node B's wallboard; kill -9 A: its tile says "Call lost"
    (dashed, level lost) within 10 s, and the page has no error."""
    config = tmp_path / "a.toml"
    config.write_text(
        f'[fleet]\nredis_url = "{redis_server.url}"\nnode_id = "a"\nanalyse = false\n'
    )
    a, a_ws = serve_process(config)
    try:
        b = serve(Config(fleet=FleetOptions(redis_url=redis_server.url, node_id="b")))
        page = open_page(b.http + "/wallboard")
        events = scripted_call("page-lost-1", turns=4)
        with publish_hello(a_ws, "page-lost-1", agent="a17") as pub:
            send(pub, events[:-1])  # not its end: the call is live when A dies
            tile = page.locator('#teams .tile[data-call-id="page-lost-1"]')
            expect(tile).to_have_attribute("data-level", "elevated", timeout=10_000)
            a.process.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            expect(tile).to_have_attribute("data-level", "lost", timeout=10_000)
            took = time.monotonic() - killed
        expect(tile.locator(".tile-state")).to_have_text(re.compile(r"^Call lost · \d+:\d\d$"))
        assert tile.evaluate("t => getComputedStyle(t).borderTopStyle") == "dashed"
        screenshot(page, "wallboard-lost.png")
        assert took < 10.0
        assert not page.problems, page.problems.messages
    finally:
        if a.process.poll() is None:
            a.process.kill()
        a.wait(10)


@pytest.mark.slow
def test_a_workstation_s_call_reaches_an_agent_on_b_and_a_wallboard_on_c(
    redis_server, serve, open_page, pipe_source
) -> None:
    """`edge run --publish` (a PulseAudio pipe source, real models) publishes to node A: B's
    agent gets every event, in order, once; C's wallboard shows the tile and, in its live
    detail, every final and cue of the call in order; on the wire A got JSON events only."""
    nodes = [
        serve(Config(fleet=FleetOptions(redis_url=redis_server.url, node_id=name, analyse=False)))
        for name in ("a", "b", "c")
    ]
    a, b, c = nodes
    page = open_page(c.http + "/wallboard")
    pipe = pipe_source(rate=16000, channels=1)
    seconds = LEAD + 11 + 2.5
    with (
        Tap(a.ws) as tap,
        subscriber(b.ws, view="agent", agent_id="ws-9") as (agent, _),
    ):
        run = EdgeRun(
            "--caller-device", "pulse", "--seconds", str(seconds), "--jsonl",
            "--publish", tap.ws + "/publish", "--agent-id", "ws-9", "--team", "t1",
            "--call-id", "fleet-ws-1", env=pipe.env,
        )  # fmt: skip
        run.wait_for("call.started")
        tile = page.locator('#teams .tile[data-call-id="fleet-ws-1"]')
        expect(tile).to_be_visible(timeout=10_000)
        tile.click()  # the live detail of the call, from its first event
        time.sleep(LEAD)
        pipe.play(jfk(16000))
        code, local = run.finish(timeout=seconds + 30 * TIME_FACTOR)
        served = [m for m in messages(agent, until="call.ended", timeout=30) if "seq" in m]
    assert code == 0, run.err
    assert wer_of(finals_of(local)) < 0.2
    # The workstation sent events, never audio.
    assert tap.seen and all(isinstance(m, str) for m in tap.seen)
    sent = [json.loads(m) for m in tap.seen]
    assert sent[0]["type"] == "publish" and sent[-1]["type"] == "call.ended"
    # Node B's agent: in order, once, every call event, final and cue (readings may coalesce).
    seqs = [m["seq"] for m in served]
    assert seqs == sorted(set(seqs)) and {m["call_id"] for m in served} == {"fleet-ws-1"}
    kinds = {e["seq"]: e["type"] for e in local}
    assert all(kinds[m["seq"]] == m["type"] for m in served)
    assert kept(served) == kept(local) and kept(local)[-1][0] == "call.ended"
    # Node C's wallboard: the call's detail, line by line, as B's agent got it.
    lines = page.locator("#detail-log .line")
    expect(lines.last).to_contain_text("Call ended", timeout=10_000)
    captions = [
        f"{m['role'].capitalize()}: {m['text']}"
        for m in served
        if m["type"] == "transcript.final" and m["text"]
    ]
    shown = page.locator("#detail-log .line-caption .line-text").all_text_contents()
    assert captions and shown == captions
    cues = sum(m["type"] == "cue.raised" for m in served)
    assert page.locator("#detail-log .line-cue").count() == cues
    assert lines.first.locator(".line-text").text_content() == "Call started"
    # B and C held the call only through the bus: A owned it.
    assert [n.run(lambda n=n: n.service.hub.bus().mirrored_calls) for n in (b, c)] == [1, 1]
    screenshot(page, "wallboard-workstation-detail.png")
    assert not page.problems, page.problems.messages
