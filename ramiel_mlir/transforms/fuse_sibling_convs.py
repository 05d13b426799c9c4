"""
`fuse-sibling-convs`: convolutions that read one input with the same window become one.

An Inception block starts with two to four 1x1 convolutions of the block's input
(the 1x1 branch and the reductions before the 3x3 and 5x5 ones). Each is a
separate call, and each call to PyTorch's oneDNN convolution costs about 18 us
before it computes anything (PyTorch builds the primitive descriptor on every
call). Stacking the siblings' weights along the output channels gives one
convolution that computes all their outputs at once, at the rate of a larger
matrix product; a `Split` along the channel axis hands each former reader its
part, as views of the one result.

Siblings fuse when they are Convs (or `FusedConv`s with the same activation) at the
graph's top level (where weights live: not in clusters or loop bodies), reading the
same input as input 0 with the same attributes (kernel, strides, pads, dilations,
`group` 1) and the same `dfg.*` annotations, and their weights and biases are
constants. The fused weight and bias are the siblings'
concatenated, so every output channel is computed from the same numbers as
before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import (
    DenseArrayBase,
    IntegerAttr,
    ModuleOp,
    NameLoc,
    NoneAttr,
    StringAttr,
    TensorType,
    i64,
)
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

from ramiel_mlir.analysis.cost_model import conv_ints
from ramiel_mlir.analysis.layout import LAYOUT_ATTR, is_conv
from ramiel_mlir.dialects.annotations import PREFIX
from ramiel_mlir.dialects.dfg import GraphOp, NodeOp, NoneOp, WeightOp
from ramiel_mlir.transforms.fold_batchnorm import float_tensor, new_weight
from ramiel_mlir.weights import weight_value

SPLIT_OPSET = 11
"""The Split that hands out the parts: the last opset whose sizes are an attribute."""


def _fusable(node: NodeOp) -> bool:
    """A Conv or FusedConv of one group with a constant weight and a constant or no bias."""
    if not is_conv(node):
        return False
    if not 2 <= len(node.inputs) <= 3 or len(node.outputs) != 1:
        return False
    if not isinstance(node.parent_op(), GraphOp):
        return False  # weights live at the graph's top level only (not in clusters)
    if float_tensor(node.inputs[0]) is None or float_tensor(node.outputs[0]) is None:
        return False
    if conv_ints(node, "group", [1])[0] != 1:
        return False
    if not isinstance(node.inputs[1].owner, WeightOp):
        return False
    return len(node.inputs) < 3 or isinstance(node.inputs[2].owner, WeightOp | NoneOp)


def _signature(node: NodeOp) -> tuple[object, ...]:
    """What siblings must share to fuse: op, attributes, annotations, weight shape but axis 0."""
    weight_type = node.inputs[1].type
    assert isinstance(weight_type, TensorType)
    annotations = {k: v for k, v in node.attributes.items() if k.startswith(PREFIX)}
    return (
        node.op_type.data,
        node.onnx_domain,
        node.opset.value.data,
        tuple(sorted(node.onnx_attrs.items())),
        tuple(sorted(annotations.items())),
        weight_type.element_type,
        tuple(weight_type.get_shape()[1:]),
        node.parent_block(),
    )


def siblings(node: NodeOp) -> list[NodeOp]:
    """The fusable readers of `node`'s input 0 that match it, in block order."""
    if not _fusable(node):
        return []
    key = _signature(node)
    readers = {
        use.operation
        for use in node.inputs[0].uses
        if use.index == 0 and isinstance(use.operation, NodeOp)
    }
    matching = [r for r in readers if _fusable(r) and _signature(r) == key]
    block = node.parent_block()
    assert block is not None
    return sorted(matching, key=block.get_operation_index)


def _bias(node: NodeOp, channels: int) -> np.ndarray:
    """The node's bias, zeros of its weight's type if it has none."""
    if len(node.inputs) == 3 and isinstance(owner := node.inputs[2].owner, WeightOp):
        return weight_value(owner)
    return np.zeros(channels, dtype=weight_value(_weight(node)).dtype)


def _weight(node: NodeOp) -> WeightOp:
    owner = node.inputs[1].owner
    assert isinstance(owner, WeightOp)
    return owner


def fuse(convs: Sequence[NodeOp], rewriter: PatternRewriter) -> None:
    """Replace `convs` (siblings, in block order) by one convolution and a Split."""
    first = convs[0]
    weights = [weight_value(_weight(c)) for c in convs]
    counts = [w.shape[0] for w in weights]
    names = "+".join(c.node_name for c in convs)
    weight = new_weight(
        f"{first.node_name}_siblings_weight", first.inputs[1], np.concatenate(weights)
    )
    bias = new_weight(
        f"{first.node_name}_siblings_bias",
        first.inputs[1],
        np.concatenate([_bias(c, n) for c, n in zip(convs, counts, strict=True)]),
    )
    out_type = first.outputs[0].type
    assert isinstance(out_type, TensorType)
    shape = list(out_type.get_shape())
    shape[1] = sum(counts)
    fused = NodeOp(
        first.op_type.data,
        [first.inputs[0], weight.result, bias.result],
        [TensorType(out_type.element_type, shape)],
        opset=first.opset.value.data,
        attrs=dict(first.onnx_attrs),
        domain=first.onnx_domain,
    )
    fused.location = NameLoc(StringAttr(names), NoneAttr())
    if first_name := first.outputs[0].name_hint:
        fused.outputs[0].name_hint = f"{first_name}_siblings"
    fused.attributes.update((k, v) for k, v in first.attributes.items() if k.startswith(PREFIX))
    attrs: dict[str, Attribute] = {
        "axis": IntegerAttr(1, i64),
        "split": DenseArrayBase.from_list(i64, counts),
    }
    split = NodeOp(
        "Split",
        [fused.outputs[0]],
        [c.outputs[0].type for c in convs],
        opset=SPLIT_OPSET,
        attrs=attrs,
    )
    split.location = NameLoc(StringAttr(f"{names}/split"), NoneAttr())
    if LAYOUT_ATTR in first.attributes:  # the parts are views in the same memory format
        split.attributes[LAYOUT_ATTR] = first.attributes[LAYOUT_ATTR]
    for part, conv in zip(split.outputs, convs, strict=True):
        part.name_hint = conv.outputs[0].name_hint
    rewriter.insert_op([weight, bias, fused, split], InsertPoint.before(first))
    for part, conv in zip(split.outputs, convs, strict=True):
        rewriter.replace_op(conv, [], [part])


class FuseSiblingConvs(RewritePattern):
    """Fuse the first of two or more matching convolutions of one input with the others."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: NodeOp, rewriter: PatternRewriter, /) -> None:
        group = siblings(op)
        if len(group) > 1 and group[0] is op:
            fuse(group, rewriter)


@dataclass(frozen=True)
class FuseSiblingConvsPass(ModulePass):
    """
    Fuse the convolutions that read one input with the same attributes and constant
    weights into one convolution whose outputs a Split hands out.
    """

    name = "fuse-sibling-convs"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier([FuseSiblingConvs()], dce_enabled=False),
        ).rewrite_module(op)
