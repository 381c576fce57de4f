"""A private PulseAudio server: a real sound device for capture tests.

PortAudio opens the ALSA ``pulse`` device (Debian ``libasound2-plugins``);
``PULSE_SERVER`` points it at this server and ``PULSE_SOURCE`` picks the
source. Each source is a ``module-pipe-source`` that a writer thread feeds
from a FIFO at real-time pace: silence, or what the test plays, as a
softphone would.

The server runs as (root is fine without ``--system``; ``HOME``,
``XDG_RUNTIME_DIR`` and ``PULSE_RUNTIME_PATH`` point into a private folder)::

    pulseaudio --daemonize=no --system=false -n -F DIR/test.pa
        --exit-idle-time=-1 --disallow-exit --use-pid-file=no
        --log-target=file:DIR/pulse.log

where ``test.pa`` is one line, ``load-module module-native-protocol-unix
auth-anonymous=1 socket=DIR/native``. It has no other source or sink on
purpose: when a source is unloaded, PulseAudio moves its recording streams to
another source if there is one, and the capture would never see its device go.

Use the ``pulse`` fixture (session) for the server and ``pipe_source`` (one
test) for sources; import both from this module.
"""

from __future__ import annotations

import collections
import errno
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import TIME_FACTOR

START_TIMEOUT = 10.0 * TIME_FACTOR


class PulseServer:
    """A pulseaudio daemon in a private folder, reached over its own socket."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.socket = folder / "native"
        self.log = folder / "pulse.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._sources = 0

    @property
    def env(self) -> dict[str, str]:
        """What a client (PortAudio through ALSA's pulse plugin, pactl) needs."""
        return {"PULSE_SERVER": f"unix:{self.socket}"}

    def start(self) -> None:
        script = self.folder / "test.pa"
        script.write_text(
            f"load-module module-native-protocol-unix auth-anonymous=1 socket={self.socket}\n"
        )
        runtime = self.folder / "runtime"
        runtime.mkdir(mode=0o700)
        env = {
            **os.environ,
            "HOME": str(self.folder),
            "XDG_RUNTIME_DIR": str(runtime),
            "XDG_CONFIG_HOME": str(self.folder / "config"),
            "PULSE_RUNTIME_PATH": str(runtime),
        }
        self._process = subprocess.Popen(
            [
                "pulseaudio",
                "--daemonize=no",
                "--system=false",
                "-n",
                "-F",
                str(script),
                "--exit-idle-time=-1",
                "--disallow-exit",
                "--use-pid-file=no",
                f"--log-target=file:{self.log}",
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"pulseaudio exited at start:\n{self._log_tail()}")
            if self.socket.exists() and self.pactl("info", check=False).returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError(f"pulseaudio did not answer in {START_TIMEOUT} s:\n{self._log_tail()}")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def pactl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(
            ["pactl", *args],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=10,
        )
        if check and out.returncode != 0:
            raise RuntimeError(f"pactl {' '.join(args)}: {out.stderr.strip()}\n{self._log_tail()}")
        return out

    def pipe_source(self, *, rate: int, channels: int) -> PipeSource:
        self._sources += 1
        return PipeSource(self, f"test{self._sources}", rate=rate, channels=channels)

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return "(no log)"


class PipeSource:
    """A PulseAudio source fed from a FIFO at real-time pace by a writer thread.

    Between :meth:`play` calls the writer sends silence, as a quiet line
    does. While the source is unloaded the writer's audio is lost, as sound
    in a room is while a microphone is unplugged.
    """

    BLOCK_SECONDS = 0.01  # small enough that a block is one atomic pipe write

    def __init__(self, server: PulseServer, name: str, *, rate: int, channels: int) -> None:
        self.server = server
        self.name = name
        self.rate = rate
        self.channels = channels
        self.fifo = server.folder / f"{name}.fifo"
        self.module: str | None = None
        self._queue: collections.deque[np.ndarray] = collections.deque()
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._closing = threading.Event()
        self._writer = threading.Thread(target=self._write, name=f"pipe-{name}", daemon=True)
        self.load()
        self._writer.start()

    @property
    def env(self) -> dict[str, str]:
        """Client environment that makes the ``pulse`` device record from this source."""
        return {**self.server.env, "PULSE_SOURCE": self.name}

    def load(self) -> None:
        # The module makes the FIFO itself (and refuses one that exists) and removes it on unload.
        self.module = self.server.pactl(
            "load-module",
            "module-pipe-source",
            f"file={self.fifo}",
            f"source_name={self.name}",
            "format=s16le",
            f"rate={self.rate}",
            f"channels={self.channels}",
        ).stdout.strip()

    def unload(self) -> None:
        if self.module is not None:
            self.server.pactl("unload-module", self.module)
            self.module = None

    def play(self, samples: np.ndarray) -> None:
        """Queue float samples, (n,) or (n, channels), to be written at real-time pace."""
        block = samples.reshape(len(samples), -1)
        if block.shape[1] != self.channels:
            raise ValueError(
                f"{block.shape[1]} channel(s) played into a {self.channels}-channel source"
            )
        with self._lock:
            self._queue.append(block.astype(np.float32))
            self._idle.clear()

    def wait_played(self, timeout: float) -> None:
        if not self._idle.wait(timeout):
            raise TimeoutError(f"{self.name}: audio still playing after {timeout} s")

    def close(self) -> None:
        self._closing.set()
        self._writer.join(timeout=5)
        self.unload()

    def _next_block(self, n: int) -> bytes:
        out = np.zeros((n, self.channels), dtype=np.float32)
        filled = 0
        with self._lock:
            while filled < n and self._queue:
                head = self._queue[0]
                take = min(n - filled, len(head))
                out[filled : filled + take] = head[:take]
                filled += take
                if take == len(head):
                    self._queue.popleft()
                else:
                    self._queue[0] = head[take:]
            if not self._queue:
                self._idle.set()
        return (np.clip(out, -1, 1) * 32767).astype("<i2").tobytes()

    def _write(self) -> None:
        n = round(self.rate * self.BLOCK_SECONDS)
        fd: int | None = None
        due = time.monotonic()
        while not self._closing.is_set():
            data = self._next_block(n)
            try:
                if fd is None:
                    # No O_CREAT: while the module is unloaded there is no FIFO, and a plain
                    # file made here would keep the module from loading again.
                    fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
                os.write(fd, data)
            except OSError as e:
                if e.errno not in (errno.ENOENT, errno.ENXIO, errno.EAGAIN, errno.EPIPE):
                    raise
                if e.errno == errno.EPIPE and fd is not None:
                    os.close(fd)
                    fd = None
            due += self.BLOCK_SECONDS
            time.sleep(max(0.0, due - time.monotonic()))
        if fd is not None:
            os.close(fd)


@pytest.fixture(scope="session")
def pulse() -> Iterator[PulseServer]:
    """A private PulseAudio server for the session; skipped (CI: failed) when not installed."""
    if shutil.which("pulseaudio") is None or shutil.which("pactl") is None:
        message = (
            "pulseaudio is not installed (Debian: apt-get install pulseaudio libasound2-plugins, "
            "or bash scripts/install_system.sh)"
        )
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must run the device tests")
        pytest.skip(message)
    with tempfile.TemporaryDirectory(prefix="edge-pulse-") as folder:
        server = PulseServer(Path(folder))
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture
def pipe_source(pulse: PulseServer) -> Iterator[Callable[..., PipeSource]]:
    """Make pipe sources (``pipe_source(rate=..., channels=...)``); unloaded after the test."""
    made: list[PipeSource] = []

    def make(*, rate: int = 48000, channels: int = 1) -> PipeSource:
        source = pulse.pipe_source(rate=rate, channels=channels)
        made.append(source)
        return source

    yield make
    for source in made:
        source.close()
