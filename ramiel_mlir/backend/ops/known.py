"""
Values known while lowering: weights, and the small results of shape arithmetic.

Exporters compute shapes inside the graph (`Shape -> Gather -> Concat -> Reshape`,
`Constant` nodes for Slice bounds and axes). Shapes are static, so such values
are known at compile time even when `fold-constants` did not run:

- a lowering that needs an input as numbers (Slice starts, reduction axes) reads
  it with `known(ctx, i)`, and a known one-element operand of an element-wise op
  becomes a plain Python number (`operand`);
- every lowering of this package is wrapped in `folding`: a node whose results
  are all known and small prints no code. Where a lowering reads such a value
  as a tensor, a literal `torch.tensor([...])` is printed at that use; if some
  reader is not such a lowering (a graph output, another lane, an op lowered
  elsewhere), the node is an ordinary `name = torch.tensor([...])` statement.

Folding is restricted to results the ONNX reference implementation computes
exactly: integer and boolean arithmetic, and data movement of any type.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import wraps

import ml_dtypes
import numpy as np
from xdsl.dialects.builtin import IntegerType, NoneType, TensorType
from xdsl.ir import Attribute, Operation, SSAValue

from ramiel_mlir.backend.context import NodeContext, attr_value
from ramiel_mlir.backend.print_python import readable
from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.dialects import py
from ramiel_mlir.dialects.dfg import DEFAULT_DOMAIN, NodeOp, NoneOp, WeightOp, is_deterministic
from ramiel_mlir.tensors import is_string, numpy_dtype, torch_dtype_name
from ramiel_mlir.weights import INLINE_LIMIT, weight_value

KNOWN_LIMIT = INLINE_LIMIT
"""The largest value (in elements) computed at compile time and printed as a literal."""

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
"""Ops that only move or convert elements: folded exactly whatever the element type."""

SHAPE_ONLY_OPS = frozenset({"Shape", "Size"})
"""Ops that read only the static type of their input."""

Scalar = bool | int | float
Number = SSAValue | Scalar


def _small(value: SSAValue) -> bool:
    """A tensor small enough to print as a literal (strings have none: numpy holds them)."""
    t = value.type
    return (
        isinstance(t, TensorType)
        and not is_string(t.get_element_type())
        and int(np.prod(t.get_shape())) <= KNOWN_LIMIT
    )


def _exact(node: NodeOp) -> bool:
    """Whether the reference implementation computes the node's results exactly."""
    if node.op_type.data in DATA_OPS:
        return True
    return all(
        isinstance(r.type, TensorType) and isinstance(r.type.get_element_type(), IntegerType)
        for r in node.outputs
    )


def _foldable(node: NodeOp) -> bool:
    return (
        node.onnx_domain == DEFAULT_DOMAIN
        and all(_small(r) or isinstance(r.type, NoneType) for r in node.outputs)
        and _exact(node)
        and is_deterministic(node)
    )


def value_of(value: SSAValue) -> np.ndarray | None:
    """The compile-time value of a small dfg value, None if it is computed from data."""
    owner = value.owner
    if isinstance(owner, WeightOp):
        return weight_value(owner) if _small(value) else None
    if not isinstance(owner, NodeOp) or not _foldable(owner):
        return None
    results = node_values(owner)
    return None if results is None else results[owner.outputs.index(value)]


def node_values(node: NodeOp) -> list[np.ndarray] | None:
    """The results of a foldable node whose inputs are all known, else None."""
    from ramiel_mlir.transforms.fold_constants import evaluate, placeholder

    if node.op_type.data == "Constant":
        return [constant_value(node)]
    inputs: list[np.ndarray | None] = []
    for operand in node.inputs:
        if isinstance(operand.owner, NoneOp):
            inputs.append(None)
        elif node.op_type.data in SHAPE_ONLY_OPS:
            assert isinstance(operand.type, TensorType)
            inputs.append(placeholder(operand.type))
        elif (value := value_of(operand)) is not None:
            inputs.append(value)
        else:
            return None
    try:
        return evaluate(node, inputs)
    except NotImplementedError:
        return None


def known(ctx: NodeContext, index: int) -> np.ndarray | None:
    """The compile-time value of input `index`: a weight, or small known arithmetic."""
    if not ctx.has(index):
        return None
    value = ctx.const(index)
    return value if value is not None else value_of(ctx.node.inputs[index])


def require_known(ctx: NodeContext, index: int, what: str) -> np.ndarray:
    """The compile-time value of input `index`, an error naming `what` if it is computed."""
    value = known(ctx, index)
    if value is None:
        ctx.unsupported(f"a computed {what} (input #{index})")
    return value


def known_ints(ctx: NodeContext, index: int, what: str = "") -> list[int] | None:
    """
    Input `index` as a list of ints; None if it is omitted or (without `what`) computed.

    With `what`, a computed input is an error that names it.
    """
    value = require_known(ctx, index, what) if what and ctx.has(index) else known(ctx, index)
    return None if value is None else [int(v) for v in value.reshape(-1)]


def constant_value(node: NodeOp) -> np.ndarray:
    """The value of a `Constant` node, from whichever `value*` attribute it has."""
    for name, attr in node.onnx_attrs.items():
        value = attr_value(attr)
        if name == "value" and isinstance(value, np.ndarray):
            return value
        if name in ("value_float", "value_floats"):
            return np.array(value, np.float32)
        if name in ("value_int", "value_ints"):
            return np.array(value, np.int64)
        raise RamielError(f"node '{node.node_name}' (Constant): '{name}' is not supported")
    raise RamielError(f"node '{node.node_name}' (Constant): no value attribute")


def python_number(value: np.generic) -> Scalar:
    """
    A Python number that names `value` exactly in its own dtype.

    Floats print as the shortest decimal of their width (`0.1`, not
    `0.10000000149011612`) when that converts back to the same value.
    """
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer) or value.dtype.name.startswith(("int", "uint")):
        return int(value)  # (ml_dtypes' int4 and int2 are no np.integer)
    shortest = float(str(value))
    # The shortest decimal of float32's largest value lies beyond it as a double,
    # and torch refuses to narrow it: keep those exact.
    largest = float(ml_dtypes.finfo(value.dtype).max)
    exact = value.dtype.type(shortest) == value and abs(shortest) <= largest
    return shortest if exact else float(value)


def number(array: np.ndarray) -> Scalar:
    """The one element of a one-element array as a Python number."""
    return python_number(array.flat[0])


def _nested(array: np.ndarray) -> Scalar | list:
    if array.ndim == 0:
        return number(array)
    return [_nested(a) for a in array]


def literal(
    ctx: NodeContext, array: np.ndarray, element_type: Attribute, inline: bool = True
) -> SSAValue:
    """
    `torch.tensor(<array>)` of `element_type` (by default printed where it is used).

    The dtype is spelled out unless torch infers it from the Python values.
    """
    dtype = torch_dtype_name(element_type)
    kwargs: dict[str, SSAValue] = {}
    if array.size == 0 or dtype not in ("bool", "int64", "float32"):
        kwargs["dtype"] = ctx.b.name(f"torch.{dtype}")
    if array.size == 0:
        return ctx.b.call("torch.empty", list(array.shape), inline=inline, keywords=kwargs)
    values = array.astype(numpy_dtype(element_type))
    return ctx.b.call("torch.tensor", _nested(values), inline=inline, keywords=kwargs)


def scalar(ctx: NodeContext, index: int) -> Scalar | None:
    """Input `index` as a Python number, if it is a known one-element tensor."""
    value = known(ctx, index)
    if value is None or value.size != 1:
        return None
    return number(value)


def operand(ctx: NodeContext, index: int) -> Number:
    """
    Input `index` of an element-wise node as a Python number where that is exact.

    A known one-element input is a number when dropping its shape leaves the
    broadcast result shape as it is (a `[1]` added to a scalar is not), and some
    other input is a tensor (torch then computes in that tensor's dtype, which
    ONNX requires to be the number's).
    """
    value = scalar(ctx, index)
    if value is None:
        return ctx.arg(index)
    others = [i for i in range(len(ctx.node.inputs)) if i != index and ctx.has(i)]
    if not others or all(scalar(ctx, i) is not None for i in others):
        return ctx.arg(index)
    shape = np.broadcast_shapes(*(tuple(ctx.in_shape(i)) for i in others))
    if list(shape) != ctx.out_shape():
        return ctx.arg(index)
    if isinstance(value, float) and numpy_dtype(ctx.in_type(index).get_element_type()).itemsize < 4:
        # torch computes half-precision ops with the number in float32: it must
        # be the float16 value itself, not the shortest decimal that rounds to it.
        value = float(require_known(ctx, index, "operand").flat[0])
    return _spelled(ctx, value, ctx.in_type(index))


def _spelled(ctx: NodeContext, value: Scalar, t: TensorType) -> Number:
    """The number, or `torch.finfo(dtype).min` / `.max` for the extremes of a float type."""
    if not isinstance(value, float):
        return value
    if abs(value) != float(ml_dtypes.finfo(numpy_dtype(t.get_element_type())).max):
        return value
    finfo = ctx.b.call("torch.finfo", ctx.dtype(t), inline=True)
    return ctx.b.getattr(finfo, "max" if value > 0 else "min")


_MATERIALIZING: set[Callable[[NodeContext], Sequence[SSAValue | None]]] = set()
"""The wrapped lowerings: they print a known input as a literal where they read it."""


def _known_results(node: NodeOp) -> list[np.ndarray] | None:
    """The results of `node` if it is folded: foldable, with every input known."""
    return node_values(node) if _foldable(node) else None


def _read_by_lowerings(node: NodeOp) -> bool:
    """Whether every reader of the node's results is a lowering wrapped in `folding`."""
    from ramiel_mlir.backend.ops import LOWERINGS

    return all(
        isinstance(use.operation, NodeOp)
        and use.operation.onnx_domain == DEFAULT_DOMAIN
        and LOWERINGS.get(use.operation.op_type.data) in _MATERIALIZING
        for result in node.outputs
        for use in result.uses
    )


def _materialize(ctx: NodeContext) -> tuple[NodeContext, list[SSAValue]]:
    """
    `ctx` whose `arg` prints a literal for an input that its producer folded away,
    and the list of values that `arg` gives out.
    """
    read = ctx._arg
    given: list[SSAValue] = []

    def arg(value: SSAValue) -> SSAValue:
        owner = value.owner
        result = None
        if isinstance(owner, NodeOp) and _foldable(owner) and _read_by_lowerings(owner):
            results = _known_results(owner)
            if results is not None:
                result = literal(ctx, results[owner.outputs.index(value)], _element(value))
        given.append(read(value) if result is None else result)
        return given[-1]

    return replace(ctx, _arg=arg), given


def _element(value: SSAValue) -> Attribute:
    assert isinstance(value.type, TensorType)
    return value.type.get_element_type()


def _drop_comment(ctx: NodeContext, comment: Operation | None) -> None:
    """Remove the comment the lowering driver wrote for a node that prints no code."""
    if isinstance(comment, py.NodeOp) and comment.node.data == readable(ctx.node.node_name):
        comment.detach()
        comment.erase()


def folding(
    lower: Callable[[NodeContext], Sequence[SSAValue | None]],
) -> Callable[[NodeContext], Sequence[SSAValue | None]]:
    """
    Wrap a lowering: known inputs read as tensors become literals, known results fold.

    A folded node read only by wrapped lowerings prints nothing (its results are
    placeholders that no code prints); one read elsewhere assigns its literals.
    A node whose results are its inputs (an Identity) prints nothing: no comment.
    """

    @wraps(lower)
    def lower_or_fold(ctx: NodeContext) -> Sequence[SSAValue | None]:
        comment = ctx.b.block.last_op
        ctx, given = _materialize(ctx)
        results = _known_results(ctx.node)
        if results is None:
            lowered = lower(ctx)
            if all(r is None or r in given for r in lowered):
                _drop_comment(ctx, comment)
            for result in lowered:
                # A literal printed at its use that becomes a result (an Identity
                # of a folded value) may have several readers: it gets a name.
                if result is not None and result in given:
                    owner = result.owner
                    if isinstance(owner, Operation):
                        owner.attributes.pop("inline", None)
            return lowered
        if _read_by_lowerings(ctx.node):
            _drop_comment(ctx, comment)
            return [ctx.b.value(None) for _ in results]
        return [
            literal(ctx, _checked(ctx, i, value), _element(r), inline=False)
            if isinstance(r.type, TensorType)
            else None
            for i, (r, value) in enumerate(zip(ctx.node.outputs, results, strict=True))
        ]

    _MATERIALIZING.add(lower_or_fold)
    return lower_or_fold


def _checked(ctx: NodeContext, index: int, value: np.ndarray) -> np.ndarray:
    expected = ctx.out_type(index)
    if list(value.shape) != list(expected.get_shape()) or value.dtype != numpy_dtype(
        expected.get_element_type()
    ):
        ctx.error(
            f"output #{index} evaluates to {value.dtype}{list(value.shape)}, "
            f"but its type is {expected}"
        )
    return value


def int_operand(ctx: NodeContext, index: int) -> int | SSAValue:
    """
    One-element integer input `index` as a Python int: the number when it is
    known, else `int(x)` evaluated by the generated code (ONNX passes axes and
    offsets as tensors that a model may compute).
    """
    value = known(ctx, index)
    if value is not None:
        return int(value.reshape(-1)[0])
    return ctx.b.call("int", ctx.arg(index), inline=True)


def int_list_operand(ctx: NodeContext, index: int) -> list[int] | SSAValue:
    """Integer input `index` as a Python list: known, or `x.tolist()` at run time."""
    value = known(ctx, index)
    if value is not None:
        return [int(v) for v in value.reshape(-1)]
    return ctx.b.method(ctx.arg(index), "tolist", inline=True)
