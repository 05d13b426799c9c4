"""The `linear-cluster` pass: critical-path linear clustering into `dfg.cluster` chains."""

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from ramiel_mlir.analysis.graph import graph_dag, graph_edge_cost
from ramiel_mlir.analysis.levels import total_work
from ramiel_mlir.analysis.scheduling import linear_clusters, simulate
from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.dialects import dfg
from ramiel_mlir.transforms.clusters import annotate_estimate, build_clusters, dissolve_clusters


@dataclass(frozen=True)
class LinearClusterPass(ModulePass):
    """
    Cluster each graph's nodes into chains by Kim & Browne's linear clustering.

    Repeatedly takes the longest remaining path (node `dfg.cost`s plus the edge cost
    per edge) as a cluster; cluster 0 is the critical path. Values crossing
    clusters get `dfg.send`/`dfg.recv` pairs. The graph records the estimated
    serial and parallel (one lane per cluster) times in microseconds
    (`dfg.serial_estimate`, `dfg.parallel_estimate`). Needs the
    costs of `estimate-cost`.
    """

    name = "linear-cluster"

    edge_cost: float | None = None
    """Microseconds to hand a value between lanes; by default the graph's `edge_cost`."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if self.edge_cost is not None and self.edge_cost < 0:
            raise RamielError(
                f"linear-cluster: edge-cost must not be negative, got {self.edge_cost}"
            )
        for graph in op.ops:
            if isinstance(graph, dfg.GraphOp):
                cluster_graph(graph, self.edge_cost)


def cluster_graph(graph: dfg.GraphOp, edge_cost: float | None) -> None:
    """Linear-cluster one graph (dissolving any clusters it has first)."""
    dissolve_clusters(graph)
    labelled = graph_dag(graph, edge_cost=edge_cost)
    chains = linear_clusters(labelled.dag)
    edge = graph_edge_cost(graph) if edge_cost is None else edge_cost
    estimate = simulate(labelled.dag, chains, start_delay=edge)
    lanes = [[labelled.items[i] for i in chain] for chain in chains]
    build_clusters(graph, lanes, [1] * len(lanes))
    annotate_estimate(graph, total_work(labelled.dag), estimate.makespan)
