"""
Layout ONNX ops: padding, cropping, tiling, depth/space shuffles, triangles.

Sizes that are implied by the static output type (Tile's repeats,
CenterCropPad's target shape) are taken from it; values that ONNX passes as
tensors and that a model may compute (Pad's pads, Trilu's k) are read by the
generated code when they are not known at compile time.
"""

from __future__ import annotations

from typing import Any

from xdsl.ir import SSAValue

from ramiel_mlir.backend.context import NodeContext
from ramiel_mlir.backend.ops import lowering
from ramiel_mlir.backend.ops.known import (
    Number,
    folding,
    int_list_operand,
    int_operand,
    known,
    number,
)
from ramiel_mlir.backend.runtime_source import runtime_module

runtime = runtime_module("tensor")
"""The runtime functions this file's lowerings call."""

PAD_MODES = ("constant", "reflect", "edge", "wrap")


@lowering("Pad")
@folding
def _pad(ctx: NodeContext) -> list[SSAValue]:
    """
    Pads as an attribute before opset 11, then an input (and the fill value an
    optional input); `axes` since opset 18, `wrap` since 19. Known constant
    padding is one `F.pad`; the other modes index the padded positions.
    """
    mode = str(ctx.attr("mode", "constant"))
    if mode not in PAD_MODES:
        ctx.unsupported(f"mode '{mode}'")
    rank = ctx.rank(0)
    axes: list[int] | SSAValue = list(range(rank))
    value: Number = 0
    if ctx.opset < 11:
        pads: list[int] | SSAValue = ctx.int_list("pads" if ctx.opset >= 2 else "paddings") or []
        value = ctx.attr_float("value", 0.0)
    else:
        pads = int_list_operand(ctx, 1)
        if ctx.has(2):
            fill = known(ctx, 2)
            value = number(fill) if fill is not None else ctx.b.method(ctx.arg(2), "item")
        if ctx.has(3):
            axes = int_list_operand(ctx, 3)
    x = ctx.arg(0)
    if mode == "constant" and isinstance(pads, list) and isinstance(axes, list):
        count = len(axes)
        by_axis = {ctx.axis(a, rank): (pads[i], pads[i + count]) for i, a in enumerate(axes)}
        torch_pads: list[int] = []
        for axis in reversed(range(min(by_axis, default=rank), rank)):
            torch_pads += by_axis.get(axis, (0, 0))
        if not any(torch_pads):
            return [x]
        kwargs: dict[str, Any] = {"value": value} if value != 0 else {}
        return [ctx.b.call("F.pad", x, torch_pads, **kwargs)]
    return [ctx.b.call(ctx.helper(runtime._pad), x, pads, value, mode, axes)]


@lowering("CenterCropPad")
@folding
def _center_crop_pad(ctx: NodeContext) -> list[SSAValue]:
    """Crop (or zero-pad) each axis around its centre to the output type's size."""
    in_shape, out_shape = ctx.in_shape(0), ctx.out_shape()
    x = ctx.arg(0)
    crops: list[slice] = []
    begin: list[int] = []
    end: list[int] = []
    for size, target in zip(in_shape, out_shape, strict=True):
        start = (size - target) // 2 if target < size else 0
        crops.append(slice(start or None, start + target) if target < size else slice(None))
        low = (target - size) // 2 if target > size else 0
        begin.append(low)
        end.append(target - size - low if target > size else 0)
    while crops and crops[-1] == slice(None):
        crops.pop()
    if crops:
        x = ctx.b.subscript(x, crops)
    if any(begin) or any(end):
        torch_pads: list[int] = []
        for b, e in zip(reversed(begin), reversed(end), strict=True):
            torch_pads += [b, e]
        x = ctx.b.call("F.pad", x, torch_pads)
    return [x]


@lowering("Tile")
@folding
def _tile(ctx: NodeContext) -> list[SSAValue]:
    """`x.repeat(...)` with the repeats the output type implies."""
    repeats = [o // i for i, o in zip(ctx.in_shape(0), ctx.out_shape(), strict=True)]
    if all(r == 1 for r in repeats):
        return [ctx.arg(0)]
    return [ctx.b.method(ctx.arg(0), "repeat", repeats)]


def _move_blocks(ctx: NodeContext, split: list[int], order: list[int]) -> list[SSAValue]:
    """Reshape the input into `split`, permute it to `order`, reshape to the output type."""
    blocks = ctx.b.method(ctx.arg(0), "reshape", split, inline=True)
    moved = ctx.b.method(blocks, "permute", order, inline=True)
    return [ctx.b.method(moved, "reshape", ctx.out_shape())]


def _is_crd(ctx: NodeContext) -> bool:
    """Whether a DepthToSpace / SpaceToDepth node is in CRD mode (else DCR, the default)."""
    mode = str(ctx.attr("mode", "DCR"))
    if mode not in ("CRD", "DCR"):
        ctx.unsupported(f"mode '{mode}'")
    return mode == "CRD"


@lowering("DepthToSpace")
@folding
def _depth_to_space(ctx: NodeContext) -> list[SSAValue]:
    """DCR: depth is (block row, block column, channel); CRD: `F.pixel_shuffle`."""
    block = ctx.attr_int("blocksize", 0)
    if _is_crd(ctx):
        return [ctx.b.call("F.pixel_shuffle", ctx.arg(0), block)]
    n, c, h, w = ctx.in_shape(0)
    return _move_blocks(ctx, [n, block, block, c // block**2, h, w], [0, 3, 4, 1, 5, 2])


@lowering("SpaceToDepth")
@folding
def _space_to_depth(ctx: NodeContext) -> list[SSAValue]:
    """DCR (the default): depth is (block row, block column, channel); CRD: `F.pixel_unshuffle`."""
    block = ctx.attr_int("blocksize", 0)
    if _is_crd(ctx):
        return [ctx.b.call("F.pixel_unshuffle", ctx.arg(0), block)]
    n, c, h, w = ctx.in_shape(0)
    return _move_blocks(ctx, [n, c, h // block, block, w // block, block], [0, 3, 5, 1, 2, 4])


@lowering("Trilu")
@folding
def _trilu(ctx: NodeContext) -> list[SSAValue]:
    """`torch.triu` / `torch.tril` with the diagonal offset k (an optional input)."""
    function = "torch.triu" if ctx.attr("upper", 1) else "torch.tril"
    k = int_operand(ctx, 1) if ctx.has(1) else 0
    if k == 0:
        return [ctx.b.call(function, ctx.arg(0))]
    return [ctx.b.call(function, ctx.arg(0), k)]


@lowering("EyeLike")
@folding
def _eye_like(ctx: NodeContext) -> list[SSAValue]:
    """Ones on diagonal k (`triu(k).tril(k)` of ones) in the output type."""
    k = ctx.attr_int("k", 0)
    ones = ctx.b.call("torch.ones", ctx.out_shape(), dtype=ctx.dtype(ctx.out_type()), inline=True)
    return [ctx.b.method(ctx.b.method(ones, "triu", k, inline=True), "tril", k)]
