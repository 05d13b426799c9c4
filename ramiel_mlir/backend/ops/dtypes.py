"""
Element types that torch holds but barely computes with, and the ops that handle them.

Torch has `uint16`, `uint32` and `uint64` as "shell" dtypes (copies, views,
`mul`, `eq` and bitwise ops work; `add`, comparisons, `maximum`, integer
division do not), float8 types that it only converts and moves, and no int4,
uint4, int2, uint2 or float4 at all (the generated code holds those in a wider
dtype, see `ramiel_mlir.tensors.EMULATED`). It has no strings either (ONNX
STRING tensors are numpy arrays of `str`), and ONNX sequences and optionals are
lists and `None` (see `ramiel_mlir.backend.values`). A node that reads or writes
such a type is lowered only by the ops listed here, whose lowerings handle the type
exactly; any other is a compile-time error naming the node, the op and the type,
never a crash at run time or a value outside the type's range.
"""

from __future__ import annotations

from xdsl.dialects.builtin import IntegerType, Signedness, TensorType
from xdsl.ir import Attribute, SSAValue

from ramiel_mlir.backend.context import NodeContext
from ramiel_mlir.backend.runtime_source import runtime_module
from ramiel_mlir.dialects.dfg import OptionalType, SequenceType
from ramiel_mlir.tensors import is_emulated, is_string, numpy_dtype, onnx_from_element_type

MOVE_OPS = frozenset(
    {
        "Concat",
        "Constant",
        "Dropout",
        "Expand",
        "Flatten",
        "Gather",
        "Identity",
        "Reshape",
        "Shape",
        "Size",
        "Split",
        "Squeeze",
        "Transpose",
        "Unsqueeze",
    }
)
"""Ops that only move elements (views, copies, indexing): exact for any dtype torch moves."""

CAST_OPS = frozenset({"Cast", "CastLike"})

UNSIGNED_OPS = (
    MOVE_OPS
    | CAST_OPS
    | {"Add", "Sub", "Mul", "Div", "Max", "Min", "Equal", "Less", "Greater"}
    | {"LessOrEqual", "GreaterOrEqual", "Pow", "TopK", "BitCast", "Mod", "BitShift"}
    | {"BitwiseAnd", "BitwiseOr", "BitwiseXor", "BitwiseNot"}
)

runtime = runtime_module("cast")
"""The runtime functions this file's lowerings call."""
"""Ops whose lowerings compute uint16/uint32/uint64 exactly (see `unsigned_*` below)."""

STRING_OPS = frozenset({"Equal", "Identity"})
"""Ops whose lowerings handle ONNX STRING tensors (numpy arrays of `str`)."""

CONTAINER_OPS = frozenset({"Identity", "OptionalHasElement", "OptionalGetElement"})
"""Ops whose lowerings handle ONNX sequences and optionals (lists and `None`)."""

RESTRICTED_OPS: dict[str, frozenset[str]] = {
    "string": STRING_OPS,
    "unsigned": UNSIGNED_OPS,
    "float8": MOVE_OPS | CAST_OPS,
    "emulated": MOVE_OPS | CAST_OPS,
}
"""Per kind of restricted element type, the ops that handle it."""

_UNSIGNED_WIDTHS = (16, 32, 64)
_FLOAT8 = frozenset({17, 18, 19, 20, 24})
"""ONNX FLOAT8E4M3FN, FLOAT8E4M3FNUZ, FLOAT8E5M2, FLOAT8E5M2FNUZ, FLOAT8E8M0."""


def unsigned_width(element: Attribute) -> int | None:
    """16, 32 or 64 for torch's shell unsigned types, else None."""
    if (
        isinstance(element, IntegerType)
        and element.signedness.data == Signedness.UNSIGNED
        and element.width.data in _UNSIGNED_WIDTHS
    ):
        return element.width.data
    return None


def _kind(element: Attribute) -> str | None:
    """The kind of restricted element type, None if torch computes with it freely."""
    if is_string(element):
        return "string"
    if is_emulated(element):
        return "emulated"
    if unsigned_width(element) is not None:
        return "unsigned"
    if onnx_from_element_type(element) in _FLOAT8:
        return "float8"
    return None


def _type_name(element: Attribute) -> str:
    from onnx import TensorProto

    return TensorProto.DataType.Name(onnx_from_element_type(element))


def check_element_types(ctx: NodeContext) -> None:
    """An error naming the node if an input or output type is one its op cannot handle."""
    op_type = ctx.node.op_type.data
    values = [*ctx.node.inputs, *ctx.node.outputs]
    for value in values:
        if isinstance(value.type, SequenceType | OptionalType) and op_type not in CONTAINER_OPS:
            ctx.unsupported(f"a value of type {value.type} in {op_type}")
        if not isinstance(value.type, TensorType):
            continue
        element = value.type.get_element_type()
        kind = _kind(element)
        if kind is not None and op_type not in RESTRICTED_OPS[kind]:
            ctx.unsupported(f"element type {_type_name(element)} in {op_type}")


# Unsigned arithmetic through the signed types torch computes with.

INT64_MIN = -(2**63)


def signed_view(ctx: NodeContext, value: SSAValue, width: int) -> SSAValue:
    """The same bits as the signed type of the width: two's complement +, -, * agree."""
    return ctx.b.method(value, "view", ctx.b.name(f"torch.int{width}"), inline=True)


def order_key(ctx: NodeContext, value: SSAValue, width: int) -> SSAValue:
    """
    A signed tensor ordered as the unsigned values are: widened for 16 and 32
    bits, the sign bit flipped for 64 (which maps 0 to INT64_MIN and 2**64 - 1
    to INT64_MAX).
    """
    if width < 64:
        return ctx.b.method(value, "to", ctx.b.name("torch.int64"), inline=True)
    return ctx.b.call("torch.bitwise_xor", signed_view(ctx, value, 64), INT64_MIN, inline=True)


def from_order_key(ctx: NodeContext, key: SSAValue, t: TensorType) -> SSAValue:
    """The unsigned values of `order_key` results."""
    width = unsigned_width(t.get_element_type())
    assert width is not None
    if width < 64:
        return ctx.b.method(key, "to", ctx.dtype(t), inline=True)
    flipped = ctx.b.call("torch.bitwise_xor", key, INT64_MIN, inline=True)
    return ctx.b.method(flipped, "view", ctx.dtype(t), inline=True)


def unsigned_div(ctx: NodeContext, t: TensorType) -> SSAValue:
    """Unsigned integer division (which truncates) in a type torch divides."""
    width = unsigned_width(t.get_element_type())
    assert width is not None
    if width == 64:
        return ctx.b.call(ctx.helper(runtime._udiv64), ctx.arg(0), ctx.arg(1))
    int64 = ctx.b.name("torch.int64")
    a = ctx.b.method(ctx.arg(0), "to", int64, inline=True)
    b = ctx.b.method(ctx.arg(1), "to", int64, inline=True)
    quotient = ctx.b.call("torch.div", a, b, rounding_mode="trunc", inline=True)
    return ctx.b.method(quotient, "to", ctx.dtype(t))


def unsigned_mod(ctx: NodeContext, t: TensorType) -> SSAValue:
    """
    The unsigned remainder (fmod and the divisor's sign agree for non-negative
    values): in int64 for 16 and 32 bits; a - (a / b) * b with the uint64
    quotient, whose two's complement product and difference are exact.
    """
    width = unsigned_width(t.get_element_type())
    assert width is not None
    a, b = ctx.arg(0), ctx.arg(1)
    if width < 64:
        int64 = ctx.b.name("torch.int64")
        wide = [ctx.b.method(v, "to", int64, inline=True) for v in (a, b)]
        return ctx.b.method(ctx.b.call("torch.remainder", *wide, inline=True), "to", ctx.dtype(t))
    quotient = ctx.b.call(ctx.helper(runtime._udiv64), a, b)
    product = ctx.b.call(
        "torch.mul", signed_view(ctx, quotient, 64), signed_view(ctx, b, 64), inline=True
    )
    remainder = ctx.b.call("torch.sub", signed_view(ctx, a, 64), product, inline=True)
    return ctx.b.method(remainder, "view", ctx.dtype(t))


def unsigned_shift(ctx: NodeContext, left: bool, t: TensorType) -> SSAValue:
    """
    An unsigned shift; by the bit width or more it gives 0. 16 and 32 bits shift
    in int64 and keep the low bits; 64 bits shift the signed view, a right shift
    by one first with the sign bit cleared (then arithmetic is logical).
    """
    width = unsigned_width(t.get_element_type())
    assert width is not None
    b = ctx.b
    # x, y and the amount are read more than once: each is a statement of its own.
    x, y = (
        b.method(ctx.arg(i), "to" if width < 64 else "view", b.name("torch.int64")) for i in (0, 1)
    )
    x.name_hint, y.name_hint = "x", "y"
    if width < 64:
        in_range = b.call("torch.lt", y, width, inline=True)
    else:
        in_range = b.call(
            "torch.logical_and",
            b.call("torch.ge", y, 0, inline=True),
            b.call("torch.lt", y, 64, inline=True),
            inline=True,
        )
    amount = b.call("torch.clamp", y, 0, width - 1, inline=left or width < 64)
    if left:
        shifted = b.call("torch.bitwise_left_shift", x, amount, inline=True)
    elif width < 64:
        shifted = b.call("torch.bitwise_right_shift", x, amount, inline=True)
    else:
        half = b.call(
            "torch.bitwise_and",
            b.call("torch.bitwise_right_shift", x, 1, inline=True),
            2**63 - 1,
            inline=True,
        )
        rest = b.call("torch.clamp", b.binary("-", amount, 1), 0, 62, inline=True)
        shifted = b.call(
            "torch.where",
            b.call("torch.eq", amount, 0, inline=True),
            x,
            b.call("torch.bitwise_right_shift", half, rest, inline=True),
            inline=True,
        )
    result = b.call("torch.where", in_range, shifted, 0, inline=True)
    if width < 64:
        masked = b.call("torch.bitwise_and", result, 2**width - 1, inline=True)
        return b.method(masked, "to", ctx.dtype(t))
    return b.method(result, "view", ctx.dtype(t))


def unsigned_binary(
    ctx: NodeContext, op_type: str, a: SSAValue, b: SSAValue, width: int
) -> SSAValue:
    """Add, Sub, the comparisons, Max and Min of two unsigned tensors."""
    if op_type in ("Add", "Sub"):
        function = "torch.add" if op_type == "Add" else "torch.sub"
        result = ctx.b.call(
            function, signed_view(ctx, a, width), signed_view(ctx, b, width), inline=True
        )
        return ctx.b.method(result, "view", ctx.dtype(ctx.out_type()))
    compare = {
        "Less": "torch.lt",
        "Greater": "torch.gt",
        "LessOrEqual": "torch.le",
        "GreaterOrEqual": "torch.ge",
        "Max": "torch.ge",
        "Min": "torch.le",
    }[op_type]
    keys = order_key(ctx, a, width), order_key(ctx, b, width)
    if op_type not in ("Max", "Min"):
        return ctx.b.call(compare, *keys)
    return ctx.b.call("torch.where", ctx.b.call(compare, *keys, inline=True), a, b)


def is_float8(element: Attribute) -> bool:
    """Whether the element type is one of the float8 types (E8M0 included)."""
    return onnx_from_element_type(element) in _FLOAT8


def float_max(element: Attribute) -> float:
    """The largest finite value of a floating-point element type."""
    import ml_dtypes

    return float(ml_dtypes.finfo(numpy_dtype(element)).max)
