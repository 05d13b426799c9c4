"""
A Gantt chart per lane: the cost model's planned schedule above a measured trace.

The planned schedule is `analysis/timeline.py:planned_timeline` of the compiled
graph (`dfg.cost` per node, the lanes `merge-clusters` chose, the hand-over
cost); the measured one is a call traced by the generated file itself
(`python model_par.py --trace out.json`). Both share the time axis. Measured
node bars are coloured by how far the estimate was off (red: slower than
planned, blue: faster), and the waits for values from other lanes are grey, so
that a person sees at a glance where lanes wait and where the estimate was wrong.
It also prints the nodes whose estimates were furthest off.

    python tools/schedule_chart.py googlenet --lanes 2 -o docs/schedule-googlenet.png
    python tools/schedule_chart.py model.onnx -p 'parallelize{lanes=2}' -o chart.png
    python tools/schedule_chart.py --plan plan.mlir --trace trace.json -o chart.png

A model is an `.onnx` file or a name from the test zoo (`tests/zoo`). With
`--lanes N` the pipeline is parallelize's with N lanes forced (`merge-clusters`
with `min-gain=0` and `runtime-costs=false`), so that the chart shows lanes even
where the cost model would keep one. `--plan` takes the IR printed after the
clustering passes with the node names as locations (`ramiel-opt model.onnx -p ...
--print-debuginfo -o plan.mlir`) and `--trace` a trace of the file generated from
it (`ramiel-opt plan.mlir -t python -o plan_par.py`, then `python plan_par.py
--trace out.json --calls 5`).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test models

from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser

from ramiel_mlir.analysis.timeline import PlannedNode, planned_timeline
from ramiel_mlir.api import make_context, run_pipeline
from ramiel_mlir.backend.print_python import readable
from ramiel_mlir.dialects import dfg
from ramiel_mlir.dialects.annotations import PARALLEL_ESTIMATE, SERIAL_ESTIMATE

FORCED = (
    "fold-constants,dce,cse,fold-batchnorm,estimate-cost,linear-cluster,"
    "merge-clusters{{lanes={lanes} min-gain=0.0 runtime-costs=false}},clone,dce"
)
"""The parallelize pipeline with `lanes` lanes whatever the estimates say."""


@dataclass(frozen=True)
class Measured:
    """One slice of the traced call (microseconds from the start of its `forward`)."""

    name: str
    kind: str
    op_type: str
    lane: int
    start: float
    duration: float


def model_path(model: str, work: Path) -> Path:
    """The `.onnx` file of `model`: a path, or a model of the test zoo exported into `work`."""
    if model.endswith(".onnx"):
        return Path(model)
    from zoo.light import LIGHT_MODELS, light_model
    from zoo.torch_models import TORCH_MODELS, export

    if model in LIGHT_MODELS:
        return light_model(model, work)
    if model in TORCH_MODELS:
        return export(model, work / f"{model}.onnx", dynamo=False)
    raise SystemExit(f"schedule_chart: unknown model '{model}' (a .onnx file or a zoo name)")


def graph_of(module: ModuleOp) -> dfg.GraphOp:
    """The module's one graph."""
    graphs = [op for op in module.ops if isinstance(op, dfg.GraphOp)]
    if len(graphs) != 1:
        raise SystemExit(f"schedule_chart: expected one dfg.graph, found {len(graphs)}")
    return graphs[0]


def compile_and_trace(
    model: Path, passes: str, work: Path, calls: int
) -> tuple[list[PlannedNode], str, dict[str, Any]]:
    """Compile `model` with `passes`, trace the generated file; plan, its summary, trace."""
    from ramiel_mlir.backend.python_target import PythonTarget
    from ramiel_mlir.frontend.onnx import import_onnx

    ctx = make_context()
    module = import_onnx(str(model))
    run_pipeline(ctx, module, passes)
    graph = graph_of(module)
    planned, summary = planned_timeline(graph), estimates(graph)
    source = work / f"{model.stem}_par.py"
    text = StringIO()
    PythonTarget(weights=str(source.with_suffix(".weights.pt"))).emit(ctx, module, text)
    source.write_text(text.getvalue())
    trace = work / f"{model.stem}_trace.json"
    command = [sys.executable, str(source), "--trace", str(trace), "--calls", str(calls)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return planned, summary, json.loads(trace.read_text())


def estimates(graph: dfg.GraphOp) -> str:
    """The graph's serial and parallel estimates, as merge-clusters wrote them."""
    serial, parallel = SERIAL_ESTIMATE.get(graph), PARALLEL_ESTIMATE.get(graph)
    if serial is None or parallel is None:
        return ""
    return f"estimated {parallel:.0f} us (serial {serial:.0f} us)"


def measured_call(trace: dict[str, Any]) -> tuple[list[Measured], float, int]:
    """The slices of the traced call of median length, that length, and its index."""
    events = [e for e in trace["traceEvents"] if e.get("ph") == "X"]
    calls = sorted((e for e in events if e["cat"] == "call"), key=lambda e: e["dur"])
    if not calls:
        raise SystemExit("schedule_chart: the trace has no call (was it written by --trace?)")
    call = calls[(len(calls) - 1) // 2]
    index, origin = call["args"]["call"], call["ts"]
    slices = [
        Measured(
            e["name"],
            e["cat"],
            e["args"].get("op_type", ""),
            e["tid"],
            e["ts"] - origin,
            e["dur"],
        )
        for e in events
        if e["cat"] in ("node", "wait", "send") and e["args"]["call"] == index
    ]
    return slices, call["dur"], index


def matched(
    planned: Sequence[PlannedNode], measured: Sequence[Measured]
) -> list[tuple[PlannedNode, Measured]]:
    """The planned and measured slice of each node that has both (by lane and name, in order)."""
    pending: dict[tuple[int, str], list[Measured]] = {}
    for m in measured:
        if m.kind == "node":
            pending.setdefault((m.lane, m.name), []).append(m)
    pairs = []
    for p in planned:
        found = pending.get((p.lane, readable(p.name)))
        if found:
            pairs.append((p, found.pop(0)))
    return pairs


def report(planned: Sequence[PlannedNode], measured: Sequence[Measured], top: int = 10) -> str:
    """Per lane, planned and measured busy time and waits; the nodes furthest off."""
    lines = []
    for lane in sorted({p.lane for p in planned} | {m.lane for m in measured}):
        busy = sum(p.duration for p in planned if p.lane == lane)
        ran = sum(m.duration for m in measured if m.lane == lane and m.kind == "node")
        waited = sum(m.duration for m in measured if m.lane == lane and m.kind == "wait")
        lines.append(
            f"lane {lane}: planned {busy:.0f} us of nodes; measured {ran:.0f} us of nodes, "
            f"{waited:.0f} us waiting for other lanes"
        )
    pairs = matched(planned, measured)
    worst = sorted(pairs, key=lambda pm: -abs(pm[1].duration - pm[0].duration))[:top]
    lines.append(f"the {len(worst)} nodes whose estimates were furthest off:")
    for p, m in worst:
        ratio = m.duration / p.duration if p.duration > 0 else math.inf
        lines.append(
            f"  {readable(p.name)} ({p.op_type}, lane {p.lane}): planned {p.duration:.1f} us, "
            f"measured {m.duration:.1f} us ({ratio:.2f}x)"
        )
    return "\n".join(lines)


def draw(
    planned: Sequence[PlannedNode],
    measured: Sequence[Measured],
    title: str,
    path: Path,
) -> None:
    """The two Gantt charts, planned above measured, on one time axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm
    from matplotlib.patches import Patch

    lanes = sorted({p.lane for p in planned} | {m.lane for m in measured})
    figure, (top, bottom) = plt.subplots(
        2, 1, sharex=True, figsize=(12, 1.2 + 1.1 * len(lanes) * 2), constrained_layout=True
    )
    for p in planned:
        top.broken_barh([(p.start, p.duration)], (p.lane - 0.4, 0.8), color="silver", ec="white")
    ratios = {id(m): m.duration / p.duration for p, m in matched(planned, measured) if p.duration}
    norm = LogNorm(vmin=0.25, vmax=4.0, clip=True)
    colours = plt.get_cmap("RdBu_r")
    for m in measured:
        y = (m.lane - 0.4, 0.8)
        if m.kind == "wait":
            bottom.broken_barh(
                [(m.start, m.duration)], y, color="lightgray", hatch="///", ec="gray"
            )
        elif m.kind == "node":
            colour = colours(norm(ratios[id(m)])) if id(m) in ratios else "black"
            bottom.broken_barh([(m.start, m.duration)], y, color=colour, ec="white", lw=0.3)
    for axes, label in ((top, "planned (cost model)"), (bottom, "measured (--trace)")):
        axes.set_yticks(lanes, [f"lane {lane}" for lane in lanes])
        axes.set_ylim(max(lanes) + 0.6, -0.6)
        axes.set_title(label, loc="left", fontsize=10)
    bottom.set_xlabel("microseconds from the start of the call")
    bar = figure.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=colours), ax=bottom, pad=0.01)
    bar.set_ticks([0.25, 0.5, 1.0, 2.0, 4.0], labels=["1/4", "1/2", "1", "2", "4"])
    bar.minorticks_off()
    bar.set_label("measured / planned")
    # Op types as labels, where a bar has room for one.
    span = max([p.start + p.duration for p in planned] + [m.start + m.duration for m in measured])
    for axes, bars in ((top, planned), (bottom, [m for m in measured if m.kind == "node"])):
        for b in bars:
            if b.duration > span * (len(b.op_type) + 2) / 180:
                middle = b.start + b.duration / 2
                axes.text(middle, b.lane, b.op_type, ha="center", va="center", fontsize=7)
    bottom.legend(
        handles=[Patch(facecolor="lightgray", hatch="///", edgecolor="gray", label="wait")],
        loc="upper right",
        fontsize=8,
    )
    figure.suptitle(title, fontsize=11)
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model", nargs="?", help="an .onnx file or a zoo model name")
    parser.add_argument("-p", "--passes", help="the pipeline (default: --lanes 2 forced)")
    parser.add_argument("--lanes", type=int, default=2, help="lanes forced (default 2)")
    parser.add_argument("--calls", type=int, default=5, help="traced calls; the median is drawn")
    parser.add_argument("--plan", type=Path, help="the planned IR (.mlir), with --trace")
    parser.add_argument("--trace", type=Path, help="a trace of the code generated from --plan")
    parser.add_argument("--work", type=Path, help="where models and generated files go")
    parser.add_argument("-o", "--out", type=Path, default=Path("schedule.png"))
    args = parser.parse_args()
    if args.plan is not None or args.trace is not None:
        if args.plan is None or args.trace is None or args.model is not None:
            parser.error("--plan and --trace go together, without a model")
        module = Parser(make_context(), args.plan.read_text(), str(args.plan)).parse_module()
        graph = graph_of(module)
        planned, summary = planned_timeline(graph), estimates(graph)
        trace, name = json.loads(args.trace.read_text()), args.plan.stem
    elif args.model is not None:
        work = args.work or Path(tempfile.mkdtemp(prefix="schedule-"))
        work.mkdir(parents=True, exist_ok=True)
        path = model_path(args.model, work)
        passes = args.passes or FORCED.format(lanes=args.lanes)
        planned, summary, trace = compile_and_trace(path, passes, work, args.calls)
        name = Path(args.model).stem if args.model.endswith(".onnx") else args.model
    else:
        parser.error("give a model, or --plan and --trace")
    measured, length, index = measured_call(trace)
    lanes = len({p.lane for p in planned})
    title = (
        f"{name}: {lanes} lane{'s' if lanes > 1 else ''}, {summary or 'no estimate'}; "
        f"measured {length:.0f} us (call {index}, the median of "
        f"{trace.get('otherData', {}).get('calls', '?')})"
    )
    print(title)
    print(report(planned, measured))
    draw(planned, measured, title, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
