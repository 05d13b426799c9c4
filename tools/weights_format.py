"""
Compare weights-file writers: the project's torch-free one, `torch.save`, safetensors.

    python tools/weights_format.py [--model inception_v1] [--rounds 7]

For one of the onnx wheel's light models (seeded weights, `tests/zoo/light.py`) it
measures, on this machine:
- the import each writer needs, in a fresh interpreter (`python -c "import X"`, median);
- writing the model's state dict, in one process, interleaved (A B C A B C ...), median;
- the whole compile (`ramiel-opt M.onnx --parallelize=lanes=2 -t python -o F`), with
  the project's writer and with `torch.save` in its place, interleaved, median;
- loading each file the way a generated file would (`torch.load(weights_only=True)`,
  `safetensors.torch.load_file`), interleaved, median.
safetensors is measured if it is importable (it is not a dependency of the project).
Prints a table and writes docs/weights-format.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the test models

COMPILE = """
import sys
from ramiel_mlir.driver import main
if sys.argv[1] == "torch.save":
    import warnings
    import torch
    warnings.filterwarnings("ignore", "The given NumPy array is not writable")
    from ramiel_mlir.backend import python_target
    def write_weights(module, path):
        state = {name: torch.from_numpy(array) for name, (_, array) in
                 python_target.buffer_arrays(module).items()}
        torch.save(state, path)
    python_target.write_weights = write_weights
sys.exit(main(sys.argv[2:]))
"""


def _fresh(code: str, *args: str) -> float:
    """Seconds of `python -c code args` in a fresh interpreter."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *args], check=True)
    return time.perf_counter() - start


def _interleaved(runs: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """The median seconds of each run, called in turn `rounds` times after one warm-up."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for index in range(rounds + 1):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            if index:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def _has_safetensors() -> bool:
    try:
        import safetensors.numpy  # noqa: F401  # pyright: ignore[reportMissingImports]
    except ImportError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description="Compare weights-file writers.")
    parser.add_argument("--model", default="inception_v1")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    from zoo.light import light_model

    from ramiel_mlir.api import make_context
    from ramiel_mlir.backend.python_target import buffer_arrays, lower_if_needed
    from ramiel_mlir.backend.torch_format import save_state_dict
    from ramiel_mlir.dialects import py
    from ramiel_mlir.frontend.onnx import import_onnx

    work = Path(tempfile.mkdtemp(prefix="weights-format-"))
    model = light_model(args.model, work)
    module = import_onnx(str(model))
    lower_if_needed(make_context(), module)
    state = buffer_arrays(next(op for op in module.ops if isinstance(op, py.ModuleOp)))
    megabytes = sum(array.nbytes for _, array in state.values()) / 1e6
    safetensors = _has_safetensors()

    imports = {
        "ramiel_mlir.backend.torch_format": "import ramiel_mlir.backend.torch_format",
        "torch": "import torch",
    }
    if safetensors:
        imports["safetensors.numpy"] = "import safetensors.numpy"
    import_times = {
        name: statistics.median(_fresh(code) for _ in range(args.rounds))
        for name, code in imports.items()
    }
    baseline = statistics.median(_fresh("pass") for _ in range(args.rounds))

    import warnings

    import torch

    warnings.filterwarnings("ignore", "The given NumPy array is not writable")
    tensors = {name: torch.from_numpy(array) for name, (_, array) in state.items()}
    arrays = {name: np.ascontiguousarray(array) for name, (_, array) in state.items()}
    files = {name: work / f"weights.{name}" for name in ("ramiel", "torch.save", "safetensors")}
    writers: dict[str, Callable[[], object]] = {
        "ramiel": lambda: save_state_dict(files["ramiel"], state),
        "torch.save": lambda: torch.save(tensors, files["torch.save"]),
    }
    if safetensors:
        from safetensors.numpy import save_file  # pyright: ignore[reportMissingImports]

        writers["safetensors"] = lambda: save_file(arrays, str(files["safetensors"]))
    write_times = _interleaved(writers, args.rounds)

    loaders: dict[str, Callable[[], object]] = {
        "ramiel": lambda: torch.load(files["ramiel"], weights_only=True),
        "torch.save": lambda: torch.load(files["torch.save"], weights_only=True),
    }
    if safetensors:
        from safetensors.torch import load_file  # pyright: ignore[reportMissingImports]

        loaders["safetensors"] = lambda: load_file(str(files["safetensors"]))
    load_times = _interleaved(loaders, args.rounds)

    out = work / "model_par.py"
    command = [str(model), "--parallelize=lanes=2", "-t", "python", "-o", str(out)]
    compiles = _interleaved(
        {
            writer: lambda writer=writer: _fresh(COMPILE, writer, *command)
            for writer in ("ramiel", "torch.save")
        },
        max(3, args.rounds // 2),
    )

    rows = {
        name: {
            "import_s": round(import_times.get(module_name, 0.0) - baseline, 3),
            "write_s": round(write_times[name], 3),
            "load_s": round(load_times[name], 3),
            "bytes": files[name].stat().st_size,
            "compile_s": round(compiles[name], 3) if name in compiles else None,
        }
        for name, module_name in (
            ("ramiel", "ramiel_mlir.backend.torch_format"),
            ("torch.save", "torch"),
            ("safetensors", "safetensors.numpy"),
        )
        if name in writers
    }
    print(f"{args.model}: {len(state)} tensors, {megabytes:.1f} MB; {os.cpu_count()} cores")
    header = ("writer", "import s", "write s", "load s", "compile s", "bytes")
    print("{:<12} {:>9} {:>8} {:>7} {:>10} {:>11}".format(*header))
    for name, row in rows.items():
        compile_s = f"{row['compile_s']:.2f}" if row["compile_s"] is not None else "-"
        print(
            f"{name:<12} {row['import_s']:>9.3f} {row['write_s']:>8.3f} {row['load_s']:>7.3f} "
            f"{compile_s:>10} {row['bytes']:>11}"
        )
    result = {"model": args.model, "tensors": len(state), "megabytes": megabytes, "rows": rows}
    (ROOT / "docs" / "weights-format.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
