"""
The compile-time evaluator: single ONNX nodes run with ONNX's own semantics.

`fold-constants` (the only pass that evaluates) and the frontend's shape
resolution compute node results before run time; both call this module so that
"what may be evaluated" and "how" are answered once: a node is evaluated by
`onnx.reference`, at its opset, and only if it is deterministic
(`ramiel_mlir.onnx.schema.is_deterministic`, which callers check).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from onnx import AttributeProto, NodeProto, numpy_helper

from ramiel_mlir.tensors import numpy_native

SHAPE_ONLY_OPS = frozenset({"Shape", "Size"})
"""Ops whose result depends only on the static type of their input, not its data."""


class EvaluationError(Exception):
    """The reference implementation rejected a node's inputs (the message says why)."""


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


def evaluate(
    op_type: str,
    domain: str,
    opset: int,
    attributes: Iterable[AttributeProto],
    inputs: Sequence[np.ndarray | None],
    output_count: int,
) -> list[np.ndarray]:
    """
    The outputs of one node on `inputs` (None for an omitted optional input).

    Raises NotImplementedError if the reference implementation lacks the op (or
    lacks it for ml_dtypes' element types: bfloat16, float8, ...), and
    EvaluationError, with a one-line message, if it rejects the inputs.
    """
    from onnx import helper

    input_names = [f"in{i}" if value is not None else "" for i, value in enumerate(inputs)]
    output_names = [f"out{i}" for i in range(output_count)]
    proto = helper.make_node(op_type, input_names, output_names, domain=domain)
    proto.attribute.extend(attributes)
    feeds = {
        name: value for name, value in zip(input_names, inputs, strict=True) if value is not None
    }
    try:
        return run_node(proto, feeds, {domain: opset})
    except NotImplementedError:
        raise
    except Exception as error:  # the reference implementation raises anything
        if not all(numpy_native(value.dtype) for value in feeds.values()):
            raise NotImplementedError(op_type) from error
        message = " ".join(str(error).split()) or type(error).__name__
        raise EvaluationError(message) from None
