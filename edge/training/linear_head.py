"""A linear softmax head on the MiniLM sentence embedding, exported as a plain ONNX graph.

The emergency head and the triage head (``scripts/train_emergency.py``,
``scripts/train_triage.py``) are both multinomial logistic regressions on the
embedding :mod:`edge.adapters.text` computes for every caller final; this writes
either one: ``embedding (batch, 384) -> output (batch, classes)``, MatMul, Add,
Softmax, and the training choices as model properties.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from edge.adapters.text import EMBEDDING_DIM


def export_linear_head(
    weight: np.ndarray,
    bias: np.ndarray,
    path: Path,
    *,
    output: str,
    producer: str,
    props: dict[str, object],
) -> None:
    """Write ``softmax(embedding @ weight + bias)`` as ``output`` (one column per class)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits = [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")]
    nodes = [
        helper.make_node("MatMul", ["embedding", "w"], ["z0"]),
        helper.make_node("Add", ["z0", "b"], ["logits"]),
        helper.make_node("Softmax", ["logits"], [output], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        f"{output}_head",
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", EMBEDDING_DIM])],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, ["batch", weight.shape[1]])],
        inits,
    )
    model = helper.make_model(
        graph, producer_name=f"empathy-edge {producer}", opset_imports=[helper.make_opsetid("", 17)]
    )
    model.ir_version = 8  # readable by onnxruntime >= 1.17, the floor in pyproject
    helper.set_model_props(model, {k: json.dumps(v) for k, v in props.items()})
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
