"""The subscribe protocol, sans I/O: a subscriber's messages in, what they ask for out.

A subscriber (the agent panel, the wallboard, a call-detail view) opens
``/subscribe`` and says what it wants to watch in its first message, within
``server.hello_timeout`` seconds (``docs/server.md``, "Subscribe")::

    {"type": "subscribe", "view": "agent", "token": "...", "resume": {"c-1042": 311}}

After that it may send ``feedback`` (a verdict on a cue), ``ping`` and, from a
wallboard, ``ack`` (a supervisor saw an alert: ``{"type": "ack", "call_id",
"cue_id"}``; the hub records who and when and tells the team's wallboards).

:class:`SubscribeSession` is a state machine: :meth:`~SubscribeSession.receive`
takes one websocket message and returns what it asks for (:class:`Subscribe`,
:class:`Feedback`, :class:`Reply`); anything wrong raises
:class:`~edge.server.protocol.Refused`, whose ``code`` is the close code:

* 1008 ``BAD_MESSAGE``: not a JSON object, a first message that is not
  ``subscribe``, an unknown view, a malformed ``resume`` or ``teams``, an open
  service's agent view without ``agent_id``, an unknown message type, an
  ``ack`` from a view other than the wallboard;
* 4001 ``UNAUTHORIZED``: no token, or an unknown one (:mod:`edge.server.auth`);
* 4003 ``FORBIDDEN``: a token without the right to the view, agent or teams;
* 4004 ``NOT_FOUND``: a call view of a call the hub does not hold *or* the token
  may not watch: the same answer for both, so a token holder cannot probe
  which call ids are live (issue 12).

Every field is type-checked (:func:`edge.server.protocol.checked`): a token, view
or id of another JSON type is a 1008 refusal naming the field.

The session decides; :mod:`edge.server.app` moves the messages and attaches
the subscription to the hub.
"""

from __future__ import annotations

import enum
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from edge.server.auth import Principal, Tokens, require
from edge.server.hub import Subscription, View
from edge.server.hub_protocol import HeldCall
from edge.server.options import Share, TokenRole
from edge.server.outbox import Outbox
from edge.server.protocol import (
    PROTOCOL,
    Close,
    Refused,
    checked,
    optional,
    parse_object,
    shown,
)


@dataclass(frozen=True)
class Subscribe:
    """The first message, checked: who watches what, and where each call resumes."""

    principal: Principal
    view: View
    agent_id: str | None = None
    teams: tuple[str, ...] = ()
    call_id: str | None = None
    resume: dict[str, int] = field(default_factory=dict)

    def subscription(self, outbox: Outbox, peer: str) -> Subscription:
        """The hub's subscription for this request, queueing into ``outbox``."""
        return Subscription(
            principal=self.principal,
            view=self.view,
            outbox=outbox,
            agent_id=self.agent_id,
            teams=self.teams,
            call_id=self.call_id,
            peer=peer,
        )


@dataclass(frozen=True)
class Feedback:
    """A verdict on a cue, for :meth:`edge.server.hub.Hub.record_feedback` to check."""

    report: dict[str, Any]


@dataclass(frozen=True)
class Acknowledge:
    """A supervisor saw an alert, for :meth:`edge.server.hub.Hub.acknowledge` to check."""

    alert: dict[str, Any]


@dataclass(frozen=True)
class Reply:
    """A message to send back; the subscription goes on."""

    message: str


Result = Subscribe | Feedback | Acknowledge | Reply


class _State(enum.Enum):
    WAITING = "waiting"  # for the subscribe message
    SUBSCRIBED = "subscribed"


class SubscribeSession:
    """One subscriber connection's protocol state.

    ``bearer`` is the token of an ``Authorization`` header, used when the
    subscribe message carries none; ``calls`` are the hub's calls, read when a
    call view is asked for.
    """

    def __init__(
        self,
        tokens: Tokens,
        calls: Mapping[str, HeldCall],
        *,
        bearer: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state = _State.WAITING
        self.view: View | None = None
        self._tokens = tokens
        self._calls = calls
        self._bearer = bearer
        self._clock = clock

    def receive(self, message: str | bytes) -> Result:
        data = parse_object(message)
        if self.state is _State.WAITING:
            subscribe = self._subscribe(data)
            self.state = _State.SUBSCRIBED
            self.view = subscribe.view
            return subscribe
        kind = data.get("type")
        if kind == "feedback":
            return Feedback(data)
        if kind == "ack":
            if self.view is not View.WALLBOARD:
                raise _bad("only a wallboard acknowledges alerts")
            return Acknowledge(data)
        if kind == "ping":
            return Reply(json.dumps({"type": "pong", "server_time": self._clock()}))
        raise _bad(f"unknown message type {shown(kind)}: send feedback or ack")

    @staticmethod
    def timed_out() -> Refused:
        """The refusal for a subscriber silent for ``server.hello_timeout`` seconds."""
        return _bad("send a subscribe message first")

    # -- the first message --------------------------------------------------

    def _subscribe(self, data: dict[str, Any]) -> Subscribe:
        if data.get("type") != "subscribe":
            raise _bad("the first message must be type 'subscribe'")
        principal = self._tokens.authenticate(checked(data, "token", str, "") or self._bearer)
        try:
            view = View(checked(data, "view", str, ""))
        except ValueError:
            raise _bad("view must be 'agent', 'wallboard' or 'call'") from None
        resume = data.get("resume") or {}
        if not isinstance(resume, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in resume.values()
        ):
            raise _bad("resume must map call ids to sequence numbers")
        if view is View.AGENT:
            agent_id = _agent_id(principal, optional(data, "agent_id", str))
            return Subscribe(principal, view, agent_id=agent_id, resume=resume)
        if view is View.WALLBOARD:
            teams = _teams(principal, data.get("teams"))
            return Subscribe(principal, view, teams=teams, resume=resume)
        require(principal, TokenRole.SUPERVISOR, TokenRole.AGENT)
        call_id = checked(data, "call_id", str, "")
        record = self._calls.get(call_id)
        if record is None or not principal.can_see(record.meta):
            raise Refused(Close.NOT_FOUND, f"no live call {shown(call_id)} for you to watch")
        return Subscribe(principal, view, call_id=call_id, resume=resume)


def subscribed_message(sub: Subscription, share: Share, keepalive: float) -> str:
    """The reply to an accepted subscribe message: what the subscriber will get.

    ``keepalive``: the longest the server stays silent (``server.keepalive``), so
    a client can tell a quiet call from a stalled service.
    """
    hello = {
        "type": "subscribed",
        "protocol": PROTOCOL,
        "view": sub.view.value,
        "agent_id": sub.agent_id,
        "teams": list(sub.teams),
        "call_id": sub.call_id,
        "share": share.value,
        "keepalive": keepalive,
    }
    return json.dumps(hello)


def keepalive_message(server_time: float) -> str:
    """Sent to a subscriber that got nothing for ``server.keepalive`` seconds."""
    return json.dumps({"type": "keepalive", "server_time": round(server_time, 3)})


def feedback_recorded_message(report: Mapping[str, Any]) -> str:
    """The reply to a feedback report the hub recorded."""
    ack = {"type": "feedback.recorded", "call_id": report["call_id"]}
    return json.dumps({**ack, "cue_id": report["cue_id"]})


def _agent_id(principal: Principal, asked: object) -> str:
    require(principal, TokenRole.AGENT)
    if principal.role is None:
        if not isinstance(asked, str) or not asked:
            raise _bad("view 'agent' needs an agent_id")
        return asked
    if asked not in (None, "", principal.agent):
        raise Refused(Close.FORBIDDEN, "this token may only watch its own agent's calls")
    assert principal.agent is not None
    return principal.agent


def _teams(principal: Principal, asked: object) -> tuple[str, ...]:
    require(principal, TokenRole.SUPERVISOR)
    if asked is not None and (
        not isinstance(asked, list) or not all(isinstance(t, str) for t in asked)
    ):
        raise _bad("teams must be a list of team names")
    wanted = tuple(asked or ())
    if principal.role is None:
        return wanted
    if not set(wanted) <= set(principal.teams):
        raise Refused(Close.FORBIDDEN, "this token may only watch its own teams")
    return wanted or principal.teams


def _bad(message: str) -> Refused:
    return Refused(Close.BAD_MESSAGE, message)
