from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from edge.pipeline.engine import Engine
from edge.pipeline.load import LoadOptions
from edge.pipeline.options import PipelineOptions

# Hypothesis budgets (tests/server/test_fuzz.py). "ci", the default: a fixed
# budget and a fixed seed (derandomize), so every run tries the same examples and
# nothing is written into the checkout (no example database). "long", chosen with
# EDGE_FUZZ=long: many more examples from fresh random seeds, for runs on demand.
_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile(
    "ci",
    max_examples=200,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=_QUIET,
)
settings.register_profile(
    "long", max_examples=5000, deadline=None, database=None, suppress_health_check=_QUIET
)
settings.load_profile("long" if os.environ.get("EDGE_FUZZ") == "long" else "ci")


@pytest.fixture(scope="session", autouse=True)
def state_folder(tmp_path_factory):
    """Services started by tests keep their verdicts ([feedback] store) in a temporary
    folder, never in the home folder of the user running the tests."""
    folder = tmp_path_factory.mktemp("state")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("STATE_DIRECTORY", raising=False)
        patch.setenv("XDG_STATE_HOME", str(folder))
        yield folder


@pytest.fixture(scope="session")
def engine():
    """The real default models (tiny.en int8, Silero VAD), loaded once per session.

    The load governor is off here (``lag_budget = 0``): on a busy test machine it would
    step to greedy finals and change what the transcript tests read. Its own tests
    (tests/server/test_overload.py, tests/pipeline/test_load.py) switch it on.
    """
    loaded = Engine.load(PipelineOptions(load=LoadOptions(lag_budget=0)))
    yield loaded
    loaded.close()


@pytest.fixture
def clean_config(tmp_path, monkeypatch):
    """No ./edge.toml and no EDGE_ settings of the machine running the tests leak in."""
    monkeypatch.chdir(tmp_path)
    for var in list(os.environ):
        if var == "EDGE_CONFIG" or (var.startswith("EDGE_") and "__" in var):
            monkeypatch.delenv(var)
