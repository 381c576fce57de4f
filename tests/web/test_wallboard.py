"""The wallboard for a floor (issue 17, part 4): 60 calls from recorded event streams.

The calls are real calls' events (``scripts/data/fleet_calls``, as ``edge replay``
emitted them), each under a call id, agent and team of its own, handed to the
hub of a real ``edge serve`` (no models). Pages are real Chromium; axe-core
(installed from the npm registry by ``make setup``, never at test time) checks
both pages for serious and critical violations.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from edge.config import Config
from edge.events import (
    CallEnded,
    CallSummaryFinal,
    CallTriage,
    Event,
    HandoffReason,
    HandoffRecommended,
    TriageLabel,
    VoiceEmotion,
    from_dict,
)
from edge.server.options import TokenRole, TokenSpec
from edge.server.summary import CallMeta
from edge.types import CallId, Role
from tests.server.harness import ServiceThread
from tests.web.conftest import SCREENSHOTS
from tests.web.script import WAIT

ROOT = Path(__file__).resolve().parents[2]
STREAMS = ROOT / "scripts/data/fleet_calls"
AXE = Path(__file__).parent / "axe/node_modules/axe-core/axe.min.js"
TEAMS = ("cardiology", "oncology", "renal")
CALLS = 60
CUT = 6.0  # seconds of most calls: before any recorded cue; every sixth call plays in full
ANN = "supervisor-ann-0123456789"
BOB = "supervisor-bob-0123456789"
AGENT = "agent-a00-0123456789ab"
HANDOFF = "c-07"  # an automated call whose caller asked for a person
ROUTINE = TriageLabel.ROUTINE
ENDS = "c-11"  # a calm call that ends during the tests


def recorded() -> list[list[Event]]:
    """Each recorded call's events, in file-name order."""
    streams = []
    for path in sorted(STREAMS.glob("*.jsonl.gz")):
        with gzip.open(path, "rt") as f:
            streams.append([from_dict(json.loads(line)) for line in f if line.strip()])
    return streams


def live_prefix(events: list[Event], call_id: str, cut: float | None, now: float) -> list[Event]:
    """A call's events up to ``cut`` seconds (all if None), not ended, stamped as if it
    started ``cut`` (or its length) seconds before ``now``."""
    start = events[0].wall_time
    kept = [e for e in events if cut is None or e.wall_time - start <= cut]
    while kept[-1].type in ("cue.cleared", "call.summary.final", "call.ended"):
        kept.pop()  # the end of the call's flush: it is still live here
    end = kept[-1].wall_time - start if cut is None else cut
    return [
        dataclasses.replace(e, call_id=CallId(call_id), wall_time=now - end + (e.wall_time - start))
        for e in kept
    ]


@dataclasses.dataclass
class Floor:
    thread: ServiceThread
    seqs: dict[str, int]  # call id → last seq published
    needy: list[str]  # call ids with a high or elevated cue

    def publish(self, call_id: str, *events: Event) -> None:
        hub = self.thread.service.hub

        def go() -> None:
            for event in events:
                hub.publish(call_id, event)

        self.thread.run(go)
        self.seqs[call_id] = max(self.seqs[call_id], *(e.seq for e in events))

    def event(self, call_id: str, kind: type[Event], **fields: Any) -> Any:
        """The call's next event of ``kind``, stamped now."""
        self.seqs[call_id] += 1
        seq = self.seqs[call_id]
        return kind(stream_time=float(seq), call_id=CallId(call_id), seq=seq, **fields)

    def reading(self, call_id: str, distress: float) -> VoiceEmotion:
        t = float(self.seqs[call_id] + 1)
        probs = (("neutral", 1 - distress), ("angry", distress))
        return self.event(
            call_id,
            VoiceEmotion,
            wall_time=time.time(),
            role=Role.CALLER,
            start=t - 3,
            end=t,
            probs=probs,
            distress=distress,
            arousal=0.5,
        )


@pytest.fixture(scope="module")
def floor() -> Iterator[Floor]:
    """60 live calls of three teams; two supervisors see them all, agent a00 its own."""
    tokens = [
        TokenSpec(token=ANN, role=TokenRole.SUPERVISOR, name="sup-ann", teams=TEAMS),
        TokenSpec(token=BOB, role=TokenRole.SUPERVISOR, name="sup-bob", teams=TEAMS),
        TokenSpec(token=AGENT, role=TokenRole.AGENT, name="agent-a00", agent="a00"),
    ]
    with ServiceThread(Config(tokens=tuple(tokens)), None) as thread:
        streams = recorded()
        now = time.time()
        seqs: dict[str, int] = {}
        needy = []
        floor = Floor(thread, seqs, needy)
        for i in range(CALLS):
            call_id = f"c-{i:02}"
            cut = None if i % 6 == 0 else CUT
            events = live_prefix(streams[i % len(streams)], call_id, cut, now)
            team = TEAMS[(i + i // 6) % 3]  # the full calls (every sixth) of every team
            automated = call_id == HANDOFF
            meta = CallMeta(call_id, f"a{i:02}", team, "test", events[0].wall_time, automated)
            thread.run(thread.service.hub.open_call, meta)
            seqs[call_id] = 0
            floor.publish(call_id, *events)
            if i % 5 == 1:  # the recordings are too short for the triage head: say it here
                label, topic = (TriageLabel.SENSITIVE, "pain") if i % 2 else (ROUTINE, "refill")
                triage = floor.event(call_id, CallTriage, label=label, topic=topic, score=0.9)
                floor.publish(call_id, triage)
            if automated:
                handoff = floor.event(
                    call_id,
                    HandoffRecommended,
                    reason=HandoffReason.ASKED,
                    summary="Calling about a refill; asked for a person twice",
                    asks=2,
                )
                floor.publish(call_id, handoff)
            tile = thread.run(lambda c=call_id: thread.service.hub.calls[c].summary.to_dict())
            if tile["attention"] or tile["handoffs"]:
                needy.append(call_id)
        yield floor


def board(
    pages: Any, floor: Floor, token: str = ANN, width: int = 1366, height: int = 768, **options: Any
) -> Page:
    url = f"{floor.thread.http}/wallboard#token={token}"
    page = pages(url, width=width, height=height, **options)
    expect(page.locator("#conn")).to_have_text("Live", timeout=WAIT)
    expect(page.locator("#teams .tile")).to_have_count(CALLS, timeout=WAIT)
    return page


def order(page: Page) -> list[str]:
    return page.eval_on_selector_all(
        "#attention .tile, #teams .tile", "ns => ns.map((n) => n.dataset.callId)"
    )


def assert_strip_whole(page: Page, width: int, height: int) -> None:
    """Every tile of the needs-attention strip is on screen, none scrolled out of it."""
    strip = page.locator("#attention").bounding_box()
    assert strip["y"] + strip["height"] <= height, strip
    boxes = page.locator("#attention .tile").evaluate_all(
        "ns => ns.map((n) => n.getBoundingClientRect().toJSON())"
    )
    for box in boxes:
        assert strip["y"] <= box["top"] and box["bottom"] <= strip["y"] + strip["height"], box
        assert box["left"] >= 0 and box["right"] <= width, box
    assert page.evaluate("window.scrollY") == 0


def screenshot(page: Page, name: str) -> None:
    """The viewport as a supervisor sees it (look at it): the columns scroll inside."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name))


def serious(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    if not AXE.exists():
        message = f"{AXE} is missing: run make setup (npm ci --prefix tests/web/axe)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document)).violations")
    return [
        f"{v['impact']}: {v['id']}: {v['help']} ({len(v['nodes'])}: {v['nodes'][0]['target']})"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def test_the_floor_fits_needs_attention_on_top_and_tiles_say_why_and_how_long(
    floor: Floor, pages: Any
) -> None:
    """At 1366x768 every call that needs attention is on the strip, fully visible without
    scrolling, saying "High · m:ss · reason"; at 1920x1080 too. Screenshots of both."""
    assert 4 <= len(floor.needy) <= 12, floor.needy
    for width, height in ((1366, 768), (1920, 1080)):
        page = board(pages, floor, width=width, height=height)
        strip = page.locator("#attention .tile")
        expect(strip).to_have_count(len(floor.needy), timeout=WAIT)
        assert sorted(strip.evaluate_all("ns => ns.map((n) => n.dataset.callId)")) == floor.needy
        assert_strip_whole(page, width, height)
        high = strip.filter(has_text="chest pain").first
        words = re.compile(r"^High · \d+:\d\d · chest pain$")
        expect(high.locator(".tile-state")).to_have_text(words)
        handoff = page.locator(f"#attention .tile[data-call-id='{HANDOFF}'] .tile-state")
        expect(handoff).to_have_text("Hand-off · asked for a person")
        expect(page.locator("#teams .tile[data-call-id='c-01'] .tile-triage")).to_have_text(
            "Sensitive · pain"
        )
        expect(page.locator("#teams .tile[data-call-id='c-06'] .tile-triage")).to_have_text(
            "Routine · refill"
        )
        assert page.locator("#teams .team").count() == len(TEAMS)
        screenshot(page, f"wallboard-{CALLS}-{width}x{height}.png")
        assert not page.problems, page.problems.messages


def test_tile_order_holds_while_no_level_changes(floor: Floor, pages: Any) -> None:
    """20 rounds of voice readings on every call leave the order alone; a calm call whose
    cue rises to high moves up, onto the strip."""
    page = board(pages, floor)
    before = order(page)
    calm = [c for c in floor.seqs if c not in floor.needy]
    spark = page.locator(f"#teams .tile[data-call-id='{calm[0]}'] .spark-line")
    drawn = spark.get_attribute("points")
    for k in range(20):
        for n, call_id in enumerate(floor.seqs):
            floor.publish(call_id, floor.reading(call_id, ((n * 7 + k * 3) % 10) / 10))
        page.wait_for_timeout(50)
        assert order(page) == before, f"round {k}"
    expect(spark).not_to_have_attribute("points", drawn)  # the readings were shown
    # The check can fail: a level change moves a calm call up.
    mover = calm[-1]
    first = floor.thread.run(lambda: floor.thread.service.hub.calls[floor.needy[0]].cues)
    cue = next(iter(first.values()))
    floor.seqs[mover] += 1
    raised = dataclasses.replace(
        cue, call_id=CallId(mover), seq=floor.seqs[mover], cue_id=1, wall_time=time.time()
    )
    floor.publish(mover, raised)
    expect(page.locator(f"#attention .tile[data-call-id='{mover}']")).to_be_visible(timeout=WAIT)
    assert order(page) != before
    floor.needy.append(mover)
    # So does a hand-off recommended on a calm call: onto the strip.
    asked = calm[-2]
    handoff = floor.event(
        asked, HandoffRecommended, reason=HandoffReason.BOT_FAILING, summary="Bot failing"
    )
    floor.publish(asked, handoff)
    expect(page.locator(f"#attention .tile[data-call-id='{asked}'] .tile-state")).to_have_text(
        "Hand-off · the automated side is not understanding", timeout=WAIT
    )
    floor.needy.append(asked)
    # An ended call's row says what the call was (call.summary.final) until it is removed.
    final = floor.event(
        ENDS, CallSummaryFinal, duration=50.0, triage="sensitive", topic="pain",
        distressed_s=40.0, calmer_at_end=True,
    )  # fmt: skip
    floor.publish(ENDS, final, floor.event(ENDS, CallEnded, duration=50.0))
    ended = page.locator(f"#teams .tile[data-call-id='{ENDS}'] .tile-state")
    expect(ended).to_have_text(
        "Call ended · Sensitive · pain; distressed for 0:40; calmer at the end", timeout=WAIT
    )
    assert not page.problems, page.problems.messages


def test_one_alert_per_cue_acknowledged_in_one_browser_shows_in_another(
    floor: Floor, pages: Any
) -> None:
    """A cue that rose from elevated to high is one alert; Ann acknowledges it, Bob sees who
    and when, and so does a wallboard opened later; "Show call" opens its detail beside
    the alerts, which stay uncovered."""
    sample = next(c for c in floor.needy if int(c[2:]) % 7 == 5)  # sample_call: elevated, high
    ann, bob = board(pages, floor, ANN), board(pages, floor, BOB)
    alerts = ann.locator(f"#alerts .alert[data-call-id='{sample}']")
    expect(alerts).to_have_count(1, timeout=WAIT)
    expect(alerts.locator(".level-word")).to_have_text("High")
    alerts.get_by_role("button", name=re.compile("^Acknowledge")).click()
    seen = re.compile(r"^Seen by sup-ann at \d\d:\d\d:\d\d$")
    expect(alerts.locator(".alert-acked")).to_have_text(seen, timeout=WAIT)
    theirs = bob.locator(f"#alerts .alert[data-call-id='{sample}'] .alert-acked")
    expect(theirs).to_have_text(seen, timeout=WAIT)
    later = board(pages, floor, BOB)
    synced = later.locator(f"#alerts .alert[data-call-id='{sample}'] .alert-acked")
    expect(synced).to_have_text(seen)

    bob.locator(f"#alerts .alert[data-call-id='{sample}']").get_by_role(
        "button", name=re.compile("^Show call")
    ).click()
    expect(bob.locator("#detail")).to_be_visible()
    expect(bob.locator("#detail-heading")).to_have_text(re.compile(rf"^Agent a{sample[2:]} · "))
    expect(bob.locator("#detail-state")).to_have_text(re.compile(r"^High · \d+:\d\d · "))
    expect(bob.locator("#detail-triage")).to_have_text(re.compile(r"^Triage: "))
    detail = bob.locator("#detail").bounding_box()
    panel = bob.locator(".alerts").bounding_box()
    assert detail["x"] + detail["width"] <= panel["x"], (detail, panel)
    assert panel["x"] + panel["width"] <= 1366
    assert_strip_whole(bob, 1366, 768)
    screenshot(bob, "wallboard-detail-1366x768.png")
    for page in (ann, bob, later):
        assert not page.problems, page.problems.messages


def test_axe_finds_nothing_serious_on_the_wallboard_and_the_agent_panel(
    floor: Floor, pages: Any
) -> None:
    """axe-core: no serious or critical violation on the wallboard (detail open) or on the
    agent panel of a live call."""
    page = board(pages, floor, axe=True)
    assert serious(page) == []
    page.locator("#attention .tile").first.click()
    expect(page.locator("#detail-conn")).to_have_text("Live", timeout=WAIT)
    assert serious(page) == []
    agent = pages(f"{floor.thread.http}/agent#token={AGENT}", width=1280, height=900, axe=True)
    expect(agent.locator("#conn")).to_have_text("Live", timeout=WAIT)
    assert serious(agent) == []
    for p in (page, agent):
        assert not p.problems, p.problems.messages
