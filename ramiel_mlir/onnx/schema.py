"""ONNX operator schemas, and which nodes compute the same outputs every time."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from onnx.defs import OpSchema

DEFAULT_DOMAIN = ""
"""The ONNX default operator domain (`ai.onnx`)."""


@cache
def onnx_schema(op_type: str, opset: int, domain: str) -> OpSchema | None:
    """The ONNX schema of `op_type` in force at `opset`, or None if there is none."""
    from onnx import defs

    from ramiel_mlir.onnx.contrib import register_contrib_schemas

    register_contrib_schemas()
    try:
        return defs.get_schema(op_type, opset, domain)
    except defs.SchemaError:
        return None


def schema_is_deterministic(op_type: str, opset: int, domain: str) -> bool:
    """Whether the ONNX schema of `op_type` at `opset` says it is deterministic."""
    from onnx.defs import OpSchema

    schema = onnx_schema(op_type, opset, domain)
    deterministic = OpSchema.NodeDeterminism.Deterministic
    # onnx's type stubs lack `node_determinism` (onnx 1.23).
    return schema is not None and schema.node_determinism == deterministic  # pyright: ignore[reportAttributeAccessIssue]


def is_deterministic(
    op_type: str,
    opset: int,
    domain: str,
    *,
    is_test: int | None = None,
    training_mode: bool | None = None,
) -> bool:
    """
    Whether a node computes the same outputs from the same inputs every time.

    The schema decides, except for Dropout, which draws random numbers only in
    training mode: attribute `is_test` = 0 (None if unset) before opset 7, a true
    `training_mode` input since opset 12. `training_mode` is False when that input
    is omitted or a constant false, True when a constant true, None when computed.
    """
    if op_type == "Dropout" and domain == DEFAULT_DOMAIN:
        if opset < 7:
            return is_test is not None and is_test != 0
        return training_mode is False
    return schema_is_deterministic(op_type, opset, domain)
