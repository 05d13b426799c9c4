"""
Peak memory of one call of the generated code, with and without its `del` statements.

The generated `forward` and lanes delete each intermediate after its last reader
(`backend/release.py`). This tool measures what that saves: each model of
`benchmark_batch.py` is compiled with `--parallelize=lanes=cores` at each batch size,
and the same file with its `del` statements removed (`keep`) is the comparison. One
call of each runs under `torch.profiler` with `profile_memory=True`; the peak is the
highest running total of the bytes its ops allocate and free, in call order, so it
counts the tensors a call holds at once, independent of how the C library returns
memory to the system. The calls are also timed, interleaved, to show the deletes cost
no time.

    python tools/peak_memory.py                               # every model, batch 1, 4, 8
    python tools/peak_memory.py --models googlenet --batches 4 --calls 20
    python tools/peak_memory.py --models --onnx my_model.onnx   # an ONNX file of yours
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test models

from benchmark import machine_facts, markdown_table, measure, ramiel_opt
from benchmark_batch import MODELS, export

from ramiel_mlir.api import import_generated

CORES = os.cpu_count() or 1


@dataclass
class Row:
    """One model at one batch size (memory in MiB, times in ms)."""

    model: str
    batch: int
    released_mib: float
    kept_mib: float
    released_ms: float
    kept_ms: float


class _DropDeletes(ast.NodeTransformer):
    """Removes every `del` statement (a block left empty gets `pass`)."""

    def visit_Delete(self, node: ast.Delete) -> None:
        return None

    def generic_visit(self, node: ast.AST) -> ast.AST:
        super().generic_visit(node)
        if getattr(node, "body", None) == []:
            node.body = [ast.Pass()]  # pyright: ignore[reportAttributeAccessIssue]
        return node


def without_deletes(source: Path, target: Path) -> None:
    """`source` with its `del` statements removed, written to `target` with its weights."""
    tree = _DropDeletes().visit(ast.parse(source.read_text()))
    target.write_text(ast.unparse(ast.fix_missing_locations(tree)))
    weights = source.with_suffix(".weights.pt")
    shutil.copyfile(weights, target.with_suffix(".weights.pt"))


def peak_mib(function: Any) -> float:
    """The most memory (MiB) that one call of `function` holds allocated at once."""
    function()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        function()
    events = sorted(
        (e for e in prof.events() or [] if e.self_cpu_memory_usage),
        key=lambda e: e.time_range.start,
    )
    held = peak = 0
    for event in events:
        held += event.self_cpu_memory_usage
        peak = max(peak, held)
    return peak / 2**20


def compare(name: str, batch: int, released_py: Path, calls: int) -> Row:
    """Measure the compiled `released_py` against itself without its `del` statements."""
    kept_py = released_py.with_name(released_py.stem.replace("_released", "") + "_kept.py")
    without_deletes(released_py, kept_py)
    released = import_generated(released_py).load_model()
    kept = import_generated(kept_py).load_model()
    torch.manual_seed(0)
    inputs = [torch.randn(shape) for shape in input_shapes(released_py)]
    functions = {"released": lambda: released(*inputs), "kept": lambda: kept(*inputs)}
    with torch.inference_mode():
        torch.set_num_threads(CORES)
        if not torch.equal(released(*inputs), kept(*inputs)):
            raise RuntimeError(f"{name}: the code without deletes computes another result")
        peaks = {key: peak_mib(function) for key, function in functions.items()}
        times = measure(functions, dict.fromkeys(functions, CORES), calls)
    return Row(
        model=name,
        batch=batch,
        released_mib=peaks["released"],
        kept_mib=peaks["kept"],
        released_ms=times["released"],
        kept_ms=times["kept"],
    )


def input_shapes(source: Path) -> list[tuple[int, ...]]:
    """The input shapes the generated file checks (`_check_input(name, x, shape, dtype)`)."""
    check = r"_check_input\(\"[^\"]*\", \w+, \(([\d, ]*)\), torch\.float32\)"
    calls = re.findall(check, source.read_text())
    return [tuple(int(d) for d in call.split(",") if d.strip()) for call in calls]


def compile_batch_model(name: str, batch: int, work: Path) -> Path:
    """A `benchmark_batch.py` model compiled by `--parallelize` for one batch size."""
    _, shape = MODELS[name]
    released_py = work / f"{name}_b{batch}_released.py"
    full_shape = ",".join(map(str, (batch, *shape)))
    ramiel_opt(
        str(export(name, work)),
        "--input-shape",
        f"x={full_shape}",
        f"--parallelize=lanes={CORES}",
        "-t",
        "python",
        "-o",
        str(released_py),
    )
    return released_py


def compile_onnx(path: Path, work: Path) -> Path:
    """An ONNX file (static float32 inputs) compiled by `--parallelize`."""
    released_py = work / f"{path.stem}_released.py"
    ramiel_opt(str(path), f"--parallelize=lanes={CORES}", "-t", "python", "-o", str(released_py))
    return released_py


def table(rows: list[Row]) -> str:
    """The Markdown table of the results."""
    header = ["model", "batch", "peak, all kept (MiB)", "peak, released (MiB)"]
    header += ["kept / released", "time, kept (ms)", "time, released (ms)"]
    cells = [
        [
            r.model,
            str(r.batch),
            f"{r.kept_mib:.1f}",
            f"{r.released_mib:.1f}",
            f"{r.kept_mib / r.released_mib:.1f}x",
            f"{r.kept_ms:.2f}",
            f"{r.released_ms:.2f}",
        ]
        for r in rows
    ]
    return markdown_table(header, cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 4, 8])
    parser.add_argument(
        "--onnx", nargs="*", type=Path, default=[], help="more models: ONNX files, as they are"
    )
    parser.add_argument("--calls", type=int, default=20, help="timed calls of each variant")
    parser.add_argument("--work", type=Path, default=Path("build/peak_memory"))
    parser.add_argument("--out", type=Path, default=Path("docs/peak-memory.json"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    rows = [
        compare(m, b, compile_batch_model(m, b, args.work), args.calls)
        for m in args.models
        for b in args.batches
    ]
    for path in args.onnx:
        source = compile_onnx(path, args.work)
        rows.append(compare(path.stem, input_shapes(source)[0][0], source, args.calls))
    print(table(rows))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    record = {"machine": machine_facts(), "rows": [asdict(r) for r in rows]}
    args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
