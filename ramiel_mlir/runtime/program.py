"""
The generated file as a program: `python model_par.py --bench` and `--trace out.json`.

The file ends with `if __name__ == "__main__": _main(load_model, plan, _NODES, inputs)`,
so importing it runs none of this. `--bench` times calls on seeded random
inputs of the compiled shapes and dtypes and prints the latency and the plan.

`--trace FILE` writes a Chrome trace (the JSON that Perfetto and
chrome://tracing read): one track per lane, one slice per ONNX node, one slice
per wait for a value from another lane (`wait <channel>`) and per hand-over
(`send <channel>`), with a flow arrow from each send to its waits. The lanes'
own code has no tracing in it: `_traced_method` re-parses the source of each
lane method (or of `forward` in a serial file) with `ast`, finds each node's
statements from the file's `_NODES` table (the line where each node's code
starts), puts a clock reading before and after them and around each channel
operation, and compiles that copy, which replaces the method on the one model
instance being traced. Imported as a module, the file runs the untouched
methods.

Stdlib modules that only these functions use are imported inside them, so a
generated file's imports stay those of its model.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch


def _random_inputs(inputs: Sequence[tuple[str, Any, Any]], seed: int) -> list[Any]:
    """
    The inputs `("tensor", shape, dtype)` describes, seeded: floats standard
    normal, bools random, integers zero (a valid index on any axis); an input
    `("value", value, None)` is that value (the file gives strings, sequences
    and optionals as empty ones).
    """
    generator = torch.Generator().manual_seed(seed)
    values: list[Any] = []
    for kind, shape, dtype in inputs:
        if kind == "value":
            values.append(shape)
        elif dtype.is_floating_point or dtype.is_complex:
            values.append(torch.randn(shape, generator=generator, dtype=dtype))
        elif dtype == torch.bool:
            values.append(torch.rand(shape, generator=generator) < 0.5)
        else:
            values.append(torch.zeros(shape, dtype=dtype))
    return values


def _duration(microseconds: float) -> str:
    """`812.4 us`, `3.21 ms`."""
    if microseconds >= 1000:
        return f"{microseconds / 1000:.2f} ms"
    return f"{microseconds:.1f} us"


def _bench(
    model: Callable[..., Any], inputs: Sequence[Any], calls: int, warmup: int
) -> list[float]:
    """The latency of `calls` calls after `warmup` calls, in microseconds."""
    import time

    for _ in range(warmup):
        model(*inputs)
    times: list[float] = []
    for _ in range(calls):
        start = time.perf_counter_ns()
        model(*inputs)
        times.append((time.perf_counter_ns() - start) / 1000)
    return times


def _bench_report(times: Sequence[float], warmup: int) -> str:
    """The median and spread of `times` (microseconds), one line."""
    import statistics

    ordered = sorted(times)
    median = statistics.median(ordered)
    if len(ordered) < 4:
        spread = f"min {_duration(ordered[0])}, max {_duration(ordered[-1])}"
    else:
        low, _, high = statistics.quantiles(ordered, n=4)
        spread = (
            f"quartiles {_duration(low)} to {_duration(high)}, "
            f"min {_duration(ordered[0])}, max {_duration(ordered[-1])}"
        )
    return (
        f"latency: median {_duration(median)} over {len(times)} calls ({warmup} warm-up); {spread}"
    )


def _channel_of(node: Any, method: str) -> str | None:
    """The channel of `ch.<channel>.<method>(...)`, if `node` is that call."""
    import ast

    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    future = node.func.value
    if node.func.attr != method or not isinstance(future, ast.Attribute):
        return None
    if not (isinstance(future.value, ast.Name) and future.value.id == "ch"):
        return None
    return future.attr


def _statement_label(
    statement: Any, starts: Sequence[int], nodes: Mapping[int, tuple[str, str]]
) -> tuple[str, str, str] | None:
    """
    What a lane statement does: `("node", name, op_type)`, `("wait", channel, "")`
    (`x = ch.<channel>.result()`), `("send", channel, "")`, or None (before the
    first node, or the return).
    """
    import ast

    if isinstance(statement, ast.Assign):
        channel = _channel_of(statement.value, "result")
        if channel is not None:
            return ("wait", channel, "")
    if isinstance(statement, ast.Expr):
        channel = _channel_of(statement.value, "set_result")
        if channel is not None:
            return ("send", channel, "")
    if isinstance(statement, ast.Return):
        return None
    owner = [line for line in starts if line <= statement.lineno]
    if not owner:
        return None
    name, op_type = nodes[owner[-1]]
    return ("node", name, op_type)


def _timed_body(
    body: list[Any],
    starts: Sequence[int],
    nodes: Mapping[int, tuple[str, str]],
    labels: list[tuple[str, str, str]],
) -> list[Any]:
    """
    `body` with `_trace_t = _trace_clock()` before each node's statements (and each
    channel operation) and `_trace_log((label, _trace_t, _trace_clock()))` after
    them; `labels[label]` says what ran.
    """
    import ast

    groups: list[tuple[tuple[str, str, str] | None, list[Any]]] = []
    for statement in body:
        if isinstance(statement, ast.Delete) and groups:
            groups[-1][1].append(statement)  # freeing belongs to what ran before it
            continue
        label = _statement_label(statement, starts, nodes)
        if groups and label is not None and label[0] == "node" and groups[-1][0] == label:
            groups[-1][1].append(statement)
        else:
            groups.append((label, [statement]))
    timed: list[Any] = []
    for label, statements in groups:
        if label is None:
            timed += statements
            continue
        labels.append(label)
        before = ast.parse("_trace_t = _trace_clock()").body
        after = ast.parse(f"_trace_log(({len(labels) - 1}, _trace_t, _trace_clock()))").body
        for new in (*before, *after):
            ast.copy_location(new, statements[0])
        timed += [*before, *statements, *after]
    return timed


def _traced_method(
    function: Callable[..., Any],
    nodes: Mapping[int, tuple[str, str]],
    labels: list[tuple[str, str, str]],
    log: list[tuple[int, int, int]],
) -> Callable[..., Any]:
    """
    A copy of `function` (a lane method) that appends `(label, start ns, end ns)`
    to `log` for each node and channel operation it runs; same lines, same globals.
    """
    import ast
    import inspect
    import textwrap
    import time

    lines, first = inspect.getsourcelines(function)
    tree = ast.parse(textwrap.dedent("".join(lines)))
    ast.increment_lineno(tree, first - 1)
    definition = tree.body[0]
    assert isinstance(definition, ast.FunctionDef)
    # The nodes of the body's own statements, not those inside a loop's body.
    nested = [
        range(statement.lineno + 1, (statement.end_lineno or statement.lineno) + 1)
        for statement in definition.body
        if isinstance(statement, ast.For | ast.While | ast.If | ast.With | ast.Try)
    ]
    starts = sorted(
        line
        for line in nodes
        if first < line < first + len(lines) and not any(line in body for body in nested)
    )
    definition.body = _timed_body(definition.body, starts, nodes, labels)
    factory = ast.parse("def _trace_factory(_trace_clock, _trace_log):\n    pass").body[0]
    assert isinstance(factory, ast.FunctionDef)
    factory.body = [definition, ast.Return(ast.Name(definition.name, ast.Load()))]
    module = ast.fix_missing_locations(ast.Module([factory], []))
    namespace: dict[str, Any] = {}
    filename = inspect.getsourcefile(function) or "<generated>"
    exec(compile(module, filename, "exec"), function.__globals__, namespace)
    return namespace["_trace_factory"](time.perf_counter_ns, log.append)


def _node_methods(model: Any) -> dict[int, list[str]]:
    """
    The methods that hold the nodes, by lane: `_lane<i>` and, where the lane's nodes
    are compiled at load, `_lane<i>_nodes`; else `forward` (serial).
    """
    names = set(dir(type(model)))
    lanes = {
        int(name[5:]): [name, *([f"{name}_nodes"] if f"{name}_nodes" in names else [])]
        for name in names
        if name.startswith("_lane") and name[5:].isdigit()
    }
    return lanes or {0: ["forward"]}


def _trace_events(
    lanes: Mapping[int, list[tuple[tuple[str, str, str], int, int]]],
    calls: Sequence[tuple[int, int]],
) -> list[dict[str, Any]]:
    """
    The Chrome trace events of the traced calls: a `forward` slice per call on
    lane 0, a slice per node, wait and send, and a flow from each send to the
    waits for its value in the same call. Times in microseconds from the first call.
    """
    import bisect

    origin = calls[0][0] if calls else 0
    starts = [start for start, _ in calls]
    events: list[dict[str, Any]] = []
    sends: dict[tuple[int, str], tuple[int, int]] = {}
    waits: list[tuple[int, str, int, int]] = []
    for index, (start, end) in enumerate(calls):
        events.append(
            _trace_slice("forward", "call", 0, start - origin, end - start, {"call": index})
        )
    for lane, entries in lanes.items():
        for (kind, name, op_type), start, end in entries:
            call = max(bisect.bisect_right(starts, start) - 1, 0)
            args: dict[str, Any] = {"call": call}
            if kind == "node":
                args["op_type"] = op_type
                title = name
            else:
                args["channel"] = name
                title = f"{kind} {name}"
                if kind == "send":
                    sends[call, name] = (lane, start)
                else:
                    waits.append((call, name, lane, start))
            events.append(_trace_slice(title, kind, lane, start - origin, end - start, args))
    for flow, (call, channel, lane, start) in enumerate(waits):
        if (call, channel) not in sends:
            continue
        sender, sent = sends[call, channel]
        common = {"name": channel, "cat": "channel", "id": flow, "pid": 1}
        events.append({**common, "ph": "s", "tid": sender, "ts": (sent - origin) / 1000})
        events.append({**common, "ph": "f", "bp": "e", "tid": lane, "ts": (start - origin) / 1000})
    return events


def _trace_slice(
    name: str, category: str, lane: int, start: int, duration: int, args: dict[str, Any]
) -> dict[str, Any]:
    """A complete ("X") event on lane `lane`'s track; times in nanoseconds."""
    return {
        "name": name,
        "cat": category,
        "ph": "X",
        "pid": 1,
        "tid": lane,
        "ts": start / 1000,
        "dur": duration / 1000,
        "args": args,
    }


def _trace(
    model: Any,
    inputs: Sequence[Any],
    nodes: Mapping[int, tuple[str, str]],
    calls: int,
    warmup: int,
) -> tuple[list[dict[str, Any]], int]:
    """Run `calls` traced calls (after `warmup`) with traced lane methods; events and lanes."""
    import time
    import types

    methods = _node_methods(model)
    logs: dict[int, list[tuple[int, int, int]]] = {lane: [] for lane in methods}
    labels: list[tuple[str, str, str]] = []
    # A lane compiled at load is an attribute of the instance: traced, its eager method
    # runs instead (the nodes one by one), and the compiled one is put back after.
    compiled = {name: model.__dict__.get(name) for names in methods.values() for name in names}
    for lane, names in methods.items():
        for name in names:
            function = getattr(type(model), name)
            traced = _traced_method(function, nodes, labels, logs[lane])
            setattr(model, name, types.MethodType(traced, model))
    try:
        for _ in range(warmup):
            model(*inputs)
        for log in logs.values():
            log.clear()
        windows: list[tuple[int, int]] = []
        for _ in range(calls):
            start = time.perf_counter_ns()
            model(*inputs)
            windows.append((start, time.perf_counter_ns()))
    finally:
        for name, function in compiled.items():
            delattr(model, name)
            if function is not None:
                setattr(model, name, function)
    entries = {
        lane: [(labels[label], start, end) for label, start, end in log]
        for lane, log in logs.items()
    }
    return _trace_events(entries, windows), len(methods)


def _track_names(lanes: int, title: str) -> list[dict[str, Any]]:
    """The metadata events that name the process and one track per lane."""
    events: list[dict[str, Any]] = [
        {"name": "process_name", "ph": "M", "pid": 1, "tid": 0, "args": {"name": title}}
    ]
    for lane in range(lanes):
        where = "calling thread" if lane == 0 else "worker thread"
        events.append(
            {
                "name": "thread_name",
                "ph": "M",
                "pid": 1,
                "tid": lane,
                "args": {"name": f"lane {lane} ({where})"},
            }
        )
        events.append(
            {
                "name": "thread_sort_index",
                "ph": "M",
                "pid": 1,
                "tid": lane,
                "args": {"sort_index": lane},
            }
        )
    return events


def _main(
    load_model: Callable[..., Any],
    plan: str,
    nodes: Mapping[int, tuple[str, str]],
    inputs: Sequence[tuple[str, Any, Any]],
) -> None:
    """`python model.py --bench [--calls N]` or `--trace FILE`: see the module docstring."""
    import argparse
    import json
    import sys
    from pathlib import Path

    program = Path(sys.argv[0]).name
    parser = argparse.ArgumentParser(
        prog=program,
        description="Run the compiled model on seeded random inputs: time it or trace it.",
    )
    parser.add_argument("--bench", action="store_true", help="print the latency and the plan")
    parser.add_argument("--trace", metavar="FILE", help="write a Chrome trace (Perfetto JSON)")
    parser.add_argument(
        "--calls", type=int, help="calls measured (default: 100 with --bench, 1 with --trace)"
    )
    parser.add_argument("--warmup", type=int, default=5, help="calls before measuring (5)")
    parser.add_argument("--threads", type=int, help="the caller's intra-op threads")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random inputs (0)")
    parser.add_argument("--weights", metavar="FILE", help="weights file (default: beside this)")
    args = parser.parse_args()
    if not (args.bench or args.trace):
        parser.error("give --bench, --trace FILE, or both")
    if (args.calls is not None and args.calls < 1) or args.warmup < 0:
        parser.error("--calls must be at least 1 and --warmup at least 0")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    try:
        model = load_model(args.weights)
    except OSError as error:
        print(f"{program}: error: cannot load the weights: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    values = _random_inputs(inputs, args.seed)
    print(f"plan: {plan}")
    print(f"intra-op threads of the caller: {torch.get_num_threads()}")
    if args.bench:
        calls = args.calls or 100
        print(_bench_report(_bench(model, values, calls, args.warmup), args.warmup))
    if args.trace:
        events, lanes = _trace(model, values, nodes, args.calls or 1, args.warmup)
        trace = {
            "traceEvents": _track_names(lanes, f"{program}: {plan}") + events,
            "displayTimeUnit": "ns",
            "otherData": {"plan": plan, "calls": args.calls or 1, "warmup": args.warmup},
        }
        Path(args.trace).write_text(json.dumps(trace) + "\n", encoding="utf-8")
        slices = sum(1 for event in events if event.get("cat") == "node")
        waits = sum(1 for event in events if event.get("cat") == "wait")
        plural = "s" if lanes > 1 else ""
        print(f"trace: {args.trace}: {lanes} lane{plural}, {slices} node slices, {waits} waits")
