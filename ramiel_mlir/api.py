"""
The in-process compiler API: what `ramiel-opt` does, without a process per model.

    compiled = compile_onnx("model.onnx", "fold-constants,dce", out_dir)
    model = compiled.load()          # the generated Model, weights loaded
    y = model(x)

    compile_onnx(proto, lanes=2)     # the parallelize pipeline on two lanes

Tests, tools and the ONNX backend use it; the driver and it share every step.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass, PassPipeline

from ramiel_mlir.registry import get_all_dialects, get_all_passes

if TYPE_CHECKING:
    import onnx
    import torch


def make_context() -> Context:
    """A context with the project's dialects registered (loaded lazily)."""
    ctx = Context()
    for name, factory in get_all_dialects().items():
        ctx.register_dialect(name, factory)
    return ctx


def run_pipeline(ctx: Context, module: ModuleOp, passes: str | Sequence[ModulePass]) -> None:
    """
    Apply passes, an xDSL pipeline spec (`'dce,merge-clusters{lanes=2}'`) or pass
    instances, verifying after each pass.
    """
    module.verify()
    if isinstance(passes, str):
        passes = PassPipeline.parse_spec(get_all_passes(), passes).passes
    PassPipeline(tuple(passes), lambda _prev, m, _next: m.verify()).apply(ctx, module)


def pipeline(
    passes: str = "", lanes: int | None = None, cost_model: str = "flops", machine: str = "auto"
) -> tuple[ModulePass, ...]:
    """
    The pipeline `passes`, then `parallelize{lanes=N model=... machine=...}` if `lanes` is given.

    `lanes=0` is the machine's core count, as for the pass; `cost_model` is
    estimate-cost's model (`flops` counts, as the pass does by default;
    `profile` times every node), `machine` its machine model (`auto`, `default`
    or a file from `ramiel-calibrate`).
    """
    from ramiel_mlir.transforms.parallelize import ParallelizePass

    spec = PassPipeline.parse_spec(get_all_passes(), passes).passes
    if lanes is None:
        return spec
    if lanes < 0:
        raise ValueError(f"lanes must be 0 (the core count) or positive, got {lanes}")
    return (*spec, ParallelizePass(lanes=lanes, model=cost_model, machine=machine))


def import_generated(path: Path) -> ModuleType:
    """Import a generated Python file as a fresh module (a unique name per path)."""
    name = f"ramiel_generated_{abs(hash(path.resolve()))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def lane_count(source: str) -> int:
    """The lanes of generated code: its `_lane<i>` methods (not `_lane<i>_nodes`), at least 1."""
    return max(1, len(re.findall(r"^    def _lane\d+\(", source, re.MULTILINE)))


@dataclass
class CompiledModel:
    """A generated Python file and its weights file, on disk."""

    source_path: Path
    weights_path: Path

    @property
    def source(self) -> str:
        """The generated Python source."""
        return self.source_path.read_text()

    def import_module(self) -> ModuleType:
        """Import the generated file as a fresh module."""
        return import_generated(self.source_path)

    def load(self) -> torch.nn.Module:
        """The generated `Model` with its weights loaded (`load_model()`)."""
        return self.import_module().load_model(self.weights_path)


def compile_onnx(
    model: str | os.PathLike[str] | onnx.ModelProto,
    passes: str = "",
    out_dir: str | os.PathLike[str] | None = None,
    *,
    name: str = "model",
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    lanes: int | None = None,
    cost_model: str = "flops",
    machine: str = "auto",
) -> CompiledModel:
    """
    Compile an ONNX model (a path or a ModelProto) with `passes` to Python.

    `lanes=N` appends the parallelize pipeline for N lanes (`pipeline`), as
    `ramiel-opt --parallelize=lanes=N` does, with `cost_model` and `machine` as its
    `model` and `machine` options. Writes `name.py` and
    `name.weights.pt` into `out_dir` (a new temporary directory if None) and
    returns where they are. `input_shapes` fixes input shapes as `--input-shape`
    does; a 0 stated there compiles for empty tensors (a 0 that only the model
    declares is an error). Errors in the model are `RamielError`s.
    """
    from ramiel_mlir.backend.python_target import PythonTarget
    from ramiel_mlir.frontend.onnx import import_onnx

    directory = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp())
    directory.mkdir(parents=True, exist_ok=True)
    if not isinstance(model, str | os.PathLike):
        import onnx

        path = directory / f"{name}.onnx"
        onnx.save(model, path)
        model = path
    ctx = make_context()
    module = import_onnx(os.fspath(model), input_shapes)
    run_pipeline(ctx, module, pipeline(passes, lanes, cost_model, machine))
    source_path = directory / f"{name}.py"
    weights_path = source_path.with_suffix(".weights.pt")
    text = StringIO()
    PythonTarget(weights=str(weights_path)).emit(ctx, module, text)
    source_path.write_text(text.getvalue())
    return CompiledModel(source_path, weights_path)
