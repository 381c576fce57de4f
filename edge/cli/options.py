"""Command-line options shared by every command that runs the pipeline.

Pipeline flags default to None: :func:`pipeline_options` lays only the flags
given over the configuration's ``[pipeline]`` settings (flags win).
"""

from __future__ import annotations

import argparse
import dataclasses

from edge.errors import ConfigError
from edge.pipeline.engine import PipelineOptions


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
    return value


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="settings file (default: $EDGE_CONFIG, else ./edge.toml if there is one)",
    )
    parser.add_argument("--debug", action="store_true", help="log details and show tracebacks")


def add_pipeline(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "models and streaming",
        "Each flag overrides its [pipeline] setting in the config file; "
        "the defaults shown apply when neither sets it.",
    )
    group.add_argument(
        "--model", metavar="PATH", help="faster-whisper model folder (default: embedded tiny.en)"
    )
    group.add_argument(
        "--allow-download",
        action="store_true",
        default=None,
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
        help="where Whisper runs (default: auto = CUDA when present)",
    )
    group.add_argument(
        "--compute-type",
        help="CTranslate2 compute type (default: int8 on CPU, float16 on CUDA)",
    )
    group.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="CPU threads for Whisper (default: all cores, up to 4)",
    )
    group.add_argument(
        "--beam-size",
        type=int,
        metavar="N",
        help="beam size of final transcripts (default: 5)",
    )
    group.add_argument(
        "--partial-interval",
        type=positive_float,
        metavar="S",
        help="seconds of new audio between partial transcripts; 0 = none (default: 0.7)",
    )
    group.add_argument(
        "--min-silence",
        type=positive_float,
        metavar="S",
        help="pause that ends an utterance (default: 0.5)",
    )
    group.add_argument(
        "--max-utterance",
        type=positive_float,
        metavar="S",
        help="longest utterance before a final is forced (default: 20)",
    )
    group.add_argument(
        "--vad-threshold",
        type=positive_float,
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
        "--no-emotion", action="store_true", default=None, help="do not score the caller's voice"
    )
    distress.add_argument(
        "--no-text", action="store_true", default=None, help="do not score the caller's words"
    )


def _given(args: argparse.Namespace, **flags: str) -> dict[str, object]:
    """Option field -> value of each flag (dest -> field) given on the command line."""
    return {
        name: getattr(args, dest) for dest, name in flags.items() if getattr(args, dest) is not None
    }


def pipeline_options(
    args: argparse.Namespace, base: PipelineOptions | None = None
) -> PipelineOptions:
    """``base`` (the config's pipeline options, else the defaults) with the given flags on top."""
    base = base or PipelineOptions()
    if args.threads is not None and args.threads < 0:
        raise ConfigError(f"--threads {args.threads} must be 0 (all cores) or more")
    if args.beam_size is not None and not 1 <= args.beam_size <= 10:
        raise ConfigError(f"--beam-size {args.beam_size} is out of range: use 1 to 10")
    vad = _given(
        args, vad_threshold="threshold", min_silence="min_silence", max_utterance="max_utterance"
    )
    stream = _given(args, partial_interval="partial_interval")
    asr = _given(
        args,
        model="model",
        device="device",
        compute_type="compute_type",
        threads="cpu_threads",
        beam_size="final_beam_size",
        allow_download="allow_download",
    )
    top = _given(args, vad_model="vad_model", emotion_model="emotion_model")
    if args.no_text:
        top["text"] = False
    emotion = base.emotion
    if args.no_emotion:
        emotion = dataclasses.replace(emotion, enabled=False)
    return dataclasses.replace(
        base,
        vad=dataclasses.replace(base.vad, **vad),
        stream=dataclasses.replace(base.stream, **stream),
        asr=dataclasses.replace(base.asr, **asr),
        emotion=emotion,
        **top,
    )
