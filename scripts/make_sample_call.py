#!/usr/bin/env python3
"""Build the bundled sample call: ``edge/assets/sample_call.flac`` plus its ``.json`` sidecar.

The call is synthetic (espeak-ng), so it can ship with the project without any
consent or privacy questions: a caller phones a healthcare clinic about a heart
medication refill that never reached the pharmacy.

Output:

* ``sample_call.flac`` - stereo, 16 kHz, 16-bit FLAC. Channel 0 (left) is the
  caller, channel 1 (right) is the agent. Each party speaks only on its own
  channel; the rest of that channel is very low level seeded white noise
  (default -90 dBFS RMS, about one LSB: white noise costs FLAC several bits per
  sample, and at -70 dBFS it alone would add about 0.9 MB to a one-minute file).
* ``sample_call.json`` - description, sample rate, channel roles and the placed
  turns (role, start and end in seconds, text). Start/end are the real speech
  extents on the timeline, after espeak's leading/trailing silence was trimmed.

Deterministic: the gaps and the noise come from a fixed seed, and the FLAC is
written with FFmpeg's bit-exact flags, so the same espeak-ng and FFmpeg versions
give the same bytes.

Needs ``espeak-ng`` on PATH and ``numpy``, ``soxr`` and ``av`` (PyAV) in the
environment. Rebuild with::

    .venv/bin/python scripts/make_sample_call.py
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import av
import numpy as np
import numpy.typing as npt
import soxr

Role = Literal["caller", "agent"]
FloatArray = npt.NDArray[np.float64]

SAMPLE_RATE = 16_000
CHANNELS: tuple[Role, Role] = ("caller", "agent")
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT_DIR = REPO_ROOT / "edge" / "assets"
BASENAME = "sample_call"

DESCRIPTION = (
    "Synthetic (espeak-ng) telephone call to a healthcare clinic. An older patient "
    "has waited over a week for a heart medication refill and is worried and "
    "frustrated; the agent finds the refill was never sent to the pharmacy, sends it "
    "and says when it will be ready. Stereo: channel 0 = caller, channel 1 = agent. "
    "Built by scripts/make_sample_call.py."
)

# Plain words only: no digits, no abbreviations, no real personal data.
DIALOGUE: tuple[tuple[Role, str], ...] = (
    ("agent", "Thank you for calling Riverside Clinic, this is Maria, how can I help you today?"),
    (
        "caller",
        "Hello. I have been waiting over a week for a refill of my heart medicine, "
        "and the pharmacy still has nothing.",
    ),
    ("agent", "I am sorry about that. Can I have your name?"),
    ("caller", "It is Walter Green."),
    ("agent", "Thank you, Mister Green. Let me check."),
    (
        "caller",
        "I am really worried. I only have two pills left, and I have called twice already. "
        "Nobody called me back.",
    ),
    (
        "agent",
        "I am so sorry. I see what happened. The refill was approved, but it was never "
        "sent to your pharmacy. I am sending it right now.",
    ),
    ("caller", "Thank you. I just do not want to run out."),
    ("agent", "It has gone through. It will be ready after three o'clock today."),
    ("caller", "Good, my daughter can pick it up for me."),
    ("agent", "Is there anything else I can help you with today?"),
    ("caller", "No, that is all. Thank you so much, Maria."),
    ("agent", "You are welcome. Take care."),
)

LEAD_IN_S = 0.5  # silence before the first line
TAIL_S = 0.6  # silence after the last line
GAP_RANGE_S = (0.4, 1.2)  # silence between turns, drawn per gap from the seed
TRIM_FRAME_S = 0.01  # frame length for the energy-based silence trim
TRIM_REL_DB = -45.0  # a frame is speech if its RMS is within this of the loudest frame
TRIM_PAD_S = 0.01  # keep this much around the detected speech
PEAK_CEILING_DBFS = -1.0  # never let normalisation push a line above this peak
MAX_BYTES = 1_500_000  # size budget for the bundled FLAC (warned about, not enforced)


@dataclass(frozen=True)
class Turn:
    role: Role
    start: float
    end: float
    text: str


def db_to_amp(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def check_voice(voice: str) -> None:
    """Fail early on a misspelt voice: espeak-ng silently ignores an unknown variant."""
    base, _, variant = voice.partition("+")
    listing = subprocess.run(
        ["espeak-ng", "--voices"], check=True, capture_output=True, text=True
    ).stdout
    known: set[str] = set()
    for line in listing.splitlines()[1:]:  # Pty Language Age/Gender VoiceName File ...
        cols = line.split()
        if len(cols) >= 5:
            known.update((cols[1], cols[3], cols[4], cols[4].rsplit("/", 1)[-1]))
    if base not in known:
        raise SystemExit(f"espeak-ng has no voice {base!r} (see `espeak-ng --voices`)")
    if variant:
        variants = subprocess.run(
            ["espeak-ng", "--voices=variant"], check=True, capture_output=True, text=True
        ).stdout
        files = {line.split()[-1].rsplit("/", 1)[-1] for line in variants.splitlines()[1:]}
        if variant not in files:
            raise SystemExit(
                f"espeak-ng has no variant {variant!r} (see `espeak-ng --voices=variant`)"
            )


def synthesise(text: str, voice: str, speed: int, wav_path: Path) -> FloatArray:
    """Speak ``text`` with espeak-ng and return mono float64 samples at SAMPLE_RATE."""
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(wav_path), "--", text],
        check=True,
    )
    with wave.open(str(wav_path), "rb") as wav:
        if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
            raise SystemExit(f"unexpected espeak-ng output format in {wav_path}")
        rate = wav.getframerate()
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    audio = pcm.astype(np.float64) / 32768.0
    if rate != SAMPLE_RATE:
        audio = np.asarray(soxr.resample(audio, rate, SAMPLE_RATE, quality="HQ"), np.float64)
    return audio


def trim_silence(audio: FloatArray) -> FloatArray:
    """Cut leading/trailing silence with a simple frame-energy threshold."""
    frame = round(TRIM_FRAME_S * SAMPLE_RATE)
    n_frames = len(audio) // frame
    if n_frames == 0:
        raise SystemExit("espeak-ng produced no audio")
    rms = np.sqrt(np.mean(audio[: n_frames * frame].reshape(n_frames, frame) ** 2, axis=1))
    voiced = np.flatnonzero(rms >= rms.max() * db_to_amp(TRIM_REL_DB))
    pad = round(TRIM_PAD_S * SAMPLE_RATE)
    start = max(0, int(voiced[0]) * frame - pad)
    end = min(len(audio), (int(voiced[-1]) + 1) * frame + pad)
    return audio[start:end]


def normalise(audio: FloatArray, target_dbfs: float) -> FloatArray:
    """Scale to ``target_dbfs`` RMS (full scale = 1.0), backing off if the peak would clip."""
    rms = float(np.sqrt(np.mean(audio**2)))
    gain = db_to_amp(target_dbfs) / rms
    peak = float(np.max(np.abs(audio))) * gain
    ceiling = db_to_amp(PEAK_CEILING_DBFS)
    if peak > ceiling:
        gain *= ceiling / peak
    return audio * gain


def build(
    voices: dict[Role, tuple[str, int]],
    seed: int,
    level_dbfs: float,
    noise_dbfs: float,
    workdir: Path,
) -> tuple[npt.NDArray[np.int16], list[Turn]]:
    """Synthesise every line, lay them out on a timeline, return int16 (2, n) audio and turns."""
    gap_rng, noise_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))

    clips: list[FloatArray] = []
    for i, (role, text) in enumerate(DIALOGUE):
        voice, speed = voices[role]
        audio = synthesise(text, voice, speed, workdir / f"line{i:02d}.wav")
        clips.append(normalise(trim_silence(audio), level_dbfs))

    gaps = gap_rng.uniform(*GAP_RANGE_S, size=len(DIALOGUE) - 1)
    starts: list[int] = []
    cursor = round(LEAD_IN_S * SAMPLE_RATE)
    for i, clip in enumerate(clips):
        starts.append(cursor)
        cursor += len(clip)
        if i < len(gaps):
            cursor += round(float(gaps[i]) * SAMPLE_RATE)
    total = cursor + round(TAIL_S * SAMPLE_RATE)

    mix = np.zeros((len(CHANNELS), total), dtype=np.float64)
    turns: list[Turn] = []
    for (role, text), clip, start in zip(DIALOGUE, clips, starts, strict=True):
        mix[CHANNELS.index(role), start : start + len(clip)] += clip
        turns.append(
            Turn(
                role=role,
                start=round(start / SAMPLE_RATE, 3),
                end=round((start + len(clip)) / SAMPLE_RATE, 3),
                text=text,
            )
        )
    mix += noise_rng.normal(0.0, db_to_amp(noise_dbfs), size=mix.shape)

    pcm = np.clip(np.round(mix * 32768.0), -32768, 32767).astype(np.int16)
    return pcm, turns


def write_flac(path: Path, pcm: npt.NDArray[np.int16]) -> None:
    """Write (2, n) int16 samples as a stereo 16-bit FLAC, bit-exact (no encoder tags)."""
    chunk = 4096
    with av.open(str(path), "w", format="flac", options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream("flac", rate=SAMPLE_RATE)
        stream.codec_context.layout = "stereo"
        stream.codec_context.format = "s16"
        stream.codec_context.options = {"flags": "+bitexact", "compression_level": "12"}
        interleaved = np.ascontiguousarray(pcm.T).reshape(1, -1)
        for offset in range(0, pcm.shape[1], chunk):
            part = interleaved[:, offset * 2 : (offset + chunk) * 2]
            frame = av.AudioFrame.from_ndarray(part, format="s16", layout="stereo")
            frame.sample_rate = SAMPLE_RATE
            frame.pts = offset
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def write_json(path: Path, turns: list[Turn]) -> None:
    doc = {
        "description": DESCRIPTION,
        "sample_rate": SAMPLE_RATE,
        "channels": list(CHANNELS),
        "turns": [{"role": t.role, "start": t.start, "end": t.end, "text": t.text} for t in turns],
    }
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Build the bundled synthetic sample call (stereo FLAC + JSON turns) "
        "with espeak-ng.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--out-dir", type=Path, default=DEFAULT_OUT_DIR, help="where to write the two files"
    )
    parser.add_argument("--seed", type=int, default=20240611, help="seed for gaps and noise")
    parser.add_argument("--caller-voice", default="en-us+m3", help="espeak-ng voice for caller")
    parser.add_argument("--caller-speed", type=int, default=150, help="caller words per minute")
    parser.add_argument("--agent-voice", default="en-us+f3", help="espeak-ng voice for agent")
    parser.add_argument("--agent-speed", type=int, default=165, help="agent words per minute")
    parser.add_argument(
        "--level-dbfs", type=float, default=-20.0, help="RMS level of each spoken line"
    )
    parser.add_argument(
        "--noise-dbfs", type=float, default=-90.0, help="RMS level of the background noise"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("espeak-ng") is None:
        print("espeak-ng not found on PATH (Debian: apt-get install espeak-ng)", file=sys.stderr)
        return 1
    voices: dict[Role, tuple[str, int]] = {
        "caller": (args.caller_voice, args.caller_speed),
        "agent": (args.agent_voice, args.agent_speed),
    }
    for voice, _ in voices.values():
        check_voice(voice)

    with tempfile.TemporaryDirectory(prefix="sample_call_") as tmp:
        pcm, turns = build(voices, args.seed, args.level_dbfs, args.noise_dbfs, Path(tmp))

    out_dir: Path = args.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    flac_path = out_dir / f"{BASENAME}.flac"
    json_path = out_dir / f"{BASENAME}.json"
    write_flac(flac_path, pcm)
    write_json(json_path, turns)

    duration = pcm.shape[1] / SAMPLE_RATE
    for t in turns:
        print(f"{t.role:>6}  {t.start:7.3f}-{t.end:7.3f}  ({t.end - t.start:5.2f} s)  {t.text}")
    size = flac_path.stat().st_size
    print(f"wrote {flac_path} ({size} bytes, {duration:.2f} s) and {json_path}")
    if not 50.0 <= duration <= 70.0:
        print(f"warning: duration {duration:.2f} s is outside 50-70 s", file=sys.stderr)
    if size > MAX_BYTES:
        print(f"warning: {size} bytes is over the {MAX_BYTES} byte budget", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
