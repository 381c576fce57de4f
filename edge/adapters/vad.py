"""Silero VAD (MIT) run directly with onnxruntime, streaming, state per stream.

Two ONNX layouts are understood, so either file can be chosen by path:

* ``silero_vad.onnx`` from the silero-vad wheel (inputs ``input``, ``state``,
  ``sr``), shipped in ``models/`` and used by default;
* ``silero_vad_v6.onnx`` from faster-whisper's assets (inputs ``input``,
  ``h``, ``c``).

Both take 512 new samples at 16 kHz plus the last 64 samples of the previous
chunk as context, and return the speech probability of the new samples.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from edge.adapters.model_files import bundled
from edge.adapters.sessions import session
from edge.contracts import Samples
from edge.errors import ModelError
from edge.types import FRAME_SAMPLES, SAMPLE_RATE

CONTEXT_SAMPLES = 64
DEFAULT_VAD_MODEL = "silero_vad.onnx"


def _session(path: str) -> ort.InferenceSession:
    # One VAD step is ~0.1 ms of work: threads would only add hand-off latency.
    return session(path, what="VAD model", fix="use a Silero VAD ONNX file")


class SileroVad:
    """A loaded Silero VAD model; ``stream()`` gives independent streaming state."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else bundled(DEFAULT_VAD_MODEL)
        if not self.path.is_file():
            raise ModelError(f"VAD model {self.path} does not exist; check the path")
        self.session = _session(str(self.path))
        names = {i.name for i in self.session.get_inputs()}
        if names == {"input", "state", "sr"}:
            self.layout = "state"
        elif names == {"input", "h", "c"}:
            self.layout = "hc"
        else:
            raise ModelError(
                f"VAD model {self.path} has inputs {sorted(names)}, not a Silero VAD layout "
                "(input/state/sr or input/h/c)"
            )

    def stream(self) -> SileroStream:
        return SileroStream(self)


class SileroStream:
    """Recurrent state and context of one audio stream. Not thread-safe."""

    def __init__(self, model: SileroVad) -> None:
        self._model = model
        self._sr = np.array(SAMPLE_RATE, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT_SAMPLES, dtype=np.float32)

    def probability(self, frame: Samples) -> float:
        if frame.shape != (FRAME_SAMPLES,):
            raise ValueError(f"VAD frames must be {FRAME_SAMPLES} samples, got {frame.shape}")
        x = np.concatenate([self._context, frame.astype(np.float32, copy=False)])[None, :]
        session = self._model.session
        if self._model.layout == "state":
            out, self._state = session.run(None, {"input": x, "state": self._state, "sr": self._sr})
        else:
            out, h, c = session.run(None, {"input": x, "h": self._state[:1], "c": self._state[1:]})
            self._state = np.concatenate([h, c])
        self._context = frame[-CONTEXT_SAMPLES:].astype(np.float32, copy=True)
        return float(np.asarray(out).ravel()[0])
