"""
ONNX Resize (opsets 11 to 19) and Upsample as one helper of the generated file.

Resize is separable: each resized axis is interpolated on its own, every output
position taking a few neighbours (1-D kernels of 2 or 4 taps, wider when
antialiasing) with coefficients that depend on the mode, the coordinate
transformation and the scale. Scales, sizes and the region of interest are
inputs that a model may compute, so the helper computes positions and
coefficients when it runs, in float64, as ONNX's reference implementation does,
then casts back to the input's type.
"""

from __future__ import annotations

from typing import Any

from xdsl.dialects.builtin import AnyFloat, IntegerType
from xdsl.ir import SSAValue

from ramiel_mlir.backend.context import NodeContext
from ramiel_mlir.backend.ops import lowering
from ramiel_mlir.backend.ops.known import known
from ramiel_mlir.backend.runtime_source import runtime_module

MODES = ("nearest", "linear", "cubic")
COORDINATES = (
    "half_pixel",
    "half_pixel_symmetric",
    "pytorch_half_pixel",
    "align_corners",
    "asymmetric",
    "tf_crop_and_resize",
)

runtime = runtime_module("resize")
"""The runtime functions this file's lowerings call."""
NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")
POLICIES = ("stretch", "not_larger", "not_smaller")


def _list(ctx: NodeContext, index: int) -> list[float] | SSAValue | None:
    """An optional 1-D input as a list (None if omitted or empty), read at run time if computed."""
    if not ctx.has(index) or ctx.in_shape(index) == [0]:
        return None
    value = known(ctx, index)
    if value is not None:
        return [v.item() for v in value.reshape(-1)]
    return ctx.b.method(ctx.arg(index), "tolist", inline=True)


def _string(ctx: NodeContext, name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = str(ctx.attr(name, default))
    if value not in allowed:
        ctx.unsupported(f"{name} '{value}'")
    return value


@lowering("Resize", "Upsample")
def _resize(ctx: NodeContext) -> list[SSAValue]:
    """
    Resize since opset 11 (roi, scales, sizes inputs; antialias, axes and the
    aspect-ratio policy since 18, half_pixel_symmetric since 19). Resize-10 and
    Upsample take scales only and map coordinates asymmetrically; their nearest
    mode rounds down, or up when downsampling, as ONNX Runtime defines it (with
    integer scales: each element repeated).
    """
    element = ctx.in_type(0).get_element_type()
    if not isinstance(element, AnyFloat | IntegerType):
        ctx.unsupported(f"element type {element}")
    mode = _string(ctx, "mode", "nearest", MODES)
    options: dict[str, Any] = {"mode": mode}
    if ctx.node.op_type.data == "Upsample" or ctx.opset < 11:
        if mode == "cubic":
            ctx.unsupported("mode 'cubic' before Resize-11")
        if ctx.node.op_type.data == "Upsample" and ctx.opset < 9:
            scales: Any = ctx.attr_floats("scales")
        else:
            scales = _list(ctx, 1)
        roi: Any = None
        sizes: Any = None
        axes: Any = None
        policy = "stretch"
        options |= {
            "coordinate": "asymmetric",
            "nearest": "simple",
            "a": -0.75,
            "exclude_outside": False,
            "extrapolation": 0.0,
            "antialias": False,
        }
    else:
        roi, scales, sizes = _list(ctx, 1), _list(ctx, 2), _list(ctx, 3)
        if scales is None and sizes is None:
            ctx.error("neither scales nor sizes is given")
        axes = ctx.int_list("axes")
        policy = _string(ctx, "keep_aspect_ratio_policy", "stretch", POLICIES)
        coordinate = _string(ctx, "coordinate_transformation_mode", "half_pixel", COORDINATES)
        if coordinate == "tf_crop_and_resize" and roi is None:
            ctx.error("tf_crop_and_resize needs the roi input")
        options |= {
            "coordinate": coordinate,
            "nearest": _string(ctx, "nearest_mode", "round_prefer_floor", NEAREST_MODES),
            "a": ctx.attr_float("cubic_coeff_a", -0.75),
            "exclude_outside": bool(ctx.attr("exclude_outside", 0)),
            "extrapolation": ctx.attr_float("extrapolation_value", 0.0),
            "antialias": bool(ctx.attr("antialias", 0)),
        }
        if options["antialias"] and mode == "nearest":
            ctx.unsupported("antialias with mode 'nearest'")
    return [
        ctx.b.call(
            ctx.helper(runtime._resize), ctx.arg(0), roi, scales, sizes, axes, policy, **options
        )
    ]
