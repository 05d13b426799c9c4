"""
Memory formats of 4-D activations: which nodes can run in channels-last, in which
regions, and what a region gains from it.

A node whose output is an image (a rank-4 float tensor) and whose PyTorch kernel
keeps its input's memory format (convolution, pooling, elementwise arithmetic,
concatenation along channels ...) can run on `torch.channels_last` tensors and then
produces them. Such nodes joined by image edges form a *region*; a region runs in
one format, and values are converted only where they enter or leave it.
`assign-layout` records the choice as the node attribute `dfg.layout`, which the
lowering reads (`backend/lowering.py`).

The estimate of what channels-last gains is measured, per kind of node, by the
machine calibration (`machine.measure_channels_last`: channels-last time /
contiguous time, one intra-op thread, batch 1); `tools/layout_costs.py` prints the
same measurements as a table. `CHANNELS_LAST_RATIO` holds the development
machine's figures, for a machine model calibrated before the ratios were part of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from xdsl.dialects.builtin import AnyFloat, StringAttr, TensorType
from xdsl.ir import Operation, SSAValue

from ramiel_mlir.analysis.cost_model import (
    LINEAR,
    ONEDNN_LINEAR,
    aten_runs_onednn,
    conv_ints,
    flops_cost,
    is_depthwise,
    linear_passes_cost,
    nbytes,
)
from ramiel_mlir.analysis.machine import Machine
from ramiel_mlir.dialects.annotations import KERNEL
from ramiel_mlir.dialects.dfg import DEFAULT_DOMAIN, NodeOp, WeightOp
from ramiel_mlir.onnx.contrib import FUSED_CONV, MS_DOMAIN
from ramiel_mlir.weights import weight_value

LAYOUT_ATTR = "dfg.layout"
"""The node attribute that names the memory format of a node's image results."""

CHANNELS_LAST = "channels_last"
"""The value of `dfg.layout` for NHWC storage; no attribute means contiguous (NCHW)."""

POINTWISE = frozenset(
    "Relu LeakyRelu Clip Sigmoid HardSigmoid HardSwish Tanh Elu Selu PRelu "
    "Add Sub Mul Div Sum Max Min Dropout Identity".split()
)
"""Elementwise ops: torch gives their result the memory format of their image inputs."""

SPATIAL = frozenset(
    "Conv MaxPool AveragePool GlobalAveragePool GlobalMaxPool BatchNormalization LRN".split()
)
"""Image ops whose PyTorch kernels (or runtime functions) have channels-last implementations."""

SPATIAL_REDUCTIONS = frozenset({"ReduceMean", "ReduceMax"})
"""
Reductions that are a global pool when they reduce an image's two spatial axes and keep
them (`x.mean([2, 3], keepdim=True)`, how exporters write adaptive average pooling to
1x1): torch reduces a channels-last image without converting it.
"""

CHANNELS_LAST_RATIO = {
    "conv": 0.87,
    "pointwise_conv": 1.0,
    "depthwise_conv": 0.64,
    "max_pool": 0.05,
    "avg_pool": 0.05,
    "global_pool": 1.09,
    "norm": 1.6,
    "concat": 0.7,
    "pointwise": 1.08,
    "lrn": 1.02,
    "split": 1.0,
}
"""
Kind -> channels-last time / contiguous time of one node (tools/layout_costs.py,
one intra-op thread, batch 1, typical CNN sizes; see docs/passes.md), measured on the
development machine: the ratios of a machine model calibrated before they were part
of it (`Machine.channels_last_ratios`). A Split along the channels makes views, the
same in both formats.
"""


CHANNEL_RESHAPE = "channel_reshape"
"""
The layout kind of a Reshape that splits an image's channel axis or merges two axes
into one (`channel_reshape`), and of a channel shuffle (`shuffle_groups`): the same work
in either format, so it has no ratio.
"""


def channels_last_ratio(kind: str, machine: Machine) -> float:
    """The machine model's channels-last ratio of `kind`, else `CHANNELS_LAST_RATIO`'s."""
    if kind == CHANNEL_RESHAPE:
        return 1.0
    return machine.channels_last_ratios.get(kind, CHANNELS_LAST_RATIO[kind])


def _static_shape(value: SSAValue) -> tuple[int, ...] | None:
    """The static shape of a float tensor value (None: another type, or `?` sizes)."""
    value_type = value.type
    if (
        not isinstance(value_type, TensorType)
        or not value_type.has_static_shape()
        or not isinstance(value_type.element_type, AnyFloat)
    ):
        return None
    return value_type.get_shape()


def is_image(value: SSAValue) -> bool:
    """Whether `value` is a static rank-4 float tensor."""
    shape = _static_shape(value)
    return shape is not None and len(shape) == 4


def _standard_op_type(node: NodeOp) -> str | None:
    """The node's default-domain op type; a FusedConv counts as its Conv (None: other domains)."""
    if (node.onnx_domain, node.op_type.data) == (MS_DOMAIN, FUSED_CONV):
        return "Conv"  # the activation after it is elementwise
    return node.op_type.data if node.onnx_domain == DEFAULT_DOMAIN else None


def channel_reshape(node: NodeOp) -> bool:
    """
    Whether `node` is a Reshape that splits an image's channels in two, (N, C, H, W) ->
    (N, G, C/G, H, W), or merges axes 1 and 2 of such a 5-D tensor into an image's
    channels: the two ends of a channel shuffle (ShuffleNet), with a Transpose of the
    two channel axes between them. `Tensor.reshape` splits a channels-last image as a
    view, and the lowering writes a merged image channels-last with the one copy a
    contiguous one costs (`backend/ops/tensor.py`), so in a channels-last region
    neither converts its image: a shuffle costs one copy instead of three.
    """
    if _standard_op_type(node) != "Reshape" or len(node.outputs) != 1:
        return False
    before, after = _static_shape(node.inputs[0]), _static_shape(node.outputs[0])
    if before is None or after is None:
        return False
    if len(before) == 4 and len(after) == 5:
        image, parts = before, after
    elif len(before) == 5 and len(after) == 4:
        image, parts = after, before
    else:
        return False
    return parts[0] == image[0] and parts[3:] == image[2:] and parts[1] * parts[2] == image[1]


def shuffle_permutation(channels: int, groups: int) -> np.ndarray:
    """
    The channels a shuffle of `groups` groups reads, in output order: output channel
    i * groups + j is input channel j * (channels / groups) + i (ShuffleNet's
    `channel_shuffle`, PyTorch's `torch.channel_shuffle`).
    """
    per_group = channels // groups
    return np.arange(channels).reshape(groups, per_group).T.reshape(-1)


def shuffle_groups(node: NodeOp) -> int | None:
    """
    The group count of a channel shuffle `node` performs, if it is one: a Gather along
    the channels of an image whose constant indices are `shuffle_permutation` for some
    number of groups (`fuse-channel-shuffle` makes them). None for any other node.
    """
    if _standard_op_type(node) != "Gather" or len(node.inputs) != 2:
        return None
    if not is_image(node.inputs[0]) or node.int_attr("axis", 0) not in (1, -3):
        return None
    owner, index_type = node.inputs[1].owner, node.inputs[1].type
    image = _static_shape(node.inputs[0])
    assert image is not None  # an image
    channels = image[1]
    if not isinstance(owner, WeightOp) or not isinstance(index_type, TensorType):
        return None
    if index_type.get_shape() != (channels,) or channels < 4:
        return None  # checked before the indices are read (a blob file, past 16 of them)
    indices = weight_value(owner)
    if not np.issubdtype(indices.dtype, np.integer):
        return None
    per_group = int(indices[1])  # a shuffle's second output channel is input channel C / G
    if not 2 <= per_group < channels or channels % per_group:
        return None
    groups = channels // per_group
    return groups if np.array_equal(indices, shuffle_permutation(channels, groups)) else None


def layout_kind(node: NodeOp) -> str | None:
    """The kind of `node` for `CHANNELS_LAST_RATIO`, None if it cannot run channels-last."""
    op_type = _standard_op_type(node)
    if channel_reshape(node) or shuffle_groups(node) is not None:
        return CHANNEL_RESHAPE
    if op_type is None or not node.outputs or not is_image(node.outputs[0]):
        return None
    if op_type == "Split":  # parts along the channels are views in either format
        channels = node.int_attr("axis", 0) in (1, -3)
        return "split" if channels and all(is_image(part) for part in node.outputs) else None
    if any(result.uses for result in node.outputs[1:]):
        return None  # pooling indices, training statistics
    if op_type in POINTWISE:
        return "pointwise"
    if op_type == "Concat":
        return "concat" if node.int_attr("axis", 0) in (1, -3) else None
    if op_type in SPATIAL_REDUCTIONS:
        return "global_pool" if is_image(node.inputs[0]) and _pools_globally(node) else None
    if op_type not in SPATIAL or not is_image(node.inputs[0]):
        return None
    return _spatial_kind(node, op_type)


def _pools_globally(node: NodeOp) -> bool:
    """Whether a reduction of an image reduces exactly its spatial axes, keeping them."""
    axes = node.ints_attr("axes")
    if axes is None and len(node.inputs) > 1 and isinstance(node.inputs[1].owner, WeightOp):
        axes = [int(a) for a in weight_value(node.inputs[1].owner).reshape(-1)]
    return axes is not None and sorted(a % 4 for a in axes) == [2, 3]


def _spatial_kind(node: NodeOp, op_type: str) -> str:
    """The kind of an image node of `SPATIAL`."""
    match op_type:
        case "Conv":
            if node.int_attr("group", 1) > 1:
                return "depthwise_conv"
            weight_type = node.inputs[1].type
            assert isinstance(weight_type, TensorType)
            return "pointwise_conv" if weight_type.get_shape()[2:] == (1, 1) else "conv"
        case "MaxPool":
            return "max_pool"
        case "AveragePool":
            return "avg_pool"
        case "BatchNormalization":
            return "norm"
        case "LRN":
            return "lrn"
        case _:
            return "global_pool"


def node_layout(node: Operation) -> str | None:
    """The memory format `assign-layout` chose for the node's results (None: contiguous)."""
    attr = node.attributes.get(LAYOUT_ATTR)
    return attr.data if isinstance(attr, StringAttr) else None


def layout_regions(nodes: Iterable[NodeOp]) -> list[list[NodeOp]]:
    """
    The candidate nodes among `nodes`, grouped into regions: two candidates are in one
    region when one reads an image the other produces (union-find, in node order).
    """
    candidates = [node for node in nodes if layout_kind(node) is not None]
    parent: dict[NodeOp, NodeOp] = {node: node for node in candidates}

    def root(node: NodeOp) -> NodeOp:
        while parent[node] is not node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for node in candidates:
        for operand in node.inputs:
            producer = operand.owner
            if isinstance(producer, NodeOp) and producer in parent and is_image(operand):
                parent[root(producer)] = root(node)
    regions: dict[NodeOp, list[NodeOp]] = {}
    for node in candidates:
        regions.setdefault(root(node), []).append(node)
    return list(regions.values())


def boundary_values(region: Sequence[NodeOp]) -> list[SSAValue]:
    """
    The images that cross the region's edge: computed inputs from outside it, and
    results read outside it (a graph output counts as outside).
    """
    inside = set(region)
    crossing: list[SSAValue] = []
    for node in region:
        for operand in node.inputs:
            owner = operand.owner
            if is_image(operand) and not isinstance(owner, WeightOp) and owner not in inside:
                crossing.append(operand)
        for result in node.outputs:
            if is_image(result) and any(use.operation not in inside for use in result.uses):
                crossing.append(result)
    return list(dict.fromkeys(crossing))


def region_gain(region: Sequence[NodeOp], machine: Machine) -> float:
    """
    Microseconds channels-last saves on the region: each node's estimated time times
    (1 - its kind's ratio), less one conversion (a read and a write of the image at
    the machine's measured conversion rate, a transposing copy) per value crossing
    the region's edge.
    """
    saved = 0.0
    for node in region:
        kind = layout_kind(node)
        assert kind is not None
        saved += flops_cost(node, machine) * (1.0 - channels_last_ratio(kind, machine))
    conversions = sum(2.0 * nbytes(value) for value in boundary_values(region))
    return saved - conversions / (machine.layout_conversion_gbps * 1e3)


def layout_cost(node: Operation, machine: Machine, *, threaded: bool = False) -> float:
    """
    `flops_cost` in the memory format `assign-layout` chose: a channels-last node's
    estimate times its kind's `channels_last_ratio`. The machine model's rates are
    measured on contiguous tensors, where pooling runs 20x slower (GoogLeNet's 13
    channels-last max pools: 6.3 ms by the contiguous rate, 0.42 ms profiled).
    """
    cost = flops_cost(node, machine, threaded=threaded)
    if KERNEL.get(node) == LINEAR and isinstance(node, NodeOp):
        return cost + linear_passes_cost(node, machine)  # no layout ratio, as below
    if KERNEL.get(node) == ONEDNN_LINEAR:
        return cost  # a matrix product of the NHWC view: no layout ratio applies
    if not threaded:
        cost += group_loop_cost(node, machine)
    if isinstance(node, NodeOp) and node_layout(node) == CHANNELS_LAST:
        kind = layout_kind(node)
        if kind is not None:
            return cost * channels_last_ratio(kind, machine)
    return cost


def is_conv(node: NodeOp) -> bool:
    """A Conv, or a FusedConv from `fuse-conv-activation`."""
    op_type, domain = node.op_type.data, node.onnx_domain
    return (op_type, domain) in (("Conv", DEFAULT_DOMAIN), (FUSED_CONV, MS_DOMAIN))


def group_loop_cost(node: Operation, machine: Machine) -> float:
    """
    What `F.conv2d` pays beyond its matrix products for a grouped (not depthwise)
    convolution on one thread, where it runs the im2col path (`aten_runs_onednn` false,
    no `dfg.kernel`): a loop over the groups, one kernel call each, after making the
    input contiguous (a transposing copy of a channels-last image) and before
    concatenating the groups' outputs. 0 for any other node. Measured on ShuffleNet's
    4-group 1x1 convolutions (272 channels on 28x28, one thread, AVX2): 512 us by
    `F.conv2d`, 342 us by the matrix-product estimate, 396 us on packed oneDNN; this
    estimate of the loop adds 185 us.
    """
    if (
        not isinstance(node, NodeOp)
        or not is_conv(node)
        or KERNEL.get(node) is not None
        or len(node.inputs) < 2
        or is_depthwise(node)
        or aten_runs_onednn(node)
    ):
        return 0.0
    groups = conv_ints(node, "group", [1])[0]
    if groups < 2:
        return 0.0
    copies = nbytes(node.outputs[0]) / (machine.memory_gbps * 1e3)
    if node_layout(node) == CHANNELS_LAST:
        copies += nbytes(node.inputs[0]) / (machine.layout_conversion_gbps * 1e3)
    return copies + (groups - 1) * machine.overheads.get("pointwise_conv", 0.0)
