"""The bundled sample call: what `make demo` plays, transcribed on both channels."""

import itertools
import json
from pathlib import Path

import jiwer
import pytest

from edge.events import TranscriptPartial
from edge.types import Role
from tests.helpers import finals, run_file, wer_text

ASSETS = Path(__file__).parents[1] / "edge" / "assets"


def test_sample_call_is_a_stereo_call_with_turns():
    """The sidecar describes caller and agent turns that alternate over about a minute."""
    meta = json.loads((ASSETS / "sample_call.json").read_text())
    assert meta["channels"] == ["caller", "agent"]
    roles = [t["role"] for t in meta["turns"]]
    assert {"caller", "agent"} == set(roles) and len(roles) >= 10
    assert all(a != b for a, b in itertools.pairwise(roles))
    assert 45 < meta["turns"][-1]["end"] < 90


@pytest.mark.slow
def test_sample_call_transcribes_both_parties_with_partials(engine):
    """Both roles get partials and finals; each role's words match its script (WER < 0.25)."""
    meta = json.loads((ASSETS / "sample_call.json").read_text())
    events = run_file(engine, ASSETS / "sample_call.flac", channels="caller,agent")
    for role in Role:
        script = " ".join(t["text"] for t in meta["turns"] if t["role"] == role.value)
        heard = " ".join(f.text for f in finals(events) if f.role is role)
        wer = jiwer.wer(wer_text(script), wer_text(heard))
        print(f"{role.value}: WER {wer:.3f}")
        assert wer < 0.25
        partials = [e for e in events if isinstance(e, TranscriptPartial) and e.role is role]
        assert len(partials) >= 10
