"""
The ONNX node conformance suite against the generated code, serially and on two lanes.

Every case of `onnx.backend.test.case.node` either passes (ONNX's own comparison
at the case's tolerance), is unsupported with exactly the message that
`tests/onnx_backend_unsupported.txt` records for it, or is undefined by the spec
(its expected data depends on out-of-range casts: only the defined elements are
compared, and it does not count as passed); a wrong answer or a crash fails.
When the compiler changes what it supports, regenerate the list with
`tools/conformance.py` and review the difference.
"""

from __future__ import annotations

import io
import re
import unittest
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import onnx
import onnx.backend.test
import pytest
from conformance import (
    BACKENDS,
    as_array,
    check_against_onnxruntime,
    node_cases,
    older_opset_cases,
    read_expected,
    run_case,
)
from onnx import TensorProto, helper
from undefined import has_casts, outputs_with_undefined_as, same_outputs, undefined_casts

import ramiel_mlir.onnx_backend as backend
from ramiel_mlir.diagnostics import RamielError

if TYPE_CHECKING:
    from onnx.backend.test.case.test_case import TestCase

CASES = {case.name: case for case in node_cases()}
EXPECTED = read_expected()
RANDOM_OPS = frozenset(
    {"Bernoulli", "Multinomial", "RandomNormal", "RandomNormalLike", "RandomUniform"}
    | {"RandomUniformLike"}
)


def _model(case: TestCase) -> onnx.ModelProto:
    assert case.model is not None
    return case.model


def _feeds(case: TestCase) -> list[list[Any]]:
    assert case.data_sets is not None
    return [[as_array(v) for v in inputs] for inputs, _ in case.data_sets]


def _undefined_cases() -> set[str]:
    """The cases whose expected data meets a cast the spec leaves undefined, on some data set."""
    return {
        name
        for name, case in CASES.items()
        if name not in EXPECTED
        and has_casts(_model(case))
        and any(undefined_casts(_model(case), feeds) for feeds in _feeds(case))
    }


UNDEFINED = _undefined_cases()
REQUIRED_PASSES = 1200
"""The issue's bar: at least this many node cases pass (ONNX Runtime passes about 1,500)."""


@pytest.mark.parametrize("mode", list(BACKENDS))
@pytest.mark.parametrize("name", list(CASES))
def test_node_case(name: str, mode: str) -> None:
    outcome = run_case(CASES[name], mode)
    assert outcome.status != "failed", outcome.message
    if name in EXPECTED:
        assert outcome.status == "unsupported", (
            f"{name} passes now: regenerate the list with tools/conformance.py"
        )
        assert outcome.message == EXPECTED[name]
    elif name in UNDEFINED:
        assert outcome.status == "undefined", outcome.message
    else:
        assert outcome.status == "passed", outcome.message


def test_expected_list_names_suite_cases() -> None:
    assert set(EXPECTED) <= set(CASES), "stale names: regenerate with tools/conformance.py"
    assert all(message for message in EXPECTED.values())


def test_coverage_bar() -> None:
    """Every case neither unsupported nor undefined passes (test_node_case): enough of them."""
    assert len(CASES) - len(EXPECTED) - len(UNDEFINED) >= REQUIRED_PASSES


def _depends_on_undefined_casts(case: TestCase) -> bool:
    """
    Whether the reference's outputs change when every undefined cast element (in the
    graph, its subgraphs and functions) gives the target type's lowest or highest
    value instead of this processor's answer: what another machine may compute.
    """
    assert case.model is not None
    for feeds in _feeds(case):
        here = outputs_with_undefined_as(case.model, feeds, None)
        for fill in ("lowest", "highest"):
            if not same_outputs(here, outputs_with_undefined_as(case.model, feeds, fill)):
                return True
    return False


def test_passed_cases_hold_on_any_processor() -> None:
    """
    No case counted as passed has expected data that depends on undefined casts:
    recomputed as another processor might, its outputs stay the same. (Cases of
    random operators are not deterministic, and none of them passes.)
    """
    counted = [
        name
        for name, case in CASES.items()
        if name not in EXPECTED
        and name not in UNDEFINED
        and has_casts(_model(case))
        and not any(n.op_type in RANDOM_OPS for n in _model(case).graph.node)
    ]
    assert len(counted) > 100  # the check reaches the casting cases
    depends = [name for name in counted if _depends_on_undefined_casts(CASES[name])]
    assert not depends, f"passed cases whose expected data depends on undefined casts: {depends}"


def test_undefined_cases_are_the_out_of_range_casts() -> None:
    """In onnx 1.23's suite: the casts to INT4, UINT4, INT2 and UINT2 of values outside them."""
    assert UNDEFINED, "no case is undefined by the spec: the check finds nothing"
    assert all(
        re.match(r"test_cast(like)?_FLOAT(16)?_to_U?INT[24](_expanded)?$", n) for n in UNDEFINED
    )


def test_onnx_backend_test_runner() -> None:
    """The module works as a backend of ONNX's own runner (`BackendTest`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the runner builds every case (overflowing casts)
        runner = onnx.backend.test.BackendTest(backend, __name__)  # type: ignore[arg-type]
    runner.include(r"^test_(relu|gemm_default_no_bias|string_concat)_cpu$")
    result = unittest.TextTestRunner(stream=io.StringIO()).run(runner.test_suite)
    assert result.testsRun - len(result.skipped) == 3
    assert not result.failures
    # Strings are not supported: the runner sees the compiler's error.
    assert [str(test).split()[0] for test, _ in result.errors] == ["test_string_concat_cpu"]
    assert "RamielError: " in result.errors[0][1]
    assert "is not supported" in result.errors[0][1]


def _add_model(opset: int = 18) -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["sum"]), helper.make_node("Neg", ["sum"], ["neg"])],
        "add",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2, 3]) for n in ("a", "b")],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2, 3]) for n in ("sum", "neg")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


@pytest.mark.parametrize("mode", list(BACKENDS))
def test_rep_takes_lists_and_mappings(mode: str) -> None:
    rep = BACKENDS[mode].prepare(_add_model())
    a, b = np.ones((2, 3), np.float32), np.full((2, 3), 2.0, np.float32)
    by_position = rep.run([a, b])
    by_name: Any = rep.run({"b": b, "a": a})  # a namedtupledict: outputs by name too
    np.testing.assert_array_equal(by_position[0], a + b)
    np.testing.assert_array_equal(by_name["neg"], -(a + b))
    with pytest.raises(ValueError, match="takes 2 inputs, got 1"):
        rep.run([a])


def test_lanes_option_compiles_lanes() -> None:
    """
    Two independent chains of LRN (which torch runs on one thread whatever the
    intra-op thread count) on 1x32x56x56 tensors: two lanes of one thread beat one
    lane of two by far, so `lanes=2` gives two lanes.
    """
    chains = ["x1", "x2"]
    nodes = [
        helper.make_node("LRN", [f"{x}_{i}" if i else x], [f"{x}_{i + 1}"], size=5)
        for x in chains
        for i in range(3)
    ]
    nodes.append(helper.make_node("Add", ["x1_3", "x2_3"], ["y"]))
    shape = [1, 32, 56, 56]
    graph = helper.make_graph(
        nodes,
        "branches",
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, shape) for x in chains],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    # The built-in machine model: what this machine's calibration says is not the test's.
    assert "def _lane1(" in backend.prepare(model, lanes=2, machine="default").source
    assert "def _lane1(" in backend.ParallelBackend.prepare(model, machine="default").source
    assert "def _lane" not in backend.prepare(model).source


def test_run_node() -> None:
    node = helper.make_node("Relu", ["x"], ["y"])
    x = np.array([[-1.0, 2.0]], np.float32)
    (y,) = backend.run_node(node, [x])
    np.testing.assert_array_equal(y, np.maximum(x, 0))


def test_unsupported_names_the_node() -> None:
    graph = helper.make_graph(
        [helper.make_node("Frobnicate", ["x"], ["y"], name="f", domain="com.example")],
        "custom",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )
    opsets = [helper.make_opsetid("", 18), helper.make_opsetid("com.example", 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    message = r"^node 'f' \(Frobnicate\): operator 'com.example::Frobnicate' is not supported$"
    with pytest.raises(RamielError, match=message):
        backend.prepare(model)


def test_only_cpu() -> None:
    assert backend.supports_device("CPU")
    assert not backend.supports_device("CUDA")
    with pytest.raises(RamielError, match="device 'CUDA'"):
        backend.prepare(_add_model(), "CUDA")


OLDER = older_opset_cases()


@pytest.mark.parametrize("mode", list(BACKENDS))
@pytest.mark.parametrize("case", list(OLDER))
def test_older_opsets_match_onnxruntime(case: str, mode: str) -> None:
    """Single nodes at the old opsets whose semantics changed, against ONNX Runtime."""
    outcome = check_against_onnxruntime(OLDER[case], mode)
    assert outcome.status == "passed", outcome.message


def test_prepare_fixes_symbolic_shapes() -> None:
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], name="r")],
        "symbolic",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    with pytest.raises(RamielError, match="unknown dimensions"):
        backend.prepare(model)
    rep = backend.prepare(model, input_shapes={"x": [2, 3]})
    x = np.array([[-1.0, 0.5, 2.0], [3.0, -4.0, 0.0]], np.float32)
    np.testing.assert_array_equal(rep.run([x])[0], np.maximum(x, 0.0))
