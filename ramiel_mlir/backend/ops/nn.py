"""
Neural-network ONNX ops: convolution, pooling, normalization, Gemm, softmax.

Each lowering follows the operator's definition in the ONNX spec for every
opset version and attribute the compiler accepts; anything else is an error
that names the node. Keyword arguments equal to PyTorch's defaults are left
out and per-axis values that agree print as one number (`stride=2`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from xdsl.dialects.builtin import Float16Type, TensorType
from xdsl.ir import SSAValue

from ramiel_mlir.analysis.cost_model import LINEAR, ONEDNN, ONEDNN_LINEAR
from ramiel_mlir.analysis.layout import CHANNELS_LAST, node_layout
from ramiel_mlir.backend.builder import Arg
from ramiel_mlir.backend.context import ConvPacking, LinearPacking, NodeContext, NormPacking
from ramiel_mlir.backend.ops import lowering
from ramiel_mlir.backend.runtime_source import runtime_module
from ramiel_mlir.dialects import py
from ramiel_mlir.dialects.annotations import KERNEL
from ramiel_mlir.dialects.dfg import WeightOp
from ramiel_mlir.onnx.contrib import FUSED_ACTIVATIONS, FUSED_CONV, MS_DOMAIN
from ramiel_mlir.tensors import numpy_dtype

runtime = runtime_module("tensor")
nn_runtime = runtime_module("nn")
onednn_runtime = runtime_module("onednn")
"""The runtime modules whose functions this file's lowerings call."""


def _plain(values: Sequence[int]) -> int | list[int]:
    """One number when all axes agree (`stride=2`), else the list."""
    return values[0] if len(set(values)) == 1 else list(values)


def _assign(ctx: NodeContext, expression: SSAValue) -> SSAValue:
    """Bind an inline expression to a name, so that it is computed once."""
    return ctx.b.add(py.AssignOp(expression)).res


def _produced(ctx: NodeContext, index: int) -> bool:
    """Whether optional output `index` exists and is read (the frontend types it)."""
    return index < len(ctx.node.outputs) and isinstance(ctx.node.outputs[index].type, TensorType)


# Softmax, Gemm, MatMul


@lowering("Softmax", "LogSoftmax")
def _softmax(ctx: NodeContext) -> list[SSAValue]:
    function = "torch.softmax" if ctx.node.op_type.data == "Softmax" else "torch.log_softmax"
    rank = ctx.rank(0)
    default = -1 if ctx.opset >= 13 else 1
    axis = ctx.axis(ctx.attr_int("axis", default), rank)
    if ctx.opset >= 13 or axis == rank - 1:
        return [_softmax_call(ctx, function, ctx.arg(0), axis)]
    # Before opset 13 the input is coerced to 2-D at `axis`: the softmax runs
    # over all the dimensions from `axis` on together.
    shape = ctx.in_shape(0)
    flat = ctx.b.method(ctx.arg(0), "reshape", [math.prod(shape[:axis]), math.prod(shape[axis:])])
    result = _softmax_call(ctx, function, flat, 1)
    return [ctx.b.method(result, "reshape", shape)]


def _softmax_call(ctx: NodeContext, function: str, x: SSAValue, dim: int) -> SSAValue:
    """
    `torch.softmax(x, dim=...)`; in half precision the steps of ONNX's definition,
    exp(x - max) / sum, each rounded to float16 as the reference rounds them
    (torch's fused kernel rounds once, up to two float16 ulps away).
    """
    if not isinstance(ctx.in_type(0).get_element_type(), Float16Type):
        return ctx.b.call(function, x, dim=dim)
    peak = ctx.b.method(x, "amax", dim, keepdim=True, inline=True)
    exp = ctx.b.call("torch.exp", ctx.b.call("torch.sub", x, peak, inline=True))
    exp.name_hint = "exp"
    total = ctx.b.method(exp, "sum", dim, keepdim=True, inline=True)
    result = ctx.b.call("torch.div", exp, total, inline=function == "torch.log_softmax")
    if function == "torch.log_softmax":
        return ctx.b.call("torch.log", result)
    return result


@lowering("Gemm")
def _gemm(ctx: NodeContext) -> list[SSAValue]:
    """Y = alpha * A' @ B' + beta * C, C broadcast to (M, N) and optional."""
    alpha = ctx.attr_float("alpha", 1.0)
    beta = ctx.attr_float("beta", 1.0)
    trans_a = ctx.attr_int("transA", 0)
    trans_b = ctx.attr_int("transB", 0)
    a, b = ctx.arg(0), ctx.arg(1)
    has_c = ctx.has(2)
    n = ctx.out_shape()[1]
    if KERNEL.get(ctx.node) == ONEDNN_LINEAR:  # prepack-weights: see analysis/kernels.py
        packing = LinearPacking(ctx.in_shape(0)[0], transposed=not trans_b)
        bias = ctx.arg(2) if has_c else None
        linear = ctx.helper(onednn_runtime._onednn_linear)
        return [ctx.b.call(linear, a, ctx.packed(1, packing), bias)]
    if has_c and alpha == 1.0 and beta == 1.0 and not trans_a and trans_b:
        if ctx.in_shape(2) == [n]:
            return [ctx.b.call("F.linear", a, b, ctx.arg(2))]
    if trans_a:
        a = ctx.b.method(a, "t")
    if trans_b:
        b = ctx.b.method(b, "t")
    if not has_c:
        product = ctx.b.call("torch.matmul", a, b)
        if alpha == 1.0:
            return [product]
        return [_assign(ctx, ctx.b.binary("*", product, alpha))]
    kwargs: dict[str, Any] = {}
    if beta != 1.0:
        kwargs["beta"] = beta
    if alpha != 1.0:
        kwargs["alpha"] = alpha
    return [ctx.b.call("torch.addmm", ctx.arg(2), a, b, **kwargs)]


@lowering("MatMul")
def _matmul(ctx: NodeContext) -> list[SSAValue]:
    return [ctx.b.call("torch.matmul", ctx.arg(0), ctx.arg(1))]


# Convolution


def _spatial(ctx: NodeContext) -> int:
    return ctx.rank(0) - 2


def _pads(
    ctx: NodeContext, kernel: Sequence[int], strides: Sequence[int], dilations: Sequence[int]
) -> list[int]:
    """ONNX pads [begin..., end...], with auto_pad resolved from the static shapes."""
    spatial = len(kernel)
    auto_pad = str(ctx.attr("auto_pad", "NOTSET"))
    if auto_pad in ("NOTSET", ""):
        return ctx.int_list("pads") or [0] * (2 * spatial)
    if auto_pad == "VALID":
        return [0] * (2 * spatial)
    if auto_pad not in ("SAME_UPPER", "SAME_LOWER"):
        ctx.unsupported(f"auto_pad '{auto_pad}'")
    shape = ctx.in_shape(0)[2:]
    begin: list[int] = []
    end: list[int] = []
    for size, k, s, d in zip(shape, kernel, strides, dilations, strict=True):
        out = -(-size // s)
        total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
        small, large = total // 2, total - total // 2
        begin.append(small if auto_pad == "SAME_UPPER" else large)
        end.append(large if auto_pad == "SAME_UPPER" else small)
    return begin + end


def _pad(
    ctx: NodeContext, x: SSAValue, begin: Sequence[int], end: Sequence[int], fill: float
) -> SSAValue:
    """`F.pad(x, ...)` with ONNX-ordered begin/end pads (negative ones crop)."""
    torch_pads: list[int] = []
    for b, e in zip(reversed(begin), reversed(end), strict=True):
        torch_pads += [b, e]
    kwargs: dict[str, Any] = {"value": fill} if fill else {}
    padded = ctx.b.call("F.pad", x, torch_pads, **kwargs)
    padded.name_hint = "padded"
    return padded


@lowering("Conv")
def _conv(ctx: NodeContext) -> list[SSAValue]:
    return [_convolution(ctx)]


@lowering(FUSED_CONV, domain=MS_DOMAIN)
def _fused_conv(ctx: NodeContext) -> list[SSAValue]:
    activation = ctx.attr_str("activation", "")
    if activation not in FUSED_ACTIVATIONS:
        ctx.unsupported(f"activation '{activation}'")
    if ctx.has(3):
        ctx.unsupported("a FusedConv with a Z input")
    return [_convolution(ctx, activation, ctx.attr_floats("activation_params"))]


ONEDNN_POST_OPS = {None: "none", "Relu": "relu", "Clip": "hardtanh", "LeakyRelu": "leaky_relu"}
"""A FusedConv's activation -> the oneDNN post-op that applies it (the same exact map)."""


def _post_op(ctx: NodeContext, activation: str | None, params: Sequence[float]) -> dict[str, Arg]:
    """The `post_op` and `scalars` keywords of a oneDNN call (none for no activation)."""
    keywords: dict[str, Arg] = {}
    if activation is not None:
        keywords["post_op"] = ONEDNN_POST_OPS[activation]
    if params:
        keywords["scalars"] = ctx.b.list(list(params), as_tuple=True)
    return keywords


def _convolution(
    ctx: NodeContext, activation: str | None = None, params: Sequence[float] = ()
) -> SSAValue:
    """
    A Conv, then `activation` (a FusedConv's) in place on its fresh result; or, where
    `prepack-weights` chose it, one oneDNN call with packed weights and the activation
    as a post-op.
    """
    spatial = _spatial(ctx)
    if spatial not in (1, 2, 3):
        ctx.unsupported(f"a {spatial}-D convolution")
    kernel = ctx.int_list("kernel_shape") or ctx.in_shape(1)[2:]
    strides = ctx.int_list("strides") or [1] * spatial
    dilations = ctx.int_list("dilations") or [1] * spatial
    group = ctx.attr_int("group", 1)
    pads = _pads(ctx, kernel, strides, dilations)
    begin, end = pads[:spatial], pads[spatial:]
    x = ctx.arg(0)
    chosen = KERNEL.get(ctx.node)
    if chosen in (LINEAR, ONEDNN_LINEAR):
        # The NHWC view of a channels-last image is a (pixels, channels) matrix: a
        # 1x1 convolution is one matrix product, and permuting back gives the
        # channels-last result.
        pixels = ctx.b.method(x, "permute", 0, 2, 3, 1, inline=True)
        if chosen == LINEAR:
            # MKL's product: the weight's (out, in) view, nothing packed, and the
            # activation in place on the fresh product.
            matrix = ctx.b.method(ctx.arg(1), "flatten", 1, inline=True)
            bias = [ctx.arg(2)] if ctx.has(2) else []
            rows = ctx.b.call("F.linear", pixels, matrix, *bias)
            rows.name_hint = "nhwc"
            _activate_in_place(ctx, rows, activation, params)
        else:
            n, _, h, w = ctx.in_shape(0)
            rows = ctx.b.call(
                ctx.helper(onednn_runtime._onednn_linear),
                pixels,
                ctx.packed(1, LinearPacking(n * h * w)),
                ctx.arg(2) if ctx.has(2) else None,
                keywords=_post_op(ctx, activation, params),
            )
            rows.name_hint = "nhwc"
        return ctx.b.method(rows, "permute", 0, 3, 1, 2)
    if chosen == ONEDNN and begin == end:
        spec = ConvPacking(
            tuple(begin), tuple(strides), tuple(dilations), group, tuple(ctx.in_shape(0))
        )
        return ctx.b.call(
            ctx.helper(onednn_runtime._onednn_conv),
            x,
            ctx.packed(1, spec),
            ctx.arg(2) if ctx.has(2) else None,
            keywords={
                "padding": ctx.b.list(begin, as_tuple=True),
                "stride": ctx.b.list(strides, as_tuple=True),
                "dilation": ctx.b.list(dilations, as_tuple=True),
                "groups": group,
                **_post_op(ctx, activation, params),
            },
        )
    if begin != end:
        # PyTorch pads both sides alike: asymmetric zero padding is explicit.
        x, begin = _pad(ctx, x, begin, end, 0.0), [0] * spatial
    args = [x, ctx.arg(1)] + ([ctx.arg(2)] if ctx.has(2) else [])
    kwargs: dict[str, Arg] = {}
    if any(s != 1 for s in strides):
        kwargs["stride"] = _plain(strides)
    if any(begin):
        kwargs["padding"] = _plain(begin)
    if any(d != 1 for d in dilations):
        kwargs["dilation"] = _plain(dilations)
    if group != 1:
        kwargs["groups"] = group
    y = ctx.b.call(f"F.conv{spatial}d", *args, keywords=kwargs)
    _activate_in_place(ctx, y, activation, params)
    return y


def _activate_in_place(
    ctx: NodeContext, y: SSAValue, activation: str | None, params: Sequence[float]
) -> None:
    """Apply a FusedConv's `activation` (with its `params`) to the fresh result `y` in place."""
    match activation:
        case "Relu":
            ctx.b.statement(y, "relu_")
        case "Clip":
            ctx.b.statement(y, "clamp_", *params)
        case "LeakyRelu":
            ctx.b.call_n("F.leaky_relu_", 0, y, *params)
        case _:
            pass


# Pooling


@dataclass
class _Window:
    """
    The sliding window of a pooling node along every spatial axis.

    `begin`/`end` are the ONNX pads; `out` is the output size that the ONNX
    definition gives (with ceil_mode, windows that would start in the end
    padding are dropped).
    """

    size: list[int]
    kernel: list[int]
    strides: list[int]
    dilations: list[int]
    begin: list[int]
    end: list[int]
    ceil: bool
    out: list[int]

    def extent(self, axis: int) -> int:
        """The number of input cells one window spans (dilation included)."""
        return (self.kernel[axis] - 1) * self.dilations[axis] + 1

    def torch_size(self, axis: int, pad: int, ceil: bool) -> int:
        """PyTorch's output size with symmetric `pad` (same rule as ONNX's)."""
        return _output_size(
            self.size[axis] + 2 * pad, self.extent(axis), self.strides[axis], ceil, pad
        )

    def counts(self, axis: int, include_pad: bool) -> list[int]:
        """AveragePool's divisor along `axis`: the cells of each window that count."""
        low = -self.begin[axis] if include_pad else 0
        high = self.size[axis] + (self.end[axis] if include_pad else 0)
        counts = []
        for o in range(self.out[axis]):
            start = o * self.strides[axis] - self.begin[axis]
            cells = range(start, start + self.extent(axis), self.dilations[axis])
            counts.append(sum(1 for c in cells if low <= c < high))
        return counts


def _output_size(padded: int, extent: int, stride: int, ceil: bool, end: int) -> int:
    """Windows over a padded axis; ceil mode drops those that would start in the end pad."""
    span = padded - extent
    out = (-(-span // stride) if ceil else span // stride) + 1
    if ceil and (out - 1) * stride >= padded - end:
        out -= 1
    return out


def _window(ctx: NodeContext) -> _Window:
    spatial = _spatial(ctx)
    if spatial not in (1, 2, 3):
        ctx.unsupported(f"{spatial}-D pooling")
    kernel = ctx.int_list("kernel_shape")
    if kernel is None:
        ctx.error("the kernel_shape attribute is missing")
    strides = ctx.int_list("strides") or [1] * spatial
    dilations = ctx.int_list("dilations") or [1] * spatial
    pads = _pads(ctx, kernel, strides, dilations)
    size = ctx.in_shape(0)[2:]
    ceil = bool(ctx.attr("ceil_mode", 0))
    out = []
    for i in range(spatial):
        padded = size[i] + pads[i] + pads[spatial + i]
        extent = (kernel[i] - 1) * dilations[i] + 1
        out.append(_output_size(padded, extent, strides[i], ceil, pads[spatial + i]))
    if out != ctx.out_shape()[2:]:
        ctx.unsupported(
            f"pooling whose inferred output shape {ctx.out_shape()[2:]} differs from "
            f"the operator's definition {out}"
        )
    return _Window(size, kernel, strides, dilations, pads[:spatial], pads[spatial:], ceil, out)


def _torch_padding(w: _Window, *, maximum: bool = False) -> tuple[list[int], bool] | None:
    """
    Padding and ceil_mode for which PyTorch's own pooling takes ONNX's windows. For a
    `maximum`, end pads beyond the begin pads (Caffe2's exports pad 3x3/2 pools by one at
    the end only) may be ceil mode's overhang instead: both add only cells no maximum
    picks, and the windows start at the same places, so they agree when their count does.
    """
    if any(p > k // 2 for p, k in zip(w.begin, w.kernel, strict=True)):
        return None
    axes = range(len(w.size))
    if w.begin != w.end:
        if not maximum or any(e < b for b, e in zip(w.begin, w.end, strict=True)):
            return None
        if all(w.torch_size(i, w.begin[i], True) == w.out[i] for i in axes):
            return w.begin, True
        return None
    if all(w.torch_size(i, w.begin[i], False) == w.out[i] for i in axes):
        return w.begin, False
    if all(w.torch_size(i, w.begin[i], True) == w.out[i] for i in axes):
        return w.begin, True
    return None


def _explicit_pad(ctx: NodeContext, w: _Window, fill: float, x: SSAValue | None = None) -> SSAValue:
    """
    Pad (or crop) the input (or `x`) so that PyTorch's floor-mode windows without
    padding are exactly ONNX's: ceil-mode overhang is padded with `fill` too.
    """
    end = [
        (o - 1) * s + w.extent(i) - n - b
        for i, (o, s, n, b) in enumerate(zip(w.out, w.strides, w.size, w.begin, strict=True))
    ]
    x = ctx.arg(0) if x is None else x
    if any(w.begin) or any(end):
        x = _pad(ctx, x, w.begin, end, fill)
    return x


def _pool_kwargs(w: _Window, padding: Sequence[int], ceil: bool) -> dict[str, Arg]:
    """
    The keywords of `F.max_poolNd` / `F.avg_poolNd`. The stride is always written:
    PyTorch's default (the kernel) reaches a TorchScript trace as an empty list,
    which oneDNN Graph's fuser refuses ("could not set attribute to the op").
    """
    kwargs: dict[str, Arg] = {"stride": _plain(w.strides)}
    if any(padding):
        kwargs["padding"] = _plain(padding)
    if any(d != 1 for d in w.dilations):
        kwargs["dilation"] = _plain(w.dilations)
    if ceil:
        kwargs["ceil_mode"] = True
    return kwargs


def _lowest(ctx: NodeContext) -> float:
    """The fill value that no maximum picks: -inf, or the integer type's minimum."""
    dtype = numpy_dtype(ctx.in_type(0).get_element_type())
    if np.issubdtype(dtype, np.integer):
        return int(np.iinfo(dtype).min)
    return float("-inf")


@lowering("MaxPool")
def _max_pool(ctx: NodeContext) -> list[SSAValue]:
    """
    `F.max_poolNd`, with ONNX's pads. The Indices output is torch's
    `return_indices`, converted from per-plane indices into ONNX's (`_pool_indices`).
    """
    w = _window(ctx)
    function = f"F.max_pool{len(w.size)}d"
    kernel = _plain(w.kernel)
    torch_padding = _torch_padding(w, maximum=True)
    x = ctx.arg(0)
    padded = w.size
    if torch_padding is not None:
        kwargs = _pool_kwargs(w, *torch_padding)
        begin = [0] * len(w.size)
    else:
        x = _explicit_pad(ctx, w, _lowest(ctx))
        kwargs = _pool_kwargs(w, [0] * len(w.size), False)
        padded = [(o - 1) * w.strides[i] + w.extent(i) for i, o in enumerate(w.out)]
        begin = w.begin
    if not _produced(ctx, 1):
        return [ctx.b.call(function, x, kernel, keywords=kwargs)]
    column_major = bool(ctx.attr("storage_order", 0))
    kwargs["return_indices"] = True
    values, plane = ctx.b.call_n(function, 2, x, kernel, keywords=kwargs)
    indices = ctx.b.call(
        ctx.helper(runtime._pool_indices), plane, padded, begin, w.size, column_major
    )
    return [values, indices]


@lowering("AveragePool")
def _average_pool(ctx: NodeContext) -> list[SSAValue]:
    """
    The mean over each window's cells, padding counted only with count_include_pad
    and ceil-mode overhang never. PyTorch's avg_pool agrees when it can take the
    pads itself; otherwise the window sums are divided by ONNX's cell counts.
    """
    w = _window(ctx)
    include_pad = bool(ctx.attr("count_include_pad", 0))
    spatial = len(w.size)
    if any(d != 1 for d in w.dilations):
        # PyTorch's avg_pool has no dilation: dilated window sums over cell counts.
        counts = [w.counts(axis, include_pad) for axis in range(spatial)]
        if spatial == 1 and len(set(counts[0])) > 1:
            ctx.unsupported("1-D AveragePool whose windows count different numbers of cells")
        sums = _window_sums(ctx, w, _explicit_pad(ctx, w, 0.0))
        return [_assign(ctx, ctx.b.binary("/", sums, _cell_counts(ctx, counts)))]
    function = f"F.avg_pool{spatial}d"
    kernel = _plain(w.kernel)
    torch_padding = _torch_padding(w)
    if torch_padding is not None:
        kwargs = _pool_kwargs(w, *torch_padding)
        if "padding" in kwargs and not include_pad:
            kwargs["count_include_pad"] = False
        return [ctx.b.call(function, ctx.arg(0), kernel, keywords=kwargs)]
    x = _explicit_pad(ctx, w, 0.0)
    kwargs = _pool_kwargs(w, [0] * spatial, False)
    counts = [w.counts(axis, include_pad) for axis in range(spatial)]
    if all(c == [k] * len(c) for c, k in zip(counts, w.kernel, strict=True)):
        # Every window lies inside the padded input and counts all of its cells.
        return [ctx.b.call(function, x, kernel, keywords=kwargs)]
    if spatial == 1:
        ctx.unsupported("1-D AveragePool whose windows count different numbers of cells")
    kwargs["divisor_override"] = 1
    sums = ctx.b.call(function, x, kernel, keywords=kwargs)
    sums.name_hint = "sums"
    return [_assign(ctx, ctx.b.binary("/", sums, _cell_counts(ctx, counts)))]


def _cell_counts(ctx: NodeContext, counts: list[list[int]]) -> SSAValue | float:
    """
    The number of cells each window counts: the product of the per-axis counts,
    as `torch.tensor([3.0, 2.0])[:, None] * torch.tensor([2.0, 3.0, 2.0])` (axes
    whose windows all count the same go into one number).
    """
    factor = 1.0
    vectors: list[SSAValue] = []
    dtype = ctx.in_type(0).get_element_type()
    kwargs: dict[str, Any] = {}
    if numpy_dtype(dtype) != np.float32:
        kwargs["dtype"] = ctx.dtype(ctx.in_type(0))
    for axis, axis_counts in enumerate(counts):
        if len(set(axis_counts)) == 1:
            factor *= axis_counts[0]
            continue
        values = [float(c) for c in axis_counts]
        vector = ctx.b.call("torch.tensor", values, inline=True, **kwargs)
        trailing = len(counts) - 1 - axis
        if trailing:
            vector = ctx.b.subscript(vector, [slice(None), *[None] * trailing])
            vector.name_hint = f"counts_{axis}"
        vectors.append(vector)
    if not vectors:
        return factor
    product = vectors[0]
    for vector in vectors[1:]:
        product = ctx.b.binary("*", product, vector)
    return product if factor == 1.0 else ctx.b.binary("*", product, factor)


@lowering("GlobalAveragePool", "GlobalMaxPool")
def _global_pool(ctx: NodeContext) -> list[SSAValue]:
    dims = list(range(2, ctx.rank(0)))
    if ctx.node.op_type.data == "GlobalAveragePool":
        return [ctx.b.method(ctx.arg(0), "mean", dims, keepdim=True)]
    return [ctx.b.method(ctx.arg(0), "amax", dims, keepdim=True)]


# Normalization


@lowering("BatchNormalization")
def _batch_norm(ctx: NodeContext) -> list[SSAValue | None]:
    """
    Inference-mode batch normalization with the running statistics.

    Opsets 1-6 run in training mode unless is_test is set: an error. Since
    opset 14, training_mode=1 normalizes with the batch's statistics and also
    returns the running statistics updated with `momentum`. Before opset 9,
    spatial=0 normalizes every (channel, position) with its own statistics.
    """
    if ctx.opset < 7 and not ctx.attr("is_test", 0):
        ctx.unsupported("training mode (is_test=0)")
    epsilon = ctx.attr_float("epsilon", 1e-5)
    if ctx.attr("training_mode", 0):
        return _batch_norm_training(ctx, epsilon)
    x, scale, bias, mean, var = (ctx.arg(i) for i in range(5))
    outputs: list[SSAValue | None] = [None] * (len(ctx.node.outputs) - 1)
    if ctx.opset < 9 and not ctx.attr("spatial", 1):
        # Statistics of shape (C, D1, ...): broadcast against (N, C, D1, ...).
        std = ctx.b.call("torch.sqrt", ctx.b.binary("+", var, epsilon), inline=True)
        normalized = ctx.b.binary("/", ctx.b.binary("-", x, mean), std)
        result = ctx.b.binary("+", ctx.b.binary("*", normalized, scale), bias)
        return [_assign(ctx, result), *outputs]
    on_weights = all(isinstance(v.owner, WeightOp) for v in ctx.node.inputs[1:5])
    if on_weights and node_layout(ctx.node) == CHANNELS_LAST:
        # Channels-last, per-channel affine: addcmul runs at about twice F.batch_norm's
        # speed there (and at a third of it on contiguous images).
        gamma, beta, mean_value, var_value = ctx.node.inputs[1:5]
        spec = NormPacking("scale", gamma, beta, mean_value, var_value, epsilon, ctx.rank(0))
        shift = ctx.packed(2, spec._replace(part="shift"))
        return [ctx.b.call("torch.addcmul", shift, x, ctx.packed(1, spec)), *outputs]
    kwargs: dict[str, Any] = {"eps": epsilon} if epsilon != 1e-5 else {}
    result = ctx.b.call("F.batch_norm", x, mean, var, scale, bias, **kwargs)
    return [result, *outputs]


def _batch_norm_training(ctx: NodeContext, epsilon: float) -> list[SSAValue | None]:
    """Batch statistics (biased variance) normalize; the running ones move toward them."""
    x, scale, bias, mean, var = (ctx.arg(i) for i in range(5))
    momentum = ctx.attr_float("momentum", 0.9)
    dims = [0, *range(2, ctx.rank(0))]
    batch_var, batch_mean = ctx.b.call_n("torch.var_mean", 2, x, dims, correction=0)
    batch_var.name_hint, batch_mean.name_hint = "batch_var", "batch_mean"
    kwargs: dict[str, Any] = {"eps": epsilon} if epsilon != 1e-5 else {}
    y = ctx.b.call("F.batch_norm", x, batch_mean, batch_var, scale, bias, **kwargs)
    outputs: list[SSAValue | None] = [y]
    for running, batch in ((mean, batch_mean), (var, batch_var)):
        kept = ctx.b.call("torch.mul", running, momentum, inline=True)
        new = ctx.b.call("torch.mul", batch, 1 - momentum, inline=True)
        outputs.append(ctx.b.call("torch.add", kept, new))
    return outputs[: len(ctx.node.outputs)]


@lowering("LRN")
def _lrn(ctx: NodeContext) -> list[SSAValue]:
    """
    ONNX's channel window, [c - floor((size-1)/2), c + ceil((size-1)/2)], summed by
    the runtime's shifted slices: `F.local_response_norm` centres even windows one
    channel lower and sums with a single-threaded `avg_pool3d`, 5x to 10x slower.
    """
    size = ctx.attr("size", None)
    if not isinstance(size, int):
        ctx.error("the size attribute is missing")
    if ctx.rank(0) < 3:
        ctx.unsupported(f"LRN of a rank-{ctx.rank(0)} input")
    alpha, beta, bias = (
        ctx.attr_float(name, default)
        for name, default in (("alpha", 1e-4), ("beta", 0.75), ("bias", 1.0))
    )
    helper = ctx.helper(nn_runtime._local_response_norm)
    return [ctx.b.call(helper, ctx.arg(0), size, alpha, beta, bias)]


# Transposed convolution


def _conv_transpose_pads(
    ctx: NodeContext,
    size: Sequence[int],
    kernel: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
    output_padding: Sequence[int],
) -> tuple[list[int], list[int]]:
    """
    ONNX's begin and end pads: given, or derived from `output_shape` or `auto_pad`
    (SAME_UPPER puts the odd one at the end, SAME_LOWER at the beginning).
    """
    spatial = len(kernel)
    auto_pad = str(ctx.attr("auto_pad", "NOTSET"))
    output_shape = ctx.int_list("output_shape")
    if output_shape is None and auto_pad in ("NOTSET", "", "VALID"):
        pads = ctx.int_list("pads") if auto_pad != "VALID" else None
        pads = pads or [0] * (2 * spatial)
        return pads[:spatial], pads[spatial:]
    if auto_pad not in ("NOTSET", "", "SAME_UPPER", "SAME_LOWER"):
        ctx.unsupported(f"auto_pad '{auto_pad}'")
    if output_shape is None:
        output_shape = [n * s for n, s in zip(size, strides, strict=True)]
    output_shape = output_shape[-spatial:]
    begin: list[int] = []
    end: list[int] = []
    for i in range(spatial):
        full = strides[i] * (size[i] - 1) + output_padding[i] + (kernel[i] - 1) * dilations[i] + 1
        total = full - output_shape[i]
        if auto_pad == "SAME_UPPER":
            begin.append(total // 2)
            end.append(total - total // 2)
        else:
            begin.append(total - total // 2)
            end.append(total // 2)
    return begin, end


@lowering("ConvTranspose")
def _conv_transpose(ctx: NodeContext) -> list[SSAValue]:
    """
    `F.conv_transposeNd`. PyTorch pads both sides alike and adds output_padding
    at the end only when it is smaller than the stride or the dilation: other
    ONNX pads are applied to the full result (negative pads crop), and the bias
    is added afterwards, so that it also covers zero-padded positions.
    """
    spatial = _spatial(ctx)
    if spatial not in (1, 2, 3):
        ctx.unsupported(f"a {spatial}-D transposed convolution")
    size = ctx.in_shape(0)[2:]
    kernel = ctx.int_list("kernel_shape") or ctx.in_shape(1)[2:]
    strides = ctx.int_list("strides") or [1] * spatial
    dilations = ctx.int_list("dilations") or [1] * spatial
    output_padding = ctx.int_list("output_padding") or [0] * spatial
    group = ctx.attr_int("group", 1)
    begin, end = _conv_transpose_pads(ctx, size, kernel, strides, dilations, output_padding)
    kwargs: dict[str, Arg] = {}
    if any(s != 1 for s in strides):
        kwargs["stride"] = _plain(strides)
    if any(d != 1 for d in dilations):
        kwargs["dilation"] = _plain(dilations)
    if group != 1:
        kwargs["groups"] = group
    function = f"F.conv_transpose{spatial}d"
    native = begin == end and all(
        p < max(s, d) for p, s, d in zip(output_padding, strides, dilations, strict=True)
    )
    if native:
        if any(begin):
            kwargs["padding"] = _plain(begin)
        if any(output_padding):
            kwargs["output_padding"] = _plain(output_padding)
        args = [ctx.arg(0), ctx.arg(1)] + ([ctx.arg(2)] if ctx.has(2) else [])
        return [ctx.b.call(function, *args, keywords=kwargs)]
    full = ctx.b.call(function, ctx.arg(0), ctx.arg(1), keywords=kwargs)
    full.name_hint = "full"
    # Crop the ONNX pads (negative torch pads), then pad output_padding zeros.
    torch_pads: list[int] = []
    for b, e, extra in zip(reversed(begin), reversed(end), reversed(output_padding), strict=True):
        torch_pads += [-b, extra - e]
    result = ctx.b.call("F.pad", full, torch_pads, inline=ctx.has(2))
    if not ctx.has(2):
        return [result]
    bias = ctx.b.method(ctx.arg(2), "reshape", [-1] + [1] * spatial, inline=True)
    return [ctx.b.call("torch.add", result, bias)]


def _window_sums(ctx: NodeContext, w: _Window, x: SSAValue) -> SSAValue:
    """
    The sum over every window of `x` (padded already), dilation included: a
    depthwise convolution with a kernel of ones.
    """
    channels = ctx.in_shape(0)[1]
    ones = ctx.b.call(
        "torch.ones", [channels, 1, *w.kernel], dtype=ctx.dtype(ctx.in_type(0)), inline=True
    )
    kwargs: dict[str, Arg] = {"groups": channels}
    if any(s != 1 for s in w.strides):
        kwargs["stride"] = _plain(w.strides)
    if any(d != 1 for d in w.dilations):
        kwargs["dilation"] = _plain(w.dilations)
    sums = ctx.b.call(f"F.conv{len(w.size)}d", x, ones, keywords=kwargs)
    sums.name_hint = "sums"
    return sums


@lowering("LpPool")
def _lp_pool(ctx: NodeContext) -> list[SSAValue]:
    """(sum of |x|^p over each window)^(1/p); padding contributes zeros."""
    w = _window(ctx)
    p = ctx.attr_int("p", 2)
    if p < 1:
        ctx.unsupported(f"p={p}")
    powered = ctx.b.method(ctx.b.method(ctx.arg(0), "abs", inline=True), "pow", p)
    powered.name_hint = "powered"
    sums = _window_sums(ctx, w, _explicit_pad(ctx, w, 0.0, powered))
    if p == 1:
        return [sums]
    return [ctx.b.method(sums, "pow", 1 / p)]


GRID_SAMPLE_MODES = {"linear": "bilinear", "bilinear": "bilinear", "nearest": "nearest"}
"""ONNX mode (opset 20's names and opset 16's) -> F.grid_sample's; cubic is 2-D only."""


@lowering("GridSample")
def _grid_sample(ctx: NodeContext) -> list[SSAValue]:
    """
    `F.grid_sample`: the same normalized grid coordinates, the same padding
    modes, nearest rounding half to even and the same cubic kernel (A = -0.75).
    """
    spatial = _spatial(ctx)
    mode = str(ctx.attr("mode", "linear" if ctx.opset >= 20 else "bilinear"))
    padding_mode = str(ctx.attr("padding_mode", "zeros"))
    if padding_mode not in ("zeros", "border", "reflection"):
        ctx.unsupported(f"padding_mode '{padding_mode}'")
    if mode in ("cubic", "bicubic") and spatial == 2:
        torch_mode = "bicubic"
    elif mode in GRID_SAMPLE_MODES and spatial in (2, 3):
        torch_mode = GRID_SAMPLE_MODES[mode]
    else:
        ctx.unsupported(f"{spatial}-D GridSample with mode '{mode}'")
    kwargs: dict[str, Arg] = {"mode": torch_mode, "padding_mode": padding_mode}
    kwargs["align_corners"] = bool(ctx.attr("align_corners", 0))
    return [ctx.b.call("F.grid_sample", ctx.arg(0), ctx.arg(1), keywords=kwargs)]


@lowering("CausalConvWithState")
def _causal_conv_with_state(ctx: NodeContext) -> list[SSAValue]:
    """
    A depthwise 1-D convolution over the past state (zeros if none) followed by
    the input, optionally SiLU (computed in float32); the present state is the
    last kernel-1 positions of that sequence.
    """
    activation = str(ctx.attr("activation", "none"))
    if activation not in ("none", "silu", "swish"):
        ctx.unsupported(f"activation '{activation}'")
    batch, channels, _ = ctx.in_shape(0)
    kernel = ctx.in_shape(1)[2]
    if ctx.has(3):
        past = ctx.arg(3)
    else:
        past = ctx.b.call(
            "torch.zeros",
            [batch, channels, kernel - 1],
            dtype=ctx.dtype(ctx.in_type(0)),
            inline=True,
        )
    sequence = ctx.b.call("torch.cat", ctx.b.list([past, ctx.arg(0)]), 2)
    sequence.name_hint = "sequence"
    args = [sequence, ctx.arg(1)] + ([ctx.arg(2)] if ctx.has(2) else [])
    output = ctx.b.call("F.conv1d", *args, groups=channels, inline=activation != "none")
    if activation != "none":
        activated = ctx.b.call("F.silu", ctx.b.method(output, "float", inline=True), inline=True)
        output = ctx.b.method(activated, "to", ctx.dtype(ctx.in_type(0)))
    total = ctx.in_shape(0)[2] + kernel - 1
    present = ctx.b.subscript(
        sequence, [slice(None), slice(None), slice(total - (kernel - 1), None)]
    )
    return [output, present][: len(ctx.node.outputs)]


@lowering("AffineGrid")
def _affine_grid(ctx: NodeContext) -> list[SSAValue]:
    """`F.affine_grid` for the size the output type gives (the channel count is unused)."""
    out = ctx.out_shape()
    size = [out[0], 1, *out[1:-1]]
    align = bool(ctx.attr("align_corners", 0))
    return [ctx.b.call("F.affine_grid", ctx.arg(0), size, align_corners=align)]


@lowering("Col2Im")
def _col2im(ctx: NodeContext) -> list[SSAValue]:
    """
    `F.fold` (2-D images) into the padded image, then the pads cropped; the
    block shape is an input, read when the code runs if it is computed.
    """
    image = ctx.out_shape()[2:]
    if len(image) != 2:
        ctx.unsupported(f"a {len(image)}-D image")
    from ramiel_mlir.backend.ops.known import int_list_operand

    block = int_list_operand(ctx, 2)
    pads = ctx.int_list("pads") or [0, 0, 0, 0]
    strides = ctx.int_list("strides") or [1, 1]
    dilations = ctx.int_list("dilations") or [1, 1]
    padded = [image[i] + pads[i] + pads[i + 2] for i in range(2)]
    kwargs: dict[str, Arg] = {}
    if any(d != 1 for d in dilations):
        kwargs["dilation"] = _plain(dilations)
    if any(s != 1 for s in strides):
        kwargs["stride"] = _plain(strides)
    folded = ctx.b.call("F.fold", ctx.arg(0), padded, block, keywords=kwargs)
    if not any(pads):
        return [folded]
    crop = [slice(pads[i] or None, pads[i] + image[i]) for i in range(2)]
    return [ctx.b.subscript(folded, [slice(None), slice(None), *crop])]


@lowering("MaxUnpool")
def _max_unpool(ctx: NodeContext) -> list[SSAValue]:
    """
    `F.max_unpoolNd` into the output type's size. ONNX's indices count over the
    whole tensor (batch and channel included), torch's within each channel.
    """
    spatial = _spatial(ctx)
    if spatial not in (1, 2, 3):
        ctx.unsupported(f"{spatial}-D MaxUnpool")
    out = ctx.out_shape()
    n, c = out[0], out[1]
    kernel = ctx.int_list("kernel_shape") or []
    strides = ctx.int_list("strides") or kernel
    offsets = ctx.b.call("torch.arange", n * c, inline=True)
    offsets = ctx.b.method(offsets, "reshape", [n, c] + [1] * spatial, inline=True)
    start = ctx.b.binary("*", offsets, math.prod(_unpool_default(ctx, kernel, strides)))
    indices = ctx.b.call("torch.sub", ctx.arg(1), start)
    indices.name_hint = "indices"
    default = _unpool_default(ctx, kernel, strides)
    if default != out[2:]:
        indices = _reravel(ctx, indices, default, out[2:])
    kwargs: dict[str, Arg] = {"output_size": out[2:]}
    if strides != kernel:
        kwargs["stride"] = _plain(strides)
    return [
        ctx.b.call(f"F.max_unpool{spatial}d", ctx.arg(0), indices, _plain(kernel), keywords=kwargs)
    ]


def _unpool_default(ctx: NodeContext, kernel: Sequence[int], strides: Sequence[int]) -> list[int]:
    """The spatial shape MaxUnpool gives without output_shape: the pooled input's."""
    spatial = len(kernel)
    pads = ctx.int_list("pads") or [0] * (2 * spatial)
    size = ctx.in_shape(0)[2:]
    return [
        (size[i] - 1) * strides[i] + kernel[i] - pads[i] - pads[spatial + i] for i in range(spatial)
    ]


def _reravel(
    ctx: NodeContext, indices: SSAValue, source: Sequence[int], target: Sequence[int]
) -> SSAValue:
    """Flat indices into `source` positions as flat indices of the same positions in `target`."""
    result: SSAValue | None = None
    remaining = indices
    stride = 1
    for axis in reversed(range(len(source))):
        coordinate = ctx.b.call("torch.remainder", remaining, source[axis], inline=True)
        term = ctx.b.binary("*", coordinate, stride) if stride != 1 else coordinate
        result = term if result is None else ctx.b.binary("+", result, term)
        if axis:
            remaining = ctx.b.call("torch.div", remaining, source[axis], rounding_mode="floor")
            remaining.name_hint = "rest"
        stride *= target[axis]
    assert result is not None
    moved = ctx.b.add(py.AssignOp(result)).res
    moved.name_hint = "indices"
    return moved
