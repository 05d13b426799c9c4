"""
The cost model's timeline of a planned graph: when each node is expected to run, on which lane.

`planned_timeline` reads what the passes wrote (`dfg.cost`, `dfg.threaded_cost`,
the lanes' and nodes' intra-op thread counts, `dfg.edge_cost`) and replays the
lanes' orders with `simulate`, the estimate `merge-clusters` schedules by: a node
starts when its lane is free and its inputs have arrived (an edge's cost later
from another lane), and worker lanes start one hand-over late. A flat graph is
one lane in program order. A node that runs with more than one intra-op thread
costs its `dfg.threaded_cost`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from xdsl.ir import Operation

from ramiel_mlir.analysis.graph import (
    build_dag,
    data_successors,
    graph_edge_cost,
    graph_nodes,
    node_cost,
    receivers,
)
from ramiel_mlir.analysis.scheduling import simulate
from ramiel_mlir.dialects import dfg
from ramiel_mlir.dialects.annotations import THREADED_COST, THREADS


@dataclass(frozen=True)
class PlannedNode:
    """One node of the planned timeline (microseconds from the call's start)."""

    name: str
    op_type: str
    lane: int
    start: float
    duration: float


def _lane_threads(graph: dfg.GraphOp) -> dict[Operation, int]:
    """The intra-op thread count each clustered node runs with."""
    threads: dict[Operation, int] = {}
    for cluster in graph.block.ops:
        if not isinstance(cluster, dfg.ClusterOp):
            continue
        lane = cluster.threads.value.data if cluster.threads is not None else 1
        for node in graph_nodes(cluster):
            own = THREADS.get(node)
            threads[node] = own if own is not None else lane
    return threads


def planned_timeline(graph: dfg.GraphOp) -> list[PlannedNode]:
    """Every node of `graph` with its lane and estimated start and duration, by lane and start."""
    threads = _lane_threads(graph)

    def cost(node: Operation) -> float:
        threaded = THREADED_COST.get(node)
        if threads.get(node, 1) > 1 and threaded is not None:
            return threaded
        return node_cost(node)

    channels = receivers(graph)
    edge = graph_edge_cost(graph)

    def edges(node: Operation) -> Iterator[tuple[Operation, float]]:
        return ((user, edge) for user in data_successors(node, channels))

    labelled = build_dag(graph_nodes(graph), cost, edges)
    clusters = sorted(
        (op for op in graph.block.ops if isinstance(op, dfg.ClusterOp)), key=lambda c: c.id
    )
    lanes = [[labelled.index[node] for node in graph_nodes(c)] for c in clusters] or [[]]
    ids = [c.id for c in clusters] or [0]
    # Nodes outside the clusters (all of a flat graph's, those after a dfg.join)
    # run on lane 0, in program order.
    outside = [op for op in graph.block.ops if dfg.is_node(op)]
    first = [op for op in outside if clusters and op.is_before_in_block(clusters[0])]
    rest = [op for op in outside if op not in first]
    lanes[0] = [labelled.index[op] for op in first] + lanes[0]
    lanes[0] += [labelled.index[op] for op in rest]
    schedule = simulate(labelled.dag, lanes, start_delay=edge)
    planned = [
        PlannedNode(
            dfg.node_of(node).node_name(node),
            dfg.node_of(node).op_type(node),
            ids[schedule.lane_of[index]],
            schedule.start[index],
            labelled.dag.costs[index],
        )
        for index, node in enumerate(labelled.items)
    ]
    return sorted(planned, key=lambda p: (p.lane, p.start))
