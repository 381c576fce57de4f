"""The ingest protocols as a state machine: messages in, frames and errors out."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from edge.audio import g711
from edge.server.ingest import (
    Audio,
    Dialect,
    Ignored,
    IngestSession,
    SourcePace,
    Started,
    Stopped,
    started_message,
    stopped_message,
)
from edge.server.protocol import Close, Refused
from edge.types import Role


def start(**fields: object) -> str:
    body = {"type": "start", "call_id": "c1", "sample_rate": 16000, "encoding": "pcm16"}
    body.update(fields)
    return json.dumps(body)


def pcm(seconds: float, rate: int = 16000, channels: int = 1) -> bytes:
    n = int(seconds * rate)
    tone = (0.3 * np.sin(np.arange(n) * 2 * np.pi * 220 / rate)).astype(np.float32)
    block = np.repeat(tone[:, None], channels, axis=1)
    return g711.float_to_pcm16(block.reshape(-1)).astype("<i2").tobytes()


def test_native_call_yields_frames_per_role_and_flushes_on_stop() -> None:
    """Start, stereo audio, stop: frames for both roles, the last partial frame padded."""
    session = IngestSession()
    started = session.text(start(channels=["caller", "agent"]))
    assert isinstance(started, Started)
    assert started.info.roles == (Role.CALLER, Role.AGENT)
    assert started.info.dialect is Dialect.NATIVE
    audio = session.binary(pcm(1.0, channels=2))
    assert isinstance(audio, Audio)
    roles = {f.role for f in audio.frames}
    assert roles == {Role.CALLER, Role.AGENT}
    stopped = session.text('{"type": "stop"}')
    assert isinstance(stopped, Stopped)
    total = len(audio.frames) + len(stopped.frames)
    assert total == 2 * -(-16000 // 512)


def test_8khz_mulaw_is_resampled_to_16khz() -> None:
    """Telephone audio comes out as 16 kHz frames of the same duration."""
    session = IngestSession()
    session.text(start(sample_rate=8000, encoding="mulaw"))
    samples = np.frombuffer(pcm(2.0, rate=8000), dtype="<i2")
    audio = session.binary(g711.pcm16_to_mulaw(samples).tobytes())
    stopped = session.text('{"type": "stop"}')
    frames = audio.frames + stopped.frames
    assert abs(frames[-1].end - 2.0) < 0.05


@pytest.mark.parametrize(
    ("messages", "code", "words"),
    [
        (["not json"], Close.BAD_MESSAGE, "not JSON"),
        (["[1, 2]"], Close.BAD_MESSAGE, "JSON object"),
        (['{"type": "hello"}'], Close.BAD_MESSAGE, "unknown message type"),
        (['{"call_id": "x"}'], Close.BAD_MESSAGE, "no 'type'"),
        ([b"\x00\x00"], Close.BAD_MESSAGE, "audio before start"),
        (['{"type": "stop"}'], Close.BAD_MESSAGE, "stop before start"),
        ([start(encoding="opus")], Close.UNSUPPORTED, "encoding"),
        ([start(encoding="f32")], Close.UNSUPPORTED, "encoding"),
        ([start(sample_rate=11025)], Close.UNSUPPORTED, "sample_rate"),
        ([start(sample_rate="16000")], Close.UNSUPPORTED, "sample_rate"),
        ([start(protocol=2)], Close.UNSUPPORTED, "protocol"),
        ([start(call_id="")], Close.BAD_MESSAGE, "call_id"),
        ([start(call_id="a b/c")], Close.BAD_MESSAGE, "call_id"),
        ([start(channels=["caller", "caller"])], Close.BAD_MESSAGE, "at most once"),
        ([start(channels=["patient"])], Close.BAD_MESSAGE, "not known"),
        ([start(channels="caller")], Close.BAD_MESSAGE, "list"),
        ([start(live="yes")], Close.BAD_MESSAGE, "live"),
        ([start(agent_id=7)], Close.BAD_MESSAGE, "agent_id"),
        ([start(), start()], Close.BAD_MESSAGE, "second start"),
        ([start(), b"\x00\x00\x00"], Close.BAD_MESSAGE, "whole number"),
        ([start(), pcm(11.0)], Close.TOO_BIG, "10 s"),
        ([start(), '{"type": "stop"}', b"\x00\x00"], Close.BAD_MESSAGE, "after stop"),
    ],
)
def test_bad_native_input_is_refused_with_a_reason(messages, code, words) -> None:
    """Each malformed or unexpected message raises one error with a close code and a reason."""
    session = IngestSession()
    with pytest.raises(Refused) as raised:
        for message in messages:
            if isinstance(message, bytes):
                session.binary(message)
            else:
                session.text(message)
    assert raised.value.code == code
    assert words in str(raised.value)
    assert "\n" not in str(raised.value)


def twilio_start(tracks: list[str] | None = None, **media: object) -> str:
    return json.dumps(
        {
            "event": "start",
            "sequenceNumber": "1",
            "streamSid": "MZ1",
            "start": {
                "streamSid": "MZ1",
                "callSid": "CA123",
                "tracks": tracks or ["inbound", "outbound"],
                "customParameters": {"agent_id": "a17", "team": "cardiology", "token": "t" * 20},
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}
                | media,
            },
        }
    )


def twilio_media(track: str, payload: bytes, timestamp_ms: int) -> str:
    return json.dumps(
        {
            "event": "media",
            "streamSid": "MZ1",
            "media": {
                "track": track,
                "chunk": "1",
                "timestamp": str(timestamp_ms),
                "payload": base64.b64encode(payload).decode(),
            },
        }
    )


def test_twilio_stream_maps_tracks_to_roles_and_fills_gaps() -> None:
    """inbound is the caller, outbound the agent; a late chunk is placed by its timestamp."""
    session = IngestSession()
    assert isinstance(session.text('{"event": "connected", "protocol": "Call"}'), Ignored)
    started = session.text(twilio_start())
    assert isinstance(started, Started)
    info = started.info
    assert (info.call_id, info.agent_id, info.team) == ("CA123", "a17", "cardiology")
    assert info.roles == (Role.CALLER, Role.AGENT)
    assert info.token == "t" * 20
    chunk = g711.pcm16_to_mulaw(np.zeros(160, np.int16)).tobytes()  # 20 ms
    caller = [session.text(twilio_media("inbound", chunk, 20 * k)) for k in range(50)]
    agent = session.text(twilio_media("outbound", chunk, 980))  # agent speaks at 0.98 s only
    assert isinstance(session.text('{"event": "mark", "mark": {"name": "x"}}'), Ignored)
    end = session.text('{"event": "stop", "stop": {}}')
    caller_frames = [f for r in caller for f in r.frames] + [
        f for f in end.frames if f.role is Role.CALLER
    ]
    agent_frames = agent.frames + [f for f in end.frames if f.role is Role.AGENT]
    assert all(f.role is Role.CALLER for r in caller for f in r.frames)
    assert abs(caller_frames[-1].end - 1.0) < 0.05
    assert abs(agent_frames[-1].end - 1.0) < 0.05  # 0.98 s of silence, then 20 ms


@pytest.mark.parametrize(
    ("messages", "code", "words"),
    [
        (['{"event": "media", "media": {"payload": ""}}'], Close.BAD_MESSAGE, "before 'start'"),
        ([twilio_start(encoding="audio/l16")], Close.UNSUPPORTED, "not supported"),
        ([twilio_start(sampleRate=16000)], Close.UNSUPPORTED, "not supported"),
        ([twilio_start(tracks=["both_tracks"])], Close.BAD_MESSAGE, "tracks"),
        (
            [twilio_start(), '{"event": "media", "media": {"track": "inbound", "payload": "@@"}}'],
            Close.BAD_MESSAGE,
            "base64",
        ),
        ([twilio_start(), '{"event": "media", "media": {}}'], Close.BAD_MESSAGE, "payload"),
        ([twilio_start(), '{"event": "bogus"}'], Close.BAD_MESSAGE, "unknown Twilio event"),
        ([twilio_start(), twilio_start()], Close.BAD_MESSAGE, "second Twilio"),
        (
            [twilio_start(["inbound"]), twilio_media("outbound", b"\xff", 0)],
            Close.BAD_MESSAGE,
            "not named",
        ),
        ([twilio_start(), "[]"], Close.BAD_MESSAGE, "JSON object"),
    ],
)
def test_bad_twilio_input_is_refused_with_a_reason(messages, code, words) -> None:
    """Malformed Twilio messages get a close code and a one-line reason."""
    session = IngestSession()
    with pytest.raises(Refused) as raised:
        for message in messages:
            session.text(message)
    assert raised.value.code == code
    assert words in str(raised.value)


def test_binary_audio_on_a_twilio_stream_is_refused() -> None:
    """Twilio sends JSON media only: a binary message is a protocol error."""
    session = IngestSession()
    session.text(twilio_start())
    with pytest.raises(Refused, match="not binary"):
        session.binary(b"\x00\x00")


def test_the_replies_say_protocol_call_and_drops() -> None:
    """`started` names the protocol and call; `stopped` the frames dropped."""
    session = IngestSession()
    result = session.text(start())
    assert isinstance(result, Started)
    assert json.loads(started_message(result.info)) == {
        "type": "started",
        "protocol": 1,
        "call_id": "c1",
    }
    assert json.loads(stopped_message("c1", 3)) == {
        "type": "stopped",
        "call_id": "c1",
        "dropped_frames": 3,
    }


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_live_source_may_not_run_ahead_of_real_time() -> None:
    """Audio up to the bound ahead of the wall clock is taken; past it the call is refused."""
    clock = Clock()
    session = IngestSession(max_ahead_seconds=3.0, clock=clock)
    session.text(start())
    for _ in range(3):  # 3 s of audio at once: at the bound, taken
        assert isinstance(session.binary(pcm(1.0)), Audio)
    clock.now += 2.0  # 2 s later, 2 s more may come
    session.binary(pcm(1.0))
    session.binary(pcm(1.0))
    with pytest.raises(Refused) as raised:
        session.binary(pcm(0.1))
    assert raised.value.code == Close.BAD_MESSAGE
    assert "faster than real time" in str(raised.value)


def test_an_upload_is_not_bound_to_real_time() -> None:
    """live: false is read at the pipeline's pace, however far ahead of the wall clock."""
    session = IngestSession(max_ahead_seconds=3.0, clock=Clock())
    session.text(start(live=False))
    frames = [f for _ in range(20) for f in session.binary(pcm(1.0)).frames]
    assert abs(frames[-1].end - 20.0) < 0.05


def test_a_twilio_timestamp_jump_makes_no_hours_of_silence() -> None:
    """Each media 60 s later than the last: refused at once, not minutes of silence per message."""
    clock = Clock()
    session = IngestSession(max_ahead_seconds=3.0, clock=clock)
    session.text(twilio_start(["inbound"]))
    chunk = g711.pcm16_to_mulaw(np.zeros(160, np.int16)).tobytes()
    frames = 0
    with pytest.raises(Refused) as raised:
        for k in range(100):
            clock.now += 0.02
            frames += len(session.text(twilio_media("inbound", chunk, 60_000 * k)).frames)
    assert raised.value.code == Close.BAD_MESSAGE
    assert "ahead of real time" in str(raised.value)
    assert frames <= 1  # the first 20 ms only


def test_twilio_gaps_within_real_time_are_still_filled() -> None:
    """A track silent for a while (timestamps follow the wall clock) is aligned with silence."""
    clock = Clock()
    session = IngestSession(max_ahead_seconds=3.0, clock=clock)
    session.text(twilio_start(["inbound"]))
    chunk = g711.pcm16_to_mulaw(np.zeros(160, np.int16)).tobytes()
    session.text(twilio_media("inbound", chunk, 0))
    clock.now += 20.0
    session.text(twilio_media("inbound", chunk, 20_000))
    end = session.text('{"event": "stop", "stop": {}}')
    assert abs(end.frames[-1].end - 20.02) < 0.05  # 20 s of silence, then 20 ms


def test_a_source_pace_survives_a_stall_of_a_busy_service() -> None:
    """13 real-time calls read 2 s late (the service's loop was busy): each call's 2 s
    arrive at once and are taken; the source's allowance is its open calls' (issue 15)."""
    clock = Clock()
    pace = SourcePace("pbx", 15.0, clock)
    pace.calls = 13
    for _ in range(10):  # 10 s at real-time pace, read every 0.1 s
        clock.now += 0.1
        for _ in range(13):
            pace.take(0.1)
    clock.now += 2.0  # nothing read for 2 s
    for _ in range(13):
        pace.take(2.0)


def test_a_reconnecting_source_still_gets_one_calls_allowance() -> None:
    """One call open at a time, reconnecting after each refusal: max_ahead_seconds in all."""
    clock = Clock()
    pace = SourcePace("pbx", 15.0, clock)
    pace.calls = 1
    pace.take(15.0)
    with pytest.raises(Refused) as raised:
        pace.take(1.0)  # the next connection of the same source
    assert raised.value.code == Close.TRY_LATER
    assert "faster than real time over its calls" in str(raised.value)
