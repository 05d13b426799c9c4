"""
The ONNX operators the compiler handles: the frontend's check, as data.

The frontend rejects a model with any other operator (naming its node) before
building IR. `ramiel_mlir.backend.ops.LOWERINGS` holds one lowering per name
here (tests/test_layering.py checks that they agree): a new lowering is added in
both places, so that importing an ONNX model never loads the backend.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import onnx

SUPPORTED_OPS = frozenset(
    {
        "Abs",
        "Acos",
        "Acosh",
        "Add",
        "AffineGrid",
        "And",
        "ArgMax",
        "ArgMin",
        "Asin",
        "Asinh",
        "Atan",
        "Atanh",
        "Attention",
        "AveragePool",
        "BatchNormalization",
        "BitCast",
        "BitShift",
        "BitwiseAnd",
        "BitwiseNot",
        "BitwiseOr",
        "BitwiseXor",
        "BlackmanWindow",
        "Cast",
        "CastLike",
        "CausalConvWithState",
        "Ceil",
        "Celu",
        "CenterCropPad",
        "Clip",
        "Col2Im",
        "Compress",
        "Concat",
        "Constant",
        "ConstantOfShape",
        "Conv",
        "ConvInteger",
        "ConvTranspose",
        "Cos",
        "Cosh",
        "CumProd",
        "CumSum",
        "DFT",
        "DepthToSpace",
        "DequantizeLinear",
        "Det",
        "Div",
        "Dropout",
        "DynamicQuantizeLinear",
        "Einsum",
        "Elu",
        "Equal",
        "Erf",
        "Exp",
        "Expand",
        "EyeLike",
        "Flatten",
        "Floor",
        "GRU",
        "Gather",
        "GatherElements",
        "GatherND",
        "Gelu",
        "Gemm",
        "GlobalAveragePool",
        "GlobalMaxPool",
        "Greater",
        "GreaterOrEqual",
        "GridSample",
        "GroupNormalization",
        "HammingWindow",
        "HannWindow",
        "HardSigmoid",
        "HardSwish",
        "Hardmax",
        "Identity",
        "InstanceNormalization",
        "IsInf",
        "IsNaN",
        "LRN",
        "LSTM",
        "LayerNormalization",
        "LeakyRelu",
        "Less",
        "LessOrEqual",
        "Log",
        "LogSoftmax",
        "LpNormalization",
        "LpPool",
        "MatMul",
        "MatMulInteger",
        "Max",
        "MaxPool",
        "MaxUnpool",
        "Mean",
        "Min",
        "Mish",
        "Mod",
        "Mul",
        "Neg",
        "NegativeLogLikelihoodLoss",
        "NonMaxSuppression",
        "NonZero",
        "Not",
        "OneHot",
        "OptionalGetElement",
        "OptionalHasElement",
        "Or",
        "PRelu",
        "Pad",
        "Pow",
        "QLinearMatMul",
        "QuantizeLinear",
        "RMSNormalization",
        "RNN",
        "Range",
        "Reciprocal",
        "ReduceL1",
        "ReduceL2",
        "ReduceLogSum",
        "ReduceLogSumExp",
        "ReduceMax",
        "ReduceMean",
        "ReduceMin",
        "ReduceProd",
        "ReduceSum",
        "ReduceSumSquare",
        "Relu",
        "Reshape",
        "Resize",
        "ReverseSequence",
        "RotaryEmbedding",
        "Round",
        "Scatter",
        "ScatterElements",
        "ScatterND",
        "Selu",
        "Shape",
        "Shrink",
        "Sigmoid",
        "Sign",
        "Sin",
        "Sinh",
        "Size",
        "Slice",
        "Softmax",
        "SoftmaxCrossEntropyLoss",
        "Softplus",
        "Softsign",
        "SpaceToDepth",
        "Split",
        "Sqrt",
        "Squeeze",
        "Sub",
        "Sum",
        "SwiGLU",
        "Swish",
        "Tan",
        "Tanh",
        "TensorScatter",
        "ThresholdedRelu",
        "Tile",
        "TopK",
        "Transpose",
        "Trilu",
        "Unique",
        "Unsqueeze",
        "Upsample",
        "Where",
        "Xor",
    }
)
"""ONNX op types of the default domain that lower to PyTorch (`Loop`, `If` and `Scan`, which
the frontend imports as `dfg.loop` and `dfg.if`, are not listed)."""


CONTROL_FLOW_OPS = frozenset({"If", "Loop", "Scan"})
"""ONNX op types of the default domain with subgraphs that the frontend imports (as a
`dfg.if`, a `dfg.loop`, and a Scan as the equivalent Loop): supported when their
subgraphs' nodes are."""


def is_supported(op_type: str) -> bool:
    """Whether the ONNX op type (default domain) can be lowered to PyTorch."""
    return op_type in SUPPORTED_OPS


@dataclass(frozen=True)
class OpCount:
    """One op type of a model: how often it occurs, where first, and whether it lowers."""

    op_type: str
    domain: str
    """'' for the default ONNX domain."""

    opset: int
    count: int
    nodes: tuple[str, ...]
    """The names of its first nodes (at most `FIRST_NODES`), unnamed ones by first output."""

    supported: bool

    @property
    def qualified(self) -> str:
        """`Conv`, or `com.microsoft::FusedConv` outside the default domain."""
        return f"{self.domain}::{self.op_type}" if self.domain else self.op_type

    def node_list(self) -> str:
        """`2 nodes: 'if_0', 'if_1'` (the first `FIRST_NODES`, then `...`)."""
        names = ", ".join(f"'{name}'" for name in self.nodes)
        more = ", ..." if self.count > len(self.nodes) else ""
        plural = "node" if self.count == 1 else "nodes"
        return f"{self.count} {plural}: {names}{more}"

    def describe(self) -> str:
        """`If (opset 17, 2 nodes: 'if_0', 'if_1')`."""
        return f"{self.qualified} (opset {self.opset}, {self.node_list()})"


FIRST_NODES = 3
"""How many node names an `OpCount` keeps."""


def _default(domain: str) -> str:
    return "" if domain == "ai.onnx" else domain


def _nodes(graph: onnx.GraphProto) -> Iterator[onnx.NodeProto]:
    """The nodes of `graph` and, recursively, of the subgraphs of its Loop, If and Scan nodes."""
    for node in graph.node:
        yield node
        if node.op_type in CONTROL_FLOW_OPS and _default(node.domain) == "":
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    yield from _nodes(attr.g)


def op_histogram(model: onnx.ModelProto) -> list[OpCount]:
    """The op types of `model` (Loop, If and Scan subgraphs included), most frequent first."""
    opsets = {_default(entry.domain): entry.version for entry in model.opset_import}
    found: dict[tuple[str, str], list[str]] = {}
    for node in _nodes(model.graph):
        key = (_default(node.domain), node.op_type)
        found.setdefault(key, []).append(node.name or (node.output[0] if node.output else ""))
    rows = [
        OpCount(
            op_type,
            domain,
            opsets.get(domain, 0),
            len(names),
            tuple(names[:FIRST_NODES]),
            domain == "" and (is_supported(op_type) or op_type in CONTROL_FLOW_OPS),
        )
        for (domain, op_type), names in found.items()
    ]
    return sorted(rows, key=lambda row: (-row.count, row.qualified))
