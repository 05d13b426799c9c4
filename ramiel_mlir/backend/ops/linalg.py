"""Linear algebra ONNX ops beyond MatMul and Gemm: Einsum and Det."""

from __future__ import annotations

from xdsl.ir import SSAValue

from ramiel_mlir.backend.context import NodeContext
from ramiel_mlir.backend.ops import lowering


@lowering("Einsum")
def _einsum(ctx: NodeContext) -> list[SSAValue]:
    """`torch.einsum` takes ONNX's (numpy's) equation syntax, ellipses included."""
    equation = "".join(str(ctx.attr("equation", "")).split())
    if not equation:
        ctx.error("the equation attribute is missing")
    return [ctx.b.call("torch.einsum", equation, *ctx.args())]


@lowering("Det")
def _det(ctx: NodeContext) -> list[SSAValue]:
    """The determinant of each square matrix in the last two axes."""
    return [ctx.b.call("torch.linalg.det", ctx.arg(0))]
