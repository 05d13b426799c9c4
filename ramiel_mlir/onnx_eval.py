"""
Evaluating single ONNX nodes at compile time, with ONNX's own semantics.

The frontend (to resolve shapes), fold-constants and the lowering of constant
shape arithmetic all compute node results before run time; they share this
module so that "what may be evaluated" and "how" are answered once: a node is
evaluated by `onnx.reference`, and only if its schema says it is deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import onnx
from onnx import NodeProto, numpy_helper


def schema_is_deterministic(op_type: str, opset: int, domain: str) -> bool:
    """Whether the ONNX schema of `op_type` at `opset` says it is deterministic."""
    from ramiel_mlir.dialects.dfg import onnx_schema

    schema = onnx_schema(op_type, opset, domain)
    deterministic = onnx.defs.OpSchema.NodeDeterminism.Deterministic
    # onnx's type stubs lack `node_determinism` (onnx 1.23).
    return schema is not None and schema.node_determinism == deterministic  # pyright: ignore[reportAttributeAccessIssue]


def placeholder(shape: Sequence[int], dtype: np.dtype) -> np.ndarray:
    """A zero-stride array of `shape`: what Shape and Size need, without any data."""
    return np.broadcast_to(np.zeros((), dtype), tuple(shape))


def run_node(
    node: NodeProto, feeds: Mapping[str, np.ndarray], opsets: Mapping[str, int]
) -> list[np.ndarray]:
    """
    The outputs of `node` on `feeds` (by input name) with ONNX's reference
    implementation; a Constant holding a tensor is read directly.

    The reference implementation raises NotImplementedError for an op it lacks,
    and any exception for inputs it rejects: callers decide what that means.
    """
    attributes = node.attribute
    if node.op_type == "Constant" and len(attributes) == 1 and attributes[0].name == "value":
        return [numpy_helper.to_array(attributes[0].t)]
    from onnx import TypeProto, helper
    from onnx.reference import ReferenceEvaluator

    # A one-node graph: given a bare NodeProto, the evaluator ignores `opsets`
    # and runs the op's newest version.
    graph = helper.make_graph(
        [node],
        "evaluate",
        [helper.make_value_info(name, TypeProto()) for name in dict.fromkeys(node.input) if name],
        [helper.make_value_info(name, TypeProto()) for name in node.output if name],
    )
    with np.errstate(all="ignore"):  # inf and nan are ONNX results, not errors
        results = ReferenceEvaluator(graph, opsets=dict(opsets)).run(None, dict(feeds))
    return [np.asarray(result) for result in results]
