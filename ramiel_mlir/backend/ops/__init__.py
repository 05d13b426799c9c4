"""
How each ONNX operator maps to PyTorch: the one place that knows.

Every lowering is a small function registered with `@lowering("OpType")` in one
of this package's modules (`elementwise`, `nn`, `tensor`); simple ops are rows
of tables there. A lowering takes a `NodeContext` and returns one Python value
per ONNX output (None for an output it does not produce). Shapes are static, so
ONNX's shape arithmetic (Reshape's 0 and -1, auto_pad, negative axes) is done at
compile time and the generated code gets plain numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

from xdsl.ir import SSAValue

from ramiel_mlir.backend.context import NodeContext
from ramiel_mlir.dialects.dfg import DEFAULT_DOMAIN, NodeOp

Lowering: TypeAlias = Callable[[NodeContext], Sequence[SSAValue | None]]

LOWERINGS: dict[str, Lowering] = {}
"""ONNX op type (default domain) -> its lowering: `ramiel_mlir.onnx.support.SUPPORTED_OPS`."""


CONTRIB_LOWERINGS: dict[tuple[str, str], Lowering] = {}
"""(domain, op type) -> the lowering of an operator that passes create (`onnx/contrib.py`)."""


def lowering(*op_types: str, domain: str = DEFAULT_DOMAIN) -> Callable[[Lowering], Lowering]:
    """Register a lowering for the given ONNX op types (of `domain`)."""

    def register(function: Lowering) -> Lowering:
        for op_type in op_types:
            table: dict[Any, Lowering] = (
                LOWERINGS if domain == DEFAULT_DOMAIN else CONTRIB_LOWERINGS
            )
            key = op_type if domain == DEFAULT_DOMAIN else (domain, op_type)
            if key in table:
                raise ValueError(f"two lowerings for {op_type}")
            table[key] = function
        return function

    return register


def lowering_of(node: NodeOp) -> Lowering | None:
    """The lowering of `node`'s operator, None if the compiler has none."""
    if node.onnx_domain == DEFAULT_DOMAIN:
        return LOWERINGS.get(node.op_type.data)
    return CONTRIB_LOWERINGS.get((node.onnx_domain, node.op_type.data))


# Importing the modules registers their lowerings.
from ramiel_mlir.backend.ops import (  # noqa: E402, F401
    attention,
    cast,
    elementwise,
    indexing,
    layout,
    linalg,
    loss,
    nn,
    normalization,
    quantize,
    recurrent,
    reduce,
    resize,
    signal,
    tensor,
)
