"""
`fuse-onednn-graph`: run a plan's lanes through oneDNN Graph, compiled at load time.

Eager PyTorch pays 20 to 45 us of bookkeeping around every oneDNN convolution (the
primitive descriptor is made again on each call) and a few microseconds per other op;
on a MobileNet that is more than half of the time. TorchScript's oneDNN Graph fuser
(LLGA) compiles a traced graph into oneDNN partitions once: convolutions with their
activations, additions and poolings fused, and no per-call descriptor. The pass marks
a graph whose plan is one lane (`dfg.runtime = "onednn_graph"`); the generated
`load_model` then traces that lane, compiles it and checks it against the eager lane
on one input (`runtime/onednn_graph.py`). Where the fuser fails, the plain TorchScript
trace (no fusion, no Python between the ops) is tried the same way, and where that
fails too, the lane stays eager.

A plan of several lanes is marked too where no lane waits for another before its last
node (one lane per batch slice: hypercluster, cluster-slices, clone): each lane's nodes
are then traced as one function, a method of their own, on the lanes' thread count.

A one-lane plan on one intra-op thread is marked `dfg.runtime = "torchscript"` instead:
its plain TorchScript trace, no fuser, runs the eager lane's kernels without Python
between them, so its results stay bitwise those of serial code (the contract wherever a
one-lane plan uses no intra-op threads); where prepack-weights packed one of its
convolutions it stays eager.

The pass marks a graph only if every node is an op whose generated code is a fixed
sequence of tensor ops (`TRACEABLE`; shapes, pads, axes and indices constants), so that
a trace records all of it, at least one is a convolution or a matrix product
(`COMPUTE`), and every input and result is a float32 tensor of static shape. It leaves
the graph unchanged otherwise, with a remark that names what stops it. A lane for
oneDNN Graph then runs on one intra-op thread count, the largest merge-clusters planned
for any of its nodes, and its convolutions on plain `F.conv2d` (oneDNN Graph picks its
own weight formats, so prepack-weights does not pack them).
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, TensorType, f32, i64
from xdsl.ir import Attribute
from xdsl.passes import ModulePass

from ramiel_mlir.diagnostics import remark
from ramiel_mlir.dialects.annotations import KERNEL, ONEDNN_GRAPH, RUNTIME, THREADS, TORCHSCRIPT
from ramiel_mlir.dialects.dfg import ClusterOp, GraphOp, NodeOp, NoneOp, RecvOp, WeightOp

TRACEABLE = frozenset(
    {
        "Abs", "Add", "And", "AveragePool", "BatchNormalization", "Cast", "Clip",
        "Concat", "Conv", "ConvTranspose", "Div", "Dropout", "Elu", "Equal", "Erf", "Exp",
        "Flatten", "FusedConv", "Gather", "Gelu", "Gemm", "GlobalAveragePool",
        "GlobalMaxPool", "Greater", "HardSigmoid", "HardSwish", "Identity",
        "LayerNormalization", "LeakyRelu", "Less", "Log", "LRN", "MatMul", "Max",
        "MaxPool", "Min", "Mul", "Neg", "Not", "Or", "Pad", "Pow", "ReduceMean",
        "ReduceSum", "Relu", "Reshape", "Sigmoid", "Slice", "Softmax", "Split", "Sqrt",
        "Squeeze", "Sub", "Sum", "Tanh", "Transpose", "Unsqueeze", "Where",
    }
)  # fmt: skip
"""
Ops whose generated code, with the shapes fixed at compile time, is a fixed sequence
of tensor ops that oneDNN Graph takes or leaves to TorchScript: no Python value read
from a tensor, no control flow, no randomness (a Dropout is the identity here). The
ops of `CONSTANT_OPERANDS` qualify only with constant operands after the first.
"""

CONSTANT_OPERANDS = frozenset(
    {"Clip", "Gather", "Pad", "ReduceMean", "ReduceSum", "Reshape", "Slice", "Split",
     "Squeeze", "Unsqueeze"}
)  # fmt: skip
"""
Ops whose generated code reads their operands after the first (a shape, pads, axes,
indices, bounds) as Python values when they are not constants: a trace would freeze
the values of its example input.
"""

PACKED = frozenset({"onednn", "onednn_linear"})
"""The `dfg.kernel`s of prepack-weights that call oneDNN with packed weights."""

COMPUTE = frozenset({"Conv", "ConvTranspose", "FusedConv", "Gemm", "MatMul"})
"""
The ops that oneDNN Graph builds its partitions around (a convolution or a matrix
product, with the ops after it fused). A graph without one gains nothing from the
compilation and would only pay for it at load.
"""


def _static_f32(t: Attribute) -> bool:
    """Whether `t` is a float32 tensor type of static shape."""
    return isinstance(t, TensorType) and t.element_type == f32 and -1 not in t.get_shape()


def refusal(graph: GraphOp) -> str | None:
    """Why the graph's lanes cannot be compiled by oneDNN Graph (None: they can)."""
    clusters = [op for op in graph.block.ops if isinstance(op, ClusterOp)]
    if not clusters or any(c.threads is None for c in clusters):
        return "needs a plan from merge-clusters"
    types = (*graph.function_type.inputs, *graph.function_type.outputs)
    if not types or not all(_static_f32(t) for t in types):
        return "inputs and outputs must be float32 tensors of static shape"
    if len(clusters) > 1:
        for cluster in clusters:
            why = _independent(cluster)
            if why is not None:
                return why
    nodes = [node for c in clusters for node in c.walk() if isinstance(node, NodeOp)]
    for node in nodes:
        if node.op_type.data not in TRACEABLE:
            return f"{node.op_type.data} node '{node.node_name}' is not in its list of ops"
        if node.op_type.data in CONSTANT_OPERANDS and not all(
            isinstance(operand.owner, WeightOp) for operand in node.inputs[1:]
        ):
            return (
                f"{node.op_type.data} node '{node.node_name}' has an operand after its "
                "first that is not a constant"
            )
    if not any(node.op_type.data in COMPUTE for node in nodes):
        return "no convolution or matrix product to build partitions around"
    return None


def _independent(cluster: ClusterOp) -> str | None:
    """
    Why the nodes of one lane of several cannot be compiled as one piece (None:
    they can): a lane's nodes are traced as one function, so they may wait for no
    other lane, and every value they read from outside it (a batch slice) is a
    float32 tensor of static shape. Hyperclusters with one lane per slice, or several
    slices per lane, qualify. What the lane sends goes after all its nodes: since no
    lane receives before a node, only lane ends (the join) wait for it.
    """
    received: RecvOp | None = None
    for op in cluster.block.ops:
        if isinstance(op, RecvOp):
            received = received or op
        elif isinstance(op, NodeOp):
            if received is not None:
                return (
                    f"lane {cluster.id} has a node after it receives '{received.channel.data}' "
                    f"('{op.node_name}'): its nodes must need nothing from another lane"
                )
            outside = [
                v for v in op.operands
                if v.owner.parent_op() is not cluster and not isinstance(v.owner, WeightOp | NoneOp)
            ]  # fmt: skip
            if not all(_static_f32(v.type) for v in outside):
                return (
                    f"node '{op.node_name}' of lane {cluster.id} reads a value from outside "
                    "it that is not a float32 tensor of static shape"
                )
    return None


def _lane_threads(cluster: ClusterOp) -> int:
    """The lane's count, or the largest count planned for one of its nodes."""
    assert cluster.threads is not None
    counts = [THREADS.get(op) for op in cluster.walk()]
    return max([cluster.threads.value.data, *(c for c in counts if c is not None)])


@dataclass(frozen=True)
class FuseOnednnGraphPass(ModulePass):
    """
    Mark each graph planned as one lane of traceable float32 ops, or as lanes that
    need nothing from each other before their last node, to run those lanes through
    oneDNN Graph (`dfg.runtime = "onednn_graph"`), on one intra-op thread count and
    with no packed weights; a single lane on one thread as its plain TorchScript
    trace (`"torchscript"`).
    """

    name = "fuse-onednn-graph"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for graph in op.walk():
            if not isinstance(graph, GraphOp):
                continue
            why = refusal(graph)
            if why is not None:
                remark(f"fuse-onednn-graph: the lane stays eager: {why}", graph)
                continue
            clusters = [c for c in graph.block.ops if isinstance(c, ClusterOp)]
            # The lane runtime runs every lane on one count (the largest), so each
            # lane is compiled for that count.
            threads = max(_lane_threads(cluster) for cluster in clusters)
            if len(clusters) == 1 and threads == 1:
                self._one_thread(graph, clusters[0])
                continue
            for cluster in clusters:
                cluster.attributes["threads"] = IntegerAttr(threads, i64)
                for node in cluster.walk():
                    THREADS.remove(node)
                    KERNEL.remove(node)
            RUNTIME.set(graph, ONEDNN_GRAPH)
            what = (
                "the lane is"
                if len(clusters) == 1
                else f"the nodes of each of the {len(clusters)} lanes are"
            )
            remark(
                f"fuse-onednn-graph: {what} compiled at load (oneDNN Graph, else TorchScript)",
                graph,
            )

    @staticmethod
    def _one_thread(graph: GraphOp, cluster: ClusterOp) -> None:
        """
        A lane on one thread runs as its plain TorchScript trace: the same kernels as
        the eager lane, so bitwise its results (the contract for plans without intra-op
        threads), without Python between them. A lane with packed convolutions stays
        eager: a trace cannot hold oneDNN's packed weights, and unpacking them would
        change the kernels.
        """
        packed = [
            op for op in cluster.walk() if isinstance(op, NodeOp) and KERNEL.get(op) in PACKED
        ]
        if packed:
            remark(
                "fuse-onednn-graph: the lane stays eager: it runs on one thread, where "
                "only the plain TorchScript trace keeps its results bitwise, and that "
                f"cannot hold the packed weights of node '{packed[0].node_name}'",
                graph,
            )
            return
        RUNTIME.set(graph, TORCHSCRIPT)
        remark("fuse-onednn-graph: the one-thread lane runs as TorchScript at load", graph)
