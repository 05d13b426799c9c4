"""
Data-movement ONNX ops: constants, shapes, reshapes, indexing (casts are in `cast`).

Shapes are static, so the size arguments of the generated calls come from the
inferred result types (`reshape([1, 24, 96])`), and index arguments (Slice
starts, Gather indices, axes) from values known at compile time: shape
arithmetic is folded into weights before lowering (see `known`).
"""

from __future__ import annotations

import math

import numpy as np
from xdsl.dialects.builtin import DYNAMIC_INDEX, IntegerType, TensorType
from xdsl.ir import SSAValue

from ramiel_mlir.analysis.concat_chains import ChainLink
from ramiel_mlir.analysis.layout import (
    CHANNELS_LAST,
    channel_reshape,
    node_layout,
    shuffle_groups,
)
from ramiel_mlir.backend.builder import Arg
from ramiel_mlir.backend.context import NodeContext
from ramiel_mlir.backend.ops import lowering
from ramiel_mlir.backend.ops.known import (
    constant_value,
    int_list_operand,
    known,
    known_ints,
    literal,
    number,
    require_known,
)
from ramiel_mlir.backend.runtime_source import runtime_module
from ramiel_mlir.dialects.dfg import OptionalType
from ramiel_mlir.tensors import numpy_dtype, torch_dtype_name

runtime = runtime_module("tensor")
"""The runtime functions this file's lowerings call."""


@lowering("Identity")
def _identity(ctx: NodeContext) -> list[SSAValue]:
    return [ctx.arg(0)]


@lowering("Dropout")
def _dropout(ctx: NodeContext) -> list[SSAValue | None]:
    """
    Inference mode: the identity, and a mask of ones if it is read. A training_mode
    that is set or computed runs `_dropout`, which draws the mask as ONNX's
    reference does (numpy's RandomState with the node's seed).
    """
    training = known(ctx, 2) if ctx.has(2) else np.array(False)
    if training is None or training.any():
        return _training_dropout(ctx)
    outputs: list[SSAValue | None] = [ctx.arg(0)]
    if len(ctx.node.outputs) > 1 and isinstance(ctx.node.outputs[1].type, TensorType):
        mask_type = ctx.out_type(1)
        outputs.append(ctx.b.call("torch.ones", ctx.out_shape(1), dtype=ctx.dtype(mask_type)))
    return outputs


def _training_dropout(ctx: NodeContext) -> list[SSAValue | None]:
    """Dropout whose training_mode is set or computed: `_dropout` decides when it runs."""
    ratio = ctx.arg(1) if ctx.has(1) else 0.5
    seed = ctx.attr_int("seed")
    output, mask = ctx.b.call_n(
        ctx.helper(runtime._dropout), 2, ctx.arg(0), ratio, ctx.arg(2), seed
    )
    results: list[SSAValue | None] = [output, mask]
    return results[: len(ctx.node.outputs)]


@lowering("Constant")
def _constant(ctx: NodeContext) -> list[SSAValue]:
    """A literal tensor (the frontend turns large constants into weights)."""
    element = ctx.out_type().get_element_type()
    return [literal(ctx, constant_value(ctx.node), element, inline=False)]


@lowering("Shape")
def _shape(ctx: NodeContext) -> list[SSAValue]:
    """The static shape, `start` and `end` clamped like Python slice bounds."""
    start = ctx.attr_int("start", 0)
    element = ctx.out_type().get_element_type()
    if not ctx.in_type(0).has_static_shape():  # read when the code runs
        sizes = ctx.b.subscript(
            ctx.b.getattr(ctx.arg(0), "shape"), [slice(start, ctx.attr_int("end"))]
        )
        return [ctx.b.call("torch.tensor", sizes, dtype=ctx.dtype(ctx.out_type()))]
    shape = ctx.in_shape(0)[start : ctx.attr_int("end")]
    return [literal(ctx, np.array(shape, np.int64), element, inline=False)]


@lowering("Size")
def _size(ctx: NodeContext) -> list[SSAValue]:
    if not ctx.in_type(0).has_static_shape():  # counted when the code runs
        count = ctx.b.method(ctx.arg(0), "numel", inline=True)
        return [ctx.b.call("torch.tensor", count, dtype=ctx.dtype(ctx.out_type()))]
    size = np.array(math.prod(ctx.in_shape(0)), np.int64)
    return [literal(ctx, size, ctx.out_type().get_element_type(), inline=False)]


@lowering("Reshape", "Flatten")
def _reshape(ctx: NodeContext) -> list[SSAValue]:
    """A reshape to the inferred shape (ONNX's 0 and -1 are resolved already)."""
    if not ctx.out_type().has_static_shape() and ctx.node.op_type.data == "Reshape":
        allowzero = bool(ctx.attr_int("allowzero", 0))  # ONNX's 0 and -1 read when it runs
        return [ctx.b.call(ctx.helper(runtime._reshape), ctx.arg(0), ctx.arg(1), allowzero)]
    if not ctx.in_type(0).has_static_shape():  # the sizes are checked when it runs
        return [ctx.b.method(ctx.arg(0), "reshape", ctx.out_shape())]
    if math.prod(ctx.in_shape(0)) != math.prod(ctx.out_shape()):
        ctx.error(
            f"cannot reshape {ctx.in_shape(0)} ({math.prod(ctx.in_shape(0))} elements) "
            f"to {ctx.out_shape()} ({math.prod(ctx.out_shape())} elements)"
        )
    if node_layout(ctx.node) == CHANNELS_LAST and channel_reshape(ctx.node) and ctx.rank(0) == 5:
        # Channels merged into a channels-last image: gather each pixel's channels in
        # (N, H, W, C) order, then view that as the (N, C, H, W) image it stores.
        n, channels, h, w = ctx.out_shape()
        pixels = ctx.b.method(ctx.arg(0), "permute", 0, 3, 4, 1, 2, inline=True)
        nhwc = ctx.b.method(pixels, "reshape", n, h, w, channels, inline=True)
        return [ctx.b.method(nhwc, "permute", 0, 3, 1, 2)]
    return [ctx.b.method(ctx.arg(0), "reshape", ctx.out_shape())]


@lowering("Squeeze")
def _squeeze(ctx: NodeContext) -> list[SSAValue]:
    """Axes are an attribute before opset 13, an optional input since."""
    if ctx.opset >= 13 and ctx.has(1) and known(ctx, 1) is None:
        return [ctx.b.method(ctx.arg(0), "reshape", ctx.out_shape())]
    axes = known_ints(ctx, 1) if ctx.opset >= 13 else ctx.int_list("axes")
    if not axes:
        return [ctx.b.method(ctx.arg(0), "squeeze")]
    dims = sorted(ctx.axis(a, ctx.rank(0)) for a in axes)
    return [ctx.b.method(ctx.arg(0), "squeeze", dims[0] if len(dims) == 1 else dims)]


@lowering("Unsqueeze")
def _unsqueeze(ctx: NodeContext) -> list[SSAValue]:
    """Axes (of the output) are an attribute before opset 13, an input since."""
    axes = known_ints(ctx, 1) if ctx.opset >= 13 else ctx.int_list("axes")
    rank = ctx.out_type().get_num_dims()
    if axes is not None and not ctx.out_type().has_static_shape():
        x = ctx.arg(0)  # sizes known at run time: one new axis at a time, from the lowest
        for axis in sorted(ctx.axis(a, rank) for a in axes):
            x = ctx.b.method(x, "unsqueeze", axis)
        return [x]
    if axes is None or len(axes) != 1:
        return [ctx.b.method(ctx.arg(0), "reshape", ctx.out_shape())]
    return [ctx.b.method(ctx.arg(0), "unsqueeze", ctx.axis(axes[0], rank))]


@lowering("Transpose")
def _transpose(ctx: NodeContext) -> list[SSAValue]:
    rank = ctx.rank(0)
    perm = ctx.int_list("perm") or list(reversed(range(rank)))
    return [ctx.b.method(ctx.arg(0), "permute", perm)]


@lowering("Concat")
def _concat(ctx: NodeContext) -> list[SSAValue]:
    link = ctx.concat_chains.get(ctx.node)
    if link is not None:
        return [_concat_into(ctx, link)]
    axis = ctx.axis(ctx.attr_int("axis", 0), ctx.rank(0))
    return [ctx.b.call("torch.cat", ctx.args(), dim=axis)]


def _concat_into(ctx: NodeContext, link: ChainLink) -> SSAValue:
    """
    A Concat of a chain (DenseNet's dense block): the first one makes the chain's buffer,
    of the last one's shape and memory format, and writes its inputs into its leading
    part; a later one writes only its new inputs, behind the prefix the chain already
    holds there. The result is a view of the buffer's leading part (the whole buffer
    for the last one).
    """
    key = (link.first, ctx.b.block)
    end = ctx.out_shape()[link.axis]
    if link.offset == 0:
        last = link.last.outputs[0].type
        assert isinstance(last, TensorType)
        keywords: dict[str, Arg] = {"dtype": ctx.dtype(last)}
        if node_layout(link.last) == CHANNELS_LAST:
            keywords["memory_format"] = ctx.b.name("torch.channels_last")
        buffer = ctx.b.call("torch.empty", list(last.get_shape()), keywords=keywords)
        buffer.name_hint = "block"
        ctx.chain_buffers[key] = buffer
        parts = ctx.args()
    else:
        buffer = ctx.chain_buffers[key]  # made by the chain's first Concat, in this block
        parts = [ctx.arg(i) for i in range(link.new_inputs, len(ctx.node.inputs))]
    window = ctx.b.method(buffer, "narrow", link.axis, link.offset, end - link.offset, inline=True)
    ctx.b.call_n("torch.cat", 0, parts, dim=link.axis, out=window)
    if ctx.node is link.last:
        return buffer
    return ctx.b.method(buffer, "narrow", link.axis, 0, end)


@lowering("Expand")
def _expand(ctx: NodeContext) -> list[SSAValue]:
    """Two-way broadcasting to the inferred shape (a view, as in torch)."""
    if not ctx.out_type().has_static_shape():  # the shape is read when the code runs
        return [ctx.b.call(ctx.helper(runtime._expand), ctx.arg(0), ctx.arg(1))]
    if ctx.in_shape(0) == ctx.out_shape():
        return [ctx.arg(0)]
    return [ctx.b.method(ctx.arg(0), "expand", ctx.out_shape())]


@lowering("Gather")
def _gather(ctx: NodeContext) -> list[SSAValue]:
    """
    Indexing along `axis`: `x[:, 3]`, `x[:, [0, 2]]` or `x[:, indices]`.

    Known negative indices are made positive; torch's indexing counts computed
    negative ones (and known ones on an axis of a size known only at run time)
    from the end, as ONNX does.
    """
    groups = shuffle_groups(ctx.node)
    if groups is not None:  # fuse-channel-shuffle's Gather
        return [ctx.b.call("torch.channel_shuffle", ctx.arg(0), groups)]
    rank = ctx.rank(0)
    axis = ctx.axis(ctx.attr_int("axis", 0), rank)
    dim = ctx.in_type(0).get_shape()[axis]
    indices = known(ctx, 1)
    index: object
    if indices is None:
        index = ctx.arg(1)
    else:
        if dim != DYNAMIC_INDEX and ((indices < -dim) | (indices >= dim)).any():
            ctx.error(f"indices {indices.tolist()} are out of range for a dimension of {dim}")
        positive = (
            indices if dim == DYNAMIC_INDEX else np.where(indices < 0, indices + dim, indices)
        )
        if positive.ndim == 0:
            index = int(positive)
        elif positive.ndim == 1:
            index = [int(i) for i in positive]
        else:
            index = literal(ctx, positive, ctx.in_type(1).get_element_type())
    subscript: list[Arg | slice] = [*[slice(None)] * axis, index]
    return [ctx.b.subscript(ctx.arg(0), subscript)]


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(value, high))


@lowering("Slice")
def _slice(ctx: NodeContext) -> list[SSAValue]:
    """
    Python slicing with ONNX's bounds: negative ones count from the end, then
    they are clamped. Bounds are attributes before opset 10, inputs since.
    Torch has no negative steps: those axes are flipped and sliced forward.
    """
    dynamic = not ctx.in_type(0).has_static_shape()  # bounds clamped when the code runs
    if ctx.opset >= 10 and (
        dynamic or any(ctx.has(i) and known(ctx, i) is None for i in range(1, 5))
    ):
        return [_computed_slice(ctx)]
    if dynamic:
        lists = [ctx.int_list(name) for name in ("starts", "ends", "axes")]
        return [ctx.b.call(ctx.helper(runtime._slice), ctx.arg(0), *lists, None)]
    shape = ctx.in_shape(0)
    rank = len(shape)
    if ctx.opset < 10:
        starts, ends = ctx.int_list("starts") or [], ctx.int_list("ends") or []
        axes, steps = ctx.int_list("axes"), None
    else:
        starts = known_ints(ctx, 1, "starts") or []
        ends = known_ints(ctx, 2, "ends") or []
        axes = known_ints(ctx, 3, "axes")
        steps = known_ints(ctx, 4, "steps")
    axes = axes if axes is not None else list(range(len(starts)))
    steps = steps if steps is not None else [1] * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        ctx.error("starts, ends, axes and steps differ in length")
    indices: list[slice] = [slice(None)] * rank
    flipped: list[int] = []
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        axis = ctx.axis(axis, rank)
        dim = shape[axis]
        start = start + dim if start < 0 else start
        end = end + dim if end < 0 else end
        if step > 0:
            start, end = _clamp(start, 0, dim), _clamp(end, 0, dim)
        elif step < 0:
            # Index i of the axis is dim - 1 - i of the flipped axis.
            start = dim - 1 - _clamp(start, 0, dim - 1)
            end = dim - 1 - _clamp(end, -1, dim - 1)
            step = -step
            flipped.append(axis)
        else:
            ctx.error(f"step 0 on axis {axis}")
        indices[axis] = slice(start or None, end if end < dim else None, step if step > 1 else None)
    sliced = [len(range(dim)[s]) for dim, s in zip(shape, indices, strict=True)]
    if sliced != ctx.out_shape():
        ctx.error(f"the slice gives shape {sliced}, but the inferred shape is {ctx.out_shape()}")
    while indices and indices[-1] == slice(None):
        indices.pop()
    x = ctx.arg(0)
    if flipped:
        x = ctx.b.method(x, "flip", sorted(flipped), inline=True)
    return [ctx.b.subscript(x, indices) if indices else x]


@lowering("Split")
def _split(ctx: NodeContext) -> list[SSAValue]:
    """
    `torch.split` into the inferred output sizes.

    The sizes are an attribute before opset 13, an input since, and may be
    `num_outputs` since 18: the output types say the same in every case.
    """
    axis = ctx.axis(ctx.attr_int("axis", 0), ctx.rank(0))
    sizes = [ctx.out_shape(i)[axis] for i in range(len(ctx.node.outputs))]
    if len(sizes) == 1:
        return [ctx.arg(0)]
    # One size means equal chunks of it: never 0, which torch reads as one chunk.
    size: int | list[int] = sizes[0] if len(set(sizes)) == 1 and sizes[0] > 0 else sizes
    return ctx.b.call_n("torch.split", len(sizes), ctx.arg(0), size, dim=axis)


@lowering("ConstantOfShape")
def _constant_of_shape(ctx: NodeContext) -> list[SSAValue]:
    """A tensor of the inferred shape filled with `value` (float32 zero by default)."""
    value = ctx.attr("value", None)
    fill = number(value) if isinstance(value, np.ndarray) else 0.0
    out_type = ctx.out_type()
    dtype = ctx.dtype(out_type)
    if not out_type.has_static_shape():  # the shape is computed when the code runs
        return [ctx.b.call(ctx.helper(runtime._constant_of_shape), ctx.arg(0), fill, dtype)]
    if fill in (0, 1) and not isinstance(fill, bool):
        return [ctx.b.call("torch.ones" if fill else "torch.zeros", ctx.out_shape(), dtype=dtype)]
    return [ctx.b.call("torch.full", ctx.out_shape(), fill, dtype=dtype)]


@lowering("Range")
def _range(ctx: NodeContext) -> list[SSAValue]:
    """
    `start + i * delta` for i below `max(ceil((limit - start) / delta), 0)`.

    Integers use `torch.arange`; floats spell the formula out so that every
    element is computed in the tensor's type, as ONNX defines it.
    """
    out_type = ctx.out_type()
    if known(ctx, 0) is None or known(ctx, 1) is None or known(ctx, 2) is None:
        if not out_type.has_static_shape():  # the length too is computed when the code runs
            dtype = ctx.dtype(out_type)
            return [ctx.b.call(ctx.helper(runtime._range), *ctx.args(), dtype)]
        return [_computed_range(ctx)]
    start, limit, delta = (
        number(require_known(ctx, i, name)) for i, name in enumerate(("start", "limit", "delta"))
    )
    count = max(math.ceil((limit - start) / delta), 0)
    if out_type.has_static_shape() and count != ctx.out_shape()[0]:
        ctx.error(
            f"the range has {ctx.out_shape()[0]} elements by its type, not "
            f"{limit - start} / {delta}"
        )
    if isinstance(start, float):
        steps = ctx.b.call("torch.arange", count, dtype=ctx.dtype(out_type), inline=True)
        return [ctx.b.call("torch.add", ctx.b.call("torch.mul", steps, delta, inline=True), start)]
    args = [int(start), int(limit)] if delta == 1 else [int(start), int(limit), int(delta)]
    if args[0] == 0 and len(args) == 2:
        args = args[1:]
    int64 = torch_dtype_name(out_type.get_element_type()) == "int64"
    if int64:
        return [ctx.b.call("torch.arange", *args)]
    return [ctx.b.call("torch.arange", *args, dtype=ctx.dtype(out_type))]


def _computed_range(ctx: NodeContext) -> SSAValue:
    """
    A range whose bounds are computed: `start + i * delta` for the count that the
    output type gives, in float64 for floats (as the reference's `np.arange`),
    then in the output type.
    """
    out_type = ctx.out_type()
    count = ctx.out_shape()[0]
    floating = not isinstance(out_type.get_element_type(), IntegerType)
    dtype = ctx.b.name("torch.float64") if floating else ctx.dtype(out_type)
    steps = ctx.b.call("torch.arange", count, dtype=dtype, inline=True)
    values = ctx.b.call(
        "torch.add", ctx.b.call("torch.mul", steps, ctx.arg(2), inline=True), ctx.arg(0)
    )
    if not floating or torch_dtype_name(out_type.get_element_type()) == "float64":
        return values
    return ctx.b.method(values, "to", ctx.dtype(out_type))


def _computed_slice(ctx: NodeContext) -> SSAValue:
    """Slice with starts, ends, axes or steps computed: `_slice` reads them when it runs."""
    lists = [int_list_operand(ctx, i) if ctx.has(i) else None for i in range(1, 5)]
    return ctx.b.call(ctx.helper(runtime._slice), ctx.arg(0), *lists)


@lowering("BitCast")
def _bit_cast(ctx: NodeContext) -> list[SSAValue]:
    """The same bits read as another type of the same width (`Tensor.view(dtype)`)."""
    source = numpy_dtype(ctx.in_type(0).get_element_type())
    target = numpy_dtype(ctx.out_type().get_element_type())
    if source.itemsize != target.itemsize:
        ctx.unsupported(f"a bit cast from {source} to {target} (different widths)")
    return [ctx.b.method(ctx.arg(0), "view", ctx.dtype(ctx.out_type()))]


@lowering("OptionalHasElement")
def _optional_has_element(ctx: NodeContext) -> list[SSAValue]:
    """Whether an optional holds a value (None when empty); a tensor or sequence always does."""
    if not ctx.has(0):
        return [ctx.b.call("torch.tensor", False)]
    if not isinstance(ctx.node.inputs[0].type, OptionalType):
        return [ctx.b.call("torch.tensor", True)]
    return [ctx.b.call(ctx.helper(runtime._has_element), ctx.arg(0))]


@lowering("OptionalGetElement")
def _optional_get_element(ctx: NodeContext) -> list[SSAValue]:
    """The value of an optional (an error when the code runs if it is empty); else the input."""
    if not isinstance(ctx.node.inputs[0].type, OptionalType):
        return [ctx.arg(0)]
    return [ctx.b.call(ctx.helper(runtime._get_element), ctx.arg(0))]


@lowering("ReverseSequence")
def _reverse_sequence(ctx: NodeContext) -> list[SSAValue]:
    """`_reverse_sequence`: each batch entry's first `sequence_lens[b]` time steps reversed."""
    rank = ctx.rank(0)
    batch_axis = ctx.axis(ctx.attr_int("batch_axis", 1), rank)
    time_axis = ctx.axis(ctx.attr_int("time_axis", 0), rank)
    helper = ctx.helper(runtime._reverse_sequence)
    return [ctx.b.call(helper, ctx.arg(0), ctx.arg(1), batch_axis, time_axis)]
