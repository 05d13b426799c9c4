"""
Models written in PyTorch, exported by both torch.onnx exporters, compiled, run.

Each (model, exporter) pair is exported once per session, compiled with `dce`
only (no constant folding: the lowering itself must cope with the exporters'
shape arithmetic) and compared with ONNX Runtime on a random input.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from zoo.torch_models import TORCH_MODELS, example_input, export

from ramiel_mlir.api import CompiledModel, compile_onnx

EXPORTERS = {"dynamo": (True, None), "torchscript": (False, None)}
"""Exporter name -> (dynamo, opset); the defaults of torch.onnx.export."""

OLDER_OPSETS = {
    # Opset 13: LayerNorm and Gelu decomposed (Pow, Sqrt, Erf), ReduceMean axes
    # as an attribute, Split sizes and Unsqueeze axes as inputs.
    "torchscript-opset13": (False, 13),
    # Opset 18: Split by num_outputs, ReduceMean axes as an input, Erf.
    "dynamo-opset18": (True, 18),
}

CASES = [(model, exporter) for model in TORCH_MODELS for exporter in EXPORTERS] + [
    ("transformer_block", exporter) for exporter in OLDER_OPSETS
]


def exported(model_cache: Path, model: str, exporter: str) -> Path:
    """The model exported by `exporter`, once per test session."""
    path = model_cache / f"{model}-{exporter}.onnx"
    if not path.exists():
        dynamo, opset = {**EXPORTERS, **OLDER_OPSETS}[exporter]
        export(model, path, dynamo=dynamo, opset=opset)
    return path


def compiled(model_cache: Path, model: str, exporter: str) -> CompiledModel:
    """The exported model compiled with `dce`, once per test session."""
    out_dir = model_cache / f"{model}-{exporter}-py"
    if (out_dir / "model.py").exists():
        return CompiledModel(out_dir / "model.py", out_dir / "model.weights.pt")
    return compile_onnx(exported(model_cache, model, exporter), "dce", out_dir)


@pytest.mark.parametrize(("model", "exporter"), CASES)
def test_matches_onnxruntime(model_cache: Path, model: str, exporter: str) -> None:
    path = exported(model_cache, model, exporter)
    x = example_input(model, seed=1).numpy()
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    expected = np.asarray(session.run(None, {session.get_inputs()[0].name: x})[0])
    with torch.no_grad():
        actual = compiled(model_cache, model, exporter).load()(torch.from_numpy(x))
    assert actual.dtype == torch.float32
    assert tuple(actual.shape) == expected.shape
    error = np.abs(actual.numpy() - expected).max()
    assert error <= 1e-4 * np.abs(expected).max()


@pytest.mark.parametrize("exporter", ["torchscript", "torchscript-opset13"])
def test_shape_arithmetic_prints_no_code(model_cache: Path, exporter: str) -> None:
    """The TorchScript exporter's Shape/Gather/Div/Constant chains fold away."""
    source = compiled(model_cache, "transformer_block", exporter).source
    for op_type in ("Constant", "Shape", "ConstantOfShape"):
        assert f"({op_type})" not in source
    assert "torch.tensor(" not in source
    lines = [line.strip() for line in source.splitlines()]
    for line, following in itertools.pairwise(lines):
        assert not (line.startswith("# /") and following.startswith("# /")), line


def test_generated_code_reads_well(model_cache: Path) -> None:
    """Plain numbers, no default keywords, names taken from the ONNX tensors."""
    source = compiled(model_cache, "transformer_block", "dynamo").source
    assert re.search(r"torch\.div\(\w+, 4\.8989797\)", source)
    assert "torch.finfo(torch.float32).min" in source
    assert "keepdim=False" not in source
    assert re.search(r"layer_norm = F\.layer_norm\(\w+, \[96\], self\.norm1_weight", source)
    assert re.search(r"\w+, \w+ = torch\.split\(\w+, 192, dim=1\)", source)
    assert "[:, 1::2]" in source
