"""The possible_emergency rules on the labelled set's held-out part: the figures of
models/emergency.md, pinned so that a change to the rules cannot quietly lower them."""

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "eval_emergency.py"

# Measured on the held-out part (models/emergency.md), the rules and the text model's
# emergency head together: precision 0.933, recall 0.961. They meet issue 14's targets
# (recall >= 0.95 at precision >= 0.9), which are the floors. The rules alone measured
# 0.936 / 0.876; their floors stay, so that neither path quietly gets worse.
HELDOUT_PRECISION = 0.9
HELDOUT_RECALL = 0.95
RULES_PRECISION = 0.92
RULES_RECALL = 0.86
# One calm clinic line ("My husband's having a nap upstairs.") raised the head's cue.
ORDINARY_FALSE_CUES = 1


def _script():
    spec = importlib.util.spec_from_file_location("eval_emergency", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_heldout_figures_and_false_cues_in_ordinary_call_speech():
    """Held-out precision and recall at the targets (rules + head) and as measured (rules
    alone); at most the measured false cues in ordinary clinic talk."""
    module = _script()
    report = module.evaluate(general=False)
    assert report["sizes"]["heldout"] >= 0.3 * sum(report["sizes"].values())
    heldout = report["heldout"]["overall"]
    assert heldout["emergencies"] >= 200 and heldout["lines"] >= 350
    assert heldout["precision"] >= HELDOUT_PRECISION, heldout
    assert heldout["recall"] >= HELDOUT_RECALL, heldout
    assert (HELDOUT_PRECISION, HELDOUT_RECALL) == (module.TARGET_PRECISION, module.TARGET_RECALL)
    assert report["ordinary"]["false_cues"] <= ORDINARY_FALSE_CUES, report["ordinary"]
    assert report["ordinary"]["words"] > 3000


def test_rules_alone_keep_their_measured_figures():
    """The phrase rules alone (the partials' path) at least as measured on held-out."""
    report = _script().evaluate(general=False, head=False)
    heldout = report["heldout"]["overall"]
    assert heldout["precision"] >= RULES_PRECISION, heldout
    assert heldout["recall"] >= RULES_RECALL, heldout
    assert report["ordinary"]["false_cues"] == 0, report["ordinary"]
