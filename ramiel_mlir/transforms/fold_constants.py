"""
`fold-constants`: constant propagation over `dfg.graph`.

A deterministic `dfg.node` whose inputs are all constants (`dfg.weight`, or an
omitted optional input) is evaluated at compile time with ONNX's reference
implementation and replaced by `dfg.weight` ops. `Shape` and `Size` are folded
from the static type of their input even when its data is computed, and
`Identity` forwards its operand. Since folded results feed the next node, shape
arithmetic (`Shape -> Gather -> Unsqueeze -> Concat -> Cast -> Reshape`) collapses
into constants. A `dfg.if` whose condition is a constant is replaced by the ops of
the branch it takes. Dead producers are left for `dce`.

This is the only pass that evaluates ONNX nodes (through the ONNX layer's
evaluator, `ramiel_mlir.onnx.evaluate`); `convert-dfg-to-py` runs it in its
`exact` form before lowering, so that the lowering only reads constants.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import prod
from typing import TypeGuard

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import IntegerType, ModuleOp, NoneType, TensorType
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

from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.dialects.dfg import IfOp, IfYieldOp, NodeOp, NoneOp, WeightOp, is_deterministic
from ramiel_mlir.onnx.attributes import to_proto
from ramiel_mlir.onnx.evaluate import SHAPE_ONLY_OPS, EvaluationError
from ramiel_mlir.onnx.evaluate import evaluate as onnx_evaluate
from ramiel_mlir.onnx.evaluate import placeholder as shape_placeholder
from ramiel_mlir.tensors import dense_from_numpy, numpy_dtype
from ramiel_mlir.weights import INLINE_LIMIT, store_blob, weight_value

UNCAPPED_OPS = frozenset({"Constant"})
"""Ops whose result is data the IR already holds: folding them never grows the model."""

DATA_OPS = frozenset(
    {
        "Cast",
        "CastLike",
        "Concat",
        "Constant",
        "ConstantOfShape",
        "Expand",
        "Flatten",
        "Gather",
        "Identity",
        "Reshape",
        "Shape",
        "Size",
        "Slice",
        "Split",
        "Squeeze",
        "Transpose",
        "Unsqueeze",
    }
)
"""Ops that only move or convert elements: computed exactly whatever the element type."""

Inputs = list[np.ndarray | None]
"""Compile-time input values of a node; None for an omitted optional input."""


def is_foldable_type(attr: Attribute) -> bool:
    """
    Whether `attr` is a static tensor type whose elements numpy can hold (a size
    known only at run time, `?`, is never folded: its value is not a constant).
    """
    if not isinstance(attr, TensorType) or not attr.has_static_shape():
        return False
    try:
        numpy_dtype(attr.element_type)
    except KeyError:
        return False
    return True


def placeholder(tensor_type: TensorType) -> np.ndarray:
    """A zero-stride array of the given static type: its shape without its data."""
    return shape_placeholder(tensor_type.get_shape(), numpy_dtype(tensor_type.element_type))


def constant_inputs(node: NodeOp) -> Inputs | None:
    """
    The compile-time values of the node's inputs, None if one is computed.

    A shape-only op sees a placeholder of its input's static type, so that neither
    computed data nor a large weight is needed.
    """
    shape_only = node.op_type.data in SHAPE_ONLY_OPS
    sources: list[WeightOp | NodeOp | TensorType | None] = []
    for operand in node.inputs:
        owner = operand.owner
        if isinstance(owner, NoneOp):
            sources.append(None)
        elif not is_foldable_type(operand.type):
            return None
        elif shape_only:
            assert isinstance(operand.type, TensorType)
            sources.append(operand.type)
        elif isinstance(owner, WeightOp) or is_constant_node(owner):
            sources.append(owner)
        else:
            return None
    # Weights are read only once every input is known to be constant.
    return [materialize(source) for source in sources]


def is_constant_node(op: object) -> TypeGuard[NodeOp]:
    """Whether `op` is an ONNX `Constant` (its value is in its attributes)."""
    return isinstance(op, NodeOp) and op.op_type.data == "Constant" and not op.onnx_domain


def materialize(source: WeightOp | NodeOp | TensorType | None) -> np.ndarray | None:
    """
    The value of a constant input: a weight's data, a Constant node's value (kept
    by `keep-constants`), or a static type's placeholder.
    """
    match source:
        case WeightOp():
            return weight_value(source)
        case NodeOp():
            return evaluate(source, [])[0]
        case TensorType():
            return placeholder(source)
        case None:
            return None


def element_count(attr: Attribute) -> int:
    """The number of elements of a tensor type (0 for `none`)."""
    return prod(attr.get_shape()) if isinstance(attr, TensorType) else 0


def evaluate(node: NodeOp, inputs: Inputs) -> list[np.ndarray]:
    """
    Run the node on `inputs` with the compile-time evaluator, at its opset.

    Raises NotImplementedError if the reference implementation lacks the op and
    RamielError if evaluating it fails.
    """
    op_type, opset, domain = node.op_type.data, node.opset.value.data, node.onnx_domain
    try:
        attributes = [
            to_proto(name, attr, op_type, opset, domain) for name, attr in node.onnx_attrs.items()
        ]
    except ValueError as error:
        raise RamielError(f"node '{node.node_name}' ({op_type}): {error}") from None
    try:
        return onnx_evaluate(op_type, domain, opset, attributes, inputs, len(node.outputs))
    except EvaluationError as error:
        raise RamielError(
            f"node '{node.node_name}' ({op_type}): constant folding failed: {error}"
        ) from None


def folded_weight(node: NodeOp, index: int, value: np.ndarray, blob_dir: str = "") -> WeightOp:
    """
    A `dfg.weight` holding output `index` of `node`, computed as `value`.

    Small values are inline; larger ones (and non-finite floats) go to the blob
    store `blob_dir` ('': the default), never into the IR.
    """
    result = node.outputs[index]
    result_type = result.type
    assert isinstance(result_type, TensorType)
    expected_dtype = numpy_dtype(result_type.element_type)
    expected_shape = tuple(result_type.get_shape())
    if value.shape != expected_shape or value.dtype != expected_dtype:
        raise RamielError(
            f"node '{node.node_name}' ({node.op_type.data}): output #{index} evaluates "
            f"to {value.dtype}{list(value.shape)}, but its type is {result_type}"
        )
    name = result.name_hint or f"{node.node_name}_output_{index}"
    if value.size <= INLINE_LIMIT and prints_exactly(value):
        return WeightOp(name, result_type, value=dense_from_numpy(value, result_type.element_type))
    return WeightOp(name, result_type, file=store_blob(value, blob_dir))


def prints_exactly(value: np.ndarray) -> bool:
    """
    Whether an inline dense attribute survives printing and parsing.

    xDSL prints inf and nan as hex bit patterns but parses those back as numbers,
    so non-finite values go to the blob store instead.
    """
    return not np.issubdtype(value.dtype, np.floating) or bool(np.isfinite(value).all())


def is_exact(node: NodeOp) -> bool:
    """
    Whether the reference implementation computes the node's results exactly, as
    torch would: it only moves or converts elements, or its results are integers
    or booleans.
    """
    if node.op_type.data in DATA_OPS and not node.onnx_domain:
        return True
    return all(
        isinstance(r.type, TensorType) and isinstance(r.type.get_element_type(), IntegerType)
        for r in node.outputs
    )


def fold_node(
    node: NodeOp,
    max_elements: int,
    blob_dir: str = "",
    exact: bool = False,
    keep_constants: bool = False,
) -> list[WeightOp] | None:
    """The weights that replace `node`, None if it cannot or must not be folded."""
    if keep_constants and is_constant_node(node):
        return None
    if not all(is_foldable_type(r.type) or isinstance(r.type, NoneType) for r in node.outputs):
        return None
    if exact and not is_exact(node):
        return None
    op_type = node.op_type.data
    if op_type not in UNCAPPED_OPS and any(
        element_count(r.type) > max_elements for r in node.outputs
    ):
        return None
    if not is_deterministic(node):
        return None
    inputs = constant_inputs(node)
    if inputs is None:
        return None
    try:
        values = evaluate(node, inputs)
    except NotImplementedError:  # no reference implementation: leave the node be
        return None
    return [
        folded_weight(node, index, value, blob_dir)
        for index, (result, value) in enumerate(zip(node.outputs, values, strict=True))
        if isinstance(result.type, TensorType)
    ]


def replacement_results(node: NodeOp, weights: Sequence[WeightOp]) -> list[SSAValue | None]:
    """One new value per node result: the weight, or None for an unused `none` result."""
    produced = iter(weights)
    return [
        next(produced).result if isinstance(result.type, TensorType) else None
        for result in node.outputs
    ]


class ForwardIdentity(RewritePattern):
    """`Identity(x)` is `x`."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: NodeOp, rewriter: PatternRewriter, /) -> None:
        if op.op_type.data != "Identity" or op.onnx_domain or len(op.inputs) != 1:
            return
        (operand,) = op.inputs
        if operand.type != op.outputs[0].type:
            return
        rewriter.replace(op, [], [operand])


class InlineConstantIf(RewritePattern):
    """A `dfg.if` whose condition is a constant is the branch it takes, inlined."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: IfOp, rewriter: PatternRewriter, /) -> None:
        owner = op.condition.owner
        if not isinstance(owner, WeightOp) and not is_constant_node(owner):
            return
        condition = materialize(owner)
        assert condition is not None  # a weight or a Constant node
        assert condition.size == 1  # verified: a one-element tensor<i1>
        taken = op.branches[0] if bool(condition.reshape(-1)[0]) else op.branches[1]
        terminator = taken.last_op
        assert isinstance(terminator, IfYieldOp)  # verified
        results = list(terminator.values)
        rewriter.erase_op(terminator)
        rewriter.inline_block(taken, InsertPoint.before(op), op.captures)
        rewriter.replace_op(op, [], results)


@dataclass(frozen=True)
class FoldNode(RewritePattern):
    """Replace a node computable at compile time by the weights it computes."""

    max_elements: int
    blob_dir: str = ""
    exact: bool = False
    keep_constants: bool = False

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: NodeOp, rewriter: PatternRewriter, /) -> None:
        weights = fold_node(op, self.max_elements, self.blob_dir, self.exact, self.keep_constants)
        if weights is None:
            return
        rewriter.replace(op, weights, replacement_results(op, weights))


@dataclass(frozen=True)
class FoldConstantsPass(ModulePass):
    """
    Fold constant computations of `dfg.graph` into `dfg.weight`s.

    Deterministic nodes whose inputs are all weights are evaluated with ONNX's
    reference implementation; Shape and Size are folded from static types and
    Identity forwards its operand; a `dfg.if` on a constant condition becomes the
    branch it takes. Results with more than `max-elements` elements
    are not computed (Constant nodes excepted); results above the inline limit go
    to the blob store `blob-dir`, as `.npy` files named by their content that the
    IR refers to by absolute path (default: `$RAMIEL_CACHE_DIR/blobs`, else
    `/tmp/ramiel-mlir-<uid>/blobs`). Dead producers are left for `dce`.

    `exact` folds only results that the reference implementation computes as
    torch does, bit for bit (data movement, integer and boolean arithmetic), and
    `keep-constants` leaves Constant nodes as they are (their values still feed
    the folding): `convert-dfg-to-py` folds so before lowering.
    """

    name = "fold-constants"

    max_elements: int = 1_000_000
    """The largest result (in elements) computed at compile time."""

    blob_dir: str = ""
    """Where folded constants too large for the IR are written ('': the default store)."""

    exact: bool = False
    """Fold only data movement and integer or boolean arithmetic."""

    keep_constants: bool = False
    """Leave Constant nodes in place (the lowering prints them as literals)."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if self.max_elements < 0:
            raise RamielError(f"fold-constants: max-elements must be >= 0, got {self.max_elements}")
        PatternRewriteWalker(
            GreedyRewritePatternApplier(
                [
                    ForwardIdentity(),
                    InlineConstantIf(),
                    FoldNode(self.max_elements, self.blob_dir, self.exact, self.keep_constants),
                ],
                dce_enabled=False,
            ),
        ).rewrite_module(op)
