"""
Print the `py` dialect as Python source, one op at a time.

Statements print themselves as lines or indented blocks; expression ops print
inline at their uses; every other value gets a Python name derived from its
name hint (the ONNX tensor name), unique in its function. The printer decides
nothing else: an op it does not know is an error.
"""

from __future__ import annotations

import builtins
import keyword
import math
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseArrayBase,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    StringAttr,
    UnitAttr,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue

from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.dialects import py
from ramiel_mlir.names import unique_name

MAX_LINE = 99
"""Calls longer than this are split one argument per line."""

RESERVED = frozenset({"self", "ch", "torch", "F", "np", "Path", "itertools"})
"""
Names the generated code's bodies use for themselves: no value or parameter
takes them (nor the file's other module-level names, see `_module_globals`).
"""

MODULE_ATTRIBUTES = frozenset(
    """T_destination _apply _backward_hooks _backward_pre_hooks _buffers _call_impl
    _compiled_call_impl _forward_hooks _forward_hooks_always_called _forward_hooks_with_kwargs
    _forward_pre_hooks _forward_pre_hooks_with_kwargs _get_backward_hooks
    _get_backward_pre_hooks _get_name _is_full_backward_hook _load_from_state_dict
    _load_state_dict_post_hooks _load_state_dict_pre_hooks _maybe_warn_non_full_backward_hook
    _modules _named_members _non_persistent_buffers_set _parameters
    _register_load_state_dict_pre_hook _register_state_dict_hook _replicate_for_data_parallel
    _save_to_state_dict _slow_forward _state_dict_hooks _state_dict_pre_hooks _version
    _wrapped_call_impl add_module apply bfloat16 buffers call_super_init children compile cpu
    cuda double dump_patches eval extra_repr float forward get_buffer get_extra_state
    get_parameter get_submodule half ipu load_state_dict modules mtia named_buffers
    named_children named_modules named_parameters parameters register_backward_hook
    register_buffer register_forward_hook register_forward_pre_hook
    register_full_backward_hook register_full_backward_pre_hook
    register_load_state_dict_post_hook register_load_state_dict_pre_hook register_module
    register_parameter register_state_dict_post_hook register_state_dict_pre_hook
    requires_grad_ set_extra_state set_submodule share_memory state_dict to to_empty train
    training type xpu zero_grad""".split()
)
"""
The attributes every `torch.nn.Module` has (torch 2.13): a buffer of the generated
`Model` may not take one of these names (`register_buffer("half", ...)` fails).
`tests/test_buffer_names.py` checks the list against the installed torch.
"""

_NOT_IDENTIFIER = re.compile(r"\W")

_DEFINITIONS = (py.ClassOp, py.FuncOp, py.VerbatimOp, py.RuntimeOp, py.NodeLinesOp)
"""Statements set apart by blank lines."""


def python_identifier(hint: str | None, fallback: str = "v") -> str:
    """
    A valid Python identifier close to `hint` (which may be an ONNX name); keywords
    and builtins get a trailing underscore (`sum_`), so no name shadows them.
    """
    name = _NOT_IDENTIFIER.sub("_", hint or "").strip("_") or fallback
    if name[0].isdigit():
        name = f"{fallback}_{name}"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or hasattr(builtins, name):
        name += "_"
    return name


def readable(text: str) -> str:
    """
    `text` (an ONNX name) as it may stand in a comment or docstring: as it is,
    unless it holds a character that would break the source there (a NUL byte, a
    line break, a backslash, a quote, ...), which are then escaped.
    """
    if text.isprintable() and "\\" not in text and '"' not in text:
        return text
    return text.encode("unicode_escape").decode("ascii").replace('"', '\\"')


def _string(text: str) -> str:
    """A string literal, in double quotes where that needs no escape."""
    quoted = repr(text)
    if quoted.startswith("'") and '"' not in text:
        return '"' + quoted[1:-1].replace("\\'", "'") + '"'
    return quoted


def literal(attr: Attribute) -> str:
    """The Python literal of a `py.constant` value."""
    if isinstance(attr, UnitAttr):
        return "None"
    if isinstance(attr, IntegerAttr):
        value = attr.value.data
        if isinstance(attr.type, IntegerType) and attr.type.width.data == 1:
            return "True" if value else "False"
        return str(value)
    if isinstance(attr, FloatAttr):
        value = attr.value.data
        if math.isnan(value):
            return 'float("nan")'
        if math.isinf(value):
            return 'float("inf")' if value > 0 else '-float("inf")'
        return repr(value)
    if isinstance(attr, StringAttr):
        return _string(attr.data)
    if isinstance(attr, ArrayAttr):
        return "[" + ", ".join(literal(a) for a in attr.data) + "]"
    if isinstance(attr, DenseArrayBase):
        return "[" + ", ".join(repr(v) for v in attr.get_values()) + "]"
    raise RamielError(f"py.constant: no Python literal for {attr}")


@dataclass
class PythonPrinter:
    """Prints one `py.module` to a stream."""

    stream: IO[str]
    indent: int = 0
    names: dict[SSAValue, str] = field(default_factory=dict[SSAValue, str])
    taken: set[str] = field(default_factory=set[str])
    node_lines: dict[int, tuple[str, str]] = field(default_factory=dict[int, tuple[str, str]])
    """The line of every `py.node` printed so far: (node, op type)."""
    line: int = 1
    """The number of the next line to print."""
    _blank_pending: int = 0

    def print_module(self, module: py.ModuleOp) -> None:
        """Print a whole source file."""
        self.taken |= _module_globals(module)
        self._print_block(module.body.block, top_level=True)

    # Lines and blocks

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.line += text.count("\n")

    def _line(self, text: str) -> None:
        if self._blank_pending:
            self._write("\n" * self._blank_pending)
            self._blank_pending = 0
        self._write("    " * self.indent + text + "\n")

    def _blank(self, count: int) -> None:
        self._blank_pending = max(self._blank_pending, count)

    @contextmanager
    def _indented(self) -> Iterator[None]:
        self.indent += 1
        try:
            yield
        finally:
            self.indent -= 1

    def _print_block(self, block: Block, top_level: bool = False) -> None:
        printed = False
        for op in block.ops:
            if py.is_expression(op):
                continue
            is_definition = isinstance(op, _DEFINITIONS)
            if is_definition and printed:
                self._blank(2 if top_level else 1)
            self._print_op(op)
            printed = True
            if is_definition:
                self._blank(2 if top_level else 1)
            elif isinstance(op, py.ImportOp | py.FromImportOp) and not isinstance(
                op.next_op, py.ImportOp | py.FromImportOp
            ):
                self._blank(1)
        if not printed:
            self._line("pass")

    def _docstring(self, doc: StringAttr | None) -> None:
        if doc is None:
            return
        lines = doc.data.splitlines()
        if len(lines) == 1:
            self._line(f'"""{lines[0]}"""')
            return
        self._line(f'"""{lines[0]}')
        for line in lines[1:]:
            self._line(line) if line else self._write("\n")
        self._line('"""')

    # Statements

    def _print_op(self, op: Operation) -> None:
        printer = _STATEMENT_PRINTERS.get(type(op))
        if printer is None:
            raise RamielError(f"the python target cannot print '{op.name}'")
        printer(self, op)

    def _print_comment(self, op: py.CommentOp) -> None:
        for line in op.text.data.splitlines() or [""]:
            self._line(f"# {line}".rstrip())

    def _print_class(self, op: py.ClassOp) -> None:
        bases = ", ".join(b.data for b in op.bases)
        self._line(f"class {op.sym_name.data}({bases}):")
        with self._indented():
            self._docstring(op.doc)
            if op.doc is not None and op.body.block.first_op is not None:
                self._blank(1)
            self._print_block(op.body.block)

    def _print_setattr(self, op: py.SetAttrOp) -> None:
        self._statement(f"{self.expr(op.target)}.{op.attr.data} = ", op.value)

    def _print_verbatim(self, op: py.VerbatimOp) -> None:
        for line in op.text.data.splitlines():
            if line.strip():
                self._line(line)
            else:
                self._write("\n")

    def _print_runtime(self, op: py.RuntimeOp) -> None:
        from ramiel_mlir.backend.runtime_source import resolve, source

        self._print_verbatim(py.VerbatimOp(source(resolve(op.module.data, op.sym_name.data))))

    def _print_node(self, op: py.NodeOp) -> None:
        self._print_comment(py.CommentOp(f"{op.node.data} ({op.op_type.data})"))
        self.node_lines[self.line - 1] = (op.node.data, op.op_type.data)

    def _print_node_lines(self, op: py.NodeLinesOp) -> None:
        entries = [
            f"{line}: ({_string(node)}, {_string(op_type)})"
            for line, (node, op_type) in self.node_lines.items()
        ]
        self._line(f"{op.target.data} = {{")
        with self._indented():
            packed = ""
            for entry in entries:
                if packed and len(packed) + len(entry) + 2 + 4 * self.indent > MAX_LINE:
                    self._line(packed)
                    packed = ""
                packed = f"{packed} {entry}," if packed else f"{entry},"
            if packed:
                self._line(packed)
        self._line("}")

    def _print_func(self, op: py.FuncOp) -> None:
        saved_names, saved_taken = self.names, self.taken
        self.names, self.taken = dict(saved_names), set(saved_taken)
        params: list[str] = []
        defaults = op.defaults.data if op.defaults is not None else ()
        first_default = len(op.arg_names) - len(defaults)
        for index, (arg, name, annotation) in enumerate(
            zip(op.body.block.args, op.arg_names, op.arg_types, strict=True)
        ):
            self.names[arg] = name.data
            self.taken.add(name.data)
            param = f"{name.data}: {annotation.data}" if annotation.data else name.data
            if index >= first_default:
                default = literal(defaults[index - first_default])
                param += f" = {default}" if annotation.data else f"={default}"
            params.append(param)
        returns = f" -> {op.return_type.data}" if op.return_type else ""
        self._line(f"def {op.sym_name.data}({', '.join(params)}){returns}:")
        with self._indented():
            self._docstring(op.doc)
            self._print_block(op.body.block)
        self.names, self.taken = saved_names, saved_taken

    def _print_assignment(self, op: Operation) -> None:
        named = py.named_results(op)
        targets = ", ".join(self._bind(r) for r in named) + " = " if named else ""
        if isinstance(op, py.AssignOp):
            self._statement(targets, op.value)
        else:
            self._wrapped(targets, op)

    def _print_import(self, op: py.ImportOp | py.FromImportOp) -> None:
        if isinstance(op, py.ImportOp):
            alias = f" as {op.alias.data}" if op.alias else ""
            self._line(f"import {op.module.data}{alias}")
        else:
            self._line(f"from {op.module.data} import {', '.join(n.data for n in op.names)}")

    def _print_return(self, op: py.ReturnOp) -> None:
        if len(op.values) == 1:
            self._statement("return ", op.values[0])
            return
        self._line(f"return {', '.join(self.expr(v) for v in op.values)}".rstrip())

    def _statement(self, prefix: str, value: SSAValue) -> None:
        """`prefix` + the expression of `value`, wrapped if it is too long."""
        owner = value.owner
        if (
            value not in self.names
            and isinstance(owner, Operation)
            and (_is_inline_call(owner) or isinstance(owner, py.ListOp))
        ):
            self._wrapped(prefix, owner)
        else:
            self._line(prefix + self.expr(value))

    def _wrapped(self, prefix: str, op: Operation) -> None:
        """
        `prefix` + `op` on one line; if that is longer than `MAX_LINE`, a call's
        arguments or a list's elements go one per line.
        """
        line = prefix + self._render(op)
        parts = self._parts(op)
        if len(line) + 4 * self.indent <= MAX_LINE or parts is None:
            self._line(line)
            return
        opening, items, closing = parts
        self._line(f"{prefix}{opening}")
        with self._indented():
            for item in items:
                self._line(f"{item},")
        self._line(closing)

    def _parts(self, op: Operation) -> tuple[str, list[str], str] | None:
        """A call or list as (opening, items, closing), None for other expressions."""
        if isinstance(op, py.CallOp | py.MethodCallOp):
            head, args = self._call_parts(op)
            return f"{head}(", args, ")"
        if isinstance(op, py.ListOp):
            items = [self.expr(e) for e in op.elements]
            return ("(", items, ")") if op.tuple is not None else ("[", items, "]")
        return None

    def _print_buffer(self, op: py.BufferOp) -> None:
        from ramiel_mlir.tensors import torch_dtype_name

        tensor_type = op.tensor_type
        shape = ", ".join(str(d) for d in tensor_type.get_shape())
        dtype = torch_dtype_name(tensor_type.get_element_type())
        memory_format = f", memory_format=torch.{op.memory_format.data}" if op.memory_format else ""
        self._line(
            f'{self.expr(op.module)}.register_buffer("{op.buffer_name.data}", '
            f"torch.empty(({shape}{',' if len(tensor_type.get_shape()) == 1 else ''}), "
            f"dtype=torch.{dtype}{memory_format}))"
        )

    def _print_for(self, op: py.ForOp) -> None:
        target = self._bind(op.body.block.args[0])
        self._line(f"for {target} in {self.expr(op.iterable)}:")
        with self._indented():
            self._print_block(op.body.block)

    def _print_if(self, op: py.IfOp) -> None:
        for result in py.named_results(op):
            self._bind(result)
        self._line(f"if {self.expr(op.condition)}:")
        with self._indented():
            self._print_block(op.body.block)
        if not op.else_ops:
            return
        self._line("else:")
        with self._indented():
            self._print_block(op.else_body.block)

    def _print_if_yield(self, op: py.IfYieldOp) -> None:
        parent = op.parent_op()
        assert isinstance(parent, py.IfOp)
        if not parent.outputs:
            return
        targets = ", ".join(self.names[r] for r in parent.outputs)
        self._line(f"{targets} = {', '.join(self.expr(v) for v in op.values)}")

    def _print_break(self, op: py.BreakOp) -> None:
        self._line("break")

    def _print_del(self, op: py.DelOp) -> None:
        names = [self.expr(v) for v in op.values]
        line = f"del {', '.join(names)}"
        if len(line) + 4 * self.indent <= MAX_LINE:
            self._line(line)
            return
        self._line("del (")
        with self._indented():
            for name in names:
                self._line(f"{name},")
        self._line(")")

    def _print_rebind(self, op: py.RebindOp) -> None:
        targets = ", ".join(self.expr(t) for t in op.targets)
        self._line(f"{targets} = {', '.join(self.expr(v) for v in op.values)}")

    def _bind(self, value: SSAValue) -> str:
        name = unique_name(python_identifier(value.name_hint), self.taken)
        self.names[value] = name
        return name

    # Expressions

    def expr(self, value: SSAValue, nested: bool = False) -> str:
        """The Python expression for `value`: its name, or its inline rendering."""
        if value in self.names:
            return self.names[value]
        owner = value.owner
        if isinstance(owner, Operation) and py.is_expression(owner):
            text = self._render(owner)
            if nested and isinstance(owner, py.BinaryOp | py.UnaryOp):
                return f"({text})"
            return text
        raise RamielError(f"the python target has no name for {value}")

    def _call_parts(self, op: py.CallOp | py.MethodCallOp) -> tuple[str, list[str]]:
        positional = len(op.args) - len(op.keywords)
        args = [self.expr(a) for a in op.args[:positional]]
        args += [
            f"{k.data}={self.expr(a)}"
            for k, a in zip(op.keywords, op.args[positional:], strict=True)
        ]
        if isinstance(op, py.CallOp):
            return op.callee.data, args
        return f"{self.expr(op.receiver, nested=True)}.{op.method.data}", args

    def _render(self, op: Operation) -> str:
        match op:
            case py.CallOp() | py.MethodCallOp():
                head, args = self._call_parts(op)
                return f"{head}({', '.join(args)})"
            case py.SubscriptOp():
                indices = ", ".join(self.expr(i) for i in op.indices) or "()"
                return f"{self.expr(op.value, nested=True)}[{indices}]"
            case py.AssignOp():
                return self.expr(op.value)
            case py.ConstantOp():
                return literal(op.value)
            case py.NameOp():
                return op.id.data
            case py.GetAttrOp():
                return f"{self.expr(op.value, nested=True)}.{op.attr.data}"
            case py.BinaryOp():
                lhs = self.expr(op.lhs, nested=True)
                rhs = self.expr(op.rhs, nested=True)
                return f"{lhs} {op.op.data} {rhs}"
            case py.ListOp():
                items = [self.expr(e) for e in op.elements]
                if op.tuple is not None:
                    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
                return f"[{', '.join(items)}]"
            case py.UnaryOp():
                separator = " " if op.op.data.isalpha() else ""
                return f"{op.op.data}{separator}{self.expr(op.operand, nested=True)}"
            case py.SliceOp():
                parts = [self._slice_part(v) for v in (op.start, op.stop, op.step)]
                text = f"{parts[0]}:{parts[1]}"
                return text + (f":{parts[2]}" if parts[2] else "")
            case _:
                raise RamielError(f"the python target cannot print '{op.name}'")

    def _slice_part(self, value: SSAValue) -> str:
        owner = value.owner
        if isinstance(owner, py.ConstantOp) and isinstance(owner.value, UnitAttr):
            return ""
        return self.expr(value)


_STATEMENT_PRINTERS: dict[type[Operation], Callable[[PythonPrinter, Any], None]] = {
    py.CommentOp: PythonPrinter._print_comment,
    py.ImportOp: PythonPrinter._print_import,
    py.FromImportOp: PythonPrinter._print_import,
    py.ClassOp: PythonPrinter._print_class,
    py.FuncOp: PythonPrinter._print_func,
    py.ReturnOp: PythonPrinter._print_return,
    py.CallOp: PythonPrinter._print_assignment,
    py.MethodCallOp: PythonPrinter._print_assignment,
    py.SubscriptOp: PythonPrinter._print_assignment,
    py.AssignOp: PythonPrinter._print_assignment,
    py.SetAttrOp: PythonPrinter._print_setattr,
    py.BufferOp: PythonPrinter._print_buffer,
    py.VerbatimOp: PythonPrinter._print_verbatim,
    py.RuntimeOp: PythonPrinter._print_runtime,
    py.NodeOp: PythonPrinter._print_node,
    py.NodeLinesOp: PythonPrinter._print_node_lines,
    py.ForOp: PythonPrinter._print_for,
    py.IfOp: PythonPrinter._print_if,
    py.IfYieldOp: PythonPrinter._print_if_yield,
    py.BreakOp: PythonPrinter._print_break,
    py.RebindOp: PythonPrinter._print_rebind,
    py.DelOp: PythonPrinter._print_del,
}
"""How each statement op prints; expression ops print at their uses instead."""


def _is_inline_call(op: Operation) -> bool:
    return isinstance(op, py.CallOp | py.MethodCallOp) and op.inline is not None


def _module_globals(module: py.ModuleOp) -> set[str]:
    """Names bound at module level (imports, classes, functions): never reused."""
    names = set(RESERVED)
    for op in module.body.block.ops:
        match op:
            case py.RuntimeOp():
                names.add(op.sym_name.data)
            case py.NodeLinesOp():
                names.add(op.target.data)
            case py.ImportOp():
                names.add((op.alias or op.module).data.split(".")[0])
            case py.FromImportOp():
                names.update(n.data for n in op.names)
            case py.ClassOp() | py.FuncOp():
                names.add(op.sym_name.data)
            case _:
                pass
    return names


def print_python(module: py.ModuleOp, stream: IO[str]) -> None:
    """Print `module` as Python source to `stream`."""
    PythonPrinter(stream).print_module(module)


def python_modules(ops: Sequence[Operation]) -> list[py.ModuleOp]:
    """The `py.module` ops at the top of a builtin module."""
    return [op for op in ops if isinstance(op, py.ModuleOp)]
