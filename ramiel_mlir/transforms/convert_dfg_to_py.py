"""The `convert-dfg-to-py` pass: lower every `dfg.graph` into a `py.module`."""

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.rewriter import Rewriter

from ramiel_mlir.dialects import dfg


@dataclass(frozen=True)
class ConvertDfgToPyPass(ModulePass):
    """
    Lower each `dfg.graph` into a `py.module` holding the generated Python file.

    The per-op PyTorch mapping lives in `ramiel_mlir.backend.ops`; the file's
    structure (class, `forward`, `load_model`) in `ramiel_mlir.backend.lowering`.
    """

    name = "convert-dfg-to-py"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from ramiel_mlir.backend.lowering import lower_graph

        for graph in list(op.ops):
            if isinstance(graph, dfg.GraphOp):
                Rewriter.replace_op(graph, lower_graph(graph), [])
