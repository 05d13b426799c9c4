"""
Lower a `dfg.loop` (ONNX `Loop`) to a Python `for` loop.

```python
# loop (Loop)
prev = start                     # one name per carried value, rebound every iteration
cond = cond_in                   # the condition, when the Loop has one
output_items = []                # one list per scan output
for i in range(trip_count):      # `itertools.count()` without a trip count
    if not cond:
        break
    ...                          # the body's nodes, lowered by the same op table
    output_items.append(value)
    cond, prev = cond_out, current
output = _scan_output(output_items, (2,), torch.float32, "loop")
```

`_scan_output` checks that the loop ran exactly the static number of iterations the
scan outputs were compiled for, and raises otherwise: never a silently wrong shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from xdsl.dialects.builtin import NoneType, TensorType
from xdsl.ir import SSAValue

from ramiel_mlir.backend.builder import PyBuilder
from ramiel_mlir.backend.context import NodeContext
from ramiel_mlir.backend.print_python import readable
from ramiel_mlir.backend.runtime_source import runtime_module
from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.dialects import dfg, py
from ramiel_mlir.tensors import torch_dtype_name

runtime = runtime_module("tensor")
"""The runtime functions this file's lowerings call."""

if TYPE_CHECKING:
    from ramiel_mlir.backend.lowering import GraphLowering


def lower_loop(
    lowering: GraphLowering,
    loop: dfg.LoopOp,
    b: PyBuilder,
    self_value: SSAValue,
    arg: Callable[[SSAValue], SSAValue],
    values: dict[SSAValue, SSAValue],
    threads: int | None = None,
) -> None:
    """
    Append the Python loop for `loop` to `b`, after setting `threads` if given;
    bind its results in `values`.
    """
    ctx = NodeContext(loop, b, arg, lowering.constant)  # type: ignore[arg-type]
    block = loop.block
    has_condition = not isinstance(loop.condition.type, NoneType)
    iter_arg, cond_arg, *rest = block.args
    carried_args = rest[: len(loop.inits)]
    capture_args = rest[len(loop.inits) :]
    b.node(readable(loop.node_name), "Loop")
    if threads is not None:
        b.call_n("torch.set_num_threads", 0, threads)

    # Names that the iterations rebind: the condition (if read) and the carried values.
    cond_var: SSAValue | None = None
    terminator = block.last_op
    passed_through = all(u.operation is terminator and u.index == 0 for u in cond_arg.uses)
    if has_condition or not passed_through:
        initial = arg(loop.condition) if has_condition else b.value(True)
        cond_var = _variable(b, initial, cond_arg.name_hint or "cond")
    carried_vars = [
        _variable(b, arg(init), block_arg.name_hint or "carried")
        for init, block_arg in zip(loop.inits, carried_args, strict=True)
    ]
    scan_lists = [
        _variable(b, b.list([]), f"{result.name_hint or 'scan'}_items") for result in loop.scans
    ]

    for_op = b.add(py.ForOp(_iterations(lowering, ctx, loop, b, arg)))
    counter = for_op.body.block.args[0]
    counter.name_hint = "i"
    body = PyBuilder(for_op.body.block)
    if has_condition:
        assert cond_var is not None
        stop = body.add(py.IfOp(body.add(py.UnaryOp("not", cond_var)).res))
        PyBuilder(stop.body.block).add(py.BreakOp())

    body_values: dict[SSAValue, SSAValue] = dict(
        zip(capture_args, map(arg, loop.captures), strict=True)
    )
    body_values.update(zip(carried_args, carried_vars, strict=True))
    if cond_var is not None:
        body_values[cond_arg] = cond_var
    elif cond_arg.uses:  # only yielded as the next condition, which nothing reads
        body_values[cond_arg] = body.value(True)
    if iter_arg.uses:
        body_values[iter_arg] = _iteration_tensor(ctx, body, counter, iter_arg)
    yielded = lowering.lower_ops(block.ops, body, self_value, body_values)
    next_cond, next_carried = yielded[0], yielded[1 : 1 + len(carried_vars)]
    for items, value in zip(scan_lists, yielded[1 + len(carried_vars) :], strict=True):
        body.statement(items, "append", value)
    pairs = [*([(cond_var, next_cond)] if cond_var is not None else [])]
    pairs += zip(carried_vars, next_carried, strict=True)
    changed = [(target, value) for target, value in pairs if target is not value]
    if changed:
        body.add(py.RebindOp([t for t, _ in changed], [v for _, v in changed]))

    values.update(zip(loop.finals, carried_vars, strict=True))
    for result, items in zip(loop.scans, scan_lists, strict=True):
        scan_type = result.type
        assert isinstance(scan_type, TensorType)
        shape = b.list(list(scan_type.get_shape()), as_tuple=True)
        dtype = b.name(f"torch.{torch_dtype_name(scan_type.get_element_type())}")
        stacked = b.call(ctx.helper(runtime._scan_output), items, shape, dtype, loop.node_name)
        stacked.name_hint = result.name_hint
        values[result] = stacked


def _variable(b: PyBuilder, initial: SSAValue, hint: str) -> SSAValue:
    """`hint = initial`: a fresh name that the loop may rebind."""
    variable = b.add(py.AssignOp(initial)).res
    variable.name_hint = hint
    return variable


def _iterations(
    lowering: GraphLowering,
    ctx: NodeContext,
    loop: dfg.LoopOp,
    b: PyBuilder,
    arg: Callable[[SSAValue], SSAValue],
) -> SSAValue:
    """The `for` iterable: `range(M)` (M a literal when constant), else `itertools.count()`."""
    if isinstance(loop.max_trip_count.type, NoneType):
        ctx.import_module("itertools")
        return b.call("itertools.count", inline=True)
    constant = lowering.constant(loop.max_trip_count)
    if constant is not None:
        return b.call("range", int(constant.reshape(-1)[0]), inline=True)
    return b.call("range", b.call("int", arg(loop.max_trip_count), inline=True), inline=True)


def _iteration_tensor(
    ctx: NodeContext, body: PyBuilder, counter: SSAValue, iter_arg: SSAValue
) -> SSAValue:
    """The body's iteration number: the Python counter as an int64 tensor of its shape."""
    arg_type = iter_arg.type
    if not isinstance(arg_type, TensorType):
        raise RamielError(f"node '{ctx.node.node_name}' (Loop): bad iteration number type")
    value: SSAValue = counter
    if arg_type.get_shape():
        value = body.list([counter])
    tensor = body.call("torch.tensor", value, dtype=body.name("torch.int64"))
    tensor.name_hint = iter_arg.name_hint or "iteration"
    return tensor
