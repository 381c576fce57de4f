import numpy as np
import pytest

from edge.audio import g711


def test_decode_reference_codes():
    """Known G.711 code points decode to the ITU values."""
    assert g711.mulaw_to_pcm16(bytes([0xFF, 0x7F, 0x80, 0x00])).tolist() == [0, 0, 32124, -32124]
    assert g711.alaw_to_pcm16(bytes([0xD5, 0x55, 0xAA, 0x2A])).tolist() == [8, -8, 32256, -32256]


def test_matches_cpython_audioop_exactly():
    """Encode and decode agree with CPython's audioop (the C reference) for every value."""
    audioop = pytest.importorskip("audioop")
    pcm = np.arange(-32768, 32768, dtype=np.int16)
    codes = np.arange(256, dtype=np.uint8).tobytes()
    assert (
        g711.pcm16_to_mulaw(pcm) == np.frombuffer(audioop.lin2ulaw(pcm.tobytes(), 2), np.uint8)
    ).all()
    assert (
        g711.pcm16_to_alaw(pcm) == np.frombuffer(audioop.lin2alaw(pcm.tobytes(), 2), np.uint8)
    ).all()
    assert (g711.mulaw_to_pcm16(codes) == np.frombuffer(audioop.ulaw2lin(codes, 2), np.int16)).all()
    assert (g711.alaw_to_pcm16(codes) == np.frombuffer(audioop.alaw2lin(codes, 2), np.int16)).all()


@pytest.mark.parametrize(
    "encode,decode",
    [
        (g711.pcm16_to_mulaw, g711.mulaw_to_pcm16),
        (g711.pcm16_to_alaw, g711.alaw_to_pcm16),
    ],
)
def test_round_trip_keeps_a_sine_within_companding_error(encode, decode):
    """A round trip through G.711 keeps a 1 kHz tone at about 38 dB SNR."""
    t = np.arange(8000) / 8000
    pcm = g711.float_to_pcm16(0.5 * np.sin(2 * np.pi * 1000 * t))
    back = decode(encode(pcm)).astype(np.float64)
    noise = back - pcm
    snr = 10 * np.log10(np.mean(pcm.astype(np.float64) ** 2) / np.mean(noise**2))
    assert snr > 30


def test_mulaw_round_trip_is_the_channel_quantisation():
    """Float audio through mu-law comes back within one quantisation step, silence exactly."""
    x = np.linspace(-0.9, 0.9, 10_001, dtype=np.float32)
    y = g711.mulaw_round_trip(x)
    assert y.dtype == np.float32 and y.shape == x.shape
    loud = np.abs(x) > 0.01
    assert np.max(np.abs(y - x)[loud] / np.abs(x[loud])) < 0.07  # logarithmic steps, ~6 %
    assert np.max(np.abs(y - x)[~loud]) < 0.0005  # near zero the steps are linear and tiny
    assert g711.mulaw_round_trip(np.zeros(4, np.float32)).tolist() == [0.0] * 4
    assert not np.array_equal(y, x)  # it does quantise
