"""The `parallelize` pipeline: everything from a flat graph to lanes, in one flag."""

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass, PassPipeline
from xdsl.transforms.common_subexpression_elimination import CommonSubexpressionElimination
from xdsl.transforms.dead_code_elimination import DeadCodeElimination

from ramiel_mlir.transforms.clone import ClonePass
from ramiel_mlir.transforms.estimate_cost import EstimateCostPass
from ramiel_mlir.transforms.fold_constants import FoldConstantsPass
from ramiel_mlir.transforms.linear_cluster import LinearClusterPass
from ramiel_mlir.transforms.merge_clusters import MergeClustersPass


@dataclass(frozen=True)
class ParallelizePass(ModulePass):
    """
    Run the usual parallelization pipeline: fold-constants, dce, cse,
    estimate-cost, linear-cluster, merge-clusters, clone, dce.

    `lanes` (0: the core count) goes to merge-clusters, `model` and `machine` to
    estimate-cost, `blob-dir` to fold-constants. The default model is `flops`: it
    needs no torch once the machine is calibrated, and on the benchmark models it
    picks profile's plan, or a faster one (docs/cost-model.md); `model=profile`
    times every node instead. `machine=default` plans with the built-in machine
    model, so the output is the same on every machine. The IR is verified after the
    whole pipeline (by the driver), not between its passes: each pass is verified on
    its own by the tests.
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

    def __post_init__(self) -> None:
        self.passes()  # a bad option is an error of the pipeline, before any input is read

    def passes(self) -> tuple[ModulePass, ...]:
        """The passes this alias runs, in order."""
        return (
            FoldConstantsPass(blob_dir=self.blob_dir),
            DeadCodeElimination(),
            CommonSubexpressionElimination(),
            EstimateCostPass(model=self.model, machine=self.machine),
            LinearClusterPass(),
            MergeClustersPass(lanes=self.lanes),
            ClonePass(),
            DeadCodeElimination(),
        )

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PassPipeline(self.passes()).apply(ctx, op)
