"""
Fused convolutions and packed oneDNN weights (`fuse-conv-activation`, `prepack-weights`).

A model with convolutions of every shape the kernels distinguish (1x1, 3x3, strided
7x7, depthwise, dilated, asymmetric pads), each followed by a fusable activation,
compiled with both passes against the built-in machine model (the same plan on every
machine), must match ONNX Runtime; the packed copies must follow weights loaded later.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

from ramiel_mlir.analysis.cost_model import LINEAR, ONEDNN, ONEDNN_LINEAR
from ramiel_mlir.api import (
    CompiledModel,
    compile_onnx,
    import_generated,
    make_context,
    run_pipeline,
)
from ramiel_mlir.dialects import dfg
from ramiel_mlir.dialects.annotations import COST, KERNEL
from ramiel_mlir.frontend.onnx import import_onnx

PASSES = "fold-constants,fuse-conv-activation,prepack-weights{machine=default},dce"

CONVS = [
    # name, input channels, output channels, kernel, attributes, activation
    ("stem", 3, 16, 7, {"strides": [2, 2], "pads": [3, 3, 3, 3]}, "Relu"),
    ("reduce", 16, 8, 1, {}, "Clip"),
    ("spatial", 8, 24, 3, {"pads": [1, 1, 1, 1]}, "LeakyRelu"),
    ("depthwise", 24, 24, 3, {"pads": [1, 1, 1, 1], "group": 24}, "Relu"),
    ("dilated", 24, 16, 3, {"pads": [2, 2, 2, 2], "dilations": [2, 2]}, "Relu"),
    ("asymmetric", 16, 16, 2, {"pads": [0, 0, 1, 1]}, "Relu"),
]


def conv_model(seed: int = 0) -> onnx.ModelProto:
    """A chain of the `CONVS`, each with its activation, on a 1x3x64x64 input."""
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    x = "x"
    for name, cin, cout, k, attrs, activation in CONVS:
        group = attrs.get("group", 1)
        w = rng.normal(0, 0.3, (cout, cin // group, k, k)).astype(np.float32)
        b = rng.normal(0, 0.1, cout).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"{name}_w"), numpy_helper.from_array(b, f"{name}_b")]
        nodes.append(
            helper.make_node("Conv", [x, f"{name}_w", f"{name}_b"], [f"{name}_c"], name, **attrs)
        )
        inputs = [f"{name}_c"]
        extra: dict[str, Any] = {}
        if activation == "Clip":
            inits += [
                numpy_helper.from_array(np.array(0.0, np.float32), f"{name}_lo"),
                numpy_helper.from_array(np.array(6.0, np.float32), f"{name}_hi"),
            ]
            inputs += [f"{name}_lo", f"{name}_hi"]
        if activation == "LeakyRelu":
            extra = {"alpha": 0.2}
        nodes.append(helper.make_node(activation, inputs, [f"{name}_y"], f"{name}_act", **extra))
        x = f"{name}_y"
    return image_model("convs", nodes, inits, [1, 3, 64, 64], output=x)


def image_model(
    name: str,
    nodes: list[onnx.NodeProto],
    inits: list[onnx.TensorProto],
    shape: list[int],
    output: str = "y",
) -> onnx.ModelProto:
    """An opset-17 model of `nodes` from the float input `x` of `shape` to `output`."""
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return onnx.shape_inference.infer_shapes(model)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> CompiledModel:
    """`conv_model()` compiled with both passes, once for the module."""
    return compile_onnx(conv_model(), PASSES, tmp_path_factory.mktemp("convs"))


def onnxruntime_output(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    """ONNX Runtime's output of `model` on `x`."""
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {"x": x})[0])


def assert_matches_onnxruntime(compiled: CompiledModel, model: onnx.ModelProto, seed: int) -> None:
    """The compiled code's output on a seeded input is within 1e-4 of ONNX Runtime's."""
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    x = np.random.default_rng(seed).normal(size=shape).astype(np.float32)
    module = import_generated(compiled.source_path)
    with torch.no_grad():
        got = module.load_model(compiled.weights_path)(torch.from_numpy(x)).numpy()
    expected = onnxruntime_output(model, x)
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5 * scale)


def test_fused_and_packed_convolutions_match_onnxruntime(compiled: CompiledModel) -> None:
    source = compiled.source
    # The built-in machine model packs the large convolutions and keeps the small ones on
    # F.conv2d; every activation is fused.
    assert " = _onednn_conv(" in source
    assert "F.conv2d" in source
    assert "torch.relu" not in source
    assert "torch.clamp" not in source
    assert_matches_onnxruntime(compiled, conv_model(), seed=1)


def test_outputs_leave_contiguous_after_packed_convolutions(compiled: CompiledModel) -> None:
    """
    oneDNN's packed convolution writes channels-last in a contiguous region too, and the
    format flows on through the next kernels; the graph output still leaves contiguous.
    """
    module = import_generated(compiled.source_path)
    with torch.no_grad():
        output = module.load_model(compiled.weights_path)(torch.randn(1, 3, 64, 64))
    assert output.is_contiguous()
    assert ".contiguous()" in compiled.source


def test_packed_weights_follow_loaded_weights(compiled: CompiledModel) -> None:
    """load_state_dict repacks: with every weight zero, each conv gives its activated bias."""
    module = import_generated(compiled.source_path)
    model = module.load_model(compiled.weights_path)
    state = {
        k: torch.zeros_like(v) if k.endswith("_w") else v for k, v in model.state_dict().items()
    }
    model.load_state_dict(state)
    with torch.no_grad():
        y = model(torch.ones(1, 3, 64, 64))
    bias = state["asymmetric_b"]
    expected = torch.relu(bias).reshape(1, -1, 1, 1).expand_as(y)
    assert torch.equal(y, expected)


def inception_block(seed: int = 0) -> onnx.ModelProto:
    """Three 1x1 convolutions of one input (one without bias), a 3x3 after one, a Concat."""
    rng = np.random.default_rng(seed)
    inits = []
    nodes = []
    for name, cout, bias in (("one", 8, True), ("reduce", 6, False), ("other", 4, True)):
        w = rng.normal(0, 0.3, (cout, 16, 1, 1)).astype(np.float32)
        inits.append(numpy_helper.from_array(w, f"{name}_w"))
        inputs = ["x", f"{name}_w"]
        if bias:
            inits.append(
                numpy_helper.from_array(rng.normal(0, 0.1, cout).astype(np.float32), f"{name}_b")
            )
            inputs.append(f"{name}_b")
        nodes.append(helper.make_node("Conv", inputs, [f"{name}_c"], name))
        nodes.append(helper.make_node("Relu", [f"{name}_c"], [f"{name}_y"], f"{name}_relu"))
    inits.append(
        numpy_helper.from_array(rng.normal(0, 0.3, (10, 6, 3, 3)).astype(np.float32), "w3")
    )
    nodes.append(helper.make_node("Conv", ["reduce_y", "w3"], ["wide"], "wide", pads=[1, 1, 1, 1]))
    nodes.append(helper.make_node("Concat", ["one_y", "wide", "other_y"], ["y"], "concat", axis=1))
    return image_model("block", nodes, inits, [1, 16, 20, 20])


@pytest.mark.parametrize("layout", ["contiguous", "channels-last"])
def test_fused_sibling_convolutions_match_onnxruntime(tmp_path: Path, layout: str) -> None:
    """The three 1x1 siblings run as one convolution and a Split, in either memory format."""
    passes = (
        f"fold-constants,assign-layout{{mode={layout}}},fuse-conv-activation,"
        "fuse-sibling-convs,prepack-weights{machine=default},dce"
    )
    compiled = compile_onnx(inception_block(), passes, tmp_path)
    assert compiled.source.count("torch.split(") == 1
    assert_matches_onnxruntime(compiled, inception_block(), seed=2)


def pixel_model(seed: int = 0) -> onnx.ModelProto:
    """
    1x1 convolutions of the two channel slices of a Split (views, not contiguous
    matrices): 48 -> 64 with LeakyRelu, and 16 -> 24 without bias, then a Concat.
    """
    rng = np.random.default_rng(seed)
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.3, (64, 48, 1, 1)).astype(np.float32), "wide_w"),
        numpy_helper.from_array(rng.normal(0, 0.1, 64).astype(np.float32), "wide_b"),
        numpy_helper.from_array(rng.normal(0, 0.3, (24, 16, 1, 1)).astype(np.float32), "thin_w"),
        numpy_helper.from_array(np.array([16, 48], np.int64), "parts"),
    ]
    nodes = [
        helper.make_node("Split", ["x", "parts"], ["low", "high"], "split", axis=1),
        helper.make_node("Conv", ["high", "wide_w", "wide_b"], ["wide_c"], "wide"),
        helper.make_node("LeakyRelu", ["wide_c"], ["wide_y"], "wide_act", alpha=0.1),
        helper.make_node("Conv", ["low", "thin_w"], ["thin_c"], "thin"),
        helper.make_node("Concat", ["wide_y", "thin_c"], ["y"], "concat", axis=1),
    ]
    return image_model("pixels", nodes, inits, [1, 64, 56, 56])


def compile_pixels(tmp_path: Path, machine: str) -> tuple[dict[str, str | None], CompiledModel]:
    """
    `pixel_model` in channels-last through `prepack-weights{machine=...}`: each node's
    `dfg.kernel` by name, and the compiled code.
    """
    passes = (
        "fold-constants,assign-layout{mode=channels-last},fuse-conv-activation,"
        f"prepack-weights{{machine={machine}}},dce"
    )
    path = tmp_path / "pixels.onnx"
    onnx.save(pixel_model(), path)
    module = import_onnx(str(path))
    run_pipeline(make_context(), module, passes)
    kernels = {
        node.node_name: KERNEL.get(node) for node in module.walk() if isinstance(node, dfg.NodeOp)
    }
    return kernels, compile_onnx(pixel_model(), passes, tmp_path / "out")


def test_pointwise_convolutions_as_matrix_products(tmp_path: Path) -> None:
    """
    Channels-last 1x1 convolutions run as oneDNN matrix products over the pixels, on
    channel-slice views too, match ONNX Runtime, and repack after `load_state_dict`.
    """
    kernels, compiled = compile_pixels(tmp_path, "default")
    assert kernels["wide"] == kernels["thin"] == ONEDNN_LINEAR
    assert compiled.source.count(" = _onednn_linear(") == 2
    assert_matches_onnxruntime(compiled, pixel_model(), seed=3)

    model = import_generated(compiled.source_path).load_model(compiled.weights_path)
    state = {
        k: torch.zeros_like(v) if k.endswith("_w") else v for k, v in model.state_dict().items()
    }
    model.load_state_dict(state)
    with torch.no_grad():
        y = model(torch.ones(1, 64, 56, 56))
    bias = F.leaky_relu(state["wide_b"], 0.1)
    expected = torch.cat([bias, torch.zeros(24)]).reshape(1, -1, 1, 1).expand_as(y)
    assert torch.equal(y, expected)


def test_pointwise_convolutions_as_mkl_linear(tmp_path: Path) -> None:
    """
    On a machine whose MKL matrix product is cheap, the channels-last 1x1 convolution
    with 64 output channels (two AVX-512 vectors and more) runs as `F.linear` over the
    pixels of a channel-slice view, its LeakyRelu in place; the one with 24 (under two
    vectors, where MKL is slow) stays on oneDNN's matrix product. Both match ONNX
    Runtime and follow weights loaded later (nothing of `F.linear`'s is packed).
    """
    from ramiel_mlir.analysis.machine import default_machine, save_machine

    default = default_machine()
    machine = dataclasses.replace(
        default,
        overheads=default.overheads | {"matmul": 0.1},
        rates=default.rates | {"matmul": 1e4},
    )
    machine_path = tmp_path / "cheap_matmul.json"
    save_machine(machine_path, machine)
    kernels, compiled = compile_pixels(tmp_path, f'"{machine_path}"')
    assert kernels["wide"] == LINEAR
    assert kernels["thin"] == ONEDNN_LINEAR
    assert compiled.source.count(" = F.linear(") == 1
    assert_matches_onnxruntime(compiled, pixel_model(), seed=4)

    model = import_generated(compiled.source_path).load_model(compiled.weights_path)
    model.load_state_dict({k: torch.full_like(v, 0.5) for k, v in model.state_dict().items()})
    with torch.no_grad():
        y = model(torch.ones(1, 64, 56, 56))
    assert torch.allclose(y[:, :64], torch.full_like(y[:, :64], 0.5 * 48 + 0.5))
    assert torch.allclose(y[:, 64:], torch.full_like(y[:, 64:], 0.5 * 16))


def pooled_norm_model(seed: int = 0) -> onnx.ModelProto:
    """A BatchNormalization after a MaxPool (nothing to fold it into), then a ReLU."""
    rng = np.random.default_rng(seed)
    inits = [
        numpy_helper.from_array(rng.normal(1, 0.3, 8).astype(np.float32), "gamma"),
        numpy_helper.from_array(rng.normal(0, 0.3, 8).astype(np.float32), "beta"),
        numpy_helper.from_array(rng.normal(0, 0.3, 8).astype(np.float32), "mean"),
        numpy_helper.from_array(rng.uniform(0.5, 2.0, 8).astype(np.float32), "var"),
    ]
    nodes = [
        helper.make_node("MaxPool", ["x"], ["p"], "pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node(
            "BatchNormalization", ["p", "gamma", "beta", "mean", "var"], ["n"], "norm"
        ),
        helper.make_node("Relu", ["n"], ["y"], "relu"),
    ]
    return image_model("pooled_norm", nodes, inits, [1, 8, 16, 16])


def test_channels_last_batchnorm_as_per_channel_affine(tmp_path: Path) -> None:
    """
    An unfolded channels-last BatchNormalization runs as `torch.addcmul` with a scale
    and shift derived at load time, matches ONNX Runtime, and derives them again after
    `load_state_dict`.
    """
    passes = "fold-constants,fold-batchnorm,assign-layout{mode=channels-last},dce"
    compiled = compile_onnx(pooled_norm_model(), passes, tmp_path)
    assert "torch.addcmul(" in compiled.source
    assert "F.batch_norm(" not in compiled.source
    assert_matches_onnxruntime(compiled, pooled_norm_model(), seed=5)

    model = import_generated(compiled.source_path).load_model(compiled.weights_path)
    state = model.state_dict() | {
        "gamma": torch.full((8,), 2.0),
        "beta": torch.zeros(8),
        "mean": torch.full((8,), 0.5),
        "var": torch.full((8,), 4.0 - 1e-5),
    }
    model.load_state_dict(state)
    x = torch.randn(1, 8, 16, 16)
    with torch.no_grad():
        y = model(x)
    expected = torch.relu(F.max_pool2d(x, 2) - 0.5)  # 2 * (p - 0.5) / sqrt(4)
    torch.testing.assert_close(y, expected, rtol=1e-5, atol=1e-6)


def test_profile_model_times_packed_convolutions(tmp_path: Path) -> None:
    """`estimate-cost{model=profile}` after prepack-weights runs the packed kernels."""
    path = tmp_path / "convs.onnx"
    onnx.save(conv_model(), path)
    module = import_onnx(str(path))
    run_pipeline(make_context(), module, f"{PASSES},estimate-cost{{model=profile}}")
    nodes = [op for op in module.walk() if isinstance(op, dfg.NodeOp)]
    assert any(KERNEL.get(node) == ONEDNN for node in nodes)
    assert all((COST.get(node) or 0.0) > 0.0 for node in nodes)


def shuffle_model(seed: int = 0) -> onnx.ModelProto:
    """
    A ShuffleNet unit's start: a grouped 1x1 convolution, a channel shuffle of its 4
    groups (Reshape, Transpose, Reshape) and a depthwise 3x3 convolution.
    """
    rng = np.random.default_rng(seed)
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.3, (24, 4, 1, 1)).astype(np.float32), "group_w"),
        numpy_helper.from_array(rng.normal(0, 0.3, (24, 1, 3, 3)).astype(np.float32), "dw_w"),
        numpy_helper.from_array(np.array([1, 4, 6, 10, 10], np.int64), "groups"),
        numpy_helper.from_array(np.array([1, 24, 10, 10], np.int64), "image"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "group_w"], ["g"], "grouped", group=4),
        helper.make_node("Relu", ["g"], ["r"], "relu"),
        helper.make_node("Reshape", ["r", "groups"], ["split"], "split"),
        helper.make_node("Transpose", ["split"], ["swapped"], "swap", perm=[0, 2, 1, 3, 4]),
        helper.make_node("Reshape", ["swapped", "image"], ["shuffled"], "merge"),
        helper.make_node("Conv", ["shuffled", "dw_w"], ["y"], "dw", group=24, pads=[1, 1, 1, 1]),
    ]
    return image_model("shuffle", nodes, inits, [1, 16, 10, 10])


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("layout", ["contiguous", "channels-last"])
def test_channel_shuffle_in_either_format(tmp_path: Path, layout: str, fused: bool) -> None:
    """
    The shuffle matches ONNX Runtime in either format, as three nodes or as the one
    Gather of `fuse-channel-shuffle` (`torch.channel_shuffle`); channels-last, it joins
    the regions around it, so no image is converted between the two convolutions.
    """
    fuse = "fuse-channel-shuffle," if fused else ""
    passes = f"fold-constants,{fuse}assign-layout{{mode={layout}}},dce"
    compiled = compile_onnx(shuffle_model(), passes, tmp_path)
    between = compiled.source.split("# relu (Relu)")[1].split("# dw (Conv)")[0]
    assert ("torch.channel_shuffle(r, 4)" in between) == fused
    if layout == "channels-last":
        assert "contiguous(" not in between
    assert_matches_onnxruntime(compiled, shuffle_model(), seed=6)


def test_shuffle_permutation_is_torchs_channel_shuffle() -> None:
    """The Gather's indices name the channels `torch.channel_shuffle` reads, in order."""
    from ramiel_mlir.analysis.layout import shuffle_permutation

    for channels, groups in [(6, 2), (6, 3), (24, 4), (544, 4)]:
        x = torch.arange(float(channels)).reshape(1, channels, 1, 1)
        expected = torch.channel_shuffle(x, groups).flatten().long().tolist()
        assert shuffle_permutation(channels, groups).tolist() == expected


def classifier_model(seed: int = 0) -> onnx.ModelProto:
    """
    Two classifier Gemms of a 1280-vector, summed: B stored (out, in) with a bias
    (`transB`, 4.9 MiB), and B stored (in, out) without one.
    """
    rng = np.random.default_rng(seed)
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.03, (1000, 1280)).astype(np.float32), "fc_w"),
        numpy_helper.from_array(rng.normal(0, 0.1, 1000).astype(np.float32), "fc_b"),
        numpy_helper.from_array(rng.normal(0, 0.03, (1280, 1000)).astype(np.float32), "in_out"),
    ]
    nodes = [
        helper.make_node("Gemm", ["x", "fc_w", "fc_b"], ["a"], "fc", transB=1),
        helper.make_node("Gemm", ["x", "in_out"], ["b"], "fc_in_out"),
        helper.make_node("Add", ["a", "b"], ["y"], "sum"),
    ]
    return image_model("classifier", nodes, inits, [1, 1280])


def compile_planned(
    model: onnx.ModelProto,
    directory: Path,
    op_type: str,
    own_threads: list[int | None],
    lane_threads: int,
) -> tuple[CompiledModel, list[dfg.NodeOp]]:
    """
    `model` planned as one lane on `lane_threads` intra-op threads, its `op_type` nodes
    with their own counts (`own_threads`, None: the lane's), then `prepack-weights` and
    the Python target: the code, and those nodes. The plan is set by hand, so that it is
    the same on every machine.
    """
    from xdsl.dialects.builtin import IntegerAttr, i64

    from ramiel_mlir.backend.python_target import PythonTarget
    from ramiel_mlir.dialects.annotations import THREADS

    name = model.graph.name
    path = directory / f"{name}.onnx"
    onnx.save(model, path)
    ctx, module = make_context(), import_onnx(str(path))
    run_pipeline(
        ctx,
        module,
        "fold-constants,dce,estimate-cost{machine=default},linear-cluster,merge-clusters{lanes=1}",
    )
    (lane,) = [op for op in module.walk() if isinstance(op, dfg.ClusterOp)]
    lane.threads = IntegerAttr(lane_threads, i64)
    nodes = [n for n in module.walk() if isinstance(n, dfg.NodeOp) and n.op_type.data == op_type]
    for node, threads in zip(nodes, own_threads, strict=True):
        if threads is not None:
            THREADS.set(node, threads)
    run_pipeline(ctx, module, "prepack-weights{machine=default}")
    source_path, weights_path = directory / f"{name}.py", directory / f"{name}.weights.pt"
    with source_path.open("w") as out:
        PythonTarget(weights=str(weights_path)).emit(ctx, module, out)
    return CompiledModel(source_path, weights_path), nodes


def test_large_gemms_planned_on_two_threads_run_on_packed_onednn(tmp_path: Path) -> None:
    """
    Gemms with large weights planned on two threads run as oneDNN's packed matrix
    product (B transposed at packing where it is stored (in, out)), match ONNX Runtime,
    and repack after `load_state_dict`.
    """
    # the plan on two cores, whatever cores this machine has
    compiled, gemms = compile_planned(classifier_model(), tmp_path, "Gemm", [None, None], 2)
    assert [KERNEL.get(node) for node in gemms] == [ONEDNN_LINEAR, ONEDNN_LINEAR]
    assert compiled.source.count(" = _onednn_linear(") == 2
    assert "self.in_out.t()" in compiled.source
    assert_matches_onnxruntime(compiled, classifier_model(), seed=5)

    model = compiled.load()
    state = {k: torch.zeros_like(v) if k != "fc_b" else v for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    with torch.no_grad():
        y = model(torch.ones(1, 1280))
    assert torch.equal(y, state["fc_b"].reshape(1, -1))


def twin_convs_model() -> onnx.ModelProto:
    """Two 7x7 convolutions of one input by one weight (which PyTorch runs on oneDNN)."""
    rng = np.random.default_rng(7)
    w = numpy_helper.from_array(rng.normal(0, 0.2, (8, 3, 7, 7)).astype(np.float32), "w")
    nodes = [
        helper.make_node("Conv", ["x", "w"], [name], name, pads=[3, 3, 3, 3])
        for name in ("one", "two")
    ]
    nodes.append(helper.make_node("Add", ["one", "two"], ["y"], "sum"))
    return image_model("twins", nodes, [w], [1, 3, 32, 32])


def test_weights_are_packed_for_their_nodes_thread_counts(tmp_path: Path) -> None:
    """
    A weight read by a node planned on one thread and by one planned on two is packed
    once for each count (oneDNN's blocked format depends on it), the output matches
    ONNX Runtime, and loading the model leaves the caller's thread count as it was.
    """
    compiled, convs = compile_planned(twin_convs_model(), tmp_path, "Conv", [None, 2], 1)
    assert [KERNEL.get(node) for node in convs] == [ONEDNN, ONEDNN]
    assert compiled.source.count("torch.ops.mkldnn._reorder_convolution_weight(") == 2
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(3)
        compiled.load()
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(previous)
    assert_matches_onnxruntime(compiled, twin_convs_model(), seed=3)
