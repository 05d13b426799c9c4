"""
The scheduling DAG of a `dfg.graph`: which nodes there are, what they cost, and
which data edges join them.

`build_dag` is the general hook: any list of items, a cost function and an edge
function (successors with their communication cost). `graph_dag` applies it to
the `dfg.node` ops of a graph, wherever they are nested, with the SSA data edges
between them and the costs that `estimate-cost` wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from xdsl.ir import Operation, SSAValue

from ramiel_mlir.analysis.dag import Dag
from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.dialects import dfg
from ramiel_mlir.dialects.annotations import EDGE_COST

T = TypeVar("T", bound=Hashable)


@dataclass(frozen=True)
class LabelledDag(Generic[T]):
    """A `Dag` whose integer nodes stand for `items` (node i is `items[i]`)."""

    items: Sequence[T]
    index: dict[T, int]
    dag: Dag


def build_dag(
    items: Sequence[T],
    cost: Callable[[T], float],
    successors: Callable[[T], Iterable[tuple[T, float]]],
) -> LabelledDag[T]:
    """
    The DAG over `items`: node costs from `cost`, edges from `successors`.

    `successors(item)` yields `(successor, communication cost)` pairs; a successor
    that is not among `items` is skipped, so a caller can analyse a subgraph.
    """
    index = {item: i for i, item in enumerate(items)}
    if len(index) != len(items):
        raise ValueError("build_dag needs distinct items")
    edges = [
        (i, index[succ], edge_cost)
        for i, item in enumerate(items)
        for succ, edge_cost in successors(item)
        if succ in index
    ]
    return LabelledDag(items, index, Dag.from_edges([cost(item) for item in items], edges))


def graph_nodes(graph: Operation) -> list[Operation]:
    """
    Every node (`dfg.NodeInterface`) inside `graph`, at any depth, in program order. A
    `dfg.loop` is one node: the nodes of its body are not the graph's.
    """
    nodes: list[Operation] = []
    for region in graph.regions:
        for block in region.blocks:
            for op in block.ops:
                if dfg.is_node(op):
                    nodes.append(op)
                elif op.regions:
                    nodes += graph_nodes(op)
    return nodes


def receivers(graph: Operation) -> dict[str, list[dfg.RecvOp]]:
    """The `dfg.recv` ops of a clustered graph, by channel."""
    found: dict[str, list[dfg.RecvOp]] = {}
    for op in graph.walk():
        if isinstance(op, dfg.RecvOp):
            found.setdefault(op.channel.data, []).append(op)
    return found


def senders(graph: Operation) -> dict[str, dfg.SendOp]:
    """The `dfg.send` op of every channel of a clustered graph."""
    return {op.channel.data: op for op in graph.walk() if isinstance(op, dfg.SendOp)}


def sent_value(value: SSAValue, sends: Mapping[str, dfg.SendOp]) -> SSAValue:
    """The value a `dfg.recv` result stands for (the one sent on its channel), else `value`."""
    while isinstance(value.owner, dfg.RecvOp):
        value = sends[value.owner.channel.data].value
    return value


def data_successors(
    node: Operation, channels: Mapping[str, Sequence[dfg.RecvOp]] | None = None
) -> Iterator[Operation]:
    """
    The nodes that read a result of `node` (each once).

    A result sent on a channel reaches the users of every `dfg.recv` of that
    channel in `channels` (see `receivers`); without `channels`, only direct SSA
    uses count.
    """
    seen: set[Operation] = set()
    pending: list[SSAValue] = list(node.results)
    while pending:
        for use in pending.pop().uses:
            user = use.operation
            if dfg.is_node(user) and user not in seen:
                seen.add(user)
                yield user
            elif isinstance(user, dfg.SendOp) and channels:
                pending += [recv.result for recv in channels.get(user.channel.data, ())]


def node_cost(node: Operation) -> float:
    """The `dfg.cost` of a node (microseconds); an error if it has none."""
    interface = dfg.node_of(node)
    cost = interface.cost(node)
    if cost is None:
        raise RamielError(
            f"{interface.describe(node)} has no cost; run estimate-cost first "
            "(-p 'estimate-cost,linear-cluster,merge-clusters{lanes=2}')"
        )
    return cost


def graph_edge_cost(graph: dfg.GraphOp) -> float:
    """The per-edge communication cost written by estimate-cost (0 if absent)."""
    edge = EDGE_COST.get(graph)
    return edge if edge is not None else 0.0


def graph_dag(
    graph: dfg.GraphOp,
    *,
    edge_cost: float | None = None,
    successors: Callable[[Operation], Iterable[Operation]] | None = None,
) -> LabelledDag[Operation]:
    """
    The DAG of the nodes of `graph` (at any depth), with their `dfg.cost` annotations.

    Every edge costs `edge_cost` (by default the graph's `edge_cost` attribute).
    `successors` gives a node's consumers; by default SSA uses, followed through
    `dfg.send` / `dfg.recv` channels in a clustered graph.
    """
    edge = graph_edge_cost(graph) if edge_cost is None else edge_cost
    channels = receivers(graph)

    def edges(node: Operation) -> Iterator[tuple[Operation, float]]:
        users = data_successors(node, channels) if successors is None else successors(node)
        return ((user, edge) for user in users)

    return build_dag(graph_nodes(graph), node_cost, edges)
