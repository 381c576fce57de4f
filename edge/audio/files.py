"""The one way to read an audio file: PyAV decodes it, libsoxr brings it to 16 kHz.

:class:`~edge.audio.sources.FileSource` (``edge replay``, the benchmarks),
``edge stream`` and the training and evaluation scripts all read recordings
here, so a file gives the same samples wherever it is read:

    info = probe(path)              # rate and channels, or one clear AudioError
    for block in blocks(info): ...  # (samples, channels) float32 at the file's rate
    audio = read_audio(path)        # the whole file at 16 kHz, (samples, channels)

Resampling is the pipeline's streaming :class:`~edge.audio.frames.Resampler`
(soxr, HQ), fed block by block, so a whole file read here equals the frames a
``FileSource`` makes of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from edge.audio.frames import Resampler, Samples
from edge.errors import AudioError


@dataclass(frozen=True)
class AudioInfo:
    """A readable audio file: where it is, its sample rate and its channel count."""

    path: Path
    rate: int
    channels: int


def probe(path: str | Path) -> AudioInfo:
    """Check that ``path`` is an audio file FFmpeg reads, before anything starts on it."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: no such file; check the path")
    try:
        container = av.open(str(path))
    except av.FFmpegError as e:
        raise AudioError(
            f"{path}: not a readable audio file ({_ffmpeg_reason(e)}); "
            "convert it to WAV, FLAC, OGG or MP3"
        ) from e
    with container:
        if not container.streams.audio:
            raise AudioError(f"{path}: the file has no audio stream")
        stream = container.streams.audio[0]
        rate, channels = int(stream.rate or 0), int(stream.channels or 0)
    if rate <= 0 or channels <= 0:
        raise AudioError(f"{path}: the audio stream has no sample rate or channels")
    return AudioInfo(path, rate, channels)


def blocks(info: AudioInfo) -> Iterator[Samples]:
    """The decoded audio as (samples, channels) float32 blocks at the file's own rate."""
    try:
        with av.open(str(info.path)) as container:
            stream = container.streams.audio[0]
            # Only the sample format changes here; the rate is left to soxr.
            to_float = av.AudioResampler(format="fltp", layout=stream.layout, rate=info.rate)
            for packet_frame in container.decode(stream):
                for converted in to_float.resample(packet_frame):
                    yield converted.to_ndarray().T.astype(np.float32, copy=False)
            for converted in to_float.resample(None):
                yield converted.to_ndarray().T.astype(np.float32, copy=False)
    except av.FFmpegError as e:
        raise AudioError(
            f"{info.path}: decoding failed part way ({_ffmpeg_reason(e)}); "
            "the file may be truncated or corrupt"
        ) from e


def read_audio(path: str | Path, *, mono: bool = False) -> Samples:
    """The whole file at 16 kHz: (samples, channels), or (samples,) with ``mono``.

    ``mono`` mixes the channels into one (their mean); a mono file is returned as
    decoded, untouched.
    """
    info = probe(path)
    width = 1 if mono else info.channels
    resampler = Resampler(info.rate, width)
    parts = [resampler.feed(_mix(b) if mono else b) for b in blocks(info)]
    parts.append(resampler.feed(np.zeros((0, width), dtype=np.float32), last=True))
    audio = np.concatenate(parts).astype(np.float32, copy=False)
    return audio[:, 0] if mono else audio


def _mix(block: Samples) -> Samples:
    if block.shape[1] == 1:
        return block
    return block.mean(axis=1, keepdims=True, dtype=np.float32)


def _ffmpeg_reason(error: av.FFmpegError) -> str:
    return (getattr(error, "strerror", None) or str(error)).rstrip(".").lower()
