import io

import numpy as np
import pytest

from edge.audio import g711
from edge.audio.frames import parse_channel_map
from edge.audio.sources import Encoding, FileSource, RawSource
from edge.errors import AudioError, ConfigError
from edge.types import SAMPLE_RATE, Role
from tests.helpers import DATA, write_audio


def _tone(rate, seconds=1.5, freq=300.0, channels=1):
    t = np.arange(int(rate * seconds)) / rate
    tone = 0.4 * np.sin(2 * np.pi * freq * t)
    return np.stack([tone * (1 + k) / channels for k in range(channels)], axis=1)


@pytest.mark.parametrize(
    "name,rate",
    [
        ("a.wav", 8000),
        ("a.flac", 44100),
        ("a.ogg", 48000),
        ("a.mp3", 44100),
        ("a.wav", 16000),
    ],
)
def test_common_formats_decode_to_16k_frames_of_the_right_length(tmp_path, name, rate):
    """WAV, FLAC, OGG/Opus and MP3 at their usual rates all become 16 kHz frames."""
    path = write_audio(tmp_path / name, _tone(rate), rate)
    source = FileSource(path, parse_channel_map("caller,agent"))
    frames = list(source.frames())
    assert source.roles == (Role.CALLER,)
    duration = frames[-1].end
    assert 1.45 < duration < 1.65  # mp3/opus add a little encoder padding
    audio = np.concatenate([f.samples for f in frames])
    assert 0.2 < np.abs(audio).max() < 0.6


def test_stereo_file_splits_into_caller_and_agent(tmp_path):
    """Left and right channels of a stereo call become the two roles."""
    path = write_audio(tmp_path / "call.flac", _tone(16000, channels=2), 16000)
    frames = list(FileSource(path, parse_channel_map("caller,agent")).frames())
    peak = {role: max(np.abs(f.samples).max() for f in frames if f.role is role) for role in Role}
    assert peak[Role.CALLER] == pytest.approx(0.2, abs=0.01)
    assert peak[Role.AGENT] == pytest.approx(0.4, abs=0.01)


def test_jfk_recording_is_44k_stereo_and_decodes_to_11_seconds():
    """The shipped jfk.flac (44.1 kHz stereo) decodes to 11 s per channel."""
    source = FileSource(DATA / "jfk.flac", parse_channel_map("caller,-"))
    frames = list(source.frames())
    assert {f.role for f in frames} == {Role.CALLER}
    assert frames[-1].end == pytest.approx(11.0, abs=0.04)


def test_missing_file_is_one_clear_error(tmp_path):
    """A path that does not exist is reported as such."""
    with pytest.raises(AudioError, match="no such file"):
        FileSource(tmp_path / "nope.wav", parse_channel_map("caller"))


def test_corrupt_file_is_one_clear_error(tmp_path):
    """A file that is not audio says so and suggests a format."""
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF....WAVEfmt garbage" * 10)
    with pytest.raises(AudioError, match="not a readable audio file"):
        FileSource(bad, parse_channel_map("caller"))


def test_truncated_file_decodes_what_is_there_or_fails_clearly(tmp_path):
    """A FLAC cut in half never raises anything but AudioError."""
    path = write_audio(tmp_path / "a.flac", _tone(16000, seconds=4), 16000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    try:
        frames = list(FileSource(path, parse_channel_map("caller")).frames())
        assert frames[-1].end < 4
    except AudioError as e:
        assert str(path) in str(e)


@pytest.mark.parametrize("encoding", [Encoding.PCM16, Encoding.MULAW, Encoding.ALAW])
def test_raw_stream_at_8k_decodes_across_odd_chunk_boundaries(encoding):
    """Raw telephone audio on stdin, read in blocks that split samples, decodes fully."""
    tone = _tone(8000, seconds=1.0)[:, 0]
    pcm = g711.float_to_pcm16(tone)
    data = {
        Encoding.PCM16: pcm.astype("<i2").tobytes(),
        Encoding.MULAW: g711.pcm16_to_mulaw(pcm).tobytes(),
        Encoding.ALAW: g711.pcm16_to_alaw(pcm).tobytes(),
    }[encoding]
    source = RawSource(
        io.BytesIO(data),
        rate=8000,
        encoding=encoding,
        channels=1,
        channel_map=parse_channel_map("caller"),
        block_bytes=333,
    )
    frames = list(source.frames())
    audio = np.concatenate([f.samples for f in frames])
    assert abs(len(audio) - SAMPLE_RATE) <= 512
    assert np.abs(audio).max() == pytest.approx(0.4, abs=0.03)


def test_unknown_raw_encoding_lists_the_allowed_ones():
    """--encoding opus is refused with the list of raw encodings."""
    with pytest.raises(ConfigError, match="pcm16, mulaw, alaw, f32"):
        Encoding.parse("opus")


def test_unsupported_rate_is_refused():
    """A rate of 100 Hz is not audio we can use."""
    with pytest.raises(ConfigError, match="not supported"):
        RawSource(
            io.BytesIO(b""),
            rate=100,
            encoding=Encoding.PCM16,
            channels=1,
            channel_map=parse_channel_map("caller"),
        )
