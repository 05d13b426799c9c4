"""LayerNormalization (opset 17) as `F.layer_norm`, with its optional statistics outputs."""

from __future__ import annotations

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
    axis = ctx.axis(int(ctx.attr("axis", -1)), rank)  # type: ignore[arg-type]
    epsilon = float(ctx.attr("epsilon", 1e-5))  # type: ignore[arg-type]
    stash = element_type_from_onnx(int(ctx.attr("stash_type", 1)))  # type: ignore[arg-type]
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
