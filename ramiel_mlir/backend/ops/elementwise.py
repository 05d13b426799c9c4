"""Element-wise ONNX ops: unary and binary maps, variadic Sum/Max/Min/Mean, Div."""

from __future__ import annotations

from xdsl.dialects.builtin import IntegerType
from xdsl.ir import SSAValue

from ramiel_mlir.backend.context import NodeContext
from ramiel_mlir.backend.ops import lowering

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
    "Pow": "torch.pow",
    "Equal": "torch.eq",
    "Less": "torch.lt",
    "Greater": "torch.gt",
    "LessOrEqual": "torch.le",
    "GreaterOrEqual": "torch.ge",
    "And": "torch.logical_and",
    "Or": "torch.logical_or",
    "Xor": "torch.logical_xor",
}


def _unary(ctx: NodeContext) -> list[SSAValue]:
    return [ctx.b.call(UNARY[ctx.node.op_type.data], ctx.arg(0))]


def _binary(ctx: NodeContext) -> list[SSAValue]:
    return [ctx.b.call(BINARY[ctx.node.op_type.data], ctx.arg(0), ctx.arg(1))]


lowering(*UNARY)(_unary)
lowering(*BINARY)(_binary)


@lowering("Div")
def _div(ctx: NodeContext) -> list[SSAValue]:
    element = ctx.out_type().get_element_type()
    if isinstance(element, IntegerType):
        return [ctx.b.call("torch.div", ctx.arg(0), ctx.arg(1), rounding_mode="trunc")]
    return [ctx.b.call("torch.div", ctx.arg(0), ctx.arg(1))]


@lowering("Sum", "Max", "Min", "Mean")
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
