"""Write a small ONNX model with a Loop for the frontend lit tests: `loop_models.py KIND PATH`."""

import sys

import onnx
from onnx import TensorProto, helper

F32, I64, BOOL = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL


def range_loop(declared: bool) -> onnx.ModelProto:
    """Range's function body: a run-time trip count, `delta` read from the outer scope."""
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond"], ["cond_out"]),
            helper.make_node("Add", ["prev", "delta"], ["current"]),
            helper.make_node("Identity", ["prev"], ["range"]),
        ],
        "loop_body",
        [
            helper.make_tensor_value_info("i", I64, []),
            helper.make_tensor_value_info("cond", BOOL, []),
            helper.make_tensor_value_info("prev", F32, None),
        ],
        [
            helper.make_tensor_value_info(name, elem, None)
            for name, elem in (("cond_out", BOOL), ("current", F32), ("range", F32))
        ],
    )
    graph = helper.make_graph(
        [helper.make_node("Loop", ["n", "", "start"], ["last", "output"], body=body, name="loop")],
        "range",
        [
            helper.make_tensor_value_info("n", I64, []),
            helper.make_tensor_value_info("start", F32, []),
            helper.make_tensor_value_info("delta", F32, []),
        ],
        [helper.make_tensor_value_info("output", F32, [2] if declared else ["N"])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)


if __name__ == "__main__":
    kind, path = sys.argv[1:]
    onnx.save(range_loop(declared=kind == "declared"), path)
