"""G.711 mu-law and A-law, vectorised with lookup tables.

Telephone audio arrives as 8-bit G.711 at 8 kHz. Decoding is a 256-entry
table lookup; encoding (used to simulate the telephone channel in tests and
benchmarks) is computed once for all 65,536 int16 values and then looked up.
The bit layouts follow ITU-T G.711 as implemented in Sun's reference g711.c.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

_CODES = np.arange(256, dtype=np.int32)


def _mulaw_decode_table() -> npt.NDArray[np.int16]:
    u = ~_CODES & 0xFF
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(u & 0x80, -magnitude, magnitude).astype(np.int16)


def _alaw_decode_table() -> npt.NDArray[np.int16]:
    a = _CODES ^ 0x55
    exponent = (a >> 4) & 0x07
    mantissa = a & 0x0F
    magnitude = np.where(
        exponent == 0,
        (mantissa << 4) + 8,
        ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0),
    )
    return np.where(a & 0x80, magnitude, -magnitude).astype(np.int16)


_PCM = np.arange(-32768, 32768, dtype=np.int32)


def _mulaw_encode_table() -> npt.NDArray[np.uint8]:
    pcm = _PCM >> 2  # 14-bit, as in g711.c
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    pcm = np.minimum(np.abs(pcm), 8159) + 0x21
    segment = np.searchsorted(np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF]), pcm)
    code = (np.minimum(segment, 7) << 4) | ((pcm >> (segment + 1)) & 0x0F)
    code = np.where(segment >= 8, 0x7F, code)
    return ((code ^ mask) & 0xFF).astype(np.uint8)


def _alaw_encode_table() -> npt.NDArray[np.uint8]:
    pcm = _PCM >> 3
    mask = np.where(pcm >= 0, 0xD5, 0x55)
    pcm = np.where(pcm >= 0, pcm, -pcm - 1)
    segment = np.searchsorted(np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF]), pcm)
    shift = np.where(segment < 2, 1, segment)
    code = (np.minimum(segment, 7) << 4) | ((pcm >> shift) & 0x0F)
    code = np.where(segment >= 8, 0x7F, code)
    return ((code ^ mask) & 0xFF).astype(np.uint8)


MULAW_TO_PCM16 = _mulaw_decode_table()
ALAW_TO_PCM16 = _alaw_decode_table()
_PCM16_TO_MULAW = _mulaw_encode_table()
_PCM16_TO_ALAW = _alaw_encode_table()


def _as_codes(data: bytes | npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    return np.frombuffer(data, dtype=np.uint8) if isinstance(data, (bytes, bytearray)) else data


def mulaw_to_pcm16(data: bytes | npt.NDArray[np.uint8]) -> npt.NDArray[np.int16]:
    return MULAW_TO_PCM16[_as_codes(data)]


def alaw_to_pcm16(data: bytes | npt.NDArray[np.uint8]) -> npt.NDArray[np.int16]:
    return ALAW_TO_PCM16[_as_codes(data)]


def pcm16_to_mulaw(pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.uint8]:
    return _PCM16_TO_MULAW[pcm.astype(np.int32) + 32768]


def pcm16_to_alaw(pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.uint8]:
    return _PCM16_TO_ALAW[pcm.astype(np.int32) + 32768]


def float_to_pcm16(samples: npt.NDArray[np.floating]) -> npt.NDArray[np.int16]:
    return (np.clip(samples, -1.0, 32767 / 32768) * 32768).astype(np.int16)


def pcm16_to_float(pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.float32]:
    return pcm.astype(np.float32) / 32768.0


def mulaw_round_trip(samples: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
    """Float audio as it comes out of a G.711 mu-law channel (quantised, not resampled)."""
    return pcm16_to_float(mulaw_to_pcm16(pcm16_to_mulaw(float_to_pcm16(samples))))
