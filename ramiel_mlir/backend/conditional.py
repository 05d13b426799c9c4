"""
Lower a `dfg.if` (ONNX `If`) to a Python `if`/`else`.

```python
# If (If)
if cond:
    ...                          # the then branch's nodes, lowered by the same op table
    res = then_out
else:
    ...                          # the else branch's nodes
    res = else_out
```

The condition is a one-element bool tensor, which Python's `if` reads as its value.
Only the branch taken runs; the results are bound to one name in both branches.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from xdsl.ir import SSAValue

from ramiel_mlir.backend.builder import PyBuilder
from ramiel_mlir.backend.print_python import readable
from ramiel_mlir.dialects import dfg, py

if TYPE_CHECKING:
    from ramiel_mlir.backend.lowering import GraphLowering


def lower_if(
    lowering: GraphLowering,
    op: dfg.IfOp,
    b: PyBuilder,
    self_value: SSAValue,
    arg: Callable[[SSAValue], SSAValue],
    values: dict[SSAValue, SSAValue],
    threads: int | None = None,
) -> None:
    """
    Append the Python `if`/`else` for `op` to `b`, after setting `threads` if given;
    bind its results in `values`.
    """
    b.node(readable(op.node_name), "If")
    if threads is not None:
        b.call_n("torch.set_num_threads", 0, threads)
    # The branches' code reads contiguous tensors (the layout of a value inside a
    # region is not tracked), and yields them: a channels-last capture is converted.
    layouts = lowering.layouts
    assert layouts is not None
    captured = [layouts.convert(b, v, arg(v), None) for v in op.captures]
    if_op = b.add(py.IfOp(arg(op.condition), len(op.outputs)))
    for branch, block in zip(op.branches, (if_op.body.block, if_op.else_body.block), strict=True):
        branch_values: dict[SSAValue, SSAValue] = dict(zip(branch.args, captured, strict=True))
        body = PyBuilder(block)
        yielded = lowering.lower_ops(branch.ops, body, self_value, branch_values)
        body.add(py.IfYieldOp(yielded))
    for result, python_result in zip(op.outputs, if_op.outputs, strict=True):
        python_result.name_hint = result.name_hint
        values[result] = python_result
