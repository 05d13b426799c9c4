"""
Chains of Concats that grow one tensor: DenseNet's dense blocks.

In a dense block every layer concatenates the block's tensor so far with its new
features, `y_k = Concat(y_{k-1}, f_k)`, so `torch.cat` copies the whole prefix again at
every layer: the copies grow with the square of the layer count. When each Concat's
first input is the previous Concat of the chain, one buffer of the last Concat's shape
holds them all: the first Concat writes its inputs into it, each later one writes only
its new inputs behind the prefix, and each result is a view of the buffer's leading
part (`torch.cat(..., out=buffer.narrow(...))`, `buffer.narrow(...)`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from xdsl.dialects.builtin import TensorType

from ramiel_mlir.analysis.cost_model import nbytes
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


def _successor(node: dfg.NodeOp, axis: int) -> dfg.NodeOp | None:
    """
    The one Concat along `axis`, in the same block, whose first input is `node`'s result
    (and no other input is): the next link after `node`. None if there is no such
    Concat, or more than one (two chains cannot share a prefix).
    """
    result = node.outputs[0]
    found: list[dfg.NodeOp] = []
    for use in result.uses:
        user = use.operation
        if (
            isinstance(user, dfg.NodeOp)
            and use.index == 0
            and _axis(user) == axis
            and user.parent_block() is node.parent_block()
            and result not in user.inputs[1:]
        ):
            found.append(user)
    return found[0] if len(found) == 1 else None


def _size(node: dfg.NodeOp, axis: int) -> int:
    result_type = node.outputs[0].type
    assert isinstance(result_type, TensorType)
    return result_type.get_shape()[axis]


def concat_chains(nodes: Iterable[dfg.NodeOp]) -> dict[dfg.NodeOp, ChainLink]:
    """
    Every Concat of `nodes` (a graph's, or a cluster's, at the top level) that is a link
    of a chain of two or more whose later links save copying `MIN_PREFIX_BYTES` or more,
    with its place in the chain. Linear in the Concats.
    """
    nodes = [
        node
        for node in nodes
        if isinstance(node.parent_op(), dfg.GraphOp | dfg.ClusterOp) and _axis(node) is not None
    ]
    links: dict[dfg.NodeOp, ChainLink] = {}
    starts = set(nodes)
    for node in nodes:
        axis = _axis(node)
        assert axis is not None
        after = _successor(node, axis)
        if after is not None:
            starts.discard(after)
    for node in nodes:
        if node not in starts:
            continue
        axis = _axis(node)
        assert axis is not None
        chain = [node]
        while (after := _successor(chain[-1], axis)) is not None:
            chain.append(after)
        # Links early in a chain save small copies: start where the saving pays.
        saving = [
            i for i in range(1, len(chain)) if nbytes(chain[i - 1].outputs[0]) >= MIN_PREFIX_BYTES
        ]
        if not saving:
            continue
        chain = chain[saving[0] - 1 :]
        offsets = [0] + [_size(link, axis) for link in chain[:-1]]
        for link, offset in zip(chain, offsets, strict=True):
            links[link] = ChainLink(chain[0], chain[-1], axis, offset)
    return links
