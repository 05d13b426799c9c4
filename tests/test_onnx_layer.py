"""The ONNX layer (ramiel_mlir/onnx/): the compile-time evaluator, schemas, attributes."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import AttributeProto, helper, numpy_helper
from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IntegerAttr,
    StringAttr,
    f32,
    i64,
)
from xdsl.ir import Attribute

from ramiel_mlir.onnx.attributes import attr_value, from_proto, to_proto
from ramiel_mlir.onnx.evaluate import EvaluationError, evaluate, placeholder, run_node
from ramiel_mlir.onnx.schema import is_deterministic, schema_is_deterministic


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


def test_dropout_is_deterministic_only_in_inference_mode() -> None:
    assert is_deterministic("Dropout", 13, "", training_mode=False)
    assert not is_deterministic("Dropout", 13, "", training_mode=True)
    assert not is_deterministic("Dropout", 13, "", training_mode=None)  # computed
    assert is_deterministic("Dropout", 6, "", is_test=1)
    assert not is_deterministic("Dropout", 6, "", is_test=0)
    assert not is_deterministic("Dropout", 6, "")
    assert is_deterministic("Relu", 17, "")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, IntegerAttr(3, i64)),
        (0.5, FloatAttr(0.5, f32)),
        ("nearest", StringAttr("nearest")),
        ([1, 2], DenseArrayBase.from_list(i64, [1, 2])),
        ([0.5, 1.5], DenseArrayBase.from_list(f32, [0.5, 1.5])),
        (["a", "b"], ArrayAttr([StringAttr("a"), StringAttr("b")])),
    ],
)
def test_attributes_convert_both_ways(value: object, expected: Attribute) -> None:
    proto = helper.make_attribute("a", value)
    attr = from_proto(proto)
    assert attr == expected
    assert to_proto("a", attr, "Relu", 17, "") == proto


def test_a_tensor_attribute_is_a_dense_attribute() -> None:
    value = np.arange(6, dtype=np.int32).reshape(2, 3)
    attr = from_proto(helper.make_attribute("value", numpy_helper.from_array(value)))
    assert isinstance(attr, DenseIntOrFPElementsAttr)
    np.testing.assert_array_equal(attr_value(attr), value)
    back = to_proto("value", attr, "Constant", 17, "")
    np.testing.assert_array_equal(numpy_helper.to_array(back.t), value)


def test_the_schema_types_an_empty_list() -> None:
    assert to_proto("pads", DenseArrayBase.from_list(i64, []), "Pad", 2, "").type == (
        AttributeProto.INTS
    )
    strings = to_proto("activations", ArrayAttr([]), "LSTM", 14, "")
    assert strings.type == AttributeProto.STRINGS


def test_a_subgraph_attribute_is_rejected_by_name() -> None:
    body = helper.make_graph([], "body", [], [])
    with pytest.raises(ValueError, match="attribute 'then_branch' is a subgraph"):
        from_proto(helper.make_attribute("then_branch", body))


def test_python_values_of_attributes() -> None:
    assert attr_value(IntegerAttr(3, i64)) == 3
    assert attr_value(FloatAttr(0.1, f32)) == 0.1  # the float32's shortest decimal
    assert attr_value(DenseArrayBase.from_list(i64, [1, 2])) == [1, 2]
    assert attr_value(ArrayAttr([StringAttr("x")])) == ["x"]


def test_evaluate_runs_a_node_with_omitted_inputs() -> None:
    data = np.arange(6, dtype=np.float32)
    (result,) = evaluate("Clip", "", 13, [], [data, None, np.array(2.0, np.float32)], 1)
    np.testing.assert_array_equal(result, np.minimum(data, 2.0))


def test_evaluate_reports_rejected_inputs_in_one_line() -> None:
    shape = np.array([4, 4], np.int64)
    with pytest.raises(EvaluationError, match=r"^\S.*$"):
        evaluate("Reshape", "", 17, [], [np.zeros(6, np.float32), shape], 1)
