"""
`prepack-weights`: run the convolutions that gain from it on oneDNN with pre-packed weights.

A chosen Conv or FusedConv gets `dfg.kernel = "onednn"`. The generated code then
reorders its weight into oneDNN's blocked format once, when the weights are loaded,
and calls `torch.ops.mkldnn._convolution_pointwise` (with a FusedConv's activation as
a post-op) instead of `F.conv2d`. A 1x1 convolution of channels-last images may get
`dfg.kernel = "onednn_linear"` instead: the same, as oneDNN's matrix product over the
pixels (`torch.ops.mkldnn._linear_pointwise`), whose call is cheaper; or
`dfg.kernel = "linear"`: `F.linear` over the pixels (MKL's matrix product, nothing to
pack), whose call is the cheapest of all.
`analysis/kernels.py` decides per node from the
machine model: packed oneDNN wherever `F.conv2d` would pick oneDNN itself (and
reorder the weight on every call), and elsewhere where oneDNN's rate saves more
than its larger call overhead. The choice is the same on every run of the code, so
lanes and serial code still run the same kernels.

PyTorch's own pick depends on the thread count: on more than one intra-op thread
`F.conv2d` runs oneDNN for all but the smallest convolutions. After `merge-clusters`
the pass sees each node's planned threads (`planned_threads`), and `parallelize` runs
it again there, so that a convolution planned on two threads gets packed weights
instead of a per-call reorder.

A graph that `fuse-onednn-graph` marked keeps its nodes as they are: a trace cannot hold
packed weights, and oneDNN Graph picks its own weight formats when it compiles the lane.

A Gemm (a classifier) planned on two or more threads whose weight is large enough
(`analysis/kernels.py:gemm_on_onednn`) gets `dfg.kernel = "onednn_linear"` too: oneDNN's
matrix product with the weight packed at load time instead of `F.linear`.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from ramiel_mlir.diagnostics import remark
from ramiel_mlir.dialects.annotations import KERNEL, RUNTIME
from ramiel_mlir.dialects.dfg import NodeOp, parent_graph


@dataclass(frozen=True)
class PrepackWeightsPass(ModulePass):
    """
    Mark each 2-D float32 convolution with constant weights that the machine model
    says runs faster on oneDNN with packed weights (`dfg.kernel = "onednn"` or
    `"onednn_linear"`) or as `F.linear` over its pixels (`"linear"`), and each large
    Gemm planned on several threads (`dfg.kernel = "onednn_linear"`).
    """

    name = "prepack-weights"

    machine: str = "auto"
    """The machine model: `auto` (cached calibration), `default` (built in) or a JSON file."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from ramiel_mlir.analysis.cost_model import LINEAR, ONEDNN_LINEAR, nbytes
        from ramiel_mlir.analysis.kernels import (
            choose_kernel,
            gemm_candidate,
            gemm_on_onednn,
            planned_threads,
        )
        from ramiel_mlir.analysis.layout import is_conv
        from ramiel_mlir.analysis.machine import resolve_machine

        machine, _ = resolve_machine(self.machine)
        for node in op.walk():
            if isinstance(node, NodeOp) and RUNTIME.get(parent_graph(node)) is not None:
                continue  # its lane is traced at load (fuse-onednn-graph)
            if isinstance(node, NodeOp) and gemm_candidate(node):
                KERNEL.remove(node)
                if gemm_on_onednn(node):
                    KERNEL.set(node, ONEDNN_LINEAR)
                    remark(
                        "prepack-weights: oneDNN matrix product with packed weights (a "
                        f"{nbytes(node.inputs[1]) / 2**20:.2f} MiB weight, planned on "
                        f"{planned_threads(node)} threads)",
                        node,
                    )
                continue
            if not isinstance(node, NodeOp) or not is_conv(node):
                continue
            KERNEL.remove(node)
            choice = choose_kernel(node, machine)
            if choice is None:
                continue
            if choice.kernel is not None:
                KERNEL.set(node, choice.kernel)
                why = (
                    "F.conv2d would run oneDNN and reorder the weight on every call"
                    if choice.forced
                    else "faster"
                )
                how = {
                    LINEAR: "F.linear over the pixels",
                    ONEDNN_LINEAR: "oneDNN matrix product with packed weights",
                }.get(choice.kernel, "oneDNN convolution with packed weights")
                remark(
                    f"prepack-weights: {how} ({why}; estimated {choice.kernel_us:.1f} us "
                    f"against {choice.aten_us:.1f} us for F.conv2d)",
                    node,
                )
            else:
                remark(
                    f"prepack-weights: F.conv2d (estimated {choice.aten_us:.1f} us against "
                    f"{choice.kernel_us:.1f} us for the next kernel)",
                    node,
                )
