"""The `hypercluster` pass: split the batch into slices that run as independent copies."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, NameLoc, NoneAttr, StringAttr, TensorType
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass

from ramiel_mlir.analysis.batch import Separability, batch_separability
from ramiel_mlir.analysis.graph import graph_nodes
from ramiel_mlir.diagnostics import RamielError, remark
from ramiel_mlir.dialects import dfg
from ramiel_mlir.dialects.annotations import COST, THREADED_COST, THREADS
from ramiel_mlir.tensors import dense_from_numpy
from ramiel_mlir.transforms.clusters import is_clustered
from ramiel_mlir.weights import weight_value

SHAPE_INPUTS = {"Reshape": 1, "Expand": 1, "Resize": 3}
"""The input that holds the output shape (sizes), which names the batch, by op type."""

COST_ATTRIBUTES = tuple(a.name for a in (COST, THREADED_COST, THREADS))
"""
What estimate-cost and merge-clusters wrote for the whole batch: wrong for a slice. (A
node's memory format and kernel, `dfg.layout` and `dfg.kernel`, hold for its slices too.)
"""


@dataclass(frozen=True)
class HyperclusterPass(ModulePass):
    """
    Split the batch of each graph into `parts` slices and run the graph once per slice.

    For a graph whose batch (axis 0 of its first input) is known and greater than
    1, `dfg.fork` splits every batched input into `parts` consecutive slices along
    axis 0 (as `torch.tensor_split`: the first `batch % parts` slices hold one
    entry more), the nodes that depend on the batch are copied once per slice
    (each copy is a hypercluster, whose nodes later become lanes), and a
    `dfg.join` concatenates every batched output. Weights and the nodes that do
    not depend on the batch stay single and are shared by the slices; a constant
    that an elementwise node reads per batch entry is forked like an input. A Reshape
    or Expand target shape that names the batch is replaced by one that names
    the slice.

    The split is made only where `batch_separability` proves that no node mixes
    batch entries (analysis/batch.py); otherwise the graph is left as it is and
    a remark on standard error names the node. `parts` above the batch size is
    lowered to it; `parts=1` leaves every graph as it is. The copies lose their
    node annotations (`dfg.cost`, ...): run estimate-cost after this pass.

        %y = dfg.node "Relu"(%x) opset 17 : (tensor<4x3xf32>) -> tensor<4x3xf32>
    becomes, with parts=2,
        %a, %b = dfg.fork %x : tensor<4x3xf32> -> tensor<2x3xf32>, tensor<2x3xf32>
        %ya = dfg.node "Relu"(%a) opset 17 : (tensor<2x3xf32>) -> tensor<2x3xf32>
        %yb = dfg.node "Relu"(%b) opset 17 : (tensor<2x3xf32>) -> tensor<2x3xf32>
        %y = dfg.join %ya, %yb : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<4x3xf32>
    """

    name = "hypercluster"

    parts: int = 2
    """Slices of the batch (K); parallelize chooses it from the cost estimates."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if self.parts < 1:
            raise RamielError(f"hypercluster: parts must be at least 1, got {self.parts}")
        for graph in op.ops:
            if isinstance(graph, dfg.GraphOp) and self.parts > 1:
                hypercluster_graph(graph, self.parts, report=True)


def slice_sizes(batch: int, parts: int) -> list[int]:
    """The sizes of `parts` consecutive slices of `batch` entries, as `torch.tensor_split`."""
    parts = min(parts, batch)
    return [batch // parts + (1 if index < batch % parts else 0) for index in range(parts)]


def hypercluster_graph(graph: dfg.GraphOp, parts: int, *, report: bool = False) -> Separability:
    """
    Split `graph`'s batch into `parts` slices if it is separable; return the analysis.

    With `report`, a graph left unchanged gets a remark that says why.
    """
    if is_clustered(graph):
        raise RamielError(
            f"hypercluster: graph @{graph.sym_name.data} is already clustered; "
            "run hypercluster before linear-cluster"
        )
    found = batch_separability(graph)
    if not found.separable:
        if report:
            where = ""
            if found.blocker is not None:
                where = f" at {dfg.node_of(found.blocker).describe(found.blocker)}"
            remark(
                f"hypercluster: graph @{graph.sym_name.data} left unsplit{where}: {found.reason}",
                at=found.blocker or graph,
            )
        return found
    _split(graph, found, slice_sizes(found.batch, parts))
    return found


def _slice_type(value: SSAValue, rows: int) -> TensorType:
    """The type of `value` with `rows` on axis 0."""
    assert isinstance(value.type, TensorType)
    shape = list(value.type.get_shape())
    return TensorType(value.type.get_element_type(), [rows, *shape[1:]])


def _split(graph: dfg.GraphOp, found: Separability, sizes: list[int]) -> None:
    """Fork the batched inputs, copy the batch-dependent nodes per slice, join the outputs."""
    block = graph.block
    forks = _fork_inputs(graph, found, sizes)
    dependent: list[Operation] = []
    derived: set[SSAValue] = set(forks)
    for node in graph_nodes(graph):
        operands = [*node.operands]
        if any(v in derived for v in operands):
            dependent.append(node)
            derived.update(node.results)
    output = block.last_op
    assert isinstance(output, dfg.OutputOp)
    copies: list[dict[SSAValue, SSAValue]] = []
    shapes: dict[tuple[SSAValue, int], SSAValue] = {}
    for index, size in enumerate(sizes):
        mapping: dict[SSAValue, SSAValue] = {a: f.slices[index] for a, f in forks.items()}
        for node in dependent:
            copy = _copy(node, mapping, found, (index, size), shapes)
            block.insert_op_before(copy, output)
        copies.append(mapping)
    for position, value in enumerate(output.outputs):
        if value in found.batched:
            parts = [mapping[value] for mapping in copies]
            join = dfg.JoinOp(parts, value.type)
            join.result.name_hint = value.name_hint
            block.insert_op_before(join, output)
            output.operands[position] = join.result
        elif value in derived:  # the same in every slice (a shape, say): slice 0's
            output.operands[position] = copies[0][value]
    for node in reversed(dependent):
        node.detach()
        node.erase()


def _fork_inputs(
    graph: dfg.GraphOp, found: Separability, sizes: list[int]
) -> dict[SSAValue, dfg.ForkOp]:
    """
    A `dfg.fork` for every batched input that is read (at the top of the graph) and
    every batched constant (after its `dfg.weight`).
    """
    block = graph.block
    forks: dict[SSAValue, dfg.ForkOp] = {}
    weights = [op.result for op in block.ops if isinstance(op, dfg.WeightOp)]
    for value in [*block.args, *weights]:
        if value not in found.batched or not value.uses:
            continue
        fold = found.factor(value)
        fork = dfg.ForkOp(value, [_slice_type(value, size * fold) for size in sizes])
        for index, part in enumerate(fork.slices):
            part.name_hint = f"{value.name_hint or 'x'}_part{index}"
        if isinstance(value.owner, dfg.WeightOp):
            block.insert_op_after(fork, value.owner)
        else:
            block.insert_op_before(fork, block.first_op)  # pyright: ignore[reportArgumentType]
        forks[value] = fork
    return forks


def _copy(
    node: Operation,
    mapping: dict[SSAValue, SSAValue],
    found: Separability,
    part: tuple[int, int],
    shapes: dict[tuple[SSAValue, int], SSAValue],
) -> Operation:
    """
    `node` for slice `part` (index, size); `mapping` learns its results and
    `shapes` the target shapes made for a slice size.
    """
    index, size = part
    operands = [mapping.get(v, v) for v in node.operands]
    shape_input = SHAPE_INPUTS.get(node.op_type.data) if isinstance(node, dfg.NodeOp) else None
    if shape_input is not None and len(operands) > shape_input:
        assert isinstance(node, dfg.NodeOp)
        key = (operands[shape_input], size)
        if key not in shapes:
            rows = size * found.factor(node.outputs[0])
            shapes[key] = _sliced_shape(node, operands[shape_input], rows)
        operands[shape_input] = shapes[key]
    if isinstance(node, dfg.LoopOp | dfg.IfOp):  # never batched (no rule): only inputs differ
        copy = node.clone(dict(mapping))
    else:
        result_types = [
            _slice_type(r, size * found.factor(r)) if r in found.batched else r.type
            for r in node.results
        ]
        attributes = {k: v for k, v in node.attributes.items() if k not in COST_ATTRIBUTES}
        copy = type(node).create(
            operands=operands, result_types=result_types, attributes=attributes
        )
    for key in COST_ATTRIBUTES:
        copy.attributes.pop(key, None)
    name = dfg.node_of(node).node_name(node)
    copy.location = NameLoc(StringAttr(f"{name}/part{index}"), NoneAttr())
    for result, new in zip(node.results, copy.results, strict=True):
        new.name_hint = f"{result.name_hint}_part{index}" if result.name_hint else None
        mapping[result] = new
    return copy


def _sliced_shape(node: dfg.NodeOp, shape: SSAValue, rows: int) -> SSAValue:
    """
    The target shape (Resize: sizes) of a copy whose output has `rows` on axis 0.

    The batch analysis proved it a constant; where its first entry names axis 0
    (the batch, or batch x k), the copy gets a new constant with `rows` there (Expand: 1, which
    broadcasts to the slice). A 0 or -1 (Reshape: copy or infer the axis), a
    shorter Expand shape and an omitted input need no change.
    """
    owner = shape.owner
    if isinstance(owner, dfg.NoneOp):
        return shape
    assert isinstance(owner, dfg.WeightOp)
    value = np.array(weight_value(owner), dtype=np.int64).reshape(-1)
    rank = len(_slice_type(node.outputs[0], rows).get_shape())
    if len(value) < rank or value[0] in (0, -1):
        return shape
    value[0] = 1 if node.op_type.data == "Expand" else rows
    shape_type = owner.result.type
    assert isinstance(shape_type, TensorType)
    weight = dfg.WeightOp(
        f"{owner.weight_name.data}_part{rows}",
        shape_type,
        value=dense_from_numpy(value, shape_type.get_element_type()),
    )
    weight.result.name_hint = shape.name_hint
    block = node.parent_block()
    assert block is not None
    block.insert_op_before(weight, node)
    return weight.result
