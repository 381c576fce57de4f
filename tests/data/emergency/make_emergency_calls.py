#!/usr/bin/env python3
"""Write the short calls of tests/pipeline/test_emergency.py: ``*.flac`` and ``calls.json``.

    .venv/bin/python tests/data/emergency/make_emergency_calls.py   # needs espeak-ng on PATH

Each call is a caller alone (mono): an ordinary sentence, a pause, then the
phrase under test, then silence. Several espeak-ng voices and rates; the
"phone" calls go through the telephone channel (8 kHz, G.711 mu-law, stored as
8 kHz FLAC, as a recorded phone call would be). ``calls.json`` gives each
call's phrase, whether it is an emergency, and where the phrase begins and ends
in the file (seconds, after espeak's own leading and trailing silence was
trimmed), which is what the test measures the cue's latency from.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
import soxr

from edge.audio.g711 import mulaw_to_pcm16, pcm16_to_mulaw
from tests.helpers import write_audio

HERE = Path(__file__).parent
RATE = 16_000
PAUSE = 1.2  # seconds between the ordinary sentence and the phrase
TAIL = 2.5  # seconds of silence after the phrase: the pause that closes the utterance

# name, voice, words a minute, telephone band, ordinary sentence, phrase, emergency
CALLS = (
    (
        "collapsed_phone",
        "en-us+m3",
        140,
        True,
        "Hello, I am calling about my prescription refill.",
        "My husband has collapsed and he is not breathing.",
        True,
    ),
    (
        "wake_clean",
        "en-gb+f2",
        170,
        False,
        "Hi, it is about my mother's appointment on Tuesday.",
        "She will not wake up and her lips are blue.",
        True,
    ),
    (
        "chest_phone",
        "en-us+f3",
        160,
        True,
        "Sorry, I was told to ring this number.",
        "I think I am having a heart attack.",
        True,
    ),
    (
        "negated_clean",
        "en-gb+m1",
        140,
        False,
        "I am ringing for my annual review.",
        "I am not short of breath. My father had a stroke last year.",
        False,
    ),
)


def speak(text: str, voice: str, speed: int) -> np.ndarray:
    """``text`` as espeak-ng says it, 16 kHz float32, leading and trailing silence cut."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "say.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), "--", text], check=True
        )
        with wave.open(str(path), "rb") as wav:
            rate = wav.getframerate()
            pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    audio = soxr.resample(pcm.astype(np.float32) / 32768, rate, RATE, quality="HQ")
    loud = np.flatnonzero(np.abs(audio) > 0.01)
    return np.asarray(audio[loud[0] : loud[-1] + 1], np.float32) * 0.5


def telephone(audio: np.ndarray) -> np.ndarray:
    """Through the telephone channel: 8 kHz, G.711 mu-law and back (still 8 kHz)."""
    narrow = soxr.resample(audio, RATE, 8000, quality="HQ")
    pcm = np.clip(narrow * 32768, -32768, 32767).astype(np.int16)
    return mulaw_to_pcm16(pcm16_to_mulaw(pcm)).astype(np.float32) / 32768


def main() -> None:
    described = []
    for name, voice, speed, phone, ordinary, phrase, emergency in CALLS:
        first, second = speak(ordinary, voice, speed), speak(phrase, voice, speed)
        lead = np.zeros(int(0.5 * RATE), np.float32)
        gap = np.zeros(int(PAUSE * RATE), np.float32)
        tail = np.zeros(int(TAIL * RATE), np.float32)
        audio = np.concatenate([lead, first, gap, second, tail])
        start = (len(lead) + len(first) + len(gap)) / RATE
        end = start + len(second) / RATE
        rate = RATE
        if phone:
            audio, rate = telephone(audio), 8000
        write_audio(HERE / f"{name}.flac", audio, rate)
        described.append(
            {
                "file": f"{name}.flac",
                "voice": voice,
                "words_per_minute": speed,
                "telephone": phone,
                "ordinary": ordinary,
                "phrase": phrase,
                "emergency": emergency,
                "phrase_start": round(start, 3),
                "phrase_end": round(end, 3),
            }
        )
    (HERE / "calls.json").write_text(json.dumps(described, indent=2) + "\n")
    print(f"wrote {len(described)} calls to {HERE}")


if __name__ == "__main__":
    main()
