"""
A small weighted DAG: the structure every scheduling analysis works on.

Nodes are the integers `0..n-1`; node `i` costs `costs[i]` microseconds of
computation, and an edge `u -> v` carries the communication cost (microseconds)
paid when `u` and `v` run on different lanes. `order` is a topological order,
so every analysis is one pass over nodes and edges.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter


@dataclass(frozen=True)
class Dag:
    """A DAG with node and edge costs; build it with `Dag.from_edges`."""

    costs: Sequence[float]
    successors: Sequence[Sequence[tuple[int, float]]]
    """`successors[u]` lists `(v, cost of edge u -> v)`."""
    predecessors: Sequence[Sequence[tuple[int, float]]]
    """`predecessors[v]` lists `(u, cost of edge u -> v)`."""
    order: Sequence[int]
    """The nodes in a topological order (every edge goes forward)."""

    @staticmethod
    def from_edges(costs: Sequence[float], edges: Iterable[tuple[int, int, float]]) -> Dag:
        """
        The DAG with node costs `costs` and edges `(u, v, cost)`.

        A repeated edge keeps its largest cost. Raises ValueError for a negative
        cost, an edge to an unknown node, a self-loop or a cycle.
        """
        count = len(costs)
        if any(c < 0 for c in costs):
            raise ValueError("node costs must not be negative")
        merged: dict[tuple[int, int], float] = {}
        for u, v, cost in edges:
            if not (0 <= u < count and 0 <= v < count):
                raise ValueError(f"edge {u} -> {v} names a node outside 0..{count - 1}")
            if u == v:
                raise ValueError(f"self-loop on node {u}")
            if cost < 0:
                raise ValueError(f"edge {u} -> {v} has a negative cost")
            merged[u, v] = max(cost, merged.get((u, v), cost))
        successors: list[list[tuple[int, float]]] = [[] for _ in range(count)]
        predecessors: list[list[tuple[int, float]]] = [[] for _ in range(count)]
        for (u, v), cost in merged.items():
            successors[u].append((v, cost))
            predecessors[v].append((u, cost))
        order = _topological_order(successors)
        return Dag(tuple(costs), successors, predecessors, order)

    def __len__(self) -> int:
        return len(self.costs)

    @property
    def edge_count(self) -> int:
        """The number of (distinct) edges."""
        return sum(len(s) for s in self.successors)


def _topological_order(successors: Sequence[Sequence[tuple[int, float]]]) -> list[int]:
    """
    A depth-first topological order: the lowest ready node first, then the nodes it
    makes ready before older ones. Deterministic: it depends only on the node and edge
    order. Raises ValueError naming the nodes of a cycle.
    """
    sorter = TopologicalSorter[int]()
    for v in range(len(successors)):
        sorter.add(v)
    for u, succs in enumerate(successors):
        for v, _ in succs:
            sorter.add(v, u)
    try:
        sorter.prepare()
    except CycleError as error:
        cycle: list[int] = error.args[1]
        raise ValueError(f"the graph has a cycle: {' -> '.join(map(str, cycle))}") from None
    ready = list(reversed(sorter.get_ready()))
    order: list[int] = []
    while ready:
        u = ready.pop()
        order.append(u)
        sorter.done(u)
        ready += sorter.get_ready()
    return order
