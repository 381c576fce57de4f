from __future__ import annotations

import pytest

from edge.pipeline.engine import Engine
from edge.pipeline.options import PipelineOptions


@pytest.fixture(scope="session")
def engine():
    """The real default models (tiny.en int8, Silero VAD), loaded once per session."""
    loaded = Engine.load(PipelineOptions())
    yield loaded
    loaded.close()
