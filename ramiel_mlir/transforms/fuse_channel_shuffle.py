"""
`fuse-channel-shuffle`: ShuffleNet's channel shuffle, three nodes, becomes one Gather.

Exporters write `channel_shuffle(x, G)` as a Reshape that splits the image's channels
into (N, G, C/G, H, W), a Transpose of those two axes and a Reshape that merges them
back. The generated code then permutes the channels with a copy of a 5-D view, PyTorch's
generic strided copy. One `Gather` of the channels by the constant permutation says the
same in a single standard ONNX node (ONNX Runtime runs it, `--verify` still compares it),
and the lowering runs it as `torch.channel_shuffle(x, G)`, whose own kernel is 3x to 5x
faster than the copy in either memory format (`analysis/layout.py:shuffle_groups`).

The three nodes fuse at the graph's top level (where weights live), when the Transpose
and the first Reshape have no other reader; the values are the same numbers, moved.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, TensorType, i64
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint

from ramiel_mlir.analysis.layout import LAYOUT_ATTR, channel_reshape, shuffle_permutation
from ramiel_mlir.dialects.dfg import GraphOp, NodeOp
from ramiel_mlir.transforms.fold_batchnorm import new_weight, sole_graph_node


def _sole_producer(node: NodeOp, op_type: str) -> NodeOp | None:
    """The graph-level `op_type` node that produces `node`'s input 0 for `node` alone."""
    producer = sole_graph_node(node.inputs[0])
    return producer if producer is not None and producer.op_type.data == op_type else None


def shuffle_nodes(merge: NodeOp) -> tuple[NodeOp, NodeOp, int] | None:
    """
    The split Reshape, the Transpose and the group count of the channel shuffle that
    `merge` (a Reshape back to an image) ends, if it ends one that can fuse.
    """
    if merge.op_type.data != "Reshape" or not channel_reshape(merge):
        return None
    if not isinstance(merge.parent_op(), GraphOp):
        return None  # weights live at the graph's top level only (not in clusters)
    merged = merge.outputs[0].type
    if not isinstance(merged, TensorType) or merged.get_num_dims() != 4:
        return None
    transpose = _sole_producer(merge, "Transpose")
    if transpose is None or transpose.ints_attr("perm") != [0, 2, 1, 3, 4]:
        return None
    split = _sole_producer(transpose, "Reshape")
    if split is None or not channel_reshape(split) or len(split.inputs) != 2:
        return None
    parts = split.outputs[0].type
    if not isinstance(parts, TensorType) or parts.get_num_dims() != 5:
        return None
    if split.inputs[0].type != merged:
        return None  # the shuffle gives back an image of the shape it split
    return split, transpose, parts.get_shape()[1]


class FuseChannelShuffle(RewritePattern):
    """Replace a channel shuffle's three nodes, found from its last, by one Gather."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: NodeOp, rewriter: PatternRewriter, /) -> None:
        found = shuffle_nodes(op)
        if found is None:
            return
        split, transpose, groups = found
        merged = op.outputs[0].type
        assert isinstance(merged, TensorType)
        channels = merged.get_shape()[1]
        indices = new_weight(
            f"{op.node_name}_shuffle", split.inputs[1], shuffle_permutation(channels, groups)
        )
        gather = NodeOp(
            "Gather",
            [split.inputs[0], indices.result],
            [merged],
            opset=op.opset.value.data,  # Gather means the same in every opset
            attrs={"axis": IntegerAttr(1, i64)},
        )
        gather.location = op.location
        gather.outputs[0].name_hint = op.outputs[0].name_hint
        if LAYOUT_ATTR in op.attributes:
            gather.attributes[LAYOUT_ATTR] = op.attributes[LAYOUT_ATTR]
        rewriter.insert_op([indices, gather], InsertPoint.before(op))
        rewriter.replace_op(op, [], [gather.outputs[0]])
        rewriter.erase_op(transpose)
        rewriter.erase_op(split)


@dataclass(frozen=True)
class FuseChannelShufflePass(ModulePass):
    """
    Replace each channel shuffle written as Reshape, Transpose, Reshape by one Gather of
    the channels by the constant permutation (run as `torch.channel_shuffle`).
    """

    name = "fuse-channel-shuffle"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier([FuseChannelShuffle()], dce_enabled=False),
        ).rewrite_module(op)
