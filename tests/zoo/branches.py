"""The smallest model with parallel paths and named nodes, for driver and docs tests."""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import TensorProto, helper


def branches(path: Path) -> Path:
    """Write x -> relu -> neg and x -> exp, added (named nodes, 4x8 floats) to `path`."""
    node = helper.make_node
    graph = helper.make_graph(
        [
            node("Relu", ["x"], ["a"], name="left/relu"),
            node("Neg", ["a"], ["b"], name="left/neg"),
            node("Exp", ["x"], ["c"], name="right/exp"),
            node("Add", ["b", "c"], ["y"], name="join"),
        ],
        "main",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 8])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path
