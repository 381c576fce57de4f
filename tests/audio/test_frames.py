import numpy as np
import pytest

from edge.audio.frames import Framer, Splitter, parse_channel_map
from edge.errors import ConfigError
from edge.types import FRAME_SAMPLES, SAMPLE_RATE, Role


def test_framer_cuts_whole_frames_with_contiguous_timestamps():
    """Uneven blocks come out as 512-sample frames whose times follow on exactly."""
    framer = Framer(Role.CALLER)
    frames = []
    for size in (100, 700, 1500, 3):
        frames += framer.feed(np.ones(size, dtype=np.float32))
    frames += framer.flush()
    assert [len(f.samples) for f in frames] == [FRAME_SAMPLES] * 5
    assert [f.start for f in frames] == [i * FRAME_SAMPLES / SAMPLE_RATE for i in range(5)]
    assert frames[-1].samples[2303 - 4 * 512 :].sum() == 0  # padding is silence


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000])
def test_splitter_resamples_any_rate_to_16k_keeping_pitch_and_length(rate):
    """A 440 Hz tone stays 440 Hz and 2 s long after resampling, streamed in blocks."""
    t = np.arange(2 * rate) / rate
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[:, None]
    splitter = Splitter(rate, 1, parse_channel_map("caller"))
    frames = []
    for i in range(0, len(tone), 1000):
        frames += splitter.feed(tone[i : i + 1000])
    frames += splitter.feed(tone[:0], last=True)
    audio = np.concatenate([f.samples for f in frames])
    assert abs(len(audio) - 2 * SAMPLE_RATE) <= FRAME_SAMPLES
    spectrum = np.abs(np.fft.rfft(audio[1000:30000]))
    peak = np.argmax(spectrum) * SAMPLE_RATE / 29000
    assert abs(peak - 440) < 3


def test_stereo_channels_map_to_roles_in_the_order_given():
    """--channels agent,caller puts the left channel on the agent."""
    left, right = np.full((1024, 1), 0.1, np.float32), np.full((1024, 1), -0.2, np.float32)
    splitter = Splitter(SAMPLE_RATE, 2, parse_channel_map("agent,caller"))
    frames = splitter.feed(np.hstack([left, right]))
    by_role = {f.role: f.samples[0] for f in frames}
    assert by_role[Role.AGENT] == pytest.approx(0.1)
    assert by_role[Role.CALLER] == pytest.approx(-0.2)
    assert [f.role for f in frames][:2] == [Role.AGENT, Role.CALLER]


def test_mono_input_is_the_first_role_only():
    """A mono recording is the caller alone."""
    splitter = Splitter(SAMPLE_RATE, 1, parse_channel_map("caller,agent"))
    assert splitter.roles == (Role.CALLER,)


@pytest.mark.parametrize(
    "text,message",
    [
        ("caller,bob", "'bob' is not known"),
        ("-,-", "names no role"),
        ("caller,caller", "names a role twice"),
    ],
)
def test_bad_channel_maps_say_what_is_wrong(text, message):
    """A bad --channels value names the problem."""
    with pytest.raises(ConfigError, match=message):
        parse_channel_map(text)
