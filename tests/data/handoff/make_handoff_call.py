#!/usr/bin/env python3
"""Write the caller of tests/server/test_handoff.py's spoken hand-off: ``real_person_phone.flac``.

    .venv/bin/python tests/data/handoff/make_handoff_call.py   # needs espeak-ng on PATH

A caller alone, through the telephone channel (8 kHz, G.711 mu-law, stored as
8 kHz FLAC, as a Twilio inbound track carries it): a routine opening, a pause,
then "I want to talk to a real person.", then silence.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.data.emergency.make_emergency_calls import RATE, speak, telephone
from tests.helpers import write_audio

HERE = Path(__file__).parent
OPENING = "Hello, I am calling about my prescription refill."
ASK = "I want to talk to a real person."


def main() -> None:
    voice, speed = "en-us+m3", 150
    lead = np.zeros(int(0.5 * RATE), np.float32)
    gap = np.zeros(int(1.2 * RATE), np.float32)
    tail = np.zeros(int(2.5 * RATE), np.float32)
    opening, ask = speak(OPENING, voice, speed), speak(ASK, voice, speed)
    audio = np.concatenate([lead, opening, gap, ask, tail])
    write_audio(HERE / "real_person_phone.flac", telephone(audio), 8000)
    print(f"wrote {HERE / 'real_person_phone.flac'}")


if __name__ == "__main__":
    main()
