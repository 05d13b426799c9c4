"""
Values the ONNX spec leaves undefined, and which test data depends on them.

The Cast operator's spec: "casting from floating point to fixed point is undefined
if the value is out of range". NaN and the infinities have no integer value, and a
float whose integer part lies outside the target type's range has none in range.
ONNX's node tests compute their expected outputs with numpy and ml_dtypes when the
cases are collected, so for such inputs the expected data is whatever the
collecting processor did: -9.0 cast to INT4 is 7 on one machine and 0 on another.

- `undefined_mask` says which elements of one cast are undefined;
- `undefined_casts` finds the casts of a model's graph that meet such elements on
  given inputs (it runs ONNX's reference implementation with intermediates);
- `outputs_with_undefined_as` recomputes a model's outputs with every undefined
  element of every cast (in subgraphs and functions too) replaced by one value:
  what another processor might have produced. Expected data that changes under it
  depends on the processor.

Casts between integer types are defined (they wrap), and so are casts to floating
types and to bool; only floating-point sources to fixed-point targets are checked.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
import onnx
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator
from onnx.reference.op_run import OpRun
from onnx.reference.ops.op_cast import cast_to

FLOATING = frozenset(
    {
        TensorProto.FLOAT,
        TensorProto.DOUBLE,
        TensorProto.FLOAT16,
        TensorProto.BFLOAT16,
        TensorProto.FLOAT8E4M3FN,
        TensorProto.FLOAT8E4M3FNUZ,
        TensorProto.FLOAT8E5M2,
        TensorProto.FLOAT8E5M2FNUZ,
        TensorProto.FLOAT8E8M0,
        TensorProto.FLOAT4E2M1,
    }
)
"""ONNX's floating-point element types: the sources whose casts to integers can be undefined."""

FIXED_RANGES: dict[int, tuple[int, int]] = {
    TensorProto.INT2: (-2, 1),
    TensorProto.UINT2: (0, 3),
    TensorProto.INT4: (-8, 7),
    TensorProto.UINT4: (0, 15),
    **{
        number: (int(np.iinfo(dtype).min), int(np.iinfo(dtype).max))
        for number, dtype in (
            (TensorProto.INT8, np.int8),
            (TensorProto.UINT8, np.uint8),
            (TensorProto.INT16, np.int16),
            (TensorProto.UINT16, np.uint16),
            (TensorProto.INT32, np.int32),
            (TensorProto.UINT32, np.uint32),
            (TensorProto.INT64, np.int64),
            (TensorProto.UINT64, np.uint64),
        )
    },
}
"""The fixed-point targets, with the range of integer values each holds."""

Fill = Literal["lowest", "highest"]
"""What `outputs_with_undefined_as` puts in an undefined element: the target type's minimum
(x86's "integer indefinite" for 32- and 64-bit conversions) or its maximum. The two differ,
so at least one differs from whatever a given processor produced."""


def undefined_mask(x: np.ndarray, to: int) -> np.ndarray | None:
    """
    The elements of `x` whose cast to ONNX type `to` the spec leaves undefined:
    NaN, infinities, and values whose integer part is outside the target's range.
    None when no element can be (the source is not floating point or the target
    not fixed point).
    """
    if to not in FIXED_RANGES or helper.np_dtype_to_tensor_dtype(x.dtype) not in FLOATING:
        return None
    low, high = FIXED_RANGES[to]
    with np.errstate(invalid="ignore"):
        whole = np.trunc(x.astype(np.float64))
        # The float64 bounds of 64-bit types round; only exact integers can be in range.
        inside = (whole >= float(low)) & (whole <= float(high))
        if high >= 1 << 63:
            inside &= whole < float(1 << 64)
        elif high >= 1 << 62:
            inside &= whole < float(1 << 63)
    return ~inside


@dataclass(frozen=True)
class UndefinedCast:
    """A cast in a model's graph that meets inputs the spec gives no result for."""

    node: str
    """The node's name, or its output's name if it has none."""
    output: str
    """The value the cast computes."""
    source: str
    target: str
    mask: np.ndarray
    """True where the output element is undefined."""

    def describe(self) -> str:
        """One line for a report: which cast, how many elements, why."""
        return (
            f"Cast '{self.node}' from {self.source} to {self.target}: "
            f"{int(self.mask.sum())} of {self.mask.size} elements are NaN, infinite "
            "or out of range, which the ONNX spec leaves undefined"
        )


def _target(node: onnx.NodeProto, values: dict[str, Any]) -> int:
    """The element type a Cast or CastLike converts to."""
    if node.op_type == "CastLike":
        return helper.np_dtype_to_tensor_dtype(np.asarray(values[node.input[1]]).dtype)
    return next(int(a.i) for a in node.attribute if a.name == "to")


def _run_quietly(evaluator: ReferenceEvaluator, feeds: dict[str, Any], **kwargs: Any) -> Any:
    """Run the reference; numpy warns on the very conversions this module is about."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return evaluator.run(None, feeds, **kwargs)


def _feeds(model: onnx.ModelProto, inputs: Sequence[Any]) -> dict[str, Any]:
    initializers = {init.name for init in model.graph.initializer}
    names = [i.name for i in model.graph.input if i.name not in initializers]
    return dict(zip(names, inputs, strict=False))


def undefined_casts(model: onnx.ModelProto, inputs: Sequence[Any]) -> list[UndefinedCast]:
    """The casts of `model`'s graph that meet undefined elements on `inputs`, in graph order."""
    casts = [n for n in model.graph.node if n.op_type in ("Cast", "CastLike") and n.domain == ""]
    if not casts:
        return []
    values = _run_quietly(ReferenceEvaluator(model), _feeds(model, inputs), intermediate=True)
    found: list[UndefinedCast] = []
    for node in casts:
        x = np.asarray(values[node.input[0]])
        to = _target(node, values)
        mask = undefined_mask(x, to)
        if mask is None or not mask.any():
            continue
        found.append(
            UndefinedCast(
                node.name or node.output[0],
                node.output[0],
                TensorProto.DataType.Name(helper.np_dtype_to_tensor_dtype(x.dtype)),
                TensorProto.DataType.Name(to),
                mask,
            )
        )
    return found


def _replaced(x: np.ndarray, to: int, y: np.ndarray, fill: Fill) -> np.ndarray:
    mask = undefined_mask(x, to)
    if mask is None or not mask.any():
        return y
    y = np.array(y, copy=True)
    low, high = FIXED_RANGES[to]
    y[mask] = low if fill == "lowest" else high
    return y


def _cast_ops(fill: Fill) -> list[type[OpRun]]:
    """Cast and CastLike for the reference that give `fill` wherever the result is undefined."""

    class Cast(OpRun):
        op_domain = ""

        def _run(self, x, to: int = 0, saturate=None, round_mode=None):
            saturate = True if saturate is None else bool(saturate)
            y = cast_to(x, cast(Any, to), saturate, round_mode or "up")
            return (_replaced(x, to, y, fill),)

    class CastLike(OpRun):
        op_domain = ""

        def _run(self, x, like, saturate=None, round_mode=None):
            to = helper.np_dtype_to_tensor_dtype(like.dtype)
            saturate = True if saturate is None else bool(saturate)
            y = cast_to(x, to, saturate, round_mode or "up")
            return (_replaced(x, to, y, fill),)

    return [Cast, CastLike]


def _graphs(graph: onnx.GraphProto) -> Iterator[onnx.GraphProto]:
    yield graph
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                yield from _graphs(attribute.g)
            for sub in attribute.graphs:
                yield from _graphs(sub)


def has_casts(model: onnx.ModelProto) -> bool:
    """Whether a Cast or CastLike appears anywhere: graph, subgraphs, model functions."""
    nodes = [n for g in _graphs(model.graph) for n in g.node]
    nodes += [n for f in model.functions for n in f.node]
    return any(n.op_type in ("Cast", "CastLike") for n in nodes)


def same_outputs(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> bool:
    """Equal element for element, NaNs included (compared as bytes where numbers)."""
    for x, y in zip(a, b, strict=True):
        if x.dtype != y.dtype or x.shape != y.shape:
            return False
        if x.dtype == object:
            if not np.array_equal(x, y):
                return False
        elif np.ascontiguousarray(x).tobytes() != np.ascontiguousarray(y).tobytes():
            return False
    return True


def outputs_with_undefined_as(
    model: onnx.ModelProto, inputs: Sequence[Any], fill: Fill | None
) -> list[np.ndarray]:
    """
    The reference's outputs of `model` on `inputs`, with every undefined cast element
    set to `fill` (None: numpy's own conversions, as the collecting machine did).
    """
    evaluator = ReferenceEvaluator(model, new_ops=_cast_ops(fill) if fill else None)
    return [np.asarray(v) for v in _run_quietly(evaluator, _feeds(model, inputs))]
