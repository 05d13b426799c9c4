"""
`fuse-conv-activation`: a Conv and the Relu, Clip or LeakyRelu after it become one `FusedConv`.

The fused node is ONNX Runtime's contrib operator `com.microsoft::FusedConv`
(`ramiel_mlir.onnx.contrib`): the Conv's inputs and attributes, plus `activation`
and `activation_params`. The generated code runs it as one oneDNN call with the
activation as a post-op where `prepack-weights` chose oneDNN, and otherwise as the
convolution followed by the activation in place on its result, which no one else
reads. Either way the activation's pass over the tensor and its allocation go away,
and the clustering passes see one node.

A pair fuses when the Conv's result has no other reader, both are in the same block,
and the activation's parameters are compile-time constants. Relu, Clip and LeakyRelu
are exact elementwise maps, so the fused code computes the unfused code's numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import DenseArrayBase, ModuleOp, StringAttr, f32
from xdsl.ir import Attribute
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint

from ramiel_mlir.dialects.annotations import PREFIX
from ramiel_mlir.dialects.dfg import DEFAULT_DOMAIN, NodeOp, NoneOp
from ramiel_mlir.onnx.contrib import FUSED_ACTIVATIONS, FUSED_CONV, FUSED_CONV_OPSET, MS_DOMAIN
from ramiel_mlir.transforms.fold_batchnorm import constant


def activation_params(node: NodeOp) -> list[float] | None:
    """The `activation_params` of a fusable activation node, None if they are not constant."""
    match node.op_type.data:
        case "Relu":
            return []
        case "LeakyRelu":
            return [node.number_attr("alpha", 0.01)]
        case "Clip" if node.opset.value.data < 11:
            return [
                node.number_attr("min", -3.4028234663852886e38),
                node.number_attr("max", 3.4028234663852886e38),
            ]
        case "Clip":
            bounds: list[float] = []
            for index in (1, 2):
                if index >= len(node.inputs) or isinstance(node.inputs[index].owner, NoneOp):
                    return None  # an open bound: not worth a case of its own
                value = constant(node.inputs[index])
                if value is None or value.size != 1:
                    return None
                bounds.append(float(value.reshape(-1)[0]))
            return bounds
        case _:
            return None


class FuseConvActivation(RewritePattern):
    """Replace `activation(Conv(...))` by one `FusedConv` when the Conv has no other reader."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: NodeOp, rewriter: PatternRewriter, /) -> None:
        if op.onnx_domain != DEFAULT_DOMAIN or op.op_type.data not in FUSED_ACTIVATIONS:
            return
        if not op.inputs or len(op.outputs) != 1:
            return
        conv = op.inputs[0].owner
        if not isinstance(conv, NodeOp) or conv.op_type.data != "Conv":
            return
        if conv.onnx_domain != DEFAULT_DOMAIN or not conv.outputs[0].has_one_use():
            return
        if conv.parent_block() is not op.parent_block():
            return
        if conv.outputs[0].type != op.outputs[0].type:
            return
        params = activation_params(op)
        if params is None:
            return
        attrs: dict[str, Attribute] = dict(conv.onnx_attrs)
        attrs["activation"] = StringAttr(op.op_type.data)
        if params:
            attrs["activation_params"] = DenseArrayBase.from_list(f32, params)
        fused = NodeOp(
            FUSED_CONV,
            list(conv.inputs),
            [op.outputs[0].type],
            opset=FUSED_CONV_OPSET,
            attrs=attrs,
            domain=MS_DOMAIN,
        )
        fused.location = conv.location
        fused.attributes.update(
            (name, value) for name, value in conv.attributes.items() if name.startswith(PREFIX)
        )
        fused.outputs[0].name_hint = op.outputs[0].name_hint
        rewriter.insert_op(fused, InsertPoint.before(conv))
        rewriter.replace_op(op, [], [fused.outputs[0]])
        rewriter.erase_op(conv)


@dataclass(frozen=True)
class FuseConvActivationPass(ModulePass):
    """
    Fuse each Conv with the Relu, Clip or LeakyRelu that is its only reader into one
    `com.microsoft::FusedConv` node (ONNX Runtime's contrib operator).
    """

    name = "fuse-conv-activation"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier([FuseConvActivation()], dce_enabled=False),
        ).rewrite_module(op)
