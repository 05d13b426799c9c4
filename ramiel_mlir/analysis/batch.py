"""
Batch separability: may a graph run its batch as independent slices?

A graph is *batch separable* when every batch entry of its outputs depends only
on the same entry of its batched inputs. Then the batch can be cut along axis 0
into K slices, the graph run once per slice and the outputs concatenated
(`hypercluster`). `batch_separability` proves it with one rule per operator: it
follows which values carry the batch on axis 0 from the graph inputs to the
outputs, and stops at the first node that mixes batch entries or moves the
batch off axis 0 (a Reshape that folds it into another axis, a reduction over
axis 0, a Concat along it, ...). Nodes none of whose inputs carry the batch are
unbatched: they run once and every slice shares their results, as weights.

The batched inputs are the graph inputs whose axis 0 is the batch: the static
axis 0 of the first tensor input (> 1), which every other input of rank >= 1
with the same axis 0 shares. A constant that an elementwise node combines with a
batched value, of the output's rank and with the batch on axis 0, is batched
too (per-entry data, such as a position embedding expanded over the batch).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Operation, SSAValue

from ramiel_mlir.analysis.graph import graph_nodes
from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.dialects import dfg
from ramiel_mlir.onnx.contrib import FUSED_CONV
from ramiel_mlir.weights import weight_value


@dataclass(frozen=True)
class Separability:
    """What `batch_separability` found for one graph."""

    batch: int
    """The batch size (axis 0 of the batched inputs), 0 if the graph has none."""

    batched: frozenset[SSAValue]
    """The values that carry the batch on axis 0 (inputs and node results)."""

    blocker: Operation | None = None
    """The first node (in program order) that mixes batch entries, if any."""

    reason: str = ""
    """Why the graph is not separable (empty when it is)."""

    factors: Mapping[SSAValue, int] = field(default_factory=dict[SSAValue, int])
    """
    For a batched value whose axis 0 is batch x k (a Reshape folded the next axes
    into it, batch-major: entry b holds rows b·k to b·k + k - 1), that k; else 1.
    """

    def factor(self, value: SSAValue) -> int:
        """The k of a batched value whose axis 0 is batch x k (1 if not folded)."""
        return self.factors.get(value, 1)

    @property
    def separable(self) -> bool:
        """Whether the batch may be split: a batch > 1 and no node mixing its entries."""
        return not self.reason


class _Mixes(Exception):
    """Raised by a rule: the node mixes batch entries (the message says how)."""


ELEMENTWISE = frozenset(
    """Abs Acos Acosh Add And Asin Asinh Atan Atanh BitShift BitwiseAnd BitwiseNot
    BitwiseOr BitwiseXor Cast CastLike Ceil Celu Clip Cos Cosh Div Dropout Elu Equal Erf
    Exp Floor Gelu Greater GreaterOrEqual HardSigmoid HardSwish Identity IsInf IsNaN
    LeakyRelu Less LessOrEqual Log Max Mean Min Mish Mod Mul Neg Not Or PRelu Pow
    QuantizeLinear DequantizeLinear Reciprocal Relu Round Selu Shrink Sigmoid Sign Sin
    Sinh Softplus Softsign Sqrt Sub Sum Tan Tanh ThresholdedRelu Where Xor""".split()
)
"""Operators that compute each output element from the elements at the same
(broadcast) index: batch entries stay apart if axis 0 of the output is the batch."""

SPATIAL = frozenset(
    """AveragePool BatchNormalization Conv ConvTranspose GlobalAveragePool GlobalLpPool
    GlobalMaxPool InstanceNormalization LRN LpPool MaxPool MaxRoiPool""".split()
)
"""Operators over N x C x ... images that treat each of the N entries alone; only their
first input (the image) may carry the batch (weights, scales and means may not)."""

AXIS_NOT_BATCH = frozenset(
    """ArgMax ArgMin Hardmax LogSoftmax Softmax LayerNormalization LpNormalization
    Split Gather GatherElements Concat Compress Flatten""".split()
)
"""Operators along one `axis` attribute, which must not be 0 (the batch)."""


def _constant(value: SSAValue) -> np.ndarray | None:
    """The compile-time value of `value`, if a `dfg.weight` defines it."""
    if not isinstance(value.owner, dfg.WeightOp):
        return None
    return weight_value(value.owner)


def _rank(value: SSAValue) -> int:
    return len(value.type.get_shape()) if isinstance(value.type, TensorType) else -1


def _shape(value: SSAValue) -> list[int]:
    assert isinstance(value.type, TensorType)
    return list(value.type.get_shape())


def _axes(node: dfg.NodeOp, input_index: int, rank: int) -> list[int] | None:
    """Axes from attribute `axes` or from constant input `input_index`, made non-negative."""
    axes = node.ints_attr("axes")
    if axes is None and len(node.inputs) > input_index:
        operand = node.inputs[input_index]
        if not isinstance(operand.owner, dfg.NoneOp):
            constant = _constant(operand)
            if constant is None:
                raise _Mixes("its axes are computed at run time")
            axes = [int(a) for a in constant.reshape(-1)]
    return None if axes is None else [a + rank if a < 0 else a for a in axes]


# -- the rules: each raises _Mixes, or returns normally when the batch stays on axis 0 --


def _broadcasting(node: dfg.NodeOp, batched: Sequence[bool]) -> None:
    """Elementwise with broadcasting: batched operands span the output rank, others not axis 0."""
    out_rank = _rank(node.outputs[0])
    for operand, carries in zip(node.inputs, batched, strict=True):
        rank = _rank(operand)
        if carries and rank != out_rank:
            raise _Mixes(f"a batched input of rank {rank} broadcasts to rank {out_rank}")
        if not carries and rank == out_rank >= 1 and _shape(operand)[0] != 1:
            raise _Mixes("an unbatched input spans axis 0 of the output")


def _first_input_only(node: dfg.NodeOp, batched: Sequence[bool]) -> None:
    """Per-entry operators: only the first input may carry the batch."""
    if any(batched[1:]):
        raise _Mixes("a parameter input (weights, scales, shape) carries the batch")


def _axis_rule(node: dfg.NodeOp, batched: Sequence[bool]) -> None:
    op_type = node.op_type.data
    rank = _rank(node.inputs[0])
    default = -1 if op_type in ("Softmax", "LogSoftmax", "Hardmax", "LayerNormalization") else 0
    if op_type in ("Softmax", "LogSoftmax", "Hardmax") and node.opset.value.data < 13:
        default = 1
    if op_type == "Flatten":
        default = 1
    axis = node.int_attr("axis", default)
    axis = axis + rank if axis < 0 else axis
    if op_type == "Gather" and not batched[0]:
        # An embedding lookup: batched indices select rows of an unbatched table.
        if axis != 0 or _rank(node.inputs[1]) < 1:
            raise _Mixes("batched indices select along an axis of the table other than 0")
        return
    if axis == 0:
        raise _Mixes("it works along axis 0, the batch")
    if op_type == "Concat":
        if not all(batched):
            raise _Mixes("an unbatched input is concatenated to the batch")
        return
    if op_type == "Flatten" and any(d != 1 for d in _shape(node.inputs[0])[1:axis]):
        raise _Mixes(f"flattening at axis {axis} folds the batch into the first axis")
    if op_type == "Gather" and batched[1]:
        raise _Mixes("its indices carry the batch but it gathers along another axis")
    if op_type in ("GatherElements", "Compress") and not all(
        b for b, v in zip(batched, node.inputs, strict=True) if _rank(v) == rank
    ):
        raise _Mixes("its indices do not carry the batch")
    if op_type == "LayerNormalization":
        _first_input_only(node, batched)


def _reduce(node: dfg.NodeOp, batched: Sequence[bool]) -> None:
    _first_input_only(node, batched)
    rank = _rank(node.inputs[0])
    axes = _axes(node, 1, rank)
    if not axes:
        if node.int_attr("noop_with_empty_axes", 0):
            return
        raise _Mixes("it reduces over every axis, the batch included")
    if 0 in axes:
        raise _Mixes("it reduces over axis 0, the batch")


def _squeeze(node: dfg.NodeOp, batched: Sequence[bool]) -> None:
    _first_input_only(node, batched)
    rank = _rank(node.outputs[0] if node.op_type.data == "Unsqueeze" else node.inputs[0])
    axes = _axes(node, 1, rank)
    if axes is None or 0 in axes:
        raise _Mixes("it moves axis 0, the batch")


def _matmul(node: dfg.NodeOp, batched: Sequence[bool]) -> None:
    """
    Batch rows of A (rank 2) or a leading batch axis (rank >= 3) stay independent; the
    one axis of a vector A is contracted.
    """
    out_rank = _rank(node.outputs[0])
    for index, (operand, carries) in enumerate(zip(node.inputs, batched, strict=True)):
        rank = _rank(operand)
        if carries and (rank != out_rank or rank < 2 or (rank < 3 and index != 0)):
            raise _Mixes("the batch axis of an input is contracted or broadcast")
        if not carries and rank == out_rank and rank >= 3 and _shape(operand)[0] != 1:
            raise _Mixes("an unbatched input spans axis 0 of the output")


def _gemm(node: dfg.NodeOp, batched: Sequence[bool]) -> None:
    if not batched[0] or any(batched[1:]) or node.int_attr("transA", 0):
        raise _Mixes("only the rows of A (not transposed) may carry the batch")
    if len(node.inputs) > 2 and _rank(node.inputs[2]) == 2 and _shape(node.inputs[2])[0] != 1:
        raise _Mixes("its bias C spans the batch rows")


def _transpose(node: dfg.NodeOp, batched: Sequence[bool]) -> None:
    perm = node.ints_attr("perm")
    if perm is None or perm[0] != 0:
        raise _Mixes("it moves axis 0, the batch")


def _reshape_like(node: dfg.NodeOp, batched: Sequence[bool]) -> None:
    """Reshape and Expand keep the batch first and whole; their shape is a constant."""
    _first_input_only(node, batched)
    if _constant(node.inputs[1]) is None:
        raise _Mixes("its target shape is computed at run time")


def _expand(node: dfg.NodeOp, batched: Sequence[bool]) -> None:
    """
    Expand broadcasts numpy's way, aligning shapes from the last axis: with more
    output axes than input axes, the input's axis 0 lands on a later one.
    """
    _reshape_like(node, batched)
    if _rank(node.outputs[0]) != _rank(node.inputs[0]):
        raise _Mixes("it adds leading axes, so the batch moves off axis 0")


def _tile(node: dfg.NodeOp, batched: Sequence[bool]) -> None:
    _first_input_only(node, batched)
    repeats = _constant(node.inputs[1])
    if repeats is None or int(repeats.reshape(-1)[0]) != 1:
        raise _Mixes("it repeats along axis 0, the batch")


def _slice(node: dfg.NodeOp, batched: Sequence[bool]) -> None:
    _first_input_only(node, batched)
    axes = _axes(node, 3, _rank(node.inputs[0]))
    if axes is None:  # no axes: the starts count from axis 0
        axes = [0]
    if 0 in axes:
        raise _Mixes("it slices along axis 0, the batch")


def _shape_op(node: dfg.NodeOp, batched: Sequence[bool]) -> None:
    if node.int_attr("start", 0) == 0:
        raise _Mixes("its result holds the batch size")


def _pad(node: dfg.NodeOp, batched: Sequence[bool]) -> None:
    _first_input_only(node, batched)
    rank = _rank(node.inputs[0])
    pads = node.ints_attr("pads")
    if pads is None and len(node.inputs) > 1:
        constant = _constant(node.inputs[1])
        pads = None if constant is None else [int(p) for p in constant.reshape(-1)]
    axes = _axes(node, 3, rank) if node.opset.value.data >= 18 else None
    if pads is None:
        raise _Mixes("its pads are computed at run time")
    axes = axes if axes is not None else list(range(rank))
    count = len(axes)
    if 0 in axes and (pads[axes.index(0)] != 0 or pads[count + axes.index(0)] != 0):
        raise _Mixes("it pads axis 0, the batch")


def _resize(node: dfg.NodeOp, batched: Sequence[bool]) -> None:
    _first_input_only(node, batched)
    sizes = node.inputs[3] if len(node.inputs) > 3 else None
    if sizes is not None and not isinstance(sizes.owner, dfg.NoneOp):
        if _constant(sizes) is None or "axes" in node.onnx_attrs:
            raise _Mixes("its output sizes are computed at run time or name some axes only")
    if _shape(node.inputs[0])[0] != _shape(node.outputs[0])[0]:
        raise _Mixes("it resizes axis 0, the batch")


Rule = Callable[[dfg.NodeOp, Sequence[bool]], None]

RULES: dict[str, Rule] = {
    **dict.fromkeys(ELEMENTWISE, _broadcasting),
    **dict.fromkeys(SPATIAL, _first_input_only),
    **dict.fromkeys(AXIS_NOT_BATCH, _axis_rule),
    **dict.fromkeys(
        """ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean ReduceMin
        ReduceProd ReduceSum ReduceSumSquare""".split(),
        _reduce,
    ),
    "Squeeze": _squeeze,
    "Unsqueeze": _squeeze,
    "MatMul": _matmul,
    "Gemm": _gemm,
    "Transpose": _transpose,
    "Reshape": _reshape_like,
    "Expand": _expand,
    "Tile": _tile,
    "Slice": _slice,
    "Shape": _shape_op,
    "Pad": _pad,
    "Resize": _resize,
    "Upsample": _resize,
    "DepthToSpace": _first_input_only,
    "SpaceToDepth": _first_input_only,
}

"""One rule per operator type (default domain) that may read a batched value."""

CONTRIB_RULES: dict[str, Rule] = {FUSED_CONV: _first_input_only}
"""Rules for the `com.microsoft` operators the compiler's passes create (a FusedConv is a Conv)."""


def graph_batch(graph: dfg.GraphOp) -> int:
    """The batch size: the static axis 0 of the first ranked tensor input (0 if none)."""
    for arg in graph.block.args:
        if isinstance(arg.type, TensorType) and arg.type.get_shape():
            return max(arg.type.get_shape()[0], 0)
    return 0


def _node_mixes(node: Operation, batched: Sequence[bool], rows: int) -> str | None:
    """
    Why `node`, whose inputs carry the batch as `batched` says, mixes batch entries.

    `rows` is the batched inputs' axis 0: the batch, or batch x k where a Reshape
    folded axes into it. A Reshape's output may fold or unfold more (its axis 0 a
    multiple of the batch: row-major, each entry stays a block of whole rows); any
    other node keeps axis 0 as it is.
    """
    op_type = dfg.node_of(node).op_type(node)
    if not isinstance(node, dfg.NodeOp):
        return f"no batch rule for '{op_type}'"
    domain = node.onnx_domain
    rule = RULES.get(op_type) if domain == dfg.DEFAULT_DOMAIN else CONTRIB_RULES.get(op_type)
    if rule is None:
        return f"no batch rule for '{op_type}'"
    if not dfg.is_deterministic(node):
        return "it draws random numbers"
    try:
        rule(node, batched)
    except _Mixes as mixes:
        return str(mixes)
    if op_type == "Shape":
        return None
    for result in node.results:
        if not isinstance(result.type, TensorType) or _rank(result) < 1:
            return "an output has no axis 0 to carry the batch"
        if op_type != "Reshape" and _shape(result)[0] != rows:
            return f"an output does not have the batch ({rows} rows) on axis 0"
    return None


def _per_entry_constants(node: Operation, batch: int) -> list[SSAValue | None]:
    """
    The constant operands of an elementwise node that hold one entry per batch entry.

    A constant of the output's rank whose axis 0 is the batch (say a position
    embedding expanded over the batch, then folded) is batched data: each slice
    reads its own rows (`hypercluster` forks it like an input).
    """
    if not isinstance(node, dfg.NodeOp) or node.op_type.data not in ELEMENTWISE:
        return []
    out_rank = _rank(node.outputs[0])
    return [
        operand
        if isinstance(operand.owner, dfg.WeightOp)
        and _rank(operand) == out_rank >= 1
        and _shape(operand)[0] == batch
        else None
        for operand in node.inputs
    ]


def batch_separability(graph: dfg.GraphOp) -> Separability:
    """
    Which values of `graph` carry the batch on axis 0, and the node that mixes batch entries.

    The batch is known when the first tensor input has a static axis 0 greater than 1.
    """
    batch = graph_batch(graph)
    if batch <= 1:
        first = next((a.type for a in graph.block.args if isinstance(a.type, TensorType)), None)
        reason = (
            "the graph has no batched tensor input"
            if first is None or not first.get_shape()
            else f"the batch size is {first.get_shape()[0]}"
            if first.get_shape()[0] >= 0
            else "the batch size is not known (fix it with --input-shape)"
        )
        return Separability(0, frozenset(), None, reason)
    batched: set[SSAValue] = {
        arg
        for arg in graph.block.args
        if isinstance(arg.type, TensorType)
        and arg.type.get_shape()
        and arg.type.get_shape()[0] == batch
    }
    factors: dict[SSAValue, int] = {}
    for node in graph_nodes(graph):
        operands = list(node.operands)
        carries = [operand in batched for operand in operands]
        if not any(carries):
            continue
        folds = {factors.get(v, 1) for v, c in zip(operands, carries, strict=True) if c}
        fold = folds.pop()
        for index, operand in enumerate(_per_entry_constants(node, batch * fold)):
            if operand is not None:
                carries[index] = True
                batched.add(operand)
                factors[operand] = fold
        reason = _node_mixes(node, carries, batch * fold)
        if folds:
            reason = "its batched inputs fold different axes into axis 0"
        reason = reason or _reshape_fold(node, batch, fold, factors)
        if reason is not None:
            return Separability(batch, frozenset(batched), node, reason, factors)
        if dfg.node_of(node).op_type(node) != "Shape":
            batched.update(node.results)
    return Separability(batch, frozenset(batched), None, "", factors)


def _reshape_fold(
    node: Operation, batch: int, fold: int, factors: dict[SSAValue, int]
) -> str | None:
    """Record the k of the node's outputs (axis 0 is batch x k), or say why a Reshape has none."""
    if dfg.node_of(node).op_type(node) != "Reshape":
        if fold > 1:  # the outputs keep the inputs' axis 0
            factors.update(dict.fromkeys(node.results, fold))
        return None
    rows = _shape(node.results[0])[0]
    if rows < batch or rows % batch:
        return "it folds the batch into another axis"
    if rows > batch:
        factors[node.results[0]] = rows // batch
    return None


def batch_slices(graph: dfg.GraphOp) -> dict[Operation, int] | None:
    """
    The batch slice (hypercluster) each node of a split graph computes: the index
    of the `dfg.fork` slices it depends on. A node that depends on no slice (it
    reads only weights) goes with the lowest slice among its readers, or slice 0. None if
    the graph has no fork; a RamielError if a node reads two slices (only a
    `dfg.join` may).
    """
    forks = [op for op in graph.block.ops if isinstance(op, dfg.ForkOp)]
    if not forks:
        return None
    of_value: dict[SSAValue, int] = {
        part: index for fork in forks for index, part in enumerate(fork.slices)
    }
    nodes = graph_nodes(graph)
    slices: dict[Operation, int] = {}
    for node in nodes:
        found = {of_value[v] for v in node.operands if v in of_value}
        if len(found) > 1:
            raise RamielError(
                f"{dfg.node_of(node).describe(node)} reads batch slices {sorted(found)}"
            )
        if found:
            (index,) = found
            slices[node] = index
            of_value.update(dict.fromkeys(node.results, index))
    for node in reversed(nodes):
        if node not in slices:
            readers = [
                slices[use.operation]
                for result in node.results
                for use in result.uses
                if use.operation in slices
            ]
            slices[node] = min(readers, default=0)
    return slices
