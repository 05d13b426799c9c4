"""
The analytic (`flops`) cost model: what work a `dfg.node` does, and how long that takes.

`node_work` tells, from the static shapes alone, the kind of work a node does
(see `machine.UNITS`), how much of it (FLOPs of convolutions and matrix products,
window elements of pools, transcendental evaluations ...) and the bytes it reads
and writes. `flops_cost` turns that into microseconds with a calibrated `Machine`:
the call overhead of its kind plus the slower of compute time and memory time (a
roofline). Ops that only move data cost their bytes; views (Reshape, Squeeze ...)
cost only the overhead.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from xdsl.dialects.builtin import Float32Type, TensorType
from xdsl.ir import Attribute, Operation, SSAValue

from ramiel_mlir.analysis.machine import Machine
from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.dialects.annotations import KERNEL
from ramiel_mlir.dialects.dfg import IfOp, LoopOp, NodeOp, is_node, node_of

ONEDNN = "onednn"
"""The `dfg.kernel` of a convolution on oneDNN with pre-packed weights (`analysis/kernels.py`)."""

ONEDNN_KIND = "onednn_conv"
"""The machine model's kind for such a convolution."""

ONEDNN_LINEAR = "onednn_linear"
"""
The `dfg.kernel` of a 1x1 convolution of channels-last images run as oneDNN's matrix
product over the pixels, with pre-packed weights (`analysis/kernels.py`); also the
machine model's kind for it.
"""

LINEAR = "linear"
"""
The `dfg.kernel` of a 1x1 convolution of channels-last images run as `F.linear` over
the pixels (MKL's matrix product; no packing, the cheapest call); costed as `matmul`.
"""

KERNEL_KINDS = {ONEDNN: ONEDNN_KIND, ONEDNN_LINEAR: ONEDNN_LINEAR, LINEAR: "matmul"}
"""A convolution's `dfg.kernel` -> the machine model's kind that costs it."""

DEPTHWISE_KIND = "depthwise_conv"
"""
The machine model's kind for a depthwise convolution: oneDNN runs it (PyTorch's rule
picks oneDNN for every grouped one), bound by memory, at a fraction of a dense one's
FLOP rate.
"""

NEWER_KINDS = {DEPTHWISE_KIND: "conv", ONEDNN_LINEAR: ONEDNN_KIND}
"""Kinds added to the machine model later -> the kind an older model costs them as."""


@dataclass(frozen=True)
class Work:
    """The work of one node: its kind, the amount in that kind's unit, and bytes moved."""

    kind: str
    amount: float = 0.0
    bytes: float = 0.0
    vector: int = 0
    """
    The count the kernel vectorises across, in whole SIMD vectors (a dense
    convolution's output channels per group; 0: none): see `vector_amount`.
    """


def vector_amount(work: Work, machine: Machine) -> float:
    """
    `work.amount` with its vectorised count padded to whole SIMD vectors of the
    machine: a convolution kernel computes output channels a vector at a time, so
    8 of them cost half a vector's work on AVX-512 for nothing (measured 1x1s of
    4, 8, 12 and 24 output channels: oneDNN's rate times 4/16, 8/16, 12/16 and
    24/32 within 10%, F.conv2d's as low or lower).
    """
    if not work.vector or not machine.vector_floats:
        return work.amount
    padded = -(-work.vector // machine.vector_floats) * machine.vector_floats
    return work.amount * padded / work.vector


def numel(value: SSAValue) -> int:
    """
    The element count of a tensor value (0 for a `dfg.none` and an empty tensor),
    with each `?` dimension at `dynamic_bound`.
    """
    t = value.type
    if not isinstance(t, TensorType):
        return 0
    if t.has_static_shape():
        return math.prod(t.get_shape())
    bound = dynamic_bound(value)
    return min(math.prod(bound if d < 0 else d for d in t.get_shape()), DYNAMIC_ELEMENTS)


DYNAMIC_ELEMENTS = 2**32
"""The most elements assumed for a value with `?` dimensions: without a cap, a chain of
values whose `?` dimensions each take the element count of the last (Range, then
ConstantOfShape, then Transpose ...) would grow as a tower of powers, past a float."""


def dynamic_bound(value: SSAValue) -> int:
    """
    The size assumed for each `?` dimension of `value` (a size known only at run
    time): the largest element count among the inputs of the node computing it,
    recursively, at least 1 and at most `DYNAMIC_ELEMENTS`. For the ops whose
    result sizes depend on the data it is an upper bound: NonZero, Compress and
    Unique select from their input's elements, NonMaxSuppression from batches x
    classes x boxes (its scores' count), and what they feed (element-wise ops,
    Gather, Slice ...) is no larger. For a size computed from values (a Range over computed
    bounds) it is only an estimate.
    """
    memo: dict[SSAValue, int] = {}
    pending = [value]
    while pending:
        current = pending[-1]
        owner = current.owner
        inputs = list(owner.operands) if isinstance(owner, Operation) and is_node(owner) else []
        unknown = [
            v
            for v in inputs
            if isinstance(v.type, TensorType) and not v.type.has_static_shape() and v not in memo
        ]
        if unknown:
            pending.extend(unknown)
            continue
        pending.pop()
        counts = [
            math.prod(memo[v] if d < 0 else d for d in v.type.get_shape())
            for v in inputs
            if isinstance(v.type, TensorType)
        ]
        memo[current] = min(max([1, *counts]), DYNAMIC_ELEMENTS)
    return memo[value]


def nbytes(value: SSAValue) -> int:
    """The size in bytes of a tensor value (booleans take a byte)."""
    t = value.type
    if not isinstance(t, TensorType):
        return 0
    width = getattr(t.get_element_type(), "bitwidth", 32)
    return numel(value) * max(1, math.ceil(width / 8))


def shape(value: SSAValue) -> list[int]:
    """The static shape of a tensor value, each `?` dimension at `dynamic_bound`."""
    t = value.type
    if not isinstance(t, TensorType):
        return []
    if t.has_static_shape():
        return list(t.get_shape())
    bound = dynamic_bound(value)
    return [bound if d < 0 else d for d in t.get_shape()]


def _traffic(node: NodeOp) -> float:
    """Every input read once and every output written once."""
    return float(sum(nbytes(v) for v in (*node.inputs, *node.outputs)))


def activation_pass_cost(node: NodeOp, machine: Machine) -> float:
    """
    A FusedConv's activation run after the convolution, in place, as `F.conv2d` and
    `F.linear` need it: one more call and a read and a write of the output (us). oneDNN
    applies it as a post-op instead. 0 for a node without an activation.
    """
    if "activation" not in node.onnx_attrs:
        return 0.0
    return machine.overheads["memory"] + 2.0 * nbytes(node.outputs[0]) / (machine.memory_gbps * 1e3)


def linear_passes_cost(node: NodeOp, machine: Machine) -> float:
    """
    What a 1x1 convolution run as `F.linear` over the pixels (`LINEAR`) costs beyond
    its matrix product, in microseconds: MKL packs the weight on every call (a read and
    a write of it), and a FusedConv's activation is a second pass
    (`activation_pass_cost`); oneDNN's kernels pack the weight once at load time and
    apply the activation as a post-op. Measured on an AVX2 EPYC, 2 threads, cold
    caches: ResNet-50's 2048 -> 512 1x1 on 7x7 (a 4 MiB weight) 952 us as `F.linear`
    against 739 us for packed oneDNN; 1024 -> 512 with ReLU on 14x14 1301 against
    1190. Without these passes the estimates put all its 1x1s on `F.linear`, and
    ResNet-50 ran 7% slower.
    """
    packing = 2.0 * nbytes(node.inputs[1]) / (machine.memory_gbps * 1e3)
    return packing + activation_pass_cost(node, machine)


def int_list(attr: Attribute | None) -> list[int]:
    """An integer or integer-list ONNX attribute as a list ([] if absent)."""
    from ramiel_mlir.onnx.attributes import attr_value

    if attr is None:
        return []
    value = attr_value(attr)
    return [int(v) for v in value] if isinstance(value, list) else [int(value)]  # type: ignore[arg-type]


ATEN_ONEDNN_MIN_ELEMENTS = 20480
"""Above this input size PyTorch runs a batch-1 convolution of kernel up to 3x3 on oneDNN."""


def f32_shape(value: SSAValue) -> tuple[int, ...] | None:
    """The static shape of a float32 tensor value (None for any other value)."""
    value_type = value.type
    if not isinstance(value_type, TensorType) or not value_type.has_static_shape():
        return None
    if not isinstance(value_type.element_type, Float32Type):
        return None
    return tuple(value_type.get_shape())


def conv_ints(node: NodeOp, name: str, default: list[int]) -> list[int]:
    """The node's integer-list attribute `name`, `default` if absent."""
    return int_list(node.onnx_attrs.get(name)) or default


def aten_runs_onednn(node: NodeOp, threads: int = 1) -> bool:
    """
    Whether `F.conv2d` would run the 2-D float32 convolution `node` on oneDNN (with
    the weight reordered on every call), else on its im2col and matrix-product path:
    PyTorch's rule (`ConvParams::use_mkldnn`, aten/src/ATen/native/Convolution.cpp).
    True for a convolution the rule does not cover (other ranks, types, `?` sizes).
    """
    x, w = f32_shape(node.inputs[0]), f32_shape(node.inputs[1])
    if x is None or w is None or len(x) != 4 or len(w) != 4:
        return True
    strided = any(s != 1 for s in conv_ints(node, "strides", [1, 1]))
    dilated = any(d != 1 for d in conv_ints(node, "dilations", [1, 1]))
    group = conv_ints(node, "group", [1])[0]
    pointwise = w[2:] == (1, 1)
    if not (strided or dilated or x[0] >= 16 or not pointwise or threads > 1):
        return False
    return (
        group > 1 or (w[2] > 3 and w[3] > 3) or x[0] > 1 or math.prod(x) > ATEN_ONEDNN_MIN_ELEMENTS
    )


def is_depthwise(node: NodeOp) -> bool:
    """A convolution with one input channel per group, and more than one group."""
    weight = shape(node.inputs[1])
    return len(weight) > 1 and weight[1] == 1 and conv_ints(node, "group", [1])[0] > 1


def _conv(node: NodeOp) -> Work:
    """
    Each output element sums (C / group) x kernel products.

    A 1x1 kernel is its own kind (`pointwise_conv`): torch runs it as a matrix
    product, and a small one is twice as slow on two threads as on one. So is a
    convolution that `F.conv2d` runs on the same im2col and matrix-product path
    rather than on oneDNN (small ones, and 1x7 and 7x1 kernels): at its rate, not
    oneDNN's (a 3x3 16 -> 48 on 20x20 takes 71 us there, the `conv` rate says 30).
    A depthwise convolution has its own kind on either kernel (`DEPTHWISE_KIND`).
    """
    weight = shape(node.inputs[1])
    per_output = math.prod(weight[1:])
    pointwise = all(k == 1 for k in weight[2:])
    kind = "pointwise_conv" if pointwise or not aten_runs_onednn(node) else "conv"
    # prepack-weights chose a packed oneDNN kernel (another value runs the plain call)
    kind = KERNEL_KINDS.get(KERNEL.get(node) or "", kind)
    flops = 2.0 * numel(node.outputs[0]) * per_output
    if is_depthwise(node):
        return Work(DEPTHWISE_KIND, flops, _traffic(node))
    per_group = weight[0] // conv_ints(node, "group", [1])[0]
    return Work(kind, flops, _traffic(node), vector=per_group)


def _conv_transpose(node: NodeOp) -> Work:
    """Each input element is scattered through (M / group) x kernel weights."""
    weight = shape(node.inputs[1])
    per_input = math.prod(weight[1:])
    return Work("conv", 2.0 * numel(node.inputs[0]) * per_input, _traffic(node))


def _gemm(node: NodeOp) -> Work:
    """A matrix product, or oneDNN's packed one where `prepack-weights` chose it."""
    a = shape(node.inputs[0])
    trans_a = int_list(node.onnx_attrs.get("transA")) == [1]
    inner = a[0] if trans_a else a[1]
    kind = KERNEL_KINDS.get(KERNEL.get(node) or "", "matmul")
    return Work(kind, 2.0 * numel(node.outputs[0]) * inner, _traffic(node))


def _matmul(node: NodeOp) -> Work:
    inner = shape(node.inputs[0])[-1]
    return Work("matmul", 2.0 * numel(node.outputs[0]) * inner, _traffic(node))


def _pool(kind: str) -> Callable[[NodeOp], Work]:
    def work(node: NodeOp) -> Work:
        window = math.prod(int_list(node.onnx_attrs.get("kernel_shape")))
        return Work(kind, float(numel(node.outputs[0]) * window), _traffic(node))

    return work


def _lrn(node: NodeOp) -> Work:
    """Each output averages the squares of `size` neighbouring channels."""
    size = int_list(node.onnx_attrs.get("size"))[0]
    return Work("lrn", float(numel(node.outputs[0]) * size), _traffic(node))


def _per_element(kind: str) -> Callable[[NodeOp], Work]:
    def work(node: NodeOp) -> Work:
        return Work(kind, float(numel(node.outputs[0])), _traffic(node))

    return work


def _memory(node: NodeOp) -> Work:
    """Elementwise arithmetic, reductions and data movement: bound by their bytes."""
    traffic = _traffic(node)
    return Work("memory", traffic, traffic)


def _gather(node: NodeOp) -> Work:
    """Reads only the selected rows: as many bytes as it writes, plus the indices."""
    traffic = 2.0 * nbytes(node.outputs[0]) + nbytes(node.inputs[1])
    return Work("memory", traffic, traffic)


def _view(node: NodeOp) -> Work:
    """A view or no-op: no data is touched, only the call is paid."""
    return Work("view")


SPECIAL_OPS = (
    "Acos Acosh Asin Asinh Atan Atanh Cos Cosh Elu Erf Exp Gelu HardSigmoid Log LogSoftmax "
    "Mish Pow Selu Sigmoid Sin Sinh Softmax Softplus Softsign Sqrt Tan Tanh"
).split()
"""Ops that evaluate a transcendental function per element."""

NORM_OPS = "BatchNormalization GroupNormalization InstanceNormalization LayerNormalization".split()
"""Normalisations: a few passes over their input."""

VIEW_OPS = "Dropout Flatten Identity Reshape Shape Size Squeeze Unsqueeze".split()
"""Ops the generated code turns into views or no-ops."""

WORK: dict[str, Callable[[NodeOp], Work]] = {
    "Conv": _conv,
    "FusedConv": _conv,
    "ConvTranspose": _conv_transpose,
    "Gemm": _gemm,
    "MatMul": _matmul,
    "MaxPool": _pool("max_pool"),
    "AveragePool": _pool("avg_pool"),
    "LpPool": _pool("avg_pool"),
    "LRN": _lrn,
    "Gather": _gather,
    **{op: _per_element("special") for op in SPECIAL_OPS},
    **{op: _per_element("norm") for op in NORM_OPS},
    **{op: _view for op in VIEW_OPS},
}
"""Op type -> its work; any other op is memory-bound (`_memory`)."""


def node_work(node: NodeOp) -> Work:
    """The compute and bytes moved by one node, from its static shapes."""
    return WORK.get(node.op_type.data, _memory)(node)


def flops_cost(node: Operation, machine: Machine, *, threaded: bool = False) -> float:
    """
    The estimated time of one node in microseconds (call overhead plus roofline),
    on one intra-op thread or, with `threaded`, on all the machine's cores.
    """
    if isinstance(node, LoopOp):
        return loop_cost(node, machine, threaded=threaded)
    if isinstance(node, IfOp):
        return if_cost(node, machine, threaded=threaded)
    if not isinstance(node, NodeOp):
        raise RamielError(
            f"{node_of(node).describe(node)}: the flops model has no cost for {node.name}"
        )
    work = node_work(node)
    if work.kind in NEWER_KINDS and work.kind not in machine.rates:
        # A model calibrated before the kind: cost it as the kind it was split from.
        work = Work(NEWER_KINDS[work.kind], work.amount, work.bytes)
    rates = machine.threaded_rates if threaded and machine.threaded_rates else machine.rates
    rate = rates.get(work.kind)
    compute = vector_amount(work, machine) / (rate * 1e3) if rate else 0.0
    memory = work.bytes / (machine.memory_gbps * 1e3)
    overhead = machine.overheads.get(work.kind, 0.0)
    if threaded:
        overhead += machine.threaded_overheads.get(work.kind, 0.0)
    return overhead + max(compute, memory)


def loop_cost(loop: LoopOp, machine: Machine, *, threaded: bool = False) -> float:
    """
    A `dfg.loop`'s time: the cost of its body's nodes times its static trip count (the
    scan outputs' length, else a constant trip count), once if the count is unknown.
    """
    body = sum(flops_cost(op, machine, threaded=threaded) for op in loop.block.ops if is_node(op))
    trips = loop.static_trip_count()
    return body * (trips if trips is not None else 1)


def if_cost(op: IfOp, machine: Machine, *, threaded: bool = False) -> float:
    """
    A `dfg.if`'s time: the cost of its dearer branch (which one runs depends on the
    condition's value, so the estimate plans for the longer).
    """
    return max(
        sum(flops_cost(node, machine, threaded=threaded) for node in branch.ops if is_node(node))
        for branch in op.branches
    )
