"""
Dynamic dimensions: paddle-style `dim_value: -1` inputs fixed by `--input-shape`,
and sizes known only at run time (`?` in the dfg type) after NonZero, Compress,
Unique and NonMaxSuppression. Models of the structure that real exports have,
built here, compiled serially and on two lanes, checked against onnxruntime.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects.builtin import DYNAMIC_INDEX, TensorType

from ramiel_mlir.api import compile_onnx, make_context, pipeline, run_pipeline
from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.dialects.dfg import NodeOp
from ramiel_mlir.frontend.onnx import import_onnx
from ramiel_mlir.registry import get_all_passes

F32, I64 = TensorProto.FLOAT, TensorProto.INT64
LANES = [None, 2]


def _model(
    nodes: list[onnx.NodeProto],
    inputs: list[onnx.ValueInfoProto],
    outputs: list[onnx.ValueInfoProto],
    initializers: list[onnx.TensorProto],
    opset: int = 17,
) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "dynamic", inputs, outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _weight(name: str, *shape: int, seed: int) -> onnx.TensorProto:
    array = np.random.default_rng(seed).standard_normal(shape).astype(np.float32) * 0.3
    return numpy_helper.from_array(array, name)


def _onnxruntime(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    return [np.asarray(output) for output in session.run(None, feeds)]


def _outputs(result: object) -> list[np.ndarray]:
    values = result if isinstance(result, tuple) else (result,)
    return [value.numpy() for value in values]  # type: ignore[attr-defined]


def paddle_classifier() -> onnx.ModelProto:
    """
    PaddleOCR's text-direction classifier in miniature: `x` is [-1, 3, 48, 192]
    (paddle2onnx writes a dynamic batch as `dim_value: -1`), conv, pooling, a
    linear layer and softmax over two classes.
    """
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["conv"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("GlobalAveragePool", ["relu"], ["pool"]),
        helper.make_node("Flatten", ["pool"], ["flat"]),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["prob"], axis=-1),
    ]
    return _model(
        nodes,
        [helper.make_tensor_value_info("x", F32, [-1, 3, 48, 192])],
        [helper.make_tensor_value_info("prob", F32, [-1, 2])],
        [
            _weight("w", 8, 3, 3, 3, seed=1),
            _weight("b", 8, seed=2),
            _weight("fc_w", 2, 8, seed=3),
            _weight("fc_b", 2, seed=4),
        ],
    )


@pytest.mark.parametrize("lanes", LANES)
def test_paddle_style_negative_dimension(tmp_path: Path, lanes: int | None) -> None:
    model = paddle_classifier()
    x = np.random.default_rng(0).standard_normal((2, 3, 48, 192)).astype(np.float32)
    compiled = compile_onnx(model, "", tmp_path, input_shapes={"x": [2, 3, 48, 192]}, lanes=lanes)
    (actual,) = _outputs(compiled.load()(_torch(x)))
    (expected,) = _onnxruntime(model, {"x": x})
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


def test_negative_dimension_needs_a_shape(tmp_path: Path) -> None:
    path = tmp_path / "paddle.onnx"
    onnx.save(paddle_classifier(), path)
    with pytest.raises(
        RamielError,
        match=r"input 'x' has unknown dimensions \(-1\); fix them with --input-shape x=",
    ):
        import_onnx(str(path))


def test_shape_contradicting_a_fixed_dimension_names_it(tmp_path: Path) -> None:
    path = tmp_path / "paddle.onnx"
    onnx.save(paddle_classifier(), path)
    with pytest.raises(
        RamielError,
        match=r"--input-shape gives \[1, 4, 48, 192\] for 'x', whose dimension 1 is fixed "
        r"to 3 by the model \(not 4\)",
    ):
        import_onnx(str(path), {"x": [1, 4, 48, 192]})


BOXES = 24
CLASSES = 3


def detector_head(batch: int = 1) -> onnx.ModelProto:
    """
    A single-stage detector's head, as exports with NMS end: a shared conv over
    the feature map, a box branch ([b, 24, 4] boxes as y1, x1, y2, x2) and a
    class branch ([b, 3, 24] sigmoid scores), NonMaxSuppression, then the
    selected boxes and scores gathered by the selected [batch, class, box] rows,
    whose count is known only at run time.
    """
    nodes = [
        helper.make_node("Conv", ["feature", "w", "b"], ["shared"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["shared"], ["act"]),
        helper.make_node("Conv", ["act", "box_w", "box_b"], ["box_map"]),  # [b, 4, 4, 6]
        helper.make_node("Reshape", ["box_map", "box_shape"], ["box_t"]),  # [b, 4, 24]
        helper.make_node("Transpose", ["box_t"], ["boxes"], perm=[0, 2, 1]),  # [b, 24, 4]
        helper.make_node("Conv", ["act", "cls_w", "cls_b"], ["cls_map"]),  # [b, 3, 4, 6]
        helper.make_node("Reshape", ["cls_map", "cls_shape"], ["logits"]),  # [b, 3, 24]
        helper.make_node("Sigmoid", ["logits"], ["scores"]),
        helper.make_node(
            "NonMaxSuppression",
            ["boxes", "scores", "max_out", "iou", "score_min"],
            ["selected"],
            name="nms",
        ),
        helper.make_node("Gather", ["selected", "batch_box"], ["box_pairs"], axis=1),  # [?, 2]
        helper.make_node("GatherND", ["boxes", "box_pairs"], ["picked_boxes"]),  # [?, 4]
        helper.make_node("GatherND", ["scores", "selected"], ["picked_scores"]),  # [?]
    ]
    constants = [
        numpy_helper.from_array(np.array([batch, 4, BOXES], np.int64), "box_shape"),
        numpy_helper.from_array(np.array([batch, CLASSES, BOXES], np.int64), "cls_shape"),
        numpy_helper.from_array(np.array([5], np.int64), "max_out"),
        numpy_helper.from_array(np.array([0.3], np.float32), "iou"),
        numpy_helper.from_array(np.array([0.4], np.float32), "score_min"),
        numpy_helper.from_array(np.array([0, 2], np.int64), "batch_box"),
    ]
    weights = [
        _weight("w", 8, 8, 3, 3, seed=5),
        _weight("b", 8, seed=6),
        _weight("box_w", 4, 8, 1, 1, seed=7),
        _weight("box_b", 4, seed=8),
        _weight("cls_w", CLASSES, 8, 1, 1, seed=9),
        _weight("cls_b", CLASSES, seed=10),
    ]
    return _model(
        nodes,
        [helper.make_tensor_value_info("feature", F32, [batch, 8, 4, 6])],
        [
            helper.make_tensor_value_info("selected", I64, ["n", 3]),
            helper.make_tensor_value_info("picked_boxes", F32, ["n", 4]),
            helper.make_tensor_value_info("picked_scores", F32, ["n"]),
        ],
        [*constants, *weights],
    )


def _torch(array: np.ndarray) -> object:
    import torch

    return torch.from_numpy(array)


@pytest.mark.parametrize("lanes", LANES)
@pytest.mark.parametrize(("batch", "seed"), [(1, 0), (1, 1), (2, 2)])
def test_detector_head_with_nms(tmp_path: Path, lanes: int | None, batch: int, seed: int) -> None:
    model = detector_head(batch)
    feature = np.random.default_rng(seed).standard_normal((batch, 8, 4, 6)).astype(np.float32)
    compiled = compile_onnx(model, "", tmp_path, lanes=lanes)
    actual = _outputs(compiled.load()(_torch(feature)))
    expected = _onnxruntime(model, {"feature": feature})
    assert expected[0].shape[0] > 0  # the data selects some boxes
    for got, want in zip(actual, expected, strict=True):
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_data_dependent_sizes_are_dynamic_in_the_dfg_type(tmp_path: Path) -> None:
    path = tmp_path / "detector.onnx"
    onnx.save(detector_head(), path)
    module = import_onnx(str(path))
    types = {op.node_name: op.outputs[0].type for op in module.walk() if isinstance(op, NodeOp)}
    assert types["nms"] == TensorType(types["nms"].get_element_type(), [DYNAMIC_INDEX, 3])  # type: ignore[union-attr]


def test_a_node_needing_the_size_is_named(tmp_path: Path) -> None:
    """CenterCropPad crops by sizes computed at compile time: the error names it and why."""
    nodes = [
        helper.make_node("NonZero", ["x"], ["where"]),
        helper.make_node("CenterCropPad", ["where", "size"], ["crop"], name="crop"),
    ]
    model = _model(
        nodes,
        [helper.make_tensor_value_info("x", F32, [2, 3])],
        [helper.make_tensor_value_info("crop", I64, [2, 2])],
        [numpy_helper.from_array(np.array([2, 2], np.int64), "size")],
        opset=18,
    )
    with pytest.raises(
        RamielError,
        match=r"node 'crop' \(CenterCropPad\): the lowering needs the static shape of input "
        r"#0, but its type tensor<2x\?xi64> has a size known only at run time",
    ):
        compile_onnx(model, "", tmp_path)


PASS_OPTIONS = {
    "estimate-cost": "estimate-cost{model=flops}",
    "parallelize": "parallelize{model=flops lanes=2}",
    "merge-clusters": "merge-clusters{lanes=2}",
    "hypercluster": "hypercluster{parts=2}",
}


@pytest.mark.parametrize("batch", [1, 2])
def test_every_pass_accepts_run_time_sizes(tmp_path: Path, batch: int) -> None:
    """
    The passes that read static shapes (costs, layouts, batch splitting, ...) skip
    or bound the `?` sizes after NonMaxSuppression: each runs, alone and after
    estimate-cost, and leaves IR that verifies.
    """
    path = tmp_path / "detector.onnx"
    onnx.save(detector_head(batch), path)
    for name in sorted(get_all_passes()):
        passes = PASS_OPTIONS.get(name, name)
        for spec in (passes, f"estimate-cost{{model=flops}},{passes}"):
            module = import_onnx(str(path))
            try:
                run_pipeline(make_context(), module, pipeline(spec))
            except RamielError as error:
                refusal = str(error)
            else:
                refusal = ""
                module.verify()
            assert not refusal or "run estimate-cost first" in refusal, spec


def test_costs_bound_run_time_sizes(tmp_path: Path) -> None:
    """
    NonMaxSuppression selects at most batches x classes x boxes rows: the cost
    model counts its `?` dimension at its largest input's element count (the
    boxes), which is above that, and what it feeds at no less.
    """
    from ramiel_mlir.analysis.cost_model import dynamic_bound, numel

    path = tmp_path / "detector.onnx"
    onnx.save(detector_head(2), path)
    module = import_onnx(str(path))
    nodes = {op.node_name: op for op in module.walk() if isinstance(op, NodeOp)}
    selected = nodes["nms"].outputs[0]
    most = 2 * CLASSES * BOXES  # rows NonMaxSuppression can select
    assert dynamic_bound(selected) == 2 * BOXES * 4 >= most
    assert numel(selected) == 3 * 2 * BOXES * 4
    assert numel(nodes["picked_boxes"].outputs[0]) >= 4 * most


def test_loop_scan_of_run_time_sizes_is_an_error(tmp_path: Path) -> None:
    """A scan output stacks one value per iteration: they must have one static shape."""
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("NonZero", ["x"], ["where"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("i", I64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, None),
            helper.make_tensor_value_info("where", I64, None),
        ],
    )
    loop = helper.make_node("Loop", ["M", ""], ["scan"], body=body, name="loop")
    model = _model(
        [loop],
        [helper.make_tensor_value_info("x", F32, [2, 3])],
        [helper.make_tensor_value_info("scan", I64, ["n", 2, "k"])],
        [numpy_helper.from_array(np.array(2, np.int64), "M")],
    )
    path = tmp_path / "loop.onnx"
    onnx.save(model, path)
    with pytest.raises(
        RamielError,
        match=r"node 'loop' \(Loop\): scan output 'scan' stacks values of type "
        r"tensor<2x\?xi64>, whose size is known only at run time, which is not supported",
    ):
        import_onnx(str(path))


@pytest.mark.parametrize("lanes", LANES)
def test_shapes_of_run_time_sizes(tmp_path: Path, lanes: int | None) -> None:
    """Shape, Size, Expand, Range and Compress over NonZero's result, against onnxruntime."""
    nodes = [
        helper.make_node("NonZero", ["x"], ["where"]),  # [2, ?]
        helper.make_node("Shape", ["where"], ["shape"]),
        helper.make_node("Expand", ["one", "shape"], ["ones"]),  # [2, ?]
        helper.make_node("ReduceSum", ["ones"], ["count"], keepdims=0),
        helper.make_node("Size", ["where"], ["size"]),
        helper.make_node("Cast", ["size"], ["limit"], to=F32),
        helper.make_node("Range", ["zero", "limit", "half"], ["steps"]),  # [?]
        helper.make_node("Greater", ["x", "zero"], ["positive"]),
        helper.make_node("Flatten", ["positive"], ["flat"], axis=0),
        helper.make_node("Squeeze", ["flat", "zero_axis"], ["mask"]),
        helper.make_node("Flatten", ["x"], ["x_flat"], axis=0),
        helper.make_node("Compress", ["x_flat", "mask"], ["kept"], axis=1),  # [1, ?]
    ]
    model = _model(
        nodes,
        [helper.make_tensor_value_info("x", F32, [3, 4])],
        [
            helper.make_tensor_value_info("count", F32, []),
            helper.make_tensor_value_info("steps", F32, ["n"]),
            helper.make_tensor_value_info("kept", F32, [1, "k"]),
        ],
        [
            numpy_helper.from_array(np.ones((1, 1), np.float32), "one"),
            numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
            numpy_helper.from_array(np.array(0.5, np.float32), "half"),
            numpy_helper.from_array(np.array([0], np.int64), "zero_axis"),
        ],
    )
    compiled = compile_onnx(model, "", tmp_path, lanes=lanes).load()
    for seed in range(3):
        x = np.random.default_rng(seed).standard_normal((3, 4)).astype(np.float32)
        actual = _outputs(compiled(_torch(x)))
        for got, want in zip(actual, _onnxruntime(model, {"x": x}), strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-6)
