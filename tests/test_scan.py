"""
ONNX `Scan` end to end (imported as the equivalent Loop): scan axes and directions the
node suite does not cover, opset 8's batch axis, serially and on two lanes, checked
against onnxruntime.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper

from ramiel_mlir.api import compile_onnx
from ramiel_mlir.diagnostics import RamielError

F32 = TensorProto.FLOAT
RNG = np.random.default_rng(0)


def _body() -> onnx.GraphProto:
    """state' = state * 0.5 + x_t + w_t (two scan inputs); outputs: state', state' * x_t."""
    return helper.make_graph(
        [
            helper.make_node("Mul", ["state", "half"], ["decayed"]),
            helper.make_node("Add", ["decayed", "x_t"], ["partial"]),
            helper.make_node("Add", ["partial", "w_t"], ["state_out"]),
            helper.make_node("Mul", ["state_out", "x_t"], ["y_t"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("state", F32, [3]),
            helper.make_tensor_value_info("x_t", F32, [3]),
            helper.make_tensor_value_info("w_t", F32, [3]),
        ],
        [
            helper.make_tensor_value_info("state_out", F32, [3]),
            helper.make_tensor_value_info("y_t", F32, [3]),
        ],
        [helper.make_tensor("half", F32, [], [0.5])],
    )


def scan_model(
    input_axes: tuple[int, int],
    input_directions: tuple[int, int],
    output_axis: int,
    output_direction: int,
) -> onnx.ModelProto:
    """A Scan over `x` (4 steps along its axis) and `w`, with the given axes and directions."""
    shapes: list[list[int]] = []
    for axis in input_axes:
        shape = [3]
        shape.insert(axis % 2, 4)
        shapes.append(shape)
    y_shape = [3]
    y_shape.insert(output_axis % 2, 4)
    scan = helper.make_node(
        "Scan",
        ["init", "x", "w"],
        ["final", "y"],
        body=_body(),
        num_scan_inputs=2,
        scan_input_axes=list(input_axes),
        scan_input_directions=list(input_directions),
        scan_output_axes=[output_axis],
        scan_output_directions=[output_direction],
        name="scan",
    )
    graph = helper.make_graph(
        [scan, helper.make_node("Relu", ["y"], ["y_relu"], name="after")],
        "scan_test",
        [
            helper.make_tensor_value_info("init", F32, [3]),
            helper.make_tensor_value_info("x", F32, shapes[0]),
            helper.make_tensor_value_info("w", F32, shapes[1]),
        ],
        [
            helper.make_tensor_value_info("final", F32, [3]),
            helper.make_tensor_value_info("y_relu", F32, y_shape),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    onnx.checker.check_model(model, full_check=True)
    return model


def _check(model: onnx.ModelProto, directory: Path, lanes: int | None) -> str:
    feeds = {
        i.name: RNG.standard_normal([d.dim_value for d in i.type.tensor_type.shape.dim]).astype(
            np.float32
        )
        for i in model.graph.input
    }
    compiled = compile_onnx(model, "", directory, lanes=lanes)
    result = compiled.load()(*(torch.from_numpy(v) for v in feeds.values()))
    got = [t.numpy() for t in (result if isinstance(result, tuple) else (result,))]
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = [np.asarray(output) for output in session.run(None, feeds)]
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    return compiled.source


@pytest.mark.parametrize(
    ("input_axes", "input_directions", "output_axis", "output_direction"),
    [
        ((0, 0), (0, 0), 0, 0),
        ((1, 0), (1, 0), 0, 0),
        ((0, -1), (0, 1), 1, 0),
        ((1, 1), (0, 0), -1, 1),
        ((0, 0), (1, 1), 0, 1),
    ],
)
@pytest.mark.parametrize("lanes", [None, 2])
def test_scan_axes_and_directions(
    model_cache: Path,
    input_axes: tuple[int, int],
    input_directions: tuple[int, int],
    output_axis: int,
    output_direction: int,
    lanes: int | None,
) -> None:
    model = scan_model(input_axes, input_directions, output_axis, output_direction)
    name = f"scan_{input_axes}_{input_directions}_{output_axis}_{output_direction}_{lanes}"
    _check(model, model_cache / name.replace(" ", "").replace("(", "").replace(")", ""), lanes)


def test_scan_reads_as_a_for_loop(model_cache: Path) -> None:
    """A Scan is a `for` over its length, each scan input indexed by the iteration."""
    source = _check(scan_model((0, 0), (0, 1), 0, 0), model_cache / "scan_source", None)
    assert "for i in range(4):" in source
    assert "x_t = x[" in source


def test_sequence_lens_is_refused(tmp_path: Path) -> None:
    """Opset 8's per-entry sequence lengths are refused with a one-line error."""
    body = helper.make_graph(
        [helper.make_node("Add", ["s", "x_t"], ["s_out"])],
        "body",
        [
            helper.make_tensor_value_info("s", F32, [2]),
            helper.make_tensor_value_info("x_t", F32, [2]),
        ],
        [helper.make_tensor_value_info("s_out", F32, [2])],
    )
    graph = helper.make_graph(
        [
            helper.make_node(
                "Scan", ["lens", "init", "x"], ["final"], body=body, num_scan_inputs=1, name="s8"
            )
        ],
        "scan8",
        [
            helper.make_tensor_value_info("lens", TensorProto.INT64, [1]),
            helper.make_tensor_value_info("init", F32, [1, 2]),
            helper.make_tensor_value_info("x", F32, [1, 3, 2]),
        ],
        [helper.make_tensor_value_info("final", F32, [1, 2])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 8)])
    model.ir_version = 3
    with pytest.raises(RamielError, match=r"node 's8' \(Scan\): a Scan with sequence_lens"):
        compile_onnx(model, "", tmp_path)
