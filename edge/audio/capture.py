"""Live capture from sound devices with PortAudio (PyAudio).

One *leg* is one input device feeding one role (a mono leg: the softphone's
loopback for the caller, the headset microphone for the agent) or several (a
stereo device: left caller, right agent)::

    PortAudio callback thread        reader thread (LiveSource.read)
    ─────────────────────────        ───────────────────────────────
    DeviceCapture._callback ──push─▶ BlockBuffer ──pop_all─▶ LegFramer ──▶ Frames
                                     (bounded,               (channels → roles,
                                      drop oldest)            resample to 16 kHz,
                                                              silence for outages)

The callback only appends a block to a :class:`BlockBuffer` under a short
lock: it never waits for the reader. Resampling, framing and reopening happen
on the thread that calls :meth:`LiveSource.read`; :func:`capture_frames` runs
that on one dedicated worker so neither a slow device nor PortAudio calls hold
up the event loop.

Outages: when a device stops (its stream is no longer active, or no audio
came for ``stall_timeout``), one line is logged and its roles get silence at
real-time pace, so stream time stays aligned with the wall clock and with the
other leg (the cue logic compares the two channels' times: a gap would make
one channel run ahead). The device is reopened every ``reopen_interval``.
PortAudio lists devices only when it starts, so a device that really went away
(unplugged) is only seen again after a rescan (terminate and start PortAudio
again), which stops every stream of the session: while another leg still
works, rescans are spaced ``rescan_interval`` apart and reopening in place is
tried in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import sys
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from edge.audio.frames import ChannelMap, Framer, Resampler
from edge.audio.options import CaptureOptions
from edge.contracts import Frame, Samples
from edge.errors import AudioError, ConfigError
from edge.types import SAMPLE_RATE, Role

log = logging.getLogger(__name__)

_FLOAT_BYTES = 4  # streams are opened as float32 (paFloat32)


def import_pyaudio() -> ModuleType:
    """The ``pyaudio`` module, or an :class:`AudioError` that says how to install it."""
    try:
        import pyaudio
    except ModuleNotFoundError as e:
        raise AudioError(
            "PyAudio is not installed: pip install pyaudio "
            "(Debian: apt-get install portaudio19-dev first)"
        ) from e
    except ImportError as e:  # the module is there but libportaudio is not
        raise AudioError(
            f"PyAudio cannot load PortAudio ({e}): apt-get install libportaudio2, "
            "or reinstall pyaudio"
        ) from e
    return pyaudio


# -- devices -------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceInfo:
    """A PortAudio device as ``edge devices`` lists it."""

    index: int
    name: str
    input_channels: int
    default_rate: int
    host_api: str
    default: bool = False  # the host's default input device

    @property
    def label(self) -> str:
        return f"{self.index} {self.name!r} ({self.host_api})"

    def same_device(self, other: DeviceInfo) -> bool:
        """The same device in another scan (indexes change when devices come and go)."""
        return self.name == other.name and self.host_api == other.host_api

    def to_dict(self) -> dict[str, object]:
        return {
            "index": self.index,
            "name": self.name,
            "input_channels": self.input_channels,
            "default_rate": self.default_rate,
            "host_api": self.host_api,
            "default": self.default,
        }


@dataclass(frozen=True)
class DeviceSpec:
    """How a user names a device: its index in ``edge devices``, or part of its name."""

    index: int | None = None
    name: str | None = None

    @classmethod
    def parse(cls, text: str) -> DeviceSpec:
        text = text.strip()
        if not text:
            raise ConfigError(
                "a device name is empty: give an index or part of a name from `edge devices`"
            )
        if text.isdigit():
            return cls(index=int(text))
        return cls(name=text)

    def __str__(self) -> str:
        return str(self.index) if self.index is not None else repr(self.name)


def find_device(devices: Sequence[DeviceInfo], spec: DeviceSpec) -> DeviceInfo:
    """The one input device ``spec`` names.

    A name matches case-insensitively, whole names before substrings
    (``default`` picks "default", not also "default (2)").
    """
    inputs = [d for d in devices if d.input_channels > 0]
    if spec.index is not None:
        for device in inputs:
            if device.index == spec.index:
                return device
        raise AudioError(
            f"no input device has index {spec.index}; input devices: {_listing(inputs)}"
        )
    wanted = (spec.name or "").casefold()
    matches = [d for d in inputs if d.name.casefold() == wanted] or [
        d for d in inputs if wanted in d.name.casefold()
    ]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise AudioError(
            f"no input device name contains {spec.name!r}; input devices: {_listing(inputs)}"
        )
    raise AudioError(
        f"{spec.name!r} matches {len(matches)} input devices: {_listing(matches)}; "
        "give more of the name, or the index"
    )


def _listing(devices: Sequence[DeviceInfo]) -> str:
    if not devices:
        return "none (PortAudio sees no input device)"
    return ", ".join(d.label for d in devices)


_STDERR_LOCK = threading.Lock()  # file descriptor 2 is one per process


@contextlib.contextmanager
def _native_stderr_hidden() -> Iterator[None]:
    """Hide what C libraries print to file descriptor 2 while PortAudio probes devices.

    ALSA and JACK print a screenful ("ALSA lib pcm.c: Unknown PCM", "jack
    server is not running") whenever PortAudio starts or opens a stream;
    ``--debug`` shows it. Python's own writes to stderr in these few
    milliseconds are hidden too, so the windows stay short.
    """
    with _STDERR_LOCK:
        sys.stderr.flush()
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)


class PortAudio:
    """One PortAudio session (a ``PyAudio`` instance).

    PortAudio scans devices once, when it starts: :meth:`rescan` (terminate,
    start again) is the only way to see a device that was plugged in or came
    back, and it ends every stream the session opened.
    """

    def __init__(self, *, quiet: bool = True) -> None:
        self._pyaudio = import_pyaudio()
        self._quiet = quiet
        self._pa: Any = None
        self._start()

    def _start(self) -> None:
        with self._hush():
            self._pa = self._pyaudio.PyAudio()

    def _hush(self) -> contextlib.AbstractContextManager[None]:
        return _native_stderr_hidden() if self._quiet else contextlib.nullcontext()

    def devices(self) -> list[DeviceInfo]:
        pa = self._pa
        try:
            default = int(pa.get_default_input_device_info()["index"])
        except OSError:  # no default input device
            default = -1
        found = []
        for index in range(pa.get_device_count()):
            info = pa.get_device_info_by_index(index)
            found.append(
                DeviceInfo(
                    index=index,
                    name=str(info["name"]),
                    input_channels=int(info["maxInputChannels"]),
                    default_rate=round(float(info["defaultSampleRate"])),
                    host_api=str(pa.get_host_api_info_by_index(info["hostApi"])["name"]),
                    default=index == default,
                )
            )
        return found

    def open_input(
        self,
        device: DeviceInfo,
        *,
        channels: int,
        rate: int,
        frames_per_buffer: int,
        callback: Callable[[bytes | None, int, Any, int], tuple[None, int]],
    ) -> Any:
        """A started float32 input stream that calls ``callback`` with each block."""
        try:
            with self._hush():
                return self._pa.open(
                    format=self._pyaudio.paFloat32,
                    channels=channels,
                    rate=rate,
                    input=True,
                    input_device_index=device.index,
                    frames_per_buffer=frames_per_buffer,
                    stream_callback=callback,
                )
        except (OSError, ValueError) as e:
            hint = {
                -9997: "give --rate with a rate it supports (48000, 44100)",
                -9998: f"it has {device.input_channels} input channel(s)",
            }.get(getattr(e, "errno", None) or 0, "is it in use or gone? see `edge devices`")
            raise AudioError(
                f"input device {device.label} did not open at {rate} Hz with "
                f"{channels} channel(s) ({_reason(e)}): {hint}"
            ) from e

    @property
    def continue_flag(self) -> int:
        return int(self._pyaudio.paContinue)

    @property
    def overflow_flag(self) -> int:
        return int(self._pyaudio.paInputOverflow)

    def close_stream(self, stream: Any) -> None:
        """Close a stream from :meth:`open_input`, working or failed."""
        with contextlib.suppress(OSError), self._hush():
            stream.close()

    def rescan(self) -> None:
        with self._hush():
            self._pa.terminate()
        self._start()

    def close(self) -> None:
        if self._pa is not None:
            with self._hush():
                self._pa.terminate()
            self._pa = None


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def list_input_devices(*, quiet: bool = True) -> list[DeviceInfo]:
    """The input devices PortAudio sees now."""
    portaudio = PortAudio(quiet=quiet)
    try:
        return [d for d in portaudio.devices() if d.input_channels > 0]
    finally:
        portaudio.close()


# -- the pure pieces -----------------------------------------------------------


class BlockBuffer:
    """Audio blocks between a device callback and its reader; overflow: drop oldest.

    :meth:`push` runs on PortAudio's callback thread and never waits for the
    reader (a lock held for a deque append). Past ``capacity`` sample frames
    the oldest blocks go and are counted in ``dropped``: live audio must stay
    current, so when the reader falls behind it is the past that is lost.
    """

    def __init__(
        self,
        capacity: int,
        frame_bytes: int,
        *,
        ready: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity  # sample frames (one sample of every channel)
        self.frame_bytes = frame_bytes
        self.ready = ready or threading.Event()  # set by each push: there is audio to read
        self.dropped = 0  # sample frames lost to overflow
        self.received = 0  # sample frames pushed
        self.last_push: float | None = None
        self._clock = clock
        self._blocks: deque[bytes] = deque()
        self._held = 0
        self._lock = threading.Lock()

    def push(self, data: bytes) -> None:
        frames = len(data) // self.frame_bytes
        with self._lock:
            self._blocks.append(data)
            self._held += frames
            self.received += frames
            while self._held > self.capacity and len(self._blocks) > 1:
                lost = len(self._blocks.popleft()) // self.frame_bytes
                self._held -= lost
                self.dropped += lost
            self.last_push = self._clock()
        self.ready.set()

    def pop_all(self) -> bytes:
        """Everything held, oldest first."""
        with self._lock:
            blocks, self._blocks, self._held = self._blocks, deque(), 0
        return b"".join(blocks)

    def __len__(self) -> int:
        return self._held


class LegFramer:
    """One device's blocks to 16 kHz frames per role, across reopens and outages.

    ``channel_map`` gives the role of each device channel (``None``: unused).
    Between :meth:`start` and :meth:`stop` one stream's blocks go in through
    :meth:`feed`; while the device is away, :meth:`fill_to` keeps the roles'
    stream time going with silence.
    """

    def __init__(self, channel_map: ChannelMap) -> None:
        self._used = [(i, role) for i, role in enumerate(channel_map) if role is not None]
        if not self._used:
            raise ConfigError("a capture device must feed at least one of caller, agent")
        self._framers = [Framer(role) for _, role in self._used]
        self._resampler: Resampler | None = None
        self.samples = 0  # 16 kHz samples given to each role so far
        self.silence = 0  # of which silence filled in for outages

    @property
    def roles(self) -> tuple[Role, ...]:
        return tuple(role for _, role in self._used)

    @property
    def channels(self) -> int:
        """Device channels needed: up to the last one with a role."""
        return self._used[-1][0] + 1

    @property
    def seconds(self) -> float:
        return self.samples / SAMPLE_RATE

    def start(self, rate: int) -> None:
        """A stream (re)opened at ``rate``."""
        self._resampler = Resampler(rate, len(self._used))

    def feed(self, block: Samples) -> list[Frame]:
        """``block`` is (samples, device channels) float32."""
        if self._resampler is None:
            raise RuntimeError("LegFramer.feed before start")
        picked = block[:, [i for i, _ in self._used]]
        return self._emit(self._resampler.feed(picked))

    def stop(self) -> list[Frame]:
        """The stream ended: the resampler's last samples."""
        if self._resampler is None:
            return []
        resampler, self._resampler = self._resampler, None
        return self._emit(resampler.feed(self._zeros(0), last=True))

    def fill_to(self, seconds: float) -> list[Frame]:
        """Silence up to stream time ``seconds``."""
        missing = round(seconds * SAMPLE_RATE) - self.samples
        if missing <= 0:
            return []
        self.silence += missing
        return self._emit(self._zeros(missing))

    def flush(self) -> list[Frame]:
        """The end of the call: everything held, the last frame padded."""
        frames = self.stop() + [f for framer in self._framers for f in framer.flush()]
        return sorted(frames, key=lambda f: f.start)

    def _zeros(self, n: int) -> Samples:
        return np.zeros((n, len(self._used)), dtype=np.float32)

    def _emit(self, block: Samples) -> list[Frame]:
        self.samples += len(block)
        frames = [f for k, framer in enumerate(self._framers) for f in framer.feed(block[:, k])]
        return sorted(frames, key=lambda f: f.start)


# -- device I/O ----------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class DeviceOptions:
    """How devices are opened, buffered and watched.

    Named apart from :class:`edge.audio.options.CaptureOptions` (the
    ``[capture]`` settings: which devices, where the audio goes) because this
    is the device machinery's tuning; the two settings both know, ``rate``
    and ``buffer_seconds``, take their defaults from that declaration.
    """

    rate: int | None = CaptureOptions.rate  # None: each device's default rate
    block_seconds: float = 0.02  # audio per PortAudio callback
    buffer_seconds: float = CaptureOptions.buffer_seconds  # for the reader; then drop oldest
    stall_timeout: float = 3.0  # an open device that sends nothing this long has failed
    reopen_interval: float = 1.0  # between attempts to reopen a lost device
    rescan_interval: float = 10.0  # between PortAudio rescans while another device works
    # How far a leg's stream time may run ahead of the clock. A device reopened after
    # an outage may first deliver audio it buffered before we listened (the outage is
    # already filled with silence): what goes beyond this is dropped, oldest first.
    ahead_limit: float = 0.25


class DeviceCapture:
    """One device's PortAudio input stream; its callback only fills a :class:`BlockBuffer`."""

    def __init__(
        self,
        device: DeviceInfo,
        *,
        channels: int,
        rate: int,
        options: DeviceOptions,
        ready: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.device = device
        self.channels = channels
        self.rate = rate
        self.buffer = BlockBuffer(
            max(1, round(options.buffer_seconds * rate)),
            _FLOAT_BYTES * channels,
            ready=ready,
            clock=clock,
        )
        self._clock = clock
        self.overflows = 0  # blocks PortAudio flagged as having lost input before us
        self.opened_at = 0.0
        self._block = max(1, round(options.block_seconds * rate))
        self._stream: Any = None
        self._portaudio: PortAudio | None = None
        self._continue = 0
        self._overflow = 0

    @property
    def is_open(self) -> bool:
        return self._stream is not None

    def open(self, portaudio: PortAudio) -> None:
        self._portaudio = portaudio
        self._continue, self._overflow = portaudio.continue_flag, portaudio.overflow_flag
        self._stream = portaudio.open_input(
            self.device,
            channels=self.channels,
            rate=self.rate,
            frames_per_buffer=self._block,
            callback=self._callback,
        )
        self.opened_at = self._clock()

    def read(self) -> Samples:
        """Everything captured since the last read, (samples, channels) float32."""
        data = self.buffer.pop_all()
        return np.frombuffer(data, dtype=np.float32).reshape(-1, self.channels)

    def failure(self, now: float, stall_timeout: float) -> str | None:
        """Why the stream no longer delivers audio; ``None`` while it does."""
        if self._stream is None:
            return "closed"
        try:
            active = self._stream.is_active()
        except OSError as e:
            return f"PortAudio: {_reason(e)}"
        if not active:
            return "its stream stopped"
        last = max(self.buffer.last_push or 0.0, self.opened_at)
        if now - last > stall_timeout:
            return f"no audio for {now - last:.1f} s"
        return None

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None and self._portaudio is not None:
            self._portaudio.close_stream(stream)

    def _callback(
        self, in_data: bytes | None, frame_count: int, time_info: Any, status: int
    ) -> tuple[None, int]:
        # PortAudio's thread: hand the block over and return; nothing here may block or raise.
        if in_data:
            self.buffer.push(in_data)
        if status & self._overflow:
            self.overflows += 1
        return None, self._continue


@dataclass
class LegStats:
    """What one leg lost, for the end-of-call summary and a server's metrics."""

    device: str
    roles: tuple[Role, ...]
    dropped_seconds: float = 0.0  # read too late: the buffer's oldest audio dropped
    outages: int = 0
    silence_seconds: float = 0.0  # filled in while the device was away
    host_overflows: int = 0  # blocks PortAudio itself reported as overflowed
    ahead_seconds: float = 0.0  # delivered ahead of the clock (stale backlog) and dropped


@dataclass
class _Leg:
    capture: DeviceCapture
    framer: LegFramer
    down_since: float | None = None  # when the device was lost; None while not lost
    dropped_reported: int = 0
    outages: int = 0
    ahead: int = 0  # device samples dropped for running ahead of the clock

    @property
    def name(self) -> str:
        return "+".join(r.value for r in self.framer.roles)

    @property
    def up(self) -> bool:
        return self.capture.is_open


class LiveSource:
    """Frames from one or two input devices, as they are captured.

    Blocking use: :meth:`open`, :meth:`read` until done, :meth:`finish`, then
    :meth:`close` (:meth:`frames` does all of that, and makes this an
    :class:`~edge.audio.sources.AudioSource`). Async use:
    :func:`capture_frames`. Any consumer can read it: the CLI's ``edge run``
    feeds a :class:`~edge.pipeline.call.Call`, a forwarder could send the same
    frames to ``edge serve``.
    """

    def __init__(
        self,
        portaudio: PortAudio,
        legs: Sequence[tuple[DeviceInfo, ChannelMap]],
        *,
        options: DeviceOptions | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.options = options or DeviceOptions()
        self._portaudio = portaudio
        self._clock = clock
        self._ready = threading.Event()
        self._stopped = threading.Event()
        self._legs: list[_Leg] = []
        for device, channel_map in legs:
            framer = LegFramer(channel_map)
            rate = self.options.rate or device.default_rate
            Resampler(rate, 1)  # refuses an unsupported rate here rather than at open
            if framer.channels > device.input_channels:
                raise AudioError(
                    f"input device {device.label} has {device.input_channels} input channel(s); "
                    f"{framer.channels} are needed for {'+'.join(map(str, framer.roles))}"
                )
            capture = DeviceCapture(
                device,
                channels=framer.channels,
                rate=rate,
                options=self.options,
                ready=self._ready,
                clock=clock,
            )
            self._legs.append(_Leg(capture, framer))
        roles = [role for leg in self._legs for role in leg.framer.roles]
        if len(set(roles)) != len(roles):
            raise ConfigError("two capture devices feed the same role: give each role one device")
        self._roles = tuple(roles)
        self._t0 = 0.0
        self._next_attempt = 0.0
        self._last_rescan = -math.inf  # the first rescan may come at once
        self._closed = False

    @classmethod
    def from_specs(
        cls,
        *,
        caller: DeviceSpec | None = None,
        agent: DeviceSpec | None = None,
        stereo: DeviceSpec | None = None,
        channel_map: ChannelMap = (Role.CALLER, Role.AGENT),
        options: DeviceOptions | None = None,
        quiet: bool = True,
    ) -> LiveSource:
        """Find the named devices (a :class:`PortAudio` session starts here) and plan the legs."""
        if stereo is not None and (caller is not None or agent is not None):
            raise ConfigError(
                "--stereo-device carries both roles: leave out --caller-device and --agent-device"
            )
        if stereo is None and caller is None and agent is None:
            raise ConfigError(
                "no device given: use --caller-device and/or --agent-device, or --stereo-device "
                "(see `edge devices`)"
            )
        portaudio = PortAudio(quiet=quiet)
        try:
            devices = portaudio.devices()
            if stereo is not None:
                legs = [(find_device(devices, stereo), channel_map)]
            else:
                named = [
                    (spec, role) for spec, role in ((caller, Role.CALLER), (agent, Role.AGENT))
                ]
                legs = [(find_device(devices, s), (role,)) for s, role in named if s is not None]
                if len(legs) == 2 and legs[0][0].index == legs[1][0].index:
                    raise ConfigError(
                        f"caller and agent name the same device {legs[0][0].label}: for one "
                        "device carrying both (left caller, right agent) use --stereo-device"
                    )
            return cls(portaudio, legs, options=options)
        except BaseException:
            portaudio.close()
            raise

    @property
    def roles(self) -> tuple[Role, ...]:
        return self._roles

    def open(self) -> None:
        """Open every device; a device that fails now is an error, not an outage."""
        self._t0 = self._clock()
        try:
            for leg in self._legs:
                leg.capture.open(self._portaudio)
                leg.framer.start(leg.capture.rate)
        except BaseException:
            self.close()
            raise

    def read(self, timeout: float = 0.05) -> list[Frame]:
        """The frames captured since the last read, waiting up to ``timeout`` for some.

        Also where outages are noticed, filled and mended.
        """
        self._ready.wait(timeout)
        self._ready.clear()
        now = self._clock()
        frames: list[Frame] = []
        for leg in self._legs:
            if leg.up:
                frames += leg.framer.feed(self._within_clock(leg, leg.capture.read(), now))
                reason = leg.capture.failure(now, self.options.stall_timeout)
                if reason is not None:
                    frames += self._lose(leg, now, reason)
            if not leg.up:
                frames += leg.framer.fill_to(now - self._t0)
            self._report_drops(leg)
        frames += self._mend(now)
        return sorted(frames, key=lambda f: f.start)

    def finish(self) -> list[Frame]:
        """The end of the call: what is left in the buffers, the last frames padded."""
        now = self._clock()
        frames: list[Frame] = []
        for leg in self._legs:
            if leg.up:
                frames += leg.framer.feed(leg.capture.read())
                leg.capture.close()
            else:
                frames += leg.framer.fill_to(now - self._t0)
            frames += leg.framer.flush()
            self._report_drops(leg)
        for stats in self.stats():
            if stats.dropped_seconds:
                log.warning(
                    "%s device %s: %.2f s of audio dropped in all (read too late)",
                    "+".join(map(str, stats.roles)),
                    stats.device,
                    stats.dropped_seconds,
                )
        return sorted(frames, key=lambda f: f.start)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for leg in self._legs:
            leg.capture.close()
        self._portaudio.close()

    def stop(self) -> None:
        """Ask :meth:`frames` to end (any thread)."""
        self._stopped.set()
        self._ready.set()

    def frames(self) -> Iterator[Frame]:
        """Blocking: frames as captured until :meth:`stop`, then the flushed tail."""
        self.open()
        try:
            while not self._stopped.is_set():
                yield from self.read()
            yield from self.finish()
        finally:
            self.close()

    def stats(self) -> list[LegStats]:
        return [
            LegStats(
                device=leg.capture.device.label,
                roles=leg.framer.roles,
                dropped_seconds=leg.capture.buffer.dropped / leg.capture.rate,
                outages=leg.outages,
                silence_seconds=leg.framer.silence / SAMPLE_RATE,
                host_overflows=leg.capture.overflows,
                ahead_seconds=leg.ahead / leg.capture.rate,
            )
            for leg in self._legs
        ]

    # -- outages --

    def _lose(self, leg: _Leg, now: float, reason: str) -> list[Frame]:
        leg.capture.close()
        leg.down_since = now
        leg.outages += 1
        if all(other.up for other in self._legs if other is not leg):  # else one is due already
            self._next_attempt = now + self.options.reopen_interval
        log.warning(
            "%s device %s lost (%s); the call goes on with silence, reopening every %g s",
            leg.name,
            leg.capture.device.label,
            reason,
            self.options.reopen_interval,
        )
        return leg.framer.stop()

    def _mend(self, now: float) -> list[Frame]:
        """Reopen lost devices: in place first, then (spaced out if another works) a rescan."""
        if all(leg.up for leg in self._legs) or now < self._next_attempt:
            return []
        self._next_attempt = now + self.options.reopen_interval
        frames: list[Frame] = []
        for leg in self._legs:
            if not leg.up:
                frames += self._reopen(leg, now)
        if all(leg.up for leg in self._legs):
            return frames
        working = any(leg.up for leg in self._legs)
        if working and now - self._last_rescan < self.options.rescan_interval:
            return frames
        self._last_rescan = now
        for leg in self._legs:  # a rescan ends the working streams too
            if leg.up:
                frames += leg.framer.feed(leg.capture.read()) + leg.framer.stop()
                leg.capture.close()
        try:
            self._portaudio.rescan()
            devices = self._portaudio.devices()
        except (OSError, AudioError) as e:
            log.warning(
                "PortAudio did not restart (%s); trying again in %g s",
                e,
                self.options.reopen_interval,
            )
            devices = []
        for leg in self._legs:
            match = [d for d in devices if d.same_device(leg.capture.device)]
            if match:
                leg.capture.device = match[0]
                frames += self._reopen(leg, self._clock())
            if not leg.up and leg.down_since is None:  # it worked until this rescan
                leg.down_since = now
                leg.outages += 1
                log.warning(
                    "%s device %s did not reopen after a PortAudio rescan; "
                    "the call goes on with silence",
                    leg.name,
                    leg.capture.device.label,
                )
        return frames

    def _within_clock(self, leg: _Leg, block: Samples, now: float) -> Samples:
        """``block`` less its oldest samples that would put the leg ahead of the clock."""
        room = now - self._t0 + self.options.ahead_limit - leg.framer.seconds
        excess = len(block) - max(0, int(room * leg.capture.rate))
        if excess <= 0:
            return block
        if not leg.ahead:
            log.info("%s device: dropping audio that runs ahead of the clock", leg.name)
        leg.ahead += excess
        return block[excess:]

    def _reopen(self, leg: _Leg, now: float) -> list[Frame]:
        try:
            leg.capture.open(self._portaudio)
        except AudioError as e:
            log.debug("%s device: still away: %s", leg.name, e)
            return []
        frames = leg.framer.fill_to(now - self._t0)
        leg.framer.start(leg.capture.rate)
        if leg.down_since is not None:
            log.warning(
                "%s device %s is back after %.1f s",
                leg.name,
                leg.capture.device.label,
                now - leg.down_since,
            )
            leg.down_since = None
        return frames

    def _report_drops(self, leg: _Leg) -> None:
        dropped = leg.capture.buffer.dropped
        if dropped and not leg.dropped_reported:
            log.warning(
                "%s device %s: audio is read too late; dropping the oldest (buffer %.1f s)",
                leg.name,
                leg.capture.device.label,
                self.options.buffer_seconds,
            )
        leg.dropped_reported = dropped


async def capture_frames(
    source: LiveSource, stop: asyncio.Event, *, poll: float = 0.05
) -> AsyncIterator[list[Frame]]:
    """Open ``source`` and yield batches of frames as captured until ``stop`` is set.

    Then the flushed tail; the devices are closed however the iteration ends
    (use ``contextlib.aclosing``). Device work runs on one dedicated thread,
    so a slow device never holds up the event loop and one session's
    PortAudio calls never run at the same time.
    """
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="edge-capture") as worker:
        try:
            await loop.run_in_executor(worker, source.open)
            while not stop.is_set():
                batch = await loop.run_in_executor(worker, source.read, poll)
                if batch:
                    yield batch
            tail = await loop.run_in_executor(worker, source.finish)
            if tail:
                yield tail
        finally:
            await loop.run_in_executor(worker, source.close)
