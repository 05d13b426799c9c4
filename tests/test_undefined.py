"""
The suite's own check of values the ONNX spec leaves undefined (tests/undefined.py),
and the conformance harness's handling of them, on hand-made casts.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import onnx
import pytest
from conformance import run_case
from onnx import TensorProto, helper
from onnx.backend.test.case.test_case import TestCase
from undefined import has_casts, outputs_with_undefined_as, undefined_casts, undefined_mask


@pytest.mark.parametrize(
    ("values", "dtype", "to", "undefined"),
    [
        ([-9.0, -8.9, 7.99, 8.0, np.nan, np.inf], np.float32, TensorProto.INT4, [1, 0, 0, 1, 1, 1]),
        ([-0.9, -1.0, 3.5, 4.0], np.float32, TensorProto.UINT2, [0, 1, 0, 1]),
        ([-0.5, -1.0, 255.9, 256.0], np.float16, TensorProto.UINT8, [0, 1, 0, 1]),
        ([2.0**31 - 128, 2.0**31, -(2.0**31)], np.float32, TensorProto.INT32, [0, 1, 0]),
        ([2.0**63, -(2.0**63), 2.0**62], np.float64, TensorProto.INT64, [1, 0, 0]),
        ([2.0**64, 2.0**63, -1.0], np.float64, TensorProto.UINT64, [1, 0, 1]),
        ([300.0, -1.0], ml_dtypes.bfloat16, TensorProto.INT8, [1, 0]),
    ],
)
def test_undefined_mask(values: list[float], dtype: type, to: int, undefined: list[int]) -> None:
    mask = undefined_mask(np.array(values, dtype), to)
    assert mask is not None
    np.testing.assert_array_equal(mask, np.array(undefined, bool))


@pytest.mark.parametrize(
    ("x", "to"),
    [
        (np.array([300, -5], np.int32), TensorProto.INT8),  # integer to integer wraps: defined
        (np.array([np.nan, 1e30], np.float32), TensorProto.FLOAT16),  # to a float: defined
        (np.array([np.nan, -3.0], np.float32), TensorProto.BOOL),  # to bool: defined
    ],
)
def test_defined_casts(x: np.ndarray, to: int) -> None:
    assert undefined_mask(x, to) is None


def _cast_model(to: int, shape: list[int], then: str | None = None) -> onnx.ModelProto:
    nodes = [helper.make_node("Cast", ["x"], ["y"], to=to, name="cast")]
    outputs = [helper.make_tensor_value_info("y", to, shape)]
    if then:
        nodes.append(helper.make_node(then, ["y"], ["z"]))
        outputs = [helper.make_tensor_value_info("z", to, shape)]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)], outputs
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])


def test_undefined_casts_names_the_node_and_elements() -> None:
    x = np.array([-9.0, 1.5, 20.0], np.float32)
    (found,) = undefined_casts(_cast_model(TensorProto.INT4, [3]), [x])
    assert (found.node, found.output, found.source, found.target) == ("cast", "y", "FLOAT", "INT4")
    np.testing.assert_array_equal(found.mask, [True, False, True])
    assert "2 of 3 elements" in found.describe()
    assert not undefined_casts(
        _cast_model(TensorProto.INT4, [3]), [np.array([1, -8, 7], np.float32)]
    )


def test_other_processors_are_simulated_through_later_nodes() -> None:
    """Undefined elements change the outputs of the nodes that read them too."""
    model = _cast_model(TensorProto.INT32, [2], then="Neg")
    x = np.array([3e9, 2.0], np.float32)
    low, high = (outputs_with_undefined_as(model, [x], f)[0] for f in ("lowest", "highest"))
    assert low[1] == high[1] == -2
    assert low[0] != high[0]
    in_range = np.array([3.0, 2.0], np.float32)
    here = outputs_with_undefined_as(model, [in_range], None)[0]
    np.testing.assert_array_equal(outputs_with_undefined_as(model, [in_range], "lowest")[0], here)


def test_has_casts_looks_into_subgraphs() -> None:
    branch = helper.make_graph(
        [helper.make_node("Cast", ["x"], ["c"], to=TensorProto.INT8)],
        "then",
        [],
        [helper.make_tensor_value_info("c", TensorProto.INT8, [2])],
    )
    node = helper.make_node("If", ["cond"], ["y"], then_branch=branch, else_branch=branch)
    graph = helper.make_graph([node], "g", [], [])
    assert has_casts(helper.make_model(graph))
    assert not has_casts(helper.make_model(helper.make_graph([], "g", [], [])))


def _case(expected: np.ndarray) -> TestCase:
    x = np.array([-9.0, 1.5, 20.0, -2.0], np.float32)
    model = _cast_model(TensorProto.INT4, [4])
    return TestCase(
        name="test_cast_by_hand",
        model_name="cast_by_hand",
        url=None,
        model_dir=None,
        model=model,
        data_sets=[([x], [expected])],
        kind="node",
        rtol=0,
        atol=0,
    )


def test_the_harness_compares_the_defined_part_only() -> None:
    """Whatever the expected data says where undefined; the defined elements must match."""
    int4 = ml_dtypes.int4
    agreed = run_case(_case(np.array([0, 1, 0, -2], int4)))
    assert agreed.status == "undefined"
    assert "Cast 'cast' from FLOAT to INT4: 2 of 4 elements" in agreed.message
    wrong = run_case(_case(np.array([0, 1, 0, -1], int4)))
    assert wrong.status == "failed"
