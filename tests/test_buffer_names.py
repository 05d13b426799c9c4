"""Weights named like `torch.nn.Module`'s own attributes still become buffers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from onnx import TensorProto, helper, numpy_helper

from ramiel_mlir.api import compile_onnx, import_generated
from ramiel_mlir.backend.print_python import MODULE_ATTRIBUTES


def test_the_list_covers_the_installed_torch() -> None:
    module = torch.nn.Module()
    names = {n for n in set(dir(module)) | set(vars(module)) if not n.startswith("__")}
    assert names <= MODULE_ATTRIBUTES


def test_weights_named_half_training_and_to_run(tmp_path: Path) -> None:
    """Three initializers whose names nn.Module already uses: the code renames their buffers."""
    names = ["half", "training", "to"]
    values = [np.full((2, 3), i + 1.0, np.float32) for i in range(len(names))]
    nodes = [helper.make_node("Add", ["x", "half"], ["a"])]
    nodes += [helper.make_node("Mul", ["a", "training"], ["b"])]
    nodes += [helper.make_node("Sub", ["b", "to"], ["y"])]
    graph = helper.make_graph(
        nodes,
        "names",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
        [numpy_helper.from_array(v, n) for n, v in zip(names, values, strict=True)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    compiled = compile_onnx(model, "", tmp_path)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    generated = import_generated(compiled.source_path).load_model(compiled.weights_path)
    got = generated(torch.from_numpy(x)).numpy()
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_array_equal(got, session.run(None, {"x": x})[0])
