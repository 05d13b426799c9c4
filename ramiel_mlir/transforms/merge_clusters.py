"""The `merge-clusters` pass: map clusters onto a fixed number of lanes."""

import os
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from ramiel_mlir.analysis.scheduling import (
    linear_clusters,
    schedule_clusters,
    serial_schedule,
)
from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.dialects import dfg
from ramiel_mlir.transforms.clusters import (
    TaskGraph,
    annotate_estimate,
    build_clusters,
    dissolve_clusters,
    edge_cost,
    is_clustered,
)


@dataclass(frozen=True)
class MergeClustersPass(ModulePass):
    """
    Merge clusters down to `lanes` lanes (threads), keeping the critical path fast.

    List-schedules the nodes by b-level onto the lanes, each cluster staying on
    one lane, with the edge cost charged between lanes; each lane's order is its
    schedule order. If the estimate does not beat one lane by `min-gain`, falls
    back to a single lane that uses `lanes` intra-op threads instead. A graph not
    yet clustered is linear-clustered first.
    """

    name = "merge-clusters"

    lanes: int = 0
    """Lanes to run on; 0 means the machine's core count."""

    min_gain: float = 0.05
    """Fraction of the serial estimate that parallel lanes must save to be used."""

    edge_cost: float = 50.0
    """Microseconds to hand a value between lanes, when `estimate-cost` did not measure it."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        lanes = self.lanes or os.cpu_count() or 1
        if lanes < 1:
            raise RamielError(f"merge-clusters: lanes must be positive, got {self.lanes}")
        for graph in op.ops:
            if isinstance(graph, dfg.GraphOp):
                merge_graph(graph, lanes, self.min_gain, self.edge_cost)


def merge_graph(graph: dfg.GraphOp, lanes: int, min_gain: float, default_edge_cost: float) -> None:
    """Schedule one graph's clusters onto `lanes` lanes and rebuild its clusters."""
    membership: dict[dfg.NodeOp, int] = {}
    if is_clustered(graph):
        for cluster in graph.block.ops:
            if isinstance(cluster, dfg.ClusterOp):
                for node in cluster.block.ops:
                    if isinstance(node, dfg.NodeOp):
                        membership[node] = cluster.id
    dissolve_clusters(graph)
    tasks = TaskGraph.of(graph)
    comm = edge_cost(graph, default_edge_cost)
    if membership:
        by_id: dict[int, list[int]] = {}
        for index, node in enumerate(tasks.nodes):
            by_id.setdefault(membership[node], []).append(index)
        clusters = [by_id[key] for key in sorted(by_id)]
    else:
        clusters = linear_clusters(tasks.costs, tasks.succs, comm)
    serial = serial_schedule(tasks.costs)
    schedule = schedule_clusters(tasks.costs, tasks.succs, comm, clusters, lanes)
    if lanes == 1 or schedule.makespan > serial.makespan * (1.0 - min_gain):
        chosen, threads = serial, [lanes]
    else:
        chosen = schedule
        threads = [1] * lanes
    orders = [[tasks.nodes[i] for i in lane] for lane in chosen.lanes if lane]
    build_clusters(graph, orders, threads[: len(orders)] or [lanes])
    annotate_estimate(graph, serial.makespan, chosen.makespan)
