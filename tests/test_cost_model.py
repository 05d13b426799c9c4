"""The cost models: FLOP and byte counts, the calibrated machine, profiling, estimate-cost."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser

from ramiel_mlir.analysis import machine as machine_module
from ramiel_mlir.analysis.cost_model import (
    ONEDNN,
    ONEDNN_KIND,
    ONEDNN_LINEAR,
    Work,
    activation_pass_cost,
    flops_cost,
    linear_passes_cost,
    node_work,
    vector_amount,
)
from ramiel_mlir.analysis.graph import graph_dag, graph_nodes
from ramiel_mlir.analysis.kernels import (
    choose_kernel,
    kernel_cost,
    stray_conversions_cost,
    stray_layout_cost,
    threaded_cost,
)
from ramiel_mlir.analysis.layout import layout_cost
from ramiel_mlir.analysis.levels import parallelism_bound
from ramiel_mlir.analysis.machine import UNITS, Machine, cache_path, load_machine, machine_key
from ramiel_mlir.api import make_context
from ramiel_mlir.backend.profile import profile_graph
from ramiel_mlir.dialects import dfg
from ramiel_mlir.dialects.annotations import COST, EDGE_COST, KERNEL, LAYOUT, THREADS
from ramiel_mlir.frontend.onnx import import_onnx
from ramiel_mlir.transforms.estimate_cost import EstimateCostPass

NODES = """
dfg.graph @shapes(%x: tensor<1x3x224x224xf32>, %d: tensor<1x32x56x56xf32>,
                  %a: tensor<1x1024xf32>, %m: tensor<2x3x4xf32>, %ids: tensor<3xi64>,
                  %s: tensor<1x16x20x20xf32>)
                  -> tensor<1x64x112x112xf32> {
  %w = dfg.weight "w" from "unused.onnx" : tensor<64x3x7x7xf32>
  %dw = dfg.weight "dw" from "unused.onnx" : tensor<32x1x3x3xf32>
  %b = dfg.weight "b" from "unused.onnx" : tensor<1000x1024xf32>
  %mw = dfg.weight "mw" from "unused.onnx" : tensor<4x5xf32>
  %shape = dfg.weight "shape" dense<[1, 802816]> : tensor<2xi64> : tensor<2xi64>
  %conv = dfg.node "Conv"(%x, %w) {strides = array<i64: 2, 2>, pads = array<i64: 3, 3, 3, 3>,
      kernel_shape = array<i64: 7, 7>} opset 13
      : (tensor<1x3x224x224xf32>, tensor<64x3x7x7xf32>) -> tensor<1x64x112x112xf32>
  %depthwise = dfg.node "Conv"(%d, %dw) {group = 32 : i64, pads = array<i64: 1, 1, 1, 1>,
      kernel_shape = array<i64: 3, 3>} opset 13
      : (tensor<1x32x56x56xf32>, tensor<32x1x3x3xf32>) -> tensor<1x32x56x56xf32>
  %w3 = dfg.weight "w3" from "unused.onnx" : tensor<48x16x3x3xf32>
  %w17 = dfg.weight "w17" from "unused.onnx" : tensor<48x16x1x7xf32>
  %small = dfg.node "Conv"(%s, %w3) {pads = array<i64: 1, 1, 1, 1>,
      kernel_shape = array<i64: 3, 3>} opset 13
      : (tensor<1x16x20x20xf32>, tensor<48x16x3x3xf32>) -> tensor<1x48x20x20xf32>
  %w11 = dfg.weight "w11" from "unused.onnx" : tensor<16x32x1x1xf32>
  %pointwise = dfg.node "Conv"(%d, %w11) opset 13
      : (tensor<1x32x56x56xf32>, tensor<16x32x1x1xf32>) -> tensor<1x16x56x56xf32>
  %row = dfg.node "Conv"(%s, %w17) {pads = array<i64: 0, 3, 0, 3>,
      kernel_shape = array<i64: 1, 7>} opset 13
      : (tensor<1x16x20x20xf32>, tensor<48x16x1x7xf32>) -> tensor<1x48x20x20xf32>
  %gemm = dfg.node "Gemm"(%a, %b) {transB = 1 : i64} opset 13
      : (tensor<1x1024xf32>, tensor<1000x1024xf32>) -> tensor<1x1000xf32>
  %matmul = dfg.node "MatMul"(%m, %mw) opset 13
      : (tensor<2x3x4xf32>, tensor<4x5xf32>) -> tensor<2x3x5xf32>
  %pool = dfg.node "MaxPool"(%conv) {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>}
      opset 13 : (tensor<1x64x112x112xf32>) -> tensor<1x64x55x55xf32>
  %add = dfg.node "Add"(%conv, %conv) opset 13
      : (tensor<1x64x112x112xf32>, tensor<1x64x112x112xf32>) -> tensor<1x64x112x112xf32>
  %lrn = dfg.node "LRN"(%d) {size = 5 : i64} opset 13
      : (tensor<1x32x56x56xf32>) -> tensor<1x32x56x56xf32>
  %softmax = dfg.node "Softmax"(%gemm) opset 13 : (tensor<1x1000xf32>) -> tensor<1x1000xf32>
  %gather = dfg.node "Gather"(%b, %ids) opset 13
      : (tensor<1000x1024xf32>, tensor<3xi64>) -> tensor<3x1024xf32>
  %flat = dfg.node "Reshape"(%conv, %shape) opset 13
      : (tensor<1x64x112x112xf32>, tensor<2xi64>) -> tensor<1x802816xf32>
  dfg.output %conv : tensor<1x64x112x112xf32>
}
"""

CONV_OUT = 64 * 112 * 112


@pytest.fixture(scope="module")
def nodes() -> dict[str, dfg.NodeOp]:
    module = Parser(make_context(), NODES).parse_module()
    return {
        node.results[0].name_hint or "": node
        for node in module.walk()
        if isinstance(node, dfg.NodeOp)
    }


def test_conv_flops_and_bytes(nodes: dict[str, dfg.NodeOp]) -> None:
    """Two FLOPs per multiply-add: outputs x input channels x kernel window."""
    work = node_work(nodes["conv"])
    assert work.kind == "conv"
    assert work.amount == 2 * CONV_OUT * 3 * 7 * 7 == 236_027_904
    assert work.bytes == 4 * (3 * 224 * 224 + 64 * 3 * 7 * 7 + CONV_OUT)


def test_conv_kind_follows_the_path_torch_takes(nodes: dict[str, dfg.NodeOp]) -> None:
    """
    `F.conv2d` runs a small or a 1x7 convolution as im2col and a matrix product (the
    `pointwise_conv` rate), a large 3x3 or a 7x7 on oneDNN (the `conv` rate).
    """
    assert node_work(nodes["small"]).kind == "pointwise_conv"
    assert node_work(nodes["depthwise"]).kind == "depthwise_conv"
    assert node_work(nodes["conv"]).kind == "conv"
    assert node_work(nodes["row"]).kind == "pointwise_conv"


def test_depthwise_falls_back_to_conv_on_an_older_machine_model(
    nodes: dict[str, dfg.NodeOp],
) -> None:
    """A machine file calibrated before the `depthwise_conv` kind costs it as a `conv`."""
    machine = machine_module.default_machine()
    older = dataclasses.replace(
        machine,
        rates={k: v for k, v in machine.rates.items() if k != "depthwise_conv"},
    )
    depthwise, conv = nodes["depthwise"], node_work(nodes["depthwise"])
    as_conv = machine.overheads["conv"] + max(
        conv.amount / (machine.rates["conv"] * 1e3), conv.bytes / (machine.memory_gbps * 1e3)
    )
    assert flops_cost(depthwise, older) == pytest.approx(as_conv)
    assert flops_cost(depthwise, machine) > flops_cost(depthwise, older)


def test_output_channels_count_in_whole_simd_vectors(nodes: dict[str, dfg.NodeOp]) -> None:
    """
    A dense convolution's output channels are padded to whole vectors of the machine
    (16 floats in the built-in model); a depthwise one and a model without the
    figure are not padded.
    """
    machine = machine_module.default_machine()
    assert machine.vector_floats == 16
    small = node_work(nodes["small"])  # 48 output channels: three whole vectors
    assert small.vector == 48
    assert vector_amount(small, machine) == small.amount
    assert vector_amount(Work("conv", 100.0, vector=8), machine) == 200.0
    assert vector_amount(Work("conv", 100.0, vector=24), machine) == pytest.approx(400.0 / 3)
    assert node_work(nodes["depthwise"]).vector == 0
    unknown = dataclasses.replace(machine, vector_floats=0)
    assert vector_amount(Work("conv", 100.0, vector=8), unknown) == 100.0


def test_matrix_product_kernel_falls_back_on_an_older_machine_model(
    nodes: dict[str, dfg.NodeOp],
) -> None:
    """A 1x1 `onednn_linear` node costs as `onednn_conv` where the model lacks the kind."""
    machine = machine_module.default_machine()
    older = dataclasses.replace(
        machine, rates={k: v for k, v in machine.rates.items() if k != ONEDNN_LINEAR}
    )
    product = nodes["small"].clone()
    KERNEL.set(product, ONEDNN_LINEAR)
    assert node_work(product).kind == ONEDNN_LINEAR
    convolution = nodes["small"].clone()
    KERNEL.set(convolution, ONEDNN)
    assert node_work(convolution).kind == ONEDNN_KIND
    assert flops_cost(product, older) == flops_cost(convolution, machine)
    assert flops_cost(product, machine) < flops_cost(convolution, machine)


def test_grouped_conv_counts_one_group(nodes: dict[str, dfg.NodeOp]) -> None:
    assert node_work(nodes["depthwise"]).amount == 2 * 32 * 56 * 56 * 9


def test_matrix_products(nodes: dict[str, dfg.NodeOp]) -> None:
    assert node_work(nodes["gemm"]) == Work("matmul", 2 * 1000 * 1024, 4 * (1024 + 1024000 + 1000))
    assert node_work(nodes["matmul"]) == Work("matmul", 2 * (2 * 3 * 5) * 4, 4 * (24 + 20 + 30))


def test_pool_elementwise_normalisation_and_view(nodes: dict[str, dfg.NodeOp]) -> None:
    assert node_work(nodes["pool"]).kind == "max_pool"
    assert node_work(nodes["pool"]).amount == 64 * 55 * 55 * 9
    assert node_work(nodes["add"]) == Work("memory", 3 * 4 * CONV_OUT, 3 * 4 * CONV_OUT)
    assert node_work(nodes["softmax"]) == Work("special", 1000, 2 * 4 * 1000)
    assert node_work(nodes["lrn"]) == Work("lrn", 5 * 32 * 56 * 56, 2 * 4 * 32 * 56 * 56)
    assert node_work(nodes["gather"]) == Work(
        "memory", 2 * 4 * 3 * 1024 + 8 * 3, 2 * 4 * 3 * 1024 + 8 * 3
    )
    assert node_work(nodes["flat"]) == Work("view")


MACHINE = Machine(
    rates={"conv": 100.0, "matmul": 50.0, "special": 1.0, "memory": 10.0},
    overheads={"conv": 4.0, "matmul": 3.0, "special": 1.0, "memory": 2.0, "view": 1.0},
    edge_cost_us=20.0,
)


def test_roofline_times(nodes: dict[str, dfg.NodeOp]) -> None:
    """The kind's overhead plus the slower of compute and memory (G/s = 1e3 per us)."""
    assert flops_cost(nodes["conv"], MACHINE) == pytest.approx(4 + 236_027_904 / 100e3)
    assert flops_cost(nodes["add"], MACHINE) == pytest.approx(2 + 12 * CONV_OUT / 10e3)
    gemm_bytes = 4 * (1024 + 1000 * 1024 + 1000)
    assert flops_cost(nodes["gemm"], MACHINE) == pytest.approx(3 + gemm_bytes / 10e3)
    assert flops_cost(nodes["softmax"], MACHINE) == pytest.approx(1 + 1000 / 1e3)
    assert flops_cost(nodes["flat"], MACHINE) == 1


def test_threaded_estimate_costs_the_kernel_that_runs_there(nodes: dict[str, dfg.NodeOp]) -> None:
    """
    A 1x1 convolution of 100k elements on `F.conv2d`: torch runs it as a matrix product
    on one thread, but on two as oneDNN with a per-call weight reorder, which
    prepack-weights replaces by packed weights once the node is planned there. Its
    threaded estimate is the packed kernel's; on one core nothing changes.
    """
    machine = machine_module.default_machine()
    node = nodes["pointwise"]
    aten = layout_cost(node, machine, threaded=True)
    packed = kernel_cost(node, machine, threaded=True)
    assert packed != aten
    assert threaded_cost(node, machine, 2) == packed + stray_layout_cost(node, machine)
    assert threaded_cost(node, machine, 1) == aten
    assert threaded_cost(nodes["small"], machine, 2) == layout_cost(
        nodes["small"], machine, threaded=True
    )  # 6,400 elements: torch keeps it off oneDNN on two threads too


def test_kernel_choice_uses_the_planned_threads_estimates() -> None:
    """
    A small 3x3 convolution that `F.conv2d` keeps on its matrix-product path on any
    thread count is put on oneDNN by the estimates of the thread count it is planned on:
    on a machine where that path is cheaper on one thread but oneDNN gains more from a
    second one, it stays on `F.conv2d` planned on one thread and goes to oneDNN on two.
    """
    module = Parser(make_context(), NODES).parse_module()
    (small,) = [
        n for n in module.walk() if isinstance(n, dfg.NodeOp) and n.results[0].name_hint == "small"
    ]
    default = machine_module.default_machine()
    machine = dataclasses.replace(
        default,
        rates=default.rates | {"pointwise_conv": 100.0, "onednn_conv": 100.0},
        overheads=default.overheads | {"pointwise_conv": 1.0, "onednn_conv": 40.0},
        threaded_rates=default.threaded_rates | {"pointwise_conv": 100.0, "onednn_conv": 1e4},
        threaded_overheads=default.threaded_overheads | {"pointwise_conv": 0.0, "onednn_conv": 0.0},
    )
    one = choose_kernel(small, machine)
    assert one is not None
    assert not one.forced
    assert one.kernel is None
    THREADS.set(small, 2)
    two = choose_kernel(small, machine)
    assert two is not None
    assert not two.forced
    assert two.kernel == "onednn"
    assert two.kernel_us == pytest.approx(
        kernel_cost(small, machine, threaded=True) + stray_layout_cost(small, machine)
    )


def test_threaded_times_add_the_team_wakeup(nodes: dict[str, dfg.NodeOp]) -> None:
    """On every core: the threaded rate, plus the kind's cost of waking the intra-op team."""
    machine = dataclasses.replace(
        MACHINE,
        threaded_rates={"conv": 200.0, "matmul": 100.0, "special": 2.0, "memory": 20.0},
        threaded_overheads={"conv": 6.0, "special": 0.0},
    )
    conv = flops_cost(nodes["conv"], machine, threaded=True)
    assert conv == pytest.approx(4 + 6 + 236_027_904 / 200e3)
    # Twice the special rate makes the softmax memory-bound: 8,000 bytes at 10 GB/s.
    assert flops_cost(nodes["softmax"], machine, threaded=True) == pytest.approx(1 + 8000 / 10e3)
    # A kind without a measured wake-up (here memory) pays none.
    assert flops_cost(nodes["add"], machine, threaded=True) == pytest.approx(
        flops_cost(nodes["add"], machine)
    )


def test_calibration_is_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAMIEL_CACHE_DIR", str(tmp_path))
    machine = load_machine()
    assert cache_path() == tmp_path / "machine.json"
    assert set(machine.overheads) == set(UNITS)
    assert set(machine.rates) == set(UNITS) - {"view"}
    assert all(value > 0 for value in [*machine.rates.values(), *machine.overheads.values()])
    assert machine.edge_cost_us > 0
    assert load_machine() == machine
    data = json.loads(cache_path().read_text())
    data["machine"]["rates"]["conv"] = 1.0
    cache_path().write_text(json.dumps(data))
    assert load_machine().rates["conv"] == 1.0
    data["key"]["version"] = -1
    cache_path().write_text(json.dumps(data))
    monkeypatch.setattr(machine_module, "calibrate", lambda: MACHINE)
    assert load_machine() == MACHINE
    assert json.loads(cache_path().read_text())["key"] == machine_key()


def small_model(path: Path) -> Path:
    """A big conv and a small relu on parallel branches, plus a Gather of integer inputs."""
    rng = np.random.default_rng(0)
    weights = [
        numpy_helper.from_array(rng.normal(size=(64, 32, 3, 3)).astype(np.float32), "w"),
        numpy_helper.from_array(rng.normal(size=(10, 8)).astype(np.float32), "table"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["conv"], name="big_conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["v"], ["relu"], name="small_relu"),
        helper.make_node("Gather", ["table", "ids"], ["rows"], name="lookup"),
        helper.make_node("Relu", ["conv"], ["out"], name="conv_relu"),
    ]
    graph = helper.make_graph(
        nodes,
        "small",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 32, 28, 28]),
            helper.make_tensor_value_info("v", TensorProto.FLOAT, [1, 16]),
            helper.make_tensor_value_info("ids", TensorProto.INT64, [4]),
        ],
        [
            helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 64, 28, 28]),
            helper.make_tensor_value_info("relu", TensorProto.FLOAT, [1, 16]),
            helper.make_tensor_value_info("rows", TensorProto.FLOAT, [4, 8]),
        ],
        weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


@pytest.fixture(scope="module")
def small_graph(tmp_path_factory: pytest.TempPathFactory) -> dfg.GraphOp:
    path = small_model(tmp_path_factory.mktemp("cost") / "small.onnx")
    module = import_onnx(str(path))
    return next(op for op in module.ops if isinstance(op, dfg.GraphOp))


def test_profile_ranks_conv_above_relu(small_graph: dfg.GraphOp) -> None:
    costs = {dfg.node_of(n).node_name(n): cost for n, cost in profile_graph(small_graph).items()}
    assert set(costs) == {"big_conv", "small_relu", "lookup", "conv_relu"}
    assert all(cost > 0 for cost in costs.values())
    assert costs["big_conv"] > 5 * costs["small_relu"]


@pytest.mark.parametrize("model", ["flops", "profile"])
def test_pass_annotates_every_node(small_graph: dfg.GraphOp, model: str) -> None:
    module = small_graph.parent_op()
    assert isinstance(module, ModuleOp)
    module = module.clone()
    EstimateCostPass(model=model).apply(make_context(), module)
    module.verify()
    graph = next(op for op in module.ops if isinstance(op, dfg.GraphOp))
    nodes = graph_nodes(graph)
    assert len(nodes) == 4
    assert all((COST.get(node) or 0.0) > 0 for node in nodes)
    edge_cost = EDGE_COST.get(graph)
    assert edge_cost is not None
    assert edge_cost > 0
    assert 1 <= parallelism_bound(graph_dag(graph).dag, 2) <= 2


def test_unknown_model_is_an_error() -> None:
    with pytest.raises(ValueError, match="model must be one of flops, profile, got 'fast'"):
        EstimateCostPass(model="fast")


PIXELS = """
dfg.graph @pixels(%x: tensor<1x64x7x7xf32>) -> (tensor<1x512x7x7xf32>, tensor<1x512x7x7xf32>) {
  %w = dfg.weight "w" from "unused.onnx" : tensor<512x64x1x1xf32>
  %act = dfg.node "FusedConv"(%x, %w) {activation = "Relu", kernel_shape = array<i64: 1, 1>}
      opset 1 {domain = "com.microsoft"}
      : (tensor<1x64x7x7xf32>, tensor<512x64x1x1xf32>) -> tensor<1x512x7x7xf32>
  %plain = dfg.node "Conv"(%x, %w) opset 13
      : (tensor<1x64x7x7xf32>, tensor<512x64x1x1xf32>) -> tensor<1x512x7x7xf32>
  dfg.output %act, %plain : tensor<1x512x7x7xf32>, tensor<1x512x7x7xf32>
}
"""


def test_linear_kernel_pays_weight_packing_and_the_activation_pass() -> None:
    """
    `F.linear` over the pixels packs its weight on every call (a read and a write), and
    a FusedConv's activation costs a call and a read and a write of the output after
    it; a plain Conv has no activation pass. Both at the machine's memory rate.
    """
    module = Parser(make_context(), PIXELS).parse_module()
    act, plain = [n for n in module.walk() if isinstance(n, dfg.NodeOp)]
    machine = machine_module.default_machine()
    per_byte = 1 / (machine.memory_gbps * 1e3)
    weight, output = 4 * 512 * 64, 4 * 512 * 7 * 7
    assert activation_pass_cost(plain, machine) == 0.0
    assert activation_pass_cost(act, machine) == pytest.approx(
        machine.overheads["memory"] + 2 * output * per_byte
    )
    assert linear_passes_cost(plain, machine) == pytest.approx(2 * weight * per_byte)
    assert linear_passes_cost(act, machine) == pytest.approx(
        2 * weight * per_byte + activation_pass_cost(act, machine)
    )


CHAIN = """
dfg.graph @chain(%x: tensor<1x16x28x28xf32>) -> (tensor<1x64x28x28xf32>) {
  %w1 = dfg.weight "w1" from "unused.onnx" : tensor<32x16x3x3xf32>
  %w2 = dfg.weight "w2" from "unused.onnx" : tensor<64x32x3x3xf32>
  %a = dfg.node "Conv"(%x, %w1) {pads = array<i64: 1, 1, 1, 1>} opset 13
      : (tensor<1x16x28x28xf32>, tensor<32x16x3x3xf32>) -> tensor<1x32x28x28xf32>
  %b = dfg.node "Conv"(%a, %w2) {pads = array<i64: 1, 1, 1, 1>} opset 13
      : (tensor<1x32x28x28xf32>, tensor<64x32x3x3xf32>) -> tensor<1x64x28x28xf32>
  dfg.output %b : tensor<1x64x28x28xf32>
}
"""


def test_packed_convolution_in_a_contiguous_region_pays_its_channels_last_result() -> None:
    """
    oneDNN's packed convolution writes channels-last whatever its node's format: a
    contiguous node pays one conversion of its result (read and write, at the
    conversion rate), unless its image already comes channels-last from such a node;
    a channels-last node pays nothing.
    """
    module = Parser(make_context(), CHAIN).parse_module()
    a, b = [n for n in module.walk() if isinstance(n, dfg.NodeOp)]
    machine = machine_module.default_machine()
    per_byte = 1 / (machine.layout_conversion_gbps * 1e3)
    assert stray_layout_cost(a, machine) == pytest.approx(2 * 4 * 32 * 28 * 28 * per_byte)
    assert stray_layout_cost(b, machine) == pytest.approx(2 * 4 * 64 * 28 * 28 * per_byte)
    KERNEL.set(a, "onednn")
    assert stray_layout_cost(b, machine) == 0.0
    for node in (a, b):
        LAYOUT.set(node, "channels_last")
    assert stray_layout_cost(a, machine) == 0.0


def test_a_contiguous_region_pays_one_conversion_per_chain_of_packed_convolutions() -> None:
    """
    Kept contiguous, a region whose convolutions `choose_kernel` puts on oneDNN gets
    their channels-last results anyway: the first of a chain of them is converted on the
    way, the next reads it channels-last. Where oneDNN is slow, only `b` is packed (on
    25,088 input elements `F.conv2d` would run oneDNN itself), and it pays.
    """
    module = Parser(make_context(), CHAIN).parse_module()
    a, b = [n for n in module.walk() if isinstance(n, dfg.NodeOp)]
    default = machine_module.default_machine()
    packs = dataclasses.replace(
        default,
        rates=default.rates | {"onednn_conv": 1e6},
        overheads=default.overheads | {"onednn_conv": 0.0},
    )
    assert stray_conversions_cost([a, b], packs) == pytest.approx(stray_layout_cost(a, packs))
    assert stray_conversions_cost([b], packs) == pytest.approx(stray_layout_cost(b, packs))
    slow = dataclasses.replace(default, overheads=default.overheads | {"onednn_conv": 1e6})
    assert stray_conversions_cost([a, b], slow) == pytest.approx(stray_layout_cost(b, slow))
    assert stray_conversions_cost([a], slow) == 0.0
