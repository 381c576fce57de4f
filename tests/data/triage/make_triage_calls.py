#!/usr/bin/env python3
"""Write the short calls of tests/pipeline/test_triage.py: ``*.flac`` and ``calls.json``.

    .venv/bin/python tests/data/triage/make_triage_calls.py   # needs espeak-ng on PATH

Each call is a caller alone (mono): a greeting (call-handling talk, which decides
nothing), a pause, then the opening under test, then silence; one through the
telephone channel (8 kHz, G.711 mu-law, stored as 8 kHz FLAC). ``calls.json``
gives each call's opening, the triage label and topic it should get, and where
the opening begins and ends in the file (seconds). The voices and the telephone
channel are those of tests/data/emergency/make_emergency_calls.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.data.emergency.make_emergency_calls import RATE, speak, telephone
from tests.helpers import write_audio

HERE = Path(__file__).parent
PAUSE = 1.2  # seconds between the greeting and the opening
TAIL = 2.5  # seconds of silence after the opening: the pause that closes the utterance

# name, voice, words a minute, telephone band, greeting, opening, label, topic
CALLS = (
    (
        "refill_phone",
        "en-us+m3",
        150,
        True,
        "Hello, good morning.",
        "I would like to order a repeat prescription for my blood pressure tablets.",
        "routine",
        "refill",
    ),
    (
        "bereaved_clean",
        "en-gb+f2",
        150,
        False,
        "Hello, is this the surgery?",
        "My husband passed away last week and I do not know what to do.",
        "sensitive",
        "bereavement",
    ),
)


def main() -> None:
    described = []
    for name, voice, speed, phone, greeting, opening, label, topic in CALLS:
        first, second = speak(greeting, voice, speed), speak(opening, voice, speed)
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
                "greeting": greeting,
                "opening": opening,
                "label": label,
                "topic": topic,
                "opening_start": round(start, 3),
                "opening_end": round(end, 3),
            }
        )
    (HERE / "calls.json").write_text(json.dumps(described, indent=2) + "\n")
    print(f"wrote {len(described)} calls to {HERE}")


if __name__ == "__main__":
    main()
