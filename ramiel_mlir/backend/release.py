"""
Free intermediate tensors as soon as their last reader has run.

Python keeps every local variable of a function alive until the function returns,
so a generated `forward` or lane holds all of its activations at once. After the
statement that reads a named value for the last time, `release_dead_values`
inserts a `py.del` of it: its memory goes back to the allocator while the rest of
the function runs, and peak memory falls to the values live at one time (the
figures are in docs/passes.md, under convert-dfg-to-py).

A value last read by an in-place method on it (`a = c.add_(x)`) lives on as the
method's result and is released under that name. Nothing is deleted after the
function's last statement, or the statement before its `return`: the function's exit
frees those values a moment later. Only the function's own statements are
considered: a value read inside a loop or branch is released after that whole
statement, and nothing is deleted inside nested blocks. Parameters are left alone
(the caller holds them anyway).
"""

from __future__ import annotations

from collections.abc import Iterator

from xdsl.ir import Block, Operation, SSAValue

from ramiel_mlir.dialects import py


def _named(value: SSAValue) -> Iterator[SSAValue]:
    """The named values an operand stands for: itself, or those an expression reads."""
    owner = value.owner
    if isinstance(owner, Operation) and py.is_expression(owner):
        for operand in owner.operands:
            yield from _named(operand)
    else:
        yield value


def _reads(statement: Operation) -> Iterator[SSAValue]:
    """Every named value `statement` reads, in its expressions and nested blocks."""
    for op in statement.walk():
        if py.is_expression(op):
            continue  # read where it is used
        for operand in op.operands:
            yield from _named(operand)


def _in_place_on(statement: Operation, value: SSAValue) -> bool:
    """
    Whether `statement` is an in-place method on `value` (`a = c.add_(x)`, or a chain
    of them, `a = c.add_(x).add_(y)`): PyTorch's trailing underscore, whose result is
    `value` itself, so deleting `c` frees nothing.
    """
    while isinstance(statement, py.MethodCallOp) and statement.method.data.endswith("_"):
        if statement.receiver == value:
            return True
        receiver = statement.receiver.owner
        if not (isinstance(receiver, Operation) and py.is_expression(receiver)):
            return False
        statement = receiver
    return False


def release_dead_values(block: Block) -> None:
    """Insert `del` after the statement of `block` that reads each of its named values last."""
    statements = [op for op in block.ops if not py.is_expression(op)]
    last: dict[SSAValue, Operation] = {}
    bound: list[SSAValue] = []
    for statement in statements:
        for value in _reads(statement):
            last[value] = statement
        for value in py.named_results(statement):
            last.setdefault(value, statement)  # never read: released at once
            bound.append(value)
    # The function's exit frees what its last statement (before a return) read.
    ending = statements[-1:]
    if ending and isinstance(ending[0], py.ReturnOp):
        ending = statements[-2:]
    released: dict[Operation, list[SSAValue]] = {}
    for value in bound:
        statement = last[value]
        if statement not in ending and not _in_place_on(statement, value):
            released.setdefault(statement, []).append(value)
    for statement, values in released.items():
        block.insert_op_after(py.DelOp(values), statement)
