"""
The `profile` cost model: time every node alone, as the generated code runs it.

Each `dfg.node` is lowered on its own into a method of a profiling `Model`
(through the same `GraphLowering` and op table as `convert-dfg-to-py`), the
model's real weights are loaded into its buffers, and the methods run once in
program order on a random input, so that every node sees realistic values of
the right shapes (indices computed by the graph stay valid). Each node is then
re-run a few times on one intra-op thread and its median wall time recorded.
Intermediate values are dropped after their last use, so memory stays near
that of one inference.

It lives in the backend, not among the analyses, because it lowers and runs
code; `estimate-cost{model=profile}` calls it.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from io import StringIO
from typing import TYPE_CHECKING, Any

from xdsl.dialects.builtin import NoneType, TensorType
from xdsl.ir import Operation, SSAValue

from ramiel_mlir.analysis.graph import (
    build_dag,
    data_successors,
    graph_nodes,
    receivers,
    senders,
    sent_value,
)
from ramiel_mlir.analysis.machine import call_times_us, torch_threads
from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.dialects import dfg, py

if TYPE_CHECKING:
    import torch

BUDGET_US = 2000.0
"""Time to spend re-running one node (beyond its first run)."""
MIN_REPEATS = 5
MAX_REPEATS = 30


@dataclass(frozen=True)
class NodeMethod:
    """One node lowered alone: `Model.<name>(*params)` returns the values of `results`."""

    node: dfg.NodeOp
    name: str
    params: list[SSAValue]
    results: list[SSAValue]


def lower_node_methods(graph: dfg.GraphOp) -> tuple[py.ModuleOp, list[NodeMethod]]:
    """A `py.module` whose `Model` has one method per node of `graph`, in program order."""
    from ramiel_mlir.backend.builder import PyBuilder
    from ramiel_mlir.backend.lowering import GraphLowering
    from ramiel_mlir.backend.print_python import RESERVED, python_identifier
    from ramiel_mlir.backend.values import graph_types, needs_numpy
    from ramiel_mlir.names import unique_name

    module = py.ModuleOp()
    top = PyBuilder(module.body.block)
    top.add(py.ImportOp("torch"))
    top.add(py.ImportOp("torch.nn.functional", "F"))
    if needs_numpy(graph_types(graph)):
        top.add(py.ImportOp("numpy", "np"))  # string tensors and constants
    model = top.add(py.ClassOp("Model", ["torch.nn.Module"], doc="Every node on its own."))
    class_body = PyBuilder(model.body.block)
    init = class_body.add(py.FuncOp("__init__", ["self"], [""], "None"))
    init_b = PyBuilder(init.body.block)
    init_b.statement(init_b.call("super", inline=True), "__init__")
    # Each node method runs many times on the same inputs: none may overwrite them, and
    # none shares a buffer with another.
    lowering = GraphLowering(
        graph, init_b, init.body.block.args[0], class_body=class_body, in_place=False, chains=False
    )

    methods: list[NodeMethod] = []
    for index, node in enumerate(graph_nodes(graph)):
        if not isinstance(node, dfg.NodeOp):
            continue  # a dfg.loop or dfg.if depends on input values: costed by `flops`
        params = list(dict.fromkeys(v for v in node.operands if _is_computed(v)))
        taken = set(RESERVED)
        names = [unique_name(python_identifier(v.name_hint, "v"), taken) for v in params]
        func = class_body.add(py.FuncOp(f"node_{index}", ["self", *names]))
        args = func.body.block.args
        values: dict[SSAValue, SSAValue] = dict(zip(params, args[1:], strict=True))
        b = PyBuilder(func.body.block)
        lowering.lower_ops([node], b, args[0], values)
        results: list[SSAValue] = [v for v in node.outputs if v in values]
        b.add(py.ReturnOp([values[v] for v in results]))
        methods.append(NodeMethod(node, f"node_{index}", params, results))
    lowering.finish_packing(top.block)  # packed oneDNN weights, repacked when loaded
    return module, methods


def _is_computed(value: SSAValue) -> bool:
    """
    A value that is not a weight, nor omitted, nor a Constant printed where it is
    read: an argument of the node's method.
    """
    from ramiel_mlir.backend.ops.known import inline_constant

    return (
        not isinstance(value.type, NoneType)
        and not isinstance(value.owner, dfg.WeightOp)
        and inline_constant(value) is None
    )


def _instantiate(module: py.ModuleOp, graph: dfg.GraphOp) -> torch.nn.Module:
    """Print and run the profiling module; its `Model` with the graph's weights."""
    from ramiel_mlir.backend.buffers import buffer_arrays
    from ramiel_mlir.backend.print_python import print_python
    from ramiel_mlir.tensors import torch_from_numpy

    source = StringIO()
    print_python(module, source)
    namespace: dict[str, Any] = {}
    exec(compile(source.getvalue(), f"<profile of @{graph.sym_name.data}>", "exec"), namespace)
    model = namespace["Model"]()
    state = {name: torch_from_numpy(array) for name, (_, array) in buffer_arrays(module).items()}
    model.load_state_dict(state, assign=True)
    return model


def sample_input(value: SSAValue) -> Any:
    """
    A graph input: normal random floats, zeros for integers and booleans (valid
    indices), empty strings, an empty sequence, an empty optional.
    """
    import numpy as np
    import torch

    from ramiel_mlir.tensors import is_string, torch_dtype_name

    t = value.type
    if isinstance(t, dfg.SequenceType):
        return []
    if isinstance(t, dfg.OptionalType):
        return None
    assert isinstance(t, TensorType)
    if is_string(t.get_element_type()):
        return np.full(t.get_shape(), "", dtype=object)
    dtype = getattr(torch, torch_dtype_name(t.get_element_type()))
    shape = [1 if d < 0 else d for d in t.get_shape()]  # 0: an empty tensor, as compiled
    if dtype.is_floating_point:
        return torch.randn(shape, generator=torch.Generator().manual_seed(0)).to(dtype)
    return torch.zeros(shape, dtype=dtype)


def time_call(function: Callable[[], object], first_us: float) -> float:
    """The median time (us) of `function()`, repeated as often as `BUDGET_US` allows."""
    repeats = int(min(MAX_REPEATS, max(MIN_REPEATS, BUDGET_US / max(first_us, 1.0))))
    return statistics.median(call_times_us(function, repeats, warmup=0))


def profile_graph(graph: dfg.GraphOp) -> dict[Operation, float]:
    """The median time in microseconds of every node of `graph`, on one intra-op thread."""
    return profile_graph_threads(graph, (1,))[1]


def profile_graph_threads(
    graph: dfg.GraphOp, counts: Sequence[int]
) -> dict[int, dict[Operation, float]]:
    """
    The median time (us) of every node of `graph` with each intra-op thread count in `counts`.

    Each node runs on the outputs its producers computed, once per count in turn,
    so the counts see the same inputs and caches.
    """
    import torch

    module, methods = lower_node_methods(graph)
    model = _instantiate(module, graph)
    sends = senders(graph)
    values: dict[SSAValue, torch.Tensor] = {a: sample_input(a) for a in graph.block.args}
    for fork in graph.block.ops:  # the batch slices of hypercluster: views of an input
        if isinstance(fork, dfg.ForkOp):
            sizes = [t.get_shape()[0] for t in fork.slices.types if isinstance(t, TensorType)]
            values.update(zip(fork.slices, torch.split(values[fork.input], sizes), strict=True))
    pending = _uses(methods, sends)
    costs: dict[int, dict[Operation, float]] = {count: {} for count in counts}
    with torch.inference_mode():
        for method in _dataflow_order(graph, methods):
            function = getattr(model, method.name)
            sources = [sent_value(v, sends) for v in method.params]
            args = [_value(values, v, method.node) for v in sources]
            with torch_threads(counts[0]):
                start = time.perf_counter_ns()
                outputs = function(*args)
                first = (time.perf_counter_ns() - start) / 1e3
            if len(method.results) == 1:
                outputs = (outputs,)
            values.update(zip(method.results, outputs, strict=True))
            for count in counts:
                with torch_threads(count):
                    costs[count][method.node] = time_call(lambda f=function, a=args: f(*a), first)
            for value in sources:
                pending[value] -= 1
                if not pending[value]:
                    values.pop(value, None)
    return costs


def _dataflow_order(graph: dfg.GraphOp, methods: Sequence[NodeMethod]) -> list[NodeMethod]:
    """The methods in an order that runs every node after the nodes it reads from."""
    channels = receivers(graph)
    items: list[Operation] = [m.node for m in methods]
    nodes = build_dag(
        items,
        lambda _: 0.0,
        lambda node: ((user, 0.0) for user in data_successors(node, channels)),
    )
    return [methods[i] for i in nodes.dag.order]


def _uses(methods: Sequence[NodeMethod], sends: Mapping[str, dfg.SendOp]) -> dict[SSAValue, int]:
    """How many node methods take each value (a received value counts as the sent one)."""
    count: dict[SSAValue, int] = {}
    for method in methods:
        for value in method.params:
            source = sent_value(value, sends)
            count[source] = count.get(source, 0) + 1
    return count


def _value(values: dict[SSAValue, torch.Tensor], value: SSAValue, node: dfg.NodeOp) -> Any:
    if value in values:
        return values[value]
    owner = value.owner
    if dfg.is_node(owner):  # a node not profiled (a dfg.loop): a sample of its result type
        return sample_input(value)
    what = owner.name if isinstance(owner, Operation) else "a block argument"
    raise RamielError(
        f"node '{node.node_name}' ({node.op_type.data}): cannot profile an input defined by {what}"
    )
