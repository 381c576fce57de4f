#!/usr/bin/env python3
"""Whisper's encoder on the full 30 s window against a window cut to the speech.

``[pipeline.asr] encoder_window`` = N makes the encoder read the utterance plus
1 s, rounded up to a multiple of N seconds, instead of 30 s of padded audio
(:mod:`edge.adapters.asr`). Whisper was trained on 30 s windows, so this
measures what it costs in accuracy and what it saves in time, per setting:

* WER of the finals, through the pipeline a call runs (``replay``, not live):
  jfk and the LibriVox clips (the tests' accuracy set, 93 words), the same
  through a telephone line (8 kHz G.711 mu-law and back), and short single
  utterances: TESS ("Say the word ...") and RAVDESS ("Kids are talking by the
  door"), every k-th clip;
* how many finals differ in text from the full window's, and how many decodes
  (partials and finals) the short window failed, so the full one ran too;
* milliseconds per final decode (wall, and the process's CPU time, which other
  work on the machine inflates less).

Usage: scripts/bench_encoder_window.py [--windows 0 1 2 5] [--clips 40] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import importlib.util
import io
import os
import statistics
import sys
import types
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import jiwer
import numpy as np
import soxr

from edge.adapters.asr import AsrOptions, WhisperTranscriber
from edge.adapters.vad import SileroVad
from edge.audio import g711
from edge.audio.frames import parse_channel_map
from edge.audio.sources import Encoding, FileSource, RawSource
from edge.events import Event, TranscriptFinal, TranscriptPartial
from edge.pipeline.call import replay
from edge.pipeline.engine import Engine
from edge.pipeline.options import PipelineOptions
from edge.types import CallId

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EDGE_DATA", ROOT.parent / "shared" / "data"))
RAVDESS_STATEMENTS = {"1": "Kids are talking by the door", "2": "Dogs are sitting by the door"}


def _script(name: str) -> types.ModuleType:
    path = ROOT / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench_asr = _script("bench_asr")  # its English set and WER normalisation


def file_source(path: Path) -> FileSource:
    return FileSource(path, parse_channel_map("caller"))


def telephone_source(path: Path) -> RawSource:
    """The recording as a telephone line carries it: 8 kHz G.711 mu-law."""
    audio = np.concatenate([f.samples for f in file_source(path).frames()])
    narrow = soxr.resample(audio, 16000, 8000, quality="HQ")
    data = g711.pcm16_to_mulaw(g711.float_to_pcm16(narrow)).tobytes()
    return RawSource(
        io.BytesIO(data),
        rate=8000,
        encoding=Encoding.MULAW,
        channels=1,
        channel_map=parse_channel_map("caller"),
    )


def transcripts(
    engine: Engine, source: FileSource | RawSource
) -> tuple[str, list[tuple[str, str]]]:
    """The finals' text, and (last partial, final) of each utterance that had a partial."""

    async def collect() -> list[Event]:
        return [e async for e in replay(engine, source, call_id=CallId("w"), realtime=False)]

    events = asyncio.run(collect())
    last: dict[int, str] = {}
    pairs: list[tuple[str, str]] = []
    for e in events:
        if isinstance(e, TranscriptPartial):
            last[e.utterance] = e.text
        elif isinstance(e, TranscriptFinal) and e.utterance in last:
            pairs.append((last.pop(e.utterance), e.text))
    return " ".join(e.text for e in events if isinstance(e, TranscriptFinal)), pairs


def every_kth(rows: list[tuple[Path, str]], clips: int) -> dict[Path, str]:
    step = max(1, len(rows) // clips)
    return dict(rows[::step][:clips])


def tess(clips: int) -> dict[Path, str]:
    folder = SHARED / "tess"
    with (folder / "labels.csv").open() as f:
        rows = [(folder / r["file"], f"Say the word {r['word']}") for r in csv.DictReader(f)]
    return every_kth(rows, clips)


def ravdess(clips: int) -> dict[Path, str]:
    folder = SHARED / "ravdess"
    with (folder / "labels.csv").open() as f:
        rows = [(folder / r["file"], RAVDESS_STATEMENTS[r["statement"]]) for r in csv.DictReader(f)]
    return every_kth(rows, clips)


Set = tuple[dict[Path, str], Callable[[Path], FileSource | RawSource]]


def window_label(window: int) -> str:
    return "full 30 s" if window == 0 else f"speech + 1 s, in {window} s steps"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--windows", type=int, nargs="+", default=[0, 1, 2, 5])
    parser.add_argument("--clips", type=int, default=40, help="TESS and RAVDESS clips each")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--partial-window",
        type=int,
        default=AsrOptions().partial_window,
        help="[pipeline.asr] partial_window for every row (default: its default)",
    )
    parser.add_argument("--out", type=Path, help="also write the table to this Markdown file")
    args = parser.parse_args()
    english = bench_asr.english()
    sets: dict[str, Set] = {
        "jfk + LibriVox (93 words)": (english, file_source),
        "same, telephone (8 kHz mu-law)": (english, telephone_source),
        f"TESS, {args.clips} clips": (tess(args.clips), file_source),
        f"RAVDESS, {args.clips} clips": (ravdess(args.clips), file_source),
    }
    load = f"{os.getloadavg()[0]:.1f}"
    full_texts: dict[tuple[str, Path], str] = {}
    lines = [
        "# Whisper's encoder window: the full 30 s against the speech",
        "",
        "Whisper tiny.en int8 through the pipeline a call runs (not live: every partial and "
        "final decoded). WER of the finals; *redone on full window*: finals and partials "
        "whose short-window result looped or failed Whisper's checks and ran again "
        "on 30 s; ms per final includes such a second run. *Last partial WER*: each "
        "utterance's last partial against its final. "
        f"Partials' window (`partial_window`): {window_label(args.partial_window)}. "
        "Produced by `scripts/bench_encoder_window.py`.",
        "",
        "| encoder window | set | WER | finals differing from full | redone on full window: "
        "finals, partials | ms per final, wall p50 / p95 | CPU ms per final p50 | "
        "CPU ms per partial p50 | last partial WER |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for window in args.windows:
        options = PipelineOptions(
            text=False,
            asr=AsrOptions(
                device="cpu",
                compute_type="int8",
                cpu_threads=args.threads,
                encoder_window=window,
                partial_window=args.partial_window,
            ),
        )
        options = replace(options, emotion=replace(options.emotion, enabled=False))
        label = window_label(window)
        for name, (refs, source) in sets.items():
            timer = bench_asr.Timed(WhisperTranscriber(options.asr))
            engine = Engine(SileroVad(), timer, options)
            try:
                runs = {path: transcripts(engine, source(path)) for path in refs}
            finally:
                engine.close()
            hyps = {path: text for path, (text, _) in runs.items()}
            pairs = [pair for _, pairs in runs.values() for pair in pairs]
            partial_wer = (
                jiwer.wer(
                    [bench_asr.words(f) or "-" for _, f in pairs],
                    [bench_asr.words(p) for p, _ in pairs],
                )
                if pairs
                else float("nan")
            )
            wer = jiwer.wer(
                [bench_asr.words(r) for r in refs.values()],
                [bench_asr.words(h) for h in hyps.values()],
            )
            differ = "-"
            if window == 0:
                full_texts.update({(name, p): h for p, h in hyps.items()})
            elif full_texts:
                n = sum(
                    bench_asr.words(h) != bench_asr.words(full_texts[name, p])
                    for p, h in hyps.items()
                )
                differ = f"{n} of {len(hyps)}"
            wall = sorted(timer.final_wall_ms)
            p95 = wall[min(len(wall) - 1, int(0.95 * len(wall)))]
            fallbacks = timer.inner.window_fallbacks
            row = (
                f"| {label} | {name} | {wer:.4f} | {differ} | "
                f"{fallbacks['final']} of {len(timer.final_cpu_ms)}, "
                f"{fallbacks['partial']} of {len(timer.partial_cpu_ms)} | "
                f"{statistics.median(wall):.0f} / {p95:.0f} | "
                f"{statistics.median(timer.final_cpu_ms):.0f} | "
                f"{statistics.median(timer.partial_cpu_ms or [0.0]):.0f} | {partial_wer:.3f} |"
            )
            print(row, flush=True)
            lines.append(row)
    lines.append(
        f"\n{os.cpu_count()} cores, {args.threads} decode threads; load average (1 min) at the "
        f"start and end: {load} and {os.getloadavg()[0]:.1f} (other work shares the machine)."
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
