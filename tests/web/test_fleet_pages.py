"""The wallboard of a fleet node in a real browser: another node's call, then that node killed.

A real `redis-server`, node A as an `edge serve` process (so it can be killed -9),
node B in this process with the page open on it (issue 16: a lost call is
visibly marked on the wallboard within 10 s).
"""

from __future__ import annotations

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
from tests.fleet.helpers import RedisServer, publish_hello, send, serve_process
from tests.server.test_publish import scripted_call
from tests.web.conftest import screenshot

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
