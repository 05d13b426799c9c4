"""Write an ONNX model whose Reshape target comes from Shape -> Gather -> Concat (argv[1])."""

import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

nodes = [
    helper.make_node("Shape", ["x"], ["x_shape"], name="shape"),
    helper.make_node("Gather", ["x_shape", "zero"], ["batch"], name="gather", axis=0),
    helper.make_node("Unsqueeze", ["batch", "zero_axis"], ["batch_1d"], name="unsqueeze"),
    helper.make_node("Concat", ["batch_1d", "minus_one"], ["target"], name="concat", axis=0),
    helper.make_node("Reshape", ["x", "target"], ["y"], name="reshape"),
]
initializers = [
    numpy_helper.from_array(np.array(0, np.int64), "zero"),
    numpy_helper.from_array(np.array([0], np.int64), "zero_axis"),
    numpy_helper.from_array(np.array([-1], np.int64), "minus_one"),
]
graph = helper.make_graph(
    nodes,
    "shape_chain",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 12])],
    initializers,
)
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), sys.argv[1])
