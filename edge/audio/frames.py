"""Fixed-size frames per channel role: the pure pieces that cut and resample audio into them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import soxr

from edge.contracts import Frame, Samples
from edge.errors import ConfigError
from edge.types import FRAME_SAMPLES, SAMPLE_RATE, Role


class Framer:
    """Cuts a stream of 16 kHz samples for one role into whole frames."""

    def __init__(self, role: Role) -> None:
        self.role = role
        self._pending = np.zeros(0, dtype=np.float32)
        self._emitted = 0  # samples already handed out in frames

    def feed(self, samples: Samples) -> list[Frame]:
        data = np.concatenate([self._pending, samples.astype(np.float32, copy=False)])
        whole = len(data) // FRAME_SAMPLES * FRAME_SAMPLES
        frames = [self._frame(data[i : i + FRAME_SAMPLES]) for i in range(0, whole, FRAME_SAMPLES)]
        self._pending = data[whole:].copy()
        return frames

    def flush(self) -> list[Frame]:
        """The last partial frame, padded with silence."""
        if not len(self._pending):
            return []
        padded = np.zeros(FRAME_SAMPLES, dtype=np.float32)
        padded[: len(self._pending)] = self._pending
        self._pending = np.zeros(0, dtype=np.float32)
        return [self._frame(padded)]

    def _frame(self, samples: Samples) -> Frame:
        frame = Frame(self.role, self._emitted / SAMPLE_RATE, samples.copy())
        self._emitted += FRAME_SAMPLES
        return frame


class Resampler:
    """Streaming resampler from any rate to 16 kHz (libsoxr), several channels at once."""

    def __init__(self, rate: int, channels: int) -> None:
        if rate < 4000 or rate > 384_000:
            raise ConfigError(f"sample rate {rate} Hz is not supported: use 4000 to 384000 Hz")
        self._stream = (
            None
            if rate == SAMPLE_RATE
            else soxr.ResampleStream(rate, SAMPLE_RATE, channels, dtype="float32", quality="HQ")
        )

    def feed(self, block: Samples, *, last: bool = False) -> Samples:
        """``block`` is (samples, channels); returns the resampled (samples, channels)."""
        if self._stream is None:
            return block
        return self._stream.resample_chunk(np.ascontiguousarray(block), last=last)


ChannelMap = Sequence[Role | None]


def parse_channel_map(text: str) -> tuple[Role | None, ...]:
    """``"caller,agent"`` → channel 0 is the caller, 1 the agent; ``-`` skips a channel."""
    roles: list[Role | None] = []
    for name in (part.strip() for part in text.split(",")):
        if name in ("-", ""):
            roles.append(None)
            continue
        try:
            roles.append(Role(name))
        except ValueError:
            raise ConfigError(
                f"channel role {name!r} is not known: use caller, agent or - (skip), "
                "e.g. --channels caller,agent"
            ) from None
    named = [r for r in roles if r is not None]
    if not named:
        raise ConfigError("--channels names no role: give at least one of caller, agent")
    if len(set(named)) != len(named):
        raise ConfigError(f"--channels {text!r} names a role twice: each role takes one channel")
    return tuple(roles)


class Splitter:
    """Turns interleaved multi-channel blocks at any rate into frames per role.

    Channels beyond the map, and channels mapped to ``None``, are dropped.
    A mono input feeds only the first role of the map.
    """

    def __init__(self, rate: int, channels: int, channel_map: ChannelMap) -> None:
        self._used = [
            (i, role) for i, role in enumerate(channel_map[:channels]) if role is not None
        ]
        if not self._used:
            raise ConfigError(
                f"the audio has {channels} channel(s) but --channels maps none of them to a role"
            )
        self._resampler = Resampler(rate, len(self._used))
        self._framers = [Framer(role) for _, role in self._used]

    @property
    def roles(self) -> tuple[Role, ...]:
        return tuple(role for _, role in self._used)

    def feed(self, block: Samples, *, last: bool = False) -> list[Frame]:
        picked = block[:, [i for i, _ in self._used]].astype(np.float32, copy=False)
        resampled = self._resampler.feed(picked, last=last)
        per_role = [f.feed(resampled[:, k]) for k, f in enumerate(self._framers)]
        if last:
            per_role = [
                frames + f.flush() for frames, f in zip(per_role, self._framers, strict=False)
            ]
        return _interleave(per_role)


def _interleave(per_role: list[list[Frame]]) -> list[Frame]:
    """Frames of all roles in stream order (ties keep role order)."""
    merged = [frame for frames in per_role for frame in frames]
    return sorted(merged, key=lambda f: f.start)
