"""
The full-size CNNs of the onnx wheel (`ramiel_mlir.zoo.light`), compiled and run.

Each model is built once per session (seeded random, calibrated weights),
compiled with `dce` and compared with ONNX Runtime on a seeded random input.
The generated source is checked too: plain Python that needs only torch, with
no dead statements and no keyword arguments that repeat PyTorch's defaults.
"""

from __future__ import annotations

import ast
import re
import sys
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx.reference import ReferenceEvaluator
from zoo.light import LIGHT_MODELS, light_model

from ramiel_mlir.api import CompiledModel, compile_onnx
from ramiel_mlir.diagnostics import RamielError

TOLERANCE = 1e-4
"""Largest error allowed, relative to the largest magnitude of ONNX Runtime's output."""

TORCH_DEFAULTS: dict[str, dict[str, object]] = {
    **{f"F.conv{n}d": {"stride": 1, "padding": 0, "dilation": 1, "groups": 1} for n in (1, 2, 3)},
    **{f"F.max_pool{n}d": {"padding": 0, "dilation": 1, "ceil_mode": False} for n in (1, 2, 3)},
    **{
        f"F.avg_pool{n}d": {"padding": 0, "ceil_mode": False, "count_include_pad": True}
        for n in (1, 2, 3)
    },
    "F.batch_norm": {"training": False, "momentum": 0.1, "eps": 1e-5},
    "F.local_response_norm": {"alpha": 1e-4, "beta": 0.75, "k": 1.0},
    "F.pad": {"mode": "constant", "value": 0},
    "torch.addmm": {"beta": 1, "alpha": 1},
}
"""PyTorch's defaults for the keyword arguments of the calls the nn lowerings print."""

PER_AXIS = {"kernel_size", "stride", "padding", "dilation"}
"""Keywords whose per-axis values print as one number when the axes agree."""


def built(model_cache: Path, name: str) -> Path:
    """The light model with random weights, once per session."""
    return light_model(name, model_cache)


def compiled(model_cache: Path, name: str) -> CompiledModel:
    """The light model compiled with `dce`, once per session."""
    out_dir = model_cache / f"{name}-py"
    if (out_dir / "model.py").exists():
        return CompiledModel(out_dir / "model.py", out_dir / "model.weights.pt")
    return compile_onnx(built(model_cache, name), "dce", out_dir)


@cache
def reference(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random input of the model and ONNX Runtime's output for it (once)."""
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    (model_input,) = session.get_inputs()
    x = np.random.default_rng(1).standard_normal(model_input.shape).astype(np.float32)
    (expected,) = session.run(None, {model_input.name: x})
    return x, np.asarray(expected)


@pytest.mark.parametrize("name", LIGHT_MODELS)
def test_matches_onnxruntime(model_cache: Path, name: str) -> None:
    x, expected = reference(built(model_cache, name))
    with torch.no_grad():
        actual = compiled(model_cache, name).load()(torch.from_numpy(x))
    assert actual.dtype == torch.float32
    assert tuple(actual.shape) == expected.shape
    error = np.abs(actual.numpy() - expected).max()
    assert error <= TOLERANCE * np.abs(expected).max()


@pytest.mark.parametrize("name", ["inception_v2", "resnet50"])
def test_folded_batchnorm_matches_onnxruntime(model_cache: Path, name: str) -> None:
    """BatchNormalization (and inception_v2's Mul/Add) folded into the Convs stays within 1e-4."""
    x, expected = reference(built(model_cache, name))
    out_dir = model_cache / f"{name}-folded-py"
    folded = compile_onnx(built(model_cache, name), "fold-constants,fold-batchnorm,dce", out_dir)
    assert "batch_norm" not in folded.source
    with torch.no_grad():
        actual = folded.load()(torch.from_numpy(x))
    error = np.abs(actual.numpy() - expected).max()
    assert error <= TOLERANCE * np.abs(expected).max()


@pytest.mark.parametrize("name", LIGHT_MODELS)
def test_output_is_not_saturated(model_cache: Path, name: str) -> None:
    """The random weights make a meaningful test: no one-hot Softmax, no huge scores."""
    path = built(model_cache, name)
    _, expected = reference(path)
    graph = onnx.load(path, load_external_data=False).graph
    if graph.node[-1].op_type == "Softmax":
        top = np.sort(expected.ravel())[::-1][:5]
        assert top[0] < 0.9, top
        assert np.all(np.diff(top) < -1e-4 * top[0]), top  # five distinct probabilities
        assert top[4] > 1e-3, top
    else:
        assert 1.0 <= expected.std() <= 10.0


def _imported(tree: ast.Module) -> set[str]:
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            modules.add((node.module or "").split(".")[0])
    return modules


def _forward(tree: ast.Module) -> ast.FunctionDef:
    return next(
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name == "forward"
    )


def _redundant_keywords(tree: ast.AST) -> list[str]:
    """Calls with a keyword equal to PyTorch's default, or per-axis lists that agree."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        callee = ast.unparse(node.func)
        defaults = TORCH_DEFAULTS.get(callee, {})
        for keyword in node.keywords:
            try:
                value = ast.literal_eval(keyword.value)
            except ValueError:
                continue
            if keyword.arg in defaults and value == defaults[keyword.arg]:
                found.append(ast.unparse(node))
            if keyword.arg in PER_AXIS and isinstance(value, list) and len(set(value)) == 1:
                found.append(ast.unparse(node))
    return found


@pytest.mark.parametrize("name", LIGHT_MODELS)
def test_generated_source(model_cache: Path, name: str) -> None:
    source = compiled(model_cache, name).source
    tree = ast.parse(source)
    compile(tree, name, "exec")
    assert _imported(tree) <= {"torch", "numpy"} | sys.stdlib_module_names
    # No dead leftovers (an unused Dropout mask, say): every name bound is read.
    forward = _forward(tree)
    bound = {
        target.id
        for node in ast.walk(forward)
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    read = {
        node.id
        for node in ast.walk(forward)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }
    assert bound <= read, bound - read
    assert _redundant_keywords(forward) == []


# Single nodes: the operators these models use, at the edges the models do not reach.


class Node(NamedTuple):
    """One ONNX node on random float inputs; the last `weights` inputs are initializers."""

    op_type: str
    shapes: str  # "1,2,7,7 3,2,3,3 3": the input shapes ("-" for a scalar)
    opset: int
    weights: int
    reference: str  # "onnxruntime", "onnx" (its reference implementation) or "lrn"
    attrs: dict[str, Any]


def _node(
    op_type: str,
    shapes: str,
    opset: int,
    weights: int = 0,
    reference: str = "onnxruntime",
    **attrs: Any,
) -> Node:
    return Node(op_type, shapes, opset, weights, reference, attrs)


NODES = {
    "conv-same-upper": _node(
        "Conv", "1,2,7,7 3,2,3,3 3", 11, weights=2, auto_pad="SAME_UPPER", strides=[2, 2]
    ),
    # ONNX Runtime has no dilated SAME convolution.
    "conv-same-lower-dilated": _node(
        "Conv",
        "1,2,8,8 3,2,3,3",
        11,
        weights=1,
        reference="onnx",
        auto_pad="SAME_LOWER",
        dilations=[2, 2],
        strides=[2, 2],
    ),
    "conv-groups-asymmetric": _node(
        "Conv",
        "1,4,6,7 6,2,3,2",
        9,
        weights=1,
        group=2,
        dilations=[2, 1],
        pads=[1, 0, 2, 1],
        strides=[1, 2],
    ),
    "avgpool-dilated": _node(
        "AveragePool", "1,2,7,7", 19, reference="onnx", kernel_shape=[3, 3], dilations=[2, 2]
    ),
    "avgpool-dilated-padded": _node(
        "AveragePool",
        "1,2,8,8",
        19,
        reference="onnx",
        kernel_shape=[3, 3],
        dilations=[2, 2],
        pads=[1, 1, 2, 2],
        strides=[2, 2],
    ),
    "conv-valid-1d": _node("Conv", "1,3,9 4,3,3 4", 11, weights=2, auto_pad="VALID", strides=[2]),
    "conv-3d": _node("Conv", "1,2,4,5,5 2,2,3,3,3", 9, weights=1, pads=[1, 1, 1, 1, 1, 1]),
    "maxpool-ceil": _node(
        "MaxPool", "1,2,8,8", 10, kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1
    ),
    "maxpool-asymmetric-ceil": _node(
        "MaxPool",
        "1,2,7,8",
        10,
        kernel_shape=[3, 3],
        strides=[2, 2],
        pads=[0, 0, 1, 1],
        ceil_mode=1,
    ),
    "maxpool-dilated": _node(
        "MaxPool",
        "1,2,9,9",
        12,
        kernel_shape=[3, 3],
        dilations=[2, 2],
        pads=[1, 1, 1, 1],
        ceil_mode=1,
    ),
    "maxpool-same-upper-1d": _node(
        "MaxPool", "1,2,7", 11, kernel_shape=[2], strides=[2], auto_pad="SAME_UPPER"
    ),
    "maxpool-large-pads-3d": _node(
        "MaxPool", "1,1,5,5,5", 11, kernel_shape=[3, 3, 3], pads=[2, 2, 2, 2, 2, 2]
    ),
    "avgpool-exclude-asymmetric": _node(
        "AveragePool", "1,2,5,6", 11, kernel_shape=[3, 3], pads=[0, 1, 1, 2]
    ),
    "avgpool-include-asymmetric": _node(
        "AveragePool", "1,2,5,6", 11, kernel_shape=[3, 3], pads=[0, 1, 1, 2], count_include_pad=1
    ),
    "avgpool-exclude-ceil": _node(
        "AveragePool",
        "1,2,8,8",
        11,
        kernel_shape=[3, 3],
        strides=[2, 2],
        pads=[1, 1, 1, 1],
        ceil_mode=1,
    ),
    "avgpool-include-ceil": _node(
        "AveragePool",
        "1,2,8,8",
        11,
        kernel_shape=[3, 3],
        strides=[2, 2],
        pads=[1, 1, 1, 1],
        ceil_mode=1,
        count_include_pad=1,
    ),
    "avgpool-same-upper": _node(
        "AveragePool", "1,2,6,6", 11, kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER"
    ),
    "avgpool-3d-asymmetric": _node(
        "AveragePool", "1,1,4,5,5", 11, kernel_shape=[2, 3, 3], pads=[1, 0, 1, 0, 1, 2]
    ),
    "avgpool-1d-full-windows": _node(
        "AveragePool", "1,2,9", 11, kernel_shape=[3], strides=[2], pads=[1, 2], count_include_pad=1
    ),
    "global-average-3d": _node("GlobalAveragePool", "1,3,2,3,4", 9),
    "global-max": _node("GlobalMaxPool", "1,3,5,4", 9),
    # ONNX Runtime takes neither even sizes nor other ranks than 4.
    "lrn-even": _node("LRN", "1,7,3,3", 13, reference="lrn", size=4, alpha=0.5, beta=0.6, bias=2.0),
    "lrn-odd-3d": _node("LRN", "2,6,5", 1, reference="lrn", size=3),
    "batchnorm-spatial-0": _node(
        "BatchNormalization", "2,3,2,2 3,2,2 3,2,2 3,2,2 3,2,2", 7, weights=4, spatial=0
    ),
    "batchnorm-15": _node("BatchNormalization", "2,3,4 3 3 3 3", 15, weights=4, epsilon=0.01),
    "gemm-trans-a-column-c": _node(
        "Gemm", "4,3 4,5 3,1", 13, weights=2, transA=1, alpha=0.5, beta=2.0
    ),
    "gemm-no-c": _node("Gemm", "3,4 5,4", 13, weights=1, transB=1, alpha=2.0),
    "gemm-scalar-c": _node("Gemm", "3,4 4,5 -", 13, weights=2),
    "gemm-row-c": _node("Gemm", "3,4 5,4 1,5", 13, weights=2, transB=1),
    "softmax-11-coerced": _node("Softmax", "2,3,4", 11, axis=1),
    "softmax-13-axis": _node("Softmax", "2,3,4", 13, axis=1),
    "log-softmax-9-coerced": _node("LogSoftmax", "2,3,2,2", 9, axis=2),
}


def _node_model(node: Node) -> onnx.ModelProto:
    """The one-node model of `node`, its output type inferred."""
    rng = np.random.default_rng(0)
    shapes = [[] if s == "-" else [int(d) for d in s.split(",")] for s in node.shapes.split()]
    names = [f"in{i}" for i in range(len(shapes))]
    split = len(shapes) - node.weights
    inputs = [
        onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, s)
        for n, s in zip(names[:split], shapes[:split], strict=True)
    ]
    # Positive weights keep BatchNormalization variances valid.
    initializers = [
        onnx.numpy_helper.from_array(rng.uniform(0.5, 1.5, s).astype(np.float32), n)
        for n, s in zip(names[split:], shapes[split:], strict=True)
    ]
    onnx_node = onnx.helper.make_node(node.op_type, names, ["out"], name="node", **node.attrs)
    graph = onnx.helper.make_graph(
        [onnx_node], node.op_type, inputs, [onnx.ValueInfoProto(name="out")], initializers
    )
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", node.opset)])
    model.ir_version = 8
    return onnx.shape_inference.infer_shapes(model, strict_mode=True)


def _lrn(x: np.ndarray, size: int, alpha: float, beta: float, bias: float) -> np.ndarray:
    """LRN as the ONNX operator documentation defines it."""
    square_sum = np.zeros_like(x)
    channels = x.shape[1]
    for c in range(channels):
        low = max(0, c - (size - 1) // 2)
        high = min(channels - 1, c + -(-(size - 1) // 2))
        square_sum[:, c] = (x[:, low : high + 1] ** 2).sum(axis=1)
    return x / (bias + alpha / size * square_sum) ** beta


def _expected(node: Node, model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> np.ndarray:
    if node.reference == "lrn":
        attrs = {"alpha": 1e-4, "beta": 0.75, "bias": 1.0, **node.attrs}
        return _lrn(next(iter(feeds.values())), **attrs)  # type: ignore[arg-type]
    if node.reference == "onnx":
        (expected,) = ReferenceEvaluator(model).run(None, feeds)
        return np.asarray(expected)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (expected,) = session.run(None, feeds)
    return np.asarray(expected)


@pytest.mark.parametrize("case", NODES)
def test_node_matches_reference(tmp_path: Path, case: str) -> None:
    node = NODES[case]
    model = _node_model(node)
    rng = np.random.default_rng(1)
    graph_inputs = model.graph.input
    feeds = {
        i.name: rng.standard_normal([d.dim_value for d in i.type.tensor_type.shape.dim]).astype(
            np.float32
        )
        for i in graph_inputs
    }
    expected = _expected(node, model, feeds)
    compiled_node = compile_onnx(model, "", tmp_path)
    with torch.no_grad():
        actual = compiled_node.load()(*(torch.from_numpy(x) for x in feeds.values()))
    assert tuple(actual.shape) == expected.shape
    assert np.abs(actual.numpy() - expected).max() <= 1e-5 * max(np.abs(expected).max(), 1.0)
    assert _redundant_keywords(ast.parse(compiled_node.source)) == []


UNSUPPORTED = {
    # onnx's shape inference keeps the window that would start in the end padding.
    "maxpool-ceil-window-in-padding": (
        _node("MaxPool", "1,1,6", 12, kernel_shape=[2], strides=[3], ceil_mode=1),
        "pooling whose inferred output shape [3] differs from the operator's definition [2]",
    ),
    "avgpool-1d-uneven-windows": (
        _node("AveragePool", "1,2,9", 11, kernel_shape=[3], pads=[1, 0]),
        "1-D AveragePool whose windows count different numbers of cells",
    ),
    "batchnorm-6-training": (
        _node("BatchNormalization", "2,3,4 3 3 3 3", 6, weights=4),
        "training mode (is_test=0)",
    ),
}


@pytest.mark.parametrize("case", UNSUPPORTED)
def test_node_unsupported(tmp_path: Path, case: str) -> None:
    node, message = UNSUPPORTED[case]
    with pytest.raises(RamielError, match=re.escape(f"node 'node' ({node.op_type}): {message}")):
        compile_onnx(_node_model(node), "", tmp_path)


def test_max_pool_indices(tmp_path: Path) -> None:
    model = _node_model(_node("MaxPool", "1,1,4,4", 12, kernel_shape=[2, 2]))
    model.graph.node[0].output.append("indices")
    model.graph.output.append(
        onnx.helper.make_tensor_value_info("indices", onnx.TensorProto.INT64, [1, 1, 3, 3])
    )
    assert "_pool_indices(" in compile_onnx(model, "", tmp_path).source
