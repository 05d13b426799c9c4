"""The `convert-dfg-to-py` pass: lower every `dfg.graph` into a `py.module`."""

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.rewriter import Rewriter
from xdsl.transforms.dead_code_elimination import DeadCodeElimination

from ramiel_mlir.dialects import dfg
from ramiel_mlir.transforms.fold_constants import FoldConstantsPass
from ramiel_mlir.weights import INLINE_LIMIT

LOWERING_FOLD = FoldConstantsPass(max_elements=INLINE_LIMIT, exact=True, keep_constants=True)
"""
The folding the lowering needs: small shape arithmetic becomes weights it reads
as numbers. Exact only, so floating-point math stays with torch; Constant nodes
stay, printed as literals where they are read.
"""


@dataclass(frozen=True)
class ConvertDfgToPyPass(ModulePass):
    """
    Lower each `dfg.graph` into a `py.module` holding the generated Python file.

    First runs `fold-constants{max-elements=16 exact=true keep-constants=true}`
    and `dce`: the lowering evaluates nothing, it reads constants. The per-op
    PyTorch mapping lives in `ramiel_mlir.backend.ops`; the file's structure
    (class, `forward`, `load_model`) in `ramiel_mlir.backend.lowering`.
    """

    name = "convert-dfg-to-py"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from ramiel_mlir.backend.lowering import lower_graph

        LOWERING_FOLD.apply(ctx, op)
        DeadCodeElimination().apply(ctx, op)
        for graph in list(op.ops):
            if isinstance(graph, dfg.GraphOp):
                Rewriter.replace_op(graph, lower_graph(graph), [])
