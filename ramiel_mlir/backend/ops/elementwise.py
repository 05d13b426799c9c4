"""
Element-wise ONNX ops: unary and binary maps, Pow, Div, Where, Clip, Gelu, variadics.

A known one-element operand (an exporter's `Constant` or scalar initializer) is
written as a plain number: `torch.div(scores, 4.8989797)`.
"""

from __future__ import annotations

from xdsl.dialects.builtin import IntegerType, TensorType
from xdsl.ir import SSAValue

from ramiel_mlir.backend.builder import Arg
from ramiel_mlir.backend.context import NodeContext
from ramiel_mlir.backend.ops import lowering
from ramiel_mlir.backend.ops.dtypes import (
    signed_view,
    unsigned_binary,
    unsigned_div,
    unsigned_mod,
    unsigned_shift,
    unsigned_width,
)
from ramiel_mlir.backend.ops.known import Number, operand, scalar
from ramiel_mlir.tensors import is_string

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
    "Tan": "torch.tan",
    "Asin": "torch.asin",
    "Acos": "torch.acos",
    "Atan": "torch.atan",
    "Sinh": "torch.sinh",
    "Cosh": "torch.cosh",
    "Asinh": "torch.asinh",
    "Acosh": "torch.acosh",
    "Atanh": "torch.atanh",
    "Sign": "torch.sign",
    "Round": "torch.round",
    "IsNaN": "torch.isnan",
    "Not": "torch.logical_not",
    "BitwiseNot": "torch.bitwise_not",
    "Softsign": "F.softsign",
    "Softplus": "F.softplus",
    "Mish": "F.mish",
    "HardSwish": "F.hardswish",
}
"""(`torch.round` rounds halves to even, as ONNX's Round does.)"""

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
    "BitwiseAnd": "torch.bitwise_and",
    "BitwiseOr": "torch.bitwise_or",
    "BitwiseXor": "torch.bitwise_xor",
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


IN_PLACE_UNARY: dict[str, str] = {
    "Relu": "relu_",
    "Sigmoid": "sigmoid_",
    "Tanh": "tanh_",
    "Exp": "exp_",
    "Sqrt": "sqrt_",
    "Abs": "abs_",
    "Neg": "neg_",
    "Reciprocal": "reciprocal_",
    "Erf": "erf_",
}
"""
Unary ops whose tensor method writes the same values in place: on an input no other
op reads (`NodeContext.overwritable`) they save an allocation and a pass over memory.
"""

IN_PLACE_BINARY: dict[str, str] = {"Add": "add_", "Sub": "sub_", "Mul": "mul_"}
"""Binary ops written in place into their first input (or the second: Add and Mul commute)."""


def _unary(ctx: NodeContext) -> list[SSAValue]:
    op_type = ctx.node.op_type.data
    if op_type in IN_PLACE_UNARY and ctx.overwritable(0):
        return [ctx.b.method(ctx.arg(0), IN_PLACE_UNARY[op_type])]
    width = unsigned_width(ctx.in_type(0).get_element_type())
    if width is not None and op_type == "BitwiseNot":
        # torch has no bitwise_not for uint16/32/64: the same bits as signed.
        flipped = ctx.b.call("torch.bitwise_not", signed_view(ctx, ctx.arg(0), width), inline=True)
        return [ctx.b.method(flipped, "view", ctx.dtype(ctx.out_type()))]
    return [ctx.b.call(UNARY[op_type], ctx.arg(0))]


UNSIGNED_BINARY = frozenset({"Add", "Sub", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"})
"""Binary ops that torch lacks for uint16/32/64: computed in signed types (`dtypes`)."""


def _binary(ctx: NodeContext) -> list[SSAValue]:
    op_type = ctx.node.op_type.data
    if op_type in IN_PLACE_BINARY:
        # IEEE addition and multiplication commute exactly.
        for target in (0, 1) if op_type in MIRRORED else (0,):
            if ctx.overwritable(target):
                other = operand(ctx, 1 - target)
                return [ctx.b.method(ctx.arg(target), IN_PLACE_BINARY[op_type], other)]
    if is_string(ctx.in_type(0).get_element_type()):
        return [_string_equal(ctx)]
    width = unsigned_width(ctx.in_type(0).get_element_type())
    if width is not None:
        # Python numbers of the full unsigned range do not fit torch's signed views.
        if op_type in UNSIGNED_BINARY:
            return [unsigned_binary(ctx, op_type, ctx.arg(0), ctx.arg(1), width)]
        return [ctx.b.call(BINARY[op_type], ctx.arg(0), ctx.arg(1))]
    if op_type not in TAKES_NUMBER:
        return [ctx.b.call(BINARY[op_type], ctx.arg(0), ctx.arg(1))]
    rhs = operand(ctx, 1)
    if not isinstance(rhs, SSAValue) or op_type not in MIRRORED:
        return [ctx.b.call(BINARY[op_type], ctx.arg(0), rhs)]
    lhs = operand(ctx, 0)
    if isinstance(lhs, SSAValue):
        return [ctx.b.call(BINARY[op_type], lhs, rhs)]
    return [ctx.b.call(BINARY[MIRRORED[op_type]], rhs, lhs)]


def _string_equal(ctx: NodeContext) -> SSAValue:
    """
    Equal of two string tensors (numpy arrays of `str`, the only op on strings
    besides Identity, see `dtypes.STRING_OPS`): numpy compares and broadcasts
    them, the result is a bool tensor (`as_tensor`: numpy gives 0-d results as
    a scalar).
    """
    ctx.import_module("numpy", "np")
    equal = ctx.b.call("np.equal", ctx.arg(0), ctx.arg(1), inline=True)
    return ctx.b.call("torch.as_tensor", equal)


lowering(*UNARY)(_unary)
lowering(*BINARY)(_binary)


@lowering("Div")
def _div(ctx: NodeContext) -> list[SSAValue]:
    """ONNX divides integers truncating toward zero (C semantics), not flooring."""
    if unsigned_width(ctx.out_type().get_element_type()) is not None:
        return [unsigned_div(ctx, ctx.out_type())]
    if _is_integer(ctx.out_type()):
        return [ctx.b.call("torch.div", ctx.arg(0), operand(ctx, 1), rounding_mode="trunc")]
    return [ctx.b.call("torch.div", ctx.arg(0), operand(ctx, 1))]


@lowering("Pow")
def _pow(ctx: NodeContext) -> list[SSAValue]:
    """
    `X ** Y` in the type of X, whatever the type of Y.

    Torch would promote `float32 ** float64` to float64 and `int32 ** int64` to
    int64: a float exponent is cast to the base's type first, an integer result
    back to it afterwards. An integer base with a float exponent is computed as
    ONNX's reference computes it (numpy's `int ** float` is float64), then
    truncated to the base's type. uint16/32 exponents are read as int64; a
    uint64 exponent, which int64 cannot hold, makes the power a float64 one.
    """
    base_type, exponent_type = ctx.in_type(0), ctx.in_type(1)
    x = ctx.arg(0)
    y: Number = operand(ctx, 1)
    same = base_type.get_element_type() == exponent_type.get_element_type()
    width = unsigned_width(exponent_type.get_element_type())
    if unsigned_width(base_type.get_element_type()) is not None:
        ctx.unsupported(f"an unsigned base ({base_type.get_element_type()})")
    if width is not None:
        return [_pow_unsigned_exponent(ctx, x, ctx.arg(1), width, base_type)]
    if not _is_integer(base_type):
        if isinstance(y, SSAValue) and not same and not _is_integer(exponent_type):
            y = ctx.b.method(y, "to", ctx.dtype(base_type), inline=True)
        return [ctx.b.call("torch.pow", x, y)]
    if not _is_integer(exponent_type):
        float64 = ctx.b.name("torch.float64")
        power = ctx.b.call(
            "torch.pow",
            ctx.b.method(x, "to", float64, inline=True),
            ctx.b.method(ctx.arg(1), "to", float64, inline=True),
            inline=True,
        )
        return [ctx.b.method(power, "to", ctx.dtype(base_type))]
    if isinstance(y, SSAValue) and not same:
        power = ctx.b.call("torch.pow", x, y, inline=True)
        return [ctx.b.method(power, "to", ctx.dtype(base_type))]
    return [ctx.b.call("torch.pow", x, y)]


def _pow_unsigned_exponent(
    ctx: NodeContext, x: SSAValue, y: SSAValue, width: int, base_type: TensorType
) -> SSAValue:
    """`X ** Y` for an unsigned Y (torch has no pow of uint16/32/64)."""
    if width < 64:
        exponent = ctx.b.method(y, "to", ctx.b.name("torch.int64"), inline=True)
        power = ctx.b.call("torch.pow", x, exponent, inline=True)
    else:
        float64 = ctx.b.name("torch.float64")
        exponent = ctx.b.method(y, "to", float64, inline=True)
        power = ctx.b.call(
            "torch.pow", ctx.b.method(x, "to", float64, inline=True), exponent, inline=True
        )
    return ctx.b.method(power, "to", ctx.dtype(base_type))


@lowering("Where")
def _where(ctx: NodeContext) -> list[SSAValue]:
    """`torch.where`; one branch may be a number, the other stays a tensor of the type."""
    x = operand(ctx, 1)
    y = operand(ctx, 2) if isinstance(x, SSAValue) else ctx.arg(2)
    return [ctx.b.call("torch.where", ctx.arg(0), x, y)]


@lowering("Clip")
def _clip(ctx: NodeContext) -> list[SSAValue]:
    """
    `torch.clamp`: bounds are attributes before opset 11, optional inputs after.

    Like ONNX, torch sets every element to `max` when `min > max`.
    """
    bounds: dict[str, Arg] = {}
    if ctx.opset < 11:
        for name, default in (("min", float("-inf")), ("max", float("inf"))):
            value = ctx.attr_float(name, default)
            if value != default:
                bounds[name] = value
    else:
        given = {name: index for name, index in (("min", 1), ("max", 2)) if ctx.has(index)}
        numbers = {name: scalar(ctx, index) for name, index in given.items()}
        # torch.clamp takes two numbers or two tensors: a computed bound makes both tensors.
        computed = any(number is None for number in numbers.values())
        for name, index in given.items():
            number = numbers[name]
            bounds[name] = ctx.arg(index) if computed or number is None else number
    if not bounds:
        return [ctx.arg(0)]
    return [ctx.b.call("torch.clamp", ctx.arg(0), keywords=bounds)]


@lowering("Gelu")
def _gelu(ctx: NodeContext) -> list[SSAValue]:
    """Opset 20's Gelu: exact (with erf) or the tanh approximation, as `F.gelu`."""
    approximate = str(ctx.attr("approximate", "none"))
    if approximate == "none":
        return [ctx.b.call("F.gelu", ctx.arg(0))]
    if approximate == "tanh":
        return [ctx.b.call("F.gelu", ctx.arg(0), approximate="tanh")]
    ctx.unsupported(f"approximate='{approximate}'")


@lowering("Sum", "Max", "Min", "Mean")
def _variadic(ctx: NodeContext) -> list[SSAValue]:
    function = {
        "Sum": "torch.add",
        "Mean": "torch.add",
        "Max": "torch.maximum",
        "Min": "torch.minimum",
    }[ctx.node.op_type.data]
    args = ctx.args()
    if ctx.node.op_type.data == "Sum" and len(args) > 1:
        # In place into the first addend, or into the second of two (IEEE addition of
        # two numbers commutes exactly; more are added in their order either way).
        for target in (0, 1) if len(args) == 2 else (0,):
            if ctx.overwritable(target):
                others = [arg for index, arg in enumerate(args) if index != target]
                result = args[target]
                for position, arg in enumerate(others):
                    last = position == len(others) - 1
                    result = ctx.b.method(result, "add_", arg, inline=not last)
                return [result]
    result = args[0]
    width = unsigned_width(ctx.out_type().get_element_type())
    for arg in args[1:]:
        if width is not None and ctx.node.op_type.data in ("Max", "Min"):
            result = unsigned_binary(ctx, ctx.node.op_type.data, result, arg, width)
        else:
            result = ctx.b.call(function, result, arg)
    if ctx.node.op_type.data == "Mean" and len(args) > 1:
        result = ctx.b.call("torch.div", result, len(args))
    if len(args) == 1:
        result = ctx.b.method(result, "clone")
    return [result]


# Activations with attributes.


def _float_attr(ctx: NodeContext, name: str, default: float) -> float:
    return ctx.attr_float(name, default)


ALPHA_ACTIVATIONS: dict[str, tuple[str, float]] = {
    "LeakyRelu": ("F.leaky_relu", 0.01),
    "Elu": ("F.elu", 1.0),
    "Celu": ("F.celu", 1.0),
}
"""ONNX activations with one `alpha` -> the torch function and its default alpha."""


@lowering(*ALPHA_ACTIVATIONS)
def _alpha_activation(ctx: NodeContext) -> list[SSAValue]:
    """`function(x)`, or `function(x, alpha)` when alpha is not the default."""
    function, default = ALPHA_ACTIVATIONS[ctx.node.op_type.data]
    alpha = _float_attr(ctx, "alpha", default)
    if alpha == default:
        return [ctx.b.call(function, ctx.arg(0))]
    return [ctx.b.call(function, ctx.arg(0), alpha)]


SELU_ALPHA = 1.67326319217681884765625
SELU_GAMMA = 1.05070102214813232421875
"""ONNX's Selu defaults: PyTorch's constants rounded to float32."""


@lowering("Selu")
def _selu(ctx: NodeContext) -> list[SSAValue]:
    """gamma * (x if x > 0 else alpha * (exp(x) - 1)): `gamma * F.elu(x, alpha)`."""
    alpha = _float_attr(ctx, "alpha", SELU_ALPHA)
    gamma = _float_attr(ctx, "gamma", SELU_GAMMA)
    if alpha == SELU_ALPHA and gamma == SELU_GAMMA:
        return [ctx.b.call("F.selu", ctx.arg(0))]
    elu = ctx.b.call("F.elu", ctx.arg(0), alpha, inline=True)
    return [ctx.b.call("torch.mul", elu, gamma)]


@lowering("ThresholdedRelu")
def _thresholded_relu(ctx: NodeContext) -> list[SSAValue]:
    """x where x > alpha, else 0."""
    return [ctx.b.call("F.threshold", ctx.arg(0), _float_attr(ctx, "alpha", 1.0), 0.0)]


@lowering("HardSigmoid")
def _hard_sigmoid(ctx: NodeContext) -> list[SSAValue]:
    """max(0, min(1, alpha * x + beta)); PyTorch's hardsigmoid fixes alpha at 1/6."""
    alpha = _float_attr(ctx, "alpha", 0.2)
    beta = _float_attr(ctx, "beta", 0.5)
    scaled = ctx.b.call("torch.add", ctx.b.call("torch.mul", ctx.arg(0), alpha, inline=True), beta)
    return [ctx.b.call("torch.clamp", scaled, 0.0, 1.0)]


@lowering("Swish")
def _swish(ctx: NodeContext) -> list[SSAValue]:
    """x * sigmoid(alpha * x)."""
    alpha = _float_attr(ctx, "alpha", 1.0)
    if alpha == 1.0:
        return [ctx.b.call("F.silu", ctx.arg(0))]
    scaled = ctx.b.call("torch.mul", ctx.arg(0), alpha, inline=True)
    return [ctx.b.call("torch.mul", ctx.arg(0), ctx.b.call("torch.sigmoid", scaled, inline=True))]


@lowering("PRelu")
def _prelu(ctx: NodeContext) -> list[SSAValue]:
    """slope * x where x < 0, else x; the slope broadcasts to x (unidirectionally)."""
    x = ctx.arg(0)
    negative = ctx.b.call("torch.lt", x, 0, inline=True)
    return [
        ctx.b.call("torch.where", negative, ctx.b.call("torch.mul", x, ctx.arg(1), inline=True), x)
    ]


@lowering("Shrink")
def _shrink(ctx: NodeContext) -> list[SSAValue]:
    """x + bias below -lambd, x - bias above lambd, 0 between."""
    bias = _float_attr(ctx, "bias", 0.0)
    lambd = _float_attr(ctx, "lambd", 0.5)
    x = ctx.arg(0)
    if bias == 0.0 and not _is_integer(ctx.in_type(0)):
        return [ctx.b.call("F.hardshrink", x, lambd)]
    if bias == lambd and not _is_integer(ctx.in_type(0)):
        return [ctx.b.call("F.softshrink", x, lambd)]
    zero = ctx.b.call("torch.zeros_like", x, inline=True)
    above = ctx.b.call(
        "torch.where",
        ctx.b.call("torch.gt", x, lambd, inline=True),
        ctx.b.call("torch.sub", x, bias, inline=True),
        zero,
        inline=True,
    )
    below = ctx.b.call("torch.lt", x, -lambd, inline=True)
    return [ctx.b.call("torch.where", below, ctx.b.call("torch.add", x, bias, inline=True), above)]


@lowering("IsInf")
def _is_inf(ctx: NodeContext) -> list[SSAValue]:
    negative = bool(ctx.attr("detect_negative", 1))
    positive = bool(ctx.attr("detect_positive", 1))
    if negative and positive:
        return [ctx.b.call("torch.isinf", ctx.arg(0))]
    if negative:
        return [ctx.b.call("torch.isneginf", ctx.arg(0))]
    if positive:
        return [ctx.b.call("torch.isposinf", ctx.arg(0))]
    return [ctx.b.call("torch.zeros_like", ctx.arg(0), dtype=ctx.b.name("torch.bool"))]


@lowering("Mod")
def _mod(ctx: NodeContext) -> list[SSAValue]:
    """fmod=1: the sign of the dividend (`torch.fmod`); 0: of the divisor (`torch.remainder`)."""
    if unsigned_width(ctx.in_type(0).get_element_type()) is not None:
        return [unsigned_mod(ctx, ctx.out_type())]
    function = "torch.fmod" if ctx.attr("fmod", 0) else "torch.remainder"
    return [ctx.b.call(function, ctx.arg(0), ctx.arg(1))]


@lowering("BitShift")
def _bit_shift(ctx: NodeContext) -> list[SSAValue]:
    """
    Shifts by less than the bit width as torch does them; longer or negative
    shifts give 0, or -1 for a negative integer shifted right (all sign bits).
    """
    direction = str(ctx.attr("direction", ""))
    if direction not in ("LEFT", "RIGHT"):
        ctx.unsupported(f"direction '{direction}'")
    element = ctx.in_type(0).get_element_type()
    if unsigned_width(element) is not None:
        return [unsigned_shift(ctx, direction == "LEFT", ctx.out_type())]
    assert isinstance(element, IntegerType)
    bits = element.width.data
    signed = not element.signedness.data.name == "UNSIGNED"
    x, y = ctx.arg(0), ctx.arg(1)
    in_range = ctx.b.call(
        "torch.logical_and",
        ctx.b.call("torch.ge", y, 0, inline=True),
        ctx.b.call("torch.lt", y, bits, inline=True),
    )
    in_range.name_hint = "in_range"
    if direction == "RIGHT" and signed:
        shift = ctx.b.call("torch.where", in_range, y, bits - 1, inline=True)
        return [ctx.b.call("torch.bitwise_right_shift", x, shift)]
    function = "torch.bitwise_left_shift" if direction == "LEFT" else "torch.bitwise_right_shift"
    shifted = ctx.b.call(
        function, x, ctx.b.call("torch.clamp", y, 0, bits - 1, inline=True), inline=True
    )
    return [ctx.b.call("torch.where", in_range, shifted, 0)]


@lowering("SwiGLU")
def _swiglu(ctx: NodeContext) -> list[SSAValue]:
    """a * sigmoid(alpha * a) * b (same shapes, no broadcasting)."""
    alpha = _float_attr(ctx, "alpha", 1.0)
    a = ctx.arg(0)
    scaled = a if alpha == 1.0 else ctx.b.call("torch.mul", a, alpha, inline=True)
    swish = ctx.b.call(
        "torch.mul", a, ctx.b.call("torch.sigmoid", scaled, inline=True), inline=True
    )
    return [ctx.b.call("torch.mul", swish, ctx.arg(1))]
