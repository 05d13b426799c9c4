"""The `parallelize` pipeline: everything from a flat graph to lanes, in one flag."""

import os
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import FloatAttr, ModuleOp, StringAttr
from xdsl.passes import ModulePass, PassPipeline

from ramiel_mlir.dialects import dfg
from ramiel_mlir.registry import get_all_passes

SPLIT_MIN_GAIN = 0.05
"""Fraction of the unsplit estimate that hyperclusters must save to be chosen."""


@dataclass(frozen=True)
class ParallelizePass(ModulePass):
    """
    Run the usual parallelization pipeline: fold-constants, dce, cse,
    [hypercluster], estimate-cost, linear-cluster, merge-clusters, clone, dce.

    `lanes` (0: the core count) goes to merge-clusters, `model` to estimate-cost.
    The default model is `flops`: it needs no torch once the machine is calibrated,
    and on the benchmark models it picks profile's plan, or a faster one
    (docs/cost-model.md); `model=profile` times every node instead. The IR is
    verified after the whole pipeline (by the driver), not between its passes:
    each pass is verified on its own by the tests.

    For a graph with a known batch greater than 1 that is batch separable,
    `parts` chooses the hyperclusters: by default (`parts=0`) every count K from
    1 to min(batch, lanes) is planned (hypercluster, costs, clusters, lanes) and
    the K with the lowest estimate wins; K > 1 only if it saves `SPLIT_MIN_GAIN`
    of the unsplit estimate, so that where splitting loses the batch is not split.
    K = 1 is the plan of merge-clusters alone: lanes within the whole batch,
    intra-op threads, or a mix. The graph's `batch_plan` attribute records the
    choice and the generated file's header repeats it. `parts=K` fixes it.
    """

    name = "parallelize"

    lanes: int = 0
    """Lanes to run on; 0 means the machine's core count."""

    model: str = "flops"
    """The cost model of estimate-cost: `flops` (analytic) or `profile` (measured)."""

    parts: int = 0
    """Hyperclusters (batch slices): 0 chooses from the estimates, 1 never splits."""

    def pipeline(self, parts: int = 1) -> str:
        """The equivalent -p spec, with `parts` hyperclusters."""
        return f"fold-constants,dce,cse,{self._planning(parts)},clone,dce"

    def _planning(self, parts: int) -> str:
        split = f"hypercluster{{parts={parts}}}," if parts > 1 else ""
        return (
            f"{split}estimate-cost{{model={self.model}}},linear-cluster,"
            f"merge-clusters{{lanes={self.lanes}}}"
        )

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        passes = get_all_passes()
        PassPipeline.parse_spec(passes, "fold-constants,dce,cse").apply(ctx, op)
        parts = self.parts if self.parts > 0 else self._choose_parts(ctx, op)
        PassPipeline.parse_spec(passes, f"{self._planning(parts)},clone,dce").apply(ctx, op)

    def _choose_parts(self, ctx: Context, op: ModuleOp) -> int:
        """The number of hyperclusters with the lowest estimate (1: do not split)."""
        from ramiel_mlir.analysis.batch import batch_separability

        graphs = [g for g in op.ops if isinstance(g, dfg.GraphOp)]
        lanes = self.lanes or os.cpu_count() or 1
        found = [batch_separability(g) for g in graphs]
        batch = min((f.batch for f in found if f.batch > 1), default=0)
        if batch <= 1 or lanes <= 1:
            return 1
        if not all(f.separable for f in found):
            for graph, why in zip(graphs, found, strict=True):
                blocker = why.blocker
                where = f"node '{blocker.node_name}' ({blocker.op_type.data}): " if blocker else ""
                graph.attributes["batch_plan"] = StringAttr(
                    f"batch {why.batch} not split, {where}{why.reason}"
                )
            return 1
        estimates = {k: self._estimate(ctx, op, k) for k in range(1, min(batch, lanes) + 1)}
        best = min(estimates, key=lambda k: (estimates[k], k))
        if best > 1 and estimates[best] > estimates[1] * (1 - SPLIT_MIN_GAIN):
            best = 1
        plan = (
            f"batch {batch} split into {best} hyperclusters"
            if best > 1
            else f"batch {batch} not split"
        )
        tried = ", ".join(f"{k}: {estimates[k] / 1000:.2f} ms" for k in estimates)
        for graph in graphs:
            graph.attributes["batch_plan"] = StringAttr(f"{plan} (estimates by parts {tried})")
        return best

    def _estimate(self, ctx: Context, op: ModuleOp, parts: int) -> float:
        """The summed parallel estimate (microseconds) of the graphs planned with `parts`."""
        trial = op.clone()
        PassPipeline.parse_spec(get_all_passes(), self._planning(parts)).apply(ctx, trial)
        total = 0.0
        for graph in trial.ops:
            estimate = graph.attributes.get("parallel_estimate")
            if isinstance(estimate, FloatAttr):
                total += estimate.value.data
        return total
