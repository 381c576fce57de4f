#!/usr/bin/env python3
"""Whisper tiny.en against Whisper base (multilingual): accuracy, speed, language detection.

Each recording runs through the pipeline a call runs (``edge.pipeline.call.replay``,
not live: every partial and final is decoded, as when the machine keeps up), with
int8 on the CPU, once per model and thread count. Reported per model, language
and thread count:

* WER of the finals against the reference text (lower case, punctuation gone;
  accents kept);
* real-time factor: Whisper's wall seconds (partials and finals) per second
  of audio, and its CPU seconds per second of audio (the process's CPU time
  while Whisper ran: unlike the wall time, other work on the machine does not
  inflate it much). A decode thread keeps up with about 1 / (CPU s per audio s)
  calls at once.

Then Whisper base's language detection on espeak-ng speech in several
languages: on the first 2.5 s and on the whole clip, and what ``[pipeline]
language = "auto"`` fixed for the call (``call.language``).

Recordings: English, jfk and the LibriVox clips of ``$EDGE_DATA/speech``
(default ../shared/data beside the checkout); Spanish and the others, sentences
spoken by espeak-ng (needs ``espeak-ng`` on PATH) and resampled to 16 kHz.

Usage: scripts/bench_asr.py [--threads 1 2] [--models tiny.en base] [--out docs/bench/asr.md]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import re
import subprocess
import tempfile
import time
import unicodedata
import wave
from dataclasses import replace
from pathlib import Path

import jiwer
import numpy as np
import soxr

from edge.adapters.asr import AsrOptions, WhisperTranscriber
from edge.adapters.vad import SileroVad
from edge.audio.frames import parse_channel_map
from edge.audio.sources import FileSource
from edge.contracts import Hypothesis, Samples
from edge.events import CallLanguage, Event, TranscriptFinal
from edge.pipeline.call import replay
from edge.pipeline.engine import Engine
from edge.pipeline.options import PipelineOptions
from edge.types import SAMPLE_RATE, CallId

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EDGE_DATA", ROOT.parent / "shared" / "data"))

# Sentences a caller to a clinic might say, per espeak-ng voice (= Whisper code).
SPOKEN = {
    "es": (
        "Hola, buenos días. Llamo porque mi madre tiene mucho dolor en el pecho.",
        "Necesito una cita con el médico para la semana que viene, por favor.",
        "Mi hijo tiene fiebre desde ayer y no quiere comer nada.",
        "¿Puede decirme a qué hora abre la farmacia del hospital?",
    ),
    "ro": ("Bună ziua. Sun pentru că tatăl meu are febră mare de două zile.",),
    "vi": ("Xin chào. Tôi gọi vì mẹ tôi bị đau ngực và khó thở.",),
    "ja": ("こんにちは。母が胸の痛みを訴えているので電話しました。",),
    "en": ("Hello, I am calling because my mother has a bad pain in her chest.",),
}


def words(text: str) -> str:
    """For WER: lower case, no punctuation (any script), accents kept, Mr. spelled out."""
    text = unicodedata.normalize("NFC", text).lower().replace("-", " ")
    return re.sub(r"\bmr\b", "mister", " ".join(re.sub(r"[^\w' ]+", " ", text).split()))


def english() -> dict[Path, str]:
    speech = SHARED / "speech"
    refs = {speech / "jfk.flac": (speech / "jfk.txt").read_text().strip()}
    for line in (speech / "librivox" / "transcription").read_text().splitlines():
        if m := re.match(r"<s> (.*) </s> \((.*)\)", line.strip()):
            refs[speech / "librivox" / f"{m.group(2)}.wav"] = m.group(1)
    return refs


def espeak(voice: str, text: str, path: Path) -> Path:
    """``text`` spoken by espeak-ng, 16 kHz mono, with 0.5 s of silence either side."""
    raw = path.with_suffix(".espeak.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(raw), text], check=True)
    with wave.open(str(raw)) as w:
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), np.int16)
    audio = soxr.resample(pcm.astype(np.float32) / 32768, rate, SAMPLE_RATE, quality="HQ")
    pad = np.zeros(SAMPLE_RATE // 2, np.float32)
    audio = np.concatenate([pad, audio.astype(np.float32), pad])
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes((np.clip(audio, -1, 1) * 32767).astype(np.int16).tobytes())
    return path


class Timed:
    """The engine's transcriber, adding up its compute seconds, and each final's."""

    def __init__(self, inner: WhisperTranscriber) -> None:
        self.inner = inner
        self.seconds = 0.0
        self.cpu = 0.0  # CPU seconds of the whole process (Whisper's threads) meanwhile
        self.decodes = 0
        self.final_wall_ms: list[float] = []  # each final decode's wall and CPU time
        self.final_cpu_ms: list[float] = []
        self.partial_cpu_ms: list[float] = []

    def transcribe(
        self,
        audio: Samples,
        *,
        prefix: str | None,
        final: bool,
        language: str | None = "en",
        greedy: bool = False,
        speculative: bool = False,
    ) -> Hypothesis:
        started, cpu = time.perf_counter(), time.process_time()
        self.decodes += 1
        try:
            return self.inner.transcribe(
                audio,
                prefix=prefix,
                final=final,
                language=language,
                greedy=greedy,
                speculative=speculative,
            )
        finally:
            wall, spent = time.perf_counter() - started, time.process_time() - cpu
            self.seconds += wall
            self.cpu += spent
            if final:
                self.final_wall_ms.append(1000 * wall)
                self.final_cpu_ms.append(1000 * spent)
            else:
                self.partial_cpu_ms.append(1000 * spent)


def run(engine: Engine, path: Path) -> list[Event]:
    async def collect() -> list[Event]:
        source = FileSource(path, parse_channel_map("caller"))
        call = CallId(path.stem)
        return [e async for e in replay(engine, source, call_id=call, realtime=False)]

    return asyncio.run(collect())


def seconds(path: Path) -> float:
    return sum(len(f.samples) for f in FileSource(path, parse_channel_map("caller")).frames()) / (
        SAMPLE_RATE
    )


def engine_for(model: str, language: str, threads: int) -> tuple[Engine, Timed]:
    options = PipelineOptions(
        language=language,
        text=False,
        asr=AsrOptions(model=model, device="cpu", compute_type="int8", cpu_threads=threads),
    )
    options = replace(options, emotion=replace(options.emotion, enabled=False))
    timed = Timed(WhisperTranscriber(options.asr, language=language))
    return Engine(SileroVad(), timed, options), timed


def measure(
    model: str, language: str, threads: int, refs: dict[Path, str]
) -> tuple[float, float, float]:
    """(WER, RTF, CPU seconds per audio second) of ``model`` over ``refs``, through the pipeline."""
    engine, timed = engine_for(model, language, threads)
    try:
        hyps, audio = [], 0.0
        for path in refs:
            finals = [e for e in run(engine, path) if isinstance(e, TranscriptFinal)]
            hyps.append(words(" ".join(f.text for f in finals)))
            audio += seconds(path)
        wer = jiwer.wer([words(r) for r in refs.values()], hyps)
        return wer, timed.seconds / audio, timed.cpu / audio
    finally:
        engine.close()


def detection(clips: dict[str, Path], threads: int) -> list[str]:
    """Table rows: base's detection on the first 2.5 s, on the whole clip, and in a call."""
    from faster_whisper.audio import decode_audio

    engine, timed = engine_for("base", "auto", threads)
    model = timed.inner.model
    rows = []
    try:
        for language, path in clips.items():
            audio = decode_audio(str(path))
            first, p_first, _ = model.detect_language(audio[: int(2.5 * SAMPLE_RATE)])
            whole, p_whole, _ = model.detect_language(audio)
            told = [e for e in run(engine, path) if isinstance(e, CallLanguage)]
            fixed = f"{told[0].language} ({told[0].probability:.2f})" if told else "not fixed"
            rows.append(
                f"| {language} | {first} ({p_first:.2f}) | {whole} ({p_whole:.2f}) | {fixed} |"
            )
    finally:
        engine.close()
    return rows


def cpu() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    parser.add_argument("--out", type=Path, help="also write the tables to this Markdown file")
    args = parser.parse_args()
    load = f"{os.getloadavg()[0]:.1f}"  # other work on the machine inflates the wall RTF

    lines = [
        f"Machine: {cpu()}, {os.cpu_count()} cores; "
        "int8 on the CPU; the pipeline not live (every partial and final decoded).",
        "",
        "| model | language | clips (audio s) | threads | WER | RTF (wall) | CPU s / audio s |",
        "|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        spoken: dict[str, dict[Path, str]] = {}
        for language, sentences in SPOKEN.items():
            spoken[language] = {
                espeak(language, text, Path(tmp) / f"{language}{i}.wav"): text
                for i, text in enumerate(sentences)
            }
        sets = {"en (jfk, LibriVox)": ("en", english()), "es (espeak-ng)": ("es", spoken["es"])}
        for model in args.models:
            for name, (language, refs) in sets.items():
                if model.endswith(".en") and language != "en":
                    continue
                audio = sum(seconds(p) for p in refs)
                for threads in args.threads:
                    wer, rtf, cpu_rtf = measure(model, language, threads, refs)
                    row = (
                        f"| {model} | {name} | {len(refs)} ({audio:.0f}) | {threads} "
                        f"| {wer:.3f} | {rtf:.2f} | {cpu_rtf:.2f} |"
                    )
                    print(row, flush=True)
                    lines.append(row)
        lines += [
            "",
            "Whisper base's language detection, espeak-ng speech (top language, probability):",
            "",
            '| spoken | first 2.5 s | whole clip | call.language with language = "auto" |',
            "|---|---|---|---|",
        ]
        clips = {language: next(iter(refs)) for language, refs in spoken.items()}
        for row in detection(clips, max(args.threads)):
            print(row, flush=True)
            lines.append(row)
    lines.append(
        f"\nLoad average (1 min) at the start and end: {load} and {os.getloadavg()[0]:.1f}."
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
