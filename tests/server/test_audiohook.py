"""Genesys AudioHook: the session state machine, its refusals, and a stereo call end to end."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from pathlib import Path
from typing import Any

import jiwer
import numpy as np
import pytest
from faster_whisper.audio import decode_audio
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from edge.audio import g711
from edge.config import Config
from edge.server.audiohook import (
    NULL_UUID,
    AudioHookSession,
    Reply,
    duration,
    format_duration,
    sign,
    verify_signature,
)
from edge.server.auth import Tokens
from edge.server.ingest import Audio, Ignored, Started, Stopped
from edge.server.options import TokenRole, TokenSpec
from edge.server.protocol import Close, Refused
from edge.types import Role
from tests.helpers import wer_text
from tests.server.audiohook_client import AudioHookClient, Disconnected
from tests.server.harness import ServiceThread, messages, subscriber

SAMPLE = Path(__file__).parents[2] / "edge" / "assets" / "sample_call.flac"
KEY = "SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh"  # the spec's example API key
SECRET = "TXlTdXBlclNlY3JldEtleVRlbGxOby0xITJAMyM0JDU="  # and client secret
SESSION = "30b0e395-84d3-4570-ac13-9a62d8f514c0"
CONVERSATION = "090eaa2f-72fa-480a-83e0-8667ff89c0ec"
TOKENS = (
    TokenSpec(token=KEY, role=TokenRole.INGEST, source="genesys"),
    TokenSpec(token="k" * 24, role=TokenRole.INGEST, source="signed", secret=SECRET),
    TokenSpec(token="a" * 24, role=TokenRole.AGENT, agent="a-ah"),
)
STEREO = {"type": "audio", "format": "PCMU", "channels": ["external", "internal"], "rate": 8000}
EXTERNAL = {"type": "audio", "format": "PCMU", "channels": ["external"], "rate": 8000}


class Client:
    """Scripted client messages with the seq bookkeeping done right (override to break it)."""

    def __init__(self, session: AudioHookSession) -> None:
        self.session = session
        self.seq = 0
        self.serverseq = 0

    def send(self, kind: str, parameters: dict[str, Any] | None = None, **override: Any) -> Any:
        self.seq += 1
        message = {
            "version": "2",
            "id": SESSION,
            "type": kind,
            "seq": self.seq,
            "serverseq": self.serverseq,
            "position": "PT0S",
            "parameters": parameters or {},
            **override,
        }
        result = self.session.text(json.dumps(message))
        if isinstance(result, Reply):
            self.serverseq = json.loads(result.message)["seq"]
        return result

    def open(self, media: list[dict[str, Any]] | None = None, **parameters: Any) -> Any:
        return self.send(
            "open",
            {
                "organizationId": "d7934305-0972-4844-938e-9060eef73d05",
                "conversationId": CONVERSATION,
                "participant": {"id": "p1", "ani": "", "aniName": "", "dnis": ""},
                "media": [STEREO, EXTERNAL] if media is None else media,
                "language": "en-US",
                **parameters,
            },
        )

    def opened(self) -> dict[str, Any]:
        reply = json.loads(self.session.opened())
        self.serverseq = reply["seq"]
        return reply


def session(key: str = KEY, **headers: str) -> AudioHookSession:
    hdrs = {"Audiohook-Session-Id": SESSION, "X-API-KEY": key, **headers}
    return AudioHookSession(hdrs, "/audiohook", tokens=Tokens(TOKENS))


def open_session(**parameters: Any) -> Client:
    client = Client(session())
    assert isinstance(client.open(**parameters), Started)
    client.opened()
    return client


def mulaw(seconds: float, channels: int) -> bytes:
    tone = 0.3 * np.sin(np.arange(int(seconds * 8000)) / 8000 * 2 * np.pi * 440)
    both = np.repeat(tone[:, None], channels, axis=1).reshape(-1)
    return g711.pcm16_to_mulaw(g711.float_to_pcm16(both)).tobytes()


# -- the state machine ------------------------------------------------------


def test_open_starts_the_call_and_opened_selects_stereo() -> None:
    """open with a stereo offer: a call (external = caller, internal = agent), then opened."""
    client = Client(session())
    started = client.open(customConfig={"agent_id": "a-ah", "team": "cardiology"})
    assert isinstance(started, Started)
    info = started.info
    assert info.call_id == CONVERSATION and info.roles == (Role.CALLER, Role.AGENT)
    assert (info.agent_id, info.team, info.token) == ("a-ah", "cardiology", KEY)
    opened = client.opened()
    assert opened["type"] == "opened" and opened["version"] == "2" and opened["id"] == SESSION
    assert (opened["seq"], opened["clientseq"]) == (1, 1)
    assert opened["parameters"]["media"] == [STEREO]  # one offered format, unchanged


def test_a_mono_offer_selects_external_only() -> None:
    """Offered external or internal alone, the server takes external: the caller."""
    internal = {**EXTERNAL, "channels": ["internal"]}
    client = Client(session())
    started = client.open(media=[internal, EXTERNAL])
    assert isinstance(started, Started) and started.info.roles == (Role.CALLER,)
    assert client.opened()["parameters"]["media"] == [EXTERNAL]
    result = client.session.binary(mulaw(1.0, 1))
    assert isinstance(result, Audio) and {f.role for f in result.frames} == {Role.CALLER}


def test_channels_follow_the_offered_order() -> None:
    """Stereo offered as internal, external: the first channel is the agent."""
    client = Client(session())
    reverse = {**STEREO, "channels": ["internal", "external"]}
    started = client.open(media=[reverse])
    assert isinstance(started, Started) and started.info.roles == (Role.AGENT, Role.CALLER)


def test_no_usable_media_is_refused() -> None:
    """Only L16 or another rate offered: 1003, and the disconnect says what to offer."""
    client = Client(session())
    with pytest.raises(Refused) as refused:
        client.open(media=[{**STEREO, "format": "L16"}, {**EXTERNAL, "rate": 16000}])
    assert refused.value.code == Close.UNSUPPORTED
    message = json.loads(client.session.disconnect(refused.value))
    assert message["type"] == "disconnect" and message["parameters"]["reason"] == "error"
    assert "PCMU" in message["parameters"]["info"]


def test_stereo_audio_becomes_caller_and_agent_frames() -> None:
    """Interleaved PCMU stereo: frames for both roles; the position counts seconds received."""
    client = open_session()
    result = client.session.binary(mulaw(1.0, 2))
    assert isinstance(result, Audio)
    assert {f.role for f in result.frames} == {Role.CALLER, Role.AGENT}
    assert client.session.position == pytest.approx(1.0)
    with pytest.raises(Refused, match="whole number"):
        client.session.binary(b"\x00\x01\x02")


def test_ping_is_answered_with_pong() -> None:
    """ping (with an rtt) gets pong, numbered after opened and naming the ping's seq."""
    client = open_session()
    reply = client.send("ping", {"rtt": "PT0.012S"})
    assert isinstance(reply, Reply) and not reply.last
    pong = json.loads(reply.message)
    assert (pong["type"], pong["seq"], pong["clientseq"]) == ("pong", 2, 2)


def test_update_is_answered_with_updated() -> None:
    """update (a new language) gets updated."""
    client = open_session()
    reply = client.send("update", {"language": "en-GB"})
    assert json.loads(reply.message)["type"] == "updated"
    assert client.session.language == "en-GB"


def test_pause_and_resume() -> None:
    """paused stops the audio (audio then is refused); resumed lets it flow again."""
    client = open_session()
    assert isinstance(client.send("paused"), Ignored)
    assert isinstance(client.send("ping"), Reply)  # pings go on while paused
    client.send("resumed", {"start": "PT0S", "discarded": "PT2.5S"})
    assert client.session.discarded == pytest.approx(2.5)
    assert isinstance(client.session.binary(mulaw(0.1, 2)), Audio)
    client.send("paused")
    with pytest.raises(Refused, match="while paused"):
        client.session.binary(mulaw(0.1, 2))


def test_close_stops_the_call_and_closed_follows() -> None:
    """close: the last frames (Stopped); closed once the glue has flushed the call."""
    client = open_session()
    client.session.binary(mulaw(0.5, 2))
    stopped = client.send("close", {"reason": "end"})
    assert isinstance(stopped, Stopped)
    closed = json.loads(client.session.closed())
    assert (closed["type"], closed["clientseq"]) == ("closed", 2)
    with pytest.raises(Refused, match="after close"):
        client.session.binary(mulaw(0.1, 2))


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ({"seq": 5}, "out of order"),
        ({"seq": 1}, "out of order"),
        ({"serverseq": 9}, "ahead of the server"),
        ({"seq": True}, "non-negative integers"),
        ({"id": "another"}, "not this session's"),
        ({"position": "12 s"}, "not a duration"),
        ({"version": "1"}, "not supported"),
    ],
)
def test_broken_sequence_rules_are_refused(override: dict[str, Any], match: str) -> None:
    """A seq out of order, a serverseq never sent, a foreign id or a bad position: refused."""
    client = open_session()
    with pytest.raises(Refused, match=match):
        client.send("ping", **override)


def test_a_refusal_is_a_disconnect_then_close_gets_closed() -> None:
    """After disconnect the session ignores all but close, which gets a last closed."""
    client = open_session()
    with pytest.raises(Refused) as refused:
        client.send("ping", seq=7)
    disconnect = json.loads(client.session.disconnect(refused.value))
    assert disconnect["type"] == "disconnect" and "out of order" in disconnect["parameters"]["info"]
    assert isinstance(client.session.binary(mulaw(0.1, 2)), Ignored)  # in flight
    client.seq = 7
    reply = client.send("close", {"reason": "disconnect"})
    assert isinstance(reply, Reply) and reply.last and json.loads(reply.message)["type"] == "closed"


def test_messages_before_open_are_refused() -> None:
    """Audio or ping before open: refused."""
    client = Client(session())
    with pytest.raises(Refused, match="before opened"):
        client.session.binary(mulaw(0.1, 2))
    with pytest.raises(Refused, match="before open"):
        client.send("ping")


def test_a_bad_api_key_is_unauthorized() -> None:
    """An unknown X-API-KEY, or an agent's token: disconnect with reason unauthorized."""
    for key, code in (("x" * 24, Close.UNAUTHORIZED), ("a" * 24, Close.FORBIDDEN)):
        client = Client(session(key))
        with pytest.raises(Refused) as refused:
            client.open()
        assert refused.value.code == code
        message = json.loads(client.session.disconnect(refused.value))
        assert message["parameters"]["reason"] == "unauthorized"


def test_the_connection_probe_is_opened_without_media_or_call() -> None:
    """The all-zero conversationId (Genesys' probe): opened with no media, no call; closed."""
    client = Client(session())
    reply = client.open(conversationId=NULL_UUID)
    assert isinstance(reply, Reply) and json.loads(reply.message)["parameters"]["media"] == []
    closed = client.send("close", {"reason": "end"})
    assert isinstance(closed, Reply) and closed.last


def test_live_audio_ahead_of_real_time_is_refused() -> None:
    """Audio far ahead of the clock since opened: refused (server.max_ahead_seconds)."""
    now = [100.0]
    hdrs = {"Audiohook-Session-Id": SESSION, "X-API-KEY": KEY}
    client = Client(
        AudioHookSession(
            hdrs, "/", tokens=Tokens(TOKENS), max_ahead_seconds=2.0, clock=lambda: now[0]
        )
    )
    client.open()
    client.opened()
    client.session.binary(mulaw(1.5, 2))
    with pytest.raises(Refused, match="ahead of real time"):
        client.session.binary(mulaw(1.0, 2))


def test_durations_round_trip() -> None:
    """Positions are ISO 8601 seconds: PT1.25S, exact to the 8 kHz sample."""
    assert duration("PT1.25S", "x") == 1.25 and duration("PT0S", "x") == 0
    assert format_duration(12345 / 8000) == "PT1.543125S" and format_duration(0) == "PT0S"
    for bad in ("1.25", "PT-1S", "P1D", 3):
        with pytest.raises(Refused):
            duration(bad, "x")


# -- signatures -------------------------------------------------------------

# The spec's example handshake (session walkthrough, "establishing connection").
EXAMPLE = {
    "Host": "audiohook.example.com",
    "Audiohook-Organization-Id": "d7934305-0972-4844-938e-9060eef73d05",
    "Audiohook-Correlation-Id": "e160e428-53e2-487c-977d-96989bf5c99d",
    "Audiohook-Session-Id": "30b0e395-84d3-4570-ac13-9a62d8f514c0",
    "X-API-KEY": KEY,
    "Signature": "sig1=:NZBwyBHRRyRoeLqy1IzOa9VYBuI8TgMFt2GRDkDuJh4=:",
    "Signature-Input": 'sig1=("@request-target" "@authority" "audiohook-organization-id" '
    '"audiohook-session-id" "audiohook-correlation-id" "x-api-key");'
    'keyid="SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh";nonce="VGhpc0lzQVVuaXF1ZU5vbmNl";'
    'alg="hmac-sha256";created=1641013200;expires=3282026430',
}
TARGET = "/api/v1/voicebiometrics/ws"
CREATED = 1641013200


def test_the_spec_example_signature_verifies() -> None:
    """The spec's example request and secret verify; sign() reproduces its signature."""
    verify_signature(EXAMPLE, TARGET, SECRET, now=CREATED + 1)
    made = sign(
        EXAMPLE,
        TARGET,
        SECRET,
        created=CREATED,
        nonce="VGhpc0lzQVVuaXF1ZU5vbmNl",
        expires=3282026430,
    )
    assert made["Signature"] == EXAMPLE["Signature"]


@pytest.mark.parametrize(
    ("change", "now"),
    [
        ({"X-API-KEY": "another-key-000000"}, CREATED),  # a header changed after signing
        ({"Audiohook-Session-Id": "b" * 36}, CREATED),
        ({"Host": "evil.example.com"}, CREATED),
        ({"Signature": "sig1=:AAAA:"}, CREATED),
        ({"Signature": ""}, CREATED),  # unsigned
        ({}, CREATED + 60),  # too old: a replay
        ({}, CREATED - 60),  # created in the future
    ],
)
def test_a_bad_signature_is_refused(change: dict[str, str], now: float) -> None:
    """Any signed header changed, a wrong MAC, no signature, a stale one: 4001."""
    with pytest.raises(Refused) as refused:
        verify_signature({**EXAMPLE, **change}, TARGET, SECRET, now=now)
    assert refused.value.code == Close.UNAUTHORIZED
    verify_signature(EXAMPLE, TARGET, SECRET, now=CREATED)  # the unchanged one still does


def test_a_signature_not_covering_every_header_is_refused() -> None:
    """A signature over fewer components than Genesys signs is no proof: refused."""
    partial = dict(EXAMPLE)
    partial["Signature-Input"] = partial["Signature-Input"].replace(' "x-api-key"', "")
    with pytest.raises(Refused, match="signature missing or invalid"):
        verify_signature(partial, TARGET, SECRET, now=CREATED)


def test_a_token_with_a_secret_needs_the_signature() -> None:
    """open on a token with a secret: a valid signature opens, none is unauthorized."""
    key = "k" * 24
    base = {"Host": "edge.example.org", "Audiohook-Session-Id": SESSION, "X-API-KEY": key}
    base |= {"Audiohook-Organization-Id": "o", "Audiohook-Correlation-Id": "c"}
    now = 1_700_000_000.0
    signed = base | sign(base, "/audiohook", SECRET, created=int(now), nonce="n" * 22)
    good = AudioHookSession(signed, "/audiohook", tokens=Tokens(TOKENS), wall=lambda: now)
    assert isinstance(Client(good).open(), Started)
    bare = AudioHookSession(base, "/audiohook", tokens=Tokens(TOKENS), wall=lambda: now)
    with pytest.raises(Refused) as refused:
        Client(bare).open()
    assert refused.value.code == Close.UNAUTHORIZED


# -- over a real socket, no models needed -----------------------------------


@pytest.fixture(scope="module")
def bare():
    """A service with tokens and no engine: refusals and probes need no models."""
    with ServiceThread(Config(tokens=TOKENS), None) as thread:
        yield thread


def test_a_bad_api_key_gets_disconnect_closed_and_4001(bare) -> None:
    """Over the socket: disconnect (unauthorized), closed after close, then close code 4001."""
    client = AudioHookClient(bare.ws + "/audiohook", "x" * 24)
    with pytest.raises(Disconnected) as refused:
        asyncio.run(client.stream(np.zeros(800)))
    assert refused.value.parameters["reason"] == "unauthorized"
    assert [m["type"] for m in client.received] == ["disconnect", "closed"]
    assert client.close_code == Close.UNAUTHORIZED


def test_the_probe_and_a_signed_handshake_over_the_socket(bare) -> None:
    """A signed probe (real Host, target and headers) is opened and closed with code 1000."""
    client = AudioHookClient(bare.ws + "/audiohook", "k" * 24, secret=SECRET)
    client.conversation_id = NULL_UUID
    asyncio.run(client.stream(np.zeros(800)))
    assert [m["type"] for m in client.received] == ["opened", "closed"]
    assert client.close_code == Close.NORMAL
    wrong = AudioHookClient(bare.ws + "/audiohook", "k" * 24, secret="AAAAAAAAAAAAAAAAAAAAAA==")
    wrong.conversation_id = NULL_UUID
    with pytest.raises(Disconnected):
        asyncio.run(wrong.stream(np.zeros(800)))


def test_garbage_on_the_socket_is_disconnected_with_its_code(bare, monkeypatch) -> None:
    """A client that breaks the rules and never closes: disconnect, then the socket's code."""
    monkeypatch.setattr("edge.server.app.AUDIOHOOK_CLOSE_WAIT", 0.5)
    headers = {"X-API-KEY": KEY, "Audiohook-Session-Id": SESSION}
    with connect(bare.ws + "/audiohook", additional_headers=headers) as ws:
        ws.send(json.dumps({"version": "2", "type": "open", "seq": 3, "serverseq": 0}))
        disconnect = json.loads(ws.recv(timeout=10))
        assert (
            disconnect["type"] == "disconnect"
            and "out of order" in disconnect["parameters"]["info"]
        )
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
    assert ws.close_code == Close.BAD_MESSAGE


# -- end to end: a stereo call through AudioHook to an agent ----------------


def heard_of(events: list[dict[str, Any]], role: str) -> str:
    """A role's final transcript, punctuation and case aside."""
    finals = (m["text"] for m in events if m["type"] == "transcript.final" and m["role"] == role)
    return wer_text(" ".join(finals))


@pytest.mark.slow
def test_an_audiohook_stereo_call_reaches_its_agent(engine) -> None:
    """The sample call streamed by AudioHook in real time: caller and agent transcripts, a cue.

    The client pauses once (between two turns) and pings throughout; the
    agent subscriber sees both parties' words (punctuation aside) and a cue.
    """
    caller, agent = decode_audio(str(SAMPLE), sampling_rate=8000, split_stereo=True)
    config = Config(tokens=TOKENS)
    with ServiceThread(config, engine) as service:
        client = AudioHookClient(
            service.ws + "/audiohook",
            KEY,
            conversation_id=str(uuid.uuid4()),
            custom_config={"agent_id": "a-ah", "team": "cardiology"},
        )
        with subscriber(service.ws, view="agent", token="a" * 24) as (sub, hello):
            assert hello["type"] == "subscribed"
            # The subscriber reads meanwhile: an unread one is dropped as too slow.
            streaming = threading.Thread(
                target=asyncio.run, args=(client.stream(caller, agent, pause=(5.4, 0.8)),)
            )
            streaming.start()
            got = messages(sub, until="call.ended", timeout=120)
            streaming.join(30)
    kinds = [m["type"] for m in client.received]
    assert kinds[0] == "opened" and kinds[-1] == "closed" and "pong" in kinds
    assert client.selected == STEREO and client.rtts
    assert all(m["call_id"] == client.conversation_id for m in got)
    script = json.loads(SAMPLE.with_suffix(".json").read_text())
    for role in ("caller", "agent"):
        said = " ".join(t["text"] for t in script["turns"] if t["role"] == role)
        heard = heard_of(got, role)
        wer = jiwer.wer(wer_text(said), heard)
        print(f"{role}: WER {wer:.3f} (8 kHz PCMU): {heard}")
        assert wer < 0.4  # telephone band, tiny model: about 0.2-0.3 (16 kHz: < 0.25)
    assert "waiting over a week for a refill" in heard_of(got, "caller")
    assert "how can i help you" in heard_of(got, "agent")  # "today" varies with the decoder build
    assert any(m["type"] == "cue.raised" for m in got)
