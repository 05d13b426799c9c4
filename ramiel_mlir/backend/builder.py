"""A small builder that appends `py` ops to a block, turning Python literals into constants."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias, TypeVar, cast

import numpy as np
from xdsl.dialects.builtin import (
    ArrayAttr,
    FloatAttr,
    IntegerAttr,
    StringAttr,
    UnitAttr,
    f64,
    i1,
    i64,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.rewriter import Rewriter

from ramiel_mlir.backend.runtime_source import Definition, Import, dotted, requirements, resolve
from ramiel_mlir.dialects import py

Literal: TypeAlias = "bool | int | float | str | Sequence[Literal] | np.generic | None"
Arg: TypeAlias = "SSAValue | Literal | Sequence[Arg]"
OpT = TypeVar("OpT", bound=Operation)


def literal_attr(value: Literal) -> Attribute:
    """The attribute that a `py.constant` holds for a Python literal."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None:
        return UnitAttr()
    if isinstance(value, bool):
        return IntegerAttr(int(value), i1)
    if isinstance(value, int):
        return IntegerAttr(value, i64)
    if isinstance(value, float):
        return FloatAttr(value, f64)
    if isinstance(value, str):
        return StringAttr(value)
    if isinstance(value, Sequence | np.ndarray):
        return ArrayAttr(literal_attr(v) for v in value)
    raise TypeError(f"no Python literal for {value!r}")


@dataclass
class PyBuilder:
    """Appends `py` ops to the end of `block`."""

    block: Block

    def add(self, op: OpT) -> OpT:
        """Append `op` and return it."""
        self.block.add_op(op)
        return op

    def value(self, arg: Arg) -> SSAValue:
        """`arg` itself if it is a value, else a constant holding it."""
        if isinstance(arg, SSAValue):
            return arg
        if (
            isinstance(arg, Sequence)
            and not isinstance(arg, str)
            and any(isinstance(a, SSAValue) for a in arg)
        ):
            return self.list([self.value(a) for a in arg])
        # No value inside: a literal.
        return self.add(py.ConstantOp(literal_attr(cast(Literal, arg)))).res

    def name(self, name: str) -> SSAValue:
        """A global name such as `torch.float32`."""
        return self.add(py.NameOp(name)).res

    def list(self, elements: Sequence[Arg], *, as_tuple: bool = False) -> SSAValue:
        """`[a, b, ...]` (or a tuple)."""
        values = [self.value(e) for e in elements]
        return self.add(py.ListOp(values, as_tuple=as_tuple)).res

    def getattr(self, value: SSAValue, attr: str) -> SSAValue:
        """`value.attr`."""
        return self.add(py.GetAttrOp(value, attr)).res

    def _args(
        self, args: Sequence[Arg], kwargs: Mapping[str, Arg], keywords: Mapping[str, Arg] | None
    ) -> tuple[list[SSAValue], list[str]]:
        named = {**(keywords or {}), **kwargs}
        values = [self.value(a) for a in args]
        values += [self.value(v) for v in named.values()]
        return values, list(named)

    def call(
        self,
        callee: str,
        *args: Arg,
        inline: bool = False,
        keywords: Mapping[str, Arg] | None = None,
        **kwargs: Arg,
    ) -> SSAValue:
        """
        `callee(args, **keywords, **kwargs)` with one result (printed at its use if
        `inline`); `keywords` holds keyword arguments gathered in a dict.
        """
        values, keywords_ = self._args(args, kwargs, keywords)
        op = self.add(py.CallOp(callee, values, keywords_))
        if inline:
            op.attributes["inline"] = UnitAttr()
        return op.res[0]

    def call_n(
        self,
        callee: str,
        count: int,
        *args: Arg,
        keywords: Mapping[str, Arg] | None = None,
        **kwargs: Arg,
    ) -> list[SSAValue]:
        """`a, b, ... = callee(args, **keywords, **kwargs)`: a call whose tuple is unpacked."""
        values, names = self._args(args, kwargs, keywords)
        return list(self.add(py.CallOp(callee, values, names, count)).res)

    def method(
        self,
        receiver: SSAValue,
        method: str,
        *args: Arg,
        inline: bool = False,
        keywords: Mapping[str, Arg] | None = None,
        **kwargs: Arg,
    ) -> SSAValue:
        """`receiver.method(args, **keywords, **kwargs)` (printed at its use if `inline`)."""
        values, keywords_ = self._args(args, kwargs, keywords)
        op = self.add(py.MethodCallOp(receiver, method, values, keywords_))
        if inline:
            op.attributes["inline"] = UnitAttr()
        return op.res[0]

    def statement(self, receiver: SSAValue, method: str, *args: Arg, **kwargs: Arg) -> None:
        """`receiver.method(args, **kwargs)` as a statement (no result)."""
        values, keywords = self._args(args, kwargs, None)
        self.add(py.MethodCallOp(receiver, method, values, keywords, 0))

    def binary(self, op: str, lhs: Arg, rhs: Arg) -> SSAValue:
        """`lhs op rhs`."""
        return self.add(py.BinaryOp(op, self.value(lhs), self.value(rhs))).res

    def subscript(self, value: SSAValue, indices: Sequence[Arg | slice]) -> SSAValue:
        """`value[i, j:k, ...]`; Python `slice` objects become `py.slice`."""
        index_values = [
            self.add(py.SliceOp(self.value(i.start), self.value(i.stop), self.value(i.step))).res
            if isinstance(i, slice)
            else self.value(i)
            for i in indices
        ]
        return self.add(py.SubscriptOp(value, index_values)).res

    def comment(self, text: str) -> None:
        """`# text`."""
        self.add(py.CommentOp(text))

    def node(self, node: str, op_type: str) -> None:
        """`# node (op_type)`: where the code of an ONNX node starts."""
        self.add(py.NodeOp(node, op_type))


def _import_key(op: Operation) -> tuple[int, str]:
    """Standard library first, then the rest; by module within each group."""
    assert isinstance(op, py.ImportOp | py.FromImportOp)
    module = op.module.data
    return (0 if module.split(".")[0] in sys.stdlib_module_names else 1, module)


def add_import(block: Block, needed: Import) -> None:
    """
    Add `needed` to the imports at the top of the file `block` holds, once, in
    order (standard library first); `from m import a` and `from m import b` merge.
    """
    imports = [op for op in block.ops if isinstance(op, py.ImportOp | py.FromImportOp)]
    if needed.name is None:
        new: py.ImportOp | py.FromImportOp = py.ImportOp(needed.module, needed.alias)
        for op in imports:
            if isinstance(op, py.ImportOp) and op.module.data == needed.module:
                return
    else:
        names = {needed.name}
        for op in imports:
            if isinstance(op, py.FromImportOp) and op.module.data == needed.module:
                names.update(n.data for n in op.names)
                if len(names) == len(op.names):
                    return
                new = py.FromImportOp(needed.module, sorted(names))
                Rewriter.replace_op(op, new)
                return
        new = py.FromImportOp(needed.module, sorted(names))
    later = next((op for op in imports if _import_key(op) > _import_key(new)), None)
    if later is not None:
        block.insert_op_before(new, later)
    elif imports:
        block.insert_op_after(new, imports[-1])
    else:
        first = next((op for op in block.ops if not isinstance(op, py.CommentOp)), None)
        block.insert_op_before(new, first) if first is not None else block.add_op(new)


def add_runtime(block: Block, definition: Definition) -> str:
    """
    Make the file `block` holds carry `definition` of the runtime (and what it
    uses): a `py.runtime` op for each, once, in `Definition.order`, before the
    first class; the imports they need. Returns its name in the file.
    """
    definitions, imports = requirements(definition)
    for needed in imports:
        add_import(block, needed)
    present = {
        resolve(op.module.data, op.sym_name.data)
        for op in block.ops
        if isinstance(op, py.RuntimeOp)
    }
    for each in definitions:
        if each in present:
            continue
        later = next(
            (
                op
                for op in block.ops
                if isinstance(op, py.ClassOp)
                or (
                    isinstance(op, py.RuntimeOp)
                    and resolve(op.module.data, op.sym_name.data).order > each.order
                )
            ),
            None,
        )
        new = py.RuntimeOp(each.name, dotted(each))
        block.insert_op_before(new, later) if later is not None else block.add_op(new)
        present.add(each)
    return definition.name
