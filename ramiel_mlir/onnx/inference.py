"""
ONNX shape inference for one node: the result types the `dfg.node` verifier checks.

`infer_node` runs the operator's own inference function
(`onnx.shape_inference.infer_node_outputs`, about 25 us a node) on the node's
input types, and on the values of the inputs given as constants (a Reshape's
shape), and returns the type it gives each output: a `TypeProto` whose unknown
parts (element type 0, a dimension without a value, no shape) say nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from onnx import AttributeProto, TensorProto, TypeProto


class InferenceRejected(Exception):
    """ONNX shape inference finds the node's inputs inconsistent (its message says why)."""


def infer_node(
    op_type: str,
    domain: str,
    opset: int,
    attributes: Sequence[AttributeProto],
    inputs: Sequence[TypeProto | None],
    outputs: Sequence[bool],
    data: Mapping[int, TensorProto],
) -> list[TypeProto | None]:
    """
    The types ONNX infers for the results of an `op_type` node whose inputs have
    types `inputs` (None: omitted) and, for the indices in `data`, those constant
    values; `outputs` says which results the node has (False: omitted). None for
    an output it infers nothing for. Attributes the schema does not declare are
    left out (checking them is not this function's job). Raises
    InferenceRejected when inference, or the schema check before it (an input
    type outside the operator's type constraints), rejects the node.
    """
    from onnx import checker, helper, shape_inference
    from onnx.defs import SchemaError, get_schema

    unknown: list[TypeProto | None] = [None] * len(outputs)
    try:
        schema = get_schema(op_type, opset, domain)
    except SchemaError:
        return unknown
    input_names = [f"i{i}" if t is not None else "" for i, t in enumerate(inputs)]
    output_names = [f"o{i}" if present else "" for i, present in enumerate(outputs)]
    node = helper.make_node(op_type, input_names, output_names, domain=domain or None)
    node.attribute.extend(a for a in attributes if a.name in schema.attributes)
    types = {name: t for name, t in zip(input_names, inputs, strict=True) if t is not None}
    given = {input_names[i]: value for i, value in data.items()}
    try:
        inferred = shape_inference.infer_node_outputs(
            schema,
            node,
            types,
            input_data=given,
            opset_imports=[helper.make_opsetid(domain, opset)],
        )
    except (shape_inference.InferenceError, checker.ValidationError) as error:
        raise InferenceRejected(str(error).strip().splitlines()[0]) from None
    return [inferred.get(name) if name else None for name in output_names]
