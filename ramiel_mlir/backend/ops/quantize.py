"""
Quantization ONNX ops on the integer types torch has (uint8, int8, int16).

QuantizeLinear rounds x / scale half to even, adds the zero point and
saturates; DequantizeLinear computes (x - zero point) * scale in float32. Scales
and zero points are scalars, per-axis vectors or (blocked) tensors repeated
over blocks along `axis`. The integer products of MatMulInteger, ConvInteger
and the QLinear ops are exact: int32 accumulation for matmuls, float64 (exact
at these magnitudes) for convolutions, which torch has only for floats.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from xdsl.ir import SSAValue

from ramiel_mlir.backend.context import NodeContext
from ramiel_mlir.backend.ops import lowering
from ramiel_mlir.backend.ops.nn import _pads, _plain
from ramiel_mlir.tensors import numpy_dtype


def _broadcast(ctx: NodeContext, index: int, axis: int, block: int) -> SSAValue:
    """A scale or zero point shaped to broadcast against x (input 0)."""
    shape = ctx.in_shape(index)
    value = ctx.arg(index)
    if not shape:
        return value
    if math.prod(shape) == 1:
        return ctx.b.method(value, "reshape", [])
    rank = ctx.rank(0)
    axis = ctx.axis(axis, rank)  # only a vector or blocked tensor needs the axis
    if not block:
        if len(shape) != 1:
            ctx.error(f"input #{index} of shape {shape} is neither a scalar nor a vector")
        return ctx.b.method(value, "reshape", [shape[0] if i == axis else 1 for i in range(rank)])
    size = ctx.in_shape(0)[axis]
    if shape[axis] * block == size:
        return ctx.b.method(value, "repeat_interleave", block, axis)
    repeated = ctx.b.method(value, "repeat_interleave", block, axis, inline=True)
    return ctx.b.subscript(repeated, [*[slice(None)] * axis, slice(None, size)])


def _range(ctx: NodeContext, index: int = 0) -> tuple[int, int]:
    """The integer range of output `index`; an error for other types."""
    dtype = numpy_dtype(ctx.out_type(index).get_element_type())
    if not np.issubdtype(dtype, np.integer):
        ctx.unsupported(f"quantization to {dtype}")
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def _saturate(ctx: NodeContext, value: SSAValue, index: int = 0) -> SSAValue:
    """Clamp to the output type's range and convert."""
    low, high = _range(ctx, index)
    clamped = ctx.b.call("torch.clamp", value, low, high, inline=True)
    return ctx.b.method(clamped, "to", ctx.dtype(ctx.out_type(index)))


def _axis_and_block(ctx: NodeContext) -> tuple[int, int]:
    axis = ctx.attr_int("axis", 1)
    return axis, ctx.attr_int("block_size", 0)


@lowering("QuantizeLinear")
def _quantize_linear(ctx: NodeContext) -> list[SSAValue]:
    axis, block = _axis_and_block(ctx)
    _range(ctx)
    x, scale = ctx.arg(0), _broadcast(ctx, 1, axis, block)
    precision = ctx.attr_int("precision")
    if precision:
        from ramiel_mlir.tensors import element_type_from_onnx, torch_dtype_name

        element = element_type_from_onnx(precision)
        if element is None:
            ctx.unsupported(f"precision={precision}")
        dtype = ctx.b.name(f"torch.{torch_dtype_name(element)}")
        x = ctx.b.method(x, "to", dtype, inline=True)
        scale = ctx.b.method(scale, "to", dtype, inline=True)
    rounded = ctx.b.call("torch.round", ctx.b.call("torch.div", x, scale, inline=True), inline=True)
    quantized = ctx.b.method(rounded, "to", ctx.b.name("torch.int32"))
    quantized.name_hint = "quantized"
    if ctx.has(2):
        quantized = ctx.b.call("torch.add", quantized, _broadcast(ctx, 2, axis, block), inline=True)
    return [_saturate(ctx, quantized)]


@lowering("DequantizeLinear")
def _dequantize_linear(ctx: NodeContext) -> list[SSAValue]:
    axis, block = _axis_and_block(ctx)
    if not np.issubdtype(numpy_dtype(ctx.in_type(0).get_element_type()), np.integer):
        ctx.unsupported(f"dequantizing {ctx.in_type(0).get_element_type()}")
    x = ctx.b.method(ctx.arg(0), "to", ctx.b.name("torch.float32"), inline=True)
    if ctx.has(2):
        x = ctx.b.call("torch.sub", x, _broadcast(ctx, 2, axis, block), inline=True)
    product = ctx.b.call("torch.mul", x, _broadcast(ctx, 1, axis, block), inline=True)
    return [ctx.b.method(product, "to", ctx.dtype(ctx.out_type()))]


@lowering("DynamicQuantizeLinear")
def _dynamic_quantize_linear(ctx: NodeContext) -> list[SSAValue]:
    """uint8 with the scale and zero point that map [min(x, 0), max(x, 0)] onto [0, 255]."""
    x = ctx.arg(0)
    high = ctx.b.call("torch.clamp", ctx.b.method(x, "max", inline=True), min=0.0)
    high.name_hint = "high"
    low = ctx.b.call("torch.clamp", ctx.b.method(x, "min", inline=True), max=0.0)
    low.name_hint = "low"
    span = ctx.b.call(
        "torch.where",
        ctx.b.call("torch.eq", high, low, inline=True),
        1.0,
        ctx.b.call("torch.sub", high, low, inline=True),
        inline=True,
    )
    scale = ctx.b.call("torch.div", span, 255.0)
    scale.name_hint = "scale"
    initial = ctx.b.binary("-", 0.0, ctx.b.binary("/", low, scale))
    zero = ctx.b.call("torch.clamp", initial, 0.0, 255.0, inline=True)
    zero_point = ctx.b.call("torch.round", zero)
    zero_point.name_hint = "zero_point"
    rounded = ctx.b.call("torch.round", ctx.b.call("torch.div", x, scale, inline=True), inline=True)
    shifted = ctx.b.call("torch.add", rounded, zero_point, inline=True)
    clamped = ctx.b.call("torch.clamp", shifted, 0.0, 255.0, inline=True)
    y = ctx.b.method(clamped, "to", ctx.b.name("torch.uint8"))
    return [y, scale, ctx.b.method(zero_point, "to", ctx.b.name("torch.uint8"))]


def _shifted(ctx: NodeContext, index: int, zero_index: int, per_row: bool = False) -> SSAValue:
    """Input `index` as int32 minus its optional zero point (input `zero_index`)."""
    value = ctx.b.method(ctx.arg(index), "to", ctx.b.name("torch.int32"), inline=True)
    if not ctx.has(zero_index):
        return value
    zero = ctx.arg(zero_index)
    shape = ctx.in_shape(zero_index)
    if per_row and shape and shape[0] > 1:
        zero = ctx.b.method(zero, "reshape", [-1] + [1] * (ctx.rank(index) - 1), inline=True)
    return ctx.b.call("torch.sub", value, zero, inline=True)


@lowering("MatMulInteger")
def _matmul_integer(ctx: NodeContext) -> list[SSAValue]:
    """(A - a_zero_point) @ (B - b_zero_point) in int32."""
    return [ctx.b.call("torch.matmul", _shifted(ctx, 0, 2), _shifted(ctx, 1, 3))]


@lowering("QLinearMatMul")
def _qlinear_matmul(ctx: NodeContext) -> list[SSAValue]:
    """The int32 product, rescaled by a_scale * b_scale / y_scale (float64), requantized."""
    product = ctx.b.call("torch.matmul", _shifted(ctx, 0, 2), _shifted(ctx, 3, 5))
    product.name_hint = "product"
    factor = ctx.b.binary("/", ctx.b.binary("*", ctx.arg(1), ctx.arg(4)), ctx.arg(6))
    scaled = ctx.b.call(
        "torch.mul",
        ctx.b.method(product, "double", inline=True),
        ctx.b.method(factor, "double", inline=True),
        inline=True,
    )
    if ctx.has(7):
        scaled = ctx.b.call("torch.add", scaled, ctx.arg(7), inline=True)
    return [_saturate(ctx, ctx.b.call("torch.round", scaled, inline=True))]


def _integer_conv(ctx: NodeContext, x: SSAValue, w: SSAValue) -> SSAValue:
    """The exact integer convolution of int32 x and w (computed in float64)."""
    spatial = ctx.rank(0) - 2
    if spatial not in (1, 2, 3):
        ctx.unsupported(f"a {spatial}-D convolution")
    kernel = ctx.int_list("kernel_shape") or ctx.in_shape(1)[2:]
    strides = ctx.int_list("strides") or [1] * spatial
    dilations = ctx.int_list("dilations") or [1] * spatial
    pads = _pads(ctx, kernel, strides, dilations)
    begin, end = pads[:spatial], pads[spatial:]
    x = ctx.b.method(x, "double", inline=True)
    if any(begin) or any(end):
        torch_pads: list[int] = []
        for b, e in zip(reversed(begin), reversed(end), strict=True):
            torch_pads += [b, e]
        x = ctx.b.call("F.pad", x, torch_pads, inline=True)
    kwargs: dict[str, Any] = {}
    if any(s != 1 for s in strides):
        kwargs["stride"] = _plain(strides)
    if any(d != 1 for d in dilations):
        kwargs["dilation"] = _plain(dilations)
    group = ctx.attr_int("group", 1)
    if group != 1:
        kwargs["groups"] = group
    w = ctx.b.method(w, "double", inline=True)
    return ctx.b.call(f"F.conv{spatial}d", x, w, **kwargs)


@lowering("ConvInteger")
def _conv_integer(ctx: NodeContext) -> list[SSAValue]:
    result = _integer_conv(ctx, _shifted(ctx, 0, 2), _shifted(ctx, 1, 3, per_row=True))
    return [ctx.b.method(result, "to", ctx.b.name("torch.int32"))]
