"""
Moving nodes into and out of `dfg.cluster` regions, for the clustering passes.

`dissolve_clusters` turns a clustered graph back into a flat one (nodes in a
topological order, channels replaced by the values they carry);
`build_clusters` puts nodes into one cluster per lane in a given order and adds
a send/recv pair for every value that crosses lanes. Graph outputs are handed
to cluster 0, which runs on the calling thread and yields them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from graphlib import TopologicalSorter

from xdsl.ir import Operation, SSAValue

from ramiel_mlir.dialects import dfg
from ramiel_mlir.dialects.annotations import PARALLEL_ESTIMATE, SERIAL_ESTIMATE, THREADS
from ramiel_mlir.names import unique_name


def is_clustered(graph: dfg.GraphOp) -> bool:
    """Whether the graph's nodes live in clusters."""
    return any(isinstance(op, dfg.ClusterOp) for op in graph.block.ops)


def dissolve_clusters(graph: dfg.GraphOp) -> None:
    """
    Move every node out of its cluster into the graph, in a topological order.

    The lanes' thread plan goes with the clusters, so nodes lose their own `dfg.threads`.
    """
    clusters = [op for op in graph.block.ops if isinstance(op, dfg.ClusterOp)]
    if not clusters:
        return
    _bypass_channels(clusters)
    nodes = [op for c in clusters for op in c.block.ops if dfg.is_node(op)]
    for node in topological_order(nodes):
        THREADS.remove(node)
        node.detach()
        graph.block.insert_op_before(node, clusters[0])
    for cluster in clusters:
        for op in reversed(list(cluster.block.ops)):
            op.detach()
            op.erase(safe_erase=False)
        cluster.detach()
        cluster.erase()


def _bypass_channels(clusters: Sequence[dfg.ClusterOp]) -> None:
    """Make readers use sent values and cluster results' readers use yielded ones."""
    sent = {
        op.channel.data: op.value
        for cluster in clusters
        for op in cluster.block.ops
        if isinstance(op, dfg.SendOp)
    }
    for cluster in clusters:
        for op in cluster.block.ops:
            if isinstance(op, dfg.RecvOp):
                op.result.replace_all_uses_with(sent[op.channel.data])
        terminator = cluster.block.last_op
        assert isinstance(terminator, dfg.YieldOp)
        for result, value in zip(cluster.outputs, terminator.values, strict=True):
            result.replace_all_uses_with(value)


def topological_order(nodes: Sequence[Operation]) -> list[Operation]:
    """`nodes` ordered so that each comes after the nodes it reads (breadth-first, stable)."""
    producers: dict[SSAValue, Operation] = {r: node for node in nodes for r in node.results}
    sorter = TopologicalSorter[Operation]()
    for node in nodes:
        sorter.add(node)
    for node in nodes:
        for producer in {producers[v] for v in node.operands if v in producers}:
            sorter.add(node, producer)
    return list(sorter.static_order())


@dataclass
class _Channels:
    """The send/recv pairs of values that cross lanes, created on demand."""

    clusters: list[dfg.ClusterOp]
    lane_of: dict[Operation, int]
    names: set[str] = field(default_factory=set[str])
    channels: dict[SSAValue, str] = field(default_factory=dict[SSAValue, str])
    received: dict[tuple[SSAValue, int], SSAValue] = field(
        default_factory=dict[tuple[SSAValue, int], SSAValue]
    )

    def local(self, value: SSAValue, lane: int, before: Operation | None) -> SSAValue:
        """`value` as seen on `lane`: itself, or a recv placed before `before`."""
        producer = value.owner
        if not isinstance(producer, Operation) or not dfg.is_node(producer):
            return value
        if self.lane_of[producer] == lane:
            return value
        key = (value, lane)
        if key not in self.received:
            recv = dfg.RecvOp(self._send(value, producer), value.type)
            recv.result.name_hint = value.name_hint
            block = self.clusters[lane].block
            if before is None:
                block.add_op(recv)
            else:
                block.insert_op_before(recv, before)
            self.received[key] = recv.result
        return self.received[key]

    def _send(self, value: SSAValue, producer: Operation) -> str:
        """The channel carrying `value`, sent right after its producer."""
        if value not in self.channels:
            name = unique_name(value.name_hint or "v", self.names)
            self.channels[value] = name
            block = self.clusters[self.lane_of[producer]].block
            block.insert_op_after(dfg.SendOp(value, name), producer)
        return self.channels[value]


def build_clusters(
    graph: dfg.GraphOp, lanes: Sequence[Sequence[Operation]], threads: Sequence[int]
) -> None:
    """
    Put the nodes of a flat graph into one cluster per lane, in the given orders.

    A value read on another lane than the one computing it is sent right after
    it is computed and received right before its first reader on each lane.
    Graph outputs computed off lane 0 are received on lane 0, which yields them,
    and so are the parts of a `dfg.join` (hypercluster), which follows the clusters.
    """
    if not lanes:  # a graph without nodes still has lane 0, which yields the outputs
        lanes, threads = [[]], [threads[0] if threads else 1]
    clusters = [dfg.ClusterOp(index, threads=threads[index]) for index in range(len(lanes))]
    lane_of = {node: index for index, lane in enumerate(lanes) for node in lane}
    channels = _Channels(clusters, lane_of)
    for index, lane in enumerate(lanes):
        for node in lane:
            node.detach()
            clusters[index].block.add_op(node)
    for index, lane in enumerate(lanes):
        for node in lane:
            for position, operand in enumerate(node.operands):
                node.operands[position] = channels.local(operand, index, node)
    _yield_exits(graph, clusters, channels, threads[0])


def _yield_exits(
    graph: dfg.GraphOp, clusters: list[dfg.ClusterOp], channels: _Channels, threads: int
) -> None:
    """
    Make lane 0 yield what leaves the clusters and put the clusters into the graph.

    What leaves them: the graph outputs and the parts of any `dfg.join`, which
    stands after the clusters (lane 0 runs it).
    """
    output = graph.block.last_op
    assert isinstance(output, dfg.OutputOp)
    sinks: list[Operation] = [op for op in graph.block.ops if isinstance(op, dfg.JoinOp)]
    sinks.append(output)
    exits = list(
        dict.fromkeys(v for op in sinks for v in op.operands if not isinstance(v.owner, dfg.JoinOp))
    )
    results = [channels.local(value, 0, None) for value in exits]
    clusters[0].block.add_op(dfg.YieldOp(results))
    for cluster in clusters[1:]:
        cluster.block.add_op(dfg.YieldOp())
    # Cluster 0 yields them: give it result types now they are known.
    lane0 = dfg.ClusterOp(
        0, [v.type for v in results], clusters[0].detach_region(0), threads=threads
    )
    for cluster in [lane0, *clusters[1:]]:
        graph.block.insert_op_before(cluster, sinks[0])
    for result, value in zip(lane0.outputs, results, strict=True):
        result.name_hint = value.name_hint
    exit_results = dict(zip(exits, lane0.outputs, strict=True))
    for sink in sinks:
        for position, operand in enumerate(sink.operands):
            if operand in exit_results:
                sink.operands[position] = exit_results[operand]


def annotate_estimate(graph: dfg.GraphOp, serial: float, parallel: float) -> None:
    """
    Record the schedule's estimates (microseconds) on the graph. A parallel estimate
    within float noise of the serial one (the same costs added in another order) is
    the serial one, so that rounding cannot put it 0.1 us above.
    """
    if math.isclose(parallel, serial, rel_tol=1e-9):
        parallel = serial
    SERIAL_ESTIMATE.set(graph, round(serial, 1))
    PARALLEL_ESTIMATE.set(graph, round(parallel, 1))
