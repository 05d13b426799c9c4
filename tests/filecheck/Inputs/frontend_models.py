"""
Small ONNX models for the frontend and target lit tests.

    python frontend_models.py NAME OUT.onnx

writes the model NAME (one of MODELS) to OUT.onnx. Each builder makes the
smallest graph that shows one import rule; the lit test next to its use says
which.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

F = TensorProto.FLOAT


def _model(
    nodes: list[onnx.NodeProto],
    inputs: list[onnx.ValueInfoProto],
    outputs: list[onnx.ValueInfoProto],
    initializers: list[onnx.TensorProto] = (),  # type: ignore[assignment]
    opset: int = 17,
) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "main", inputs, outputs, list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _tensor(name: str, shape: list[int | str], elem: int = F) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, shape)


def attributes() -> onnx.ModelProto:
    """One node per ONNX attribute kind: int, float, string, tensor, ints, floats."""
    node = helper.make_node
    return _model(
        [
            node("Flatten", ["x"], ["flat"], name="int", axis=1),
            node("LRN", ["x"], ["lrn"], name="float", size=3, alpha=0.5),
            node("Gelu", ["flat"], ["gelu"], name="string", approximate="tanh"),
            node("Transpose", ["x"], ["t"], name="ints", perm=[0, 2, 3, 1]),
            node("Constant", [], ["floats"], name="floats", value_floats=[0.5, 1.5]),
            node(
                "ConstantOfShape",
                ["dims"],
                ["filled"],
                name="tensor",
                value=numpy_helper.from_array(np.array([7], np.int64)),
            ),
        ],
        [_tensor("x", [1, 2, 3, 3])],
        [
            _tensor("lrn", [1, 2, 3, 3]),
            _tensor("gelu", [1, 18]),
            _tensor("t", [1, 3, 3, 2]),
            _tensor("floats", [2]),
            _tensor("filled", [2, 3], TensorProto.INT64),
        ],
        [numpy_helper.from_array(np.array([2, 3], np.int64), "dims")],
        opset=20,
    )


def weights() -> onnx.ModelProto:
    """
    Initializers (a large one stays in the file, a small one is inline), a small
    and a large Constant, and an omitted optional input (Clip's `min`).
    """
    rng = np.random.default_rng(0)
    large = numpy_helper.from_array(rng.normal(size=(4, 8)).astype(np.float32), "dense/w")
    small = numpy_helper.from_array(np.arange(8, dtype=np.float32) / 4, "dense/b")
    big_constant = numpy_helper.from_array(np.full((5, 4), 0.25, np.float32))
    node = helper.make_node
    return _model(
        [
            node("MatMul", ["x", "dense/w"], ["mm"], name="dense/matmul"),
            node("Constant", [], ["half"], name="half", value_float=0.5),
            node("Constant", [], ["table"], name="table", value=big_constant),
            node("Mul", ["mm", "half"], ["scaled"], name="scale"),
            node("Add", ["scaled", "dense/b"], ["biased"], name="bias"),
            node("Clip", ["biased", "", "max"], ["clipped"], name="clip"),
            node("MatMul", ["table", "clipped"], ["y"], name="project"),
        ],
        [_tensor("x", [4, 4]), _tensor("max", [])],
        [_tensor("y", [5, 8])],
        [large, small],
    )


def locations() -> onnx.ModelProto:
    """Two named nodes and one without a name (it is located at its output)."""
    node = helper.make_node
    return _model(
        [
            node("Relu", ["x"], ["a"], name="block1/relu"),
            node("Neg", ["a"], ["b"]),
            node("Sigmoid", ["b"], ["y"], name="head"),
        ],
        [_tensor("x", [2])],
        [_tensor("y", [2])],
    )


def symbolic() -> onnx.ModelProto:
    """An input with a symbolic batch dimension and a fixed feature dimension."""
    node = helper.make_node
    return _model(
        [node("Relu", ["x"], ["h"], name="relu"), node("Tanh", ["h"], ["y"], name="tanh")],
        [_tensor("x", ["batch", 3])],
        [_tensor("y", ["batch", 3])],
    )


def negative_dim() -> onnx.ModelProto:
    """A dynamic batch written as `dim_value: -1`, as paddle2onnx writes it."""
    node = helper.make_node
    return _model(
        [node("Relu", ["x"], ["h"], name="relu"), node("Tanh", ["h"], ["y"], name="tanh")],
        [_tensor("x", [-1, 3])],
        [_tensor("y", [-1, 3])],
    )


def unsupported_op() -> onnx.ModelProto:
    """A default-domain operator with no PyTorch lowering."""
    return _model(
        [helper.make_node("MeanVarianceNormalization", ["x"], ["y"], name="mvn")],
        [_tensor("x", [2, 3, 4, 5])],
        [_tensor("y", [2, 3, 4, 5])],
    )


def unsupported_ops() -> onnx.ModelProto:
    """
    Several unsupported operators: two MeanVarianceNormalization, one
    RoiAlign, one of another domain.
    """
    node = helper.make_node
    model = _model(
        [
            node("MeanVarianceNormalization", ["x"], ["n1"], name="mvn1"),
            node("MeanVarianceNormalization", ["x"], ["n2"], name="mvn2"),
            node("RoiAlign", ["x", "rois", "index"], ["roi"], name="roi"),
            node("Relu", ["x"], ["r"], name="relu"),
            node("Frobnicate", ["r"], ["f"], name="frob", domain="com.example"),
        ],
        [
            _tensor("x", [2, 3, 4, 5]),
            _tensor("rois", [1, 4]),
            _tensor("index", [1], TensorProto.INT64),
        ],
        [
            _tensor("n1", [2, 3, 4, 5]),
            _tensor("n2", [2, 3, 4, 5]),
            _tensor("roi", [1, 3, 1, 1]),
            _tensor("f", [2, 3, 4, 5]),
        ],
    )
    model.opset_import.append(helper.make_opsetid("com.example", 1))
    return model


def branches() -> onnx.ModelProto:
    """Two branches of named nodes that meet in an Add: x -> relu -> neg, x -> exp."""
    node = helper.make_node
    return _model(
        [
            node("Relu", ["x"], ["a"], name="left/relu"),
            node("Neg", ["a"], ["b"], name="left/neg"),
            node("Exp", ["x"], ["c"], name="right/exp"),
            node("Add", ["b", "c"], ["y"], name="join"),
        ],
        [_tensor("x", [4, 8])],
        [_tensor("y", [4, 8])],
    )


def if_model(else_op: str = "Neg") -> onnx.ModelProto:
    """An If node whose branches read the outer `x` (a Concat else branch doubles its length)."""

    def branch(name: str, op: str) -> onnx.GraphProto:
        attrs = {"axis": 0} if op == "Concat" else {}
        inputs = ["x", "x"] if op == "Concat" else ["x"]
        size = 4 if op == "Concat" else 2
        return helper.make_graph(
            [helper.make_node(op, inputs, [f"{name}_y"], name=f"{name}/op", **attrs)],
            name,
            [],
            [_tensor(f"{name}_y", [size])],
        )

    return _model(
        [
            helper.make_node(
                "If",
                ["cond"],
                ["y"],
                name="choose",
                then_branch=branch("then", "Relu"),
                else_branch=branch("else", else_op),
            )
        ],
        [_tensor("cond", [], TensorProto.BOOL), _tensor("x", [2])],
        [_tensor("y", ["n"])],
    )


def if_shapes() -> onnx.ModelProto:
    """An If whose branches give different shapes on a condition only known at run time."""
    return if_model("Concat")


def tiny() -> onnx.ModelProto:
    """
    output = relu(input @ fc.weight + fc.bias), for the python target: the
    weight (24 elements) is read from the file, the bias (8) is inline.
    """
    rng = np.random.default_rng(1)
    w = numpy_helper.from_array(rng.normal(size=(3, 8)).astype(np.float32), "fc.weight")
    b = numpy_helper.from_array(np.linspace(-1, 1, 8).astype(np.float32), "fc.bias")
    node = helper.make_node
    return _model(
        [
            node("MatMul", ["input", "fc.weight"], ["mm"], name="fc/matmul"),
            node("Add", ["mm", "fc.bias"], ["pre"], name="fc/add"),
            node("Relu", ["pre"], ["output"], name="act"),
        ],
        [_tensor("input", [2, 3])],
        [_tensor("output", [2, 8])],
        [w, b],
    )


MODELS: dict[str, Callable[[], onnx.ModelProto]] = {
    "attributes": attributes,
    "weights": weights,
    "locations": locations,
    "symbolic": symbolic,
    "negative_dim": negative_dim,
    "unsupported_op": unsupported_op,
    "unsupported_ops": unsupported_ops,
    "branches": branches,
    "if": if_model,
    "if_shapes": if_shapes,
    "tiny": tiny,
}


def main(argv: list[str]) -> None:
    """Write the model named by argv[1] to argv[2]."""
    name, path = argv[1:]
    model = MODELS[name]()
    onnx.checker.check_model(model)
    onnx.save(model, path)


if __name__ == "__main__":
    main(sys.argv)
