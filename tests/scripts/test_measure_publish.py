"""scripts/measure_publish.py as a user runs it: real models over a real recording."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import DATA

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "measure_publish.py"


@pytest.mark.slow
def test_publishing_a_call_sends_a_small_share_of_what_forwarding_its_audio_does():
    """JFK, one leg: the events (either share) are a few KB/s at most, the audio 32."""
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--channels", "caller,-", str(DATA / "jfk.flac")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    row = next(line for line in out.stdout.splitlines() if line.startswith("| jfk.flac"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    seconds, audio, per_second, transcripts, cues = map(float, cells[1:])
    assert seconds == pytest.approx(11, abs=0.5)
    assert audio == pytest.approx(32.25, abs=0.1)  # 1024 bytes + 8 of framing per 32 ms
    assert per_second > 0.5 and cues <= transcripts < audio / 10
