"""
`make demo`: compile a bundled model with ramiel-opt, run it, and compare.

The model is the onnx wheel's inception_v1 (GoogLeNet) with seeded random
weights. It is compiled twice with the real command line, serially and with
`--parallelize=lanes=2`; both generated files run against ONNX Runtime on the
same input, and their latencies are measured interleaved (BENCHMARKING.md).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test models

from zoo.light import light_model

from ramiel_mlir.api import import_generated, lane_count

ROOT = Path(__file__).resolve().parent.parent

LANES_OF_ONE_THREAD = (
    "fold-constants,dce,estimate-cost,linear-cluster,"
    "merge-clusters{lanes=2 runtime-costs=false},clone,dce"
)
"""A plan of two lanes of one intra-op thread each, whatever the estimates prefer."""


def ramiel_opt(*args: str) -> float:
    """Run ramiel-opt with `args`; return its wall time in seconds."""
    command = [str(Path(sys.executable).with_name("ramiel-opt")), *args]
    begin = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - begin


def latencies(
    models: dict[str, torch.nn.Module], x: torch.Tensor, calls: int, threads: dict[str, int]
) -> dict[str, float]:
    """Median latency (ms) of each model, measured interleaved after a warm-up."""
    samples: dict[str, list[float]] = {name: [] for name in models}
    with torch.inference_mode():
        for round_ in range(calls + 5):
            for name, model in models.items():
                torch.set_num_threads(threads[name])
                begin = time.perf_counter()
                model(x)
                if round_ >= 5:
                    samples[name].append((time.perf_counter() - begin) * 1000)
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="inception_v1")
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "demo")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    path = light_model(args.model, args.out)
    nodes = len(onnx.load(path, load_external_data=False).graph.node)
    print(f"model: {path.name} ({nodes} ONNX nodes, random weights, seed 0)")
    serial_py, parallel_py = args.out / f"{args.model}.py", args.out / f"{args.model}_par.py"
    serial_time = ramiel_opt(
        str(path), "--fold-constants", "--dce", "-t", "python", "-o", str(serial_py)
    )
    print(
        f"$ ramiel-opt {path.name} --fold-constants --dce -t python -o {serial_py.name}"
        f"   [{serial_time:.2f} s]"
    )
    parallel_time = ramiel_opt(
        str(path), "--parallelize=lanes=2", "-t", "python", "-o", str(parallel_py)
    )
    print(
        f"$ ramiel-opt {path.name} --parallelize=lanes=2 -t python -o {parallel_py.name}"
        f"   [{parallel_time:.2f} s]"
    )
    source = parallel_py.read_text()
    lanes = lane_count(source)
    plan = f"{lanes} lanes" if lanes > 1 else "one lane with 2 intra-op threads (estimated faster)"
    print(f"  {source.splitlines()[0]}\n  plan: {plan}")

    session = onnxruntime.InferenceSession(str(path))
    feed = session.get_inputs()[0]
    x = np.random.default_rng(1).standard_normal(feed.shape).astype(np.float32)
    expected = np.asarray(session.run(None, {feed.name: x})[0])
    serial = import_generated(serial_py).load_model()
    parallel = import_generated(parallel_py).load_model()
    tensor = torch.from_numpy(x)
    with torch.inference_mode():
        torch.set_num_threads(1)
        serial_out = serial(tensor).numpy()
        parallel_out = parallel(tensor).numpy()
    scale = float(np.abs(expected).max())
    print(
        f"max |error| vs ONNX Runtime: serial {np.abs(serial_out - expected).max():.2e}, "
        f"parallel {np.abs(parallel_out - expected).max():.2e} (output scale {scale:.2e})"
    )
    # Bitwise equality holds for lanes of one intra-op thread each, against serial code
    # on one thread; a plan with 2 intra-op threads splits sums differently, and a
    # one-lane plan compiled at load (fuse-onednn-graph) runs fused kernels.
    lanes_py = args.out / f"{args.model}_lanes.py"
    ramiel_opt(str(path), "-p", LANES_OF_ONE_THREAD, "-t", "python", "-o", str(lanes_py))
    lanes_model = import_generated(lanes_py).load_model()
    with torch.inference_mode():
        torch.set_num_threads(1)
        lanes_out = lanes_model(tensor).numpy()
    lanes_used = lane_count(lanes_py.read_text())
    print(
        f"{lanes_used} lanes of one thread each (-p '{LANES_OF_ONE_THREAD}') == serial on "
        f"one thread, bitwise: {np.array_equal(serial_out, lanes_out)}"
    )
    if lanes <= 1:
        print(
            f"the chosen plan, {plan}, vs serial on one thread: max |difference| "
            f"{np.abs(serial_out - parallel_out).max():.2e} (intra-op threads split sums "
            "differently, and a lane compiled at load runs fused kernels: bitwise equality "
            "is promised for eager lanes of one thread)"
        )

    timings = latencies(
        {"serial, 1 thread": serial, "serial, 2 threads": serial, "ramiel parallelize": parallel},
        tensor,
        args.calls,
        {"serial, 1 thread": 1, "serial, 2 threads": 2, "ramiel parallelize": 2},
    )
    base = timings["serial, 1 thread"]
    print(f"latency (median of {args.calls} interleaved calls):")
    for name, value in timings.items():
        print(f"  {name:<18} {value:7.2f} ms   {base / value:4.2f}x")


if __name__ == "__main__":
    main()
