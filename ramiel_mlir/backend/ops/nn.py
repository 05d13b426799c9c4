"""Neural-network ONNX ops: convolution, pooling, normalization, Gemm, softmax."""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.ir import SSAValue

from ramiel_mlir.backend.context import NodeContext
from ramiel_mlir.backend.ops import lowering


@lowering("Softmax", "LogSoftmax")
def _softmax(ctx: NodeContext) -> list[SSAValue]:
    function = "torch.softmax" if ctx.node.op_type.data == "Softmax" else "torch.log_softmax"
    rank = ctx.rank(0)
    default = -1 if ctx.opset >= 13 else 1
    axis = ctx.axis(int(ctx.attr("axis", default)), rank)  # type: ignore[arg-type]
    if ctx.opset >= 13 or axis == rank - 1:
        return [ctx.b.call(function, ctx.arg(0), dim=axis)]
    # Before opset 13 the input is coerced to 2-D at `axis`.
    shape = ctx.in_shape(0)
    inner = 1
    for dim in shape[axis:]:
        inner *= dim
    flat = ctx.b.method(ctx.arg(0), "reshape", [-1, inner])
    result = ctx.b.call(function, flat, dim=1)
    return [ctx.b.method(result, "reshape", shape)]


@lowering("Gemm")
def _gemm(ctx: NodeContext) -> list[SSAValue]:
    alpha = float(ctx.attr("alpha", 1.0))  # type: ignore[arg-type]
    beta = float(ctx.attr("beta", 1.0))  # type: ignore[arg-type]
    trans_a = int(ctx.attr("transA", 0))  # type: ignore[arg-type]
    trans_b = int(ctx.attr("transB", 0))  # type: ignore[arg-type]
    a, b = ctx.arg(0), ctx.arg(1)
    if ctx.has(2) and alpha == 1.0 and beta == 1.0 and not trans_a and trans_b:
        if len(ctx.in_shape(2)) == 1:
            return [ctx.b.call("F.linear", a, b, ctx.arg(2))]
    if trans_a:
        a = ctx.b.method(a, "t")
    if trans_b:
        b = ctx.b.method(b, "t")
    if not ctx.has(2):
        product = ctx.b.call("torch.matmul", a, b)
        return [product if alpha == 1.0 else ctx.b.call("torch.mul", product, alpha)]
    return [ctx.b.call("torch.addmm", ctx.arg(2), a, b, beta=beta, alpha=alpha)]


@lowering("MatMul")
def _matmul(ctx: NodeContext) -> list[SSAValue]:
    return [ctx.b.call("torch.matmul", ctx.arg(0), ctx.arg(1))]


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


def _split_pads(
    ctx: NodeContext, x: SSAValue, pads: list[int], value: float = 0.0, force: bool = False
) -> tuple[SSAValue, list[int]]:
    """
    Symmetric pads as a padding argument; asymmetric ones (or all, with `force`)
    as an explicit `F.pad` filled with `value`.
    """
    spatial = len(pads) // 2
    begin, end = pads[:spatial], pads[spatial:]
    if begin == end and not force:
        return x, begin
    torch_pads: list[int] = []
    for b, e in zip(reversed(begin), reversed(end), strict=True):
        torch_pads += [b, e]
    padded = ctx.b.call("F.pad", x, torch_pads, value=value)
    return padded, [0] * spatial


@lowering("Conv")
def _conv(ctx: NodeContext) -> list[SSAValue]:
    spatial = _spatial(ctx)
    if spatial not in (1, 2, 3):
        ctx.unsupported(f"a {spatial}-D convolution")
    kernel = ctx.int_list("kernel_shape") or ctx.in_shape(1)[2:]
    strides = ctx.int_list("strides") or [1] * spatial
    dilations = ctx.int_list("dilations") or [1] * spatial
    group = int(ctx.attr("group", 1))  # type: ignore[arg-type]
    x, padding = _split_pads(ctx, ctx.arg(0), _pads(ctx, kernel, strides, dilations))
    bias = ctx.arg(2) if ctx.has(2) else None
    kwargs: dict[str, object] = {}
    if any(s != 1 for s in strides):
        kwargs["stride"] = strides
    if any(padding):
        kwargs["padding"] = padding
    if any(d != 1 for d in dilations):
        kwargs["dilation"] = dilations
    if group != 1:
        kwargs["groups"] = group
    return [ctx.b.call(f"F.conv{spatial}d", x, ctx.arg(1), bias, **kwargs)]  # type: ignore[arg-type]


def _pool_output(size: int, k: int, s: int, d: int, pad: int, ceil: bool) -> int:
    """PyTorch's pooling output size (windows start inside input or left padding)."""
    span = size + 2 * pad - d * (k - 1) - 1
    out = (-(-span // s) if ceil else span // s) + 1
    if ceil and (out - 1) * s >= size + pad:
        out -= 1
    return out


def _pool_args(ctx: NodeContext, fill: float) -> tuple[SSAValue, dict[str, object]]:
    spatial = _spatial(ctx)
    kernel = ctx.int_list("kernel_shape") or []
    strides = ctx.int_list("strides") or [1] * spatial
    dilations = ctx.int_list("dilations") or [1] * spatial
    ceil = bool(ctx.attr("ceil_mode", 0))
    pads = _pads(ctx, kernel, strides, dilations)
    x = ctx.arg(0)
    begin = pads[:spatial]
    torch_ok = pads[:spatial] == pads[spatial:] and all(
        p <= k // 2 for p, k in zip(begin, kernel, strict=True)
    )
    shape = ctx.in_shape(0)[2:]
    if not torch_ok:
        x, begin = _split_pads(ctx, x, pads, fill, force=True)
        shape = [
            n + b + e for n, b, e in zip(shape, pads[:spatial], pads[spatial:], strict=True)
        ]
    expected = ctx.out_shape()[2:]
    produced = [
        _pool_output(n, k, s, d, p, ceil)
        for n, k, s, d, p in zip(shape, kernel, strides, dilations, begin, strict=True)
    ]
    if produced != expected:
        ctx.unsupported(
            f"pooling whose ONNX output shape {expected} differs from PyTorch's {produced}"
        )
    kwargs: dict[str, object] = {"kernel_size": kernel}
    if strides != kernel:
        kwargs["stride"] = strides
    if any(begin):
        kwargs["padding"] = begin
    if any(d != 1 for d in dilations):
        kwargs["dilation"] = dilations
    if ceil:
        kwargs["ceil_mode"] = True
    return x, kwargs


@lowering("MaxPool")
def _max_pool(ctx: NodeContext) -> list[SSAValue | None]:
    if len(ctx.node.outputs) > 1:
        ctx.unsupported("the Indices output of MaxPool")
    if int(ctx.attr("storage_order", 0)):
        ctx.unsupported("storage_order=1")
    x, kwargs = _pool_args(ctx, float("-inf"))
    return [ctx.b.call(f"F.max_pool{_spatial(ctx)}d", x, **kwargs)]  # type: ignore[arg-type]


@lowering("AveragePool")
def _average_pool(ctx: NodeContext) -> list[SSAValue]:
    include_pad = bool(ctx.attr("count_include_pad", 0))
    spatial = _spatial(ctx)
    pads = _pads(
        ctx,
        ctx.int_list("kernel_shape") or [],
        ctx.int_list("strides") or [1] * spatial,
        ctx.int_list("dilations") or [1] * spatial,
    )
    if not include_pad and pads[:spatial] != pads[spatial:] and any(pads):
        ctx.unsupported("asymmetric pads with count_include_pad=0")
    if ctx.int_list("dilations") and any(d != 1 for d in ctx.int_list("dilations") or []):
        ctx.unsupported("dilated AveragePool")
    x, kwargs = _pool_args(ctx, 0.0)
    kwargs.pop("dilation", None)
    if not include_pad and "padding" in kwargs:
        kwargs["count_include_pad"] = False
    return [ctx.b.call(f"F.avg_pool{spatial}d", x, **kwargs)]  # type: ignore[arg-type]


@lowering("GlobalAveragePool", "GlobalMaxPool")
def _global_pool(ctx: NodeContext) -> list[SSAValue]:
    dims = list(range(2, ctx.rank(0)))
    if ctx.node.op_type.data == "GlobalAveragePool":
        return [ctx.b.method(ctx.arg(0), "mean", dims, keepdim=True)]
    return [ctx.b.method(ctx.arg(0), "amax", dims, keepdim=True)]


@lowering("BatchNormalization")
def _batch_norm(ctx: NodeContext) -> list[SSAValue | None]:
    if int(ctx.attr("training_mode", 0)):
        ctx.unsupported("training_mode=1")
    if ctx.opset < 9 and int(ctx.attr("spatial", 1)) != 1:
        ctx.unsupported("spatial=0")
    epsilon = float(ctx.attr("epsilon", 1e-5))  # type: ignore[arg-type]
    x, scale, bias, mean, var = (ctx.arg(i) for i in range(5))
    result = ctx.b.call("F.batch_norm", x, mean, var, scale, bias, training=False, eps=epsilon)
    return [result, *([None] * (len(ctx.node.outputs) - 1))]


@lowering("LRN")
def _lrn(ctx: NodeContext) -> list[SSAValue]:
    size = int(ctx.attr("size", 1))  # type: ignore[arg-type]
    if size % 2 == 0:
        ctx.unsupported("an even LRN size")
    return [
        ctx.b.call(
            "F.local_response_norm",
            ctx.arg(0),
            size,
            alpha=float(ctx.attr("alpha", 0.0001)),  # type: ignore[arg-type]
            beta=float(ctx.attr("beta", 0.75)),  # type: ignore[arg-type]
            k=float(ctx.attr("bias", 1.0)),  # type: ignore[arg-type]
        )
    ]
