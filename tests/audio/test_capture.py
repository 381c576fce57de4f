"""Live capture: device choice, the callback buffer, framing, and a real PortAudio device."""

import asyncio
import logging
import threading
import time

import numpy as np
import pytest
from faster_whisper.audio import decode_audio

from edge.audio.capture import (
    BlockBuffer,
    DeviceCapture,
    DeviceInfo,
    DeviceOptions,
    DeviceSpec,
    LegFramer,
    LiveSource,
    find_device,
)
from edge.errors import AudioError, ConfigError
from edge.events import CallEnded, TranscriptFinal
from edge.pipeline.call import run_call
from edge.types import FRAME_SAMPLES, SAMPLE_RATE, CallId, Role
from tests.helpers import DATA, TIME_FACTOR, wer_text

pytest_plugins = ["tests.pulse"]  # the pulse and pipe_source fixtures

CALLER, AGENT = Role.CALLER, Role.AGENT

DEVICES = [
    DeviceInfo(0, "HDA Intel PCH: ALC892 Analog (hw:0,0)", 2, 44100, "ALSA"),
    DeviceInfo(1, "HDA Intel PCH: HDMI 0 (hw:0,3)", 0, 44100, "ALSA"),
    DeviceInfo(2, "USB Headset: Audio (hw:1,0)", 1, 48000, "ALSA"),
    DeviceInfo(3, "pulse", 32, 44100, "ALSA"),
    DeviceInfo(4, "default", 32, 44100, "ALSA", default=True),
    DeviceInfo(5, "default (2)", 2, 48000, "ALSA"),
]


def tone(freq, seconds, rate, amplitude=0.5):
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_hz(samples):
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return np.argmax(spectrum) * SAMPLE_RATE / len(samples)


def joined(frames, role):
    mine = [f for f in frames if f.role == role]
    return mine, np.concatenate([f.samples for f in mine]) if mine else np.zeros(0)


def assert_contiguous(frames):
    """Frame starts run 0, 32 ms, 64 ms, … with no gap and no overlap."""
    starts = np.array([f.start for f in frames])
    expected = np.arange(len(frames)) * FRAME_SAMPLES / SAMPLE_RATE
    assert np.allclose(starts, expected), starts[:5]
    assert all(len(f.samples) == FRAME_SAMPLES for f in frames)


# -- choosing a device ------------------------------------------------------------


def test_device_spec_is_an_index_or_part_of_a_name():
    """Digits name an index; anything else is part of a name; empty is refused."""
    assert DeviceSpec.parse("3") == DeviceSpec(index=3)
    assert DeviceSpec.parse(" USB Headset ") == DeviceSpec(name="USB Headset")
    with pytest.raises(ConfigError, match="device name is empty"):
        DeviceSpec.parse("  ")


def test_find_device_by_case_insensitive_substring_or_index():
    """A unique substring, any case, finds the device; so does its index."""
    assert find_device(DEVICES, DeviceSpec(name="usb headset")).index == 2
    assert find_device(DEVICES, DeviceSpec(name="ALC892")).index == 0
    assert find_device(DEVICES, DeviceSpec(index=3)).name == "pulse"


def test_a_whole_name_beats_longer_names_containing_it():
    """'default' is the device called default, not also 'default (2)'."""
    assert find_device(DEVICES, DeviceSpec(name="Default")).index == 4


def test_an_ambiguous_name_lists_the_candidates():
    """A name matching several input devices is refused, naming each of them."""
    with pytest.raises(AudioError) as error:
        find_device(DEVICES, DeviceSpec(name="HW:"))
    message = str(error.value)
    assert "matches" in message and "give more of the name" in message
    assert "ALC892" in message and "USB Headset" in message
    assert "HDMI" not in message  # an output-only device is no candidate


def test_an_absent_name_or_index_lists_the_input_devices():
    """No match: the error says so and lists every input device (outputs left out)."""
    with pytest.raises(AudioError, match=r"no input device name contains 'loopback'") as error:
        find_device(DEVICES, DeviceSpec(name="loopback"))
    assert "'pulse'" in str(error.value) and "HDMI" not in str(error.value)
    with pytest.raises(AudioError, match="no input device has index 1"):
        find_device(DEVICES, DeviceSpec(index=1))  # HDMI has no input channels


# -- the callback buffer ----------------------------------------------------------


def test_buffer_overflow_drops_the_oldest_and_counts_it():
    """Past capacity the oldest blocks go, counted in frames; the newest are kept."""
    buffer = BlockBuffer(capacity=1000, frame_bytes=4)
    blocks = [np.full(300, i, dtype=np.float32).tobytes() for i in range(6)]
    for block in blocks:
        buffer.push(block)
    assert buffer.received == 1800 and buffer.dropped == 900 and len(buffer) == 900
    kept = np.frombuffer(buffer.pop_all(), dtype=np.float32)
    assert list(np.unique(kept)) == [3, 4, 5]
    assert buffer.pop_all() == b"" and len(buffer) == 0


def test_device_callback_feeds_the_buffer_and_never_waits():
    """The PortAudio callback hands each block over and returns paContinue, full buffer or not."""
    capture = DeviceCapture(
        DEVICES[2], channels=1, rate=48000, options=DeviceOptions(buffer_seconds=0.1)
    )
    block = tone(440, 0.02, 48000).tobytes()  # 960 frames
    started = time.perf_counter()
    for _ in range(50):  # 1 s of audio into a 0.1 s buffer, nobody reading
        assert capture._callback(block, 960, None, 0) == (None, 0)
    assert time.perf_counter() - started < 0.5 * TIME_FACTOR
    assert capture.buffer.dropped == 50 * 960 - len(capture.buffer)
    assert len(capture.buffer) <= 4800 and capture.buffer.ready.is_set()
    held = len(capture.buffer)
    assert capture.read().shape == (held, 1)


# -- framing ---------------------------------------------------------------------


def test_stereo_48k_blocks_become_16k_frames_per_role():
    """Left goes to the caller, right to the agent, each resampled to 16 kHz."""
    framer = LegFramer((CALLER, AGENT))
    framer.start(48000)
    stereo = np.stack([tone(440, 1.0, 48000), tone(1000, 1.0, 48000)], axis=1)
    frames = []
    for i in range(0, 48000, 1000):  # odd-sized blocks, as a device delivers them
        frames += framer.feed(stereo[i : i + 1000])
    frames += framer.flush()
    caller, caller_audio = joined(frames, CALLER)
    agent, agent_audio = joined(frames, AGENT)
    assert_contiguous(caller)
    assert_contiguous(agent)
    assert len(caller_audio) == len(agent_audio) == 32 * FRAME_SAMPLES  # 1 s, last frame padded
    assert abs(peak_hz(caller_audio[:SAMPLE_RATE]) - 440) < 5
    assert abs(peak_hz(agent_audio[:SAMPLE_RATE]) - 1000) < 5


def test_an_outage_is_filled_with_silence_keeping_stream_time():
    """Audio, a stop, silence up to the wall clock, audio again: one seamless timeline."""
    framer = LegFramer((CALLER,))
    framer.start(44100)
    frames = framer.feed(tone(440, 1.0, 44100)[:, None])
    frames += framer.stop()
    frames += framer.fill_to(2.5)  # the device was away until 2.5 s into the call
    assert framer.seconds == pytest.approx(2.5, abs=1 / SAMPLE_RATE)
    assert framer.silence == pytest.approx(1.5 * SAMPLE_RATE, abs=SAMPLE_RATE * 0.01)
    framer.start(48000)  # it came back at another rate
    frames += framer.feed(tone(1000, 1.0, 48000)[:, None])
    frames += framer.flush()
    assert_contiguous(frames)
    audio = np.concatenate([f.samples for f in frames])
    assert abs(peak_hz(audio[: SAMPLE_RATE // 2]) - 440) < 5
    assert np.abs(audio[int(1.1 * SAMPLE_RATE) : int(2.4 * SAMPLE_RATE)]).max() == 0
    assert abs(peak_hz(audio[int(2.6 * SAMPLE_RATE) : int(3.4 * SAMPLE_RATE)]) - 1000) < 5
    assert framer.fill_to(1.0) == []  # never backwards


# -- a real device: PortAudio → ALSA pulse plugin → PulseAudio pipe source ----------


def capture_for(source, seconds, actions=()):
    """Read ``source`` for ``seconds``, running each (at, action) when its time comes."""
    pending = sorted(actions, key=lambda a: a[0])
    frames = []
    source.open()
    started = time.monotonic()
    try:
        while (elapsed := time.monotonic() - started) < seconds:
            while pending and pending[0][0] <= elapsed:
                pending.pop(0)[1]()
            frames += source.read()
        frames += source.finish()
    finally:
        source.close()
    return frames


def test_a_48k_device_is_captured_as_16k_frames(monkeypatch, pipe_source):
    """A 48 kHz device opened at 48 kHz: the caller's 1 kHz tone arrives as 16 kHz frames."""
    pipe = pipe_source(rate=48000, channels=1)
    for name, value in pipe.env.items():
        monkeypatch.setenv(name, value)
    source = LiveSource.from_specs(
        caller=DeviceSpec(name="pulse"), options=DeviceOptions(rate=48000)
    )
    assert source.roles == (CALLER,)
    pipe.play(tone(1000, 3.0, 48000))
    frames = capture_for(source, 1.5)
    assert_contiguous(frames)
    _, audio = joined(frames, CALLER)
    assert len(audio) / SAMPLE_RATE == pytest.approx(1.5, abs=0.3)
    loud = audio[np.abs(audio) > 0.1]
    assert len(loud) > 0.5 * SAMPLE_RATE
    assert abs(peak_hz(audio[-SAMPLE_RATE // 2 :]) - 1000) < 10
    assert np.abs(audio).max() == pytest.approx(0.5, abs=0.05)


def test_a_stereo_device_is_left_caller_right_agent(monkeypatch, pipe_source):
    """One stereo device at its default rate, read as a blocking AudioSource until stop():
    the left channel is the caller, the right the agent."""
    pipe = pipe_source(rate=44100, channels=2)
    for name, value in pipe.env.items():
        monkeypatch.setenv(name, value)
    source = LiveSource.from_specs(stereo=DeviceSpec(name="pulse"))
    assert source.roles == (CALLER, AGENT)
    pipe.play(np.stack([tone(440, 3.0, 44100), tone(1000, 3.0, 44100)], axis=1))
    stopper = threading.Timer(1.5, source.stop)
    stopper.start()
    frames = list(source.frames())
    stopper.join()
    caller, caller_audio = joined(frames, CALLER)
    agent, agent_audio = joined(frames, AGENT)
    assert_contiguous(caller)
    assert_contiguous(agent)
    assert abs(peak_hz(caller_audio[-SAMPLE_RATE // 2 :]) - 440) < 10
    assert abs(peak_hz(agent_audio[-SAMPLE_RATE // 2 :]) - 1000) < 10


def test_a_lost_device_is_filled_with_silence_and_reopened(monkeypatch, pipe_source, caplog):
    """The source goes away for ~1.5 s: one line logged, silence in its place, then audio again."""
    caplog.set_level(logging.WARNING, logger="edge.audio.capture")
    pipe = pipe_source(rate=48000, channels=1)
    for name, value in pipe.env.items():
        monkeypatch.setenv(name, value)
    source = LiveSource.from_specs(caller=DeviceSpec(name="pulse"))
    pipe.play(tone(440, 6.0, 48000))
    frames = capture_for(source, 4.5, [(1.0, pipe.unload), (2.5, pipe.load)])
    lost = [r for r in caplog.records if "lost" in r.getMessage()]
    back = [r for r in caplog.records if "is back" in r.getMessage()]
    assert len(lost) == 1 and len(back) == 1, caplog.text
    assert "pulse" in lost[0].getMessage() and "reopening every 1 s" in lost[0].getMessage()
    assert_contiguous(frames)  # stream time never jumped
    _, audio = joined(frames, CALLER)
    assert len(audio) / SAMPLE_RATE == pytest.approx(4.5, abs=0.3)  # kept up with the clock
    (stats,) = source.stats()
    assert stats.outages == 1 and 1.3 < stats.silence_seconds < 2.6
    assert np.abs(audio[int(1.4 * SAMPLE_RATE) : int(2.4 * SAMPLE_RATE)]).max() == 0
    assert abs(peak_hz(audio[int(0.2 * SAMPLE_RATE) : int(0.9 * SAMPLE_RATE)]) - 440) < 10
    assert abs(peak_hz(audio[int(3.8 * SAMPLE_RATE) : int(4.4 * SAMPLE_RATE)]) - 440) < 10


# -- the outage policy, scripted: a fake PortAudio and a fake clock -------------------


class FakeStream:
    def __init__(self, callback):
        self.callback = callback
        self.active = True

    def is_active(self):
        return self.active

    def close(self):
        self.active = False


class FakePortAudio:
    """Devices that come and go; an in-place open only finds devices of the last scan."""

    continue_flag, overflow_flag = 0, 2

    def __init__(self, devices):
        self.present = list(devices)
        self.scanned = list(devices)
        self.streams = {}
        self.rescans = 0

    def devices(self):
        return list(self.scanned)

    def open_input(self, device, *, channels, rate, frames_per_buffer, callback):
        if device not in self.scanned or device not in self.present:
            raise AudioError(f"{device.name} did not open")
        self.streams[device.name] = FakeStream(callback)
        return self.streams[device.name]

    def close_stream(self, stream):
        stream.close()

    def rescan(self):
        self.rescans += 1
        for stream in self.streams.values():
            stream.active = False
        self.scanned = list(self.present)

    def close(self):
        pass

    def unplug(self, name):
        self.present = [d for d in self.present if d.name != name]
        self.streams[name].active = False

    def speak(self, device, seconds):
        stream = self.streams.get(device.name)
        if stream is not None and stream.active:
            n = round(seconds * device.default_rate)
            stream.callback(tone(440, seconds, device.default_rate).tobytes(), n, None, 0)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_a_lost_device_waits_for_a_spaced_rescan_while_the_other_works(caplog):
    """Unplugged and replugged under a new index: the agent leg is found again by a rescan,
    spaced rescan_interval apart while the caller's device keeps working; both timelines
    stay whole."""
    caplog.set_level(logging.WARNING, logger="edge.audio.capture")
    loopback = DeviceInfo(1, "Softphone Loopback", 2, 48000, "ALSA")
    headset = DeviceInfo(2, "USB Headset", 1, 16000, "ALSA")
    portaudio, clock = FakePortAudio([loopback, headset]), Clock()
    source = LiveSource(
        portaudio,
        [(loopback, (CALLER,)), (headset, (AGENT,))],
        options=DeviceOptions(),
        clock=clock,
    )
    source.open()
    frames = []
    for step in range(1, 141):  # 14 s in steps of 0.1 s
        clock.now = step / 10
        if step == 10:
            portaudio.unplug("USB Headset")
        if step == 30:  # back, under another index: only a rescan sees it
            portaudio.present.append(DeviceInfo(5, "USB Headset", 1, 16000, "ALSA"))
        for device in portaudio.scanned:
            speaker = loopback if device.name == loopback.name else device
            portaudio.speak(speaker, 0.1)
        frames += source.read(timeout=0)
    frames += source.finish()
    source.close()
    messages = [r.getMessage() for r in caplog.records]
    assert sum("lost" in m for m in messages) == 1 and "agent device 2" in messages[0]
    assert portaudio.rescans == 2  # at the first attempt (t=2 s), then 10 s later
    assert any("agent device 5 'USB Headset' (ALSA) is back after 11.0 s" in m for m in messages)
    for role in (CALLER, AGENT):
        mine, audio = joined(frames, role)
        assert_contiguous(mine)
        assert len(audio) / SAMPLE_RATE == pytest.approx(14.0, abs=0.1)
    caller_stats, agent_stats = source.stats()
    assert caller_stats.outages == 0 and caller_stats.silence_seconds < 0.05
    assert agent_stats.outages == 1 and agent_stats.silence_seconds == pytest.approx(11, abs=0.2)


def test_buffer_overflow_is_logged_once_and_counted(caplog):
    """Audio read too late: the oldest is dropped, one warning, and the total at the end."""
    caplog.set_level(logging.WARNING, logger="edge.audio.capture")
    mic = DeviceInfo(0, "Mic", 1, 16000, "ALSA")
    portaudio, clock = FakePortAudio([mic]), Clock()
    source = LiveSource(
        portaudio, [(mic, (CALLER,))], options=DeviceOptions(buffer_seconds=1.0), clock=clock
    )
    source.open()
    for _ in range(3):
        for _ in range(15):  # 1.5 s per read into a 1 s buffer: 0.5 s too much
            portaudio.speak(mic, 0.1)
        clock.now += 1.5
        source.read(timeout=0)
    source.finish()
    source.close()
    (stats,) = source.stats()
    assert stats.dropped_seconds == pytest.approx(1.5, abs=0.01)
    messages = [r.getMessage() for r in caplog.records]
    assert sum("read too late; dropping the oldest" in m for m in messages) == 1
    assert any("1.50 s of audio dropped in all" in m for m in messages)


@pytest.mark.slow
def test_a_device_lost_mid_utterance_ends_that_utterance_and_the_call_goes_on(
    monkeypatch, pipe_source, engine
):
    """Speech captured from a real device that vanishes mid-word ("ask not" at 3.6 s) and
    returns at 5 s: the frames run through the real pipeline give the interrupted
    utterance its final (the gap is silence, a pause), and the speech after the device
    came back is transcribed too; the call ends normally."""
    pipe = pipe_source(rate=48000, channels=1)
    for name, value in pipe.env.items():
        monkeypatch.setenv(name, value)
    source = LiveSource.from_specs(caller=DeviceSpec(name="pulse"))
    speech = decode_audio(str(DATA / "jfk.flac"), sampling_rate=48000)
    pipe.play(speech)
    frames = capture_for(source, 10.5, [(3.6, pipe.unload), (5.0, pipe.load)])
    assert_contiguous(frames)

    async def batches():
        yield frames

    async def run():
        calls = run_call(engine, batches(), call_id=CallId("lost"), roles=(CALLER,), live=False)
        return [e async for e in calls]

    events = asyncio.run(run())
    finals = [e for e in events if isinstance(e, TranscriptFinal) and e.text]
    assert isinstance(events[-1], CallEnded)
    cut = [f for f in finals if f.start < 3.6 < f.end + 0.5]
    assert cut and cut[0].end < 3.8, [(f.text, f.start, f.end) for f in finals]
    after = wer_text(" ".join(f.text for f in finals if f.start > 5.0))
    assert "country" in after, [(f.text, f.start, f.end) for f in finals]
