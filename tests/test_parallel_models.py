"""
Parallel code on every model of the foundation issue: bitwise equal to serial code.

Every light model of the onnx wheel and every project model (both exporters) is
compiled serially and with the parallelization passes, run one by one with the
IR verified after each; the threaded code must return exactly the serial
code's outputs (same intra-op thread count: 1).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch
from zoo.light import LIGHT_MODELS, light_model
from zoo.torch_models import TORCH_MODELS, export

from ramiel_mlir.api import CompiledModel, compile_onnx

MODELS = [*LIGHT_MODELS, *(f"{m}-{e}" for m in TORCH_MODELS for e in ("dynamo", "torchscript"))]

SERIAL = "fold-constants,fold-batchnorm,dce,cse"
"""The passes of parallelize that change what nodes compute (folded weights)."""

# The parallelize pipeline spelled out, so that the IR is verified after each
# pass; free hand-overs and no minimum gain, so that every model with parallel
# paths really runs on two lanes. The built-in machine model makes the plans the
# same on every machine (a calibration could plan intra-op threads for a one-lane
# graph, whose results then need not be bitwise those of one thread).
FORCED_LANES = (
    f"{SERIAL},estimate-cost{{model=flops machine=default}},linear-cluster{{edge-cost=0.0}},"
    "merge-clusters{lanes=2 edge-cost=0.0 min-gain=0.0 runtime-costs=false},clone,dce"
)


@pytest.fixture(scope="module")
def single_thread() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _model_path(name: str, directory: Path) -> Path:
    if name in LIGHT_MODELS:
        return light_model(name, directory)
    model, exporter = name.rsplit("-", 1)
    path = directory / f"{name}.onnx"
    if not path.exists():
        export(model, path, dynamo=exporter == "dynamo")
    return path


def _inputs(path: Path) -> list[torch.Tensor]:
    session = onnxruntime.InferenceSession(str(path))
    rng = np.random.default_rng(1)
    return [
        torch.from_numpy(rng.standard_normal(i.shape).astype(np.float32))
        for i in session.get_inputs()
    ]


def _run(compiled: CompiledModel, inputs: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    with torch.inference_mode():
        result = compiled.load()(*inputs)
    return result if isinstance(result, tuple) else (result,)


@pytest.mark.parametrize("name", MODELS)
def test_parallel_code_equals_serial_code(
    name: str, model_cache: Path, tmp_path: Path, single_thread: None
) -> None:
    path = _model_path(name, model_cache)
    serial = compile_onnx(path, SERIAL, tmp_path, name="serial")
    parallel = compile_onnx(path, FORCED_LANES, tmp_path, name="parallel")
    inputs = _inputs(path)
    expected = _run(serial, inputs)
    produced = _run(parallel, inputs)
    assert len(produced) == len(expected)
    for a, b in zip(produced, expected, strict=True):
        assert torch.equal(a, b), f"{name}: parallel output differs from serial output"


def test_models_with_parallel_paths_get_two_lanes(model_cache: Path, tmp_path: Path) -> None:
    # inception_v1's branches are parallel paths: forced lanes must use them.
    parallel = compile_onnx(light_model("inception_v1", model_cache), FORCED_LANES, tmp_path)
    assert "def _lane1(" in parallel.source
