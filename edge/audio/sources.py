"""Where call audio comes from: recordings and raw PCM streams.

A source is an iterator of :class:`~edge.contracts.Frame` in stream order,
16 kHz mono float32 per role. Sources are synchronous and blocking; the
pipeline runs them off the event loop.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

import numpy as np

from edge.audio import g711
from edge.audio.files import blocks, probe
from edge.audio.frames import ChannelMap, Splitter
from edge.contracts import Frame
from edge.errors import ConfigError
from edge.types import Role


class AudioSource(Protocol):
    """Something that yields a call's frames, channel roles known up front."""

    @property
    def roles(self) -> tuple[Role, ...]: ...

    def frames(self) -> Iterator[Frame]: ...


class Encoding(str, enum.Enum):
    """Sample encodings of raw (headerless) audio."""

    PCM16 = "pcm16"  # signed 16-bit little-endian
    MULAW = "mulaw"  # G.711 mu-law, 8 bits
    ALAW = "alaw"  # G.711 A-law, 8 bits
    F32 = "f32"  # 32-bit float little-endian

    @property
    def width(self) -> int:
        return {Encoding.PCM16: 2, Encoding.MULAW: 1, Encoding.ALAW: 1, Encoding.F32: 4}[self]

    @classmethod
    def parse(cls, name: str) -> Encoding:
        try:
            return cls(name.lower().replace("-", "").replace("_", ""))
        except ValueError:
            allowed = ", ".join(e.value for e in cls)
            raise ConfigError(
                f"audio encoding {name!r} is not supported: use one of {allowed}"
            ) from None


def decode_raw(data: bytes, encoding: Encoding) -> np.ndarray:
    """Raw bytes (a whole number of samples) to float32 in [-1, 1]."""
    if encoding is Encoding.PCM16:
        return g711.pcm16_to_float(np.frombuffer(data, dtype="<i2"))
    if encoding is Encoding.MULAW:
        return g711.pcm16_to_float(g711.mulaw_to_pcm16(data))
    if encoding is Encoding.ALAW:
        return g711.pcm16_to_float(g711.alaw_to_pcm16(data))
    return np.frombuffer(data, dtype="<f4").astype(np.float32)


class FileSource:
    """A recording in any format FFmpeg reads (WAV, FLAC, OGG/Opus, MP3, …).

    Opening checks that the file exists and has an audio stream, so problems
    show up before the pipeline starts; :mod:`edge.audio.files` does the reading.
    """

    def __init__(self, path: str | Path, channel_map: ChannelMap) -> None:
        self.info = probe(path)
        self._channel_map = channel_map
        self._roles = Splitter(self.info.rate, self.info.channels, channel_map).roles

    @property
    def roles(self) -> tuple[Role, ...]:
        return self._roles

    def frames(self) -> Iterator[Frame]:
        splitter = Splitter(self.info.rate, self.info.channels, self._channel_map)
        for block in blocks(self.info):
            yield from splitter.feed(block)
        last = np.zeros((0, self.info.channels), dtype=np.float32)
        yield from splitter.feed(last, last=True)


class RawSource:
    """Headerless audio from a byte stream (e.g. stdin), interleaved channels."""

    def __init__(
        self,
        stream: BinaryIO,
        *,
        rate: int,
        encoding: Encoding,
        channels: int,
        channel_map: ChannelMap,
        block_bytes: int = 8192,
    ) -> None:
        if channels < 1 or channels > 8:
            raise ConfigError(f"raw audio channel count {channels} is not supported: use 1 to 8")
        self._stream = stream
        self._encoding = encoding
        self._channels = channels
        self._splitter = Splitter(rate, channels, channel_map)
        frame_bytes = encoding.width * channels
        self._block = max(frame_bytes, block_bytes // frame_bytes * frame_bytes)
        self._frame_bytes = frame_bytes

    @property
    def roles(self) -> tuple[Role, ...]:
        return self._splitter.roles

    def frames(self) -> Iterator[Frame]:
        leftover = b""
        while chunk := self._stream.read(self._block):
            data = leftover + chunk
            whole = len(data) // self._frame_bytes * self._frame_bytes
            leftover = data[whole:]
            samples = decode_raw(data[:whole], self._encoding).reshape(-1, self._channels)
            yield from self._splitter.feed(samples)
        yield from self._splitter.feed(np.zeros((0, self._channels), dtype=np.float32), last=True)
