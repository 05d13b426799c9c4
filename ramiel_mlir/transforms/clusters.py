"""
Moving nodes into and out of `dfg.cluster` regions, for the clustering passes.

`dissolve_clusters` turns a clustered graph back into a flat one (nodes in a
topological order, channels replaced by the values they carry);
`build_clusters` puts nodes into one cluster per lane in a given order and adds
a send/recv pair for every value that crosses lanes. Graph outputs are handed
to cluster 0, which runs on the calling thread and yields them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.dialects.builtin import FloatAttr, TensorType, f64
from xdsl.ir import Operation, SSAValue

from ramiel_mlir.dialects import dfg

DEFAULT_COST = 1.0
"""The cost of a node that `estimate-cost` has not annotated (microseconds)."""


def graph_nodes(graph: dfg.GraphOp) -> list[dfg.NodeOp]:
    """The nodes of a flat graph, in program (topological) order."""
    return [op for op in graph.block.ops if isinstance(op, dfg.NodeOp)]


def node_cost(node: dfg.NodeOp) -> float:
    """The node's `cost` attribute, or `DEFAULT_COST` when it has none."""
    return node.cost.value.data if node.cost is not None else DEFAULT_COST


def edge_cost(graph: dfg.GraphOp, default: float) -> float:
    """The graph's measured cost of handing a value between lanes, or `default`."""
    attr = graph.attributes.get("edge_cost")
    return attr.value.data if isinstance(attr, FloatAttr) else default


@dataclass(frozen=True)
class TaskGraph:
    """The nodes of a flat graph as tasks: costs and successor lists by index."""

    nodes: list[dfg.NodeOp]
    costs: list[float]
    succs: list[list[int]]

    @staticmethod
    def of(graph: dfg.GraphOp) -> TaskGraph:
        """The task graph of a flat `graph` (data edges from SSA uses)."""
        nodes = graph_nodes(graph)
        index = {node: i for i, node in enumerate(nodes)}
        succs: list[list[int]] = []
        for node in nodes:
            users = {
                index[use.operation]
                for result in node.outputs
                for use in result.uses
                if use.operation in index
            }
            succs.append(sorted(users))
        return TaskGraph(nodes, [node_cost(n) for n in nodes], succs)


def is_clustered(graph: dfg.GraphOp) -> bool:
    """Whether the graph's nodes live in clusters."""
    return any(isinstance(op, dfg.ClusterOp) for op in graph.block.ops)


def dissolve_clusters(graph: dfg.GraphOp) -> None:
    """Move every node out of its cluster into the graph, in a topological order."""
    clusters = [op for op in graph.block.ops if isinstance(op, dfg.ClusterOp)]
    if not clusters:
        return
    sent: dict[str, SSAValue] = {}
    for cluster in clusters:
        for op in cluster.block.ops:
            if isinstance(op, dfg.SendOp):
                sent[op.channel.data] = op.value
    for cluster in clusters:
        for op in list(cluster.block.ops):
            if isinstance(op, dfg.RecvOp):
                op.result.replace_all_uses_with(sent[op.channel.data])
    for cluster in clusters:
        terminator = cluster.block.last_op
        assert isinstance(terminator, dfg.YieldOp)
        for result, value in zip(cluster.outputs, terminator.values, strict=True):
            result.replace_all_uses_with(value)
    # Kahn's algorithm: a node is placed once every node it reads is placed.
    nodes = [op for c in clusters for op in c.block.ops if isinstance(op, dfg.NodeOp)]
    producers = {r: n for n in nodes for r in n.outputs}
    waiting = {n: len({producers[v] for v in n.inputs if v in producers}) for n in nodes}
    readers: dict[dfg.NodeOp, list[dfg.NodeOp]] = {n: [] for n in nodes}
    for node in nodes:
        for producer in {producers[v] for v in node.inputs if v in producers}:
            readers[producer].append(node)
    ready = [n for n in nodes if not waiting[n]]
    ordered: list[dfg.NodeOp] = []
    while ready:
        node = ready.pop(0)
        ordered.append(node)
        for reader in readers[node]:
            waiting[reader] -= 1
            if not waiting[reader]:
                ready.append(reader)
    anchor = clusters[0]
    for node in ordered:
        node.detach()
        graph.block.insert_op_before(node, anchor)
    for cluster in clusters:
        for op in reversed(list(cluster.block.ops)):
            op.detach()
            op.erase(safe_erase=False)
        cluster.detach()
        cluster.erase()


def _channel_name(value: SSAValue, taken: set[str]) -> str:
    base = value.name_hint or "v"
    name, suffix = base, 1
    while name in taken:
        name, suffix = f"{base}_{suffix}", suffix + 1
    taken.add(name)
    return name


def build_clusters(
    graph: dfg.GraphOp, lanes: Sequence[Sequence[dfg.NodeOp]], threads: Sequence[int]
) -> None:
    """
    Put the nodes of a flat graph into one cluster per lane, in the given orders.

    A value read on another lane than the one computing it is sent right after
    it is computed and received right before its first reader on each lane.
    Graph outputs computed off lane 0 are received on lane 0, which yields them.
    """
    lane_of = {node: index for index, lane in enumerate(lanes) for node in lane}
    output = graph.block.last_op
    assert isinstance(output, dfg.OutputOp)
    clusters = [
        dfg.ClusterOp(index, threads=threads[index]) for index in range(len(lanes))
    ]
    taken: set[str] = set()
    channels: dict[SSAValue, str] = {}
    received: dict[tuple[SSAValue, int], SSAValue] = {}

    def local(value: SSAValue, lane: int, before: Operation | None) -> SSAValue:
        """`value` as seen on `lane`: itself, or a recv placed before `before`."""
        producer = value.owner
        if not isinstance(producer, dfg.NodeOp) or lane_of[producer] == lane:
            return value
        key = (value, lane)
        if key not in received:
            if value not in channels:
                channels[value] = _channel_name(value, taken)
                producer_cluster = clusters[lane_of[producer]]
                send = dfg.SendOp(value, channels[value])
                producer_cluster.block.insert_op_after(send, producer)
            assert isinstance(value.type, TensorType)
            recv = dfg.RecvOp(channels[value], value.type)
            recv.result.name_hint = value.name_hint
            block = clusters[lane].block
            if before is None:
                block.add_op(recv)
            else:
                block.insert_op_before(recv, before)
            received[key] = recv.result
        return received[key]

    for index, lane in enumerate(lanes):
        for node in lane:
            node.detach()
            clusters[index].block.add_op(node)
    for index, lane in enumerate(lanes):
        for node in lane:
            for position, operand in enumerate(node.inputs):
                node.operands[position] = local(operand, index, node)
    results = [local(value, 0, None) for value in output.outputs]
    clusters[0].block.add_op(dfg.YieldOp(results))
    for index in range(1, len(lanes)):
        clusters[index].block.add_op(dfg.YieldOp())
    # Cluster 0 yields the graph outputs: give it result types now they are known.
    lane0 = dfg.ClusterOp(
        0, [v.type for v in results], clusters[0].detach_region(0), threads=threads[0]
    )
    for cluster in [lane0, *clusters[1:]]:
        graph.block.insert_op_before(cluster, output)
    for position, result in enumerate(lane0.outputs):
        result.name_hint = results[position].name_hint
        output.operands[position] = result


def annotate_estimate(graph: dfg.GraphOp, serial: float, parallel: float) -> None:
    """Record the schedule's estimates (microseconds) on the graph."""
    graph.attributes["serial_estimate"] = FloatAttr(round(serial, 1), f64)
    graph.attributes["parallel_estimate"] = FloatAttr(round(parallel, 1), f64)
