"""
Normalizations: LayerNormalization (with its optional statistics outputs),
InstanceNormalization, GroupNormalization, RMSNormalization, LpNormalization.
"""

from __future__ import annotations

from typing import Any

from xdsl.ir import SSAValue

from ramiel_mlir.backend.context import NodeContext
from ramiel_mlir.backend.ops import lowering
from ramiel_mlir.backend.ops.known import folding
from ramiel_mlir.tensors import element_type_from_onnx, torch_dtype_name


@lowering("LayerNormalization")
@folding
def _layer_norm(ctx: NodeContext) -> list[SSAValue | None]:
    """
    Normalize over the axes from `axis` on, then scale and shift.

    The statistics are computed in the type `stash_type` names (float32 by
    default), as are the optional Mean and InvStdDev outputs. Scale and B may be
    any shape that broadcasts to the normalized one: then they are applied apart.
    """
    shape = ctx.in_shape(0)
    rank = len(shape)
    axis = ctx.axis(ctx.attr_int("axis", -1), rank)
    epsilon = ctx.attr_float("epsilon", 1e-5)
    stash = element_type_from_onnx(ctx.attr_int("stash_type", 1))
    if stash is None:
        ctx.unsupported(f"stash_type={ctx.attr('stash_type', 1)}")
    x_type = ctx.in_type(0)
    x = ctx.arg(0)
    cast = stash != x_type.get_element_type()
    if cast:
        x = ctx.b.method(x, "to", ctx.b.name(f"torch.{torch_dtype_name(stash)}"))
        x.name_hint = "stashed"
    normalized = shape[axis:]
    scale, bias = ctx.arg(1), ctx.arg(2) if ctx.has(2) else None
    fused = ctx.in_shape(1) == normalized and (bias is None or ctx.in_shape(2) == normalized)
    if fused and not cast:
        y = ctx.b.call("F.layer_norm", x, normalized, scale, bias, eps=epsilon)
    else:
        y = ctx.b.call("F.layer_norm", x, normalized, eps=epsilon)
        y.name_hint = "normalized"
        if cast:
            y = ctx.b.method(y, "to", ctx.dtype(x_type), inline=True)
        y = ctx.b.call("torch.mul", y, scale, inline=bias is not None)
        if bias is not None:
            y = ctx.b.call("torch.add", y, bias)
    outputs: list[SSAValue | None] = [y]
    if any(result.uses for result in ctx.node.outputs[1:]):
        dims = list(range(axis, rank))
        variance, mean = ctx.b.call_n("torch.var_mean", 2, x, dims, correction=0, keepdim=True)
        variance.name_hint = "variance"
        shifted = ctx.b.call("torch.add", variance, epsilon, inline=True)
        outputs += [mean, ctx.b.call("torch.rsqrt", shifted)]
    return outputs


def _stash(ctx: NodeContext, x: SSAValue) -> tuple[SSAValue, bool]:
    """`x` in the type `stash_type` names (float32 by default), and whether it was cast."""
    stash = element_type_from_onnx(ctx.attr_int("stash_type", 1))
    if stash is None:
        ctx.unsupported(f"stash_type={ctx.attr('stash_type', 1)}")
    if stash == ctx.in_type(0).get_element_type():
        return x, False
    stashed = ctx.b.method(x, "to", ctx.b.name(f"torch.{torch_dtype_name(stash)}"))
    stashed.name_hint = "stashed"
    return stashed, True


@lowering("InstanceNormalization")
@folding
def _instance_norm(ctx: NodeContext) -> list[SSAValue]:
    """Per sample and channel over the spatial axes, then the per-channel scale and bias."""
    epsilon = ctx.attr_float("epsilon", 1e-5)
    kwargs: dict[str, Any] = {"eps": epsilon} if epsilon != 1e-5 else {}
    return [ctx.b.call("F.instance_norm", ctx.arg(0), weight=ctx.arg(1), bias=ctx.arg(2), **kwargs)]


@lowering("GroupNormalization")
@folding
def _group_norm(ctx: NodeContext) -> list[SSAValue]:
    """
    `F.group_norm`, statistics in the stash type. Opset 18 gives scale and bias
    per group (repeated over the group's channels), opset 21 per channel.
    """
    groups = ctx.attr_int("num_groups", 0)
    epsilon = ctx.attr_float("epsilon", 1e-5)
    channels = ctx.in_shape(0)[1]
    scale, bias = ctx.arg(1), ctx.arg(2)
    if ctx.opset < 21 and groups != channels:
        if ctx.in_shape(1) != [groups]:
            ctx.error(f"scale has shape {ctx.in_shape(1)}, not [num_groups]")
        scale = ctx.b.method(scale, "repeat_interleave", channels // groups)
        bias = ctx.b.method(bias, "repeat_interleave", channels // groups)
    x, cast = _stash(ctx, ctx.arg(0))
    kwargs: dict[str, Any] = {"eps": epsilon} if epsilon != 1e-5 else {}
    if not cast:
        return [ctx.b.call("F.group_norm", x, groups, scale, bias, **kwargs)]
    y = ctx.b.call("F.group_norm", x, groups, **kwargs)
    y = ctx.b.method(y, "to", ctx.dtype(ctx.in_type(0)), inline=True)
    shape = [channels] + [1] * (ctx.rank(0) - 2)
    scale = ctx.b.method(scale, "reshape", shape, inline=True)
    bias = ctx.b.method(bias, "reshape", shape, inline=True)
    return [ctx.b.call("torch.add", ctx.b.call("torch.mul", y, scale, inline=True), bias)]


@lowering("RMSNormalization")
@folding
def _rms_norm(ctx: NodeContext) -> list[SSAValue]:
    """x / sqrt(mean(x^2 over the axes from `axis` on) + epsilon) * scale, in the stash type."""
    shape = ctx.in_shape(0)
    rank = len(shape)
    axis = ctx.axis(ctx.attr_int("axis", -1), rank)
    epsilon = ctx.attr_float("epsilon", 1e-5)
    x, cast = _stash(ctx, ctx.arg(0))
    if not cast and ctx.in_shape(1) == shape[axis:]:
        return [ctx.b.call("F.rms_norm", x, shape[axis:], ctx.arg(1), eps=epsilon)]
    y = ctx.b.call("F.rms_norm", x, shape[axis:], eps=epsilon, inline=True)
    if cast:
        y = ctx.b.method(y, "to", ctx.dtype(ctx.in_type(0)), inline=True)
    return [ctx.b.call("torch.mul", y, ctx.arg(1))]


@lowering("LpNormalization")
@folding
def _lp_norm(ctx: NodeContext) -> list[SSAValue]:
    """x divided by its L1 or L2 norm along `axis`; a zero norm gives 0, not NaN."""
    axis = ctx.axis(ctx.attr_int("axis", -1), ctx.rank(0))
    p = ctx.attr_int("p", 2)
    if p not in (1, 2):
        ctx.unsupported(f"p={p}")
    x = ctx.arg(0)
    norm = ctx.b.call("torch.linalg.vector_norm", x, p, axis, keepdim=True)
    norm.name_hint = "norm"
    zero = ctx.b.call("torch.eq", norm, 0, inline=True)
    quotient = ctx.b.call("torch.div", x, norm, inline=True)
    return [ctx.b.call("torch.where", zero, 0.0, quotient)]
