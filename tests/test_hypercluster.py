"""
Hyperclustering on exported models: numerics against ONNX Runtime at batch 2, 4 and 8.

Small models are exported once with a symbolic batch (`dim_param`, as dynamic
axes write it), compiled for each batch with `input_shapes` (`--input-shape`),
split by `hypercluster` and run on two forced lanes. Their outputs must match
ONNX Runtime within float32 tolerance and the unsplit serial code: bitwise for
a model of batch-independent arithmetic, within tolerance where a convolution
or matrix product may choose another kernel for another batch size
(docs/passes.md, hypercluster).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch
from torch import nn
from zoo.torch_models import build, export_batched

from ramiel_mlir.api import CompiledModel, compile_onnx
from ramiel_mlir.diagnostics import REMARKS

BATCHES = (2, 4, 8)


def split_lanes(parts: int) -> str:
    """hypercluster{parts}, then forced lanes (free hand-overs, no minimum gain)."""
    return (
        f"fold-constants,dce,cse,hypercluster{{parts={parts}}},estimate-cost,"
        "linear-cluster{edge-cost=0.0},"
        "merge-clusters{lanes=2 edge-cost=0.0 min-gain=0.0 runtime-costs=false},clone,dce"
    )


class Branches(nn.Module):
    """An Inception-style block: parallel conv / pool branches, concatenated, then a head."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.b1 = nn.Conv2d(8, 8, 1)
        self.b2 = nn.Sequential(nn.Conv2d(8, 4, 1), nn.ReLU(), nn.Conv2d(4, 8, 3, padding=1))
        self.b3 = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(8, 8, 1))
        self.head = nn.Linear(24, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.stem(x)
        y = torch.relu(torch.cat([self.b1(y), self.b2(y), self.b3(y)], dim=1))
        return torch.softmax(
            self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(y, 1), 1)), -1
        )


class Attention(nn.Module):
    """A transformer-style block: LayerNorm, multi-head attention by reshapes, an MLP."""

    def __init__(self, width: int = 16, heads: int = 2) -> None:
        super().__init__()
        self.heads = heads
        self.norm = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.mlp = nn.Sequential(
            nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.qkv(self.norm(x)).split(c, dim=-1)
        q, k, v = (z.reshape(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        a = torch.softmax(q @ k.transpose(-1, -2) / (c // self.heads) ** 0.5, dim=-1) @ v
        x = x + self.out(a.transpose(1, 2).reshape(b, t, c))
        return x + self.mlp(x)


class Elementwise(nn.Module):
    """Only batch-independent arithmetic: the split code must equal the serial code bitwise."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(x) * 0.5 + torch.sigmoid(x)
        y = nn.functional.max_pool2d(y, 2)
        return torch.cat([y, -y], dim=1).transpose(2, 3)


class MixesBatch(nn.Module):
    """Normalises over the whole batch: batch entries mix, so it must not be split."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x / x.sum(dim=0, keepdim=True)


def _transformer_block() -> nn.Module:
    """The zoo's transformer block: rows folded batch-major, a per-entry position constant."""
    return build("transformer_block")


MODELS: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    "branches": (Branches, (3, 12, 12)),
    "transformer_block": (_transformer_block, (24, 96)),
    "attention": (Attention, (6, 16)),
    "elementwise": (Elementwise, (2, 8, 8)),
    "mixes_batch": (MixesBatch, (5,)),
}


def export(name: str, directory: Path, dynamo: bool) -> Path:
    """`name` exported with a symbolic batch dimension (`dim_param`)."""
    path = directory / f"hc_{name}_{'dynamo' if dynamo else 'torchscript'}.onnx"
    if path.exists():
        return path
    build, shape = MODELS[name]
    torch.manual_seed(0)
    return export_batched(build().eval(), shape, path, dynamo)


def _input(name: str, batch: int) -> np.ndarray:
    rng = np.random.default_rng(batch)
    return rng.standard_normal((batch, *MODELS[name][1])).astype(np.float32)


def _onnxruntime(path: Path, x: np.ndarray) -> np.ndarray:
    (result,) = onnxruntime.InferenceSession(str(path)).run(None, {"x": x})
    assert isinstance(result, np.ndarray)
    return result


def _run(compiled: CompiledModel, x: np.ndarray) -> torch.Tensor:
    with torch.inference_mode():
        result = compiled.load()(torch.from_numpy(x))
    assert isinstance(result, torch.Tensor)
    return result


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
@pytest.mark.parametrize("name", ["branches", "attention", "transformer_block"])
def test_split_matches_onnxruntime(
    name: str,
    dynamo: bool,
    batch: int,
    model_cache: Path,
    tmp_path: Path,
    one_intra_op_thread: None,
) -> None:
    path = export(name, model_cache, dynamo)
    shapes = {"x": [batch, *MODELS[name][1]]}
    x = _input(name, batch)
    serial = compile_onnx(path, "fold-constants,dce", tmp_path, name="serial", input_shapes=shapes)
    split = compile_onnx(path, split_lanes(2), tmp_path, name="split", input_shapes=shapes)
    assert "torch.split(x, " in split.source
    assert "torch.cat([" in split.source
    assert "def _lane1(" in split.source
    expected = _onnxruntime(path, x)
    produced = _run(split, x).numpy()
    np.testing.assert_allclose(produced, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(produced, _run(serial, x).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("parts", [2, 3, 8])
def test_split_of_batch_independent_ops_is_bitwise(
    parts: int, model_cache: Path, tmp_path: Path, one_intra_op_thread: None
) -> None:
    path = export("elementwise", model_cache, dynamo=False)
    shapes = {"x": [8, *MODELS["elementwise"][1]]}
    x = _input("elementwise", 8)
    serial = compile_onnx(path, "fold-constants,dce", tmp_path, name="serial", input_shapes=shapes)
    split = compile_onnx(path, split_lanes(parts), tmp_path, name="split", input_shapes=shapes)
    assert f"torch.split(x, {[3, 3, 2] if parts == 3 else 8 // parts})" in split.source
    assert torch.equal(_run(split, x), _run(serial, x))


def test_mixing_graph_is_left_unsplit(
    model_cache: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = export("mixes_batch", model_cache, dynamo=False)
    with caplog.at_level(logging.INFO, logger=REMARKS.name):
        split = compile_onnx(path, split_lanes(2), tmp_path, input_shapes={"x": [4, 5]})
    assert "torch.split" not in split.source
    remark = caplog.text
    assert "hypercluster: graph @" in remark
    assert "(ReduceSum): it reduces over axis 0, the batch" in remark
    x = _input("mixes_batch", 4)
    expected = _onnxruntime(path, x)
    np.testing.assert_allclose(_run(split, x).numpy(), expected, rtol=1e-5)


def test_fixed_batch_rejects_another(model_cache: Path, tmp_path: Path) -> None:
    path = export("elementwise", model_cache, dynamo=False)
    split = compile_onnx(path, split_lanes(2), tmp_path, input_shapes={"x": [4, 2, 8, 8]})
    with pytest.raises(ValueError, match=r"input 'x' must be a torch.float32 tensor of shape \[4,"):
        split.load()(torch.zeros(2, 2, 8, 8))
