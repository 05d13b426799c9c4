"""The `parallelize` pipeline: everything from a flat graph to lanes, in one flag."""

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass, PassPipeline
from xdsl.transforms.common_subexpression_elimination import CommonSubexpressionElimination
from xdsl.transforms.dead_code_elimination import DeadCodeElimination

from ramiel_mlir.diagnostics import quiet, remark
from ramiel_mlir.dialects import dfg
from ramiel_mlir.dialects.annotations import BATCH_PLAN, PARALLEL_ESTIMATE
from ramiel_mlir.transforms.assign_layout import AssignLayoutPass
from ramiel_mlir.transforms.clone import ClonePass
from ramiel_mlir.transforms.estimate_cost import EstimateCostPass
from ramiel_mlir.transforms.fold_batchnorm import FoldBatchnormPass
from ramiel_mlir.transforms.fold_constants import FoldConstantsPass
from ramiel_mlir.transforms.fuse_channel_shuffle import FuseChannelShufflePass
from ramiel_mlir.transforms.fuse_conv_activation import FuseConvActivationPass
from ramiel_mlir.transforms.fuse_onednn_graph import FuseOnednnGraphPass
from ramiel_mlir.transforms.fuse_sibling_convs import FuseSiblingConvsPass
from ramiel_mlir.transforms.hypercluster import HyperclusterPass
from ramiel_mlir.transforms.linear_cluster import LinearClusterPass
from ramiel_mlir.transforms.merge_clusters import MergeClustersPass
from ramiel_mlir.transforms.prepack_weights import PrepackWeightsPass

SPLIT_MIN_GAIN = 0.15
"""
Fraction of the unsplit estimate that hyperclusters must save to be chosen. The
estimates cannot resolve less: at batch 2, 4 and 8 on the four models of
`tools/benchmark_batch.py`, splits estimated 5% to 12% faster than the unsplit plan
measured 0.92x to 1.13x of it (2 cores, 2026-12-05), and a calibration made while
another tenant held a core for a moment (two threads measured 1.4x to 1.8x of one,
against 1.7x to 1.9x) moves the estimates by as much.
"""


@dataclass(frozen=True)
class ParallelizePass(ModulePass):
    """
    Run the usual parallelization pipeline: fold-constants, fold-batchnorm, dce, cse,
    fuse-channel-shuffle, assign-layout, fuse-conv-activation, fuse-sibling-convs,
    prepack-weights, [hypercluster],
    estimate-cost, linear-cluster, merge-clusters, fuse-onednn-graph (unless
    `onednn-graph=false`), prepack-weights (with the planned thread counts), clone, dce.

    `lanes` (0: the core count) goes to merge-clusters, `model` to estimate-cost,
    `machine` to estimate-cost, assign-layout and prepack-weights, `blob-dir` to
    fold-constants. The default model is `flops`: it
    needs no torch once the machine is calibrated, and on the benchmark models it
    picks profile's plan, or a faster one (docs/cost-model.md); `model=profile`
    times every node instead. `machine=default` plans with the built-in machine
    model, so the output is the same on every machine. The IR is verified after the
    whole pipeline (by the driver), not between its passes: each pass is verified on
    its own by the tests.

    For a graph with a known batch greater than 1 that is batch separable,
    `parts` chooses the hyperclusters: by default (`parts=0`) every count K from
    1 to min(batch, lanes) is planned on a copy (hypercluster, costs, clusters,
    lanes) and the K with the lowest estimate wins; K > 1 only if it saves
    `SPLIT_MIN_GAIN` of the unsplit estimate, so that where splitting loses the
    batch is not split. K = 1 is the plan of merge-clusters alone: lanes within
    the whole batch, intra-op threads, or a mix. The graph's `dfg.batch_plan`
    records the choice and the generated file's header repeats it. `parts=K`
    fixes it.
    """

    name = "parallelize"

    lanes: int = 0
    """Lanes to run on; 0 means the machine's core count."""

    model: str = "flops"
    """The cost model of estimate-cost: `flops` (analytic) or `profile` (measured)."""

    machine: str = "auto"
    """estimate-cost's machine model: `auto` (cached calibration), `default` or a JSON file."""

    blob_dir: str = ""
    """fold-constants' store for folded constants ('' is its default)."""

    parts: int = 0
    """Hyperclusters (batch slices): 0 chooses from the estimates, 1 never splits."""

    onednn_graph: bool = True
    """Compile a one-lane plan with oneDNN Graph when the model loads (fuse-onednn-graph)."""

    def __post_init__(self) -> None:
        self.passes()  # a bad option is an error of the pipeline, before any input is read

    def cleanup(self) -> tuple[ModulePass, ...]:
        """The passes before planning."""
        return (
            FoldConstantsPass(blob_dir=self.blob_dir),
            FoldBatchnormPass(),
            DeadCodeElimination(),
            CommonSubexpressionElimination(),
            FuseChannelShufflePass(),
            AssignLayoutPass(machine=self.machine),
            FuseConvActivationPass(),
            FuseSiblingConvsPass(),
            PrepackWeightsPass(machine=self.machine),
        )

    def planning(self, parts: int = 1) -> tuple[ModulePass, ...]:
        """The passes that plan `parts` hyperclusters, their costs and lanes."""
        split: tuple[ModulePass, ...] = (HyperclusterPass(parts),) if parts > 1 else ()
        return (
            *split,
            EstimateCostPass(model=self.model, machine=self.machine),
            LinearClusterPass(),
            MergeClustersPass(lanes=self.lanes),
        )

    def passes(self, parts: int = 1) -> tuple[ModulePass, ...]:
        """The passes this alias runs, in order, with `parts` hyperclusters."""
        return (*self.cleanup(), *self.planning(parts), *self.finishing())

    def finishing(self) -> tuple[ModulePass, ...]:
        """
        The passes after the plan: fuse-onednn-graph, which needs the plan's lane count;
        prepack-weights again, which now sees each node's planned thread count (on two
        threads `F.conv2d` runs oneDNN, reordering the weight on every call, where on
        one it would not); then clone and dce.
        """
        fuse = (FuseOnednnGraphPass(),) if self.onednn_graph else ()
        return (*fuse, PrepackWeightsPass(machine=self.machine), ClonePass(), DeadCodeElimination())

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        self.apply_observed(ctx, op, None)

    def apply_observed(
        self,
        ctx: Context,
        op: ModuleOp,
        observe: Callable[[ModulePass, ModuleOp, float], None] | None,
    ) -> None:
        """
        Apply the pipeline; after each of its passes, call `observe(pass, op,
        seconds)` if given: the driver's --time-passes, --print-ir-after and
        --dump-dir see the passes this alias runs.
        """

        def run(passes: tuple[ModulePass, ...]) -> None:
            for sub in passes:
                start = time.perf_counter()
                sub.apply(ctx, op)
                if observe is not None:
                    observe(sub, op, time.perf_counter() - start)

        run(self.cleanup())
        plans: dict[dfg.GraphOp, str] = {}
        parts = self.parts if self.parts > 0 else self._choose_parts(ctx, op, plans)
        run((*self.planning(parts), *self.finishing()))
        # Recorded after the passes, so that the IR after each of them is what those
        # passes alone give (--dump-dir's commands reproduce it).
        for graph, plan in plans.items():
            BATCH_PLAN.set(graph, plan)

    def _choose_parts(self, ctx: Context, op: ModuleOp, plans: dict[dfg.GraphOp, str]) -> int:
        """
        The number of hyperclusters with the lowest estimate (1: do not split); the
        plan of each graph, in words, goes into `plans`.
        """
        from ramiel_mlir.analysis.batch import batch_separability

        graphs = [g for g in op.ops if isinstance(g, dfg.GraphOp)]
        lanes = self.lanes or os.cpu_count() or 1
        found = [batch_separability(g) for g in graphs]
        batch = min((f.batch for f in found if f.batch > 1), default=0)
        if batch <= 1 or lanes <= 1:
            return 1
        if not all(f.separable for f in found):
            for graph, why in zip(graphs, found, strict=True):
                where = f"{dfg.node_of(why.blocker).describe(why.blocker)}: " if why.blocker else ""
                plans[graph] = f"batch {why.batch} not split, {where}{why.reason}"
                remark(
                    f"parallelize: batch {why.batch} not split, {where}{why.reason}",
                    at=why.blocker or graph,
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
            plans[graph] = f"{plan} (estimates by parts {tried})"
            remark(
                f"parallelize: {plan} (estimates by parts "
                f"{tried}; a split must save {SPLIT_MIN_GAIN:g} of the unsplit estimate)",
                at=graph,
            )
        return best

    def _estimate(self, ctx: Context, op: ModuleOp, parts: int) -> float:
        """The summed parallel estimate (microseconds) of the graphs planned with `parts`."""
        trial = op.clone()
        with quiet():  # the trial's remarks and warnings are not the plan's
            PassPipeline(self.planning(parts)).apply(ctx, trial)
        return sum(PARALLEL_ESTIMATE.get(g) or 0.0 for g in trial.ops)
