from __future__ import annotations

import os

import pytest

from edge.pipeline.engine import Engine
from edge.pipeline.options import PipelineOptions


@pytest.fixture(scope="session")
def engine():
    """The real default models (tiny.en int8, Silero VAD), loaded once per session."""
    loaded = Engine.load(PipelineOptions())
    yield loaded
    loaded.close()


@pytest.fixture
def clean_config(tmp_path, monkeypatch):
    """No ./edge.toml and no EDGE_ settings of the machine running the tests leak in."""
    monkeypatch.chdir(tmp_path)
    for var in list(os.environ):
        if var == "EDGE_CONFIG" or (var.startswith("EDGE_") and "__" in var):
            monkeypatch.delenv(var)
