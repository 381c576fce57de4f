"""One way to open an ONNX model for every adapter: explicit options, cached, clear errors."""

from __future__ import annotations

import functools

import onnxruntime as ort

from edge.errors import ModelError


@functools.lru_cache(maxsize=16)
def _open(path: str, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    # Our models are milliseconds of work per call; more threads would compete
    # with Whisper for the same cores and add hand-off latency.
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])


def session(path: str, *, threads: int = 1, what: str, fix: str) -> ort.InferenceSession:
    """A CPU session for ``path`` (cached per path and thread count).

    ``what`` names the model and ``fix`` says what to do, for the one-line error
    when the file does not load.
    """
    try:
        return _open(path, threads)
    except Exception as e:  # onnxruntime raises its own untyped errors
        raise ModelError(f"{what} {path} failed to load ({e}); {fix}") from e
