"""Silero VAD (MIT) run directly with onnxruntime, streaming, state per stream.

Two ONNX layouts are understood, so either file can be chosen by path:

* ``silero_vad.onnx`` from the silero-vad wheel (inputs ``input``, ``state``,
  ``sr``), shipped in ``models/`` and used by default;
* ``silero_vad_v6.onnx`` from faster-whisper's assets (inputs ``input``,
  ``h``, ``c``).

Both take 512 new samples at 16 kHz plus the last 64 samples of the previous
chunk as context, and return the speech probability of the new samples.

:meth:`SileroVad.probabilities` runs many streams at once, one row of the
``state`` layout's batch dimension per stream (issue 15: one model call for
all live channels; 0.12 against 0.25 ms a frame at 4 or more streams).
"""

from __future__ import annotations

from collections.abc import Sequence
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

    def probabilities(
        self, jobs: Sequence[tuple[SileroStream, Sequence[Samples]]]
    ) -> list[list[float]]:
        """Each stream's probabilities of its frames, in order: the streams' n-th frames
        in one model call (the ``state`` layout; ``hc`` runs one stream at a time).

        Each stream's state advances as if it had read its frames alone; if the model
        raises, every stream is left as it was, so each job can be run again alone.
        """
        if len({id(stream) for stream, _ in jobs}) != len(jobs):
            raise ValueError("a stream may appear once in a batch: its frames are in order")
        if any(stream.model is not self for stream, _ in jobs):
            raise ValueError("every stream of a batch must come from this model's stream()")
        saved = [stream.saved() for stream, _ in jobs]
        try:
            return self._probabilities(jobs)
        except BaseException:
            for (stream, _), state in zip(jobs, saved, strict=True):
                stream.restore(state)
            raise

    def _probabilities(
        self, jobs: Sequence[tuple[SileroStream, Sequence[Samples]]]
    ) -> list[list[float]]:
        if self.layout != "state" or len(jobs) == 1:  # one stream: no batch to stack
            return [[stream.probability(f) for f in frames] for stream, frames in jobs]
        out: list[list[float]] = [[] for _ in jobs]
        sr = np.array(SAMPLE_RATE, dtype=np.int64)
        for n in range(max((len(frames) for _, frames in jobs), default=0)):
            rows = [i for i, (_, frames) in enumerate(jobs) if n < len(frames)]
            x = np.stack([jobs[i][0].window(jobs[i][1][n]) for i in rows])
            state = np.concatenate([jobs[i][0].state for i in rows], axis=1)
            probs, state = self.session.run(None, {"input": x, "state": state, "sr": sr})
            for row, i in enumerate(rows):
                jobs[i][0].advance(jobs[i][1][n], state[:, row : row + 1])
                out[i].append(float(probs[row, 0]))
        return out


class SileroStream:
    """Recurrent state and context of one audio stream. Not thread-safe."""

    def __init__(self, model: SileroVad) -> None:
        self._model = model
        self._sr = np.array(SAMPLE_RATE, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT_SAMPLES, dtype=np.float32)

    @property
    def model(self) -> SileroVad:
        return self._model

    @property
    def state(self) -> np.ndarray:
        """The recurrent state, shape (2, 1, 128)."""
        return self._state

    def saved(self) -> tuple[np.ndarray, np.ndarray]:
        """The state and context, to :meth:`restore` if a batch fails."""
        return self._state, self._context

    def restore(self, saved: tuple[np.ndarray, np.ndarray]) -> None:
        self._state, self._context = saved

    def window(self, frame: Samples) -> np.ndarray:
        """What the model reads for ``frame``: the context, then the frame."""
        if frame.shape != (FRAME_SAMPLES,):
            raise ValueError(f"VAD frames must be {FRAME_SAMPLES} samples, got {frame.shape}")
        return np.concatenate([self._context, frame.astype(np.float32, copy=False)])

    def advance(self, frame: Samples, state: np.ndarray) -> None:
        """``frame`` was read and left ``state``: the next frame continues from there."""
        self._state = np.ascontiguousarray(state)
        self._context = frame[-CONTEXT_SAMPLES:].astype(np.float32, copy=True)

    def probability(self, frame: Samples) -> float:
        x = self.window(frame)[None, :]
        session = self._model.session
        if self._model.layout == "state":
            out, state = session.run(None, {"input": x, "state": self._state, "sr": self._sr})
        else:
            out, h, c = session.run(None, {"input": x, "h": self._state[:1], "c": self._state[1:]})
            state = np.concatenate([h, c])
        self.advance(frame, state)
        return float(np.asarray(out).ravel()[0])
