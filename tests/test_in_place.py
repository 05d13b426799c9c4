"""
In-place element-wise code (`NodeContext.overwritable`): a residual block whose Add,
ReLU and Mul write into the tensors that a Conv or the previous op allocated, and a
graph whose Sums and ReLUs write into the results of a Conv, a Sum, a Concat and a
MaxPool, must match ONNX Runtime, leave the caller's input as it was, and give the
same values as the same graph with every intermediate also returned (where nothing
is overwritten).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from ramiel_mlir.api import compile_onnx

PASSES = "fold-constants,dce"
"""Without fold-batchnorm, which would fold the Mul by constants into the Conv."""


def _model(
    name: str, nodes: list[onnx.NodeProto], inits: list[onnx.TensorProto], names: list[str]
) -> onnx.ModelProto:
    """An opset-17 model from x (1x8x12x12) to the outputs `names`."""
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 12, 12])],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in names],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return onnx.shape_inference.infer_shapes(model)


def residual_model(expose: bool = False) -> onnx.ModelProto:
    """x -> Conv -> Add(x, .) -> Relu -> Conv -> Mul(k, .); `expose` also returns each value."""
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.3, (8, 8, 3, 3)).astype(np.float32), "w"),
        numpy_helper.from_array(rng.normal(0, 0.1, 8).astype(np.float32), "b"),
        numpy_helper.from_array(rng.normal(1, 0.2, (8, 1, 1)).astype(np.float32), "k"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], "conv", pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["x", "c"], ["a"], "add"),
        helper.make_node("Relu", ["a"], ["r"], "relu"),
        helper.make_node("Conv", ["r", "w"], ["d"], "conv2", pads=[1, 1, 1, 1]),
        helper.make_node("Mul", ["k", "d"], ["y"], "scale"),
    ]
    return _model("residual", nodes, inits, ["y", "c", "a", "r", "d"] if expose else ["y"])


def sources_model(expose: bool = False) -> onnx.ModelProto:
    """
    x -> Conv -> Sum(x, .) -> Relu -> Concat(., x) -> Relu -> MaxPool -> Relu, and a
    Sum of three (two convolutions and x) added to the pool's ReLU as one more Sum.
    """
    rng = np.random.default_rng(3)
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.3, (8, 8, 3, 3)).astype(np.float32), "w"),
        numpy_helper.from_array(rng.normal(0, 0.3, (16, 8, 1, 1)).astype(np.float32), "v"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], "conv", pads=[1, 1, 1, 1]),
        helper.make_node("Sum", ["x", "c"], ["s"], "sum2"),
        helper.make_node("Relu", ["s"], ["r"], "relu_sum"),
        helper.make_node("Concat", ["r", "x"], ["j"], "cat", axis=1),
        helper.make_node("Relu", ["j"], ["q"], "relu_cat"),
        helper.make_node("MaxPool", ["q"], ["p"], "pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Relu", ["p"], ["o"], "relu_pool"),
        helper.make_node("Conv", ["x", "v"], ["e"], "wide", strides=[2, 2]),
        helper.make_node("Conv", ["x", "v"], ["f"], "wide2", strides=[2, 2]),
        helper.make_node("Sum", ["e", "o", "f"], ["y"], "sum3"),
    ]
    names = ["y", "c", "s", "r", "j", "q", "p", "o", "e", "f"] if expose else ["y"]
    return _model("sources", nodes, inits, names)


@pytest.mark.parametrize(
    ("build", "methods"),
    [
        (residual_model, {".add_(": 1, ".relu_()": 1, ".mul_(": 1}),
        (sources_model, {".add_(": 3, ".relu_()": 3}),
    ],
)
def test_in_place_code_matches_and_keeps_the_input(
    tmp_path: Path, build: Callable[..., onnx.ModelProto], methods: dict[str, int]
) -> None:
    compiled = compile_onnx(build(), PASSES, tmp_path / "in_place")
    assert {method: compiled.source.count(method) for method in methods} == methods
    exposed = compile_onnx(build(expose=True), PASSES, tmp_path / "exposed")
    for method in methods:
        assert method not in exposed.source

    x = np.random.default_rng(1).normal(size=(1, 8, 12, 12)).astype(np.float32)
    given = torch.from_numpy(x.copy())
    with torch.inference_mode():
        got = compiled.load()(given)
        reference = exposed.load()(torch.from_numpy(x.copy()))[0]
    assert torch.equal(given, torch.from_numpy(x))  # the caller's input is untouched
    assert torch.equal(got, reference)  # in place or not, the same values
    session = ort.InferenceSession(build().SerializeToString())
    expected = np.asarray(session.run(None, {"x": x})[0])
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-4, atol=1e-5)
