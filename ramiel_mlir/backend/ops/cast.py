"""
Cast and CastLike: `x.to(dtype)`, and the conversions torch does not do as ONNX does.

- float8 (E4M3FN, E4M3FNUZ, E5M2, E5M2FNUZ): torch rounds to nearest even, but
  its overflow behaviour is its own; ONNX's `saturate=1` (the default) clamps to
  the largest finite value first (infinities too), and `saturate=0` gives NaN
  (E4M3FN, where torch would saturate) or what torch gives (Inf for E5M2, NaN
  for the FNUZ types). Torch converts through float32, so a source that float32
  does not hold exactly (float64, 32- and 64-bit integers) would round twice:
  such a cast is refused.
- FLOAT8E8M0: computed from the float32 exponent bits as ONNX's reference does
  (`onnx.numpy_helper.to_float8e8m0`), with its `round_mode` and `saturate`.
- INT4, UINT4, INT2, UINT2 (held in int8/uint8): truncated to an integer, then
  wrapped to the width (two's complement), as `ml_dtypes` casts them.
- FLOAT4E2M1 (held in float32): rounded to nearest even, saturating at +-6.
"""

from __future__ import annotations

from xdsl.dialects.builtin import IntegerType, Signedness
from xdsl.ir import Attribute, SSAValue

from ramiel_mlir.backend.context import NodeContext
from ramiel_mlir.backend.ops import lowering
from ramiel_mlir.backend.ops.dtypes import float_max, is_float8
from ramiel_mlir.backend.ops.known import folding
from ramiel_mlir.backend.runtime_source import runtime_module
from ramiel_mlir.tensors import is_emulated, onnx_from_element_type, torch_dtype_name

FLOAT8E4M3FN, FLOAT8E8M0, FLOAT4E2M1 = 17, 24, 23
"""ONNX TensorProto.DataType numbers."""

E4M3FN_OVERFLOW = 464.0
"""448 (E4M3FN's largest value) plus half its ulp: the largest value that rounds to 448."""

EXACT_IN_FLOAT32 = frozenset(
    {"float32", "float16", "bfloat16", "int8", "uint8", "int16", "uint16", "bool"}
    | {"float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz", "float8_e8m0fnu"}
)

runtime = runtime_module("cast")
"""The runtime functions this file's lowerings call."""
"""torch dtypes whose every value float32 holds exactly (the emulated types' stand-ins too)."""

CLAMPS = frozenset({"float32", "float16", "bfloat16"})
"""torch dtypes that `torch.clamp` computes with and that hold every float8 maximum."""


def _wrapped_int(ctx: NodeContext, x: SSAValue, element: IntegerType) -> SSAValue:
    """An integer cast to a narrow integer type: truncated, then wrapped to its width."""
    width = element.width.data
    mask = (1 << width) - 1
    value = ctx.b.method(x, "to", ctx.b.name("torch.int64"), inline=True)
    if element.signedness.data == Signedness.UNSIGNED:
        wrapped = ctx.b.call("torch.bitwise_and", value, mask, inline=True)
    else:
        half = 1 << (width - 1)
        shifted = ctx.b.call("torch.add", value, half, inline=True)
        masked = ctx.b.call("torch.bitwise_and", shifted, mask, inline=True)
        wrapped = ctx.b.call("torch.sub", masked, half, inline=True)
    return ctx.b.method(wrapped, "to", ctx.b.name(f"torch.{torch_dtype_name(element)}"))


def _to_float8(ctx: NodeContext, x: SSAValue, source: Attribute, target: Attribute) -> SSAValue:
    """A cast to one of the four float8 types, with ONNX's `saturate`."""
    source_dtype = torch_dtype_name(source)
    if source_dtype not in EXACT_IN_FLOAT32:
        ctx.unsupported(
            f"a cast from {source_dtype} to {torch_dtype_name(target)} "
            "(torch rounds it through float32: twice)"
        )
    if source_dtype not in CLAMPS:
        x = ctx.b.method(x, "to", ctx.b.name("torch.float32"), inline=True)
    largest = float_max(target)
    if ctx.attr_int("saturate", 1):
        x = ctx.b.call("torch.clamp", x, -largest, largest, inline=True)
    elif onnx_from_element_type(target) == FLOAT8E4M3FN:
        # Torch saturates E4M3FN; ONNX gives NaN where rounding goes past 448.
        beyond = ctx.b.call(
            "torch.gt", ctx.b.call("torch.abs", x, inline=True), E4M3FN_OVERFLOW, inline=True
        )
        x = ctx.b.call("torch.where", beyond, float("nan"), x, inline=True)
    return ctx.b.method(x, "to", ctx.dtype(ctx.out_type()))


@lowering("Cast", "CastLike")
@folding
def _cast(ctx: NodeContext) -> list[SSAValue]:
    """`x.to(dtype)`, floats to integers truncating toward zero in both; see the module."""
    source = ctx.in_type(0).get_element_type()
    target = ctx.out_type().get_element_type()
    x = ctx.arg(0)
    if source == target:
        return [x]
    target_number = onnx_from_element_type(target)
    if target_number == FLOAT8E8M0:
        saturate = bool(ctx.attr("saturate", 1))
        round_mode = str(ctx.attr("round_mode", "up"))
        if round_mode not in ("up", "down", "nearest"):
            ctx.unsupported(f"round_mode '{round_mode}'")
        return [ctx.b.call(ctx.helper(runtime._to_float8e8m0), x, saturate, round_mode)]
    if is_float8(target):
        return [_to_float8(ctx, x, source, target)]
    if target_number == FLOAT4E2M1:
        return [ctx.b.call(ctx.helper(runtime._to_float4e2m1), x)]
    if is_emulated(target):
        assert isinstance(target, IntegerType)
        return [_wrapped_int(ctx, x, target)]
    return [ctx.b.method(x, "to", ctx.dtype(ctx.out_type()))]
