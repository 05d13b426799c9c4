"""
Benchmark hyperclustering (batch split) at batch 2, 4 and 8 against the other plans.

Models (tests/zoo): GoogLeNet-style and ResNet-style (ResNet-18 layout) at half width
and 224x224, the Inception-v3-style net (147x147), the transformer block, and
torchvision's GoogLeNet (224x224) and Inception-v3 (299x299) at full width. Each
is exported once by the TorchScript exporter with a symbolic batch and compiled
for each batch with `--input-shape`. Configurations, measured in one process,
interleaved (A B C D E A B C D E ...) after a warm-up, medians of `--calls` calls:

1. `serial_1t`: serial generated code with parallelize's node-level passes
   (`NODE_PASSES`: folding, channels-last, fused and packed convolutions), 1 intra-op
   thread, so that every column runs the same kernels and only the plan differs;
2. `serial_2t`: the same code, intra-op threads = cores;
3. `lanes`: `--parallelize=lanes=cores,parts=1` (lanes within the whole batch,
   intra-op threads or a mix: what parallelize does without hyperclusters);
4. `hyper`: `hypercluster{parts=cores}` with one lane per slice (cluster-slices, 1
   intra-op thread a lane), each lane's nodes compiled by oneDNN Graph where
   fuse-onednn-graph can: the batch halves of issue 13;
5. `choice`: `--parallelize=lanes=cores` (parallelize chooses);
6. `ort`: ONNX Runtime with default session options, timed in its own interleaved
   block against `serial_1t` (its spinning pool slows the call that follows).

Writes a Markdown table to stdout and JSON under `--out` (docs/benchmarks-batch.json).

    python tools/benchmark_batch.py                        # every model, batch 2, 4, 8
    python tools/benchmark_batch.py --models googlenet --batches 4 --calls 10
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test models

from benchmark import machine_facts, markdown_table, measure, ramiel_opt, speedup_bars
from zoo import torch_models

from ramiel_mlir.api import import_generated

ROOT = Path(__file__).resolve().parent.parent
CORES = os.cpu_count() or 1


MODELS: dict[str, tuple[Any, tuple[int, ...]]] = {
    "googlenet": (lambda: torch_models.build("googlenet"), (3, 224, 224)),
    "resnet18": (lambda: torch_models.build("resnet"), (3, 224, 224)),
    "inception_v3": (lambda: torch_models.build("inception_v3"), (3, 147, 147)),
    "transformer_block": (lambda: torch_models.build("transformer_block"), (24, 96)),
    "googlenet_full": (lambda: torch_models.build("googlenet_full"), (3, 224, 224)),
    "inception_v3_full": (lambda: torch_models.build("inception_v3_full"), (3, 299, 299)),
}
"""Name -> (builder, input shape without the batch)."""


def export(name: str, directory: Path) -> Path:
    """The model exported once with a symbolic batch dimension."""
    path = directory / f"{name}_batch.onnx"
    if path.exists():
        return path
    build, shape = MODELS[name]
    torch.manual_seed(0)
    return torch_models.export_batched(build().eval(), shape, path)


@dataclass
class Row:
    """One model at one batch size (times in ms)."""

    model: str
    batch: int
    choice: str
    compile_s: float
    serial_1t_ms: float
    serial_2t_ms: float
    lanes_ms: float
    hyper_ms: float
    choice_ms: float
    ort_ms: float
    choice_over_1t: float
    choice_over_2t: float
    hyper_over_2t: float
    ort_over_1t: float
    max_error: float


NODE_PASSES = (
    "fold-constants,fold-batchnorm,dce,cse,fuse-channel-shuffle,assign-layout,fuse-conv-activation,"
    "fuse-sibling-convs,prepack-weights"
)
"""parallelize's passes before planning: what each node runs, the same in every column."""


def bench(name: str, batch: int, work: Path, calls: int) -> Row:
    """Compile the configurations of one model at one batch size and time them."""
    path = export(name, work)
    shape = ",".join(map(str, (batch, *MODELS[name][1])))
    forced = (
        f"{NODE_PASSES},hypercluster{{parts={CORES}}},estimate-cost,cluster-slices,"
        f"merge-clusters{{lanes={CORES} min-gain=0.0}},clone,dce,fuse-onednn-graph,prepack-weights"
    )
    pipelines = {
        "serial": ["-p", NODE_PASSES],
        "lanes": [f"--parallelize=lanes={CORES},parts=1"],
        "hyper": ["-p", forced],
        "choice": [f"--parallelize=lanes={CORES}"],
    }
    models: dict[str, Any] = {}
    compile_s = 0.0
    for config, passes in pipelines.items():
        source = work / f"{name}_b{batch}_{config}.py"
        seconds = ramiel_opt(
            str(path), "--input-shape", f"x={shape}", *passes, "-t", "python", "-o", str(source)
        )
        compile_s = seconds if config == "choice" else compile_s
        models[config] = import_generated(source).load_model()
    header = (work / f"{name}_b{batch}_choice.py").read_text().splitlines()[:2]
    choice = header[1].removeprefix("# Batch plan: ") if len(header) > 1 else header[0]
    x = np.random.default_rng(1).standard_normal((batch, *MODELS[name][1])).astype(np.float32)
    inputs = torch.from_numpy(x)
    session = onnxruntime.InferenceSession(str(path))
    with torch.inference_mode():
        torch.set_num_threads(1)
        serial = models["serial"](inputs).numpy()
        error = max(
            float(np.abs(models[c](inputs).numpy() - serial).max()) for c in ("hyper", "choice")
        ) / max(float(np.abs(serial).max()), 1e-12)
        functions = {
            "serial_1t": lambda: models["serial"](inputs),
            "serial_2t": lambda: models["serial"](inputs),
            "lanes": lambda: models["lanes"](inputs),
            "hyper": lambda: models["hyper"](inputs),
            "choice": lambda: models["choice"](inputs),
        }
        threads = {c: CORES for c in functions} | {"serial_1t": 1}
        times = measure(functions, threads, calls, warmup=3)
        ort = measure(
            {"serial_1t": functions["serial_1t"], "ort": lambda: session.run(None, {"x": x})},
            {"serial_1t": 1, "ort": CORES},
            calls,
            warmup=3,
        )
    return Row(
        model=name,
        batch=batch,
        choice=choice,
        compile_s=compile_s,
        serial_1t_ms=times["serial_1t"],
        serial_2t_ms=times["serial_2t"],
        lanes_ms=times["lanes"],
        hyper_ms=times["hyper"],
        choice_ms=times["choice"],
        ort_ms=ort["ort"],
        choice_over_1t=times["serial_1t"] / times["choice"],
        choice_over_2t=times["serial_2t"] / times["choice"],
        hyper_over_2t=times["serial_2t"] / times["hyper"],
        ort_over_1t=ort["serial_1t"] / ort["ort"],
        max_error=error,
    )


def table(rows: list[Row]) -> str:
    """The Markdown table of the rows."""
    header = ["model", "batch", "serial 1t", "serial 2t", "lanes", "hyper", "choice", "ORT"]
    header += ["choice / 1t", "choice / 2t", "hyper / 2t", "parallelize's choice"]
    cells = [
        [r.model, str(r.batch)]
        + [f"{t:.1f}" for t in (r.serial_1t_ms, r.serial_2t_ms, r.lanes_ms, r.hyper_ms)]
        + [f"{r.choice_ms:.1f}", f"{r.ort_ms:.1f}"]
        + [f"{x:.2f}x" for x in (r.choice_over_1t, r.choice_over_2t, r.hyper_over_2t)]
        + [r.choice]
        for r in rows
    ]
    return markdown_table(header, cells, numeric_from=len(header))


def plot(rows: list[Row], path: Path) -> None:
    """Bars of each configuration's speedup over serial 1-thread code, per model and batch."""
    series = [
        (f"serial, {CORES} intra-op threads", [r.serial_1t_ms / r.serial_2t_ms for r in rows]),
        ("the whole batch (parts=1)", [r.serial_1t_ms / r.lanes_ms for r in rows]),
        (f"{CORES} hyperclusters, a lane each", [r.serial_1t_ms / r.hyper_ms for r in rows]),
        ("parallelize's choice", [r.choice_over_1t for r in rows]),
        ("ONNX Runtime", [r.ort_over_1t for r in rows]),
    ]
    labels = [f"{r.model} b{r.batch}" for r in rows]
    speedup_bars(labels, series, f"Batches > 1, {CORES} cores", path)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--batches", nargs="*", type=int, default=[2, 4, 8])
    parser.add_argument("--calls", type=int, default=10, help="timed calls per configuration")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "bench-batch")
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    for name in args.models:
        for batch in args.batches:
            print(f"{name} at batch {batch} ...", file=sys.stderr, flush=True)
            rows.append(bench(name, batch, args.work, args.calls))
            print(table(rows[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
    print(table(rows))
    machine = machine_facts() | {"calls": args.calls, "load": os.getloadavg()}
    out = args.out / "benchmarks-batch.json"
    out.write_text(json.dumps({"machine": machine, "rows": [asdict(r) for r in rows]}, indent=2))
    plot(rows, args.out / "benchmarks-batch.png")


if __name__ == "__main__":
    main()
