"""The `python` target: print the `py` dialect and write the weights file beside it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, ClassVar

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.utils.target import Target

from ramiel_mlir.backend.buffers import write_weights
from ramiel_mlir.diagnostics import RamielError, warning
from ramiel_mlir.dialects import dfg, py


def lower_if_needed(ctx: Context, module: ModuleOp) -> None:
    """Lower a module still in the dfg dialect: `-t python` implies `convert-dfg-to-py`."""
    if any(isinstance(op, dfg.GraphOp) for op in module.ops):
        from ramiel_mlir.transforms.convert_dfg_to_py import ConvertDfgToPyPass

        ConvertDfgToPyPass().apply(ctx, module)
        module.verify()


@dataclass(frozen=True)
class PythonTarget(Target):
    """
    Print the module as a Python source file (lowering it first if needed).

    `weights` is where the weights file goes; the driver sets it beside `-o FILE`.
    Without it (code printed to standard output) a model with weights gets a
    warning: the code alone cannot be loaded.
    """

    name: ClassVar[str] = "python"

    weights: str = ""

    def emit(self, ctx: Context, module: ModuleOp, output: IO[str]) -> None:
        from ramiel_mlir.backend.print_python import print_python

        lower_if_needed(ctx, module)
        modules = [op for op in module.ops if isinstance(op, py.ModuleOp)]
        if len(modules) != 1:
            raise RamielError(
                f"the python target needs exactly one py.module, found {len(modules)}"
            )
        print_python(modules[0], output)
        if self.weights:
            write_weights(modules[0], self.weights)
        elif any(isinstance(op, py.BufferOp) for op in modules[0].walk()):
            warning(
                "python target: the weights are not written, so load_model() will not find "
                "them; give -o FILE (they go beside it, as FILE with suffix .weights.pt) or "
                "-t 'python{weights=PATH}'"
            )
