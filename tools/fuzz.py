"""
Long fuzz runs: the property tests on thousands of fresh graphs, and ramiel-opt on
mutated model bytes.

    python tools/fuzz.py graphs --examples 2000        # tests/test_properties.py, fresh seeds
    python tools/fuzz.py bytes --inputs 2000           # corrupted .onnx files into ramiel-opt

`graphs` runs each property of tests/test_properties.py (every pass verifies;
threaded code bitwise equal to serial code, which matches ONNX Runtime; schedule
invariants) on `--examples` new random graphs each, unlike CI's fixed examples.
Failures do not stop the run: each kind of failure is counted and printed with
its smallest example (the model in ONNX text), and the run exits 1.

`bytes` takes valid models (drawn from tests/strategies.py), damages their bytes
(half the time flips, overwrites, deletions, insertions, truncation or duplicated
chunks of bytes; half the time changed protobuf fields: dimensions, attributes,
operators, inputs, nodes, the opset; hypothesis draws the mutations) and runs
ramiel-opt in this process on each, with
`--parallelize` and `-t python`. Every outcome must be a compiled model or one
`ramiel-opt: error:` line with exit code 1 and no output file; a compiled model
must run, and match ONNX Runtime where ONNX Runtime accepts it. Anything else (an
exception escaping the driver, several error lines, a leftover file, a hang, a
wrong result) is a finding, tallied by kind.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import re
import resource
import shutil
import signal
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import torch
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.strategies import DrawFn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import test_properties  # pyright: ignore[reportMissingImports]
from strategies import Example, onnx_examples  # pyright: ignore[reportMissingImports]

from ramiel_mlir.driver import main as ramiel_opt

PROPERTIES = (
    test_properties.test_every_pass_gives_verified_ir,
    test_properties.test_parallel_code_is_bitwise_serial_and_matches_onnxruntime,
    test_properties.test_schedules_keep_their_invariants,
)
STRATEGIES: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "test_every_pass_gives_verified_ir": {"example": onnx_examples()},
    "test_parallel_code_is_bitwise_serial_and_matches_onnxruntime": {
        "example": onnx_examples(),
        "lanes": st.integers(2, 4),
        "edge_cost": st.sampled_from([0.0, 0.5, 2.0, 50.0]),
        "clone_threshold": st.sampled_from([0.0, 1.08, 5.0]),
    },
    "test_schedules_keep_their_invariants": {
        "example": onnx_examples(),
        "lanes": st.integers(2, 4),
        "edge_cost": st.sampled_from([0.0, 2.0]),
    },
}
"""The strategies of each property (as in tests/test_properties.py)."""


def fuzz_graphs(examples: int, seed: int) -> int:
    """Run every property on `examples` fresh graphs; the number of kinds of failure."""
    failing = 0
    for prop in PROPERTIES:
        inner: Callable[..., None] = prop.hypothesis.inner_test  # type: ignore[attr-defined]
        name = prop.__name__
        counts: collections.Counter[str] = collections.Counter()
        work = Path(tempfile.mkdtemp(prefix="ramiel-fuzz-"))

        failures: dict[str, tuple[Example, dict[str, Any]]] = {}
        counted = _counted(inner, counts, failures, work)
        test = settings(
            max_examples=examples,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )(hypothesis_seed(seed)(given(**STRATEGIES[name])(counted)))
        start = time.perf_counter()
        test()
        ops = sorted((k[3:], v) for k, v in counts.items() if k.startswith("op:"))
        print(
            f"{name}: {counts['examples']} examples in {time.perf_counter() - start:.0f} s, "
            f"{sum(v for k, v in counts.items() if k.startswith('failure:'))} failing\n"
            f"  nodes by op type: {', '.join(f'{k} {v}' for k, v in ops)}",
            flush=True,
        )
        for kind, (example, kwargs) in failures.items():
            options = {k: v for k, v in kwargs.items() if k != "example"}
            print(
                f"  FAILURE ({counts['failure:' + kind]} examples): {kind}\n"
                f"    smallest: {example!r} {options}\n"
                + textwrap.indent(example.text(), "      "),
                flush=True,
            )
        failing += len(failures)
        shutil.rmtree(work, ignore_errors=True)
    return failing


def _counted(
    inner: Callable[..., None],
    counts: collections.Counter[str],
    failures: dict[str, tuple[Example, dict[str, Any]]],
    work: Path,
) -> Callable[..., None]:
    """
    `inner` with the fuzz directory passed in, counting examples and op types, and
    recording each kind of failure with its smallest example instead of stopping.
    """

    def counted(**kwargs: Any) -> None:
        example: Example = kwargs["example"]
        counts["examples"] += 1
        counts.update(f"op:{node.op_type}" for node in example.model.graph.node)
        try:
            inner(work=work, **kwargs)
        except Exception as error:
            kind = _failure_kind(error)
            counts[f"failure:{kind}"] += 1
            size = len(example.model.graph.node)
            if kind not in failures or size < len(failures[kind][0].model.graph.node):
                failures[kind] = (example, kwargs)

    return counted


def _failure_kind(error: BaseException) -> str:
    """The error's type and first line, numbers and names blurred, to tell failures apart."""
    line = (str(error).strip().splitlines() or [""])[0]
    line = re.sub(r"'[^']*'", "'_'", line)
    return f"{type(error).__name__}: {re.sub(r'[-+]?[0-9][0-9.e+-]*', 'N', line)[:160]}"


# Mutated bytes ------------------------------------------------------------------------


OP_TYPES = sorted(
    {"Relu", "Add", "MatMul", "Conv", "Reshape", "Concat", "Split", "Softmax", "Transpose"}
    | {"ReduceSum", "Gather", "Slice", "MaxPool", "Gemm", "Where", "Cast", "Expand", "If"}
)
"""Operator types a field mutation may swap in (one unsupported: If)."""
AWKWARD_INTS = [-(2**40), -2, -1, 0, 1, 2, 3, 7, 2**31, 2**62]


Draw = DrawFn


def _mutate_dim(draw: Draw, model: onnx.ModelProto) -> None:
    graph = model.graph
    dims: list[Any] = [
        d for i in [*graph.input, *graph.output] for d in i.type.tensor_type.shape.dim
    ]
    dims += [t for t in graph.initializer if t.dims]
    if not dims:
        return
    target = draw(st.sampled_from(dims))
    value = draw(st.sampled_from(AWKWARD_INTS))
    if isinstance(target, onnx.TensorProto):
        target.dims[draw(st.integers(0, len(target.dims) - 1))] = value
    else:
        target.dim_value = value


def _mutate_attribute(draw: Draw, model: onnx.ModelProto) -> None:
    attributes = [a for node in model.graph.node for a in node.attribute]
    if not attributes:
        return
    attr = draw(st.sampled_from(attributes))
    if attr.type == onnx.AttributeProto.INT:
        attr.i = draw(st.sampled_from(AWKWARD_INTS))
    elif attr.type == onnx.AttributeProto.INTS and attr.ints:
        attr.ints[draw(st.integers(0, len(attr.ints) - 1))] = draw(st.sampled_from(AWKWARD_INTS))
    elif attr.type == onnx.AttributeProto.FLOAT:
        attr.f = draw(st.sampled_from([0.0, -1.0, 1e30, float("nan")]))


def _mutate_op(draw: Draw, model: onnx.ModelProto) -> None:
    if model.graph.node:
        draw(st.sampled_from(list(model.graph.node))).op_type = draw(st.sampled_from(OP_TYPES))


def _mutate_input(draw: Draw, model: onnx.ModelProto) -> None:
    graph = model.graph
    readers = [node for node in graph.node if node.input]
    if not readers:
        return
    names = [n for node in graph.node for n in node.output] + [i.name for i in graph.input]
    node = draw(st.sampled_from(readers))
    node.input[draw(st.integers(0, len(node.input) - 1))] = draw(
        st.sampled_from([*names, "", "nowhere"])
    )


def _mutate_nodes(draw: Draw, model: onnx.ModelProto) -> None:
    nodes = model.graph.node
    if not nodes:
        return
    position = draw(st.integers(0, len(nodes) - 1))
    if draw(st.booleans()):
        del nodes[position]
    else:
        nodes.append(nodes[position])


def _mutate_opset(draw: Draw, model: onnx.ModelProto) -> None:
    model.opset_import[0].version = draw(st.integers(1, 25))


FIELD_MUTATIONS = (
    _mutate_dim,
    _mutate_attribute,
    _mutate_op,
    _mutate_input,
    _mutate_nodes,
    _mutate_opset,
)


@st.composite
def field_mutations(draw: Draw, data: bytes) -> bytes:
    """
    `data` (a valid model) with one to three fields changed: a dimension, an
    attribute, a node's operator or input, a node removed or repeated, the opset.
    Such a model still decodes, so it reaches the checker, shape inference,
    the frontend, the passes and the lowering.
    """
    model = onnx.ModelProto.FromString(data)
    for _ in range(draw(st.integers(1, 3))):
        draw(st.sampled_from(FIELD_MUTATIONS))(draw, model)
    return model.SerializeToString()


@st.composite
def mutations(draw: Draw, data: bytes) -> bytes:
    """`data` damaged by one to four random edits."""
    buffer = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "set", "delete", "insert", "truncate", "repeat"]))
        at = draw(st.integers(0, max(len(buffer) - 1, 0)))
        if kind == "flip" and buffer:
            buffer[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and buffer:
            buffer[at] = draw(st.integers(0, 255))
        elif kind == "delete":
            del buffer[at : at + draw(st.integers(1, 16))]
        elif kind == "insert":
            buffer[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "truncate":
            del buffer[at:]
        elif kind == "repeat":
            buffer[at:at] = buffer[at : at + draw(st.integers(1, 64))]
    return bytes(buffer)


class Hang(Exception):
    """An input took longer than the per-input time limit."""


def _alarm(_signum: int, _frame: object) -> None:
    raise Hang


def check_outcome(path: Path, out: Path) -> str:
    """Compile a (damaged) model; the kind of outcome, `finding: ...` when it is wrong."""
    stdout, stderr = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = ramiel_opt(
                [str(path), "--parallelize=lanes=2,model=flops", "-t", "python", "-o", str(out)]
            )
    except Hang:
        return "finding: ramiel-opt took more than the time limit"
    except BaseException as error:
        return f"finding: {type(error).__name__} escaped ramiel-opt: {str(error)[:120]}"
    lines = stderr.getvalue().splitlines()
    if code == 1:
        if len(lines) != 1 or not lines[0].startswith("ramiel-opt: error: "):
            return f"finding: exit 1 with stderr {stderr.getvalue()[:200]!r}"
        if out.exists() or out.with_suffix(".weights.pt").exists():
            return "finding: an output file is left after an error"
        return "error: " + _error_kind(lines[0])
    if code != 0 or lines:
        return f"finding: exit {code} with stderr {stderr.getvalue()[:200]!r}"
    return _run_compiled(path, out)


def _error_kind(line: str) -> str:
    """The message without file names and values, to tally errors by kind."""
    message = line.removeprefix("ramiel-opt: error: ")
    message = message.split(": ", 1)[1] if message.startswith("/") else message
    return " ".join(message.split()[:6])


def _run_compiled(path: Path, out: Path) -> str:
    """Run a model that compiled; compare with ONNX Runtime when it accepts the model."""
    from ramiel_mlir.api import import_generated

    model = onnx.load(path, load_external_data=False)
    initializers = {t.name for t in model.graph.initializer}
    rng = np.random.default_rng(0)
    shapes = [
        (i.name, [d.dim_value for d in i.type.tensor_type.shape.dim], i.type.tensor_type.elem_type)
        for i in model.graph.input
        if i.name not in initializers
    ]
    if any(elem != onnx.TensorProto.FLOAT for _, _, elem in shapes):
        return "compiled (inputs not float: not run)"
    if any(np.prod(shape, dtype=np.float64) > 2**20 for _, shape, _ in shapes):
        return "compiled (inputs too large to run)"
    inputs = [rng.standard_normal(shape).astype(np.float32) for _, shape, _ in shapes]
    try:
        module = import_generated(out)
    except SyntaxError as error:
        return f"finding: the generated code is not valid Python ({error.msg})"
    try:
        with torch.no_grad():
            result = module.load_model()(*[torch.from_numpy(a) for a in inputs])
    except Exception as error:
        ours = f"{type(error).__name__}: {str(error).splitlines()[0][:100]}"
    else:
        ours = None
    finally:
        sys.modules.pop(module.__name__, None)
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        feeds = {name: a for (name, _, _), a in zip(shapes, inputs, strict=True)}
        expected = session.run(None, feeds)
    except Exception:
        return "compiled, ran" if ours is None else "compiled, both runtimes refuse to run it"
    if ours is not None:
        return f"finding: compiled code raises {ours} where ONNX Runtime runs"
    results = result if isinstance(result, tuple) else (result,)
    for got, want in zip(results, expected, strict=True):
        if not np.allclose(got.numpy(), np.asarray(want), rtol=1e-4, atol=1e-4, equal_nan=True):
            return "finding: compiled code disagrees with ONNX Runtime"
    return "compiled, matches ONNX Runtime"


def fuzz_bytes(inputs: int, seed: int, time_limit: int) -> int:
    """Run ramiel-opt on `inputs` damaged models; the number of findings."""
    seeds = _seed_models(seed)
    work = Path(tempfile.mkdtemp(prefix="ramiel-fuzz-bytes-"))
    outcomes: collections.Counter[str] = collections.Counter()
    examples: dict[str, bytes] = {}

    @settings(
        max_examples=inputs,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @hypothesis_seed(seed)
    @given(st.data())
    def run(data: st.DataObject) -> None:
        index = data.draw(st.integers(0, len(seeds) - 1))
        mutate = field_mutations if data.draw(st.booleans()) else mutations
        damaged = data.draw(mutate(seeds[index]))
        number = sum(outcomes.values())
        path = work / f"m{number}.onnx"
        path.write_bytes(damaged)
        signal.alarm(time_limit)
        try:
            outcome = check_outcome(path, work / f"m{number}.py")
        finally:
            signal.alarm(0)
        outcomes[outcome] += 1
        if outcome.startswith("finding") and outcome not in examples:
            examples[outcome] = damaged
            kept = work / f"finding{len(examples)}.onnx"
            kept.write_bytes(damaged)
            print(f"{outcome}\n  kept as {kept}", flush=True)

    signal.signal(signal.SIGALRM, _alarm)
    start = time.perf_counter()
    run()
    print(f"{sum(outcomes.values())} damaged models in {time.perf_counter() - start:.0f} s:")
    for outcome, count in outcomes.most_common():
        print(f"  {count:5d}  {outcome}")
    return sum(count for outcome, count in outcomes.items() if outcome.startswith("finding"))


def _seed_models(seed: int, count: int = 24) -> list[bytes]:
    """Valid models to damage: random graphs of tests/strategies.py."""
    models: list[bytes] = []

    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate])
    @hypothesis_seed(seed)
    @given(onnx_examples())
    def collect(example: Example) -> None:
        models.append(example.model.SerializeToString())

    collect()
    return models


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    graphs = sub.add_parser("graphs", help="the property tests on fresh random graphs")
    graphs.add_argument("--examples", type=int, default=2000, help="examples per property")
    damaged = sub.add_parser("bytes", help="ramiel-opt on damaged model files")
    damaged.add_argument("--inputs", type=int, default=2000, help="damaged models to try")
    damaged.add_argument("--time-limit", type=int, default=60, help="seconds per input")
    for mode in (graphs, damaged):
        mode.add_argument("--seed", type=int, default=int(time.time()), help="hypothesis seed")
        mode.add_argument("--memory-gb", type=float, default=6.0, help="address space limit")
    args = parser.parse_args(argv)
    limit = int(args.memory_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    ort.set_default_logger_severity(4)
    print(f"seed {args.seed}", flush=True)
    if args.mode == "graphs":
        return 1 if fuzz_graphs(args.examples, args.seed) else 0
    return 1 if fuzz_bytes(args.inputs, args.seed, args.time_limit) else 0


if __name__ == "__main__":
    sys.exit(main())
