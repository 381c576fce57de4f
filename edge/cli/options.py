"""Command-line options shared by every command that runs the pipeline."""

from __future__ import annotations

import argparse

from edge.adapters.asr import AsrOptions
from edge.errors import ConfigError
from edge.pipeline.engine import PipelineOptions
from edge.stages.channel import StreamOptions
from edge.stages.emotion import EmotionOptions
from edge.stages.segmenter import VadOptions


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
    return value


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--debug", action="store_true", help="log details and show tracebacks")


def add_pipeline(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("models and streaming")
    group.add_argument(
        "--model", metavar="PATH", help="faster-whisper model folder (default: embedded tiny.en)"
    )
    group.add_argument(
        "--allow-download",
        action="store_true",
        help="let --model be a hub name such as small.en (needs internet)",
    )
    group.add_argument(
        "--vad-model",
        metavar="PATH",
        help="Silero VAD ONNX file (default: bundled silero_vad.onnx)",
    )
    group.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="where Whisper runs (default: auto = CUDA when present)",
    )
    group.add_argument(
        "--compute-type",
        default="auto",
        help="CTranslate2 compute type (default: int8 on CPU, float16 on CUDA)",
    )
    group.add_argument(
        "--threads",
        type=int,
        default=0,
        metavar="N",
        help="CPU threads for Whisper (default: all cores, up to 4)",
    )
    group.add_argument(
        "--beam-size",
        type=int,
        default=5,
        metavar="N",
        help="beam size of final transcripts (default: 5)",
    )
    group.add_argument(
        "--partial-interval",
        type=positive_float,
        default=0.7,
        metavar="S",
        help="seconds of new audio between partial transcripts; 0 = none (default: 0.7)",
    )
    group.add_argument(
        "--min-silence",
        type=positive_float,
        default=0.5,
        metavar="S",
        help="pause that ends an utterance (default: 0.5)",
    )
    group.add_argument(
        "--max-utterance",
        type=positive_float,
        default=20.0,
        metavar="S",
        help="longest utterance before a final is forced (default: 20)",
    )
    group.add_argument(
        "--vad-threshold",
        type=positive_float,
        default=0.5,
        metavar="P",
        help="speech probability that starts speech (default: 0.5)",
    )
    distress = parser.add_argument_group("distress detection")
    distress.add_argument(
        "--emotion-model",
        metavar="PATH",
        help="acoustic emotion ONNX file (default: bundled emotion.onnx)",
    )
    distress.add_argument(
        "--no-emotion", action="store_true", help="do not score the caller's voice"
    )
    distress.add_argument("--no-text", action="store_true", help="do not score the caller's words")


def pipeline_options(args: argparse.Namespace) -> PipelineOptions:
    if args.threads < 0:
        raise ConfigError(f"--threads {args.threads} must be 0 (all cores) or more")
    if not 1 <= args.beam_size <= 10:
        raise ConfigError(f"--beam-size {args.beam_size} is out of range: use 1 to 10")
    return PipelineOptions(
        vad=VadOptions(
            threshold=args.vad_threshold,
            min_silence=args.min_silence,
            max_utterance=args.max_utterance,
        ),
        stream=StreamOptions(partial_interval=args.partial_interval),
        asr=AsrOptions(
            model=args.model,
            device=args.device,
            compute_type=args.compute_type,
            cpu_threads=args.threads,
            final_beam_size=args.beam_size,
            allow_download=args.allow_download,
        ),
        emotion=EmotionOptions(enabled=not args.no_emotion),
        text=not args.no_text,
        vad_model=args.vad_model,
        emotion_model=args.emotion_model,
    )
