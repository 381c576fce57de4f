"""The agent panel after the call (issue 17, part 3): the recorded sample call's event
stream (tests/data/summary/sample_call.jsonl, with its call.summary.final) published
through /publish to a real `edge serve`, the panel in a real Chromium (no models)."""

from __future__ import annotations

import json
import time

from playwright.sync_api import expect
from websockets.sync.client import connect

from edge.config import Config
from edge.server.options import ServerOptions
from tests.helpers import DATA, TIME_FACTOR
from tests.web.conftest import screenshot
from tests.web.script import WAIT, live

RECORDED = [json.loads(line) for line in (DATA / "summary" / "sample_call.jsonl").open()]


def test_the_panel_shows_the_calls_summary_once_it_has_ended(serve, open_page) -> None:
    """Nothing while the call goes on (the summary comes just before call.ended); then one
    line (length, triage, time distressed and how the caller ended, cues) and the agent's
    talk share and pace; a cue the agent then calls right counts as helpful."""
    service = serve(Config(server=ServerOptions(keepalive=1.0 * TIME_FACTOR)))
    page = open_page(service.http + "/agent#agent=a17")
    live(page)
    after = page.get_by_role("region", name="After the call")
    *call, summary, ended = RECORDED
    assert (summary["type"], ended["type"]) == ("call.summary.final", "call.ended")
    with connect(service.ws + "/publish", open_timeout=10) as ws:
        hello = {"type": "publish", "call_id": "sample", "agent_id": "a17", "team": "cardiology"}
        ws.send(json.dumps(hello))
        assert json.loads(ws.recv(timeout=10))["type"] == "publishing"
        started = time.time() - summary["stream_time"]
        for event in [*call, summary]:
            ws.send(json.dumps({**event, "wall_time": started + event["stream_time"]}))
        expect(page.locator("#call-word")).to_have_text("Call in progress", timeout=WAIT)
        expect(page.locator("#history .earlier")).to_have_count(2, timeout=WAIT)  # both cleared
        expect(after).to_be_hidden()  # the summary is in, the call is not over
        ws.send(json.dumps({**ended, "wall_time": time.time()}))
        expect(page.locator("#call-word")).to_have_text("Call ended", timeout=WAIT)
    line = page.locator("#after-call-line")
    expect(after).to_be_visible()
    expect(line).to_have_text(
        "Call ended · 1:02 · distress (sensitive) · distressed 0:31, ended calmer · 2 cues"
    )
    expect(page.locator("#after-call-talk")).to_have_text(
        "You spoke 53% of the time · 194 words a minute"
    )
    expect(after.get_by_role("heading", name="After the call")).to_be_visible()
    fast = page.locator("#history .earlier[data-cue='agent_speaking_fast']")
    fast.get_by_role("button", name="Right").click()
    expect(fast.locator(".feedback-status")).to_have_text(
        "Thanks — recorded as right", timeout=WAIT
    )
    expect(line).to_have_text(
        "Call ended · 1:02 · distress (sensitive) · distressed 0:31, ended calmer · "
        "2 cues (1 helpful)"
    )
    screenshot(page, "agent-after-call.png")
    assert not page.problems, page.problems.messages
