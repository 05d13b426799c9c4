"""
Operators outside the ONNX standard that the compiler's own passes create.

`fuse-conv-activation` rewrites a Conv and the activation after it into one
`FusedConv` node of domain `com.microsoft`, the contrib operator ONNX Runtime's
optimizer creates for the same pattern (same inputs, attributes and meaning:
`Y = activation(Conv(X, W, B))`), so a fused graph is still a graph ONNX Runtime
runs. Its schema is registered with `onnx.defs` once, on first use, so that the
`dfg.node` verifier and every table keyed by ONNX schemas see it like any other
operator.
"""

from __future__ import annotations

from functools import cache

MS_DOMAIN = "com.microsoft"
"""ONNX Runtime's contrib operator domain."""

FUSED_CONV = "FusedConv"
"""Conv followed by an activation, in one node."""

FUSED_CONV_OPSET = 1
"""The version of `com.microsoft` that defines `FusedConv`."""

FUSED_ACTIVATIONS = ("Relu", "Clip", "LeakyRelu")
"""
The `activation` values the compiler fuses: exact elementwise maps, so fused and
unfused code compute the same numbers (`activation_params`: Clip's min and max,
LeakyRelu's alpha).
"""


@cache
def register_contrib_schemas() -> None:
    """Register the schemas of this module's operators with `onnx.defs` (once per process)."""
    from onnx import defs

    if defs.has(FUSED_CONV, MS_DOMAIN):
        return  # another library (or an earlier registration) defines it
    schema = defs.OpSchema
    optional = schema.FormalParameterOption.Optional
    types = ["tensor(float16)", "tensor(float)", "tensor(double)"]
    attr = schema.AttrType
    defs.register_schema(
        schema(
            FUSED_CONV,
            MS_DOMAIN,
            FUSED_CONV_OPSET,
            doc="Conv followed by an activation (ONNX Runtime's contrib operator).",
            inputs=[
                schema.FormalParameter("X", "T"),
                schema.FormalParameter("W", "T"),
                schema.FormalParameter("B", "T", param_option=optional),
                schema.FormalParameter("Z", "T", param_option=optional),
            ],
            outputs=[schema.FormalParameter("Y", "T")],
            type_constraints=[("T", types, "Float tensors.")],
            attributes=[
                schema.Attribute("auto_pad", attr.STRING, "As Conv's.", required=False),
                schema.Attribute("kernel_shape", attr.INTS, "As Conv's.", required=False),
                schema.Attribute("dilations", attr.INTS, "As Conv's.", required=False),
                schema.Attribute("strides", attr.INTS, "As Conv's.", required=False),
                schema.Attribute("pads", attr.INTS, "As Conv's.", required=False),
                schema.Attribute("group", attr.INT, "As Conv's.", required=False),
                schema.Attribute("activation", attr.STRING, "The activation's op type."),
                schema.Attribute(
                    "activation_params", attr.FLOATS, "Its parameters.", required=False
                ),
            ],
        )
    )
