"""The scheduling analyses (t-level, b-level, critical path, work, bound) on known DAGs."""

from __future__ import annotations

import itertools
import random

import pytest
from xdsl.parser import Parser

from ramiel_mlir.analysis.dag import Dag
from ramiel_mlir.analysis.graph import build_dag, data_successors, graph_dag, graph_nodes
from ramiel_mlir.analysis.levels import (
    b_levels,
    critical_path,
    critical_path_length,
    parallelism_bound,
    t_levels,
    total_work,
)
from ramiel_mlir.api import make_context
from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.dialects import dfg
from ramiel_mlir.dialects.annotations import COST


def diamond() -> Dag:
    """a(2) forks to b(3) and c(5), which join in d(1); every edge costs 1."""
    return Dag.from_edges([2, 3, 5, 1], [(0, 1, 1), (0, 2, 1), (1, 3, 1), (2, 3, 1)])


def two_chains() -> Dag:
    """x1(4) -> x2(4) and y1(3) -> y2(3), unrelated; edges cost 2."""
    return Dag.from_edges([4, 4, 3, 3], [(0, 1, 2), (2, 3, 2)])


def chain() -> Dag:
    """1 -> 2 -> 3 (costs), edges cost 0.5."""
    return Dag.from_edges([1, 2, 3], [(0, 1, 0.5), (1, 2, 0.5)])


def fan_out() -> Dag:
    """A root of cost 1 feeding 8 leaves of cost 2; edges cost 1."""
    return Dag.from_edges([1] + [2] * 8, [(0, leaf, 1) for leaf in range(1, 9)])


def test_diamond_levels() -> None:
    dag = diamond()
    assert t_levels(dag) == [0, 3, 3, 9]
    assert b_levels(dag) == [10, 5, 7, 1]
    assert critical_path_length(dag) == 10
    assert critical_path(dag) == [0, 2, 3]
    assert t_levels(dag, communication=False) == [0, 2, 2, 7]
    assert b_levels(dag, communication=False) == [8, 4, 6, 1]
    assert critical_path_length(dag, communication=False) == 8
    assert total_work(dag) == 11
    assert parallelism_bound(dag, 2) == pytest.approx(11 / 8)


def test_two_independent_chains() -> None:
    dag = two_chains()
    assert t_levels(dag) == [0, 6, 0, 5]
    assert b_levels(dag) == [10, 4, 8, 3]
    assert critical_path(dag) == [0, 1]
    assert critical_path_length(dag, communication=False) == 8
    assert total_work(dag) == 14
    assert parallelism_bound(dag, 2) == pytest.approx(1.75)
    assert parallelism_bound(dag, 4) == pytest.approx(1.75)
    assert parallelism_bound(dag, 1) == 1


def test_chain_has_no_parallelism() -> None:
    dag = chain()
    assert t_levels(dag) == [0, 1.5, 4]
    assert b_levels(dag) == [7, 5.5, 3]
    assert critical_path_length(dag) == 7
    assert critical_path(dag) == [0, 1, 2]
    assert parallelism_bound(dag, 2) == 1


def test_wide_fan_out() -> None:
    dag = fan_out()
    assert t_levels(dag) == [0] + [2] * 8
    assert b_levels(dag) == [4] + [2] * 8
    assert critical_path(dag) == [0, 1]
    assert total_work(dag) == 17
    assert parallelism_bound(dag, 4) == 4
    assert parallelism_bound(dag, 8) == pytest.approx(17 / 3)


def test_edges_in_any_order_and_repeated() -> None:
    """Node numbers need not be topological; a repeated edge keeps its largest cost."""
    dag = Dag.from_edges([1, 1, 1], [(2, 1, 1), (1, 0, 1), (2, 1, 3)])
    assert list(dag.order) == [2, 1, 0]
    assert dag.edge_count == 2
    assert t_levels(dag) == [6, 4, 0]


@pytest.mark.parametrize(
    ("costs", "edges", "message"),
    [
        ([1, 1], [(0, 1, 0), (1, 0, 0)], "cycle"),
        ([1], [(0, 0, 0)], "self-loop"),
        ([1], [(0, 1, 0)], "outside"),
        ([-1], [], "negative"),
        ([1, 1], [(0, 1, -1)], "negative"),
    ],
)
def test_invalid_dags(
    costs: list[float], edges: list[tuple[int, int, float]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Dag.from_edges(costs, edges)


def test_empty_dag_and_bad_lanes() -> None:
    dag = Dag.from_edges([], [])
    assert critical_path_length(dag) == 0
    assert critical_path(dag) == []
    assert parallelism_bound(dag, 2) == 1
    with pytest.raises(ValueError, match="lanes"):
        parallelism_bound(diamond(), 0)


def random_dag(count: int, seed: int) -> Dag:
    """A layered random DAG: every node takes 1 to 3 inputs from the 50 nodes before it."""
    rng = random.Random(seed)
    edges = [
        (rng.randrange(max(0, v - 50), v), v, rng.uniform(0, 20))
        for v in range(1, count)
        for _ in range(rng.randint(1, 3))
    ]
    return Dag.from_edges([rng.uniform(1, 100) for _ in range(count)], edges)


def test_levels_agree_on_random_dag() -> None:
    """Every node lies on a path of length t + b; the longest of them is the critical path."""
    dag = random_dag(300, seed=1)
    top, bottom = t_levels(dag), b_levels(dag)
    assert max(t + b for t, b in zip(top, bottom, strict=True)) == pytest.approx(
        critical_path_length(dag)
    )
    path = critical_path(dag)
    length = sum(dag.costs[v] for v in path) + sum(
        dict(dag.successors[u])[v] for u, v in itertools.pairwise(path)
    )
    assert length == pytest.approx(critical_path_length(dag))
    assert not dag.predecessors[path[0]]
    assert not dag.successors[path[-1]]


def _analyse(dag: Dag) -> float:
    t_levels(dag)
    b_levels(dag)
    critical_path(dag)
    return parallelism_bound(dag, 2)


def test_three_thousand_nodes() -> None:
    """
    A graph of compile-time size. How long it takes is tools/compile_time.py's to
    measure: a test asserts no time, which depends on the processor and the load.
    """
    assert 1 <= _analyse(random_dag(3000, seed=2)) <= 2


DIAMOND_IR = """
dfg.graph @diamond(%x: tensor<1x4xf32>) -> tensor<1x4xf32> attributes {dfg.edge_cost = 1.0 : f64} {
  %a = dfg.node "Relu"(%x) opset 13 {dfg.cost = 2.0 : f64} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  %b = dfg.node "Sigmoid"(%a) opset 13 {dfg.cost = 3.0 : f64} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  %c = dfg.node "Tanh"(%a) opset 13 {dfg.cost = 5.0 : f64} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  %d = dfg.node "Add"(%b, %c) opset 13 {dfg.cost = 1.0 : f64}
       : (tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  %e = dfg.node "Mul"(%d, %d) opset 13 {dfg.cost = 1.0 : f64}
       : (tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  dfg.output %e : tensor<1x4xf32>
}
"""


def parse_graph(text: str) -> dfg.GraphOp:
    module = Parser(make_context(), text).parse_module()
    graph = next(op for op in module.ops if isinstance(op, dfg.GraphOp))
    return graph


def test_graph_dag_from_ir() -> None:
    """Costs come from the nodes, edges from SSA uses (one edge for a doubly used value)."""
    labelled = graph_dag(parse_graph(DIAMOND_IR))
    names = [dfg.node_of(node).op_type(node) for node in labelled.items]
    assert names == ["Relu", "Sigmoid", "Tanh", "Add", "Mul"]
    assert labelled.dag.edge_count == 5
    assert b_levels(labelled.dag) == [12, 7, 9, 3, 1]
    assert b_levels(graph_dag(parse_graph(DIAMOND_IR), edge_cost=0).dag) == [9, 5, 7, 2, 1]


def test_build_dag_on_a_subset() -> None:
    """Successors outside the items are skipped, so a subgraph can be analysed."""
    graph = parse_graph(DIAMOND_IR)
    relu, sigmoid, tanh, _, _ = graph_nodes(graph)
    labelled = build_dag(
        [relu, tanh],
        lambda node: COST.get(node) or 0.0,
        lambda node: ((user, 0.0) for user in data_successors(node)),
    )
    assert labelled.index[tanh] == 1
    assert critical_path_length(labelled.dag) == 7
    assert sigmoid not in labelled.index


def test_missing_cost_is_an_error() -> None:
    graph = parse_graph(DIAMOND_IR.replace("{dfg.cost = 3.0 : f64} ", ""))
    with pytest.raises(RamielError, match=r"'Sigmoid'.*run estimate-cost"):
        graph_dag(graph)
