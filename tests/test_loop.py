"""
ONNX `Loop` end to end: hand-made models compiled serially and on two lanes, checked
against onnxruntime; the static iteration count checked at run time; clear errors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from ramiel_mlir.api import compile_onnx
from ramiel_mlir.diagnostics import RamielError

F32, I64, BOOL = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL


def _model(
    nodes: list[onnx.NodeProto],
    inputs: list[onnx.ValueInfoProto],
    outputs: list[onnx.ValueInfoProto],
    initializers: list[onnx.TensorProto] = (),  # type: ignore[assignment]
) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "loop_test", inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    onnx.checker.check_model(model)
    return model


def _accumulate_body() -> onnx.GraphProto:
    """acc' = acc * scale + i (scale read from the outer scope); scan: acc' + 1."""
    return helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Cast", ["i"], ["i_f"], to=F32),
            helper.make_node("Mul", ["acc", "scale"], ["scaled"]),
            helper.make_node("Add", ["scaled", "i_f"], ["acc_out"]),
            helper.make_node("Add", ["acc_out", "one"], ["scan_out"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("i", I64, []),
            helper.make_tensor_value_info("cond_in", BOOL, []),
            helper.make_tensor_value_info("acc", F32, None),
        ],
        [
            helper.make_tensor_value_info("cond_out", BOOL, None),
            helper.make_tensor_value_info("acc_out", F32, None),
            helper.make_tensor_value_info("scan_out", F32, None),
        ],
        [numpy_helper.from_array(np.ones((1, 3), np.float32), "one")],
    )


def constant_trip_count_model() -> onnx.ModelProto:
    """Four iterations from a constant trip count, no condition."""
    loop = helper.make_node(
        "Loop", ["M", "", "x"], ["final", "scan"], body=_accumulate_body(), name="acc_loop"
    )
    return _model(
        [loop],
        [
            helper.make_tensor_value_info("x", F32, [1, 3]),
            helper.make_tensor_value_info("scale", F32, [1, 3]),
        ],
        [
            helper.make_tensor_value_info("final", F32, [1, 3]),
            helper.make_tensor_value_info("scan", F32, ["N", 1, 3]),
        ],
        [numpy_helper.from_array(np.array(4, np.int64), "M")],
    )


def dynamic_trip_count_model(declared: int | None = 3) -> onnx.ModelProto:
    """The trip count is an input; the scan output's length comes from its declared shape."""
    loop = helper.make_node(
        "Loop", ["n", "", "x"], ["final", "scan"], body=_accumulate_body(), name="acc_loop"
    )
    scan_shape = [declared if declared is not None else "N", 1, 3]
    return _model(
        [loop],
        [
            helper.make_tensor_value_info("n", I64, []),
            helper.make_tensor_value_info("x", F32, [1, 3]),
            helper.make_tensor_value_info("scale", F32, [1, 3]),
        ],
        [
            helper.make_tensor_value_info("final", F32, [1, 3]),
            helper.make_tensor_value_info("scan", F32, scan_shape),
        ],
    )


def condition_model() -> onnx.ModelProto:
    """Double `x` while its sum stays below `limit`, at most 10 times (a while loop)."""
    body = helper.make_graph(
        [
            helper.make_node("Add", ["v", "v"], ["v_out"]),
            helper.make_node("ReduceSum", ["v_out"], ["total"], keepdims=0),
            helper.make_node("Less", ["total", "limit"], ["cond_out"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("i", I64, []),
            helper.make_tensor_value_info("cond_in", BOOL, []),
            helper.make_tensor_value_info("v", F32, None),
        ],
        [
            helper.make_tensor_value_info("cond_out", BOOL, None),
            helper.make_tensor_value_info("v_out", F32, None),
        ],
    )
    return _model(
        [
            helper.make_node("ReduceSum", ["x"], ["start_total"], keepdims=0),
            helper.make_node("Less", ["start_total", "limit"], ["go"]),
            helper.make_node("Loop", ["M", "go", "x"], ["y"], body=body, name="doubling"),
        ],
        [
            helper.make_tensor_value_info("x", F32, [2, 2]),
            helper.make_tensor_value_info("limit", F32, []),
        ],
        [helper.make_tensor_value_info("y", F32, [2, 2])],
        [numpy_helper.from_array(np.array(10, np.int64), "M")],
    )


def _reference(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return [np.asarray(output) for output in session.run(None, feeds)]


def _compile(model: onnx.ModelProto, directory: Path, lanes: int | None) -> torch.nn.Module:
    return compile_onnx(model, "", directory, lanes=lanes).load()


def _outputs(result: object) -> list[np.ndarray]:
    tensors = result if isinstance(result, tuple) else (result,)
    return [t.numpy() for t in tensors]  # type: ignore[union-attr]


def _inputs(feeds: dict[str, np.ndarray]) -> list[torch.Tensor]:
    return [torch.from_numpy(v) for v in feeds.values()]


RNG = np.random.default_rng(0)
X = RNG.standard_normal((1, 3)).astype(np.float32)
SCALE = RNG.standard_normal((1, 3)).astype(np.float32)


@pytest.mark.parametrize("lanes", [None, 2])
def test_constant_trip_count(model_cache: Path, lanes: int | None) -> None:
    """Carried value, outer-scope capture, body weight and scan output, 4 iterations."""
    model = constant_trip_count_model()
    feeds = {"x": X, "scale": SCALE}
    compiled = _compile(model, model_cache / f"loop_const_{lanes}", lanes)
    got = _outputs(compiled(*_inputs(feeds)))
    want = _reference(model, feeds)
    assert got[1].shape == (4, 1, 3)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-6)


@pytest.mark.parametrize("lanes", [None, 2])
def test_dynamic_trip_count_with_declared_shape(model_cache: Path, lanes: int | None) -> None:
    """The trip count is only known at run time; the declared scan shape fixes it."""
    model = dynamic_trip_count_model()
    feeds = {"n": np.array(3, np.int64), "x": X, "scale": SCALE}
    compiled = _compile(model, model_cache / f"loop_dynamic_{lanes}", lanes)
    got = _outputs(compiled(*_inputs(feeds)))
    for g, w in zip(got, _reference(model, feeds), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-6)


def test_iteration_count_mismatch_raises(model_cache: Path) -> None:
    """Running another number of iterations than the static shape says is an error."""
    compiled = _compile(dynamic_trip_count_model(), model_cache / "loop_mismatch", None)
    feeds = {"n": np.array(5, np.int64), "x": X, "scale": SCALE}
    with pytest.raises(RuntimeError, match=r"Loop node 'acc_loop' ran 5 iterations.*for 3"):
        compiled(*_inputs(feeds))


@pytest.mark.parametrize("limit", [0.5, 40.0, 1e9])
def test_condition_terminated_loop(model_cache: Path, limit: float) -> None:
    """A condition stops the loop before (or at) the constant trip count."""
    model = condition_model()
    x = np.array([[1.0, 2.0], [0.5, 1.5]], np.float32)
    feeds = {"x": x, "limit": np.array(limit, np.float32)}
    compiled = _compile(model, model_cache / "loop_cond", None)
    got = _outputs(compiled(*_inputs(feeds)))
    np.testing.assert_array_equal(got[0], _reference(model, feeds)[0])


def test_unknown_iteration_count_is_an_error(tmp_path: Path) -> None:
    """No constant trip count and no declared scan shape: the error names the node."""
    with pytest.raises(RamielError, match=r"node 'acc_loop' \(Loop\): the number of iterations"):
        compile_onnx(dynamic_trip_count_model(declared=None), "", tmp_path)


def test_generated_code_is_a_for_loop(model_cache: Path) -> None:
    """The loop reads as Python: a `for` over `range`, the scan stacked after it."""
    compiled = compile_onnx(constant_trip_count_model(), "", model_cache / "loop_source")
    source = compiled.source
    assert "for i in range(4):" in source
    assert "scan_items.append(" in source
    assert "_scan_output(" in source
