"""The threaded code: same results as serial code, errors reach the caller, no lane hangs."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper
from threads import call_with_timeout

from ramiel_mlir.api import CompiledModel, compile_onnx

# Analytic costs and free hand-overs: every fork becomes two lanes.
TWO_LANES = (
    "estimate-cost{model=flops},linear-cluster{edge-cost=0.0},"
    "merge-clusters{lanes=2 edge-cost=0.0 min-gain=0.0 runtime-costs=false}"
)


def _diamond(left_length: int = 1) -> onnx.ModelProto:
    """
    x -> Relu -> (MatMul w1 -> Tanh x left_length | MatMul w2 -> Reshape -> Sigmoid) -> Add.

    The longer branch is the critical path and runs on lane 0.
    """
    rng = np.random.default_rng(0)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 16])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 16])
    weights = [
        onnx.numpy_helper.from_array(rng.standard_normal((16, 16)).astype(np.float32), name)
        for name in ("w1", "w2")
    ]
    shape = onnx.numpy_helper.from_array(np.array([4, 16], dtype=np.int64), "shape")
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("MatMul", ["r", "w1"], ["t0"], name="left_matmul"),
        *[
            helper.make_node("Tanh", [f"t{i}"], [f"t{i + 1}"], name=f"left_tanh{i}")
            for i in range(left_length)
        ],
        helper.make_node("MatMul", ["r", "w2"], ["m2"], name="right_matmul"),
        helper.make_node("Reshape", ["m2", "shape"], ["m3"], name="right_reshape"),
        helper.make_node("Sigmoid", ["m3"], ["s"], name="right_sigmoid"),
        helper.make_node("Add", [f"t{left_length}", "s"], ["y"], name="join"),
    ]
    graph = helper.make_graph(nodes, "diamond", [x], [y], [*weights, shape])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.fixture(scope="module", params=[1, 4], ids=["sigmoid_on_lane0", "sigmoid_on_lane1"])
def compiled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[CompiledModel, CompiledModel]:
    directory: Path = tmp_path_factory.mktemp("parallel")
    model = _diamond(request.param)
    serial = compile_onnx(model, "", directory, name="serial")
    parallel = compile_onnx(model, TWO_LANES, directory, name="parallel")
    lane = parallel.source.index("torch.sigmoid(") > parallel.source.index("def _lane1(")
    assert lane == (request.param == 4)
    return serial, parallel


def test_parallel_code_has_two_lanes(compiled: tuple[CompiledModel, CompiledModel]) -> None:
    _, parallel = compiled
    assert "def _lane0(" in parallel.source
    assert "def _lane1(" in parallel.source
    assert "import onnx" not in parallel.source
    assert "xdsl" not in parallel.source


def test_parallel_equals_serial_bitwise(compiled: tuple[CompiledModel, CompiledModel]) -> None:
    serial, parallel = compiled
    x = torch.randn(4, 16, generator=torch.Generator().manual_seed(1))
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        expected = serial.load()(x)
        for _ in range(20):
            assert torch.equal(parallel.load()(x), expected)
    finally:
        torch.set_num_threads(previous)


def test_error_in_a_lane_reaches_the_caller_and_next_call_works(
    compiled: tuple[CompiledModel, CompiledModel], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, parallel = compiled
    model = parallel.load()
    x = torch.randn(4, 16)

    def broken_sigmoid(value: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("injected fault")

    # The right branch's Sigmoid fails on one lane while the other lane runs
    # on or waits for its value.
    with monkeypatch.context() as patch:
        patch.setattr(torch, "sigmoid", broken_sigmoid)
        with pytest.raises(RuntimeError, match="injected fault"):
            call_with_timeout(lambda: model(x))
    result = call_with_timeout(lambda: model(x))
    assert result.shape == (4, 16)


def test_concurrent_callers_get_their_own_results(
    compiled: tuple[CompiledModel, CompiledModel],
) -> None:
    serial, parallel = compiled
    reference = serial.load()
    model = parallel.load()
    inputs = [torch.randn(4, 16, generator=torch.Generator().manual_seed(i)) for i in range(8)]
    results: list[torch.Tensor | None] = [None] * len(inputs)

    def worker(index: int) -> None:
        for _ in range(10):
            results[index] = model(inputs[index])

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(len(inputs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
        assert not thread.is_alive()
    for x, result in zip(inputs, results, strict=True):
        assert result is not None
        torch.testing.assert_close(result, reference(x))


@contextlib.contextmanager
def _threads(count: int) -> Iterator[None]:
    """Run the block with `count` intra-op threads, then restore the count before it."""
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _threads_seen(
    model: torch.nn.Module, x: torch.Tensor, monkeypatch: pytest.MonkeyPatch, names: list[str]
) -> tuple[torch.Tensor, dict[str, list[int]]]:
    """
    Call `model` from a caller on 3 intra-op threads, recording the count each call
    of the torch functions `names` sees; the caller's count must come back.
    """
    seen: dict[str, list[int]] = {name: [] for name in names}

    def recording(name: str, real: Any) -> Any:
        def call(*args: Any) -> Any:
            seen[name].append(torch.get_num_threads())
            return real(*args)

        return call

    with _threads(3):
        with monkeypatch.context() as patch:
            for name in names:
                patch.setattr(torch, name, recording(name, getattr(torch, name)))
            result = model(x)
        assert torch.get_num_threads() == 3  # the caller's count is restored
    return result, seen


def test_nodes_run_with_their_own_planned_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Costs in which only the two MatMuls gain from both cores: the lane runs on
    # one thread and sets two around each MatMul.
    from ramiel_mlir.api import make_context, run_pipeline
    from ramiel_mlir.backend.python_target import PythonTarget
    from ramiel_mlir.dialects import dfg
    from ramiel_mlir.dialects.annotations import COST, THREADED_COST
    from ramiel_mlir.frontend.onnx import import_onnx

    path = tmp_path / "diamond.onnx"
    onnx.save(_diamond(), path)
    ctx, module = make_context(), import_onnx(str(path))
    run_pipeline(ctx, module, "estimate-cost{model=flops}")
    for node in module.walk():
        if isinstance(node, dfg.NodeOp):
            cost = 100.0 if node.op_type.data == "MatMul" else 5.0
            fast = 40.0 if node.op_type.data == "MatMul" else 10.0
            COST.set(node, cost)
            THREADED_COST.set(node, fast)
    run_pipeline(ctx, module, "linear-cluster,merge-clusters{lanes=2 edge-cost=1000000.0}")
    source = tmp_path / "planned.py"
    with source.open("w") as out:
        PythonTarget(weights=str(source.with_suffix(".weights.pt"))).emit(ctx, module, out)
    planned = CompiledModel(source, source.with_suffix(".weights.pt"))
    assert "1 lane, 1 intra-op thread (2 intra-op threads for 2 of its nodes)" in planned.source
    assert "return _with_threads(1, self._lane0, x)" in planned.source
    assert planned.source.count("torch.set_num_threads(2)") == 2
    assert planned.source.count("torch.set_num_threads(1)") == 2

    serial = compile_onnx(_diamond(), "", tmp_path, name="serial").load()
    x = torch.randn(4, 16, generator=torch.Generator().manual_seed(1))
    result, seen = _threads_seen(planned.load(), x, monkeypatch, ["matmul", "relu"])
    assert seen == {"matmul": [2, 2], "relu": [1]}
    with _threads(1):
        # The MatMuls ran on two threads: their sums may round otherwise than on one.
        torch.testing.assert_close(result, serial(x))


@pytest.mark.parametrize("threads", [1, 2])
def test_single_lane_runs_with_its_planned_threads(
    threads: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A huge edge cost makes merge-clusters fall back to one lane. Without the
    # runtime costs that lane gets every core; with them and min-gain 0.99 it
    # gets one (intra-op threads never save 99% of the serial estimate).
    options = "runtime-costs=false" if threads == 2 else "min-gain=0.99"
    passes = (
        "estimate-cost{model=flops},linear-cluster,"
        f"merge-clusters{{lanes=2 edge-cost=1000000.0 {options}}}"
    )
    serial = compile_onnx(_diamond(), "", tmp_path, name="serial")
    planned = compile_onnx(_diamond(), passes, tmp_path, name="planned")
    assert "def _lane1(" not in planned.source
    assert f"return _with_threads({threads}, self._lane0, x)" in planned.source
    x = torch.randn(4, 16, generator=torch.Generator().manual_seed(1))
    result, seen = _threads_seen(planned.load(), x, monkeypatch, ["relu"])
    assert seen == {"relu": [threads]}
    with _threads(1):
        expected = serial.load()(x)
    if threads == 1:
        assert torch.equal(result, expected)
    else:  # sums split over two threads may round otherwise than on one
        torch.testing.assert_close(result, expected)
