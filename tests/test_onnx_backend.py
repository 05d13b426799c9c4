"""
The ONNX node conformance suite against the generated code, serially and on two lanes.

Every case of `onnx.backend.test.case.node` either passes (ONNX's own comparison
at the case's tolerance) or is unsupported with exactly the message that
`tests/onnx_backend_unsupported.txt` records for it; a wrong answer or a crash
fails. When the compiler changes what it supports, regenerate the list with
`tools/conformance.py` and review the difference.
"""

from __future__ import annotations

import io
import unittest
import warnings

import numpy as np
import onnx
import onnx.backend.test
import pytest
from onnx import TensorProto, helper

import ramiel_mlir.onnx_backend as backend
from ramiel_mlir.conformance import BACKENDS, node_cases, read_expected, run_case
from ramiel_mlir.diagnostics import RamielError

CASES = {case.name: case for case in node_cases()}
EXPECTED = read_expected()
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
    else:
        assert outcome.status == "passed", outcome.message


def test_expected_list_names_suite_cases() -> None:
    assert set(EXPECTED) <= set(CASES), "stale names: regenerate with tools/conformance.py"
    assert all(message for message in EXPECTED.values())


def test_coverage_bar() -> None:
    """Every case not listed as unsupported passes (test_node_case): enough of them."""
    assert len(CASES) - len(EXPECTED) >= REQUIRED_PASSES


def test_onnx_backend_test_runner() -> None:
    """The module works as a backend of ONNX's own runner (`BackendTest`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the runner builds every case (overflowing casts)
        runner = onnx.backend.test.BackendTest(backend, __name__)
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
    by_name = rep.run({"b": b, "a": a})
    np.testing.assert_array_equal(by_position[0], a + b)
    np.testing.assert_array_equal(by_name["neg"], -(a + b))
    with pytest.raises(ValueError, match="takes 2 inputs, got 1"):
        rep.run([a])


def test_lanes_option_compiles_lanes() -> None:
    """Two branches that each cost a 256x256 product: two lanes with `lanes=2`."""
    weights = helper.make_tensor("w", TensorProto.FLOAT, [256, 256], np.ones(256 * 256))
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "w"], ["a"]),
            helper.make_node("Tanh", ["a"], ["t"]),
            helper.make_node("Sigmoid", ["a"], ["s"]),
            helper.make_node("Add", ["t", "s"], ["y"]),
        ],
        "branches",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [256, 256])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [256, 256])],
        [weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    assert "def _lane1(" in backend.prepare(model, lanes=2).source
    assert "def _lane1(" in backend.ParallelBackend.prepare(model).source
    assert "_lane" not in backend.prepare(model).source


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


def _old_model(
    op_type: str,
    opset: int,
    inputs: dict[str, np.ndarray],
    weights: dict[str, np.ndarray] | None = None,
    outputs: int = 1,
    **attrs: object,
) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """A one-node model at an old opset and its feeds; output types from shape inference."""
    names = list(inputs) + list(weights or {})
    node = helper.make_node(op_type, names, [f"y{i}" for i in range(outputs)], **attrs)
    graph = helper.make_graph(
        [node],
        "old",
        [
            helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
            for n, v in inputs.items()
        ],
        [helper.make_value_info(f"y{i}", onnx.TypeProto()) for i in range(outputs)],
        [onnx.numpy_helper.from_array(v, n) for n, v in (weights or {}).items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    del model.graph.output[:]
    model.graph.output.extend(inferred.graph.output)
    return model, inputs


RNG = np.random.default_rng(0)
X = RNG.standard_normal((2, 3, 4, 6)).astype(np.float32)
OLD_OPSETS = {
    "softmax-11-coerced": _old_model("Softmax", 11, {"x": X}, axis=1),
    "logsoftmax-11-coerced": _old_model("LogSoftmax", 11, {"x": X}, axis=2),
    "hardmax-11-coerced": _old_model("Hardmax", 11, {"x": X}, axis=1),
    "clip-6-attributes": _old_model("Clip", 6, {"x": X}, min=-0.5, max=0.7),
    "pad-2-reflect": _old_model("Pad", 2, {"x": X}, pads=[0, 0, 1, 2, 0, 0, 2, 1], mode="reflect"),
    "pad-11-edge": _old_model(
        "Pad", 11, {"x": X}, {"pads": np.array([0, 1, 0, 2, 0, 0, 1, 0])}, mode="edge"
    ),
    "slice-9-attributes": _old_model(
        "Slice", 9, {"x": X}, starts=[1, -3], ends=[3, 100], axes=[1, 3]
    ),
    "split-11-attribute": _old_model("Split", 11, {"x": X}, outputs=2, axis=3, split=[2, 4]),
    "squeeze-11-axes": _old_model("Squeeze", 11, {"x": X[:1]}, axes=[0]),
    "unsqueeze-11-axes": _old_model("Unsqueeze", 11, {"x": X}, axes=[0, 5]),
    "reducesum-11-axes": _old_model("ReduceSum", 11, {"x": X}, axes=[1, 3], keepdims=0),
    "reducemax-13-axes": _old_model("ReduceMax", 13, {"x": X}, axes=[-1]),
    "batchnorm-7": _old_model(
        "BatchNormalization",
        7,
        {"x": X},
        {n: RNG.random(3).astype(np.float32) + 0.5 for n in ("s", "b", "m", "v")},
    ),
    "dropout-7-ratio": _old_model("Dropout", 7, {"x": X}, ratio=0.3),
    "topk-1-attribute": _old_model("TopK", 1, {"x": X}, outputs=2, k=3),
    "argmax-11": _old_model("ArgMax", 11, {"x": X}, axis=2, keepdims=0),
    "upsample-7-attribute": _old_model("Upsample", 7, {"x": X}, scales=[1.0, 1.0, 2.0, 3.0]),
    "upsample-9-linear": _old_model(
        "Upsample", 9, {"x": X}, {"s": np.array([1, 1, 2, 1.5], np.float32)}, mode="linear"
    ),
    "resize-10-nearest-down": _old_model(
        "Resize", 10, {"x": X}, {"s": np.array([1, 1, 0.5, 0.7], np.float32)}
    ),
    "gemm-7-broadcast": _old_model(
        "Gemm", 7, {"a": X[0, 0]}, {"b": X[0, 1].T.copy(), "c": X[1, 1, 0, :4]}, alpha=0.5, beta=2.0
    ),
}
"""Single nodes at opsets older than the suite's (mostly the latest): semantics that changed."""


@pytest.mark.parametrize("case", OLD_OPSETS)
def test_older_opsets_match_onnxruntime(case: str) -> None:
    import onnxruntime as ort

    model, feeds = OLD_OPSETS[case]
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    expected = session.run(None, feeds)
    for mode, backend_class in BACKENDS.items():
        actual = backend_class.prepare(model).run(list(feeds.values()))
        for a, e in zip(actual, expected, strict=True):
            assert a.dtype == e.dtype, mode
            np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-6, err_msg=mode)
