"""The agent panel tells the truth about itself (issue 14): what it shows when the
server goes quiet, how far the caption lags, what a cue quotes, and the feedback
it sends. A real `edge serve` and a real Chromium; the calls are scripted into
the running service's hub (no models)."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest
from playwright.sync_api import Page, expect

from edge.config import Config
from edge.events import CallTriage, CueKind, CueLevel, EngineDegraded, EngineRecovered, TriageLabel
from edge.pipeline.load import LoadStep
from edge.server.hub import View
from edge.server.options import ServerOptions
from edge.types import Role
from tests.helpers import TIME_FACTOR
from tests.web.conftest import screenshot
from tests.web.script import WAIT, Script, kept_reports, live

KEEPALIVE = 1.0 * TIME_FACTOR  # the pages turn stale after twice this without a message


@pytest.fixture
def service(serve):
    """An open service without models, sending keepalives every KEEPALIVE seconds."""
    return serve(Config(server=ServerOptions(keepalive=KEEPALIVE)))


def agent_page(service, open_page) -> Page:
    page = open_page(service.http + "/agent#agent=a17")
    live(page)
    return page


def test_quoted_words_are_marked_in_the_caption_and_a_cue_updates_in_place(
    service, open_page
) -> None:
    """A cue's quote is shown on its card and marked where the caption says it; its own
    suggestion replaces the standard one; a second cue.raised of the same cue_id updates
    the same card; a possible emergency comes first under its own heading, protocol first."""
    page = agent_page(service, open_page)
    call = Script(service, "c-q", "a17")
    call.publish(
        call.started(),
        call.final(4.0, 0, "I had a fall this morning."),
        call.final(9.0, 1, "And now my chest feels tight."),
        call.raised(
            9.5, 1, CueLevel.ELEVATED, "Caller sounds distressed: pain words.", ("pain words",),
            quote=("chest feels tight",), suggestion="Ask where it hurts and since when.",
        ),
    )  # fmt: skip
    card = page.locator("#cues .cue[data-cue-id='1']")
    expect(card.locator(".cue-quote")).to_have_text("Caller said: chest feels tight", timeout=WAIT)
    expect(card.locator(".cue-quote q")).to_have_text(["chest feels tight"])
    expect(card.locator(".cue-suggest")).to_have_text("Try: Ask where it hurts and since when.")
    marks = page.locator("#caption mark.quoted")
    expect(marks).to_have_text(["chest feels tight"])
    expect(page.locator("#caption .final .at")).to_have_text(["0:02", "0:07"])
    card.evaluate("n => { n.keep = true; }")

    call.publish(
        call.final(13.0, 2, "I can't breathe properly."),
        call.raised(
            13.5, 1, CueLevel.HIGH, "Caller sounds very distressed: pain words, shaky voice.",
            ("pain words", "shaky voice"), quote=("chest feels tight", "can't breathe"),
            suggestion="Stay calm and ask if they are alone.",
        ),
    )  # fmt: skip
    expect(card.locator(".level-word")).to_have_text("High", timeout=WAIT)
    assert card.evaluate("n => n.keep === true")  # the same card, updated in place
    expect(page.locator("#cues .cue")).to_have_count(1)
    expect(card.locator(".cue-quote q")).to_have_text(["chest feels tight", "can't breathe"])
    expect(card.locator(".cue-suggest")).to_have_text("Try: Stay calm and ask if they are alone.")
    expect(card.locator(".chip")).to_have_text(["pain words", "shaky voice"])
    expect(marks).to_have_text(["chest feels tight", "can't breathe"])

    call.publish(
        call.raised(
            14.0, 2, CueLevel.HIGH, "The caller may be describing an emergency.",
            cue=CueKind.POSSIBLE_EMERGENCY, quote=("can't breathe",),
            suggestion="Follow the chest pain protocol: ask them to call 911 now.",
        ),
        call.raised(
            14.2, 3, CueLevel.NOTICE, "That term may be unfamiliar.", cue=CueKind.AGENT_JARGON,
            suggestion="Say \u201cheart test\u201d instead of \u201cECG\u201d.",
        ),
    )  # fmt: skip
    cards = page.locator("#cues .cue")
    expect(cards).to_have_count(3, timeout=WAIT)
    emergency = cards.first
    expect(emergency).to_have_attribute("data-cue", "possible_emergency")
    expect(emergency).to_have_class("cue emergency")
    expect(emergency.locator("h3")).to_contain_text("Possible emergency")
    body = emergency.locator(".cue-body > *")
    expect(body.first).to_have_text(
        "Protocol: Follow the chest pain protocol: ask them to call 911 now."
    )
    color = emergency.evaluate("n => getComputedStyle(n).borderTopColor")
    assert color == "rgb(164, 22, 26)", color  # the high red, all round
    jargon = page.locator("#cues .cue[data-cue='agent_jargon']")
    expect(jargon.locator(".cue-title")).to_have_text("Jargon")
    expect(jargon.locator(".cue-suggest")).to_have_text(
        "Plain words: Say \u201cheart test\u201d instead of \u201cECG\u201d."
    )
    screenshot(page, "agent-quotes-emergency.png")
    assert not page.problems, page.problems.messages


def test_the_panel_turns_stale_when_the_server_goes_quiet_and_live_when_news_resumes(
    service, open_page
) -> None:
    """Keepalives keep a quiet call "Live"; with the server's event loop blocked (no
    message at all) the panel and the wallboard say "No news for N s", the panel drops
    "Listening…" and "No cue right now"; news again: Live."""
    page = agent_page(service, open_page)
    board = open_page(service.http + "/wallboard")
    live(board)
    call = Script(service, "c-s", "a17")
    call.publish(call.started())
    calm = page.locator("#cues .calm")
    expect(calm).to_contain_text("No cue right now", timeout=WAIT)
    expect(page.locator("#caption .note")).to_have_text("Listening…")
    page.wait_for_timeout(3 * KEEPALIVE * 1000)  # quiet, but keepalives come
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")

    blocked = 6 * KEEPALIVE
    service.loop.call_soon_threadsafe(time.sleep, blocked)  # the server hangs
    began = time.monotonic()
    conn = page.locator("#conn")
    expect(conn).to_have_attribute("data-state", "stale", timeout=WAIT)
    seen_after = time.monotonic() - began
    expect(conn).to_contain_text("No news for")
    expect(conn).to_contain_text("the panel may be out of date")
    expect(calm).to_contain_text("Not up to date")
    expect(calm).not_to_contain_text("No cue right now")
    expect(page.locator("#caption .note")).to_have_text("Not receiving captions right now.")
    expect(page.locator("#caption")).not_to_contain_text("Listening")
    expect(board.locator("#conn")).to_contain_text("the board may be out of date")
    screenshot(page, "agent-stale.png")
    assert seen_after < blocked, "stale only after the server was back"

    expect(conn).to_have_text("Live", timeout=WAIT)  # the first keepalive after the stall
    expect(calm).to_contain_text("No cue right now")
    expect(page.locator("#caption .note")).to_have_text("Listening…")
    expect(board.locator("#conn")).to_have_text("Live", timeout=WAIT)
    for p in (page, board):
        assert not p.problems, p.problems.messages


def test_the_caption_says_when_it_lags_behind_the_call(service, open_page) -> None:
    """Caller speech heard (speech and voice events) but not yet captioned, or events that
    come later than the live call's clock, show "Transcript N s behind the call"."""
    page = agent_page(service, open_page)
    call = Script(service, "c-l", "a17")
    call.publish(call.started(), call.final(3.0, 0, "Hello, it's about my mother."))
    lag = page.locator("#caption-lag")
    expect(page.locator("#caption .final")).to_have_count(1, timeout=WAIT)
    expect(lag).to_be_hidden()
    # The caller goes on for 12 s; no caption comes for it.
    call.publish(call.speech(3.5, 1), *(call.voice(3.0 + k, 0.2) for k in range(1, 13)))
    expect(lag).to_have_text("Transcript 12 s behind the call", timeout=WAIT)
    # Behind, the cue area does not say "No cue right now": the words behind cues are late.
    calm = page.locator("#cues .calm")
    expect(calm.locator(".cue-head")).to_have_text("Not up to date")
    expect(calm.locator(".calm-text")).to_have_text(
        "The transcript is behind the call: cues may come late."
    )
    screenshot(page, "agent-lag.png")
    call.publish(call.final(15.5, 1, "She fell and she can't get up."))
    expect(lag).to_be_hidden(timeout=WAIT)
    expect(calm.locator(".cue-head")).to_have_text("No cue right now")
    expect(page.locator("#caption .final .at")).to_have_text(["0:01", "0:13"])
    call.publish(call.ended(16.0))

    # A live call whose events come 20 s after the words were spoken (the service trails).
    late = Script(service, "c-late", "a17")
    started = late.started()
    late.publish(dataclasses.replace(started, wall_time=started.wall_time - 25.0))
    late.publish(late.final(5.0, 0, "Hello?"))
    expect(page.locator("#caption .final .line-text")).to_have_text(["Hello?"], timeout=WAIT)
    expect(lag).to_have_text("Transcript 20 s behind the call")
    assert not page.problems, page.problems.messages


def test_feedback_buttons_send_verdict_and_reason_and_the_server_records_them(
    service, open_page
) -> None:
    """ "Wrong — hide" with a reason sends verdict wrong and collapses the card (it can be
    shown again); "Right" sends verdict right; the hub records both with their reasons."""
    page = agent_page(service, open_page)
    frames: list[dict] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda f: frames.append(json.loads(f))))
    page.reload()  # to see the frames of the new connection
    live(page)
    call = Script(service, "c-f", "a17")
    kept = kept_reports(service)
    call.publish(
        call.started(),
        call.raised(3.0, 1, CueLevel.ELEVATED, "Caller sounds distressed: raised voice.",
                    ("raised voice",)),
        call.raised(4.0, 2, CueLevel.NOTICE, "The caller may be confused.",
                    cue=CueKind.CALLER_CONFUSED, quote=("what does that mean",)),
    )  # fmt: skip
    wrong = page.locator("#cues .cue[data-cue-id='1']")
    right = page.locator("#cues .cue[data-cue-id='2']")
    expect(right.locator(".cue-title")).to_have_text("Caller may be confused", timeout=WAIT)
    expect(right.locator(".cue-suggest")).to_contain_text("Check understanding")

    wrong.get_by_label("Reason (optional)").select_option("calm")
    wrong.get_by_role("button", name="Wrong — hide").click()
    expect(wrong.locator(".feedback-status")).to_have_text(
        "Thanks — recorded as wrong", timeout=WAIT
    )
    expect(wrong.locator(".cue-message")).to_be_hidden()
    expect(wrong.get_by_role("button", name="Right", exact=True)).to_be_hidden()
    right.get_by_label("Reason (optional)").select_option("helpful")
    right.get_by_role("button", name="Right", exact=True).click()
    expect(right.locator(".feedback-status")).to_have_text(
        "Thanks — recorded as right", timeout=WAIT
    )
    expect(right.locator(".cue-message")).to_be_visible()
    screenshot(page, "agent-feedback.png")
    wrong.get_by_role("button", name="Show again").click()
    expect(wrong.locator(".cue-message")).to_be_visible()

    sent = [f for f in frames if f.get("type") == "feedback"]
    assert sent == [
        {"type": "feedback", "call_id": "c-f", "cue_id": 1, "verdict": "wrong", "reason": "calm"},
        {"type": "feedback", "call_id": "c-f", "cue_id": 2, "verdict": "right",
         "reason": "helpful"},
    ]  # fmt: skip
    reports = service.run(lambda: list(kept))
    assert [(r["cue"], r["verdict"], r["reason"]) for r in reports] == [
        ("caller_distressed", "wrong", "calm"),
        ("caller_confused", "right", "helpful"),
    ]
    assert all(r["by"] for r in reports)
    assert not page.problems, page.problems.messages


def test_a_caller_language_without_text_cues_is_noted(service, open_page) -> None:
    """A call.language event with text_cues false adds the note that cues come from the
    voice only (sent as the server sends any event, through the agent's queue)."""
    page = agent_page(service, open_page)
    call = Script(service, "c-es", "a17")
    call.publish(call.started())
    expect(page.locator("#call-word")).to_have_text("Call in progress", timeout=WAIT)
    note = page.locator("#language-note")
    expect(note).to_be_hidden()
    language = {
        "v": 1, "type": "call.language", "stream_time": 6.0, "role": "caller",
        "call_id": "c-es", "seq": call.seq + 1, "wall_time": time.time(),
        "language": "es", "text_cues": False,
    }  # fmt: skip

    def queue() -> None:
        for sub in service.service.hub.subscriptions:
            if sub.view is View.AGENT:
                sub.outbox.put(json.dumps(language))

    service.run(queue)
    expect(note).to_have_text(
        "Words are not read for this language (es): cues come from the voice only.",
        timeout=WAIT,
    )
    assert not page.problems, page.problems.messages


def test_triage_shows_in_the_panel_heading_and_on_the_wallboard_tile(service, open_page) -> None:
    """call.triage's label and topic (not its quote) in the agent panel's heading and on
    the call's wallboard tile; a later one, turning the call sensitive, replaces them."""
    page = agent_page(service, open_page)
    board = open_page(service.http + "/wallboard")
    live(board)
    call = Script(service, "c-tri", "a17")
    said = ("I need a repeat prescription",)
    call.publish(
        call.started(),
        call.event(CallTriage, 4.0, role=Role.CALLER, label=TriageLabel.ROUTINE, topic="refill",
                   score=0.04, quote=said),
    )  # fmt: skip
    expect(page.locator("#call-triage")).to_have_text("Routine \u00b7 refill", timeout=WAIT)
    tile = board.locator(".tile[data-call-id='c-tri'] .tile-triage")
    expect(tile).to_have_text("Routine \u00b7 refill", timeout=WAIT)
    call.publish(
        call.event(CallTriage, 30.0, role=Role.CALLER, label=TriageLabel.SENSITIVE,
                   topic="bad_news", score=0.97, quote=("they found a tumour",)),
    )  # fmt: skip
    expect(page.locator("#call-triage")).to_have_text("Sensitive \u00b7 bad news", timeout=WAIT)
    expect(page.locator("#call-triage")).to_have_attribute("data-label", "sensitive")
    expect(tile).to_have_text("Sensitive \u00b7 bad news", timeout=WAIT)
    label = board.locator("#teams .tile[data-call-id='c-tri']").inner_text()  # its name
    assert "Sensitive \u00b7 bad news" in label and "tumour" not in label


def test_the_panel_and_the_wallboard_say_when_the_service_is_busy(service, open_page) -> None:
    """engine.degraded shows its plain message on the panel and on the call's wallboard tile
    (and above the tiles), each new step replaces it; engine.recovered to step 0 clears it."""
    page = agent_page(service, open_page)
    board = open_page(service.http + "/wallboard")
    live(board)
    call = Script(service, "c-busy", "a17")
    call.publish(call.started(), call.final(3.0, 0, "Hello, it's about my father."))
    note = page.locator("#service-note")
    tile = board.locator(".tile[data-call-id='c-busy'] .tile-load")
    above = board.locator("#service-note")
    expect(page.locator("#caption .final")).to_have_count(1, timeout=WAIT)
    expect(note).to_be_hidden()
    expect(above).to_be_hidden(timeout=WAIT)

    def told(kind: type[EngineDegraded | EngineRecovered], t: float, step: LoadStep) -> None:
        fields = {"step": int(step), "name": step.label, "lag": 4.2, "message": step.words}
        call.publish(call.event(kind, t, **fields))

    told(EngineDegraded, 4.0, LoadStep.FEWER_PARTIALS)
    expect(note).to_have_text("Service busy: fewer live captions", timeout=WAIT)
    expect(tile).to_have_text("Service busy: fewer live captions", timeout=WAIT)
    expect(above).to_have_text("Service busy: fewer live captions (1 call)")
    screenshot(page, "agent-busy.png")
    told(EngineDegraded, 6.0, LoadStep.FEWER_READINGS)
    expect(note).to_have_text(LoadStep.FEWER_READINGS.words, timeout=WAIT)
    expect(tile).to_have_text(LoadStep.FEWER_READINGS.words, timeout=WAIT)
    told(EngineRecovered, 9.0, LoadStep.GREEDY_FINALS)
    expect(note).to_have_text(LoadStep.GREEDY_FINALS.words, timeout=WAIT)
    told(EngineRecovered, 12.0, LoadStep.NORMAL)
    expect(note).to_be_hidden(timeout=WAIT)
    expect(tile).to_be_hidden(timeout=WAIT)
    expect(above).to_be_hidden()
    call.publish(call.ended(13.0))
    assert not page.problems, page.problems.messages
    assert not board.problems, board.problems.messages
