"""
ONNX ops whose output sizes depend on the data: NonZero, Compress, Unique,
NonMaxSuppression.

Their results have a `?` dimension in the dfg type (docs/op-support.md,
"Data-dependent shapes"): the generated code learns the size when it runs.
"""

from __future__ import annotations

from xdsl.ir import SSAValue

from ramiel_mlir.backend.context import NodeContext
from ramiel_mlir.backend.ops import lowering
from ramiel_mlir.backend.runtime_source import runtime_module

runtime = runtime_module("selection")
"""The runtime functions this file's lowerings call."""


@lowering("NonZero")
def _non_zero(ctx: NodeContext) -> list[SSAValue]:
    """The indices of the non-zero elements, one row per axis (`torch.nonzero` transposed)."""
    if ctx.rank(0) == 0:
        ctx.unsupported("NonZero of a scalar")
    return [ctx.b.method(ctx.b.call("torch.nonzero", ctx.arg(0), inline=True), "t")]


@lowering("Compress")
def _compress(ctx: NodeContext) -> list[SSAValue]:
    """
    The slices along `axis` (of the flattened input without one) where the
    condition is true: `index_select` at the condition's non-zero positions.
    """
    axis = ctx.attr_int("axis")
    x = ctx.arg(0)
    if axis is None:
        x, axis = ctx.b.method(x, "flatten", inline=True), 0
    else:
        axis = ctx.axis(axis, ctx.rank(0))
    positions = ctx.b.call("torch.nonzero", ctx.arg(1), inline=True)
    indices = ctx.b.method(positions, "flatten", inline=True)
    return [ctx.b.call("torch.index_select", x, axis, indices)]


@lowering("Unique")
def _unique(ctx: NodeContext) -> list[SSAValue]:
    """`_unique`: torch's sorted unique values, reordered by first occurrence if unsorted."""
    axis = ctx.attr_int("axis")
    if axis is not None:
        axis = ctx.axis(axis, ctx.rank(0))
    sort = bool(ctx.attr_int("sorted", 1))
    results = ctx.b.call_n(ctx.helper(runtime._unique), 4, ctx.arg(0), axis, sort)
    return list(results)


@lowering("NonMaxSuppression")
def _non_max_suppression(ctx: NodeContext) -> list[SSAValue]:
    """`_non_max_suppression`: the greedy selection per batch and class, as ONNX's reference."""
    optional = [ctx.arg(i) if ctx.has(i) else None for i in range(2, 5)]
    center_point_box = ctx.attr_int("center_point_box", 0)
    if center_point_box not in (0, 1):
        ctx.unsupported(f"center_point_box {center_point_box}")
    helper = ctx.helper(runtime._non_max_suppression)
    return [ctx.b.call(helper, ctx.arg(0), ctx.arg(1), *optional, center_point_box)]
