"""The `parallelize` pipeline: everything from a flat graph to lanes, in one flag."""

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass, PassPipeline

from ramiel_mlir.registry import get_all_passes


@dataclass(frozen=True)
class ParallelizePass(ModulePass):
    """
    Run the usual parallelization pipeline: fold-constants, fold-batchnorm, dce,
    cse, estimate-cost, linear-cluster, merge-clusters, clone, dce.

    `lanes` (0: the core count) goes to merge-clusters, `model` to estimate-cost.
    The default model is `flops`: it needs no torch once the machine is calibrated,
    and on the benchmark models it picks profile's plan, or a faster one
    (docs/cost-model.md); `model=profile` times every node instead. The IR is
    verified after the whole pipeline (by the driver), not between its passes:
    each pass is verified on its own by the tests.
    """

    name = "parallelize"

    lanes: int = 0
    """Lanes to run on; 0 means the machine's core count."""

    model: str = "flops"
    """The cost model of estimate-cost: `flops` (analytic) or `profile` (measured)."""

    def pipeline(self) -> str:
        """The equivalent -p spec."""
        return (
            "fold-constants,fold-batchnorm,dce,cse,"
            f"estimate-cost{{model={self.model}}},linear-cluster,"
            f"merge-clusters{{lanes={self.lanes}}},clone,dce"
        )

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PassPipeline.parse_spec(get_all_passes(), self.pipeline()).apply(ctx, op)
