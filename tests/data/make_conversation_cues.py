"""Write tests/data/conversation_cues.flac: a short synthetic call for the cue tests.

    python tests/data/make_conversation_cues.py     # needs espeak-ng on PATH

Stereo, 16 kHz: the caller on the left channel, the agent on the right. The agent
uses a word from the glossary; the caller asks what it means. Synthetic speech
(espeak-ng), so it can ship with the project; the voices and the trimming are
scripts/make_sample_call.py's.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from make_sample_call import SAMPLE_RATE, synthesise, trim_silence  # noqa: E402

from tests.helpers import write_audio  # noqa: E402

OUT = Path(__file__).with_name("conversation_cues.flac")
TURNS = (  # role, text, espeak-ng voice, words a minute
    (
        "agent",
        "Thanks for calling. I'm afraid that medicine is not on the formulary, "
        "so it needs a prior authorization.",
        "en-us",
        150,
    ),
    ("caller", "Sorry, what does that mean?", "en-gb+f3", 140),
)


def main() -> None:
    pieces, t = [], 0.5
    with tempfile.TemporaryDirectory() as tmp:
        for role, text, voice, speed in TURNS:
            audio = trim_silence(synthesise(text, voice, speed, Path(tmp) / "turn.wav"))
            pieces.append((role, t, 0.5 * audio / np.max(np.abs(audio))))
            t += len(audio) / SAMPLE_RATE + 1.2
    stereo = np.zeros((round((t + 2.0) * SAMPLE_RATE), 2))
    for role, start, audio in pieces:
        i = round(start * SAMPLE_RATE)
        stereo[i : i + len(audio), 0 if role == "caller" else 1] = audio
    write_audio(OUT, stereo, SAMPLE_RATE)
    print(f"wrote {OUT} ({t + 2.0:.1f} s)")


if __name__ == "__main__":
    main()
