"""
Reliability: bad input to ramiel-opt, and faults in the threaded code it writes.

Bad input (the cases tests/test_driver.py does not already cover) must end in one
line `ramiel-opt: error: ...`, exit code 1, no traceback and no output file.

The generated code is run on a graph whose three lanes exchange values (lane 1
waits for lane 2 and lane 2 for lane 1). A fault is injected into one node at a
time (a weight whose every use raises); the error must reach the caller with that
node named, no lane may stay blocked, and the next call must give the right
answer. Every call runs under a timeout, so a hang is a failure, not a stuck run.
"""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from threads import call_with_timeout

from ramiel_mlir.api import CompiledModel, compile_onnx
from ramiel_mlir.driver import main

THREE_LANES = (
    "estimate-cost{model=flops},linear-cluster{edge-cost=0.0},"
    "merge-clusters{lanes=3 edge-cost=0.0 min-gain=0.0 runtime-costs=false}"
)


def crossing_model() -> onnx.ModelProto:
    """
    x -> Relu, then three MatMul/Tanh chains: a long `a` chain (the critical path,
    lane 0) and chains `b` and `c` that read each other's values (lanes 1 and 2).
    """
    rng = np.random.default_rng(0)
    weights: list[TensorProto] = []
    nodes: list[onnx.NodeProto] = []

    def matmul(name: str, source: str, target: str) -> None:
        data = (rng.standard_normal((16, 16)) / 4).astype(np.float32)
        weights.append(numpy_helper.from_array(data, f"w_{name}"))
        nodes.append(helper.make_node("MatMul", [source, f"w_{name}"], [target], name=name))

    nodes.append(helper.make_node("Relu", ["x"], ["r"], name="relu"))
    for chain in "abc":
        matmul(f"{chain}_matmul1", "r", f"{chain}1")
        nodes.append(helper.make_node("Tanh", [f"{chain}1"], [f"{chain}2"], name=f"{chain}_tanh"))
    nodes.append(helper.make_node("Add", ["b2", "c2"], ["b3"], name="b_add_c"))
    matmul("b_matmul2", "b3", "b4")
    nodes.append(helper.make_node("Add", ["c2", "b3"], ["c3"], name="c_add_b"))
    matmul("c_matmul2", "c3", "c4")
    previous = "a2"
    for step in range(3, 9):
        matmul(f"a_matmul{step}", previous, f"a{step}")
        previous = f"a{step}"
    nodes.append(helper.make_node("Sum", [previous, "b4", "c4"], ["y"], name="join"))
    graph = helper.make_graph(
        nodes,
        "crossing",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 16])],
        weights,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def lane_methods(source: str) -> dict[int, str]:
    """The source of each `_lane<i>` method of a generated file."""
    parts = re.split(r"\n    def _lane(\d+)\(", source)
    return {int(parts[i]): parts[i + 1].split("\n    def ")[0] for i in range(1, len(parts), 2)}


def lane_of_node(source: str, node: str) -> int:
    """The lane whose method computes `node`."""
    (lane,) = [i for i, body in lane_methods(source).items() if f"# {node} (" in body]
    return lane


# Lanes run on one intra-op thread each: the serial code they are compared with bitwise too.
pytestmark = pytest.mark.usefixtures("one_intra_op_thread")


@pytest.fixture(scope="module")
def crossing(tmp_path_factory: pytest.TempPathFactory) -> tuple[CompiledModel, CompiledModel]:
    """The crossing model compiled serially and onto three lanes."""
    directory = tmp_path_factory.mktemp("crossing")
    serial = compile_onnx(crossing_model(), "", directory, name="serial")
    parallel = compile_onnx(crossing_model(), THREE_LANES, directory, name="parallel")
    lanes = lane_methods(parallel.source)
    assert sorted(lanes) == [0, 1, 2]
    # The worker lanes wait for each other: concurrent calls can deadlock on them.
    assert ".result()" in lanes[1]
    assert ".result()" in lanes[2]
    return serial, parallel


@pytest.fixture
def x() -> torch.Tensor:
    """An input of the crossing model."""
    return torch.randn(4, 16, generator=torch.Generator().manual_seed(7))


def faulty(weight: torch.Tensor, error: BaseException) -> torch.Tensor:
    """`weight` as a tensor whose every use in a torch function raises `error`."""

    class Faulty(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):  # type: ignore[override]
            raise error

    return weight.as_subclass(Faulty)


@contextlib.contextmanager
def injected(model: torch.nn.Module, weight: str, error: BaseException) -> Iterator[None]:
    """Make the node that reads buffer `weight` raise `error`, then repair it."""
    original = getattr(model, weight)
    setattr(model, weight, faulty(original, error))
    try:
        yield
    finally:
        setattr(model, weight, original)


# Faults in the generated code ------------------------------------------------------

MATMULS = [
    "a_matmul1",
    "a_matmul3",
    "a_matmul8",
    "b_matmul1",
    "b_matmul2",
    "c_matmul1",
    "c_matmul2",
]
"""Nodes on every lane: early, late, before and after a value crosses lanes."""


@pytest.mark.parametrize("node", MATMULS)
def test_a_failing_node_is_named_and_the_next_call_works(
    crossing: tuple[CompiledModel, CompiledModel], x: torch.Tensor, node: str
) -> None:
    """The node's exception reaches the caller with a note naming it; nothing stays blocked."""
    serial, parallel = crossing
    model: Any = parallel.load()
    fault = RuntimeError(f"injected into {node}")
    with injected(model, f"w_{node}", fault), pytest.raises(RuntimeError) as raised:
        call_with_timeout(lambda: model(x))
    assert raised.value is fault
    lane = lane_of_node(parallel.source, node)
    assert any(
        note.startswith(f"in ONNX node '{node}' (MatMul), lane {lane}, line ")
        for note in getattr(fault, "__notes__", [])
    ), getattr(fault, "__notes__", None)
    assert model._lanes.pool._work_queue.empty()
    expected = serial.load()(x)
    for _ in range(3):
        assert torch.equal(call_with_timeout(lambda: model(x)), expected)


@pytest.mark.parametrize("node", ["b_matmul1", "c_matmul1"])
def test_keyboard_interrupt_in_a_lane_releases_the_others(
    crossing: tuple[CompiledModel, CompiledModel], x: torch.Tensor, node: str
) -> None:
    """A BaseException (Ctrl-C on the caller, or on a worker) stops every lane too."""
    serial, parallel = crossing
    model: Any = parallel.load()
    with injected(model, f"w_{node}", KeyboardInterrupt()), pytest.raises(KeyboardInterrupt):
        call_with_timeout(lambda: model(x))
    assert torch.equal(call_with_timeout(lambda: model(x)), serial.load()(x))


def test_a_lane_that_cannot_be_queued_releases_the_queued_ones(
    crossing: tuple[CompiledModel, CompiledModel], x: torch.Tensor
) -> None:
    """
    When a lane cannot be submitted (the executor refuses new work at interpreter
    exit), the lanes already queued must not wait for it forever.
    """
    serial, parallel = crossing
    model: Any = parallel.load()
    pool = model._lanes.pool
    submit = pool.submit
    submitted: list[object] = []

    def refuse_second(*args: object, **kwargs: object) -> object:
        if submitted:
            raise RuntimeError("cannot schedule new futures after interpreter shutdown")
        submitted.append(args)
        return submit(*args, **kwargs)

    pool.submit = refuse_second
    try:
        with pytest.raises(RuntimeError, match="cannot schedule new futures"):
            call_with_timeout(lambda: model(x))
    finally:
        del pool.submit
    assert torch.equal(call_with_timeout(lambda: model(x)), serial.load()(x))


def _run_script(script: str, *args: str | Path, timeout: float = 60.0) -> str:
    """Run a Python script in a fresh interpreter; fail if it hangs or fails."""
    command = [sys.executable, "-c", textwrap.dedent(script), *map(str, args)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the interpreter hung (no exit within {timeout} s)")
    assert result.returncode == 0, result.stderr
    return result.stdout


CONCURRENT_CALLERS = """
    import runpy, sys, threading, time, torch
    source, data = sys.argv[1:]
    model = runpy.run_path(source)["load_model"]()
    inputs, expected = torch.load(data)
    pool = model._lanes.pool
    submit = pool.submit

    def slow_submit(*args, **kwargs):
        future = submit(*args, **kwargs)
        time.sleep(0.001)  # let other callers run between two lanes of one call
        return future

    pool.submit = slow_submit
    errors = []

    def caller(index):
        try:
            for _ in range(10):
                assert torch.equal(model(inputs[index]), expected[index])
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(len(inputs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    print("ok")
"""


def test_concurrent_callers_on_lanes_that_wait_for_each_other(
    crossing: tuple[CompiledModel, CompiledModel], tmp_path: Path
) -> None:
    """
    Eight threads call one Model at once; each call has its own channels and its
    lanes are queued together, so calls overlap without deadlock and each gets
    its own, correct result. (With the lanes of two calls interleaved in the
    queue, each call's lane 1 can hold a worker while its lane 2 waits behind the
    other call's: this test then hangs.)
    """
    serial, parallel = crossing
    reference = serial.load()
    inputs = [torch.randn(4, 16, generator=torch.Generator().manual_seed(i)) for i in range(8)]
    torch.save((inputs, [reference(x) for x in inputs]), tmp_path / "data.pt")
    assert _run_script(CONCURRENT_CALLERS, parallel.source_path, tmp_path / "data.pt") == "ok\n"


EXIT_WHILE = {
    "idle": "",
    "after-a-failure": """
        model._lanes.pool.submit = None  # every call now fails while queueing its lanes
        try:
            model(x)
        except TypeError:
            pass
    """,
    "callers-still-calling": """
        pool = model._lanes.pool
        submit = pool.submit

        def slow_submit(*args, **kwargs):
            future = submit(*args, **kwargs)
            time.sleep(0.001)  # a wide window for the exit to fall between two lanes
            return future

        pool.submit = slow_submit

        def caller():
            try:
                while True:
                    model(x)
            except RuntimeError:  # at exit, the executor takes no new lanes
                pass

        for _ in range(4):
            threading.Thread(target=caller).start()
        time.sleep(0.2)
    """,
}


@pytest.mark.parametrize("state", sorted(EXIT_WHILE))
def test_interpreter_exit_does_not_hang(
    crossing: tuple[CompiledModel, CompiledModel], state: str
) -> None:
    """
    The worker threads never keep the interpreter from exiting: idle, after a
    failed call, or while other threads are still calling the model (at exit the
    executor refuses new lanes, possibly between two lanes of one call; the lanes
    already queued must then not wait for the missing one, or exit joins them
    forever). Daemon threads calling torch at exit are not tested: torch itself
    aborts then ("terminate called without an active exception"), with or
    without ramiel-opt's code.
    """
    _, parallel = crossing
    script = f"""
        import runpy, sys, threading, time, torch
        model = runpy.run_path(sys.argv[1])["load_model"]()
        x = torch.randn(4, 16)
        model(x)
{textwrap.indent(textwrap.dedent(EXIT_WHILE[state]), " " * 8)}
        print("exiting")
    """
    assert _run_script(script, parallel.source_path, timeout=60.0) == "exiting\n"


WRONG_INPUTS: dict[str, tuple[object, type[Exception], str]] = {
    "broadcastable-shape": (
        torch.randn(1, 16),
        ValueError,
        "input 'x' must be a torch.float32 tensor of shape [4, 16], "
        "got a torch.float32 tensor of shape [1, 16]",
    ),
    "wrong-rank": (torch.randn(4, 16, 1), ValueError, "of shape [4, 16, 1]"),
    "float64": (torch.randn(4, 16, dtype=torch.float64), ValueError, "got a torch.float64"),
    "int64": (torch.ones(4, 16, dtype=torch.int64), ValueError, "got a torch.int64"),
    "numpy-array": (
        np.zeros((4, 16), np.float32),
        TypeError,
        "input 'x' must be a torch.Tensor, got ndarray",
    ),
    "none": (None, TypeError, "got NoneType"),
}


@pytest.mark.parametrize("case", sorted(WRONG_INPUTS))
def test_wrong_inputs_fail_before_any_lane_starts(
    crossing: tuple[CompiledModel, CompiledModel], case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A clear error naming the input, what was expected and what came; no lane runs."""
    value, error, message = WRONG_INPUTS[case]
    serial, parallel = crossing
    model: Any = parallel.load()

    class NoLanes:
        def run(self, *args: object) -> None:
            raise AssertionError("a lane started")

    model._lanes = NoLanes()
    with pytest.raises(error, match=re.escape(message)):
        model(value)
    serial_model = serial.load()
    monkeypatch.setattr(torch, "relu", lambda *_: pytest.fail("a node ran"))
    with pytest.raises(error, match=re.escape(message)):
        serial_model(value)


AWKWARD_NAMES = {
    "relu": "relu\x00nul",
    "a_tanh": 'a """tanh"""',
    "b_add_c": "b\\add\\c",
    "c_matmul1": "c\nmatmul\r1",
}
"""ONNX node names that would break a comment or docstring if printed as they are."""


def test_awkward_node_names_give_valid_code(tmp_path: Path, x: torch.Tensor) -> None:
    """Names with NUL bytes, quotes, backslashes, line breaks: escaped in comments and docs."""
    model = crossing_model()
    for node in model.graph.node:
        node.name = AWKWARD_NAMES.get(node.name, node.name)
    serial = compile_onnx(model, "", tmp_path, name="serial")
    parallel = compile_onnx(model, THREE_LANES, tmp_path, name="parallel")
    for compiled in (serial, parallel):
        compile(compiled.source, str(compiled.source_path), "exec")
    threaded: Any = parallel.load()
    assert torch.equal(threaded(x), serial.load()(x))
    fault = RuntimeError("injected")
    with injected(threaded, "w_c_matmul1", fault), pytest.raises(RuntimeError):
        call_with_timeout(lambda: threaded(x))
    assert getattr(fault, "__notes__", [""])[0].startswith("in ONNX node 'c\\nmatmul\\r1' (MatMul)")


# Bad input to ramiel-opt -------------------------------------------------------------


def _model(
    nodes: list[onnx.NodeProto],
    inputs: list[onnx.ValueInfoProto],
    outputs: list[onnx.ValueInfoProto],
) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "bad", inputs, outputs)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _value(name: str, shape: list[int] | None) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def _relu(source: str = "x", target: str = "y", name: str = "relu") -> onnx.NodeProto:
    return helper.make_node("Relu", [source], [target], name=name)


BAD_MODELS: dict[str, tuple[onnx.ModelProto, str]] = {
    "fails-onnx-checker": (
        _model(
            [helper.make_node("Relu", ["x", "x"], ["y"], name="relu")],
            [_value("x", [2])],
            [_value("y", [2])],
        ),
        "invalid ONNX model: Node(relu) with schema(::Relu:14) has input size 2",
    ),
    "zero-size-dimension": (
        _model([_relu()], [_value("x", [0, 3])], [_value("y", [0, 3])]),
        "input 'x' has shape [0, 3]: a 0 dimension is read as unknown (older exporters "
        "write 0 for a dynamic size); to compile for empty tensors, state it with "
        "--input-shape x=0,3",
    ),
    "negative-dimension": (
        _model([_relu()], [_value("x", [-1, 3])], [_value("y", [-1, 3])]),
        "input 'x' has unknown dimensions (-1); fix them with --input-shape x=D0,D1,...",
    ),
    "input-without-shape": (
        _model([_relu()], [_value("x", None)], [_value("y", [2])]),
        "invalid ONNX model: Field 'shape' of 'type' is required but missing.",
    ),
    "empty-graph": (
        _model([], [_value("x", [2])], []),
        "not a valid ONNX model (empty graph)",
    ),
    "no-outputs": (
        _model([_relu()], [_value("x", [2])], []),
        "the graph has no outputs: there is nothing to compute",
    ),
    "duplicate-value-names": (
        _model(
            [_relu(name="a"), helper.make_node("Tanh", ["x"], ["y"], name="b")],
            [_value("x", [2])],
            [_value("y", [2])],
        ),
        "'y' has been used as output names multiple times",
    ),
    "duplicate-input-names": (
        _model([_relu()], [_value("x", [2]), _value("x", [2])], [_value("y", [2])]),
        "'x' has been used as graph input names multiple times",
    ),
    "cycle": (
        _model(
            [_relu("z", "y", "a"), helper.make_node("Tanh", ["y"], ["z"], name="b")],
            [_value("x", [2])],
            [_value("y", [2])],
        ),
        "must be topologically sorted, however input 'z' of node: name: a OpType: Relu "
        "is not output of any previous nodes.",
    ),
    "output-nobody-computes": (
        _model([_relu()], [_value("x", [2])], [_value("q", [2])]),
        "Graph output 'q' is not an output of any node in graph.",
    ),
    "contradicting-shapes": (
        _model([_relu()], [_value("x", [2])], [_value("y", [3])]),
        "shape inference failed:",
    ),
}


GOOD_IR = """\
dfg.graph @main(%x: tensor<2xf32>) -> tensor<2xf32> {
  %y = dfg.node "Relu"(%x) opset 17 : (tensor<2xf32>) -> tensor<2xf32>
  dfg.output %y : tensor<2xf32>
}
"""

BAD_IR: dict[str, tuple[str, str]] = {
    "unknown-operator": (
        GOOD_IR.replace('"Relu"', '"NoSuchOp"'),
        "'NoSuchOp' is not an ONNX operator of domain 'ai.onnx' at opset 17",
    ),
    "undefined-value": (
        GOOD_IR.replace("dfg.output %y", "dfg.output %z"),
        "values used but not defined: [%z]",
    ),
    "not-ir-at-all": ("\x00\x01 graph? \xff\n", "bad.mlir:"),
    "lanes-that-deadlock": (
        """\
dfg.graph @main(%x: tensor<2xf32>) -> tensor<2xf32> {
  %r = dfg.cluster 0 -> tensor<2xf32> {
    %b = dfg.recv "b" : tensor<2xf32>
    %a = dfg.node "Relu"(%b) opset 17 : (tensor<2xf32>) -> tensor<2xf32>
    dfg.send %a to "a" : tensor<2xf32>
    dfg.yield %a : tensor<2xf32>
  }
  dfg.cluster 1 {
    %a = dfg.recv "a" : tensor<2xf32>
    %b = dfg.node "Tanh"(%a) opset 17 : (tensor<2xf32>) -> tensor<2xf32>
    dfg.send %b to "b" : tensor<2xf32>
    dfg.yield
  }
  dfg.output %r : tensor<2xf32>
}
""",
        "the clusters can deadlock: a cycle of waits through channels 'a', 'b'",
    ),
}

BAD_OPTIONS: dict[str, tuple[list[str], str]] = {
    "unknown-option": (
        ["--merge-clusters=bogus=1"],
        "invalid pass pipeline: merge-clusters has no option 'bogus' (options: lanes, ",
    ),
    "wrong-type": (["--merge-clusters=lanes=1.5"], "invalid pass pipeline: Incompatible types"),
    "negative-lanes": (["--merge-clusters=lanes=-1"], "merge-clusters: lanes must be 0 to 1024"),
    "negative-lanes-in-parallelize": (
        ["--parallelize=lanes=-2,model=flops"],
        "merge-clusters: lanes must be 0 to 1024, got -2",
    ),
    "absurd-lanes": (
        ["--estimate-cost", "--merge-clusters=lanes=99999999999999999999"],
        "merge-clusters: lanes must be 0 to 1024",
    ),
    "min-gain-out-of-range": (
        ["--estimate-cost", "--merge-clusters=lanes=2,min-gain=1.5"],
        "merge-clusters: min-gain must be in [0, 1), got 1.5",
    ),
    "negative-edge-cost": (
        ["--estimate-cost", "--linear-cluster=edge-cost=-5.0"],
        "linear-cluster: edge-cost must not be negative, got -5.0",
    ),
    "unknown-cost-model": (
        ["--estimate-cost=model=bogus"],
        "estimate-cost: model must be one of flops, profile, got 'bogus'",
    ),
    "costs-missing": (["--linear-cluster"], "has no cost; run estimate-cost first"),
    "unclosed-pipeline": (["-p", "dce{"], "invalid pass pipeline"),
    "unknown-target": (["-t", "nosuch"], "argument -t/--target: invalid choice: 'nosuch'"),
}


def run_driver(args: list[str | Path]) -> tuple[int, str, str]:
    """ramiel-opt in this process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def assert_one_line_error(directory: Path, args: list[str | Path], message: str) -> None:
    """Exit code 1, one `ramiel-opt: error:` line holding `message`, no file written."""
    before = set(directory.iterdir())
    code, out, err = run_driver([*args, "-o", directory / "out.py"])
    assert code == 1
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith("ramiel-opt: error: ")
    assert message in err
    assert "Traceback" not in err
    assert set(directory.iterdir()) == before


@pytest.mark.parametrize("case", sorted(BAD_MODELS))
def test_bad_model_is_one_error_line(case: str, tmp_path: Path) -> None:
    model, message = BAD_MODELS[case]
    path = tmp_path / f"{case}.onnx"
    onnx.save(model, path)
    assert_one_line_error(tmp_path, [path, "-t", "python"], message)


def test_name_that_is_not_utf8_is_one_error_line(tmp_path: Path) -> None:
    """Protobuf hands a name with bytes that are not UTF-8 over as bytes: an error, not a crash."""
    data = _model([_relu(name="n0_relu")], [_value("x", [2])], [_value("y", [2])])
    path = tmp_path / "latin1.onnx"
    path.write_bytes(data.SerializeToString().replace(b"n0_relu", b"n0_r\x9alu"))
    message = "not a valid ONNX model (name b'n0_r\\x9alu' is not UTF-8)"
    assert_one_line_error(tmp_path, [path, "-t", "python"], message)


@pytest.mark.parametrize("case", sorted(BAD_IR))
def test_bad_ir_is_one_error_line(case: str, tmp_path: Path) -> None:
    text, message = BAD_IR[case]
    path = tmp_path / "bad.mlir"
    path.write_text(text)
    assert_one_line_error(tmp_path, [path, "-t", "python"], message)


@pytest.mark.parametrize("case", sorted(BAD_OPTIONS))
def test_bad_pass_option_is_one_error_line(case: str, tmp_path: Path) -> None:
    args, message = BAD_OPTIONS[case]
    path = tmp_path / "good.mlir"
    path.write_text(GOOD_IR)
    assert_one_line_error(tmp_path, [path, *args], message)


def test_out_of_memory_is_one_error_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    ONNX shape inference raised MemoryError (std::bad_alloc) on an input of 2**31
    elements under tools/fuzz.py's address-space limit: one line, not a traceback.
    """
    import ramiel_mlir.frontend.onnx as frontend

    def exhausted(*_: object) -> None:
        raise MemoryError("std::bad_alloc")

    monkeypatch.setattr(frontend, "_infer_shapes", exhausted)
    path = tmp_path / "huge.onnx"
    onnx.save(_model([_relu()], [_value("x", [2])], [_value("y", [2])]), path)
    assert_one_line_error(
        tmp_path, [path, "-t", "python"], "huge.onnx: out of memory while compiling"
    )


def test_error_naming_a_node_with_a_line_break_is_one_line(tmp_path: Path) -> None:
    """Messages quote ONNX names; a line break in one is escaped, not printed."""
    node = helper.make_node("Softmax", ["x"], ["y"], name="n7\nsoftmax", axis=-(2**40))
    path = tmp_path / "axis.onnx"
    onnx.save(_model([node], [_value("x", [2])], [_value("y", [2])]), path)
    assert_one_line_error(tmp_path, [path, "-t", "python"], "n7\\nsoftmax")


def test_graph_without_outputs_gives_valid_code(tmp_path: Path) -> None:
    """Hand-written IR may have no outputs: `forward` then returns None (it printed `tuple[]`)."""
    path = tmp_path / "silent.mlir"
    path.write_text(
        GOOD_IR.replace(" -> tensor<2xf32> {", " {").replace(
            "dfg.output %y : tensor<2xf32>", "dfg.output"
        )
    )
    out = tmp_path / "silent.py"
    assert run_driver([path, "-t", "python", "-o", out])[0] == 0
    compile(out.read_text(), str(out), "exec")
    assert "def forward(self, x: torch.Tensor) -> None:" in out.read_text()


def test_good_ir_compiles(tmp_path: Path) -> None:
    """The bad-option cases fail for their option alone: the same IR compiles without it."""
    path = tmp_path / "good.mlir"
    path.write_text(GOOD_IR)
    out = tmp_path / "out.mlir"
    code, _, err = run_driver([path, "--estimate-cost", "--merge-clusters=lanes=2", "-o", out])
    assert (code, err) == (0, "")
