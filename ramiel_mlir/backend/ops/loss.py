"""
ONNX losses: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss as `F.nll_loss`.

Both follow the same rule as PyTorch's `nll_loss`: each element's loss is
-input[n, target, d...] times the class weight (1 without weights, 0 for
`ignore_index`), and `mean` divides the sum by the sum of those weights.
"""

from __future__ import annotations

from typing import Any

from xdsl.ir import SSAValue

from ramiel_mlir.backend.context import NodeContext
from ramiel_mlir.backend.ops import lowering
from ramiel_mlir.tensors import torch_dtype_name

REDUCTIONS = ("none", "sum", "mean")


def _nll(ctx: NodeContext, log_probabilities: SSAValue) -> SSAValue:
    """`F.nll_loss` with the node's target, weight, ignore_index and reduction."""
    reduction = str(ctx.attr("reduction", "mean"))
    if reduction not in REDUCTIONS:
        ctx.unsupported(f"reduction '{reduction}'")
    if ctx.rank(0) < 2:
        ctx.error("the input needs a class axis (rank 2 or more)")
    target = ctx.arg(1)
    if torch_dtype_name(ctx.in_type(1).get_element_type()) != "int64":
        target = ctx.b.method(target, "long", inline=True)
    kwargs: dict[str, Any] = {}
    if ctx.has(2):
        kwargs["weight"] = ctx.arg(2)
    ignore_index = ctx.attr_int("ignore_index")
    if ignore_index is not None:
        kwargs["ignore_index"] = ignore_index
    if reduction != "mean":
        kwargs["reduction"] = reduction
    return ctx.b.call("F.nll_loss", log_probabilities, target, **kwargs)


@lowering("NegativeLogLikelihoodLoss")
def _negative_log_likelihood_loss(ctx: NodeContext) -> list[SSAValue]:
    return [_nll(ctx, ctx.arg(0))]


@lowering("SoftmaxCrossEntropyLoss")
def _softmax_cross_entropy_loss(ctx: NodeContext) -> list[SSAValue]:
    """The NLL loss of the log-softmax over the class axis (1); its log-probabilities second."""
    log_probabilities = ctx.b.call("torch.log_softmax", ctx.arg(0), dim=1)
    log_probabilities.name_hint = "log_prob"
    return [_nll(ctx, log_probabilities), log_probabilities][: len(ctx.node.outputs)]
