"""The labelled PHI set through the hub's privacy path: every identifier masked, clinical kept."""

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "eval_redaction.py"


def _script():
    spec = importlib.util.spec_from_file_location("eval_redaction", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_phi_set_recall_is_complete_and_clinical_finals_stay():
    """All the set's identifiers masked in every partial and final; no clinical final changed."""
    report = _script().evaluate(repeat=1)
    assert report["items"] >= 300
    assert report["missed"] == []
    for kind, row in report["recall"].items():
        assert row["both"] == 1.0, kind
    assert set(report["recall"]) == {
        "phone", "date_of_birth", "ssn", "card", "email", "member_id", "all"
    }  # fmt: skip
    assert report["clinical"]["items"] >= 50
    assert report["clinical"]["changed_ids"] == []


def test_eval_reads_what_was_kept():
    """The leak check sees a kept piece and accepts a tag in its place or a cut stable."""
    ev = _script()
    said = ev.Labelled.parse("call [[phone:808 555 1234]] now")
    assert said.leaked(ev.kept_stretches(said.text, "call [phone] now")) == set()
    assert said.leaked(ev.kept_stretches(said.text, "call 808 [phone] now")) == {"phone"}
    assert ev.kept_stretches(said.text, "call ", cut=True) == [(0, 5)]
