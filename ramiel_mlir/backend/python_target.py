"""The `python` target: print the `py` dialect and write the weights file beside it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, ClassVar

from xdsl.context import Context
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, ModuleOp
from xdsl.utils.target import Target

from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.dialects import dfg, py

if TYPE_CHECKING:
    import torch


def lower_if_needed(ctx: Context, module: ModuleOp) -> None:
    """Lower a module still in the dfg dialect (`-t python` implies the lowering)."""
    if any(isinstance(op, dfg.GraphOp) for op in module.ops):
        from ramiel_mlir.transforms.convert_dfg_to_py import ConvertDfgToPyPass

        ConvertDfgToPyPass().apply(ctx, module)
        module.verify()


def buffer_state(module: py.ModuleOp) -> dict[str, torch.Tensor]:
    """The data of every `py.buffer`, by buffer name (a state dict for `Model`)."""
    import torch

    from ramiel_mlir.tensors import numpy_from_dense
    from ramiel_mlir.weights import load_tensor

    state: dict[str, torch.Tensor] = {}
    for op in module.walk():
        if not isinstance(op, py.BufferOp):
            continue
        if op.file is not None:
            array = load_tensor(op.file.data, op.key.data)
        else:
            assert isinstance(op.value, DenseIntOrFPElementsAttr)
            array = numpy_from_dense(op.value)
        state[op.buffer_name.data] = torch.from_numpy(array.copy())
    return state


def write_weights(module: py.ModuleOp, path: str) -> None:
    """Save the data of every `py.buffer` to `path` (a `torch.save` state dict)."""
    import torch

    torch.save(buffer_state(module), path)


@dataclass(frozen=True)
class PythonTarget(Target):
    """
    Print the module as a Python source file (lowering it first if needed).

    `weights` is where the weights file goes; the driver sets it beside `-o FILE`.
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
