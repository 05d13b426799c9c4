"""
How ONNX values that are not numeric tensors look in the generated code.

Torch has tensors of numbers only. The generated code holds an ONNX STRING
tensor (`tensor<...x!dfg.string>`) as a numpy array of Python `str` (dtype
object, as onnx and onnxruntime do), an ONNX sequence (`!dfg.sequence<...>`) as
a `list` of tensors and an ONNX optional (`!dfg.optional<...>`) as `None` or its
value. This module gives the lowering their annotations, their input checks
(`runtime/checks.py`) and the literal of
a string constant.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from xdsl.dialects.builtin import DYNAMIC_INDEX, TensorType, UnrankedTensorType
from xdsl.ir import Attribute, SSAValue

from ramiel_mlir.backend.builder import PyBuilder
from ramiel_mlir.backend.runtime_source import Definition, runtime_module
from ramiel_mlir.dialects import dfg
from ramiel_mlir.tensors import is_string, torch_dtype_name

TENSOR = "torch.Tensor"
STRINGS = "np.ndarray"

checks = runtime_module("checks")
"""The input checks of the generated code."""


def is_string_tensor(t: Attribute) -> bool:
    """Whether `t` is a tensor of ONNX STRING elements."""
    return isinstance(t, TensorType) and is_string(t.get_element_type())


def holds_strings(t: Attribute) -> bool:
    """Whether a value of type `t` is or holds a string tensor."""
    if isinstance(t, dfg.OptionalType | dfg.SequenceType):
        return holds_strings(t.element_type)
    return is_string_tensor(t)


def annotation(t: Attribute) -> str:
    """The Python annotation of a value of type `t` in the generated code."""
    if isinstance(t, dfg.OptionalType):
        return f"{annotation(t.element_type)} | None"
    if isinstance(t, dfg.SequenceType):
        return f"list[{TENSOR}]"
    return STRINGS if is_string_tensor(t) else TENSOR


def graph_types(graph: dfg.GraphOp) -> list[Attribute]:
    """The types of every value of the graph: inputs, then op results."""
    types = list(graph.function_type.inputs.data)
    types += [r.type for op in graph.walk() for r in op.results]
    return types


def input_checks(graph: dfg.GraphOp) -> list[Definition]:
    """The runtime checks that the graph's inputs need (`_check_input` always)."""
    inputs = list(graph.function_type.inputs.data)
    needed: list[Definition] = [checks._check_input]
    if any(holds_strings(t) for t in inputs):
        needed.append(checks._check_strings)
    if any(_holds(t, dfg.SequenceType) for t in inputs):
        needed.append(checks._check_sequence)
    if any(isinstance(t, dfg.OptionalType) for t in inputs):
        needed.append(checks._check_optional)
    return needed


def needs_numpy(types: Iterable[Attribute]) -> bool:
    """Whether the generated code holds strings (numpy arrays) for some value."""
    return any(holds_strings(t) for t in types)


def _holds(t: Attribute, kind: type[Attribute]) -> bool:
    if isinstance(t, kind):
        return True
    return isinstance(t, dfg.OptionalType) and _holds(t.element_type, kind)


def check_input(b: PyBuilder, name: str, param: SSAValue, t: Attribute) -> None:
    """`_check_<kind>(name, param, ...)`: the check of one graph input of type `t`."""
    function, expected = _check(b, t)
    b.call_n(function, 0, name, param, *expected)


def _check(b: PyBuilder, t: Attribute) -> tuple[str, list[SSAValue]]:
    """The check function of type `t` and the arguments that describe `t` to it."""
    if isinstance(t, dfg.OptionalType):
        function, expected = _check(b, t.element_type)
        return checks._check_optional.name, [b.name(function), *expected]
    if isinstance(t, dfg.SequenceType):
        element = t.element_type
        assert isinstance(element, TensorType | UnrankedTensorType)
        shape = None
        if isinstance(element, TensorType):
            dims = [None if d == DYNAMIC_INDEX else d for d in element.get_shape()]
            shape = b.list(dims, as_tuple=True)
        dtype = b.name(f"torch.{torch_dtype_name(element.get_element_type())}")
        return checks._check_sequence.name, [b.value(shape), dtype]
    assert isinstance(t, TensorType)
    shape = b.list(list(t.get_shape()), as_tuple=True)
    if is_string(t.get_element_type()):
        return checks._check_strings.name, [shape]
    return checks._check_input.name, [
        shape,
        b.name(f"torch.{torch_dtype_name(t.get_element_type())}"),
    ]


def string_constant(b: PyBuilder, array: np.ndarray) -> SSAValue:
    """`np.array([...], dtype=object)`: a string tensor's value, as Python `str`."""
    if array.size == 0:
        return b.call("np.empty", list(array.shape), dtype=b.name("object"), inline=True)
    values = np.vectorize(_text, otypes=[object])(array)
    return b.call("np.array", values.tolist(), dtype=b.name("object"), inline=True)


def _text(item: object) -> str:
    """An element of an ONNX string tensor as `str` (onnx reads some as UTF-8 `bytes`)."""
    return item.decode("utf-8") if isinstance(item, bytes) else str(item)
