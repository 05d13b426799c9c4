"""The `clone` pass: recompute cheap values in each lane instead of waiting for them."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import SSAValue
from xdsl.passes import ModulePass

from ramiel_mlir.analysis.graph import graph_edge_cost, senders
from ramiel_mlir.dialects import dfg
from ramiel_mlir.transforms.canonicalization_patterns.dfg import (
    cheap_producer,
    clone_in_place_of,
    is_graph_level,
    operands_at,
)


def clone_graph(graph: dfg.GraphOp, threshold: float) -> None:
    """
    One sweep over each cluster in program order: a recv whose producer is cheap
    and whose inputs this lane already has becomes a copy of the producer; then
    sends nobody receives are erased. O(V + E).
    """
    sends = senders(graph)
    received: set[str] = set()
    for cluster in [op for op in graph.block.ops if isinstance(op, dfg.ClusterOp)]:
        local: dict[SSAValue, SSAValue] = {}  # value of another lane -> its copy here

        def available(value: SSAValue, local: dict[SSAValue, SSAValue] = local) -> SSAValue | None:
            return value if is_graph_level(value, graph) else local.get(value)

        for op in list(cluster.block.ops):
            if not isinstance(op, dfg.RecvOp):
                continue
            send = sends[op.channel.data]
            producer = cheap_producer(send, threshold)
            operands = operands_at(producer, available) if producer is not None else None
            if producer is None or operands is None:
                local[send.value] = op.result
                received.add(op.channel.data)
            else:
                local[send.value] = clone_in_place_of(op, producer, send.value, operands)
    for channel, send in sends.items():
        if channel not in received:
            send.detach()
            send.erase()


@dataclass(frozen=True)
class ClonePass(ModulePass):
    """
    Duplicate cheap nodes into the lanes that read them, instead of communicating.

    A node whose `cost` is at most `threshold` microseconds (by default the
    graph's edge cost: recomputing is then cheaper than a hand-over), that is
    deterministic, and whose inputs the reading lane already has, is cloned into
    that lane; sends nobody receives are erased. The same rewrites are dfg's
    canonicalization patterns, so `canonicalize` does them too (slower: it looks
    the channels up per match). Run `dce` after it to remove originals that
    became dead.
    """

    name = "clone"

    threshold: float | None = None
    """Microseconds; by default the graph's `edge_cost`."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for graph in op.ops:
            if isinstance(graph, dfg.GraphOp):
                limit = self.threshold if self.threshold is not None else graph_edge_cost(graph)
                clone_graph(graph, limit)
