"""The `merge-clusters` pass: map clusters onto a fixed number of lanes."""

import math
import os
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass

from ramiel_mlir.analysis.graph import graph_dag, graph_edge_cost
from ramiel_mlir.analysis.scheduling import (
    gil_bound,
    linear_clusters,
    schedule_clusters,
    serial_schedule,
    single_lane_threads,
)
from ramiel_mlir.diagnostics import RamielError, remark, warning
from ramiel_mlir.dialects import dfg
from ramiel_mlir.dialects.annotations import DISPATCH_COST, FORK_COST, THREADED_COST, THREADS
from ramiel_mlir.transforms.clusters import annotate_estimate, build_clusters, dissolve_clusters

MAX_LANES = 1024
"""The most lanes (threads) merge-clusters plans for."""


@dataclass(frozen=True)
class MergeClustersPass(ModulePass):
    """
    Merge clusters down to `lanes` lanes (threads), keeping the critical path fast.

    List-schedules the nodes by b-level onto the lanes, each cluster staying on
    one lane, with the edge cost charged between lanes; each lane's order is its
    schedule order. Worker lanes start one hand-over late, starting and joining
    them costs the graph's `dfg.fork_cost`, and the estimate is never below its
    GIL-bound time (`dfg.dispatch_cost` per node, which lanes cannot overlap). The
    alternative is one lane (`single_lane_threads`): on every core as intra-op
    threads if that saves `min-gain` of the serial time, else on one; and with
    per-node counts (`dfg.threads` on the nodes whose `dfg.threaded_cost` saves
    `min-gain` of their `dfg.cost`, the lane on one) if those save `min-gain` of that plan's
    time: small ops lose more to waking the intra-op team than they gain. Lanes
    are used only if they beat that lane by `min-gain`. Without threaded costs
    the single lane gets every core. A graph not yet clustered is
    linear-clustered first. Needs the costs of `estimate-cost`. The graph records
    the estimates (`dfg.serial_estimate`, `dfg.parallel_estimate`).
    """

    name = "merge-clusters"

    lanes: int = 0
    """Lanes to run on; 0 means the machine's core count."""

    min_gain: float = 0.1
    """Fraction of the serial estimate that parallel lanes must save to be used."""

    edge_cost: float | None = None
    """Microseconds to hand a value between lanes; by default the graph's `edge_cost`."""

    runtime_costs: bool = True
    """
    Charge the lane runtime (fork/join, GIL-bound dispatch) and compare with one
    lane on every core; false compares the bare schedule with the serial time.
    """

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if not 0 <= self.lanes <= MAX_LANES:
            raise RamielError(f"merge-clusters: lanes must be 0 to {MAX_LANES}, got {self.lanes}")
        if not 0.0 <= self.min_gain < 1.0:
            raise RamielError(f"merge-clusters: min-gain must be in [0, 1), got {self.min_gain}")
        if self.edge_cost is not None and self.edge_cost < 0:
            raise RamielError(
                f"merge-clusters: edge-cost must not be negative, got {self.edge_cost}"
            )
        cores = os.cpu_count() or 1
        if self.lanes > cores:
            warning(
                f"merge-clusters: lanes={self.lanes} plans up to {self.lanes} threads on "
                f"{cores} cores: lanes beyond the core count only wait for each other "
                "(lanes=0 is the core count)"
            )
        lanes = self.lanes or cores
        for graph in op.ops:
            if isinstance(graph, dfg.GraphOp):
                merge_graph(graph, lanes, self.min_gain, self.edge_cost, self.runtime_costs)


def _cluster_ids(graph: dfg.GraphOp) -> dict[Operation, int]:
    """The cluster of every node of a clustered graph (empty if it is flat)."""
    return {
        node: cluster.id
        for cluster in graph.block.ops
        if isinstance(cluster, dfg.ClusterOp)
        for node in cluster.block.ops
        if dfg.is_node(node)
    }


def merge_graph(
    graph: dfg.GraphOp,
    lanes: int,
    min_gain: float,
    edge_cost: float | None,
    runtime_costs: bool = True,
) -> None:
    """Schedule one graph's clusters onto `lanes` lanes and rebuild its clusters."""
    membership = _cluster_ids(graph)
    dissolve_clusters(graph)
    labelled = graph_dag(graph, edge_cost=edge_cost)
    dag = labelled.dag
    if membership:
        by_id: dict[int, list[int]] = {}
        for index, node in enumerate(labelled.items):
            by_id.setdefault(membership[node], []).append(index)
        clusters = [by_id[key] for key in sorted(by_id)]
    else:
        clusters = linear_clusters(dag)
    serial = serial_schedule(dag)
    edge = graph_edge_cost(graph) if edge_cost is None else edge_cost
    # A cluster stays on one lane: lanes beyond the cluster count would stay empty.
    # Worker lanes start one hand-over late (a thread wakes up).
    schedule = schedule_clusters(dag, clusters, min(lanes, max(len(clusters), 1)), edge)
    parallel, one_lane = schedule.makespan, serial.makespan
    node_threads = [lanes] * len(labelled.items)
    threaded = [THREADED_COST.get(node) or 0.0 for node in labelled.items]
    if runtime_costs:
        # Lanes cannot overlap the part of each call that holds the GIL, and
        # starting and joining the workers costs a fork. The alternative is one
        # lane where each node that gains from every core as intra-op threads
        # gets them, and the others (small ops, which lose more to waking the
        # team than they gain) run on one.
        gil = gil_bound(dag.costs, DISPATCH_COST.get(graph) or 0.0, len(schedule.lanes))
        parallel = max(parallel, gil) + (FORK_COST.get(graph) or 0.0)
        if any(THREADED_COST.get(node) is not None for node in labelled.items):
            node_threads, one_lane = single_lane_threads(dag.costs, threaded, lanes, min_gain)
    target = one_lane * (1.0 - min_gain)
    # Sums of the same costs in another order differ in the last bit: that is a tie.
    if lanes == 1 or (parallel > target and not math.isclose(parallel, target, rel_tol=1e-9)):
        base = lanes if all(count == lanes for count in node_threads) else 1
        orders = [[labelled.items[i] for i in lane] for lane in serial.lanes if lane]
        build_clusters(graph, orders, [base])
        for node, count in zip(labelled.items, node_threads, strict=True):
            if count != base:
                THREADS.set(node, count)
        annotate_estimate(graph, serial.makespan, one_lane)
        used = len([lane for lane in schedule.lanes if lane])
        remark(
            f"merge-clusters: one lane {_threads(node_threads, lanes)}, estimated "
            f"{_ms(one_lane)} (serial {_ms(serial.makespan)}): "
            f"{_one_lane_reason(lanes, (len(clusters), used), (parallel, edge), min_gain)}",
            at=graph,
        )
    else:
        orders = [[labelled.items[i] for i in lane] for lane in schedule.lanes if lane]
        build_clusters(graph, orders, [1] * len(orders))
        annotate_estimate(graph, serial.makespan, parallel)
        if len(orders) == 1:
            remark(
                f"merge-clusters: one lane, estimated {_ms(parallel)} (serial "
                f"{_ms(serial.makespan)}): the list schedule keeps every cluster on lane 0, "
                f"since a hand-over ({edge:g} us) costs more than running beside",
                at=graph,
            )
            return
        remark(
            f"merge-clusters: {len(orders)} lanes, estimated {_ms(parallel)} (serial "
            f"{_ms(serial.makespan)}): one lane {_threads(node_threads, lanes)} would take "
            f"{_ms(one_lane)}, and lanes save more than min-gain {min_gain:g} of it",
            at=graph,
        )


def _ms(microseconds: float) -> str:
    return f"{microseconds / 1000:.3f} ms"


def _threads(counts: list[int], cores: int) -> str:
    """How a single lane's nodes use intra-op threads, in words."""
    threaded = sum(1 for count in counts if count > 1)
    if threaded == 0 or cores == 1:
        return "on one thread"
    if threaded == len(counts):
        return f"on {cores} intra-op threads"
    return f"with {cores} intra-op threads for {threaded} of its {len(counts)} nodes"


def _one_lane_reason(
    lanes: int, clusters_used: tuple[int, int], parallel_edge: tuple[float, float], min_gain: float
) -> str:
    """Why merge-clusters kept one lane: from the cluster count, lanes used, estimate, edge cost."""
    clusters, used = clusters_used
    parallel, edge = parallel_edge
    if lanes == 1:
        return "lanes=1"
    if clusters <= 1:
        return "the graph is one chain (a single cluster): there is nothing to run beside it"
    if used <= 1:
        return (
            f"the list schedule keeps all {clusters} clusters on lane 0, since a hand-over "
            f"({edge:g} us) costs more than running beside"
        )
    return (
        f"{used} lanes would take {_ms(parallel)}, which does not save min-gain {min_gain:g} "
        "of the one-lane estimate (runtime-costs=false compares the bare schedule with "
        "the serial time instead)"
    )
