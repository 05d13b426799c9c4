"""The `parallelize` pipeline: everything from a flat graph to lanes, in one flag."""

import math
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
from ramiel_mlir.transforms.cluster_slices import ClusterSlicesPass
from ramiel_mlir.transforms.estimate_cost import EstimateCostPass
from ramiel_mlir.transforms.fold_batchnorm import FoldBatchnormPass
from ramiel_mlir.transforms.fold_constants import FoldConstantsPass
from ramiel_mlir.transforms.fuse_channel_shuffle import FuseChannelShufflePass
from ramiel_mlir.transforms.fuse_conv_activation import FuseConvActivationPass
from ramiel_mlir.transforms.fuse_onednn_graph import FuseOnednnGraphPass, refusal
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

COMPILED_SPLIT_MIN_GAIN = 0.05
"""
Fraction of the unsplit estimate that compiled slices (one lane per slice, each
lane's nodes compiled by oneDNN Graph) must save to be chosen. Such lanes run no
Python and hold no GIL between their nodes, so the lane runtime's costs that the
estimates of eager lanes miss are gone: on GoogLeNet and Inception-v3 at batch 4
(2 cores, 2026-12-06) compiled slices estimated 10% and 9% faster than the unsplit
plan measured 0% to 8% and -8% to +10% faster than the compiled unsplit lane over
four runs each, and 1.07x and 1.13x faster than serial code on two threads.
"""


@dataclass(frozen=True)
class ParallelizePass(ModulePass):
    """
    Run the usual parallelization pipeline: fold-constants, fold-batchnorm, dce, cse,
    fuse-channel-shuffle, assign-layout, fuse-conv-activation, fuse-sibling-convs,
    prepack-weights, [hypercluster],
    estimate-cost, linear-cluster, merge-clusters, clone, dce, fuse-onednn-graph (unless
    `onednn-graph=false`), prepack-weights (with the planned thread counts).

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
    """Compile the lanes with oneDNN Graph when the model loads, where fuse-onednn-graph can."""

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

    def planning(self, parts: int = 1, *, by_slice: bool = False) -> tuple[ModulePass, ...]:
        """
        The passes that plan `parts` hyperclusters, their costs and lanes: chains
        cut along the critical path (linear-cluster), or with `by_slice` one lane
        per slice (cluster-slices), which fuse-onednn-graph can compile.
        """
        split: tuple[ModulePass, ...] = (HyperclusterPass(parts),) if parts > 1 else ()
        # Compiled slices are weighed against the unsplit plan by _choose_parts, so
        # merge-clusters keeps a lane per slice whatever it saves.
        clustering: tuple[ModulePass, ...] = (
            (ClusterSlicesPass(), MergeClustersPass(lanes=self.lanes, min_gain=0.0))
            if by_slice
            else (LinearClusterPass(), MergeClustersPass(lanes=self.lanes))
        )
        return (*split, EstimateCostPass(model=self.model, machine=self.machine), *clustering)

    def passes(self, parts: int = 1) -> tuple[ModulePass, ...]:
        """The passes this alias runs, in order, with `parts` hyperclusters."""
        return (*self.cleanup(), *self.planning(parts), *self.finishing())

    def finishing(self) -> tuple[ModulePass, ...]:
        """
        The passes after the plan: clone and dce; fuse-onednn-graph, which needs the
        plan's lanes as clone leaves them (a lane that computes a shared value itself
        needs nothing from another); prepack-weights again, which now sees each node's
        planned thread count (on two threads `F.conv2d` runs oneDNN, reordering the
        weight on every call, where on one it would not).
        """
        fuse = (FuseOnednnGraphPass(),) if self.onednn_graph else ()
        return (ClonePass(), DeadCodeElimination(), *fuse, PrepackWeightsPass(machine=self.machine))

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
        parts, by_slice = (
            (self.parts, False) if self.parts > 0 else self._choose_parts(ctx, op, plans)
        )
        run((*self.planning(parts, by_slice=by_slice), *self.finishing()))
        # Recorded after the passes, so that the IR after each of them is what those
        # passes alone give (--dump-dir's commands reproduce it).
        for graph, plan in plans.items():
            BATCH_PLAN.set(graph, plan)

    def _choose_parts(
        self, ctx: Context, op: ModuleOp, plans: dict[dfg.GraphOp, str]
    ) -> tuple[int, bool]:
        """
        The number of hyperclusters with the lowest estimate (1: do not split), and
        whether each slice is one compiled lane (cluster-slices); the plan of each
        graph, in words, goes into `plans`.
        """
        from ramiel_mlir.analysis.batch import batch_separability

        graphs = [g for g in op.ops if isinstance(g, dfg.GraphOp)]
        lanes = self.lanes or os.cpu_count() or 1
        found = [batch_separability(g) for g in graphs]
        batch = min((f.batch for f in found if f.batch > 1), default=0)
        if batch <= 1 or lanes <= 1:
            return 1, False
        if not all(f.separable for f in found):
            for graph, why in zip(graphs, found, strict=True):
                where = f"{dfg.node_of(why.blocker).describe(why.blocker)}: " if why.blocker else ""
                plans[graph] = f"batch {why.batch} not split, {where}{why.reason}"
                remark(
                    f"parallelize: batch {why.batch} not split, {where}{why.reason}",
                    at=why.blocker or graph,
                )
            return 1, False
        estimates = {k: self._estimate(ctx, op, k) for k in range(1, min(batch, lanes) + 1)}
        best = min(estimates, key=lambda k: (estimates[k], k))
        if best > 1 and estimates[best] > estimates[1] * (1 - SPLIT_MIN_GAIN):
            best = 1
        tried = ", ".join(f"{k}: {estimates[k] / 1000:.2f} ms" for k in estimates)
        sliced = min(batch, lanes)
        compiled = self._estimate(ctx, op, sliced, by_slice=True) if self.onednn_graph else None
        if compiled is not None:
            estimate = "not compilable" if math.isinf(compiled) else f"{compiled / 1000:.2f} ms"
            tried += f"; {sliced} compiled slices: {estimate}"
        # On a tie with eager lanes of the same split, the compiled slices win: the
        # estimates leave out what compiling saves.
        by_slice = compiled is not None and compiled <= min(
            estimates[best], estimates[1] * (1 - COMPILED_SPLIT_MIN_GAIN)
        )
        if by_slice:
            best = sliced
            plan = f"batch {batch} split into {best} hyperclusters, one compiled lane each"
        elif best > 1:
            plan = f"batch {batch} split into {best} hyperclusters"
        else:
            plan = f"batch {batch} not split"
        for graph in graphs:
            plans[graph] = f"{plan} (estimates by parts {tried})"
            remark(
                f"parallelize: {plan} (estimates by parts {tried}; a split must save "
                f"{SPLIT_MIN_GAIN:g} of the unsplit estimate, compiled slices "
                f"{COMPILED_SPLIT_MIN_GAIN:g})",
                at=graph,
            )
        return best, by_slice

    def _estimate(self, ctx: Context, op: ModuleOp, parts: int, *, by_slice: bool = False) -> float:
        """
        The summed parallel estimate (microseconds) of the graphs planned with `parts`;
        with `by_slice`, of one lane per slice, inf unless fuse-onednn-graph can
        compile every graph's lanes.
        """
        trial = op.clone()
        with quiet():  # the trial's remarks and warnings are not the plan's
            passes = self.planning(parts, by_slice=by_slice)
            if by_slice:
                passes += (ClonePass(), DeadCodeElimination())
            PassPipeline(passes).apply(ctx, trial)
        graphs = [g for g in trial.ops if isinstance(g, dfg.GraphOp)]
        if by_slice and any(refusal(g) is not None for g in graphs):
            return math.inf
        return sum(PARALLEL_ESTIMATE.get(g) or 0.0 for g in graphs)
