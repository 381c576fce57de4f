#!/usr/bin/env python3
"""What batching pays per model (issue 15): milliseconds per job at batch 1, 2, 4, 8.

For each model the engine runs, the same jobs are run one at a time and as one
batch, and the median of ``--repeats`` runs is reported as milliseconds per job:

* speech detection (Silero VAD): one 32 ms frame of N channels, through
  :meth:`SileroVad.probabilities` against each channel's own stream;
* the text model: N finals through ``MiniLmTextScorer.score`` at once against one
  by one;
* Whisper (tiny.en by default): the two CTranslate2 calls a decode is made of,
  ``encode`` (the 30 s log-mel window Whisper always reads) and ``generate`` (beam
  5, as finals) on N utterances of ``tests/data/jfk.flac``, batched against one at
  a time; and the whole ``WhisperTranscriber.transcribe`` of a final, one at a
  time, for scale;
* the voice emotion model: its ONNX export takes one window (``mel`` has batch
  dimension 1), so there is nothing to batch; one window's time is reported.

Usage: scripts/bench_batching.py [--threads 2] [--repeats 5]
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from edge.adapters.asr import AsrOptions, WhisperTranscriber
from edge.adapters.emotion import OnnxEmotionScorer, log_mel
from edge.adapters.text import MiniLmTextScorer
from edge.adapters.vad import SileroStream, SileroVad
from edge.audio.files import read_audio
from edge.types import FRAME_SAMPLES, SAMPLE_RATE

ROOT = Path(__file__).resolve().parents[1]
SIZES = (1, 2, 4, 8)
TEXTS = (
    "I can't breathe and my chest hurts.",
    "Thank you, that's all I needed.",
    "I've been waiting for three weeks and nobody called me back!",
    "What does that mean? I don't understand.",
    "My mother fell this morning and she can't get up.",
    "Okay.",
    "Could you check my prescription refill for next week please?",
    "Yes.",
)
# Utterances of jfk.flac (start, seconds): finals of 2-3.5 s, as a call's are.
CUTS = ((0, 2.5), (2.5, 3), (5.5, 2), (7.5, 3.5), (0.5, 3), (3, 2.5), (6, 3), (8, 2.5))


def median_s(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def line(model: str, n: int, batched: float, alone: float) -> None:
    saving = 1 - batched / alone
    print(f"| {model} | {n} | {batched * 1000 / n:.2f} | {alone * 1000 / n:.2f} | {saving:+.0%} |")


def vad(repeats: int) -> None:
    model = SileroVad()
    audio = read_audio(str(ROOT / "tests/data/jfk.flac"))[:, 0]
    frames = [audio[k * FRAME_SAMPLES : (k + 1) * FRAME_SAMPLES] for k in range(100)]

    def batched(streams: list[SileroStream]) -> None:
        for frame in frames:  # 100 steps of one frame per channel
            model.probabilities([(s, [frame]) for s in streams])

    def alone(streams: list[SileroStream]) -> None:
        for frame in frames:
            for stream in streams:
                stream.probability(frame)

    for n in SIZES:
        took = median_s(functools.partial(batched, [model.stream() for _ in range(n)]), repeats)
        each = median_s(functools.partial(alone, [model.stream() for _ in range(n)]), repeats)
        line("speech detection (one frame)", n, took / len(frames), each / len(frames))


def text(repeats: int) -> None:
    scorer = MiniLmTextScorer.load()
    scorer.score(list(TEXTS))

    def alone(texts: list[str]) -> None:
        for one in texts:
            scorer.score([one])

    for n in SIZES:
        texts = list(TEXTS[:n])
        took = median_s(functools.partial(scorer.score, texts), repeats)
        each = median_s(functools.partial(alone, texts), repeats)
        line("text model (one final)", n, took, each)


def whisper(threads: int, repeats: int) -> None:
    import ctranslate2
    from faster_whisper.tokenizer import Tokenizer
    from faster_whisper.transcribe import pad_or_trim

    transcriber = WhisperTranscriber(AsrOptions(cpu_threads=threads))
    model = transcriber.model
    audio = read_audio(str(ROOT / "tests/data/jfk.flac"))[:, 0]
    cuts = [audio[int(a * SAMPLE_RATE) : int((a + d) * SAMPLE_RATE)] for a, d in CUTS]
    mels = np.stack([pad_or_trim(model.feature_extractor(c)) for c in cuts])
    tokenizer = Tokenizer(model.hf_tokenizer, False, task="transcribe", language="en")
    prompt = list(tokenizer.sot_sequence)

    def encode(x: np.ndarray) -> ctranslate2.StorageView:
        return model.model.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(x)))

    def encode_alone(x: np.ndarray) -> None:
        for i in range(len(x)):
            encode(x[i : i + 1])

    def generate(encoded: ctranslate2.StorageView, n: int) -> None:
        model.model.generate(encoded, [prompt] * n, beam_size=5, return_scores=True)

    def generate_alone(encoded: list[ctranslate2.StorageView]) -> None:
        for one in encoded:
            generate(one, 1)

    transcriber.transcribe(cuts[0], prefix=None, final=True)
    for n in SIZES:
        x = mels[:n]
        took = median_s(functools.partial(encode, x), repeats)
        each = median_s(functools.partial(encode_alone, x), repeats)
        line("Whisper encode (30 s window)", n, took, each)
        together, one = encode(x), [encode(x[i : i + 1]) for i in range(n)]
        took = median_s(functools.partial(generate, together, n), repeats)
        each = median_s(functools.partial(generate_alone, one), repeats)
        line("Whisper generate (beam 5)", n, took, each)
    final = functools.partial(transcriber.transcribe, cuts[0], prefix=None, final=True)
    full = median_s(final, repeats)
    print(f"\nWhisper transcribe, one final of 2.5 s (beam 5, word times): {full * 1000:.0f} ms")


def emotion(repeats: int) -> None:
    scorer = OnnxEmotionScorer()
    mel = log_mel(np.zeros(3 * SAMPLE_RATE, np.float32))
    shape = scorer.session.get_inputs()[0].shape
    took = median_s(lambda: scorer.score_mel(mel), repeats)
    print(f"voice emotion: input mel {shape} (one window a call); 3 s window {took * 1000:.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="Whisper CPU threads (default 2)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per figure (median)")
    parser.add_argument(
        "--models",
        default="vad,text,whisper,emotion",
        help="which models, comma-separated (default: all four)",
    )
    args = parser.parse_args()
    chosen = set(args.models.split(","))
    print(f"load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print("| model (job) | batch | batched ms/job | one at a time ms/job | saving |")
    print("|---|---|---|---|---|")
    if "vad" in chosen:
        vad(args.repeats)
    if "text" in chosen:
        text(args.repeats)
    if "whisper" in chosen:
        whisper(args.threads, args.repeats)
    if "emotion" in chosen:
        emotion(args.repeats)
    print(f"\nload average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
