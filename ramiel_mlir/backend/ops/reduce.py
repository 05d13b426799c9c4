"""
ONNX reductions (ReduceSum, ReduceMean, ...) as torch reductions over known axes.

The axes are an attribute in older opsets and an optional input in newer ones
(ReduceSum since 13, the others since 18). No axes means every axis, unless
`noop_with_empty_axes` makes the node the identity.
"""

from __future__ import annotations

from xdsl.dialects.builtin import IntegerType
from xdsl.ir import SSAValue

from ramiel_mlir.backend.context import NodeContext
from ramiel_mlir.backend.ops import lowering
from ramiel_mlir.backend.ops.known import folding, known_ints

AXES_INPUT_SINCE = {"ReduceSum": 13}
"""The opset in which the axes became an input; 18 for every other reduction."""


def _axes(ctx: NodeContext) -> list[int] | None:
    """The sorted non-negative axes to reduce, None for the identity."""
    rank = ctx.rank(0)
    if ctx.opset >= AXES_INPUT_SINCE.get(ctx.node.op_type.data, 18):
        axes = known_ints(ctx, 1, "axes")
    else:
        axes = ctx.int_list("axes")
    if not axes:
        if int(ctx.attr("noop_with_empty_axes", 0)):  # type: ignore[arg-type]
            return None
        return list(range(rank))
    return sorted({ctx.axis(a, rank) for a in axes})


def _reduce(
    ctx: NodeContext, x: SSAValue, method: str, axes: list[int], inline: bool = False
) -> SSAValue:
    """`x.method(axes, keepdim=True)`, `x.method(axes)`, or `x.method()` over every axis."""
    keepdims = bool(ctx.attr("keepdims", 1))
    kwargs: dict[str, object] = {}
    element = ctx.out_type().get_element_type()
    if method in ("sum", "prod") and isinstance(element, IntegerType):
        # torch accumulates small integers into int64; ONNX keeps the type.
        kwargs["dtype"] = ctx.dtype(ctx.out_type())
    if not keepdims and axes == list(range(ctx.rank(0))):
        return ctx.b.method(x, method, inline=inline, **kwargs)  # type: ignore[arg-type]
    if keepdims:
        kwargs["keepdim"] = True
    if method == "prod":
        # torch's prod takes one dimension: reduce the highest first.
        for i, axis in enumerate(reversed(axes)):
            last = i == len(axes) - 1
            x = ctx.b.method(x, "prod", axis, inline=inline or not last, **kwargs)  # type: ignore[arg-type]
        return x
    dims: int | list[int] = axes[0] if len(axes) == 1 else axes
    return ctx.b.method(x, method, dims, inline=inline, **kwargs)  # type: ignore[arg-type]


METHODS: dict[str, str] = {
    "ReduceSum": "sum",
    "ReduceMean": "mean",
    "ReduceMax": "amax",
    "ReduceMin": "amin",
    "ReduceProd": "prod",
    "ReduceLogSumExp": "logsumexp",
}
"""Reductions that are one tensor method."""


@lowering(*METHODS, "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum")
@folding
def _reduction(ctx: NodeContext) -> list[SSAValue]:
    op_type = ctx.node.op_type.data
    axes = _axes(ctx)
    x = ctx.arg(0)
    if axes is None:
        return [x]
    if op_type == "ReduceMean" and isinstance(ctx.in_type(0).get_element_type(), IntegerType):
        ctx.unsupported("an integer ReduceMean")
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
