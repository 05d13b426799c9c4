"""The `cluster-slices` pass: one cluster per batch slice, so that each slice runs as one lane."""

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from ramiel_mlir.analysis.batch import batch_slices
from ramiel_mlir.analysis.graph import graph_dag, graph_edge_cost
from ramiel_mlir.analysis.levels import total_work
from ramiel_mlir.analysis.scheduling import simulate
from ramiel_mlir.diagnostics import remark
from ramiel_mlir.dialects import dfg
from ramiel_mlir.transforms.clusters import annotate_estimate, build_clusters, dissolve_clusters


@dataclass(frozen=True)
class ClusterSlicesPass(ModulePass):
    """
    Cluster each graph that `hypercluster` split into one cluster per batch slice.

    The alternative to linear-cluster after hypercluster: instead of chains cut
    along the critical path of every slice, each slice (hypercluster) is one
    cluster, in program order, and merge-clusters then maps the slices onto the
    lanes. A lane then needs nothing from another lane until the join (a node that
    reads only weights goes with a slice that reads it, and clone copies it into
    every lane that reads it), so fuse-onednn-graph can compile each lane's nodes
    as one piece. The graph records the estimated serial and parallel (one lane per
    slice) times, as linear-cluster does. A graph without `dfg.fork` is left as it
    is, with a remark. Needs the costs of `estimate-cost`.
    """

    name = "cluster-slices"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for graph in op.ops:
            if isinstance(graph, dfg.GraphOp):
                cluster_by_slice(graph)


def cluster_by_slice(graph: dfg.GraphOp) -> None:
    """Cluster one graph's nodes by batch slice (dissolving any clusters it has first)."""
    if not any(isinstance(op, dfg.ForkOp) for op in graph.block.ops):
        remark("cluster-slices: no batch slices (dfg.fork) to cluster by", graph)
        return  # as it is: its clusters, if any, stay
    dissolve_clusters(graph)
    slices = batch_slices(graph)
    assert slices is not None  # the graph has a fork
    labelled = graph_dag(graph)
    count = max(slices.values(), default=0) + 1
    chains: list[list[int]] = [[] for _ in range(count)]
    for index, node in enumerate(labelled.items):
        chains[slices[node]].append(index)
    estimate = simulate(labelled.dag, chains, start_delay=graph_edge_cost(graph))
    build_clusters(graph, [[labelled.items[i] for i in chain] for chain in chains], [1] * count)
    annotate_estimate(graph, total_work(labelled.dag), estimate.makespan)
