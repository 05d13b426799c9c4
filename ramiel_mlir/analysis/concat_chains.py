"""
Chains of Concats that grow one tensor: DenseNet's dense blocks.

In a dense block every layer concatenates the block's features so far with its new
ones, so `torch.cat` copies the whole prefix again at every layer: the copies grow with
the square of the layer count. Exports write it two ways: each Concat reads the one
before, `y_k = Concat(y_{k-1}, f_k)` (Caffe2's DenseNets, the project's), or each
concatenates the whole list again, `y_k = Concat(x, f_1, ..., f_k)` (torchvision's).
Either way one buffer of the last Concat's shape holds the chain: the first Concat
writes its inputs into it, each later one writes only its new inputs behind the
prefix, and each result is a view of the buffer's leading part
(`torch.cat(..., out=buffer.narrow(...))`, `buffer.narrow(...)`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from xdsl.dialects.builtin import TensorType

from ramiel_mlir.analysis.cost_model import nbytes
from ramiel_mlir.analysis.layout import node_layout
from ramiel_mlir.dialects import dfg

MIN_PREFIX_BYTES = 128 * 1024
"""
The least prefix a link must save copying for its chain to include it. Writing into
the buffer costs two calls more a link (`narrow` for the window and for the view,
about 2.5 us), and the BatchNormalization after it reads a strided view. Measured (2
threads, channels-last, a link and the BatchNormalization after it): a 64 KiB prefix
(64 channels of 16x16) 4.99 us as `torch.cat` against 7.24 in the buffer, 32 KiB 3.41
against 6.04; 192 KiB 23.4 against 22.4, 400 KiB 27.8 against 20.1, 1.2 MiB 46.7 against
37.9. A chain starts at the Concat before the first link whose prefix reaches this.
"""


@dataclass(frozen=True)
class ChainLink:
    """One Concat of a chain: the chain's first and last Concat, and where its new inputs go."""

    first: dfg.NodeOp
    """The Concat that makes the buffer and writes all its inputs into it."""
    last: dfg.NodeOp
    """The Concat whose result is the whole buffer (its shape is the buffer's)."""
    axis: int
    """The non-negative axis of every Concat of the chain."""
    offset: int
    """Where along `axis` this Concat's new inputs start: 0 for `first`, else the prefix."""
    new_inputs: int
    """The index of this Concat's first input that is not in the prefix (0 for `first`)."""


def _axis(node: dfg.NodeOp) -> int | None:
    """The non-negative axis of a default-domain Concat with a static-shaped result, else None."""
    if node.op_type.data != "Concat" or node.onnx_domain != dfg.DEFAULT_DOMAIN:
        return None
    result_type = node.outputs[0].type
    if not isinstance(result_type, TensorType) or not result_type.has_static_shape():
        return None
    rank = result_type.get_num_dims()
    axis = node.int_attr("axis", 0)
    return axis % rank if rank and -rank <= axis < rank else None


def _extension(node: dfg.NodeOp, user: dfg.NodeOp) -> int | None:
    """
    Where `user`'s inputs beyond `node`'s result start, if `user` is a Concat along
    `node`'s axis, in its block and memory format, whose leading inputs give `node`'s
    result: `node`'s
    result itself (then index 1), or `node`'s inputs in order (then their count);
    else None.
    """
    result = node.outputs[0]
    if _axis(user) != _axis(node) or user.parent_block() is not node.parent_block():
        return None
    if node_layout(user) != node_layout(node):
        return None  # the buffer has one memory format
    if user.inputs[0] is result:
        return None if result in user.inputs[1:] else 1
    count = len(node.inputs)
    if len(user.inputs) > count and tuple(user.inputs[:count]) == tuple(node.inputs):
        return count
    return None


def _successor(node: dfg.NodeOp) -> tuple[dfg.NodeOp, int] | None:
    """
    The next link after `node`, and where its new inputs start: the one Concat that
    extends `node`'s result with the fewest inputs (`_extension`). None if there is no
    such Concat, or more than one (two chains cannot share a prefix).
    """
    candidates: set[dfg.NodeOp] = set()
    for value in (node.outputs[0], *node.inputs[:1]):
        candidates.update(
            use.operation for use in value.uses if isinstance(use.operation, dfg.NodeOp)
        )
    found: list[tuple[int, dfg.NodeOp, int]] = []
    for user in candidates - {node}:
        start = _extension(node, user)
        if start is not None:
            found.append((len(user.inputs) - start, user, start))
    if not found:
        return None
    fewest = min(added for added, _, _ in found)
    nearest = [(user, start) for added, user, start in found if added == fewest]
    return nearest[0] if len(nearest) == 1 else None


def _size(node: dfg.NodeOp, axis: int) -> int:
    result_type = node.outputs[0].type
    assert isinstance(result_type, TensorType)
    return result_type.get_shape()[axis]


def concat_chains(nodes: Iterable[dfg.NodeOp]) -> dict[dfg.NodeOp, ChainLink]:
    """
    Every Concat of `nodes` (a graph's, or a cluster's, at the top level) that is a link
    of a chain of two or more whose later links save copying `MIN_PREFIX_BYTES` or more,
    with its place in the chain. Linear in the Concats and the uses of their results
    and first inputs.
    """
    nodes = [
        node
        for node in nodes
        if isinstance(node.parent_op(), dfg.GraphOp | dfg.ClusterOp) and _axis(node) is not None
    ]
    links: dict[dfg.NodeOp, ChainLink] = {}
    successor = {node: _successor(node) for node in nodes}
    # A Concat that extends two others (a Concat of one and the other's inputs) joins neither.
    predecessors = Counter(after for after, _ in filter(None, successor.values()))
    for node, after in successor.items():
        if after is not None and predecessors[after[0]] > 1:
            successor[node] = None
    starts = set(nodes) - {after for after, _ in filter(None, successor.values())}
    for node in nodes:
        if node not in starts:
            continue
        axis = _axis(node)
        assert axis is not None
        chain, new_inputs = [node], [0]
        while (after := successor.get(chain[-1])) is not None:
            chain.append(after[0])
            new_inputs.append(after[1])
        # Links early in a chain save small copies: start where the saving pays.
        saving = [
            i for i in range(1, len(chain)) if nbytes(chain[i - 1].outputs[0]) >= MIN_PREFIX_BYTES
        ]
        if not saving:
            continue
        chain, new_inputs = chain[saving[0] - 1 :], [0, *new_inputs[saving[0] :]]
        offsets = [0] + [_size(link, axis) for link in chain[:-1]]
        for link, offset, first_new in zip(chain, offsets, new_inputs, strict=True):
            links[link] = ChainLink(chain[0], chain[-1], axis, offset, first_new)
    return links
