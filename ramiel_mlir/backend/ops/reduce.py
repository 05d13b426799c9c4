"""
ONNX reductions (ReduceSum, ReduceMean, ...) as torch reductions over known axes.

The axes are an attribute in older opsets and an optional input in newer ones
(ReduceSum since 13, the others since 18). No axes means every axis, unless
`noop_with_empty_axes` makes the node the identity.

A reduction of an input without elements reduces every result over an empty
set, whatever the axes: the result is the operator's value for no elements
(0 for sums, 1 for a product, -inf for a maximum, ...), a `torch.full` of the
static output shape. (torch's amax/amin reject an empty dimension.)
"""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
from xdsl.dialects.builtin import IntegerType
from xdsl.ir import Operation, SSAValue

from ramiel_mlir.backend.builder import Arg
from ramiel_mlir.backend.context import NodeContext
from ramiel_mlir.backend.ops import lowering
from ramiel_mlir.backend.ops.known import int_operand, known_ints
from ramiel_mlir.dialects import py
from ramiel_mlir.tensors import numpy_dtype

AXES_INPUT_SINCE = {"ReduceSum": 13}
"""The opset in which the axes became an input; 18 for every other reduction."""


def _axes(ctx: NodeContext) -> list[int] | SSAValue | None:
    """
    The sorted non-negative axes to reduce, None for the identity. Axes given as
    an input that is computed are read by the generated code (`axes.tolist()`);
    whether there are any is known from the input's static shape.
    """
    rank = ctx.rank(0)
    if ctx.opset >= AXES_INPUT_SINCE.get(ctx.node.op_type.data, 18):
        axes = known_ints(ctx, 1)
        if axes is None and ctx.has(1) and ctx.in_shape(1) != [0]:
            return ctx.b.method(ctx.arg(1), "tolist", inline=True)
    else:
        axes = ctx.int_list("axes")
    if not axes:
        if ctx.attr_int("noop_with_empty_axes", 0):
            return None
        return list(range(rank))
    return sorted({ctx.axis(a, rank) for a in axes})


def _descending(ctx: NodeContext) -> SSAValue:
    """Computed axes, made non-negative and sorted from the highest (for one-axis reductions)."""
    rank = ctx.rank(0)
    positive = ctx.b.call("torch.remainder", ctx.arg(1), rank, inline=True)
    ordered = ctx.b.call("torch.sort", positive, descending=True, inline=True)
    dims = ctx.b.method(ctx.b.getattr(ordered, "values"), "tolist")
    dims.name_hint = "dims"
    return dims


def _reduce(
    ctx: NodeContext,
    x: SSAValue,
    method: str,
    axes: list[int] | SSAValue,
    inline: bool = False,
) -> SSAValue:
    """`x.method(axes, keepdim=True)`, `x.method(axes)`, or `x.method()` over every axis."""
    keepdims = bool(ctx.attr("keepdims", 1))
    kwargs: dict[str, Arg] = {}
    element = ctx.out_type().get_element_type()
    if method in ("sum", "prod") and isinstance(element, IntegerType):
        # torch accumulates small integers into int64; ONNX keeps the type.
        kwargs["dtype"] = ctx.dtype(ctx.out_type())
    if isinstance(axes, SSAValue):
        if keepdims:
            kwargs["keepdim"] = True
        if method != "prod":
            return ctx.b.method(x, method, axes, inline=inline, keywords=kwargs)
        # torch's prod takes one dimension: the list read by `_axes` is not used.
        _erase(axes)
        descending = _descending(ctx)
        for i in range(ctx.in_shape(1)[0]):
            last = i == ctx.in_shape(1)[0] - 1
            dim = ctx.b.subscript(descending, [i])
            x = ctx.b.method(x, "prod", dim, inline=inline or not last, keywords=kwargs)
        return x
    # `x.method()` reduces every axis, except for logsumexp, which needs its dims.
    if not keepdims and axes == list(range(ctx.rank(0))) and method != "logsumexp":
        return ctx.b.method(x, method, inline=inline, keywords=kwargs)
    if keepdims:
        kwargs["keepdim"] = True
    if method == "prod":
        # torch's prod takes one dimension: reduce the highest first.
        for i, axis in enumerate(reversed(axes)):
            last = i == len(axes) - 1
            x = ctx.b.method(x, "prod", axis, inline=inline or not last, keywords=kwargs)
        return x
    dims: int | list[int] = axes[0] if len(axes) == 1 else axes
    return ctx.b.method(x, method, dims, inline=inline, keywords=kwargs)


METHODS: dict[str, str] = {
    "ReduceSum": "sum",
    "ReduceMean": "mean",
    "ReduceMax": "amax",
    "ReduceMin": "amin",
    "ReduceProd": "prod",
    "ReduceLogSumExp": "logsumexp",
}
"""Reductions that are one tensor method."""


EMPTY_VALUES: dict[str, float] = {
    "ReduceSum": 0.0,
    "ReduceL1": 0.0,
    "ReduceL2": 0.0,
    "ReduceSumSquare": 0.0,
    "ReduceProd": 1.0,
    "ReduceMean": math.nan,
    "ReduceMax": -math.inf,
    "ReduceMin": math.inf,
    "ReduceLogSum": -math.inf,
    "ReduceLogSumExp": -math.inf,
}
"""The result of each reduction over no elements, for float types (ONNX spec)."""


BY_TORCH = frozenset({"ReduceSum", "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum"})
"""
Reductions whose torch form gives ONNX's result over no elements (a sum of
nothing is 0): used where the output's shape, computed at run time, is unknown.
"""


def _empty_value(ctx: NodeContext, op_type: str) -> bool | int | float:
    """
    The reduction of no elements in the output's type: an integer or boolean
    maximum starts from the type's lowest value, a minimum from its highest.
    """
    value = EMPTY_VALUES[op_type]
    dtype = numpy_dtype(ctx.out_type().get_element_type())
    if math.isinf(value) and dtype == np.bool_:
        return value > 0
    if math.isinf(value) and op_type in ("ReduceMax", "ReduceMin") and dtype.kind in "iu":
        info = ml_dtypes.iinfo(dtype)
        return int(info.max if value > 0 else info.min)
    with np.errstate(all="ignore"):
        held = float(np.array(value).astype(dtype).astype(np.float64))
    if held != value and not (math.isnan(value) and math.isnan(held)):
        ctx.unsupported(f"{op_type} of no elements ({value}) in type {dtype.name}")
    return int(value) if dtype.kind in "iub" else value


def _over_nothing(ctx: NodeContext, axes: list[int] | SSAValue) -> SSAValue:
    """The result of a reduction whose input has no elements (module doc)."""
    if isinstance(axes, SSAValue):  # the axes read at run time are not needed
        _erase(axes)
    value = _empty_value(ctx, ctx.node.op_type.data)
    return ctx.b.call("torch.full", ctx.out_shape(), value, dtype=ctx.dtype(ctx.out_type()))


@lowering(*METHODS, "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum")
def _reduction(ctx: NodeContext) -> list[SSAValue]:
    op_type = ctx.node.op_type.data
    axes = _axes(ctx)
    x = ctx.arg(0)
    if axes is None:
        return [x]
    if op_type == "ReduceMean" and isinstance(ctx.in_type(0).get_element_type(), IntegerType):
        ctx.unsupported("an integer ReduceMean")
    empty = 0 in ctx.in_type(0).get_shape()  # (a size known only at run time is not 0 here)
    if empty and (ctx.out_type().has_static_shape() or op_type not in BY_TORCH):
        return [_over_nothing(ctx, axes)]
    if op_type in METHODS:
        return [_reduce(ctx, x, METHODS[op_type], axes)]
    if op_type == "ReduceL1":
        return [_reduce(ctx, ctx.b.method(x, "abs", inline=True), "sum", axes)]
    if op_type == "ReduceLogSum":
        return [ctx.b.method(_reduce(ctx, x, "sum", axes, inline=True), "log")]
    squares = ctx.b.method(x, "square", inline=True)
    if op_type == "ReduceSumSquare":
        return [_reduce(ctx, squares, "sum", axes)]
    return [ctx.b.method(_reduce(ctx, squares, "sum", axes, inline=True), "sqrt")]


@lowering("CumSum", "CumProd")
def _cumulative(ctx: NodeContext) -> list[SSAValue]:
    """
    `torch.cumsum` / `torch.cumprod` along `axis` (an input, read at run time if
    computed), in the input's type. `reverse` accumulates from the end;
    `exclusive` shifts by one, starting from 0 (1 for a product).
    """
    is_sum = ctx.node.op_type.data == "CumSum"
    function = "torch.cumsum" if is_sum else "torch.cumprod"
    axis = int_operand(ctx, 1)
    reverse = bool(ctx.attr("reverse", 0))
    exclusive = bool(ctx.attr("exclusive", 0))
    if isinstance(axis, SSAValue) and (reverse or exclusive):
        axis = ctx.b.add(py.AssignOp(axis)).res  # read several times
        axis.name_hint = "axis"
    x = ctx.arg(0)
    if reverse:
        x = ctx.b.method(x, "flip", ctx.b.list([axis]), inline=True)
    kwargs: dict[str, Arg] = {}
    if isinstance(ctx.in_type(0).get_element_type(), IntegerType):
        kwargs["dtype"] = ctx.dtype(ctx.in_type(0))  # not int64, as torch would give
    result = ctx.b.call(function, x, axis, keywords=kwargs)
    if exclusive:
        first = ctx.b.call("torch.narrow", result, axis, 0, 1, inline=True)
        start = ctx.b.call("torch.zeros_like" if is_sum else "torch.ones_like", first, inline=True)
        length = ctx.b.binary("-", ctx.b.method(result, "size", axis, inline=True), 1)
        rest = ctx.b.call("torch.narrow", result, axis, 0, length, inline=True)
        result = ctx.b.call("torch.cat", ctx.b.list([start, rest]), axis)
    if reverse:
        result = ctx.b.method(result, "flip", ctx.b.list([axis]))
    return [result]


def _erase(value: SSAValue) -> None:
    """Remove the unused op that computes `value`."""
    owner = value.owner
    assert isinstance(owner, Operation)
    owner.detach()
    owner.erase()
