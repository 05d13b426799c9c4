"""
Empty tensors: a 0 dimension stated explicitly compiles and runs, serially and on lanes.

A 0 declared by a model alone stays an error (tests/test_reliability.py): older
exporters wrote 0 for a dynamic size. Stated with `--input-shape` or
`input_shapes=`, or handed to the ONNX backend, it is an empty tensor, and the
generated code gives what ONNX's reference implementation gives: reductions over
no elements (0, 1, -inf, +inf, nan, the integer type's extremes), zero-size
splits, a Reshape with allowzero, a CastLike whose `like` is empty.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser

from ramiel_mlir import onnx_backend
from ramiel_mlir.analysis.cost_model import node_work
from ramiel_mlir.analysis.graph import graph_nodes
from ramiel_mlir.api import compile_onnx, import_generated, make_context
from ramiel_mlir.dialects import dfg
from ramiel_mlir.driver import main

STATED = ["data=2,0,4", "counts=3,0", "like=0"]
"""The --input-shape options that state the model's empty inputs."""


def _ints(name: str, values: list[int]) -> TensorProto:
    return numpy_helper.from_array(np.array(values, np.int64), name)


def empty_model() -> onnx.ModelProto:
    """Reductions, a split, a reshape and a cast of empty tensors, on independent branches."""
    node = helper.make_node
    nodes = [
        node("ReduceSum", ["data", "axis1"], ["sum"], name="sum"),
        node("ReduceMax", ["data", "axis1"], ["max"], name="max", keepdims=0),
        node("ReduceMin", ["data", "axes12"], ["min"], name="min", keepdims=0),
        node("ReduceProd", ["data", "axis1"], ["prod"], name="prod"),
        node("ReduceMean", ["data"], ["mean"], name="mean", keepdims=0),
        node("ReduceLogSumExp", ["data", "axis1"], ["lse"], name="lse"),
        node("ReduceL2", ["data", "axis0"], ["l2"], name="l2"),
        node("ReduceMax", ["counts", "axis1"], ["imax"], name="imax", keepdims=0),
        node("ReduceMin", ["counts", "axis1"], ["imin"], name="imin", keepdims=0),
        node("Relu", ["data"], ["relu"], name="relu"),
        node("Split", ["relu", "sizes"], ["left", "right"], name="split", axis=1),
        node("Reshape", ["data", "shape"], ["reshaped"], name="reshape", allowzero=1),
        node("CastLike", ["x", "like"], ["cast"], name="cast"),
    ]
    inputs = [
        helper.make_tensor_value_info("data", TensorProto.FLOAT, [2, 0, 4]),
        helper.make_tensor_value_info("counts", TensorProto.INT32, [3, 0]),
        helper.make_tensor_value_info("x", TensorProto.FLOAT, [3]),
        helper.make_tensor_value_info("like", TensorProto.INT32, [0]),
    ]
    weights = [
        _ints("axis0", [0]),
        _ints("axis1", [1]),
        _ints("axes12", [1, 2]),
        _ints("sizes", [0, 0]),
        _ints("shape", [4, 0, 2]),
    ]
    names = [n.output[0] for n in nodes if n.op_type != "Split"] + ["left", "right"]
    outputs = [helper.make_value_info(name, onnx.TypeProto()) for name in names]
    graph = helper.make_graph(nodes, "empty", inputs, outputs, weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    del model.graph.output[:]
    model.graph.output.extend(inferred.graph.output)
    onnx.checker.check_model(model)
    return model


FEEDS = {
    "data": np.zeros((2, 0, 4), np.float32),
    "counts": np.zeros((3, 0), np.int32),
    "x": np.array([1.7, -2.5, 300.25], np.float32),
    "like": np.zeros((0,), np.int32),
}


@pytest.fixture(scope="module")
def expected() -> list[np.ndarray]:
    """ONNX's reference outputs, checked to be the values of reductions over nothing."""
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
        outputs: list[np.ndarray] = ReferenceEvaluator(empty_model()).run(None, FEEDS)  # type: ignore[assignment]
    by_name = dict(zip([o.name for o in empty_model().graph.output], outputs, strict=True))
    assert (by_name["max"] == -np.inf).all()
    assert by_name["max"].shape == (2, 4)
    assert (by_name["imin"] == np.iinfo(np.int32).max).all()
    assert np.isnan(by_name["mean"])
    assert (by_name["prod"] == 1).all()
    return outputs


def _run(model: Any) -> list[np.ndarray]:
    with torch.inference_mode():
        results = model(*(torch.from_numpy(FEEDS[name]) for name in FEEDS))
    return [r.numpy() for r in results]


def _assert_same(results: list[np.ndarray], expected: list[np.ndarray]) -> None:
    assert len(results) == len(expected)
    for result, reference in zip(results, expected, strict=True):
        assert result.dtype == reference.dtype
        assert result.shape == reference.shape
        np.testing.assert_array_equal(result, reference)  # nan where the reference has nan


@pytest.mark.parametrize("lanes", [None, 2])
def test_stated_zero_dimensions_compile_with_the_cli(
    lanes: int | None, tmp_path: Path, expected: list[np.ndarray]
) -> None:
    """`ramiel-opt --input-shape data=2,0,4 ...`: the model runs on empty tensors."""
    path = tmp_path / "empty.onnx"
    onnx.save(empty_model(), path)
    out = tmp_path / "empty.py"
    shapes = [arg for spec in STATED for arg in ("--input-shape", spec)]
    passes = [f"--parallelize=lanes={lanes},model=flops"] if lanes else []
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        code = main([str(path), *shapes, *passes, "-t", "python", "-o", str(out)])
    assert code == 0, stderr.getvalue()
    module = import_generated(out)
    _assert_same(_run(module.load_model()), expected)


# Analytic costs and free hand-overs: the independent branches go to two lanes
# although empty tensors cost next to nothing (parallelize keeps them on one).
TWO_LANES = (
    "estimate-cost{model=flops},linear-cluster{edge-cost=0.0},"
    "merge-clusters{lanes=2 edge-cost=0.0 min-gain=0.0 runtime-costs=false}"
)


@pytest.mark.parametrize(
    ("passes", "lanes", "cost_model"),
    [("", None, "flops"), ("", 2, "flops"), ("", 2, "profile"), (TWO_LANES, None, "flops")],
)
def test_stated_zero_dimensions_compile_with_the_api(
    passes: str, lanes: int | None, cost_model: str, tmp_path: Path, expected: list[np.ndarray]
) -> None:
    """`compile_onnx(..., input_shapes=...)`, serially and on two lanes (profiled too)."""
    shapes = {"data": [2, 0, 4], "counts": [3, 0], "like": [0]}
    compiled = compile_onnx(
        empty_model(), passes, tmp_path, input_shapes=shapes, lanes=lanes, cost_model=cost_model
    )
    if passes == TWO_LANES:
        assert "def _lane1(" in compiled.source
    _assert_same(_run(compiled.load()), expected)


def test_a_declared_zero_is_read_as_unknown(tmp_path: Path) -> None:
    """A size stated for a dimension the model declares as 0 replaces it."""
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], name="relu")],
        "relu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [0, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [0, 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    compiled = compile_onnx(model, "", tmp_path, input_shapes={"x": [5, 3]})
    x = torch.linspace(-1, 1, 15).reshape(5, 3)
    assert torch.equal(compiled.load()(x), torch.relu(x))


@pytest.mark.parametrize("backend", [onnx_backend.RamielBackend, onnx_backend.ParallelBackend])
def test_the_onnx_backend_states_declared_zero_dimensions(
    backend: type[onnx_backend.RamielBackend], expected: list[np.ndarray]
) -> None:
    """A backend runs a model on inputs of its declared shapes, empty ones included."""
    rep = backend.prepare(empty_model())
    _assert_same(list(rep.run(FEEDS)), expected)


def test_an_empty_tensor_costs_no_work() -> None:
    """The flops model counts the elements of an empty tensor as 0, not as 1 per dimension."""
    text = """
    dfg.graph @empty(%x: tensor<2x0x4xf32>) -> tensor<2x0x4xf32> {
      %y = dfg.node "Exp"(%x) opset 13 : (tensor<2x0x4xf32>) -> tensor<2x0x4xf32>
      %z = dfg.node "Add"(%y, %y) opset 13
          : (tensor<2x0x4xf32>, tensor<2x0x4xf32>) -> tensor<2x0x4xf32>
      dfg.output %z : tensor<2x0x4xf32>
    }
    """
    module = Parser(make_context(), text).parse_module()
    assert isinstance(module, ModuleOp)
    for node in graph_nodes(module):
        assert isinstance(node, dfg.NodeOp)
        work = node_work(node)
        assert (work.amount, work.bytes) == (0.0, 0.0), node.op_type.data
