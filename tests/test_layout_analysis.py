"""The memory-format analysis (`analysis/layout.py`) on a small hand-made graph."""

from __future__ import annotations

import dataclasses

import pytest
from xdsl.dialects.builtin import StringAttr
from xdsl.parser import Parser

from ramiel_mlir.analysis.cost_model import flops_cost, nbytes
from ramiel_mlir.analysis.layout import (
    CHANNEL_RESHAPE,
    CHANNELS_LAST,
    CHANNELS_LAST_RATIO,
    LAYOUT_ATTR,
    boundary_values,
    channel_reshape,
    channels_last_ratio,
    group_loop_cost,
    layout_cost,
    layout_kind,
    layout_regions,
    region_gain,
)
from ramiel_mlir.analysis.machine import default_machine
from ramiel_mlir.api import make_context
from ramiel_mlir.dialects import dfg
from ramiel_mlir.dialects.annotations import KERNEL

GRAPH = """
dfg.graph @images(%x: tensor<1x4x8x8xf32>) -> (tensor<1x4x8x8xf32>, tensor<1x2x8x4xf32>) {
  %w = dfg.weight "w" dense<0.5> : tensor<4x4x3x3xf32> : tensor<4x4x3x3xf32>
  %dw = dfg.weight "dw" dense<0.5> : tensor<4x1x3x3xf32> : tensor<4x1x3x3xf32>
  %conv = dfg.node "Conv"(%x, %w) {pads = array<i64: 1, 1, 1, 1>} opset 17
      : (tensor<1x4x8x8xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x8x8xf32>
  %depthwise = dfg.node "Conv"(%conv, %dw) {group = 4 : i64, pads = array<i64: 1, 1, 1, 1>}
      opset 17 : (tensor<1x4x8x8xf32>, tensor<4x1x3x3xf32>) -> tensor<1x4x8x8xf32>
  %pool = dfg.node "MaxPool"(%depthwise) {kernel_shape = array<i64: 3, 3>,
      pads = array<i64: 1, 1, 1, 1>} opset 12 : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %a, %b = dfg.node "Split"(%pool) {axis = 1 : i64, split = array<i64: 2, 2>} opset 11
      : (tensor<1x4x8x8xf32>) -> (tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>)
  %exp = dfg.node "Exp"(%a) opset 13 : (tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %lrn = dfg.node "LRN"(%exp) {size = 3 : i64} opset 13
      : (tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %c, %d = dfg.node "Split"(%b) {axis = 3 : i64, split = array<i64: 4, 4>} opset 11
      : (tensor<1x2x8x8xf32>) -> (tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>)
  %cat = dfg.node "Concat"(%lrn, %a) {axis = 1 : i64} opset 13
      : (tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>) -> tensor<1x4x8x8xf32>
  dfg.output %cat, %c : tensor<1x4x8x8xf32>, tensor<1x2x8x4xf32>
}
"""


@pytest.fixture
def nodes() -> dict[str, dfg.NodeOp]:
    module = Parser(make_context(), GRAPH).parse_module()
    return {
        node.results[0].name_hint or "": node
        for node in module.walk()
        if isinstance(node, dfg.NodeOp)
    }


def test_kinds(nodes: dict[str, dfg.NodeOp]) -> None:
    """Each image node's kind; a channel Split is one, a width Split and an Exp are not."""
    kinds = {name: layout_kind(node) for name, node in nodes.items()}
    assert kinds == {
        "conv": "conv",
        "depthwise": "depthwise_conv",
        "pool": "max_pool",
        "a": "split",
        "exp": None,
        "lrn": "lrn",
        "c": None,
        "cat": "concat",
    }


def test_regions_and_their_edges(nodes: dict[str, dfg.NodeOp]) -> None:
    """
    The Concat reads a Split part, so the candidates form one region; the values that
    cross its edge are the input, the parts read by the Exp and by the width Split, the
    Exp's result, and the graph output.
    """
    (region,) = layout_regions(nodes.values())
    assert sorted(node.results[0].name_hint or "" for node in region) == [
        "a",
        "cat",
        "conv",
        "depthwise",
        "lrn",
        "pool",
    ]
    crossing = {value.name_hint for value in boundary_values(region)}
    assert crossing == {"x", "a", "b", "exp", "cat"}


def test_ratios_come_from_the_machine_model() -> None:
    """A calibrated model's ratio wins; an older model without ratios gets the table's."""
    machine = default_machine()
    assert set(machine.channels_last_ratios) == set(CHANNELS_LAST_RATIO)
    assert channels_last_ratio("norm", machine) == machine.channels_last_ratios["norm"]
    older = dataclasses.replace(machine, channels_last_ratios={})
    assert channels_last_ratio("norm", older) == CHANNELS_LAST_RATIO["norm"]


def test_layout_cost_applies_the_measured_ratio(nodes: dict[str, dfg.NodeOp]) -> None:
    """A channels-last pool costs its contiguous estimate times the max-pool ratio."""
    machine = default_machine()
    pool = nodes["pool"]
    contiguous = flops_cost(pool, machine)
    assert layout_cost(pool, machine) == contiguous
    pool.attributes[LAYOUT_ATTR] = StringAttr(CHANNELS_LAST)
    ratio = channels_last_ratio("max_pool", machine)
    assert layout_cost(pool, machine) == pytest.approx(contiguous * ratio)
    threaded = flops_cost(pool, machine, threaded=True)
    assert layout_cost(pool, machine, threaded=True) == pytest.approx(threaded * ratio)


GROUPED = """
dfg.graph @grouped(%x: tensor<1x64x8x8xf32>) -> (tensor<1x64x8x8xf32>, tensor<1x64x8x8xf32>,
    tensor<1x64x8x8xf32>) {
  %g = dfg.weight "g" dense<0.5> : tensor<64x16x1x1xf32> : tensor<64x16x1x1xf32>
  %d = dfg.weight "d" dense<0.5> : tensor<64x1x3x3xf32> : tensor<64x1x3x3xf32>
  %p = dfg.weight "p" dense<0.5> : tensor<64x64x1x1xf32> : tensor<64x64x1x1xf32>
  %grouped = dfg.node "Conv"(%x, %g) {group = 4 : i64} opset 17
      : (tensor<1x64x8x8xf32>, tensor<64x16x1x1xf32>) -> tensor<1x64x8x8xf32>
  %depthwise = dfg.node "Conv"(%x, %d) {group = 64 : i64, pads = array<i64: 1, 1, 1, 1>}
      opset 17 : (tensor<1x64x8x8xf32>, tensor<64x1x3x3xf32>) -> tensor<1x64x8x8xf32>
  %dense = dfg.node "Conv"(%x, %p) opset 17
      : (tensor<1x64x8x8xf32>, tensor<64x64x1x1xf32>) -> tensor<1x64x8x8xf32>
  dfg.output %grouped, %depthwise, %dense
      : tensor<1x64x8x8xf32>, tensor<1x64x8x8xf32>, tensor<1x64x8x8xf32>
}
"""


def test_group_loop_cost() -> None:
    """
    A 4-group 1x1 convolution on F.conv2d's matrix-product path pays three more kernel
    calls and the concatenation of its groups' outputs, plus a transposing copy of its
    input when it is channels-last; a depthwise or ungrouped convolution, or one on a
    packed oneDNN kernel, pays none of it, and `layout_cost` adds it.
    """
    machine = default_machine()
    module = Parser(make_context(), GROUPED).parse_module()
    nodes = {
        node.results[0].name_hint: node for node in module.walk() if isinstance(node, dfg.NodeOp)
    }
    grouped = nodes["grouped"]
    calls = 3 * machine.overheads["pointwise_conv"]
    concat = nbytes(grouped.outputs[0]) / (machine.memory_gbps * 1e3)
    assert group_loop_cost(grouped, machine) == pytest.approx(calls + concat)
    assert layout_cost(grouped, machine) == pytest.approx(
        flops_cost(grouped, machine) + calls + concat
    )
    assert layout_cost(grouped, machine, threaded=True) == flops_cost(
        grouped, machine, threaded=True
    )
    grouped.attributes[LAYOUT_ATTR] = StringAttr(CHANNELS_LAST)
    transpose = nbytes(grouped.inputs[0]) / (machine.layout_conversion_gbps * 1e3)
    assert group_loop_cost(grouped, machine) == pytest.approx(calls + concat + transpose)
    assert group_loop_cost(nodes["depthwise"], machine) == 0.0
    assert group_loop_cost(nodes["dense"], machine) == 0.0
    KERNEL.set(grouped, "onednn")
    assert group_loop_cost(grouped, machine) == 0.0


RESHAPES = """
dfg.graph @reshapes(%x: tensor<1x6x4x4xf32>, %p: tensor<1x2x3x4x4xf32>)
    -> (tensor<1x2x3x4x4xf32>, tensor<1x6x4x4xf32>, tensor<1x6x2x2x4xf32>,
        tensor<2x3x4x4xf32>, tensor<1x6x16xf32>) {
  %s5 = dfg.weight "s5" dense<[1, 2, 3, 4, 4]> : tensor<5xi64> : tensor<5xi64>
  %s4 = dfg.weight "s4" dense<[1, 6, 4, 4]> : tensor<4xi64> : tensor<4xi64>
  %h5 = dfg.weight "h5" dense<[1, 6, 2, 2, 4]> : tensor<5xi64> : tensor<5xi64>
  %b4 = dfg.weight "b4" dense<[2, 3, 4, 4]> : tensor<4xi64> : tensor<4xi64>
  %f3 = dfg.weight "f3" dense<[1, 6, 16]> : tensor<3xi64> : tensor<3xi64>
  %split = dfg.node "Reshape"(%x, %s5) opset 17
      : (tensor<1x6x4x4xf32>, tensor<5xi64>) -> tensor<1x2x3x4x4xf32>
  %merge = dfg.node "Reshape"(%p, %s4) opset 17
      : (tensor<1x2x3x4x4xf32>, tensor<4xi64>) -> tensor<1x6x4x4xf32>
  %rows = dfg.node "Reshape"(%x, %h5) opset 17
      : (tensor<1x6x4x4xf32>, tensor<5xi64>) -> tensor<1x6x2x2x4xf32>
  %batch = dfg.node "Reshape"(%p, %b4) opset 17
      : (tensor<1x2x3x4x4xf32>, tensor<4xi64>) -> tensor<2x3x4x4xf32>
  %flat = dfg.node "Reshape"(%x, %f3) opset 17
      : (tensor<1x6x4x4xf32>, tensor<3xi64>) -> tensor<1x6x16xf32>
  dfg.output %split, %merge, %rows, %batch, %flat : tensor<1x2x3x4x4xf32>, tensor<1x6x4x4xf32>,
      tensor<1x6x2x2x4xf32>, tensor<2x3x4x4xf32>, tensor<1x6x16xf32>
}
"""


def test_channel_reshapes_are_layout_members() -> None:
    """
    Splitting an image's channels in two, and merging axes 1 and 2 into an image's
    channels, are members of a region (the ends of a channel shuffle); splitting a
    spatial axis, folding into the batch or flattening are not.
    """
    module = Parser(make_context(), RESHAPES).parse_module()
    reshapes = {
        node.results[0].name_hint: node for node in module.walk() if isinstance(node, dfg.NodeOp)
    }
    assert {name: channel_reshape(node) for name, node in reshapes.items()} == {
        "split": True,
        "merge": True,
        "rows": False,
        "batch": False,
        "flat": False,
    }
    assert layout_kind(reshapes["split"]) == CHANNEL_RESHAPE
    assert layout_kind(reshapes["rows"]) is None
    assert channels_last_ratio(CHANNEL_RESHAPE, default_machine()) == 1.0


def test_region_gain_charges_conversions_at_the_conversion_rate(
    nodes: dict[str, dfg.NodeOp],
) -> None:
    """
    Each image crossing the region's edge costs a read and a write at the measured
    conversion rate (a transposing copy), or at the memory bandwidth for a machine
    model calibrated before that rate was part of it.
    """
    (region,) = layout_regions(nodes.values())
    machine = default_machine()
    crossing = sum(2.0 * nbytes(value) for value in boundary_values(region))
    slow = dataclasses.replace(machine, conversion_gbps=machine.conversion_gbps / 2)
    assert region_gain(region, machine) - region_gain(region, slow) == pytest.approx(
        crossing / (machine.conversion_gbps * 1e3)
    )
    older = dataclasses.replace(machine, conversion_gbps=0.0)
    assert older.layout_conversion_gbps == machine.memory_gbps
    assert region_gain(region, older) > region_gain(region, machine)
