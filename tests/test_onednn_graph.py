"""A one-lane plan compiled by oneDNN Graph at load time (fuse-onednn-graph)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from onnx import TensorProto, helper

from ramiel_mlir.api import CompiledModel, compile_onnx

ONE_LANE = (
    "fold-constants,estimate-cost{model=flops},linear-cluster,"
    "merge-clusters{lanes=2 edge-cost=1000000.0 runtime-costs=false},fuse-onednn-graph"
)
"""One lane on two intra-op threads (a huge edge cost rules out two lanes)."""

ONE_THREAD = ONE_LANE.replace("runtime-costs=false", "min-gain=0.99")
"""One lane on one thread (intra-op threads never save 99% of the serial estimate)."""


SLICES = (
    "fold-constants,hypercluster{parts=2},estimate-cost{model=flops},cluster-slices,"
    "merge-clusters{lanes=2 min-gain=0.0 edge-cost=0.0 runtime-costs=false},clone,dce,"
    "fuse-onednn-graph"
)
"""One lane per batch slice (two), each lane's nodes compiled."""


def _block(batch: int = 1) -> onnx.ModelProto:
    """Conv -> Relu -> Conv, plus the input (a residual), -> MaxPool: one lane of traceable ops."""
    rng = np.random.default_rng(0)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 8, 12, 12])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 8, 6, 6])
    weights = [
        onnx.numpy_helper.from_array((rng.standard_normal(shape) * 0.2).astype(np.float32), name)
        for name, shape in (("w1", (8, 8, 3, 3)), ("b1", (8,)), ("w2", (8, 8, 3, 3)))
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], pads=[1, 1, 1, 1], name="conv2"),
        helper.make_node("Add", ["c2", "x"], ["s"], name="residual"),
        helper.make_node("MaxPool", ["s"], ["y"], kernel_shape=[2, 2], strides=[2, 2]),
    ]
    graph = helper.make_graph(nodes, "block", [x], [y], weights)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> tuple[CompiledModel, CompiledModel]:
    directory: Path = tmp_path_factory.mktemp("onednn_graph")
    model = _block()
    eager = compile_onnx(
        model, ONE_LANE.removesuffix(",fuse-onednn-graph"), directory, name="eager"
    )
    fused = compile_onnx(model, ONE_LANE, directory, name="fused")
    return eager, fused


def _input(batch: int = 1) -> torch.Tensor:
    return torch.randn(batch, 8, 12, 12, generator=torch.Generator().manual_seed(3))


def test_the_lane_is_compiled_and_matches_onnx_runtime(
    compiled: tuple[CompiledModel, CompiledModel], caplog: pytest.LogCaptureFixture
) -> None:
    _, fused = compiled
    before = torch.jit.onednn_fusion_enabled()
    with caplog.at_level(logging.INFO, logger="ramiel"):
        model = fused.load()
    assert torch.jit.onednn_fusion_enabled() == before  # the fuser's switch is put back
    assert isinstance(model.__dict__.get("_lane0"), torch.jit.ScriptFunction)
    assert "_lane0 runs as onednn_graph" in caplog.text
    x = _input()
    with torch.no_grad():
        got = model(x)
    session = onnxruntime.InferenceSession(_block().SerializeToString())
    expected = np.asarray(session.run(None, {"x": x.numpy()})[0])
    scale = float(np.abs(expected).max())
    assert float(np.abs(got.numpy() - expected).max()) <= 1e-4 * scale


def test_the_compiled_lane_follows_newly_loaded_weights(
    compiled: tuple[CompiledModel, CompiledModel],
) -> None:
    eager_file, fused_file = compiled
    model, eager = fused_file.load(), eager_file.load()
    state = {k: v * 0.5 for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    eager.load_state_dict(state)
    assert isinstance(model.__dict__.get("_lane0"), torch.jit.ScriptFunction)
    with torch.no_grad():
        torch.testing.assert_close(model(_input()), eager(_input()), rtol=0.0, atol=1e-4)


def _refusing(trace: Callable[..., Any]) -> Callable[..., Any]:
    """A `torch.jit.trace` that fails."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError("no trace today")

    return refuse


def _off_by_one(trace: Callable[..., Any]) -> Callable[..., Any]:
    """A `torch.jit.trace` whose function gives the lane's results plus one."""

    def off_by_one(func: Callable[..., torch.Tensor], example: Any, **kwargs: Any) -> Any:
        def shifted(x: torch.Tensor) -> torch.Tensor:
            return func(x) + 1.0

        return trace(shifted, example, **kwargs)

    return off_by_one


def _refusing_to_fuse(trace: Callable[..., Any]) -> Callable[..., Any]:
    """A `torch.jit.trace` that fails while oneDNN Graph's fuser is on, as on some graphs."""

    def fussy(*args: Any, **kwargs: Any) -> Any:
        if torch.jit.onednn_fusion_enabled():
            raise RuntimeError("vector::_M_range_check")
        return trace(*args, **kwargs)

    return fussy


@pytest.mark.parametrize(
    ("replace_trace", "how", "log"),
    [
        (_refusing, "eager", "_lane0: TorchScript failed: RuntimeError: no trace today"),
        (_off_by_one, "eager", "_lane0: TorchScript failed: AssertionError"),
        (
            _refusing_to_fuse,
            "torchscript",
            "_lane0: oneDNN Graph failed: RuntimeError: vector::_M_range_check",
        ),
    ],
    ids=["trace_fails", "trace_disagrees", "fuser_fails"],
)
def test_a_lane_the_fuser_cannot_compile_falls_back_and_says_why(
    compiled: tuple[CompiledModel, CompiledModel],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    replace_trace: Callable[[Callable[..., Any]], Callable[..., Any]],
    how: str,
    log: str,
) -> None:
    eager_file, fused_file = compiled
    monkeypatch.setattr(torch.jit, "trace", replace_trace(torch.jit.trace))
    with caplog.at_level(logging.INFO, logger="ramiel"):
        model = fused_file.load()
    assert log in caplog.text
    assert f"_lane0 {'stays eager' if how == 'eager' else 'runs as ' + how}" in caplog.text
    assert ("_lane0" in model.__dict__) == (how != "eager")
    with torch.no_grad():
        torch.testing.assert_close(model(_input()), eager_file.load()(_input()), rtol=0, atol=1e-5)


def test_a_one_thread_lane_runs_as_torchscript_bitwise_as_the_eager_lane(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    eager = compile_onnx(_block(), ONE_THREAD.removesuffix(",fuse-onednn-graph"), tmp_path)
    traced = compile_onnx(_block(), ONE_THREAD, tmp_path, name="traced")
    assert "return _with_threads(1, self._lane0, x)" in eager.source
    assert "1 lane, 1 intra-op thread, run as TorchScript from load" in traced.source
    with caplog.at_level(logging.INFO, logger="ramiel"):
        model = traced.load()
    assert "_lane0 runs as torchscript" in caplog.text
    assert "_lane0" in model.__dict__
    with torch.no_grad():
        assert torch.equal(model(_input()), eager.load()(_input()))


@pytest.mark.parametrize("batch", [2, 4, 8])
def test_each_slice_lane_is_compiled_on_its_thread_count_and_matches_onnx_runtime(
    batch: int, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model = _block(batch=batch)
    eager = compile_onnx(model, SLICES.removesuffix(",fuse-onednn-graph"), tmp_path)
    compiled = compile_onnx(model, SLICES, tmp_path, name="compiled")
    assert "each compiled at load (oneDNN Graph, else TorchScript)" in compiled.source
    for lane in (0, 1):
        assert f"def _lane{lane}_nodes(self, x_part{lane}: torch.Tensor) -> torch.Tensor:" in (
            compiled.source
        )
    threads = torch.get_num_threads()
    with caplog.at_level(logging.INFO, logger="ramiel"):
        loaded = compiled.load()
    assert torch.get_num_threads() == threads  # compiled on the lanes' one thread, then back
    for lane in ("_lane0_nodes", "_lane1_nodes"):
        assert f"{lane} runs as onednn_graph" in caplog.text
        assert isinstance(loaded.__dict__.get(lane), torch.jit.ScriptFunction)
    x = _input(batch=batch)
    with torch.no_grad():
        got = loaded(x)
        reference = eager.load()(x)
    session = onnxruntime.InferenceSession(model.SerializeToString())
    expected = np.asarray(session.run(None, {"x": x.numpy()})[0])
    scale = float(np.abs(expected).max())
    assert float(np.abs(got.numpy() - expected).max()) <= 1e-4 * scale
    torch.testing.assert_close(got, reference, rtol=0.0, atol=1e-4 * scale)


def test_the_trace_of_compiled_slices_shows_every_node_on_its_lane(tmp_path: Path) -> None:
    compiled = compile_onnx(_block(batch=4), SLICES, tmp_path)
    out = tmp_path / "trace.json"
    run = subprocess.run(
        [sys.executable, str(compiled.source_path), "--trace", str(out), "--calls", "2"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    events: list[dict[str, Any]] = json.loads(out.read_text())["traceEvents"]
    nodes = {(e["name"], e["tid"]) for e in events if e.get("cat") == "node"}
    # Each lane's nodes run eager while traced, one slice per node on their lane.
    assert {name for name, _ in nodes} >= {"conv1/part0", "conv1/part1", "residual/part1"}
    assert {lane for name, lane in nodes if name.endswith("/part1")} == {1}
    assert {lane for name, lane in nodes if name.endswith("/part0")} == {0}
