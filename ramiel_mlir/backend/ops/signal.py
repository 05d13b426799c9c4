"""
Signal processing ONNX ops: DFT and the Hann, Hamming and Blackman windows.

ONNX represents complex tensors by a trailing axis of (real, imaginary). The
DFT helper transforms with numpy's FFT in the input's precision, as ONNX's
reference does: torch's FFT (MKL) rounds differently, and the suite checks
near-zero imaginary parts to 1e-7, below float32 FFT noise. A window's length is the size
of its output type.
"""

from __future__ import annotations

import math

from xdsl.ir import SSAValue

from ramiel_mlir.backend.context import NodeContext
from ramiel_mlir.backend.ops import lowering
from ramiel_mlir.backend.ops.known import int_operand
from ramiel_mlir.backend.runtime_source import runtime_module

runtime = runtime_module("signal")
"""The runtime functions this file's lowerings call."""


@lowering("DFT")
def _dft(ctx: NodeContext) -> list[SSAValue]:
    """
    The axis is an attribute (default 1) before opset 20, then an input
    (default -2); dft_length pads or truncates the signal.
    """
    if ctx.opset >= 20:
        axis: int | SSAValue = int_operand(ctx, 2) if ctx.has(2) else -2
    else:
        axis = ctx.attr_int("axis", 1)
    length = int_operand(ctx, 1) if ctx.has(1) else None
    inverse = bool(ctx.attr("inverse", 0))
    onesided = bool(ctx.attr("onesided", 0))
    return [ctx.b.call(ctx.helper(runtime._dft), ctx.arg(0), length, axis, inverse, onesided)]


@lowering("HannWindow", "HammingWindow", "BlackmanWindow")
def _window(ctx: NodeContext) -> list[SSAValue]:
    """The window of the output's length, computed in float64 by ONNX's formula."""
    size = ctx.out_shape()[0]
    periodic = bool(ctx.attr("periodic", 1))
    denominator = size if periodic else size - 1
    n = ctx.b.call("torch.arange", size, dtype=ctx.b.name("torch.float64"))
    n.name_hint = "n"
    op_type = ctx.node.op_type.data
    if op_type != "HannWindow":
        angle = ctx.b.binary("*", n, 2 * math.pi / denominator)
    if op_type == "HannWindow":
        half = ctx.b.call("torch.sin", ctx.b.binary("*", n, math.pi / denominator), inline=True)
        window = ctx.b.binary("**", half, 2)
    elif op_type == "HammingWindow":
        alpha = 25.0 / 46.0
        cosine = ctx.b.call("torch.cos", angle, inline=True)
        window = ctx.b.binary("-", alpha, ctx.b.binary("*", cosine, 1 - alpha))
    else:
        first = ctx.b.binary("*", ctx.b.call("torch.cos", angle, inline=True), -0.5)
        double = ctx.b.binary("*", n, 4 * math.pi / denominator)
        second = ctx.b.binary("*", ctx.b.call("torch.cos", double, inline=True), 0.08)
        window = ctx.b.binary("+", ctx.b.binary("+", first, second), 0.42)
    return [ctx.b.method(window, "to", ctx.dtype(ctx.out_type()))]
