"""
Static shapes that ONNX shape inference leaves unresolved (frontend/shapes.py).

Small PyTorch modules with the shape code exporters turn into arithmetic that
`onnx.shape_inference` cannot follow (TorchScript's `expand` with computed sizes,
`chunk`, Expand at opset 12), plus patterns it can, exported by both exporters,
imported, compiled with `dce` only and compared with ONNX Runtime. Values that
really depend on the input data (or on random numbers) stay an error naming the
node.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper
from torch import nn
from zoo.torch_models import export

from ramiel_mlir.api import compile_onnx
from ramiel_mlir.dialects.dfg import NodeOp
from ramiel_mlir.frontend import shapes
from ramiel_mlir.frontend.onnx import import_onnx


class ExpandMask(nn.Module):
    """A causal mask from comparisons of `arange`, expanded to (b, t, t)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        positions = torch.arange(t)
        mask = (positions[None, :] <= positions[:, None]).to(x.dtype)
        return x @ x.transpose(1, 2) * mask.expand(b, t, t)


class ExpandRow(nn.Module):
    """A row of the input expanded to (b, t, t) over sizes read from its shape."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        return x[:, :1, :t].expand(b, t, t) + x[:, :, :t]


class Chunk(nn.Module):
    """A gated unit: the last dimension split in halves by `chunk`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        value, gate = x.chunk(2, dim=-1)
        return value * torch.sigmoid(gate)


class ComputedView(nn.Module):
    """Heads split off with `view` sizes computed from `x.shape`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, w = x.shape
        heads = x.view(b, t, 2, w // 2).transpose(1, 2)
        return heads.softmax(-1).reshape(b * 2, t, -1)


class ArangeMask(nn.Module):
    """A band mask from `arange` distances, applied with `where`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.shape[1]
        positions = torch.arange(t)
        band = (positions[None, :] - positions[:, None]).abs() <= 2
        return torch.where(band, x @ x.transpose(1, 2), 0.0)


@dataclass(frozen=True)
class Case:
    """A module, how it is exported, and whether plain shape inference fails on it."""

    module: Callable[[], nn.Module]
    dynamo: bool
    opset: int | None
    needs_evaluation: bool


CASES = {
    "expand_mask-torchscript": Case(ExpandMask, False, None, True),
    "expand_mask-torchscript-opset12": Case(ExpandMask, False, 12, True),
    "expand_mask-dynamo": Case(ExpandMask, True, None, False),
    "expand_row-torchscript-opset12": Case(ExpandRow, False, 12, True),
    "chunk-torchscript": Case(Chunk, False, None, True),
    "chunk-dynamo": Case(Chunk, True, None, False),
    "view-torchscript": Case(ComputedView, False, None, False),
    "view-dynamo": Case(ComputedView, True, None, False),
    "arange_mask-torchscript": Case(ArangeMask, False, None, False),
    "arange_mask-dynamo": Case(ArangeMask, True, None, False),
}

INPUT_SHAPE = (2, 6, 8)


def exported(model_cache: Path, name: str) -> Path:
    """The case's module exported once per session (the zoo's transformer block too)."""
    path = model_cache / f"shapes-{name}.onnx"
    if path.exists():
        return path
    if name == "transformer_block-torchscript-opset12":
        return export("transformer_block", path, dynamo=False, opset=12)
    case = CASES[name]
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            case.module().eval(),
            (torch.zeros(INPUT_SHAPE),),
            path,
            dynamo=case.dynamo,
            opset_version=case.opset,
        )
    return path


def plain_unresolved(path: Path) -> set[str]:
    """The values that ONNX shape inference alone leaves without a static shape."""
    model = onnx.load(path)
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    return shapes.unresolved_values(model.graph, shapes.static_values(inferred.graph))


ALL_CASES = [*CASES, "transformer_block-torchscript-opset12"]


@pytest.mark.parametrize("name", ALL_CASES)
def test_matches_onnxruntime(model_cache: Path, name: str) -> None:
    path = exported(model_cache, name)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feed = session.get_inputs()[0]
    shape = [int(d) for d in feed.shape]
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    expected = np.asarray(session.run(None, {feed.name: x})[0])
    model = compile_onnx(path, "dce", model_cache / f"shapes-{name}-py").load()
    with torch.no_grad():
        actual = model(torch.from_numpy(x)).numpy()
    assert actual.shape == expected.shape
    assert np.abs(actual - expected).max() <= 1e-5 * max(1.0, np.abs(expected).max())


@pytest.mark.parametrize(
    "name",
    [n for n, case in CASES.items() if case.needs_evaluation]
    + ["transformer_block-torchscript-opset12"],
)
def test_plain_inference_needs_the_evaluation(model_cache: Path, name: str) -> None:
    """
    These exports are why shapes.py exists: ONNX shape inference alone stops.

    If an onnx release resolves them, this fails and the case no longer tests
    the evaluation loop.
    """
    assert plain_unresolved(exported(model_cache, name))


def test_imported_graph_keeps_every_node(model_cache: Path) -> None:
    """Computed values only settle types; folding them is fold-constants' job."""
    path = exported(model_cache, "expand_mask-torchscript")
    module = import_onnx(str(path))
    imported = [op.op_type.data for op in module.walk() if isinstance(op, NodeOp)]
    assert imported == [node.op_type for node in onnx.load(path).graph.node]
    assert "ConstantOfShape" in imported


def test_resolved_model_is_inferred_once(
    model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model that shape inference resolves does not enter the evaluation loop."""
    calls: list[int] = []
    infer = shapes._infer

    def counting(model: onnx.ModelProto) -> onnx.ModelProto:
        calls.append(len(model.graph.node))
        return infer(model)

    monkeypatch.setattr(shapes, "_infer", counting)
    import_onnx(str(exported(model_cache, "view-torchscript")))
    assert len(calls) == 1
    import_onnx(str(exported(model_cache, "chunk-torchscript")))
    assert len(calls) > 2


def test_values_above_the_size_cap_are_not_computed(
    model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above the cap, Expand's target shape is not computed: its sizes stay `?`."""
    path = exported(model_cache, "expand_mask-torchscript")
    monkeypatch.setattr(shapes, "MAX_ELEMENTS", 0)
    module = import_onnx(str(path))
    expand = next(
        op for op in module.walk() if isinstance(op, NodeOp) and op.node_name == "/Expand"
    )
    assert "?" in str(expand.outputs[0].type)


def data_dependent_model(tmp_path: Path, source: onnx.NodeProto) -> Path:
    """
    x[4] -> Range(0, max(sample) + Size(x) / 4) -> sum, with `sample` made by `source`.

    The Size/Div part is constant, the maximum is not, so Range's length stays unknown.
    """
    nodes = [
        source,
        helper.make_node("ReduceMax", ["sample"], ["n_float"], keepdims=0),
        helper.make_node("Cast", ["n_float"], ["n"], to=TensorProto.INT64),
        helper.make_node("Size", ["x"], ["size"]),
        helper.make_node("Div", ["size", "four"], ["quarter"]),
        helper.make_node("Add", ["n", "quarter"], ["limit"]),
        helper.make_node("Range", ["zero", "limit", "one"], ["steps"], name="steps"),
        helper.make_node("Cast", ["steps"], ["steps_float"], to=TensorProto.FLOAT),
        helper.make_node("ReduceSum", ["steps_float"], ["y"], keepdims=0),
    ]
    scalars = [
        helper.make_tensor(name, TensorProto.INT64, [], [value])
        for name, value in [("zero", 0), ("one", 1), ("four", 4)]
    ]
    graph = helper.make_graph(
        nodes,
        "data_dependent",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [])],
        scalars,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / "data_dependent.onnx"
    onnx.save(model, path)
    return path


def test_data_dependent_shape_is_computed_at_run_time(tmp_path: Path) -> None:
    """Range's length depends on the data: `?` in its type, computed when the code runs."""
    path = data_dependent_model(tmp_path, helper.make_node("Relu", ["x"], ["sample"]))
    module = import_onnx(str(path))
    steps = next(op for op in module.walk() if isinstance(op, NodeOp) and op.node_name == "steps")
    assert str(steps.outputs[0].type) == "tensor<?xi64>"
    model = compile_onnx(path, "", tmp_path / "out").load()
    for top in (2.0, 5.0):
        x = torch.tensor([1.0, top, 0.0, -3.0])
        assert float(model(x)) == sum(range(int(top) + 1))  # range(0, max + 4 / 4)


@pytest.mark.parametrize(("keepdims", "rank"), [(1, 3), (0, 1)])
def test_reduction_over_computed_axes_has_a_rank(tmp_path: Path, keepdims: int, rank: int) -> None:
    """ONNX infers no shape for it: the axes' count gives the rank, the sizes are `?`."""
    nodes = [
        helper.make_node("ReduceSum", ["x", "axes"], ["sum"], keepdims=keepdims),
        helper.make_node("Sqrt", ["sum"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "reduce",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4]),
            helper.make_tensor_value_info("axes", TensorProto.INT64, [2]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["a"] * rank)],
    )
    path = tmp_path / "reduce.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), path)
    module = import_onnx(str(path))
    types = {
        op.node_name: str(op.outputs[0].type) for op in module.walk() if isinstance(op, NodeOp)
    }
    assert types == {"sum": f"tensor<{'?x' * rank}f32>", "y": f"tensor<{'?x' * rank}f32>"}
    model = compile_onnx(path, "", tmp_path / "out").load()
    x = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4)
    axes = torch.tensor([0, -1])
    expected = x.sum(dim=(0, 2), keepdim=bool(keepdims)).sqrt()
    torch.testing.assert_close(model(x, axes), expected)


def test_random_values_are_not_constants(tmp_path: Path) -> None:
    """RandomUniform has no inputs, yet its value is not known before the run."""
    random = helper.make_node(
        "RandomUniform", [], ["sample"], shape=[2], low=3.0, high=3.5, dtype=TensorProto.FLOAT
    )
    path = data_dependent_model(tmp_path, random)
    model = onnx.load(path)
    inferred = shapes.infer_static_shapes(model)
    unresolved = shapes.unresolved_values(model.graph, shapes.static_values(inferred.graph))
    assert unresolved == {"steps", "steps_float"}
