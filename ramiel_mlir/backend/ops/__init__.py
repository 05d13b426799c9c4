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
from typing import TypeAlias

from xdsl.ir import SSAValue

from ramiel_mlir.backend.context import NodeContext

Lowering: TypeAlias = Callable[[NodeContext], Sequence[SSAValue | None]]

LOWERINGS: dict[str, Lowering] = {}
"""ONNX op type (default domain) -> its lowering: `ramiel_mlir.onnx.support.SUPPORTED_OPS`."""


def lowering(*op_types: str) -> Callable[[Lowering], Lowering]:
    """Register a lowering for the given ONNX op types."""

    def register(function: Lowering) -> Lowering:
        for op_type in op_types:
            if op_type in LOWERINGS:
                raise ValueError(f"two lowerings for {op_type}")
            LOWERINGS[op_type] = function
        return function

    return register


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
    selection,
    signal,
    tensor,
)
