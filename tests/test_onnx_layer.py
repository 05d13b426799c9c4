"""The ONNX layer (ramiel_mlir/onnx/): the compile-time evaluator, schemas, attributes."""

from __future__ import annotations

import numpy as np
from onnx import helper, numpy_helper

from ramiel_mlir.onnx.evaluate import placeholder, run_node
from ramiel_mlir.onnx.schema import schema_is_deterministic


def test_the_node_runs_at_the_given_opset() -> None:
    # Unsqueeze takes `axes` as an attribute before opset 13 and as an input after.
    node = helper.make_node("Unsqueeze", ["x"], ["y"], axes=[0])
    (result,) = run_node(node, {"x": np.ones(3, np.float32)}, {"": 9})
    assert result.shape == (1, 3)


def test_an_input_read_twice_is_fed_once() -> None:
    node = helper.make_node("Add", ["x", "x"], ["y"])
    (result,) = run_node(node, {"x": np.arange(3, dtype=np.int64)}, {"": 17})
    assert result.tolist() == [0, 2, 4]


def test_non_finite_results_are_results() -> None:
    node = helper.make_node("Div", ["a", "b"], ["y"])
    feeds = {"a": np.array([1.0, 0.0], np.float32), "b": np.zeros(2, np.float32)}
    (result,) = run_node(node, feeds, {"": 17})
    assert np.isinf(result[0])
    assert np.isnan(result[1])


def test_a_constant_is_read_directly() -> None:
    value = np.arange(4, dtype=np.float32).reshape(2, 2)
    node = helper.make_node("Constant", [], ["c"], value=numpy_helper.from_array(value))
    (result,) = run_node(node, {}, {"": 17})
    np.testing.assert_array_equal(result, value)


def test_placeholder_has_the_shape_and_no_data() -> None:
    array = placeholder([2, 1000, 1000], np.dtype(np.float32))
    assert array.shape == (2, 1000, 1000)
    assert array.strides == (0, 0, 0)


def test_determinism_comes_from_the_schema() -> None:
    assert schema_is_deterministic("Relu", 17, "")
    assert not schema_is_deterministic("RandomNormal", 17, "")
    assert not schema_is_deterministic("NoSuchOp", 17, "")
