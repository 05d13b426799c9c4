"""
Element-wise ONNX ops: unary and binary maps, Pow, Div, Where, Clip, Gelu, variadics.

A known one-element operand (an exporter's `Constant` or scalar initializer) is
written as a plain number: `torch.div(scores, 4.8989797)`.
"""

from __future__ import annotations

from xdsl.dialects.builtin import IntegerType, TensorType
from xdsl.ir import SSAValue

from ramiel_mlir.backend.context import NodeContext
from ramiel_mlir.backend.ops import lowering
from ramiel_mlir.backend.ops.known import Number, folding, operand, scalar

# Element-wise ops that are one torch call on their inputs.

UNARY: dict[str, str] = {
    "Relu": "torch.relu",
    "Sigmoid": "torch.sigmoid",
    "Tanh": "torch.tanh",
    "Exp": "torch.exp",
    "Log": "torch.log",
    "Sqrt": "torch.sqrt",
    "Abs": "torch.abs",
    "Neg": "torch.neg",
    "Reciprocal": "torch.reciprocal",
    "Erf": "torch.erf",
    "Floor": "torch.floor",
    "Ceil": "torch.ceil",
    "Sin": "torch.sin",
    "Cos": "torch.cos",
    "Not": "torch.logical_not",
}

BINARY: dict[str, str] = {
    "Add": "torch.add",
    "Sub": "torch.sub",
    "Mul": "torch.mul",
    "Equal": "torch.eq",
    "Less": "torch.lt",
    "Greater": "torch.gt",
    "LessOrEqual": "torch.le",
    "GreaterOrEqual": "torch.ge",
    "And": "torch.logical_and",
    "Or": "torch.logical_or",
    "Xor": "torch.logical_xor",
}

TAKES_NUMBER = frozenset(
    {"Add", "Sub", "Mul", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"}
)
"""Binary ops whose torch function accepts a Python number as its second argument."""

MIRRORED: dict[str, str] = {
    "Add": "Add",
    "Mul": "Mul",
    "Equal": "Equal",
    "Less": "Greater",
    "Greater": "Less",
    "LessOrEqual": "GreaterOrEqual",
    "GreaterOrEqual": "LessOrEqual",
}
"""`a op b` is `b mirrored a`: a number on the left moves to the right."""


def _is_integer(t: TensorType) -> bool:
    return isinstance(t.get_element_type(), IntegerType)


@folding
def _unary(ctx: NodeContext) -> list[SSAValue]:
    return [ctx.b.call(UNARY[ctx.node.op_type.data], ctx.arg(0))]


@folding
def _binary(ctx: NodeContext) -> list[SSAValue]:
    op_type = ctx.node.op_type.data
    if op_type not in TAKES_NUMBER:
        return [ctx.b.call(BINARY[op_type], ctx.arg(0), ctx.arg(1))]
    rhs = operand(ctx, 1)
    if not isinstance(rhs, SSAValue) or op_type not in MIRRORED:
        return [ctx.b.call(BINARY[op_type], ctx.arg(0), rhs)]
    lhs = operand(ctx, 0)
    if isinstance(lhs, SSAValue):
        return [ctx.b.call(BINARY[op_type], lhs, rhs)]
    return [ctx.b.call(BINARY[MIRRORED[op_type]], rhs, lhs)]


lowering(*UNARY)(_unary)
lowering(*BINARY)(_binary)


@lowering("Div")
@folding
def _div(ctx: NodeContext) -> list[SSAValue]:
    """ONNX divides integers truncating toward zero (C semantics), not flooring."""
    if _is_integer(ctx.out_type()):
        return [ctx.b.call("torch.div", ctx.arg(0), operand(ctx, 1), rounding_mode="trunc")]
    return [ctx.b.call("torch.div", ctx.arg(0), operand(ctx, 1))]


@lowering("Pow")
@folding
def _pow(ctx: NodeContext) -> list[SSAValue]:
    """
    `X ** Y` in the type of X, whatever the type of Y.

    Torch would promote `float32 ** float64` to float64 and `int32 ** int64` to
    int64: a float exponent is cast to the base's type first, an integer result
    back to it afterwards. An integer base with a float exponent is refused.
    """
    base_type, exponent_type = ctx.in_type(0), ctx.in_type(1)
    x = ctx.arg(0)
    y: Number = operand(ctx, 1)
    same = base_type.get_element_type() == exponent_type.get_element_type()
    if not _is_integer(base_type):
        if isinstance(y, SSAValue) and not same and not _is_integer(exponent_type):
            y = ctx.b.method(y, "to", ctx.dtype(base_type), inline=True)
        return [ctx.b.call("torch.pow", x, y)]
    if not _is_integer(exponent_type):
        ctx.unsupported("an integer base with a floating-point exponent")
    if isinstance(y, SSAValue) and not same:
        power = ctx.b.call("torch.pow", x, y, inline=True)
        return [ctx.b.method(power, "to", ctx.dtype(base_type))]
    return [ctx.b.call("torch.pow", x, y)]


@lowering("Where")
@folding
def _where(ctx: NodeContext) -> list[SSAValue]:
    """`torch.where`; one branch may be a number, the other stays a tensor of the type."""
    x = operand(ctx, 1)
    y = operand(ctx, 2) if isinstance(x, SSAValue) else ctx.arg(2)
    return [ctx.b.call("torch.where", ctx.arg(0), x, y)]


@lowering("Clip")
@folding
def _clip(ctx: NodeContext) -> list[SSAValue]:
    """
    `torch.clamp`: bounds are attributes before opset 11, optional inputs after.

    Like ONNX, torch sets every element to `max` when `min > max`.
    """
    bounds: dict[str, Number] = {}
    if ctx.opset < 11:
        for name, default in (("min", float("-inf")), ("max", float("inf"))):
            value = float(ctx.attr(name, default))  # type: ignore[arg-type]
            if value != default:
                bounds[name] = value
    else:
        for name, index in (("min", 1), ("max", 2)):
            if ctx.has(index):
                number = scalar(ctx, index)
                bounds[name] = ctx.arg(index) if number is None else number
    if not bounds:
        return [ctx.arg(0)]
    return [ctx.b.call("torch.clamp", ctx.arg(0), **bounds)]  # type: ignore[arg-type]


@lowering("Gelu")
@folding
def _gelu(ctx: NodeContext) -> list[SSAValue]:
    """Opset 20's Gelu: exact (with erf) or the tanh approximation, as `F.gelu`."""
    approximate = str(ctx.attr("approximate", "none"))
    if approximate == "none":
        return [ctx.b.call("F.gelu", ctx.arg(0))]
    if approximate == "tanh":
        return [ctx.b.call("F.gelu", ctx.arg(0), approximate="tanh")]
    ctx.unsupported(f"approximate='{approximate}'")


@lowering("Sum", "Max", "Min", "Mean")
@folding
def _variadic(ctx: NodeContext) -> list[SSAValue]:
    function = {
        "Sum": "torch.add",
        "Mean": "torch.add",
        "Max": "torch.maximum",
        "Min": "torch.minimum",
    }[ctx.node.op_type.data]
    args = ctx.args()
    result = args[0]
    for arg in args[1:]:
        result = ctx.b.call(function, result, arg)
    if ctx.node.op_type.data == "Mean" and len(args) > 1:
        result = ctx.b.call("torch.div", result, len(args))
    if len(args) == 1:
        result = ctx.b.method(result, "clone")
    return [result]
