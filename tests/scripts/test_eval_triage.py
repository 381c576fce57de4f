"""The call triage on the labelled set's held-out part: the figures of models/triage.md,
pinned so that a change to the head, the set or the stage cannot quietly lower them."""

import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "eval_triage.py"

# Measured on the held-out part (models/triage.md): accuracy 0.941, recall of sensitive
# 0.975 (issue 17's target, 0.95, is the floor), no call-handling line read sensitive.
HELDOUT_RECALL = 0.95
HELDOUT_ACCURACY = 0.93
# Of the ten calm routine calls of ordinary_calls.csv, four ended sensitive (two at the
# opening, two later; models/triage.md says which words); of the distressed clinic lines
# of healthcare_distress.csv, 0.99 were read sensitive.
ORDINARY_ENDED_SENSITIVE = 4
DISTRESSED_SENSITIVE = 0.97


def _script():
    spec = importlib.util.spec_from_file_location("eval_triage", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_heldout_figures_whole_calls_and_distressed_lines():
    """Held-out recall of sensitive at the target and accuracy as measured; at most the
    measured routine calls turned sensitive; distressed clinic lines read sensitive."""
    module = _script()
    report = module.evaluate()
    assert report["sizes"]["heldout"] >= 0.3 * sum(report["sizes"].values())
    heldout = report["heldout"]
    assert heldout["sensitive"] >= 100 and heldout["lines"] >= 250
    assert heldout["sensitive_recall"] >= HELDOUT_RECALL, heldout
    assert heldout["accuracy"] >= HELDOUT_ACCURACY, heldout
    assert heldout["other_sensitive"] == 0, heldout
    assert HELDOUT_RECALL == module.TARGET_RECALL
    ordinary = report["ordinary_calls"]
    assert ordinary["calls"] == 10
    assert len(ordinary["ended_sensitive"]) <= ORDINARY_ENDED_SENSITIVE, ordinary
    assert report["distressed_lines"]["sensitive"] >= DISTRESSED_SENSITIVE
