"""The subscribe protocol as a state machine: messages in, requests, replies and refusals out."""

from __future__ import annotations

import json

import pytest

from edge.server.auth import Tokens
from edge.server.hub import CallRecord, View
from edge.server.options import Share, TokenRole, TokenSpec
from edge.server.outbox import Outbox
from edge.server.protocol import Close, Refused
from edge.server.subscribe import (
    Acknowledge,
    Feedback,
    Reply,
    Subscribe,
    SubscribeSession,
    feedback_recorded_message,
    subscribed_message,
)
from edge.server.summary import CallMeta

AGENT = "agent-token-0123456789"
SUPERVISOR = "supervisor-token-0123456789"
TOKENS = Tokens(
    [
        TokenSpec(token=AGENT, role=TokenRole.AGENT, agent="a17"),
        TokenSpec(token=SUPERVISOR, role=TokenRole.SUPERVISOR, teams=("cardiology",)),
    ]
)
CALLS = {
    "c-a17": CallRecord(
        CallMeta(call_id="c-a17", agent_id="a17", team="cardiology", source="s", started_at=0.0),
        resume_events=16,
    )
}


def hello(**fields: object) -> str:
    return json.dumps({"type": "subscribe", **fields})


def test_an_open_service_subscribes_the_agent_asked_for_with_its_resume_points() -> None:
    """Open service: the agent view takes agent_id from the message, resume as sent."""
    session = SubscribeSession(Tokens([]), {})
    request = session.receive(hello(view="agent", agent_id="a1", resume={"c-1": 7}))
    assert isinstance(request, Subscribe)
    assert (request.view, request.agent_id, request.resume) == (View.AGENT, "a1", {"c-1": 7})
    sub = request.subscription(Outbox(8), "peer")
    reply = json.loads(subscribed_message(sub, Share.CUES, 5.0))
    assert reply == {
        "type": "subscribed",
        "protocol": 1,
        "view": "agent",
        "agent_id": "a1",
        "teams": [],
        "call_id": None,
        "share": "cues",
        "keepalive": 5.0,
    }


def test_a_token_from_the_header_is_used_when_the_message_has_none() -> None:
    """The bearer token of the handshake authenticates; an agent token watches its agent."""
    session = SubscribeSession(TOKENS, CALLS, bearer=AGENT)
    request = session.receive(hello(view="agent"))
    assert isinstance(request, Subscribe) and request.agent_id == "a17"


def test_a_supervisor_watches_its_teams_and_a_call_of_them() -> None:
    """Wallboard: the token's teams by default; call view: a live call of those teams."""
    wall = SubscribeSession(TOKENS, CALLS).receive(hello(view="wallboard", token=SUPERVISOR))
    assert isinstance(wall, Subscribe) and wall.teams == ("cardiology",)
    call = SubscribeSession(TOKENS, CALLS).receive(
        hello(view="call", token=SUPERVISOR, call_id="c-a17")
    )
    assert isinstance(call, Subscribe) and call.call_id == "c-a17"


@pytest.mark.parametrize(
    ("message", "code", "words"),
    [
        (b"{}", Close.BAD_MESSAGE, "not binary"),
        ("not json", Close.BAD_MESSAGE, "not JSON"),
        ("[1]", Close.BAD_MESSAGE, "JSON object"),
        ('{"type": "ping"}', Close.BAD_MESSAGE, "first message must be type 'subscribe'"),
        (hello(view="agent"), Close.UNAUTHORIZED, "no token"),
        (hello(view="agent", token="nope"), Close.UNAUTHORIZED, "unknown token"),
        (hello(view="stadium", token=AGENT), Close.BAD_MESSAGE, "view must be"),
        (hello(view="agent", token=AGENT, resume=[1]), Close.BAD_MESSAGE, "resume must map"),
        (hello(view="agent", token=AGENT, agent_id="a18"), Close.FORBIDDEN, "its own agent"),
        (hello(view="wallboard", token=AGENT), Close.FORBIDDEN, "needs supervisor"),
        (hello(view="wallboard", token=SUPERVISOR, teams="x"), Close.BAD_MESSAGE, "teams must"),
        (
            hello(view="wallboard", token=SUPERVISOR, teams=["oncology"]),
            Close.FORBIDDEN,
            "own teams",
        ),
        (hello(view="call", token=SUPERVISOR, call_id="c-none"), Close.NOT_FOUND, "no live call"),
    ],
)
def test_a_bad_first_message_is_refused_with_its_code(message, code, words) -> None:
    """Each wrong first message raises Refused with its close code and says why."""
    with pytest.raises(Refused) as refused:
        SubscribeSession(TOKENS, CALLS).receive(message)
    assert refused.value.code == code and words in str(refused.value)


def test_an_open_agent_view_needs_an_agent_id() -> None:
    """Open service: no agent_id, no agent view."""
    with pytest.raises(Refused, match="needs an agent_id") as refused:
        SubscribeSession(Tokens([]), {}).receive(hello(view="agent"))
    assert refused.value.code == Close.BAD_MESSAGE


def test_after_subscribing_feedback_and_ping_are_understood_and_nothing_else() -> None:
    """Feedback goes to the hub, ping is answered with the server time, other types refused."""
    session = SubscribeSession(Tokens([]), {}, clock=lambda: 12.5)
    session.receive(hello(view="wallboard"))
    report = {"type": "feedback", "call_id": "c-1", "cue_id": 2}
    assert session.receive(json.dumps(report)) == Feedback(report)
    assert session.receive('{"type": "ping"}') == Reply('{"type": "pong", "server_time": 12.5}')
    with pytest.raises(Refused, match="unknown message type 'subscribe'"):
        session.receive(hello(view="wallboard"))
    ack = json.loads(feedback_recorded_message({"call_id": "c-1", "cue_id": 2, "cue": "x"}))
    assert ack == {"type": "feedback.recorded", "call_id": "c-1", "cue_id": 2}


def test_only_a_wallboard_acknowledges_alerts() -> None:
    """``ack`` from a wallboard goes to the hub; from an agent panel it is refused (1008)."""
    board = SubscribeSession(TOKENS, CALLS)
    board.receive(hello(view="wallboard", token=SUPERVISOR))
    ack = {"type": "ack", "call_id": "c-a17", "cue_id": 1}
    assert board.receive(json.dumps(ack)) == Acknowledge(ack)
    agent = SubscribeSession(TOKENS, CALLS)
    agent.receive(hello(view="agent", token=AGENT))
    with pytest.raises(Refused, match="only a wallboard acknowledges alerts") as refused:
        agent.receive(json.dumps(ack))
    assert refused.value.code is Close.BAD_MESSAGE


def test_a_silent_subscriber_is_told_what_to_send() -> None:
    """No subscribe message in time: 1008 with what to send."""
    refused = SubscribeSession.timed_out()
    assert refused.code == Close.BAD_MESSAGE and "subscribe message first" in str(refused)


def test_a_floor_of_agent_tokens_finds_each_one_and_no_prefix_of_one() -> None:
    """A token per agent (1,000 of them): each finds its own agent; a token cut short, one
    with a character more, or one never configured is refused (4001)."""
    tokens = [f"agent-token-{k:04d}-{'x' * 20}" for k in range(1000)]
    floor = Tokens(
        TokenSpec(token=t, role=TokenRole.AGENT, agent=f"a{k}") for k, t in enumerate(tokens)
    )
    assert floor.authenticate(tokens[0]).agent == "a0"
    assert floor.authenticate(tokens[999]).agent == "a999"
    for wrong in (tokens[5][:-1], tokens[5] + "x", "agent-token-9999-" + "x" * 20):
        with pytest.raises(Refused) as refused:
            floor.authenticate(wrong)
        assert refused.value.code == Close.UNAUTHORIZED
