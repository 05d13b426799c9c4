"""
ONNX attributes as `dfg.node` holds them, both ways, and as plain Python values.

A node's attributes are xDSL builtin attributes (the one dependency of this layer
beyond onnx and numpy: `dfg.node` stores them, and the dialect imports this
layer, not the other way round):

    INT      i64 (IntegerAttr)          INTS     array<i64: ...>
    FLOAT    f32 (FloatAttr)            FLOATS   array<f32: ...>
    STRING   StringAttr                 STRINGS  [StringAttr, ...]
    TENSOR   dense<...> : tensor<...>   TENSORS  [dense<...>, ...]

Subgraphs, sparse tensors and type protos have no representation: `from_proto`
rejects them with a ValueError that names the attribute.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias, cast

import numpy as np
from xdsl.dialects.builtin import (
    AnyFloat,
    ArrayAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    StringAttr,
    f32,
    i64,
)
from xdsl.ir import Attribute

from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.onnx.schema import onnx_schema
from ramiel_mlir.tensors import (
    dense_from_numpy,
    element_type_from_onnx,
    is_string,
    numpy_from_dense,
    numpy_from_onnx,
)

if TYPE_CHECKING:
    from onnx import AttributeProto, TensorProto

AttrValue: TypeAlias = int | float | str | list[int] | list[float] | list[str] | np.ndarray
"""An attribute as a lowering reads it."""


def from_proto(attr: AttributeProto, base_dir: str = "") -> Attribute:
    """
    The builtin attribute that holds the ONNX attribute `attr` (external tensor
    data is read from `base_dir`); ValueError for a kind the IR cannot hold.
    """
    from onnx import AttributeProto

    kind = attr.type
    if kind == AttributeProto.INT:
        return IntegerAttr(attr.i, i64)
    if kind == AttributeProto.FLOAT:
        return FloatAttr(attr.f, f32)
    if kind == AttributeProto.STRING:
        return StringAttr(attr.s.decode("utf-8", "replace"))
    if kind == AttributeProto.INTS:
        return DenseArrayBase.from_list(i64, list(attr.ints))
    if kind == AttributeProto.FLOATS:
        return DenseArrayBase.from_list(f32, list(attr.floats))
    if kind == AttributeProto.STRINGS:
        return ArrayAttr(StringAttr(s.decode("utf-8", "replace")) for s in attr.strings)
    if kind == AttributeProto.TENSOR:
        return _dense(attr.t, attr.name, base_dir)
    if kind == AttributeProto.TENSORS:
        return ArrayAttr(_dense(t, attr.name, base_dir) for t in attr.tensors)
    construct = {
        AttributeProto.GRAPH: "a subgraph",
        AttributeProto.GRAPHS: "subgraphs",
    }.get(kind, f"an attribute of type {AttributeProto.AttributeType.Name(kind)}")
    raise ValueError(f"attribute '{attr.name}' is {construct}, which is not supported")


def _dense(tensor: TensorProto, name: str, base_dir: str) -> DenseIntOrFPElementsAttr:
    from onnx import TensorProto

    element = element_type_from_onnx(tensor.data_type)
    if element is None or is_string(element):
        raise ValueError(
            f"tensor attribute '{name}' has element type "
            f"{TensorProto.DataType.Name(tensor.data_type)}, which is not supported"
        )
    return dense_from_numpy(numpy_from_onnx(tensor, base_dir), element)


def proto_value(attr: Attribute, name: str) -> object | None:
    """The value `onnx.helper.make_attribute` takes for a builtin attribute; None if none fits."""
    from onnx import numpy_helper

    match attr:
        case IntegerAttr() | FloatAttr():
            return attr.value.data
        case StringAttr():
            return attr.data
        case DenseArrayBase() if isinstance(attr.get_element_type(), IntegerType):
            return list(cast(DenseArrayBase[IntegerType], attr).iter_values())
        case DenseArrayBase():
            return list(cast(DenseArrayBase[AnyFloat], attr).iter_values())
        case DenseIntOrFPElementsAttr():
            return numpy_helper.from_array(numpy_from_dense(attr), name)
        case ArrayAttr() if all(isinstance(a, StringAttr | DenseIntOrFPElementsAttr) for a in attr):
            return [proto_value(a, name) for a in attr]
        case _:
            return None


def to_proto(name: str, attr: Attribute, op_type: str, opset: int, domain: str) -> AttributeProto:
    """
    The ONNX attribute `name` of an `op_type` node that `attr` stands for.

    The type of an empty list is not in the IR: the op's schema settles it.
    ValueError if `attr` has no ONNX attribute type.
    """
    from onnx import AttributeProto, helper
    from onnx.defs import OpSchema

    value = proto_value(attr, name)
    if value is None:
        raise ValueError(f"attribute '{name}' holds {attr}, which has no ONNX attribute type")
    if value != []:
        return helper.make_attribute(name, value)
    if isinstance(attr, DenseArrayBase):
        is_int = isinstance(attr.get_element_type(), IntegerType)
        return helper.make_attribute(
            name, [], attr_type=AttributeProto.INTS if is_int else AttributeProto.FLOATS
        )
    schema = onnx_schema(op_type, opset, domain)
    declared = schema.attributes.get(name) if schema is not None else None
    tensors = declared is not None and declared.type == OpSchema.AttrType.TENSORS
    return helper.make_attribute(
        name, [], attr_type=AttributeProto.TENSORS if tensors else AttributeProto.STRINGS
    )


def shortest_f32(value: float) -> float:
    """The shortest decimal that names the same float32 as `value` (ONNX floats are f32)."""
    return float(str(np.float32(value)))


def attr_value(attr: Attribute) -> AttrValue:
    """The Python value of an ONNX attribute as the frontend stores it."""
    if isinstance(attr, IntegerAttr):
        return attr.value.data
    if isinstance(attr, FloatAttr):
        return shortest_f32(attr.value.data)
    if isinstance(attr, StringAttr):
        return attr.data
    if isinstance(attr, DenseArrayBase):
        values = list(attr.get_values())
        if values and isinstance(values[0], float):
            return [shortest_f32(v) for v in values]
        return values
    if isinstance(attr, ArrayAttr):
        return [a.data for a in attr.data if isinstance(a, StringAttr)]
    if isinstance(attr, DenseIntOrFPElementsAttr):
        return numpy_from_dense(attr)
    raise RamielError(f"unexpected attribute {attr}")
