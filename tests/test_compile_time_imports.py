"""Compiling to Python with the analytic cost model never imports torch (a second of start-up)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from ramiel_mlir.analysis.machine import load_machine

COMPILE = """
import sys
from ramiel_mlir.driver import main
code = main(sys.argv[1:])
print(code, sorted(m for m in sys.modules if m.split(".")[0] == "torch"))
"""
"""Run ramiel-opt in a fresh interpreter; print its exit code and the torch modules loaded."""


def _two_branch_model(path: Path) -> None:
    """
    x -> two convolutions (weights in the file) -> concat: worth two lanes. Their
    dilations differ, so `fuse-sibling-convs` leaves them (and their weights) alone.
    """
    rng = np.random.default_rng(0)
    weights = [
        numpy_helper.from_array(rng.standard_normal((32, 32, 3, 3), np.float32), f"w{i}")
        for i in range(2)
    ]
    nodes = [
        helper.make_node(
            "Conv", ["x", f"w{i}"], [f"c{i}"], name=f"conv{i}", pads=[d] * 4, dilations=[d, d]
        )
        for i, d in enumerate((1, 2))
    ]
    nodes.append(helper.make_node("Concat", ["c0", "c1"], ["y"], name="cat", axis=1))
    graph = helper.make_graph(
        nodes,
        "two_branches",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 32, 56, 56])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64, 56, 56])],
        weights,
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


FORCED_LANES = (
    "fold-constants,dce,cse,estimate-cost{model=flops},linear-cluster,"
    "merge-clusters{lanes=2 min-gain=0.0 runtime-costs=false},clone,dce"
)
"""The parallelize pipeline with two lanes whatever the estimates say."""


@pytest.mark.parametrize(
    ("passes", "plan"),
    [
        (["--parallelize=lanes=2,model=flops"], "lane"),
        (["--parallelize=lanes=2"], "lane"),
        (["-p", FORCED_LANES], "2 lanes"),
    ],
    ids=["flops", "default", "forced-lanes"],
)
def test_parallelize_to_python_does_not_import_torch(
    passes: list[str], plan: str, tmp_path: Path
) -> None:
    """/// With the machine calibration cached, neither the passes nor the weights need torch."""
    load_machine()  # calibrates (with torch) only if this machine has no cached calibration
    model, output = tmp_path / "m.onnx", tmp_path / "m_par.py"
    _two_branch_model(model)
    args = [str(model), *passes, "-t", "python", "-o", str(output)]
    result = subprocess.run(
        [sys.executable, "-c", COMPILE, *args], capture_output=True, text=True, check=True
    )
    assert result.stdout.split("\n")[0] == "0 []", result.stderr
    # Lanes or one lane on two threads, as this machine's estimates decide.
    assert plan in output.read_text().split("\n")[0]
    weights = torch.load(output.with_suffix(".weights.pt"), weights_only=True)
    initializers = onnx.load(model).graph.initializer
    assert {k: v.numpy().tolist() for k, v in weights.items()} == {
        t.name: numpy_helper.to_array(t).tolist() for t in initializers
    }
