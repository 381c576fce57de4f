"""The possible_emergency rules on the labelled set's held-out part: the figures of
models/emergency.md, pinned so that a change to the rules cannot quietly lower them."""

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "eval_emergency.py"

# Measured on the held-out part (models/emergency.md): precision 0.936, recall 0.876.
# Issue 14 asks recall >= 0.95 at precision >= 0.9; recall falls short, so these floors
# are the measured figures less a little, not the target (see the model card).
HELDOUT_PRECISION = 0.92
HELDOUT_RECALL = 0.86


def _script():
    spec = importlib.util.spec_from_file_location("eval_emergency", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_heldout_figures_and_no_false_cue_in_ordinary_call_speech():
    """Held-out precision and recall at least as measured; none in ordinary clinic talk."""
    module = _script()
    report = module.evaluate(general=False)
    assert report["sizes"]["heldout"] >= 0.3 * sum(report["sizes"].values())
    heldout = report["heldout"]["overall"]
    assert heldout["emergencies"] >= 200 and heldout["lines"] >= 350
    assert heldout["precision"] >= HELDOUT_PRECISION, heldout
    assert heldout["recall"] >= HELDOUT_RECALL, heldout
    assert report["heldout"]["overall"]["precision"] >= module.TARGET_PRECISION
    assert report["ordinary"]["false_cues"] == 0, report["ordinary"]
    assert report["ordinary"]["words"] > 3000
