"""
Which kernel runs a convolution: PyTorch's own choice, or oneDNN with pre-packed weights.

`F.conv2d` picks its algorithm per call: oneDNN for most large convolutions, but with
the weight reordered into oneDNN's blocked format on every call, and otherwise an
im2col and matrix-product kernel (`_slow_conv2d_forward`), which on a CPU with AVX-512
but an AMD vendor string runs MKL's AVX2 code at half oneDNN's rate. Calling oneDNN
directly (`torch.ops.mkldnn._convolution_pointwise`) with the weight packed once at
load time gets its full rate at a fixed cost of about 19 us a call, measured as
the machine model's `onednn_conv` kind. `choose_kernel` decides per node from the
machine model: oneDNN wherever PyTorch would run it anyway (packing only removes
work), and elsewhere where its rate saves more than its call costs. A grouped
convolution's `F.conv2d` estimate includes PyTorch's loop over the groups
(`layout.group_loop_cost`).

A 1x1 convolution of channels-last images is a matrix product over the pixels: the
NHWC image viewed as (pixels, channels) times the weight. oneDNN's matrix product
(`torch.ops.mkldnn._linear_pointwise`, packed weights) runs it at the same rate as
its convolution but with a cheaper call (5 to 6 us less per call, measured on
MobileNet's and Inception's 1x1 shapes), so such a convolution may take that kernel
instead (`onednn_linear`, its own machine model kind). Or it runs as `F.linear` on
that view (`linear`, costed as the `matmul` kind): MKL's matrix product, whose call
costs a few microseconds where oneDNN's costs 13 to 40 (the primitive descriptor is
built on every call). MKL's product is slow when the output has one SIMD vector of
channels or fewer (8 channels with AVX2: 6 to 20 GFLOP/s against oneDNN's 35 to 70),
so it is a candidate from two vectors of output channels up (`matmul_candidate`).

A classifier's Gemm at a small batch streams its weight once per call: on more than
one intra-op thread oneDNN's matrix product with the weight packed reads it faster
than `F.linear` (MKL) from a weight of about 1.5 MiB up, and slower below
(`gemm_on_onednn`, `MIN_GEMM_WEIGHT_BYTES`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.ir import Operation

from ramiel_mlir.analysis.cost_model import (
    DEPTHWISE_KIND,
    KERNEL_KINDS,
    LINEAR,
    ONEDNN,
    ONEDNN_KIND,
    ONEDNN_LINEAR,
    activation_pass_cost,
    aten_runs_onednn,
    conv_ints,
    f32_shape,
    flops_cost,
    is_depthwise,
    linear_passes_cost,
    nbytes,
    node_work,
    vector_amount,
)
from ramiel_mlir.analysis.layout import (
    CHANNELS_LAST,
    group_loop_cost,
    is_conv,
    is_image,
    layout_cost,
    node_layout,
)
from ramiel_mlir.analysis.machine import Machine
from ramiel_mlir.dialects.annotations import KERNEL, THREADS
from ramiel_mlir.dialects.dfg import DEFAULT_DOMAIN, ClusterOp, NodeOp, NoneOp, WeightOp


def onednn_candidate(node: NodeOp) -> bool:
    """
    Whether `node` can run on oneDNN with packed weights: a 2-D float32 convolution
    of static shapes whose weight (and bias) are constants, with explicit symmetric
    pads, and no Z input.
    """
    if not is_conv(node) or len(node.inputs) > 3 or len(node.outputs) != 1:
        return False
    x, w = f32_shape(node.inputs[0]), f32_shape(node.inputs[1])
    if x is None or w is None or len(x) != 4 or f32_shape(node.outputs[0]) is None:
        return False
    if not all(isinstance(v.owner, WeightOp) for v in node.inputs[1:]):
        return False
    auto_pad = node.onnx_attrs.get("auto_pad")
    if auto_pad is not None and getattr(auto_pad, "data", "NOTSET") != "NOTSET":
        return False
    pads = conv_ints(node, "pads", [0, 0, 0, 0])
    return pads[:2] == pads[2:]


def linear_candidate(node: NodeOp) -> bool:
    """
    Whether `node` can run as oneDNN's matrix product over its pixels: a oneDNN
    candidate with a 1x1 kernel, unit strides, no pads and one group, whose images
    are channels-last (so that the NHWC view of its input is a plain matrix).
    """
    if not onednn_candidate(node) or node_layout(node) != CHANNELS_LAST:
        return False
    weight = f32_shape(node.inputs[1])
    assert weight is not None
    return (
        weight[2:] == (1, 1)
        and conv_ints(node, "strides", [1, 1]) == [1, 1]
        and conv_ints(node, "pads", [0, 0, 0, 0]) == [0, 0, 0, 0]
        and conv_ints(node, "group", [1]) == [1]
    )


def matmul_candidate(node: NodeOp, machine: Machine) -> bool:
    """
    Whether `node` can run as `F.linear` over its pixels at MKL's full rate: a
    `linear_candidate` with at least two SIMD vectors of output channels (measured on
    AVX2, 400 to 6,400 pixels, 8 to 64 input channels: 8 output channels run at 6 to
    20 GFLOP/s, 16 and more at 35 to 90, oneDNN's kernel rate).
    """
    if not linear_candidate(node):
        return False
    weight = f32_shape(node.inputs[1])
    assert weight is not None
    return weight[0] >= 2 * (machine.vector_floats or 8)


MIN_GEMM_WEIGHT_BYTES = 1_310_720
"""
The least weight (1.25 MiB) for which a Gemm planned on two or more threads runs on
oneDNN. Measured on 2 threads, a batch-1 Gemm with cold caches (as in a model, whose
other weights pass through the cache between calls), packed oneDNN against
`F.linear`, over 2 x 200 calls: 1.46 MiB (384 -> 1000) 0.75x and 0.65x, 1.95 MiB
(512 -> 1000) 0.69x and 0.79x, 4 MiB (2048 -> 512, 4096 -> 256) 0.61x to 0.73x,
4.9 MiB (1280 -> 1000) 0.56x and 0.70x; 1 MiB (256 -> 1000, 1024 -> 256) 1.07x to
1.75x, 0.5 MiB 1.11x to 1.77x. On one thread the ratio wanders (0.81x to 1.20x), so
one-thread plans keep `F.linear`.
"""


def gemm_candidate(node: NodeOp) -> bool:
    """
    Whether a Gemm can run as oneDNN's matrix product with packed weights: A a float32
    matrix of static shape, not transposed; B a constant float32 matrix; C absent or a
    constant vector of the output's columns; alpha and beta 1.
    """
    if node.op_type.data != "Gemm" or node.onnx_domain != DEFAULT_DOMAIN:
        return False
    a, b, y = (f32_shape(v) for v in (node.inputs[0], node.inputs[1], node.outputs[0]))
    if a is None or b is None or y is None or len(a) != 2 or len(b) != 2:
        return False
    if node.int_attr("transA", 0) or node.number_attr("alpha", 1.0) != 1.0:
        return False
    if not isinstance(node.inputs[1].owner, WeightOp):
        return False
    if len(node.inputs) < 3 or isinstance(node.inputs[2].owner, NoneOp):
        return True
    bias = node.inputs[2]
    return (
        isinstance(bias.owner, WeightOp)
        and f32_shape(bias) == y[1:]
        and node.number_attr("beta", 1.0) == 1.0
    )


def gemm_on_onednn(node: NodeOp) -> bool:
    """
    Whether `node`, a Gemm, runs on oneDNN with packed weights: a `gemm_candidate`
    planned on two or more intra-op threads (`planned_threads`) whose weight is
    `MIN_GEMM_WEIGHT_BYTES` or more.
    """
    return (
        gemm_candidate(node)
        and planned_threads(node) >= 2
        and nbytes(node.inputs[1]) >= MIN_GEMM_WEIGHT_BYTES
    )


@dataclass(frozen=True)
class KernelChoice:
    """A convolution's kernel, and the estimates (us) it was chosen from."""

    kernel: str | None
    """The `dfg.kernel`: `onednn`, `onednn_linear` or `linear` (None: `F.conv2d`)."""
    forced: bool
    """`F.conv2d` would run oneDNN itself (and reorder the weight on every call)."""
    aten_us: float
    kernel_us: float
    """The estimate of the cheapest kernel other than `F.conv2d`."""


def planned_threads(node: NodeOp) -> int:
    """
    The intra-op threads `merge-clusters` planned for `node`: its own `dfg.threads`,
    else its lane's (`dfg.cluster` `threads`), else one (not planned yet).
    """
    planned = thread_plan(node)
    return 1 if planned is None else planned


def thread_plan(op: Operation) -> int | None:
    """
    The intra-op thread count `op` runs on in the generated code: the `dfg.threads` of
    `op` or of the nearest loop or if around it, else the `threads` of its lane
    (`dfg.cluster`); None where no plan says (the caller's count).
    """
    current: Operation | None = op
    while current is not None:
        own = THREADS.get(current)
        if own is not None:
            return own
        if isinstance(current, ClusterOp):
            return None if current.threads is None else current.threads.value.data
        current = current.parent_op()
    return None


def choose_kernel(node: NodeOp, machine: Machine) -> KernelChoice | None:
    """
    A kernel or `F.conv2d` for `node` on `machine` (None: not a candidate, or the
    machine model has no `onednn_conv` kind): the cheapest of packed oneDNN's
    convolution and (for a `linear_candidate`) its matrix product and `F.linear`,
    wherever PyTorch would pick oneDNN itself at the node's `planned_threads` (on more
    than one thread it picks oneDNN for all but the smallest convolutions), else where
    its estimate is below `F.conv2d`'s. The estimates are those of the planned thread
    count: on one thread, or (planned on more) on the machine's cores, where oneDNN
    scales better than the matrix-product path. `node` carries no `dfg.kernel` yet
    (its cost model estimate is then the `F.conv2d` one).
    """
    if not onednn_candidate(node) or ONEDNN_KIND not in machine.rates:
        return None
    threads = planned_threads(node)
    threaded = threads > 1 and bool(machine.threaded_rates)
    cheapest, kernel = _cheapest_kernel(node, machine, threaded=threaded)
    aten = flops_cost(node, machine, threaded=threaded) + activation_pass_cost(node, machine)
    if not threaded:
        aten += group_loop_cost(node, machine)
    forced = aten_runs_onednn(node, threads)
    chosen = kernel if forced or cheapest < aten else None
    return KernelChoice(chosen, forced, aten, cheapest)


def _cheapest_kernel(
    node: NodeOp, machine: Machine, *, threaded: bool = False
) -> tuple[float, str]:
    """
    The cheapest kernel other than `F.conv2d` for a candidate `node` on one thread (or,
    with `threaded`, on the machine's cores), and its estimate: oneDNN's convolution,
    or (for a `linear_candidate`) its matrix product or `F.linear`.
    """
    onednn = kernel_cost(node, machine, threaded=threaded) + stray_layout_cost(node, machine)
    options = [(onednn, ONEDNN)]
    if linear_candidate(node) and ONEDNN_LINEAR in machine.rates:
        linear = kernel_cost(node, machine, kind=ONEDNN_LINEAR, threaded=threaded)
        options.append((linear, ONEDNN_LINEAR))
    if matmul_candidate(node, machine):
        mkl = kernel_cost(node, machine, kind=KERNEL_KINDS[LINEAR], threaded=threaded)
        options.append((mkl + linear_passes_cost(node, machine), LINEAR))
    return min(options)


def stray_layout_cost(node: NodeOp, machine: Machine) -> float:
    """
    What oneDNN's packed convolution costs a contiguous node beyond its kernel: PyTorch
    writes the result channels-last (it picks the format from the packed weight's
    strides), and that image is converted on its way, to a contiguous reader or to the
    graph's output at the latest: one read and write of it at the conversion rate. A
    node that reads such a result already gets its image channels-last (and writes it
    so on any kernel): nothing more to pay.
    """
    result = node.outputs[0]
    if node_layout(node) is not None or not is_image(result):
        return 0.0
    if writes_stray_channels_last(node.inputs[0].owner):
        return 0.0
    return 2.0 * nbytes(result) / (machine.layout_conversion_gbps * 1e3)


def writes_stray_channels_last(op: object) -> bool:
    """
    Whether `op` is a contiguous node that writes its image channels-last anyway: a
    convolution on oneDNN with its weight packed (PyTorch picks the result's format
    from the packed weight's strides).
    """
    return isinstance(op, NodeOp) and KERNEL.get(op) == ONEDNN and node_layout(op) is None


def stray_conversions_cost(region: Sequence[NodeOp], machine: Machine) -> float:
    """
    What a layout region pays when kept contiguous beyond its nodes' estimates: each
    convolution `choose_kernel` would put on oneDNN there writes channels-last
    (`stray_layout_cost`), and the first of each chain of them has its result converted
    on the way. `assign-layout` adds it to the region's channels-last gain.
    """
    packed = {node for node in region if _packed_if_contiguous(node, machine)}
    return math.fsum(
        stray_layout_cost(node, machine) for node in packed if node.inputs[0].owner not in packed
    )


def _packed_if_contiguous(node: NodeOp, machine: Machine) -> bool:
    """Whether `choose_kernel` puts `node`, as it stands, on oneDNN's convolution."""
    choice = choose_kernel(node, machine)
    return choice is not None and choice.kernel == ONEDNN


def kernel_cost(
    node: NodeOp, machine: Machine, *, kind: str = ONEDNN_KIND, threaded: bool = False
) -> float:
    """
    The node's estimated time (us) as one call of `kind` (a packed oneDNN convolution
    by default), on one thread or, with `threaded`, on all the machine's cores.
    """
    if is_depthwise(node) and DEPTHWISE_KIND in machine.rates:
        kind = DEPTHWISE_KIND
    work = vector_amount(node_work(node), machine)
    rates = machine.threaded_rates if threaded and machine.threaded_rates else machine.rates
    overhead = machine.overheads[kind]
    if threaded:
        overhead += machine.threaded_overheads.get(kind, 0.0)
    return overhead + work / (rates[kind] * 1e3)


def threaded_cost(node: Operation, machine: Machine, cores: int) -> float:
    """
    The node's estimate (us) on `cores` intra-op threads, with the kernel it runs there.
    A convolution left on `F.conv2d` that PyTorch would run on oneDNN at that thread
    count (reordering its weight on every call) gets another kernel from
    `prepack-weights` once `merge-clusters` plans it there, so it is costed at the
    cheapest of them (the `pointwise_conv` team wake-up is measured below that size,
    where torch keeps its matrix-product path on every thread count).
    """
    cost = layout_cost(node, machine, threaded=True)
    if (
        cores < 2
        or not isinstance(node, NodeOp)
        or KERNEL.get(node) is not None
        or not onednn_candidate(node)
        or ONEDNN_KIND not in machine.rates
        or not aten_runs_onednn(node, cores)
    ):
        return cost
    cheapest, _ = _cheapest_kernel(node, machine, threaded=True)
    return cheapest
