"""The `linear-cluster` pass: critical-path linear clustering into `dfg.cluster` chains."""

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from ramiel_mlir.analysis.scheduling import linear_clusters, simulate
from ramiel_mlir.dialects import dfg
from ramiel_mlir.transforms.clusters import (
    TaskGraph,
    annotate_estimate,
    build_clusters,
    dissolve_clusters,
    edge_cost,
)


@dataclass(frozen=True)
class LinearClusterPass(ModulePass):
    """
    Cluster each graph's nodes into chains by Kim & Browne's linear clustering.

    Repeatedly takes the longest remaining path (node `cost`s plus the edge cost
    per edge) as a cluster; cluster 0 is the critical path. Values crossing
    clusters get `dfg.send`/`dfg.recv` pairs. The graph records the estimated
    serial and parallel (one lane per cluster) times in microseconds.
    """

    name = "linear-cluster"

    edge_cost: float = 50.0
    """Microseconds to hand a value between lanes, when `estimate-cost` did not measure it."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for graph in op.ops:
            if isinstance(graph, dfg.GraphOp):
                cluster_graph(graph, self.edge_cost)


def cluster_graph(graph: dfg.GraphOp, default_edge_cost: float) -> None:
    """Linear-cluster one graph (dissolving any clusters it has first)."""
    dissolve_clusters(graph)
    tasks = TaskGraph.of(graph)
    comm = edge_cost(graph, default_edge_cost)
    chains = linear_clusters(tasks.costs, tasks.succs, comm)
    estimate = simulate(tasks.costs, tasks.succs, comm, chains)
    build_clusters(graph, [[tasks.nodes[i] for i in c] for c in chains], [1] * len(chains))
    annotate_estimate(graph, sum(tasks.costs), estimate.makespan)
