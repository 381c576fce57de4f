"""Shared test helpers: writing audio files, running recordings through the pipeline."""

from __future__ import annotations

import asyncio
import csv
import os
import re
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
