"""
Benchmark Ramiel's parallel code against serial code and ONNX Runtime.

For every model, the rows of shared/BENCHMARKING.md, measured in one process,
interleaved (A B C D A B C D ...) after a warm-up, medians of at least `--calls`
calls (more for fast models, so that each configuration runs `--min-seconds`), in
`--rounds` rounds of which the median is reported; each round goes over every
model, so a model's rounds are minutes apart:

1. serial generated code, 1 intra-op thread (the baseline);
2. serial generated code, intra-op threads = cores;
3. Ramiel (`--parallelize=lanes=cores`): lanes on 1 intra-op thread each, or one
   lane with the cores' intra-op threads when it falls back (a one-lane plan is
   compiled when it loads: oneDNN Graph, else TorchScript; `fuse-onednn-graph`);
4. ONNX Runtime, default session options, timed in its own interleaved block
   against the baseline: its spin-waiting pool would slow the next configuration;
5. the bound min(cores, work / critical path), from the profiled per-node times
   (`estimate-cost{model=profile}`) and from the analytic `flops` model;
6. the thread ceiling: how much throughput the serial 1-thread code gains when
   `cores` Python threads each run whole calls of it at once. No split into lanes
   can beat it: it is what the GIL (and memory bandwidth) leave of the cores;
7. Ramiel before issue 12 (`BEFORE`: main's `parallelize` pipeline, without
   fold-batchnorm and assign-layout, whose generated code is main's), interleaved
   with the others;
8. `torch.compile` (inductor, `torch._inductor.config.freezing = True`) of the
   serial generated module, on `cores` threads, and its compile time (the first
   call); `--no-torch-compile` leaves it out (it takes 20 to 60 s a model).

Compile time is the wall time of the `ramiel-opt --parallelize` process. Writes a
Markdown table to stdout, JSON and a PNG plot under `--out`.

    python tools/benchmark.py                       # every model
    python tools/benchmark.py --models inception_v2 inception_v3
    python tools/benchmark.py --rounds 1 --no-torch-compile --out /tmp/bench   # quick look
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test models

from zoo.light import LIGHT_MODELS, light_model
from zoo.torch_models import FULL_SIZE_MODELS, TORCH_MODELS, export

from ramiel_mlir.analysis.graph import graph_dag
from ramiel_mlir.analysis.levels import parallelism_bound
from ramiel_mlir.api import import_generated, lane_count, make_context, run_pipeline
from ramiel_mlir.dialects import dfg
from ramiel_mlir.frontend.onnx import import_onnx

ROOT = Path(__file__).resolve().parent.parent
CORES = os.cpu_count() or 1
MAX_CALLS = 1000
"""The most timed calls per configuration."""
BEFORE = (
    "fold-constants,dce,cse,estimate-cost{model=flops},linear-cluster,"
    f"merge-clusters{{lanes={CORES}}},clone,dce"
)
"""`parallelize` as it was before fold-batchnorm and assign-layout (issue 12)."""
FORCED_LANES = (
    "fold-constants,dce,cse,estimate-cost{model=profile},linear-cluster,"
    f"merge-clusters{{lanes={CORES} min-gain=0.0 runtime-costs=false}},clone,dce"
)


@dataclass
class Row:
    """One model's measurements (times in ms)."""

    model: str
    nodes: int
    clusters: int
    lanes: int
    compile_s: float
    serial_1t_ms: float
    serial_nt_ms: float
    ramiel_ms: float
    lanes_ms: float
    ort_ms: float
    speedup: float
    speedup_lanes: float
    speedup_nt: float
    speedup_ort: float
    bound_profile: float
    bound_flops: float
    thread_ceiling: float
    calls: int
    max_error: float
    before_ms: float = math.nan
    """Ramiel before issue 12 (`BEFORE`), intra-op threads = cores."""
    torch_compile_ms: float = math.nan
    torch_compile_s: float = math.nan
    """The first call of the torch.compile'd module: compiling it."""
    ort_over_ramiel: float = math.nan
    ort_over_before: float = math.nan


def model_path(name: str, directory: Path) -> Path:
    """The ONNX file of a light model or of a project model (dynamo export)."""
    if name in LIGHT_MODELS:
        return light_model(name, directory)
    path = directory / f"{name}.onnx"
    if not path.exists():
        export(name, path, dynamo=True)
    return path


def ramiel_opt(*args: str) -> float:
    """Run ramiel-opt; return its wall time in seconds."""
    command = [str(Path(sys.executable).with_name("ramiel-opt")), *args]
    begin = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - begin


def bound(path: Path, model: str) -> tuple[float, int]:
    """min(cores, work / critical path) under a cost model, and the node count."""
    module = import_onnx(str(path))
    run_pipeline(make_context(), module, f"fold-constants,dce,cse,estimate-cost{{model={model}}}")
    graph = next(op for op in module.ops if isinstance(op, dfg.GraphOp))
    dag = graph_dag(graph).dag
    return parallelism_bound(dag, CORES), len(dag)


def cluster_count(path: Path) -> int:
    """How many linear clusters the graph has (with profiled costs)."""
    module = import_onnx(str(path))
    run_pipeline(
        make_context(), module, "fold-constants,dce,cse,estimate-cost{model=profile},linear-cluster"
    )
    return sum(1 for op in module.walk() if isinstance(op, dfg.ClusterOp))


def measure(
    functions: dict[str, Any], threads: dict[str, int], calls: int, warmup: int = 5
) -> dict[str, float]:
    """Median wall time (ms) of each function, called interleaved (each after an untimed call)."""
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for round_ in range(warmup + calls):
        for name, function in functions.items():
            torch.set_num_threads(threads[name])
            # One untimed call first: the previous configuration's threads (ONNX
            # Runtime's spin-waiting pool, an OpenMP team) settle before timing.
            function()
            begin = time.perf_counter()
            function()
            if round_ >= warmup:
                samples[name].append((time.perf_counter() - begin) * 1000)
    return {name: statistics.median(values) for name, values in samples.items()}


def thread_ceiling(function: Any, calls: int, repeat: int = 4) -> float:
    """
    Throughput of `CORES` threads running `function` at once over one thread running it.

    Interleaved rounds: `repeat` calls alone, then `repeat` calls on each of
    `CORES` threads together (the workers are started once); the median of each.
    """
    alone: list[float] = []
    together: list[float] = []

    def calls_of(count: int) -> None:
        for _ in range(count):
            function()

    with ThreadPoolExecutor(CORES - 1) as pool:
        for round_ in range(5 + calls):
            begin = time.perf_counter()
            calls_of(repeat)
            middle = time.perf_counter()
            others = [pool.submit(calls_of, repeat) for _ in range(CORES - 1)]
            calls_of(repeat)
            for other in others:
                other.result()
            end = time.perf_counter()
            if round_ >= 5:
                alone.append(middle - begin)
                together.append(end - middle)
    return CORES * statistics.median(alone) / statistics.median(together)


def calls_for(function: Any, calls: int, min_seconds: float) -> int:
    """At least `calls`, and enough calls of `function` to take `min_seconds`."""
    function()
    begin = time.perf_counter()
    function()
    return max(calls, min(MAX_CALLS, math.ceil(min_seconds / (time.perf_counter() - begin))))


@dataclass
class Bench:
    """One model compiled, loaded and checked, with the timings of its rounds."""

    name: str
    path: Path
    lanes: int
    compile_s: float
    calls: int
    max_error: float
    functions: dict[str, Any]
    threads: dict[str, int]
    ort: dict[str, Any]
    ort_threads: dict[str, int]
    torch_compile_s: float = math.nan
    rounds: list[dict[str, float]] = field(default_factory=list[dict[str, float]])
    ort_rounds: list[dict[str, float]] = field(default_factory=list[dict[str, float]])


def compile_with_inductor(
    serial_py: Path, inputs: list[torch.Tensor], expected: np.ndarray
) -> tuple[Any, float]:
    """`torch.compile` (inductor, freezing) of the serial module, and its first call's time (s)."""
    import torch._inductor.config

    torch._inductor.config.freezing = True  # pyright: ignore[reportAttributeAccessIssue]
    module = torch.compile(import_generated(serial_py).load_model())
    with torch.inference_mode():
        torch.set_num_threads(CORES)
        begin = time.perf_counter()
        produced = module(*inputs)
        seconds = time.perf_counter() - begin
    produced = (produced[0] if isinstance(produced, tuple) else produced).numpy()
    error = float(np.abs(produced - expected).max() / max(np.abs(expected).max(), 1e-12))
    if error > 1e-3:
        raise RuntimeError(f"torch.compile's output is off by {error:.1e} of its scale")
    return module, seconds


def prepare(
    name: str, directory: Path, calls: int, min_seconds: float, torch_compile: bool = True
) -> Bench:
    """Compile, load and check one model; choose its number of calls."""
    path = model_path(name, directory)
    serial_py = directory / f"{name}_serial.py"
    parallel_py = directory / f"{name}_par.py"
    ramiel_opt(
        str(path), "--fold-constants", "--dce", "--cse", "-t", "python", "-o", str(serial_py)
    )
    compile_s = ramiel_opt(
        str(path), f"--parallelize=lanes={CORES}", "-t", "python", "-o", str(parallel_py)
    )
    lanes = lane_count(parallel_py.read_text())
    # The same pipeline with lanes forced (bare schedule): what task parallelism alone gives.
    forced_py = directory / f"{name}_lanes.py"
    ramiel_opt(str(path), "-p", FORCED_LANES, "-t", "python", "-o", str(forced_py))
    before_py = directory / f"{name}_before.py"
    ramiel_opt(str(path), "-p", BEFORE, "-t", "python", "-o", str(before_py))
    serial = import_generated(serial_py).load_model()
    parallel = import_generated(parallel_py).load_model()
    forced = import_generated(forced_py).load_model()
    before = import_generated(before_py).load_model()

    session = onnxruntime.InferenceSession(str(path))
    feeds = {
        i.name: np.random.default_rng(1).standard_normal(i.shape).astype(np.float32)
        for i in session.get_inputs()
    }
    inputs = [torch.from_numpy(v) for v in feeds.values()]
    expected = np.asarray(session.run(None, feeds)[0])

    def baseline() -> Any:
        return serial(*inputs)

    with torch.inference_mode():
        torch.set_num_threads(CORES)
        produced = parallel(*inputs)
        produced = (produced[0] if isinstance(produced, tuple) else produced).numpy()
        error = float(np.abs(produced - expected).max() / max(np.abs(expected).max(), 1e-12))
        # A sub-millisecond model gets more calls: on a shared machine a burst of
        # other work can cover 20 of them.
        calls = calls_for(baseline, calls, min_seconds)
    functions = {
        "serial_1t": baseline,
        "serial_nt": baseline,
        "ramiel": lambda: parallel(*inputs),
        "lanes": lambda: forced(*inputs),
        "before": lambda: before(*inputs),
    }
    compile_seconds = math.nan
    if torch_compile:
        compiled, compile_seconds = compile_with_inductor(serial_py, inputs, expected)
        functions["torch_compile"] = lambda: compiled(*inputs)
    # ONNX Runtime's intra-op pool keeps spinning on the other core for
    # milliseconds after each run, which slowed the next two-thread torch
    # configuration (inception_block: 1.33x alone, 0.88x to 1.32x next to
    # ORT). So ORT is timed in its own block, interleaved with the baseline.
    return Bench(
        name=name,
        path=path,
        lanes=lanes,
        compile_s=compile_s,
        calls=calls,
        max_error=error,
        functions=functions,
        threads={name: CORES for name in functions} | {"serial_1t": 1},
        ort={"serial_1t": baseline, "ort": lambda: session.run(None, feeds)},
        ort_threads={"serial_1t": 1, "ort": CORES},
        torch_compile_s=compile_seconds,
    )


def measure_round(bench: Bench) -> None:
    """One round of one model: the torch configurations, then ONNX Runtime's block."""
    with torch.inference_mode():
        bench.rounds.append(measure(bench.functions, bench.threads, bench.calls))
        bench.ort_rounds.append(measure(bench.ort, bench.ort_threads, bench.calls))


def finish(bench: Bench) -> Row:
    """The row of one measured model: medians of its rounds, its ceiling and bounds."""
    times = {name: statistics.median(r[name] for r in bench.rounds) for name in bench.functions}
    ort_ms = statistics.median(r["ort"] for r in bench.ort_rounds)
    ort_speedup = statistics.median(r["serial_1t"] / r["ort"] for r in bench.ort_rounds)
    with torch.inference_mode():
        torch.set_num_threads(1)
        ceiling = thread_ceiling(bench.functions["serial_1t"], bench.calls)
    bound_profile, nodes = bound(bench.path, "profile")
    bound_flops, _ = bound(bench.path, "flops")
    return Row(
        model=bench.name,
        nodes=nodes,
        clusters=cluster_count(bench.path),
        lanes=bench.lanes,
        compile_s=bench.compile_s,
        serial_1t_ms=times["serial_1t"],
        serial_nt_ms=times["serial_nt"],
        ramiel_ms=times["ramiel"],
        lanes_ms=times["lanes"],
        ort_ms=ort_ms,
        speedup=times["serial_1t"] / times["ramiel"],
        speedup_lanes=times["serial_1t"] / times["lanes"],
        speedup_nt=times["serial_1t"] / times["serial_nt"],
        speedup_ort=ort_speedup,
        bound_profile=bound_profile,
        bound_flops=bound_flops,
        thread_ceiling=ceiling,
        calls=bench.calls,
        max_error=bench.max_error,
        before_ms=times["before"],
        torch_compile_ms=times.get("torch_compile", math.nan),
        torch_compile_s=bench.torch_compile_s,
        # ORT's block is timed against serial 1T: its time over Ramiel's goes through that.
        ort_over_ramiel=times["serial_1t"] / times["ramiel"] / ort_speedup,
        ort_over_before=times["serial_1t"] / times["before"] / ort_speedup,
    )


def markdown_table(header: list[str], rows: list[list[str]], numeric_from: int = 1) -> str:
    """A Markdown table; the columns from `numeric_from` on are right-aligned."""
    rule = ["---" if i < numeric_from else "---:" for i in range(len(header))]
    return "\n".join(f"| {' | '.join(cells)} |" for cells in [header, rule, *rows])


def table(rows: list[Row]) -> str:
    """The Markdown table of the results."""
    lines = [
        "| model | nodes | clusters | lanes | compile (s) | serial 1T (ms) | serial "
        f"{CORES}T (ms) | Ramiel (ms) | {CORES} lanes forced (ms) | ORT (ms) | Ramiel speedup "
        f"| lanes forced speedup | serial {CORES}T speedup | ORT speedup | bound (profile) "
        f"| bound (flops) | Ramiel / bound | {CORES} threads ceiling |",
        "|---|" + "---:|" * 17,
    ]
    for r in rows:
        lines.append(
            f"| {r.model} | {r.nodes} | {r.clusters} | {r.lanes} | {r.compile_s:.2f} | "
            f"{r.serial_1t_ms:.1f} | {r.serial_nt_ms:.1f} | {r.ramiel_ms:.1f} | "
            f"{r.lanes_ms:.1f} | {r.ort_ms:.1f} | {r.speedup:.2f}x | {r.speedup_lanes:.2f}x | "
            f"{r.speedup_nt:.2f}x | {r.speedup_ort:.2f}x | "
            f"{r.bound_profile:.2f} | {r.bound_flops:.2f} | {r.speedup / r.bound_profile:.0%} | "
            f"{r.thread_ceiling:.2f} |"
        )
    return "\n".join(lines)


def comparison_table(rows: list[Row]) -> str:
    """Ramiel before and after issue 12 against ONNX Runtime and torch.compile."""
    lines = [
        "| model | Ramiel before (ms) | Ramiel after (ms) | after / before | ORT (ms) "
        "| ORT / Ramiel before | ORT / Ramiel after | torch.compile (ms) | torch.compile "
        "compile (s) | torch.compile / Ramiel after | Ramiel compile (s) |",
        "|---|" + "---:|" * 10,
    ]
    for r in rows:
        lines.append(
            f"| {r.model} | {r.before_ms:.1f} | {r.ramiel_ms:.1f} | "
            f"{r.ramiel_ms / r.before_ms:.2f} | {r.ort_ms:.1f} | {r.ort_over_before:.2f} | "
            f"{r.ort_over_ramiel:.2f} | {r.torch_compile_ms:.1f} | {r.torch_compile_s:.0f} | "
            f"{r.torch_compile_ms / r.ramiel_ms:.2f} | {r.compile_s:.2f} |"
        )
    convolutional = [r for r in rows if r.model not in NOT_CONVOLUTIONAL]
    if convolutional:
        mean = math.exp(statistics.fmean(math.log(r.ort_over_ramiel) for r in convolutional))
        before = math.exp(statistics.fmean(math.log(r.ort_over_before) for r in convolutional))
        lines.append("")
        lines.append(
            f"Geometric mean of ORT / Ramiel over the {len(convolutional)} convolutional "
            f"networks: {before:.2f} before, {mean:.2f} after."
        )
    return "\n".join(lines)


NOT_CONVOLUTIONAL = frozenset({"transformer_block"})
"""Benchmark models that are not convolutional networks (left out of the geometric mean)."""


def speedup_bars(
    labels: list[str], series: list[tuple[str, list[float]]], title: str, path: Path
) -> None:
    """A bar chart of speedups over serial 1-thread code: one group of bars per label."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.arange(len(labels))
    width = 0.16
    figure, axes = plt.subplots(figsize=(max(8, len(labels) * 1.0), 4.5))
    for index, (label, values) in enumerate(series):
        axes.bar(x + (index - (len(series) - 1) / 2) * width, values, width, label=label)
    axes.axhline(1.0, color="black", linewidth=0.8)
    axes.set_xticks(x, labels, rotation=30, ha="right")
    axes.set_ylabel("speedup over serial, 1 thread")
    axes.set_title(title)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def plot(rows: list[Row], path: Path) -> None:
    """A bar chart of the speedups over serial 1-thread code, with the bound."""
    series = [
        ("Ramiel (parallelize)", [r.speedup for r in rows]),
        (f"{CORES} lanes forced", [r.speedup_lanes for r in rows]),
        (f"serial, {CORES} intra-op threads", [r.speedup_nt for r in rows]),
        ("ONNX Runtime", [r.speedup_ort for r in rows]),
        ("bound (profile)", [r.bound_profile for r in rows]),
    ]
    title = f"Batch 1, {CORES} cores ({platform.processor() or platform.machine()})"
    speedup_bars([r.model for r in rows], series, title, path)


def cpu_model() -> str:
    """`lscpu`'s model name, else the platform's processor string."""
    try:
        output = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or platform.machine()
    for line in output.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine_facts() -> dict[str, Any]:
    """What a benchmark's JSON records of the machine it ran on."""
    return {
        "cores": CORES,
        "processor": platform.processor() or platform.machine(),
        "cpu": cpu_model(),
        "isa": torch.backends.cpu.get_cpu_capability(),
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "torch_threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--models", nargs="*", default=[*LIGHT_MODELS, *TORCH_MODELS, *FULL_SIZE_MODELS]
    )
    parser.add_argument("--calls", type=int, default=20, help="the fewest timed calls")
    parser.add_argument(
        "--min-seconds",
        type=float,
        default=0.5,
        help="more calls for fast models: each configuration is timed this long at least",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="measure this often; report the median round"
    )
    parser.add_argument(
        "--no-torch-compile",
        dest="torch_compile",
        action="store_false",
        help="leave out torch.compile (it compiles each model for 20 to 60 s)",
    )
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "bench")
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    benches = []
    for name in args.models:
        print(f"compiling {name} ...", file=sys.stderr, flush=True)
        benches.append(prepare(name, args.work, args.calls, args.min_seconds, args.torch_compile))
    # Rounds go over every model in turn, so that each model's rounds are minutes
    # apart: a burst of other work on this shared machine lasts seconds to a
    # minute, and then slows at most one of a model's rounds, which the median
    # keeps out.
    for round_ in range(args.rounds):
        for bench in benches:
            print(f"round {round_ + 1}: {bench.name} ...", file=sys.stderr, flush=True)
            measure_round(bench)
    rows = []
    for bench in benches:
        rows.append(finish(bench))
        print(table(rows[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
    print(table(rows))
    print()
    print(comparison_table(rows))
    machine = machine_facts() | {
        "calls": args.calls,
        "min_seconds": args.min_seconds,
        "rounds": args.rounds,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "benchmarks.json").write_text(
        json.dumps({"machine": machine, "rows": [asdict(r) for r in rows]}, indent=2) + "\n"
    )
    plot(rows, args.out / "benchmarks.png")


if __name__ == "__main__":
    main()
