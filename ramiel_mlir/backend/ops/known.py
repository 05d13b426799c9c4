"""
Values known while lowering: weights and Constant nodes, read as numbers.

The lowering never evaluates ONNX nodes: `convert-dfg-to-py` first runs
`fold-constants{exact=true keep-constants=true}`, which folds the small results
of shape arithmetic (`Shape -> Gather -> Concat -> Reshape`) into weights. A
lowering that needs an input as numbers (Slice starts, reduction axes) reads
such a weight, or a Constant node's value, with `known(ctx, i)`, and a known
one-element operand of an element-wise op becomes a plain Python number
(`operand`). A small Constant read only by nodes prints no statement: its value
is printed as a literal `torch.tensor([...])` where a lowering reads it
(`inline_constant`).
"""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Attribute, SSAValue

from ramiel_mlir.backend.context import NodeContext, attr_value
from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.dialects.dfg import NodeOp
from ramiel_mlir.tensors import is_string, numpy_dtype, torch_dtype_name
from ramiel_mlir.weights import INLINE_LIMIT

Scalar = bool | int | float
Number = SSAValue | Scalar


def constant_node_value(value: SSAValue) -> np.ndarray | None:
    """The value of a small numeric ONNX `Constant` node's result, else None."""
    owner = value.owner
    if not isinstance(owner, NodeOp) or owner.op_type.data != "Constant" or owner.onnx_domain:
        return None
    t = value.type
    if (
        not isinstance(t, TensorType)
        or is_string(t.get_element_type())
        or math.prod(t.get_shape()) > INLINE_LIMIT
    ):
        return None
    return constant_value(owner)


def inline_constant(value: SSAValue) -> np.ndarray | None:
    """
    The value of a small Constant node's result that only nodes read, which
    is then printed as a literal where read (None for any other value).
    """
    if not all(isinstance(use.operation, NodeOp) for use in value.uses):
        return None
    return constant_node_value(value)


def known(ctx: NodeContext, index: int) -> np.ndarray | None:
    """The compile-time value of input `index`: a weight or a small Constant node."""
    if not ctx.has(index):
        return None
    value = ctx.const(index)
    return value if value is not None else constant_node_value(ctx.node.inputs[index])


def require_known(ctx: NodeContext, index: int, what: str) -> np.ndarray:
    """The compile-time value of input `index`, an error naming `what` if it is computed."""
    value = known(ctx, index)
    if value is None:
        ctx.unsupported(f"a computed {what} (input #{index})")
    return value


def known_ints(ctx: NodeContext, index: int, what: str = "") -> list[int] | None:
    """
    Input `index` as a list of ints; None if it is omitted or (without `what`) computed.

    With `what`, a computed input is an error that names it.
    """
    value = require_known(ctx, index, what) if what and ctx.has(index) else known(ctx, index)
    return None if value is None else [int(v) for v in value.reshape(-1)]


def constant_value(node: NodeOp) -> np.ndarray:
    """The value of a `Constant` node, from whichever `value*` attribute it has."""
    for name, attr in node.onnx_attrs.items():
        value = attr_value(attr)
        if name == "value" and isinstance(value, np.ndarray):
            return value
        if name in ("value_float", "value_floats"):
            return np.array(value, np.float32)
        if name in ("value_int", "value_ints"):
            return np.array(value, np.int64)
        raise RamielError(f"node '{node.node_name}' (Constant): '{name}' is not supported")
    raise RamielError(f"node '{node.node_name}' (Constant): no value attribute")


def python_number(value: np.generic) -> Scalar:
    """
    A Python number that names `value` exactly in its own dtype.

    Floats print as the shortest decimal of their width (`0.1`, not
    `0.10000000149011612`) when that converts back to the same value.
    """
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer) or value.dtype.name.startswith(("int", "uint")):
        return int(value)  # (ml_dtypes' int4 and int2 are no np.integer)
    shortest = float(str(value))
    # The shortest decimal of float32's largest value lies beyond it as a double,
    # and torch refuses to narrow it: keep those exact.
    largest = float(ml_dtypes.finfo(value.dtype).max)
    exact = value.dtype.type(shortest) == value and abs(shortest) <= largest
    return shortest if exact else float(value)


def number(array: np.ndarray) -> Scalar:
    """The one element of a one-element array as a Python number."""
    return python_number(array.flat[0])


def _nested(array: np.ndarray) -> Scalar | list:
    if array.ndim == 0:
        return number(array)
    return [_nested(a) for a in array]


def literal(
    ctx: NodeContext, array: np.ndarray, element_type: Attribute, inline: bool = True
) -> SSAValue:
    """
    `torch.tensor(<array>)` of `element_type` (by default printed where it is used).

    The dtype is spelled out unless torch infers it from the Python values.
    """
    dtype = torch_dtype_name(element_type)
    kwargs: dict[str, SSAValue] = {}
    if array.size == 0 or dtype not in ("bool", "int64", "float32"):
        kwargs["dtype"] = ctx.b.name(f"torch.{dtype}")
    if array.size == 0:
        return ctx.b.call("torch.empty", list(array.shape), inline=inline, keywords=kwargs)
    values = array.astype(numpy_dtype(element_type))
    return ctx.b.call("torch.tensor", _nested(values), inline=inline, keywords=kwargs)


def scalar(ctx: NodeContext, index: int) -> Scalar | None:
    """Input `index` as a Python number, if it is a known one-element tensor."""
    value = known(ctx, index)
    if value is None or value.size != 1:
        return None
    return number(value)


def operand(ctx: NodeContext, index: int) -> Number:
    """
    Input `index` of an element-wise node as a Python number where that is exact.

    A known one-element input is a number when dropping its shape leaves the
    broadcast result shape as it is (a `[1]` added to a scalar is not), and some
    other input is a tensor (torch then computes in that tensor's dtype, which
    ONNX requires to be the number's).
    """
    value = scalar(ctx, index)
    if value is None:
        return ctx.arg(index)
    others = [i for i in range(len(ctx.node.inputs)) if i != index and ctx.has(i)]
    if not others or all(scalar(ctx, i) is not None for i in others):
        return ctx.arg(index)
    if not all(ctx.in_type(i).has_static_shape() for i in others):
        # A one-element input changes the broadcast shape only by its rank.
        if ctx.rank(index) > max(ctx.rank(i) for i in others):
            return ctx.arg(index)
    elif list(np.broadcast_shapes(*(tuple(ctx.in_shape(i)) for i in others))) != ctx.out_shape():
        return ctx.arg(index)
    if isinstance(value, float) and numpy_dtype(ctx.in_type(index).get_element_type()).itemsize < 4:
        # torch computes half-precision ops with the number in float32: it must
        # be the float16 value itself, not the shortest decimal that rounds to it.
        value = float(require_known(ctx, index, "operand").flat[0])
    return _spelled(ctx, value, ctx.in_type(index))


def _spelled(ctx: NodeContext, value: Scalar, t: TensorType) -> Number:
    """The number, or `torch.finfo(dtype).min` / `.max` for the extremes of a float type."""
    if not isinstance(value, float):
        return value
    if abs(value) != float(ml_dtypes.finfo(numpy_dtype(t.get_element_type())).max):
        return value
    finfo = ctx.b.call("torch.finfo", ctx.dtype(t), inline=True)
    return ctx.b.getattr(finfo, "max" if value > 0 else "min")


def int_operand(ctx: NodeContext, index: int) -> int | SSAValue:
    """
    One-element integer input `index` as a Python int: the number when it is
    known, else `int(x)` evaluated by the generated code (ONNX passes axes and
    offsets as tensors that a model may compute).
    """
    value = known(ctx, index)
    if value is not None:
        return int(value.reshape(-1)[0])
    return ctx.b.call("int", ctx.arg(index), inline=True)


def int_list_operand(ctx: NodeContext, index: int) -> list[int] | SSAValue:
    """Integer input `index` as a Python list: known, or `x.tolist()` at run time."""
    value = known(ctx, index)
    if value is not None:
        return [int(v) for v in value.reshape(-1)]
    return ctx.b.method(ctx.arg(index), "tolist", inline=True)
