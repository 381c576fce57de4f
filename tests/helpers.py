"""Shared test helpers: writing audio files, running recordings through the pipeline."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import av
import numpy as np
from faster_whisper.audio import decode_audio

from edge.audio.frames import parse_channel_map
from edge.audio.sources import FileSource
from edge.events import Event, TranscriptFinal
from edge.pipeline.call import replay
from edge.pipeline.engine import Engine
from edge.stages.guards import normalise
from edge.types import CallId

DATA = Path(__file__).parent / "data"
# The shared evaluation data (../shared/data beside the clone; CI always has it).
SHARED_DATA = Path(os.environ.get("EDGE_DATA", Path(__file__).parents[2] / "shared" / "data"))

# Seconds of slack in timing assertions; raise it on a slow machine.
TIME_FACTOR = 1.0


def write_audio(path: Path, samples: np.ndarray, rate: int, codec: str | None = None) -> Path:
    """Write float samples, shape (n,) or (n, channels), with PyAV in the container of ``path``."""
    samples = np.atleast_2d(samples.T).T if samples.ndim == 1 else samples
    channels = samples.shape[1]
    codec = (
        codec
        or {
            ".wav": "pcm_s16le",
            ".flac": "flac",
            ".ogg": "libopus",
            ".opus": "libopus",
            ".mp3": "libmp3lame",
        }[path.suffix]
    )
    layout = "mono" if channels == 1 else "stereo"
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        fmt = stream.codec_context.codec.audio_formats[0].name
        pcm = np.clip(samples, -1, 1).astype(np.float32)
        frame_size = 960 if codec == "libopus" else 1152 if codec == "libmp3lame" else 4096
        for i in range(0, len(pcm), frame_size):
            block = pcm[i : i + frame_size]
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(block.T), format="fltp", layout=layout
            )
            frame.sample_rate = rate
            frame.pts = i
            resampler = av.AudioResampler(format=fmt, layout=layout, rate=rate)
            for out in resampler.resample(frame):
                for packet in stream.encode(out):
                    container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def run_file(
    engine: Engine, path: Path, channels: str = "caller,-", realtime: bool = False
) -> list[Event]:
    async def collect() -> list[Event]:
        source = FileSource(path, parse_channel_map(channels))
        return [e async for e in replay(engine, source, call_id=CallId("test"), realtime=realtime)]

    return asyncio.run(collect())


def finals(events: list[Event]) -> list[TranscriptFinal]:
    return [e for e in events if isinstance(e, TranscriptFinal)]


def wer_text(text: str) -> str:
    """Normalised for word error rate: case and punctuation gone, Mr. spelled out."""
    return re.sub(r"\bmr\b", "mister", normalise(text))


def librivox_references() -> dict[Path, str]:
    refs = {}
    for line in (DATA / "librivox" / "transcription").read_text().splitlines():
        m = re.match(r"<s> (.*) </s> \((.*)\)", line.strip())
        if m:
            refs[DATA / "librivox" / f"{m.group(2)}.wav"] = m.group(1)
    return refs


def speech_references() -> dict[Path, str]:
    return {DATA / "jfk.flac": (DATA / "jfk.txt").read_text().strip(), **librivox_references()}


RAVDESS = SHARED_DATA / "ravdess"


def assembled_call(path: Path, actor: int, distressed: str, seed: int = 3) -> float:
    """A held-out actor: ~45 s of calm and neutral sentences, then ~25 s of `distressed` ones.

    Returns the distress onset (stream seconds of the first distressed sentence).
    """
    with (RAVDESS / "labels.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if int(r["actor"]) == actor]
    rng = np.random.default_rng(seed)

    def sentences(emotions: tuple[str, ...], seconds: float) -> list[np.ndarray]:
        pool = [decode_audio(str(RAVDESS / r["file"])) for r in rows if r["emotion"] in emotions]
        parts: list[np.ndarray] = []
        while sum(len(p) for p in parts) < seconds * 16000:
            for k in rng.permutation(len(pool)):
                parts += [pool[k], np.zeros(int(rng.uniform(0.3, 1.0) * 16000), np.float32)]
        return parts

    calm = np.concatenate(sentences(("neutral", "calm"), 45))
    upset = np.concatenate(sentences((distressed,), 25))
    write_audio(path, np.concatenate([calm, upset]), 16000)
    return len(calm) / 16000


class EdgeProcess:
    """An `edge COMMAND ...` process: stdout lines as they come, both streams kept.

    ``clean_env`` drops the caller's EDGE_* variables (a test's config is its own).
    """

    def __init__(
        self, command: str, *args: str, env=None, cwd=None, clean_env: bool = False
    ) -> None:
        base = {k: v for k, v in os.environ.items() if not (clean_env and k.startswith("EDGE_"))}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "edge", command, *args],
            env={**base, **(env or {})},
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._threads = [
            threading.Thread(target=self._pump, args=(self.process.stdout, True), daemon=True),
            threading.Thread(target=self._pump, args=(self.process.stderr, False), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _pump(self, stream, is_stdout: bool) -> None:
        for line in stream:
            (self.stdout if is_stdout else self.stderr).append(line)
            if is_stdout:
                self.lines.put(line)
        if is_stdout:
            self.lines.put(None)

    def wait_for(self, text: str, timeout: float = 60 * TIME_FACTOR) -> str:
        """Block until a stdout line contains ``text``; that line."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            if text in line:
                return line
        raise AssertionError(f"no {text!r} on stdout; stderr:\n{self.err}")

    def wait_stderr(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.stderr):
                return
            time.sleep(0.05)
        raise AssertionError(f"no {text!r} on stderr:\n{self.err}")

    def wait(self, timeout: float) -> int:
        """The exit status within ``timeout`` seconds (killed after that), streams read out."""
        try:
            return self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            for thread in self._threads:
                thread.join(5)

    def finish(self, timeout: float = 30 * TIME_FACTOR) -> tuple[int, list[dict]]:
        """Exit status and the JSON events printed."""
        code = self.wait(timeout)
        events = [json.loads(line) for line in self.stdout if line.startswith("{")]
        return code, events

    @property
    def err(self) -> str:
        return "".join(self.stderr)
