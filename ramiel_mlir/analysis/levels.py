"""
Scheduling levels of a weighted DAG (Kwok & Ahmad's terms), each in O(nodes + edges).

- t-level(v): the earliest start of v, the longest path from an entry node to v,
  excluding v's own cost.
- b-level(v): the longest path from v to an exit node, including v's own cost.
- critical path length: the longest path through the DAG (max over v of
  t-level + b-level).

Path lengths count node costs and, with `communication=True`, the cost of every
edge on the path (as if each edge crossed lanes); with `communication=False` only
node costs, the schedule with all communication free.
"""

from __future__ import annotations

from ramiel_mlir.analysis.dag import Dag


def t_levels(dag: Dag, *, communication: bool = True) -> list[float]:
    """The earliest start time of every node (its t-level)."""
    scale = 1.0 if communication else 0.0
    costs = dag.costs
    level = [0.0] * len(dag)
    for v in dag.order:
        start = 0.0
        for u, edge in dag.predecessors[v]:
            start = max(start, level[u] + costs[u] + scale * edge)
        level[v] = start
    return level


def b_levels(dag: Dag, *, communication: bool = True) -> list[float]:
    """The longest path from every node to an exit, its own cost included (b-level)."""
    scale = 1.0 if communication else 0.0
    level = [0.0] * len(dag)
    for u in reversed(dag.order):
        tail = 0.0
        for v, edge in dag.successors[u]:
            tail = max(tail, scale * edge + level[v])
        level[u] = dag.costs[u] + tail
    return level


def critical_path_length(dag: Dag, *, communication: bool = True) -> float:
    """The length of the longest path through the DAG (0 for an empty DAG)."""
    return max(b_levels(dag, communication=communication), default=0.0)


def critical_path(dag: Dag, *, communication: bool = True) -> list[int]:
    """The nodes of one longest path, entry to exit (ties go to the lower node index)."""
    if not len(dag):
        return []
    scale = 1.0 if communication else 0.0
    level = b_levels(dag, communication=communication)
    node = max(range(len(dag)), key=lambda v: (level[v], -v))
    path = [node]
    while dag.successors[node]:
        node = max(dag.successors[node], key=lambda s: (scale * s[1] + level[s[0]], -s[0]))[0]
        path.append(node)
    return path


def total_work(dag: Dag) -> float:
    """The sum of all node costs: the serial execution time."""
    return float(sum(dag.costs))


def parallelism_bound(dag: Dag, lanes: int) -> float:
    """
    The best speedup any schedule on `lanes` lanes can reach: min(lanes, work / critical path).

    The critical path here ignores communication: clustering can make any edge
    free, so only the computation along the longest path is unavoidable. A DAG
    without work has bound 1 (nothing to gain).
    """
    if lanes < 1:
        raise ValueError(f"lanes must be at least 1, got {lanes}")
    path = critical_path_length(dag, communication=False)
    if path <= 0.0:
        return 1.0
    return min(float(lanes), total_work(dag) / path)
