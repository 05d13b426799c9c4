"""
The `py` printer dialect: Python source as IR.

Its ops mirror Python closely enough that the `python` target is a walk: statements
(`py.import`, `py.class`, `py.func`, `py.call`, `py.return`, ...) print one line or
one indented block each, and expressions (`py.constant`, `py.name`, `py.getattr`,
`py.binary`, `py.subscript`, `py.slice`) print inline where they are used. Every
decision about *what* to print is taken by the lowering (`convert-dfg-to-py`); the
printer only spells it.

```mlir
py.module {
  py.import "torch"
  py.func "double"(%x) {
    %two = py.constant 2 : i64
    %y = py.call "torch.mul"(%x, %two) : (!py.object, !py.object) -> !py.object
    py.return %y : !py.object
  }
}
```
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import (
    ArrayAttr,
    StringAttr,
    TensorType,
    UnitAttr,
)
from xdsl.ir import (
    Attribute,
    Block,
    Dialect,
    Operation,
    ParametrizedAttribute,
    Region,
    SSAValue,
    TypeAttribute,
)
from xdsl.irdl import (
    AttrSizedOperandSegments,
    IRDLOperation,
    attr_def,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_attr_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.traits import HasParent, IsTerminator, NoTerminator, Pure
from xdsl.utils.exceptions import VerifyException


@irdl_attr_definition
class ObjectType(ParametrizedAttribute, TypeAttribute):
    """The type of every Python value."""

    name = "py.object"


OBJECT = ObjectType()


def _strings(values: Sequence[str]) -> ArrayAttr[StringAttr]:
    return ArrayAttr(StringAttr(v) for v in values)


@irdl_op_definition
class ModuleOp(IRDLOperation):
    """A Python source file: its statements in order."""

    name = "py.module"

    body = region_def("single_block")

    traits = traits_def(NoTerminator())

    assembly_format = "attr-dict-with-keyword $body"

    def __init__(self, ops: Sequence[IRDLOperation] = ()):
        super().__init__(regions=[Region(Block(ops))])


@irdl_op_definition
class CommentOp(IRDLOperation):
    """A comment line: `# text`."""

    name = "py.comment"

    text = attr_def(StringAttr)

    assembly_format = "$text attr-dict"

    def __init__(self, text: str):
        super().__init__(attributes={"text": StringAttr(text)})


@irdl_op_definition
class NodeOp(IRDLOperation):
    """
    Where the code of one ONNX node starts: the comment `# node (op_type)`.
    A `py.node_lines` later in the module lists the line each one printed on.
    """

    name = "py.node"

    node = attr_def(StringAttr)
    op_type = attr_def(StringAttr)

    assembly_format = "$node $op_type attr-dict"

    def __init__(self, node: str, op_type: str):
        super().__init__(attributes={"node": StringAttr(node), "op_type": StringAttr(op_type)})


@irdl_op_definition
class NodeLinesOp(IRDLOperation):
    """
    `target = {line: (node, op_type), ...}` at module level: the line of every
    `py.node` printed before it, so that run-time errors can name their ONNX node.
    """

    name = "py.node_lines"

    target = attr_def(StringAttr)

    assembly_format = "$target attr-dict"

    def __init__(self, target: str):
        super().__init__(attributes={"target": StringAttr(target)})

    def verify_(self) -> None:
        if not isinstance(self.parent_op(), ModuleOp):
            raise VerifyException("py.node_lines must be a statement of a py.module")


@irdl_op_definition
class RuntimeOp(IRDLOperation):
    """
    A definition of the generated code's runtime (`ramiel_mlir/runtime/`),
    copied from its module: `py.runtime "_resize" from "ramiel_mlir.runtime.resize"`.
    """

    name = "py.runtime"

    sym_name = attr_def(StringAttr)
    module = attr_def(StringAttr)

    assembly_format = "$sym_name `from` $module attr-dict"

    def __init__(self, name: str, module: str):
        super().__init__(attributes={"sym_name": StringAttr(name), "module": StringAttr(module)})

    def verify_(self) -> None:
        if not isinstance(self.parent_op(), ModuleOp):
            raise VerifyException("py.runtime must be a statement of a py.module")


@irdl_op_definition
class ImportOp(IRDLOperation):
    """`import module` or `import module as alias`."""

    name = "py.import"

    module = attr_def(StringAttr)
    alias = opt_attr_def(StringAttr)

    assembly_format = "$module (`as` $alias^)? attr-dict"

    def __init__(self, module: str, alias: str | None = None):
        super().__init__(
            attributes={
                "module": StringAttr(module),
                "alias": StringAttr(alias) if alias else None,
            }
        )


@irdl_op_definition
class FromImportOp(IRDLOperation):
    """`from module import name, ...`."""

    name = "py.from_import"

    module = attr_def(StringAttr)
    names = attr_def(ArrayAttr[StringAttr])

    assembly_format = "$module $names attr-dict"

    def __init__(self, module: str, names: Sequence[str]):
        super().__init__(attributes={"module": StringAttr(module), "names": _strings(names)})


@irdl_op_definition
class ClassOp(IRDLOperation):
    """`class Name(bases...):` with a docstring and a body of statements."""

    name = "py.class"

    sym_name = attr_def(StringAttr)
    bases = attr_def(ArrayAttr[StringAttr])
    doc = opt_attr_def(StringAttr)
    body = region_def("single_block")

    traits = traits_def(NoTerminator(), HasParent(ModuleOp))

    assembly_format = "$sym_name `(` $bases `)` attr-dict-with-keyword $body"

    def __init__(self, name: str, bases: Sequence[str], doc: str | None = None) -> None:
        super().__init__(
            attributes={
                "sym_name": StringAttr(name),
                "bases": _strings(bases),
                "doc": StringAttr(doc) if doc else None,
            },
            regions=[Region(Block())],
        )


@irdl_op_definition
class FuncOp(IRDLOperation):
    """
    `def name(params...) -> returns:` with a docstring and a body.

    The entry block's arguments are the parameters; `arg_names` spells them and
    `arg_types` / `return_type` give the annotations ("" for none); `defaults` holds
    literal default values (as `py.constant` holds them) for the last parameters.
    """

    name = "py.func"

    sym_name = attr_def(StringAttr)
    arg_names = attr_def(ArrayAttr[StringAttr])
    arg_types = attr_def(ArrayAttr[StringAttr])
    return_type = opt_attr_def(StringAttr)
    defaults = opt_attr_def(ArrayAttr)
    doc = opt_attr_def(StringAttr)
    body = region_def("single_block")

    traits = traits_def(NoTerminator())

    assembly_format = (
        "$sym_name `(` $arg_names `:` $arg_types `)` (`->` $return_type^)? "
        "attr-dict-with-keyword $body"
    )

    def __init__(
        self,
        name: str,
        arg_names: Sequence[str],
        arg_types: Sequence[str] | None = None,
        return_type: str | None = None,
        doc: str | None = None,
        defaults: Sequence[Attribute] = (),
    ) -> None:
        super().__init__(
            attributes={
                "sym_name": StringAttr(name),
                "arg_names": _strings(arg_names),
                "arg_types": _strings(arg_types or [""] * len(arg_names)),
                "return_type": StringAttr(return_type) if return_type else None,
                "defaults": ArrayAttr(defaults) if defaults else None,
                "doc": StringAttr(doc) if doc else None,
            },
            regions=[Region(Block(arg_types=[OBJECT] * len(arg_names)))],
        )

    def verify_(self) -> None:
        count = len(self.body.block.args)
        if len(self.arg_names) != count or len(self.arg_types) != count:
            raise VerifyException(
                f"py.func '{self.sym_name.data}' has {count} parameters but "
                f"{len(self.arg_names)} names and {len(self.arg_types)} annotations"
            )
        if self.defaults is not None and len(self.defaults) > count:
            raise VerifyException(
                f"py.func '{self.sym_name.data}' has more defaults than parameters"
            )


@irdl_op_definition
class ReturnOp(IRDLOperation):
    """`return a, b, ...` (a bare `return` without operands)."""

    name = "py.return"

    values = var_operand_def(ObjectType)

    traits = traits_def(IsTerminator())

    assembly_format = "($values^ `:` type($values))? attr-dict"

    def __init__(self, values: Sequence[SSAValue] = ()):
        super().__init__(operands=[values])


@irdl_op_definition
class CallOp(IRDLOperation):
    """
    `callee(args..., kw=args...)`: a call of a named function.

    The last `len(keywords)` operands are keyword arguments. With no result it is
    an expression statement; with one, `name = call`; with several, the call's
    tuple is unpacked: `a, b = call`. An `inline` call has one result with one
    use and is printed at that use instead (`f(g(x))`).
    """

    name = "py.call"

    callee = attr_def(StringAttr)
    keywords = attr_def(ArrayAttr[StringAttr], default_value=ArrayAttr(()))
    inline = opt_attr_def(UnitAttr)
    args = var_operand_def(ObjectType)
    res = var_result_def(ObjectType)

    assembly_format = (
        "$callee `(` $args `)` (`keywords` $keywords^)? attr-dict `:` functional-type($args, $res)"
    )

    def __init__(
        self,
        callee: str,
        args: Sequence[SSAValue],
        keywords: Sequence[str] = (),
        num_results: int = 1,
    ) -> None:
        super().__init__(
            operands=[args],
            result_types=[[OBJECT] * num_results],
            attributes={"callee": StringAttr(callee), "keywords": _strings(keywords)},
        )

    def verify_(self) -> None:
        _verify_call(self, self.args, self.keywords)


@irdl_op_definition
class MethodCallOp(IRDLOperation):
    """`receiver.method(args..., kw=args...)`; results as for `py.call`."""

    name = "py.method_call"

    method = attr_def(StringAttr)
    keywords = attr_def(ArrayAttr[StringAttr], default_value=ArrayAttr(()))
    inline = opt_attr_def(UnitAttr)
    receiver = operand_def(ObjectType)
    args = var_operand_def(ObjectType)
    res = var_result_def(ObjectType)

    assembly_format = (
        "$method `of` $receiver `(` $args `)` (`keywords` $keywords^)? attr-dict "
        "`:` functional-type($args, $res)"
    )

    def __init__(
        self,
        receiver: SSAValue,
        method: str,
        args: Sequence[SSAValue],
        keywords: Sequence[str] = (),
        num_results: int = 1,
    ) -> None:
        super().__init__(
            operands=[receiver, args],
            result_types=[[OBJECT] * num_results],
            attributes={"method": StringAttr(method), "keywords": _strings(keywords)},
        )

    def verify_(self) -> None:
        _verify_call(self, self.args, self.keywords)


def _verify_call(
    op: IRDLOperation, args: Sequence[SSAValue], keywords: ArrayAttr[StringAttr]
) -> None:
    if len(keywords) > len(args):
        raise VerifyException(f"{op.name} has {len(keywords)} keywords for {len(args)} arguments")
    if "inline" in op.attributes and (len(op.results) != 1 or not op.results[0].has_one_use()):
        raise VerifyException(f"an inline {op.name} must have exactly one use")


@irdl_op_definition
class AssignOp(IRDLOperation):
    """`name = value`: binds an expression to a name (the result's name)."""

    name = "py.assign"

    value = operand_def(ObjectType)
    res = result_def(ObjectType)

    assembly_format = "$value attr-dict"

    def __init__(self, value: SSAValue) -> None:
        super().__init__(operands=[value], result_types=[OBJECT])


@irdl_op_definition
class SetAttrOp(IRDLOperation):
    """`target.attr = value`."""

    name = "py.setattr"

    target = operand_def(ObjectType)
    attr = attr_def(StringAttr)
    value = operand_def(ObjectType)

    assembly_format = "$attr `of` $target `=` $value attr-dict"

    def __init__(self, target: SSAValue, attr: str, value: SSAValue) -> None:
        super().__init__(operands=[target, value], attributes={"attr": StringAttr(attr)})


@irdl_op_definition
class BufferOp(IRDLOperation):
    """
    `self.register_buffer("name", torch.empty(shape, dtype=...))`.

    Declares a model weight. Its data is not in the source: the python target
    writes it into the weights file, read from `file` (by `key`) or `value`.
    """

    name = "py.buffer"

    module = operand_def(ObjectType)
    buffer_name = attr_def(StringAttr)
    tensor_type = attr_def(TensorType)
    key = attr_def(StringAttr)
    file = opt_attr_def(StringAttr)
    value = opt_attr_def(Attribute)
    memory_format = opt_attr_def(StringAttr)
    """`channels_last` for a weight stored NHWC (`load_state_dict` keeps the format)."""

    assembly_format = (
        "$buffer_name `of` $module `:` $tensor_type `=` $key (`from` $file^)? ($value^)? attr-dict"
    )

    def __init__(
        self,
        module: SSAValue,
        buffer_name: str,
        tensor_type: TensorType,
        key: str,
        *,
        file: str | None = None,
        value: Attribute | None = None,
        memory_format: str | None = None,
    ) -> None:
        super().__init__(
            operands=[module],
            attributes={
                "buffer_name": StringAttr(buffer_name),
                "tensor_type": tensor_type,
                "key": StringAttr(key),
                "file": StringAttr(file) if file is not None else None,
                "value": value,
                "memory_format": StringAttr(memory_format) if memory_format else None,
            },
        )

    def verify_(self) -> None:
        if (self.file is None) == (self.value is None):
            raise VerifyException('py.buffer needs exactly one of `from "file"` or an inline value')


@irdl_op_definition
class VerbatimOp(IRDLOperation):
    """Python source copied as it is (indented to the enclosing block)."""

    name = "py.verbatim"

    text = attr_def(StringAttr)

    assembly_format = "$text attr-dict"

    def __init__(self, text: str) -> None:
        super().__init__(attributes={"text": StringAttr(text)})


# Expressions: printed inline where they are used.


@irdl_op_definition
class ConstantOp(IRDLOperation):
    """
    A Python literal: an integer (`i64`), float, bool (`i1`), string, `unit`
    for None, or an array of those for a list (a `tuple` keyword for a tuple).
    """

    name = "py.constant"

    value = attr_def(Attribute)
    res = result_def(ObjectType)

    traits = traits_def(Pure())

    assembly_format = "$value attr-dict"

    def __init__(self, value: Attribute) -> None:
        super().__init__(attributes={"value": value}, result_types=[OBJECT])


@irdl_op_definition
class NameOp(IRDLOperation):
    """A (dotted) global name: `torch.float32`, `F`, `__file__`."""

    name = "py.name"

    id = attr_def(StringAttr)
    res = result_def(ObjectType)

    traits = traits_def(Pure())

    assembly_format = "$id attr-dict"

    def __init__(self, name: str) -> None:
        super().__init__(attributes={"id": StringAttr(name)}, result_types=[OBJECT])


@irdl_op_definition
class GetAttrOp(IRDLOperation):
    """`value.attr`."""

    name = "py.getattr"

    value = operand_def(ObjectType)
    attr = attr_def(StringAttr)
    res = result_def(ObjectType)

    traits = traits_def(Pure())

    assembly_format = "$attr `of` $value attr-dict"

    def __init__(self, value: SSAValue, attr: str) -> None:
        super().__init__(
            operands=[value], attributes={"attr": StringAttr(attr)}, result_types=[OBJECT]
        )


BINARY_OPERATORS = frozenset({"+", "-", "*", "/", "//", "%", "**", "@", "or", "and", "=="})


@irdl_op_definition
class BinaryOp(IRDLOperation):
    """`lhs op rhs` for a Python binary operator or `==` (parenthesised when nested)."""

    name = "py.binary"

    op = attr_def(StringAttr)
    lhs = operand_def(ObjectType)
    rhs = operand_def(ObjectType)
    res = result_def(ObjectType)

    traits = traits_def(Pure())

    assembly_format = "$lhs $op $rhs attr-dict"

    def __init__(self, op: str, lhs: SSAValue, rhs: SSAValue) -> None:
        super().__init__(
            operands=[lhs, rhs], attributes={"op": StringAttr(op)}, result_types=[OBJECT]
        )

    def verify_(self) -> None:
        if self.op.data not in BINARY_OPERATORS:
            raise VerifyException(f"'{self.op.data}' is not a Python binary operator")


@irdl_op_definition
class SliceOp(IRDLOperation):
    """`start:stop:step` inside a subscript; a `unit` constant leaves a part out."""

    name = "py.slice"

    start = operand_def(ObjectType)
    stop = operand_def(ObjectType)
    step = operand_def(ObjectType)
    res = result_def(ObjectType)

    traits = traits_def(Pure())

    assembly_format = "$start `:` $stop `:` $step attr-dict"

    def __init__(self, start: SSAValue, stop: SSAValue, step: SSAValue) -> None:
        super().__init__(operands=[start, stop, step], result_types=[OBJECT])

    def verify_(self) -> None:
        for use in self.res.uses:
            if not isinstance(use.operation, SubscriptOp) or use.index == 0:
                raise VerifyException("py.slice may only index a py.subscript")


@irdl_op_definition
class ListOp(IRDLOperation):
    """`[a, b, ...]` (or `(a, b, ...)` with `tuple`) of values."""

    name = "py.list"

    elements = var_operand_def(ObjectType)
    tuple = opt_attr_def(UnitAttr)
    res = result_def(ObjectType)

    traits = traits_def(Pure())

    assembly_format = "`[` $elements `]` attr-dict"

    def __init__(self, elements: Sequence[SSAValue], *, as_tuple: bool = False) -> None:
        super().__init__(
            operands=[elements],
            result_types=[OBJECT],
            attributes={"tuple": UnitAttr() if as_tuple else None},
        )


@irdl_op_definition
class SubscriptOp(IRDLOperation):
    """`value[index, ...]`; assigned to a name like a call."""

    name = "py.subscript"

    value = operand_def(ObjectType)
    indices = var_operand_def(ObjectType)
    res = result_def(ObjectType)

    traits = traits_def(Pure())

    assembly_format = "$value `[` $indices `]` attr-dict"

    def __init__(self, value: SSAValue, indices: Sequence[SSAValue]) -> None:
        super().__init__(operands=[value, indices], result_types=[OBJECT])


# Control flow: what a `dfg.loop` and a `dfg.if` lower to.


@irdl_op_definition
class ForOp(IRDLOperation):
    """
    `for target in iterable:` and an indented body; the block's one argument is the
    loop variable (`target`).
    """

    name = "py.for"

    iterable = operand_def(ObjectType)
    body = region_def("single_block")

    traits = traits_def(NoTerminator())

    assembly_format = "$iterable attr-dict-with-keyword $body"

    def __init__(self, iterable: SSAValue) -> None:
        super().__init__(operands=[iterable], regions=[Region(Block(arg_types=[OBJECT]))])

    def verify_(self) -> None:
        if len(self.body.block.args) != 1:
            raise VerifyException(
                f"py.for has {len(self.body.block.args)} loop variables, expected 1"
            )


@irdl_op_definition
class IfOp(IRDLOperation):
    """
    `if condition:` and an indented body, then `else:` and the `else_body` if it has ops.

    With results, each branch ends with `py.if_yield`, which assigns the values the branch
    gives to the names of the results (`res = then_out` / `res = else_out`).
    """

    name = "py.if"

    condition = operand_def(ObjectType)
    outputs = var_result_def(ObjectType)
    body = region_def("single_block")
    else_body = region_def()

    traits = traits_def(NoTerminator())

    assembly_format = (
        "$condition attr-dict-with-keyword (`->` type($outputs)^)? $body `else` $else_body"
    )

    def __init__(self, condition: SSAValue, result_count: int = 0, *, has_else: bool = False):
        else_body = Region(Block()) if has_else or result_count else Region()
        super().__init__(
            operands=[condition],
            result_types=[[OBJECT] * result_count],
            regions=[Region(Block()), else_body],
        )

    @property
    def else_ops(self) -> Sequence[Operation]:
        """The statements of the else body (none when it has no block)."""
        return list(self.else_body.block.ops) if self.else_body.blocks else []

    def verify_(self) -> None:
        if len(self.else_body.blocks) > 1:
            raise VerifyException(
                f"py.if: the else body has {len(self.else_body.blocks)} blocks, at most 1"
            )
        for branch, ops in (("body", list(self.body.block.ops)), ("else_body", self.else_ops)):
            last = ops[-1] if ops else None
            if not self.outputs and not isinstance(last, IfYieldOp):
                continue
            if not isinstance(last, IfYieldOp) or len(last.values) != len(self.outputs):
                raise VerifyException(
                    f"py.if with {len(self.outputs)} results: its {branch} must end with "
                    f"py.if_yield of {len(self.outputs)} values"
                )


@irdl_op_definition
class IfYieldOp(IRDLOperation):
    """`r0, r1 = v0, v1`: ends a `py.if` branch, binding the `py.if` results' names."""

    name = "py.if_yield"

    values = var_operand_def(ObjectType)

    traits = traits_def(HasParent(IfOp))

    assembly_format = "$values attr-dict"

    def __init__(self, values: Sequence[SSAValue]) -> None:
        super().__init__(operands=[values])


@irdl_op_definition
class BreakOp(IRDLOperation):
    """`break`: leaves the innermost enclosing `py.for`."""

    name = "py.break"

    assembly_format = "attr-dict"

    def __init__(self) -> None:
        super().__init__()

    def verify_(self) -> None:
        op = self.parent_op()
        while op is not None and not isinstance(op, ForOp | FuncOp):
            op = op.parent_op()
        if not isinstance(op, ForOp):
            raise VerifyException("py.break must be inside a py.for")


@irdl_op_definition
class RebindOp(IRDLOperation):
    """
    `a, b = x, y`: gives existing names new values, all right-hand sides evaluated first.

    Each target is a value that already has a name (a `py.assign` result); after this
    statement, a later use of the target prints that name, now holding the new value.
    It is how a loop-carried value is updated at the end of a loop body.
    """

    name = "py.rebind"

    targets = var_operand_def(ObjectType)
    values = var_operand_def(ObjectType)

    irdl_options = (AttrSizedOperandSegments(),)

    assembly_format = "$targets `=` $values attr-dict"

    def __init__(self, targets: Sequence[SSAValue], values: Sequence[SSAValue]) -> None:
        super().__init__(operands=[targets, values])

    def verify_(self) -> None:
        if len(self.targets) != len(self.values) or not self.targets:
            raise VerifyException(
                f"py.rebind needs as many values as targets (at least one), got "
                f"{len(self.targets)} targets and {len(self.values)} values"
            )
        for target in self.targets:
            if not isinstance(target.owner, AssignOp):
                raise VerifyException("py.rebind targets must be py.assign results")


@irdl_op_definition
class DelOp(IRDLOperation):
    """
    `del a, b`: unbinds names that no later statement reads, so that the tensors they
    held can be freed before the function returns (Python keeps every local alive
    until then). Each operand is a named value: a statement's result or a parameter.
    """

    name = "py.del"

    values = var_operand_def(ObjectType)

    assembly_format = "$values attr-dict"

    def __init__(self, values: Sequence[SSAValue]) -> None:
        super().__init__(operands=[values])

    def verify_(self) -> None:
        if not self.values:
            raise VerifyException("py.del needs at least one value")
        block = self.parent_block()
        for value in self.values:
            if isinstance(value.owner, Operation) and is_expression(value.owner):
                raise VerifyException(
                    f"py.del of the result of {value.owner.name}, an expression with no name"
                )
            for use in value.uses:
                reader = block.find_ancestor_op_in_block(use.operation) if block else None
                if reader is not None and reader is not self and self.is_before_in_block(reader):
                    raise VerifyException(
                        f"py.del: a value is read after it is deleted (by {reader.name})"
                    )


UNARY_OPERATORS = frozenset({"not", "-"})


@irdl_op_definition
class UnaryOp(IRDLOperation):
    """`op operand` for a Python unary operator (`not x`, `-x`)."""

    name = "py.unary"

    op = attr_def(StringAttr)
    operand = operand_def(ObjectType)
    res = result_def(ObjectType)

    traits = traits_def(Pure())

    assembly_format = "$op $operand attr-dict"

    def __init__(self, op: str, operand: SSAValue) -> None:
        super().__init__(
            operands=[operand], attributes={"op": StringAttr(op)}, result_types=[OBJECT]
        )

    def verify_(self) -> None:
        if self.op.data not in UNARY_OPERATORS:
            raise VerifyException(f"'{self.op.data}' is not a Python unary operator")


PY = Dialect(
    "py",
    [
        ModuleOp,
        CommentOp,
        NodeOp,
        NodeLinesOp,
        RuntimeOp,
        ImportOp,
        FromImportOp,
        ClassOp,
        FuncOp,
        ReturnOp,
        CallOp,
        MethodCallOp,
        AssignOp,
        SetAttrOp,
        BufferOp,
        VerbatimOp,
        ConstantOp,
        NameOp,
        GetAttrOp,
        BinaryOp,
        SliceOp,
        ListOp,
        SubscriptOp,
        ForOp,
        IfOp,
        IfYieldOp,
        BreakOp,
        RebindOp,
        DelOp,
        UnaryOp,
    ],
    [ObjectType],
)


def is_expression(op: Operation) -> bool:
    """Whether `op` is an expression, printed inline where it is used, rather than a statement."""
    if isinstance(op, CallOp | MethodCallOp):
        return op.inline is not None
    return isinstance(op, ConstantOp | NameOp | GetAttrOp | BinaryOp | SliceOp | ListOp | UnaryOp)


def named_results(op: Operation) -> list[SSAValue]:
    """
    The results a statement gives Python names to: all of them when one is read (a call's
    unused results are then unpacked too), a `py.assign`'s and a `py.if`'s always.
    """
    if isinstance(op, AssignOp | IfOp) or any(r.uses for r in op.results):
        return list(op.results)
    return []
