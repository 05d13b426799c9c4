"""
`fold-batchnorm`: fold per-channel affine nodes into the Conv, ConvTranspose or Gemm before them.

An inference BatchNormalization computes `y = s * x + t` per channel, with
`s = scale / sqrt(var + epsilon)` and `t = bias - mean * s`. When `x` is the only
use of a Conv's, ConvTranspose's or Gemm's result, scaling that node's weight by
`s` per output channel and its bias by `s` then adding `t` gives `y` directly: one
node fewer, one pass over the activation fewer. A `Mul` or `Add` of such a result by
a constant that varies only along the channel axis is the same kind of affine map
and folds the same way. Folds chain: `Conv -> BatchNormalization -> Mul -> Add`
becomes one Conv. Where the BatchNormalization stays (after a Concat, as in DenseNet),
the affine nodes after it fold into its scale and bias instead:
`BatchNormalization -> Mul -> Add` becomes one BatchNormalization.

The new weights are computed at compile time in float64 and rounded once to the
weight's element type; large ones go to the blob store, as `fold-constants` does.
The old weights are left for `dce`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import AnyFloat, FloatAttr, ModuleOp, TensorType
from xdsl.ir import Attribute, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint

from ramiel_mlir.dialects.dfg import DEFAULT_DOMAIN, GraphOp, NodeOp, NoneOp, WeightOp
from ramiel_mlir.tensors import dense_from_numpy, numpy_dtype
from ramiel_mlir.transforms.fold_constants import prints_exactly
from ramiel_mlir.weights import INLINE_LIMIT, store_blob, weight_value

PRODUCERS = frozenset({"Conv", "ConvTranspose", "Gemm"})
"""Ops whose output channels are linear in a weight and shifted by a bias."""


@dataclass(frozen=True)
class ChannelAffine:
    """`y[:, c] = scale[c] * x[:, c] + shift[c]`, in float64."""

    scale: np.ndarray
    shift: np.ndarray


def float_tensor(value: SSAValue) -> TensorType[AnyFloat] | None:
    """The type of `value` if it is a static-shaped float tensor."""
    value_type = value.type
    if not isinstance(value_type, TensorType) or not value_type.has_static_shape():
        return None
    if not isinstance(value_type.element_type, AnyFloat):
        return None
    return value_type  # pyright: ignore[reportUnknownVariableType]


def constant(value: SSAValue) -> np.ndarray | None:
    """The data of `value` as float64 if a `dfg.weight` defines it."""
    owner = value.owner
    if not isinstance(owner, WeightOp) or float_tensor(value) is None:
        return None
    return weight_value(owner).astype(np.float64)


def channel_count(value: SSAValue) -> int | None:
    """The static size of axis 1 of a float tensor of rank >= 2."""
    value_type = float_tensor(value)
    if value_type is None or value_type.get_num_dims() < 2:
        return None
    return value_type.get_shape()[1]


def batchnorm_affine(node: NodeOp) -> ChannelAffine | None:
    """The affine map of an inference BatchNormalization with constant statistics."""
    if node.op_type.data != "BatchNormalization" or len(node.inputs) != 5:
        return None
    if any(result.uses for result in node.outputs[1:]):
        return None  # running statistics are read: training mode
    opset = node.opset.value.data
    if opset < 7 and not node.number_attr("is_test", 0):
        return None
    if node.number_attr("training_mode", 0) or not node.number_attr("spatial", 1):
        return None
    channels = channel_count(node.inputs[0])
    params = [constant(operand) for operand in node.inputs[1:]]
    if channels is None or any(p is None or p.shape != (channels,) for p in params):
        return None
    scale, bias, mean, var = (p for p in params if p is not None)
    epsilon = node.number_attr("epsilon", 1e-5)
    factor = scale / np.sqrt(var + np.float64(np.float32(epsilon)))
    return ChannelAffine(factor, bias - mean * factor)


def elementwise_affine(node: NodeOp, x: SSAValue) -> ChannelAffine | None:
    """The affine map of `Mul(x, c)` or `Add(x, c)` with a per-channel constant `c`."""
    op_type = node.op_type.data
    if op_type not in ("Mul", "Add") or len(node.inputs) != 2:
        return None
    if node.outputs[0].type != x.type:
        return None  # broadcasting grows the output
    x_type = float_tensor(x)
    others = [operand for operand in node.inputs if operand is not x]
    c = constant(others[0]) if len(others) == 1 else None
    if x_type is None or x_type.get_num_dims() < 2 or c is None:
        return None
    rank, channels = x_type.get_num_dims(), x_type.get_shape()[1]
    if c.ndim > rank:
        return None
    padded = c.reshape((1,) * (rank - c.ndim) + c.shape)
    if any(size != 1 for axis, size in enumerate(padded.shape) if axis != 1):
        return None
    per_channel = np.broadcast_to(padded.reshape(-1), (channels,))
    if op_type == "Mul":
        return ChannelAffine(per_channel, np.zeros(channels))
    return ChannelAffine(np.ones(channels), per_channel)


def sole_graph_node(value: SSAValue) -> NodeOp | None:
    """
    The default-domain node defining `value` (its first result) at graph level, if
    nothing else reads it (weights live at the graph's top level only).
    """
    owner = value.owner
    if not isinstance(owner, NodeOp) or owner.onnx_domain != DEFAULT_DOMAIN:
        return None
    if value is not owner.outputs[0] or not value.has_one_use():
        return None
    return owner if isinstance(owner.parent_op(), GraphOp) else None


def sole_producer(value: SSAValue) -> NodeOp | None:
    """The Conv, ConvTranspose or Gemm defining `value` at graph level, if nothing else reads it."""
    producer = sole_graph_node(value)
    if producer is None or producer.op_type.data not in PRODUCERS:
        return None
    if producer.op_type.data == "Gemm" and producer.opset.value.data < 7:
        return None  # before opset 7, C broadcasts only with `broadcast=1`
    return producer


def sole_batchnorm(value: SSAValue) -> NodeOp | None:
    """
    The inference BatchNormalization with constant statistics defining `value` at
    graph level, if nothing else reads it.
    """
    batchnorm = sole_graph_node(value)
    if batchnorm is None or batchnorm_affine(batchnorm) is None:
        return None
    return batchnorm


def optional_constant(node: NodeOp, index: int, shape: Sequence[int]) -> np.ndarray | None:
    """Input `index` of `node` as float64, zeros of `shape` if omitted, None if computed."""
    if index >= len(node.inputs) or isinstance(node.inputs[index].owner, NoneOp):
        return np.zeros(tuple(shape))
    return constant(node.inputs[index])


def folded_parameters(
    producer: NodeOp, affine: ChannelAffine
) -> tuple[np.ndarray, np.ndarray] | None:
    """The producer's weight and bias with `affine` applied to its output channels."""
    weight = constant(producer.inputs[1])
    channels = len(affine.scale)
    if weight is None:
        return None
    match producer.op_type.data:
        case "Conv":
            if weight.shape[0] != channels:
                return None
            scaled = weight * affine.scale.reshape((-1,) + (1,) * (weight.ndim - 1))
            bias = optional_constant(producer, 2, (channels,))
            return (scaled, bias * affine.scale + affine.shift) if bias is not None else None
        case "ConvTranspose":
            group = int(producer.number_attr("group", 1))
            if weight.shape[0] % group or group * weight.shape[1] != channels:
                return None
            grouped = weight.reshape((group, weight.shape[0] // group, *weight.shape[1:]))
            spread = affine.scale.reshape((group, 1, weight.shape[1]) + (1,) * (weight.ndim - 2))
            bias = optional_constant(producer, 2, (channels,))
            if bias is None:
                return None
            return (grouped * spread).reshape(weight.shape), bias * affine.scale + affine.shift
        case _:  # Gemm: Y = alpha * A' B' + beta * C, output channels are B's columns
            trans_b = bool(producer.number_attr("transB", 0))
            if weight.ndim != 2 or weight.shape[0 if trans_b else 1] != channels:
                return None
            scaled = weight * (affine.scale[:, None] if trans_b else affine.scale[None, :])
            c = optional_constant(producer, 2, (channels,))
            if c is None:
                return None
            return scaled, c * producer.number_attr("beta", 1.0) * affine.scale + affine.shift


def new_weight(name: str, like: SSAValue, value: np.ndarray) -> WeightOp:
    """A `dfg.weight` of `like`'s element type holding `value` (inline if small)."""
    like_type = like.type
    assert isinstance(like_type, TensorType)
    element_type: Attribute = like_type.element_type  # pyright: ignore[reportUnknownMemberType]
    data = value.astype(numpy_dtype(element_type))
    result_type = TensorType(element_type, data.shape)
    if data.size <= INLINE_LIMIT and prints_exactly(data):
        return WeightOp(name, result_type, value=dense_from_numpy(data, element_type))
    return WeightOp(name, result_type, file=store_blob(data))


def fold_into_producer(
    node: NodeOp, producer: NodeOp, affine: ChannelAffine, rewriter: PatternRewriter
) -> None:
    """Replace `node` and `producer` by one producer with folded weight and bias."""
    parameters = folded_parameters(producer, affine)
    if parameters is None or producer.outputs[0].type != node.outputs[0].type:
        return
    weight, bias = parameters
    name = producer.node_name
    new_w = new_weight(f"{name}_folded_weight", producer.inputs[1], weight)
    new_b = new_weight(f"{name}_folded_bias", producer.inputs[1], bias)
    attrs = producer.onnx_attrs
    if producer.op_type.data == "Gemm":
        attrs["beta"] = FloatAttr(1.0, 32)
    folded = NodeOp(
        producer.op_type.data,
        [producer.inputs[0], new_w.result, new_b.result],
        [producer.outputs[0].type],
        opset=producer.opset.value.data,
        attrs=attrs,
    )
    folded.location = producer.location
    folded.outputs[0].name_hint = node.outputs[0].name_hint
    rewriter.insert_op([new_w, new_b, folded], InsertPoint.before(producer))
    rewriter.replace_op(node, [], [folded.outputs[0], *([None] * (len(node.outputs) - 1))])
    rewriter.erase_op(producer)


def fold_into_batchnorm(
    node: NodeOp, batchnorm: NodeOp, affine: ChannelAffine, rewriter: PatternRewriter
) -> None:
    """
    Replace `node` and `batchnorm` by one BatchNormalization: `a * (s * x + t) + b` is
    `(a * s) * x + (a * t + b)`, so the scale becomes `a * scale` and the bias
    `a * bias + b` (the mean, variance and epsilon stay).
    """
    gamma, beta = constant(batchnorm.inputs[1]), constant(batchnorm.inputs[2])
    if gamma is None or beta is None or batchnorm.outputs[0].type != node.outputs[0].type:
        return
    name = batchnorm.node_name
    new_scale = new_weight(f"{name}_folded_scale", batchnorm.inputs[1], gamma * affine.scale)
    new_bias = new_weight(
        f"{name}_folded_bias", batchnorm.inputs[2], beta * affine.scale + affine.shift
    )
    operands = list(batchnorm.inputs)
    operands[1:3] = [new_scale.result, new_bias.result]
    folded = NodeOp(
        "BatchNormalization",
        operands,
        [result.type for result in batchnorm.outputs],
        opset=batchnorm.opset.value.data,
        attrs=batchnorm.onnx_attrs,
    )
    folded.location = batchnorm.location
    folded.outputs[0].name_hint = node.outputs[0].name_hint
    rewriter.insert_op([new_scale, new_bias, folded], InsertPoint.before(batchnorm))
    rewriter.replace_op(node, [], [folded.outputs[0], *([None] * (len(node.outputs) - 1))])
    rewriter.erase_op(batchnorm)


class FoldChannelAffine(RewritePattern):
    """Fold a BatchNormalization, or a per-channel Mul/Add by a constant, into its producer."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: NodeOp, rewriter: PatternRewriter, /) -> None:
        if op.onnx_domain != DEFAULT_DOMAIN or not op.inputs:
            return
        for x in op.inputs[:2] if op.op_type.data in ("Mul", "Add") else op.inputs[:1]:
            producer, batchnorm = sole_producer(x), sole_batchnorm(x)
            if producer is None and batchnorm is None:
                continue
            affine = batchnorm_affine(op) or elementwise_affine(op, x)
            if affine is None:
                continue
            if producer is not None:
                fold_into_producer(op, producer, affine, rewriter)
            elif batchnorm is not None:
                fold_into_batchnorm(op, batchnorm, affine, rewriter)
            return


@dataclass(frozen=True)
class FoldBatchnormPass(ModulePass):
    """
    Fold inference BatchNormalization, and Mul/Add by per-channel constants, into
    the weights and bias of the Conv, ConvTranspose or Gemm they follow, when that
    node's result has no other reader; and Mul/Add by per-channel constants (or a
    second BatchNormalization) into the scale and bias of an inference
    BatchNormalization they follow, under the same condition. Dead weights are left
    for `dce`.
    """

    name = "fold-batchnorm"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier([FoldChannelAffine()], dce_enabled=False),
        ).rewrite_module(op)
