"""What an op lowering sees of its `dfg.node`: inputs, attributes, types, a builder."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, NoReturn, TypeVar, overload

import numpy as np
from xdsl.dialects.builtin import (
    AnyFloat,
    ArrayAttr,
    DenseArrayBase,
    FloatAttr,
    IntegerAttr,
    NoneType,
    StringAttr,
    TensorType,
)
from xdsl.ir import Attribute, Block, SSAValue

from ramiel_mlir.analysis.concat_chains import ChainLink
from ramiel_mlir.backend.builder import PyBuilder, add_import, add_runtime
from ramiel_mlir.backend.runtime_source import Definition, Import
from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.dialects import py
from ramiel_mlir.dialects.dfg import DEFAULT_DOMAIN, NodeOp
from ramiel_mlir.onnx.attributes import AttrValue, attr_value
from ramiel_mlir.onnx.attributes import shortest_f32 as _f32
from ramiel_mlir.onnx.contrib import FUSED_CONV, MS_DOMAIN
from ramiel_mlir.tensors import torch_dtype_name

T = TypeVar("T")


class ConvPacking(NamedTuple):
    """A convolution weight packed for oneDNN's convolution on inputs of `input_size`."""

    padding: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    groups: int
    input_size: tuple[int, ...]


class LinearPacking(NamedTuple):
    """
    A weight packed for oneDNN's matrix product over `rows` rows: a 1x1 convolution's
    (over the pixels), or a Gemm's B, which `transposed` says is stored (in, out).
    """

    rows: int
    transposed: bool = False


class NormPacking(NamedTuple):
    """
    Inference batch normalization as `shift + x * scale`, per channel: the `part`
    "scale" (gamma / sqrt(var + epsilon)) or "shift" (beta - mean * scale), shaped to
    broadcast over an input of `rank` dimensions. The four statistics are weights.
    """

    part: str
    gamma: SSAValue
    beta: SSAValue
    mean: SSAValue
    var: SSAValue
    epsilon: float
    rank: int


PackSpec = ConvPacking | LinearPacking | NormPacking
"""How a weight is prepared once at load time: packed for oneDNN, or derived."""

ALLOCATING_OPS = frozenset(
    {
        ("Conv", DEFAULT_DOMAIN),
        (FUSED_CONV, MS_DOMAIN),
        *(
            (op_type, DEFAULT_DOMAIN)
            for op_type in (
                "Add",
                "Sub",
                "Mul",
                "Sum",
                "Relu",
                "BatchNormalization",
                "MatMul",
                "Gemm",
                "Concat",
                "MaxPool",
                "AveragePool",
                "GlobalAveragePool",
                "GlobalMaxPool",
            )
        ),
    }
)
"""
(op type, domain) of the nodes whose lowering returns a tensor it allocated (or a
view of one that nothing else holds) for a float result: what `overwritable` may
let a reader overwrite. `torch.cat` copies even one tensor, and a one-input Sum is
cloned. Ops whose lowering can return an input or a view of one (Identity, Reshape,
Clip without bounds) are not in it.
"""


@dataclass
class NodeContext:
    """
    The lowering of one `dfg.node`.

    `arg(i)` gives the Python value of input i, `const(i)` its compile-time value
    when it is a weight; `attr(name, default)` an ONNX attribute as a Python value;
    `b` appends the code. A lowering returns one value per ONNX output.
    """

    node: NodeOp
    b: PyBuilder
    _arg: Callable[[SSAValue], SSAValue]
    _const: Callable[[SSAValue], np.ndarray | None]
    _packed: Callable[[SSAValue, PackSpec], SSAValue] | None = None
    in_place: bool = False
    """Whether the code may overwrite inputs (`overwritable`); off where nodes rerun."""
    concat_chains: Mapping[NodeOp, ChainLink] = field(default_factory=dict[NodeOp, ChainLink])
    """The graph's Concat chains (`analysis/concat_chains.py`): their results are views."""
    chain_buffers: dict[tuple[NodeOp, Block], SSAValue] = field(
        default_factory=dict[tuple[NodeOp, Block], SSAValue]
    )
    """(a chain's first Concat, the block of its code) -> the buffer the chain writes into."""

    def overwritable(self, index: int) -> bool:
        """
        Whether the node may write its result into input `index`: in-place code is
        allowed, no other op reads the input, and it is a fresh float tensor of the
        result's type, made by a node whose lowering allocates it (`ALLOCATING_OPS`;
        not a Concat of a chain, whose result is a view of the chain's buffer).
        A value that another lane receives, the graph returns or a loop carries has
        another reader.
        """
        value = self.node.inputs[index]
        owner = value.owner
        return (
            self.in_place
            and value.has_one_use()
            and isinstance(owner, NodeOp)
            and (owner.op_type.data, owner.onnx_domain) in ALLOCATING_OPS
            and owner not in self.concat_chains
            and value.type == self.node.outputs[0].type
            and isinstance(value.type, TensorType)
            and isinstance(value.type.get_element_type(), AnyFloat)
        )

    def packed(self, index: int, spec: PackSpec) -> SSAValue:
        """Input `index` (a weight) packed for oneDNN once at load time, as `spec` says."""
        if self._packed is None:
            self.error("packed weights are not available here")
        return self._packed(self.node.inputs[index], spec)

    @property
    def opset(self) -> int:
        """The opset version the node was written against."""
        return self.node.opset.value.data

    def error(self, message: str) -> NoReturn:
        """Fail the lowering with a message that names the node."""
        raise RamielError(f"node '{self.node.node_name}' ({self.node.op_type.data}): {message}")

    def unsupported(self, what: str) -> NoReturn:
        """Fail for a valid ONNX construct that the compiler does not handle."""
        self.error(f"{what} is not supported")

    def has(self, index: int) -> bool:
        """Whether optional input `index` is given."""
        return index < len(self.node.inputs) and not isinstance(
            self.node.inputs[index].type, NoneType
        )

    def arg(self, index: int) -> SSAValue:
        """The Python value of input `index`."""
        if not self.has(index):
            self.error(f"input #{index} is missing")
        return self._arg(self.node.inputs[index])

    def args(self) -> list[SSAValue]:
        """The Python values of all inputs (none may be omitted)."""
        return [self.arg(i) for i in range(len(self.node.inputs))]

    def const(self, index: int) -> np.ndarray | None:
        """The compile-time value of input `index`, None if it is computed."""
        if not self.has(index):
            return None
        return self._const(self.node.inputs[index])

    def require_const(self, index: int, what: str) -> np.ndarray:
        """The compile-time value of input `index`, an error if it is computed."""
        value = self.const(index)
        if value is None:
            self.unsupported(f"a computed {what} (input #{index})")
        return value

    def attr(self, name: str, default: T) -> AttrValue | T:
        """The ONNX attribute `name`, or `default` if the node does not set it."""
        attr = self.node.onnx_attrs.get(name)
        return default if attr is None else attr_value(attr)

    @overload
    def attr_int(self, name: str, default: int) -> int: ...
    @overload
    def attr_int(self, name: str, default: None = None) -> int | None: ...
    def attr_int(self, name: str, default: int | None = None) -> int | None:
        """The INT attribute `name`, or `default`; an error if it has another type."""
        attr = self.node.onnx_attrs.get(name)
        if attr is None:
            return default
        if not isinstance(attr, IntegerAttr):
            self._attr_error(name, "an int", attr)
        return attr.value.data

    @overload
    def attr_float(self, name: str, default: float) -> float: ...
    @overload
    def attr_float(self, name: str, default: None = None) -> float | None: ...
    def attr_float(self, name: str, default: float | None = None) -> float | None:
        """The FLOAT attribute `name` (an INT one converted), or `default`."""
        attr = self.node.onnx_attrs.get(name)
        if attr is None:
            return default
        if isinstance(attr, FloatAttr):
            return _f32(attr.value.data)
        if isinstance(attr, IntegerAttr):
            return float(attr.value.data)
        self._attr_error(name, "a float", attr)

    @overload
    def attr_str(self, name: str, default: str) -> str: ...
    @overload
    def attr_str(self, name: str, default: None = None) -> str | None: ...
    def attr_str(self, name: str, default: str | None = None) -> str | None:
        """The STRING attribute `name`, or `default`."""
        attr = self.node.onnx_attrs.get(name)
        if attr is None:
            return default
        if not isinstance(attr, StringAttr):
            self._attr_error(name, "a string", attr)
        return attr.data

    def attr_ints(self, name: str, default: Sequence[int] = ()) -> list[int]:
        """The INTS attribute `name` as a list, or `default`."""
        attr = self.node.onnx_attrs.get(name)
        if attr is None:
            return list(default)
        values = attr_value(attr) if isinstance(attr, DenseArrayBase) else None
        if not isinstance(values, list) or not all(isinstance(v, int) for v in values):
            self._attr_error(name, "a list of ints", attr)
        return [int(v) for v in values]

    def attr_floats(self, name: str, default: Sequence[float] = ()) -> list[float]:
        """The FLOATS attribute `name` as a list (INTS converted), or `default`."""
        attr = self.node.onnx_attrs.get(name)
        if attr is None:
            return list(default)
        values = attr_value(attr) if isinstance(attr, DenseArrayBase) else None
        if not isinstance(values, list):
            self._attr_error(name, "a list of floats", attr)
        return [float(v) for v in values]

    def attr_strs(self, name: str, default: Sequence[str] = ()) -> list[str]:
        """The STRINGS attribute `name` as a list, or `default`."""
        attr = self.node.onnx_attrs.get(name)
        if attr is None:
            return list(default)
        if not isinstance(attr, ArrayAttr) or not all(isinstance(a, StringAttr) for a in attr):
            self._attr_error(name, "a list of strings", attr)
        return [a.data for a in attr.data if isinstance(a, StringAttr)]

    def _attr_error(self, name: str, what: str, attr: Attribute) -> NoReturn:
        self.error(f"attribute '{name}' must be {what}, got {attr}")

    def int_list(self, name: str, default: list[int] | None = None) -> list[int] | None:
        """An ints attribute as a list (None if neither set nor given a default)."""
        if name not in self.node.onnx_attrs:
            return default
        return self.attr_ints(name)

    def in_type(self, index: int) -> TensorType:
        """The tensor type of input `index`."""
        t = self.node.inputs[index].type
        assert isinstance(t, TensorType)
        return t

    def out_type(self, index: int = 0) -> TensorType:
        """The tensor type of output `index`."""
        t = self.node.outputs[index].type
        assert isinstance(t, TensorType)
        return t

    def in_shape(self, index: int) -> list[int]:
        """The static shape of input `index`; an error if a size is known only at run time."""
        return self._static(self.in_type(index), f"input #{index}")

    def out_shape(self, index: int = 0) -> list[int]:
        """The static shape of output `index`; an error if a size is known only at run time."""
        return self._static(self.out_type(index), f"output #{index}")

    def _static(self, t: TensorType, what: str) -> list[int]:
        if not t.has_static_shape():
            self.error(
                f"the lowering needs the static shape of {what}, but its type {t} has a "
                "size known only at run time (computed from the data)"
            )
        return list(t.get_shape())

    def rank(self, index: int = 0) -> int:
        """The rank of input `index`."""
        return self.in_type(index).get_num_dims()

    def dtype(self, t: TensorType) -> SSAValue:
        """`torch.<dtype>` for the element type of `t`."""
        return self.b.name(f"torch.{torch_dtype_name(t.get_element_type())}")

    def axis(self, axis: int, rank: int) -> int:
        """A non-negative axis, an error if out of range."""
        if not -rank <= axis < rank:
            self.error(f"axis {axis} is out of range for rank {rank}")
        return axis % rank

    def _module_block(self) -> Block:
        """The top-level block of the generated file being built."""
        op = self.b.block.parent_op()
        while op is not None and not isinstance(op, py.ModuleOp):
            op = op.parent_op()
        if op is None:
            self.error("a helper function needs an enclosing py.module")
        return op.body.block

    def import_module(self, module: str, alias: str | None = None) -> None:
        """`import module as alias` among the generated file's imports (once)."""
        add_import(self._module_block(), Import(module, alias=alias))

    def helper(self, definition: Definition) -> str:
        """
        The name of a runtime function (or class) in the generated file, which
        carries its definition (once, before the model class) and the imports it
        needs: for an operator whose definition is a loop or a case analysis over
        values known only at run time, a short named function reads better than
        the same statements repeated at every use.
        """
        return add_runtime(self._module_block(), definition)
