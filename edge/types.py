"""Small shared types: ids and channel roles."""

from __future__ import annotations

import enum
from typing import NewType

CallId = NewType("CallId", str)

#: Audio inside the pipeline is always 16 kHz mono float32 in [-1, 1].
SAMPLE_RATE = 16_000
#: One frame is 512 samples (32 ms): the chunk size Silero VAD expects at 16 kHz.
FRAME_SAMPLES = 512
FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE


class Role(str, enum.Enum):
    """Which party a channel carries."""

    CALLER = "caller"
    AGENT = "agent"

    def __str__(self) -> str:
        return self.value
