"""
Indexing ONNX ops: element gathers and scatters, one-hot, top-k, arg-max.

ONNX indices may be negative (counted from the end of the axis) and of type
int32; torch's gather and scatter take non-negative int64 indices, so computed
indices are normalized in the generated code and known ones at compile time.
Sizes that ONNX passes as inputs (TopK's k, OneHot's depth) are read from the
static output type, which shape inference derived from them.
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects.builtin import i64
from xdsl.ir import SSAValue

from ramiel_mlir.backend.builder import Arg
from ramiel_mlir.backend.context import NodeContext
from ramiel_mlir.backend.ops import lowering
from ramiel_mlir.backend.ops.known import folding, known, literal
from ramiel_mlir.backend.runtime_source import runtime_module
from ramiel_mlir.dialects import py
from ramiel_mlir.tensors import torch_dtype_name

runtime = runtime_module("tensor")
"""The runtime functions this file's lowerings call."""


def _indices(ctx: NodeContext, index: int, dim: int) -> SSAValue:
    """
    Input `index` as int64 indices into an axis of `dim` elements, negative ones
    made positive: at compile time when known, else in the generated code.
    """
    value = known(ctx, index)
    if value is not None:
        if ((value < -dim) | (value >= dim)).any():
            ctx.error(f"indices {value.tolist()} are out of range for a dimension of {dim}")
        positive = np.where(value < 0, value + dim, value).astype(np.int64)
        return literal(ctx, positive, i64)
    indices = ctx.arg(index)
    if torch_dtype_name(ctx.in_type(index).get_element_type()) != "int64":
        indices = ctx.b.method(indices, "long", inline=True)
    negative = ctx.b.call("torch.lt", indices, 0, inline=True)
    shifted = ctx.b.call("torch.add", indices, dim, inline=True)
    positive = ctx.b.call("torch.where", negative, shifted, indices)
    positive.name_hint = "indices"
    return positive


@lowering("GatherElements")
@folding
def _gather_elements(ctx: NodeContext) -> list[SSAValue]:
    """`torch.gather` along `axis`."""
    axis = ctx.axis(ctx.attr_int("axis", 0), ctx.rank(0))
    indices = _indices(ctx, 1, ctx.in_shape(0)[axis])
    return [ctx.b.call("torch.gather", ctx.arg(0), axis, indices)]


@lowering("GatherND")
@folding
def _gather_nd(ctx: NodeContext) -> list[SSAValue]:
    """Advanced indexing with one index tensor per indexed axis (torch counts negative ones
    from the end, as ONNX does); batch axes are indexed by broadcast aranges."""
    batch_dims = ctx.attr_int("batch_dims", 0)
    return [ctx.b.call(ctx.helper(runtime._gather_nd), ctx.arg(0), ctx.arg(1), batch_dims)]


SCATTER_REDUCTIONS = {"add": "sum", "mul": "prod", "max": "amax", "min": "amin"}
"""ONNX reduction -> torch's scatter_reduce name."""


@lowering("ScatterElements", "Scatter")
@folding
def _scatter_elements(ctx: NodeContext) -> list[SSAValue]:
    """`Tensor.scatter` (or `scatter_reduce` including the data) along `axis`."""
    axis = ctx.axis(ctx.attr_int("axis", 0), ctx.rank(0))
    indices = _indices(ctx, 1, ctx.in_shape(0)[axis])
    reduction = str(ctx.attr("reduction", "none"))
    if reduction == "none":
        return [ctx.b.method(ctx.arg(0), "scatter", axis, indices, ctx.arg(2))]
    if reduction not in SCATTER_REDUCTIONS:
        ctx.unsupported(f"reduction '{reduction}'")
    reduce = SCATTER_REDUCTIONS[reduction]
    return [ctx.b.method(ctx.arg(0), "scatter_reduce", axis, indices, ctx.arg(2), reduce)]


@lowering("ScatterND")
@folding
def _scatter_nd(ctx: NodeContext) -> list[SSAValue]:
    """Rows of the data flattened over the indexed axes, replaced or reduced into."""
    reduction = str(ctx.attr("reduction", "none"))
    if reduction != "none" and reduction not in SCATTER_REDUCTIONS:
        ctx.unsupported(f"reduction '{reduction}'")
    reduce = None if reduction == "none" else SCATTER_REDUCTIONS[reduction]
    return [ctx.b.call(ctx.helper(runtime._scatter_nd), ctx.arg(0), ctx.arg(1), ctx.arg(2), reduce)]


@lowering("OneHot")
@folding
def _one_hot(ctx: NodeContext) -> list[SSAValue]:
    """
    values[1] where the index (negative ones counted from `depth`) equals the
    position along the new axis, values[0] elsewhere; `depth` is the size of the
    new axis in the output type.
    """
    out_rank = len(ctx.out_shape())
    axis = ctx.axis(ctx.attr_int("axis", -1), out_rank)
    depth = ctx.out_shape()[axis]
    indices = ctx.b.method(ctx.arg(0), "unsqueeze", axis)
    wrapped = ctx.b.call(
        "torch.where",
        ctx.b.call("torch.lt", indices, 0, inline=True),
        ctx.b.call("torch.add", indices, depth, inline=True),
        indices,
    )
    wrapped.name_hint = "indices"
    positions = ctx.b.call("torch.arange", depth, inline=True)
    positions = ctx.b.method(positions, "reshape", [depth] + [1] * (out_rank - 1 - axis))
    positions.name_hint = "positions"
    hot = ctx.b.call("torch.eq", wrapped, positions, inline=True)
    values = ctx.arg(2)
    on = ctx.b.subscript(values, [1])
    off = ctx.b.subscript(values, [0])
    return [ctx.b.call("torch.where", hot, on, off)]


@lowering("TopK")
@folding
def _top_k(ctx: NodeContext) -> list[SSAValue]:
    """
    A stable sort, cut to k (the output's size along `axis`): equal values keep
    their order, lower index first, as ONNX requires (torch.topk does not promise it).
    """
    rank = ctx.rank(0)
    axis = ctx.axis(ctx.attr_int("axis", -1), rank)
    largest = bool(ctx.attr("largest", 1))
    if not bool(ctx.attr("sorted", 1)):
        ctx.b.comment("sorted=0 leaves the order unspecified: sorted is one valid order")
    k = ctx.out_shape()[axis]
    kwargs: dict[str, Arg] = {"dim": axis, "stable": True}
    if largest:
        kwargs["descending"] = True
    values, indices = ctx.b.call_n("torch.sort", 2, ctx.arg(0), keywords=kwargs)
    cut = [slice(None)] * axis + [slice(None, k)]
    if k == ctx.in_shape(0)[axis]:
        return [values, indices]
    return [ctx.b.subscript(values, cut), ctx.b.subscript(indices, cut)]


@lowering("ArgMax", "ArgMin")
@folding
def _arg_max(ctx: NodeContext) -> list[SSAValue]:
    """`torch.argmax` gives the first index of ties; select_last_index flips the axis."""
    function = "torch.argmax" if ctx.node.op_type.data == "ArgMax" else "torch.argmin"
    rank = ctx.rank(0)
    axis = ctx.axis(ctx.attr_int("axis", 0), rank)
    kwargs: dict[str, Arg] = {"keepdim": True} if ctx.attr("keepdims", 1) else {}
    if not ctx.attr("select_last_index", 0):
        return [ctx.b.call(function, ctx.arg(0), axis, keywords=kwargs)]
    flipped = ctx.b.method(ctx.arg(0), "flip", axis, inline=True)
    index = ctx.b.call(function, flipped, axis, inline=True, keywords=kwargs)
    last = ctx.b.binary("-", ctx.in_shape(0)[axis] - 1, index)
    return [ctx.b.add(py.AssignOp(last)).res]


@lowering("Hardmax")
@folding
def _hardmax(ctx: NodeContext) -> list[SSAValue]:
    """
    1 at the first maximum along `axis`, 0 elsewhere. Before opset 13 the input
    is coerced to 2-D at `axis`: the maximum is over all the dimensions from it on.
    """
    shape = ctx.in_shape(0)
    rank = len(shape)
    default = -1 if ctx.opset >= 13 else 1
    axis = ctx.axis(ctx.attr_int("axis", default), rank)
    x = ctx.arg(0)
    if ctx.opset < 13 and axis != rank - 1:
        x = ctx.b.method(x, "reshape", [*shape[:axis], -1])
    index = ctx.b.call("torch.argmax", x, axis, keepdim=True, inline=True)
    zeros = ctx.b.call("torch.zeros_like", x, inline=True)
    hot = ctx.b.method(zeros, "scatter", axis, index, 1.0)
    if ctx.opset < 13 and axis != rank - 1:
        return [ctx.b.method(hot, "reshape", shape)]
    return [hot]


@lowering("TensorScatter")
@folding
def _tensor_scatter(ctx: NodeContext) -> list[SSAValue]:
    """
    The update written into a copy of the cache along `axis`, from each batch's
    write index on (modulo the cache length in circular mode).
    """
    rank = ctx.rank(0)
    axis = ctx.axis(ctx.attr_int("axis", -2), rank)
    if axis == 0:
        ctx.error("axis 0 is the batch axis")
    mode = str(ctx.attr("mode", "linear"))
    if mode not in ("linear", "circular"):
        ctx.unsupported(f"mode '{mode}'")
    update_shape = ctx.in_shape(1)
    length = update_shape[axis]
    offsets = ctx.b.call("torch.arange", length, inline=True)
    offsets = ctx.b.method(offsets, "reshape", [length] + [1] * (rank - 1 - axis), inline=True)
    if ctx.has(2):
        starts = ctx.b.method(ctx.arg(2), "reshape", [-1] + [1] * (rank - 1), inline=True)
        offsets = ctx.b.call("torch.add", starts, offsets, inline=True)
    if mode == "circular":
        offsets = ctx.b.call("torch.remainder", offsets, ctx.in_shape(0)[axis], inline=True)
    index = ctx.b.method(offsets, "expand", update_shape)
    index.name_hint = "index"
    return [ctx.b.method(ctx.arg(0), "scatter", axis, index, ctx.arg(1))]
