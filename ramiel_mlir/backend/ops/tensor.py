"""Data-movement ONNX ops: identity, reshapes, transposes, concatenation."""

from __future__ import annotations

from xdsl.dialects.builtin import TensorType
from xdsl.ir import SSAValue

from ramiel_mlir.backend.context import NodeContext
from ramiel_mlir.backend.ops import lowering


@lowering("Identity")
def _identity(ctx: NodeContext) -> list[SSAValue]:
    return [ctx.arg(0)]


@lowering("Dropout")
def _dropout(ctx: NodeContext) -> list[SSAValue | None]:
    """Inference mode: the identity, and a mask of ones if it is read."""
    if ctx.has(2) and ctx.require_const(2, "training_mode").any():
        ctx.unsupported("training_mode=True")
    outputs: list[SSAValue | None] = [ctx.arg(0)]
    if len(ctx.node.outputs) > 1 and isinstance(ctx.node.outputs[1].type, TensorType):
        mask_type = ctx.out_type(1)
        outputs.append(ctx.b.call("torch.ones", ctx.out_shape(1), dtype=ctx.dtype(mask_type)))
    return outputs


@lowering("Reshape", "Flatten", "Squeeze", "Unsqueeze")
def _reshape(ctx: NodeContext) -> list[SSAValue]:
    # With static shapes every one of these is a reshape to the inferred shape.
    return [ctx.b.method(ctx.arg(0), "reshape", ctx.out_shape())]


@lowering("Transpose")
def _transpose(ctx: NodeContext) -> list[SSAValue]:
    rank = ctx.rank(0)
    perm = ctx.int_list("perm") or list(reversed(range(rank)))
    return [ctx.b.method(ctx.arg(0), "permute", perm)]


@lowering("Concat")
def _concat(ctx: NodeContext) -> list[SSAValue]:
    axis = ctx.axis(int(ctx.attr("axis", 0)), ctx.rank(0))  # type: ignore[arg-type]
    return [ctx.b.call("torch.cat", ctx.args(), dim=axis)]
