import numpy as np
import pytest

from edge.audio.files import probe, read_audio
from edge.audio.frames import parse_channel_map
from edge.audio.sources import FileSource
from edge.errors import AudioError
from edge.types import SAMPLE_RATE
from tests.helpers import DATA, write_audio


def _pcm16_tone(rate, seconds=1.0, channels=1):
    """A tone already on the 16-bit grid, so a WAV holds it exactly."""
    t = np.arange(int(rate * seconds)) / rate
    tone = 0.2 * np.sin(2 * np.pi * 300.0 * t)
    steps = [np.round((k + 1) * tone * 32768) for k in range(channels)]
    return (np.stack(steps, axis=1) / 32768).astype(np.float32)


def test_16k_wav_reads_back_sample_for_sample(tmp_path):
    """A 16 kHz 16-bit file is returned exactly as stored: no resampling, no rounding."""
    tone = _pcm16_tone(SAMPLE_RATE)
    path = write_audio(tmp_path / "a.wav", tone, SAMPLE_RATE)
    audio = read_audio(path)
    assert audio.dtype == np.float32
    assert audio.shape == (SAMPLE_RATE, 1)
    np.testing.assert_array_equal(audio, tone)
    np.testing.assert_array_equal(read_audio(path, mono=True), tone[:, 0])


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_other_rates_come_back_at_16k(tmp_path, rate):
    """Any rate becomes 16 kHz, the same length in seconds."""
    path = write_audio(tmp_path / "a.flac", _pcm16_tone(rate), rate)
    assert probe(path).rate == rate
    audio = read_audio(path, mono=True)
    assert audio.ndim == 1
    assert abs(len(audio) - SAMPLE_RATE) <= 2
    assert 0.15 < np.abs(audio).max() < 0.25


def test_channels_are_kept_or_mixed(tmp_path):
    """Stereo stays two columns; ``mono`` gives their mean."""
    tone = _pcm16_tone(SAMPLE_RATE, channels=2)
    path = write_audio(tmp_path / "call.wav", tone, SAMPLE_RATE)
    assert probe(path).channels == 2
    audio = read_audio(path)
    np.testing.assert_array_equal(audio, tone)
    np.testing.assert_allclose(read_audio(path, mono=True), tone.mean(axis=1), atol=1e-7)


def test_a_whole_read_equals_the_pipeline_frames():
    """jfk.flac (44.1 kHz stereo) read whole gives the samples the pipeline's frames carry."""
    whole = read_audio(DATA / "jfk.flac")
    frames = FileSource(DATA / "jfk.flac", parse_channel_map("caller,-")).frames()
    framed = np.concatenate([f.samples for f in frames])
    assert whole.shape[1] == 2
    np.testing.assert_array_equal(framed[: len(whole)], whole[:, 0])
    assert not framed[len(whole) :].any()  # the last frame's padding


def test_a_file_that_is_not_audio_is_one_clear_error(tmp_path):
    """A text file is refused with one line that names it and suggests formats."""
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio at all\n" * 20)
    with pytest.raises(AudioError, match=r"notes\.wav: not a readable audio file .*WAV, FLAC"):
        read_audio(bad)


def test_a_missing_file_is_one_clear_error(tmp_path):
    """A path that does not exist says so."""
    with pytest.raises(AudioError, match="no such file; check the path"):
        read_audio(tmp_path / "nope.flac")
