"""The dfg node interface (an xDSL trait) and the pass annotations (discardable attributes)."""

from __future__ import annotations

import pytest
from xdsl.parser import Parser
from xdsl.utils.exceptions import VerifyException

from ramiel_mlir.analysis.graph import graph_dag, graph_nodes
from ramiel_mlir.api import make_context
from ramiel_mlir.dialects import dfg
from ramiel_mlir.dialects.annotations import COST, EDGE_COST, THREADS

LOOP_IR = """
dfg.graph @loop(%start: tensor<f32>, %delta: tensor<f32>, %n: tensor<i64>) -> tensor<2xf32>
    attributes {dfg.edge_cost = 2.0 : f64} {
  %none = dfg.none : none
  %d = dfg.node "Neg"(%delta) opset 21 {dfg.cost = 1.0 : f64} : (tensor<f32>) -> tensor<f32>
  %f, %out = dfg.loop(%n, %none) carried(%start : tensor<f32>) captures(%d : tensor<f32>)
      opset 21 attributes {dfg.cost = 20.0 : f64}
      : tensor<i64>, none -> (tensor<f32>, tensor<2xf32>) {
  ^bb0(%i: tensor<i64>, %c: tensor<i1>, %prev: tensor<f32>, %dd: tensor<f32>):
    %cur = dfg.node "Add"(%prev, %dd) opset 21 : (tensor<f32>, tensor<f32>) -> tensor<f32>
    dfg.loop_yield %c, %cur, %prev : tensor<i1>, tensor<f32>, tensor<f32>
  } loc("range_loop")
  %e = dfg.node "Exp"(%out) opset 21 {dfg.cost = 1.0 : f64} : (tensor<2xf32>) -> tensor<2xf32>
  dfg.output %e : tensor<2xf32>
}
"""


def parse_graph(text: str) -> dfg.GraphOp:
    module = Parser(make_context(), text).parse_module()
    return next(op for op in module.ops if isinstance(op, dfg.GraphOp))


def test_nodes_and_loops_share_the_interface() -> None:
    """A dfg.loop is one node (its body's nodes are not the graph's), a weight or none is not."""
    graph = parse_graph(LOOP_IR)
    nodes = graph_nodes(graph)
    assert [dfg.node_of(n).op_type(n) for n in nodes] == ["Neg", "Loop", "Exp"]
    assert [dfg.node_of(n).node_name(n) for n in nodes] == ["Neg", "range_loop", "Exp"]
    assert dfg.node_of(nodes[1]).describe(nodes[1]) == "node 'range_loop' (Loop)"
    assert [dfg.node_of(n).cost(n) for n in nodes] == [1.0, 20.0, 1.0]
    assert not any(dfg.is_node(op) for op in graph.block.ops if isinstance(op, dfg.NoneOp))
    # The loop's capture is a data edge: Neg -> Loop -> Exp.
    labelled = graph_dag(graph)
    assert labelled.dag.edge_count == 2
    assert list(labelled.dag.order) == [0, 1, 2]


def test_annotations_round_trip_and_are_verified() -> None:
    graph = parse_graph(LOOP_IR)
    assert EDGE_COST.get(graph) == 2.0
    node = graph_nodes(graph)[0]
    COST.set(node, 3.5)
    assert COST.get(node) == 3.5
    assert "dfg.cost = 3.5" in str(node)
    COST.remove(node)
    assert COST.get(node) is None
    THREADS.set(node, 2)  # outside a cluster planned with threads
    with pytest.raises(VerifyException, match=r"must be in a dfg\.cluster planned with"):
        node.verify()


IF_IR = """
dfg.graph @if(%c: tensor<i1>, %x: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %d = dfg.node "Neg"(%x) opset 21 : (tensor<64x64xf32>) -> tensor<64x64xf32>
  %y = dfg.if %c captures(%d : tensor<64x64xf32>) opset 21
      : tensor<i1> -> (tensor<64x64xf32>) {
  ^bb0(%a: tensor<64x64xf32>):
    %m = dfg.node "MatMul"(%a, %a) opset 21
        : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32>
    %e = dfg.node "Exp"(%m) opset 21 : (tensor<64x64xf32>) -> tensor<64x64xf32>
    dfg.if_yield %e : tensor<64x64xf32>
  } else {
  ^bb0(%b: tensor<64x64xf32>):
    %r = dfg.node "Relu"(%b) opset 21 : (tensor<64x64xf32>) -> tensor<64x64xf32>
    dfg.if_yield %r : tensor<64x64xf32>
  } loc("choose")
  dfg.output %y : tensor<64x64xf32>
}
"""


def test_an_if_is_one_node_costing_its_dearer_branch() -> None:
    """A dfg.if is one node of type If; the flops model costs it as its dearer branch."""
    from ramiel_mlir.analysis.cost_model import flops_cost
    from ramiel_mlir.analysis.machine import default_machine

    graph = parse_graph(IF_IR)
    nodes = graph_nodes(graph)
    assert [dfg.node_of(n).op_type(n) for n in nodes] == ["Neg", "If"]
    assert dfg.node_of(nodes[1]).describe(nodes[1]) == "node 'choose' (If)"
    machine = default_machine()
    if_op = nodes[1]
    assert isinstance(if_op, dfg.IfOp)
    then_block, else_block = if_op.branches
    branch_costs = [
        sum(flops_cost(op, machine) for op in block.ops if dfg.is_node(op))
        for block in (then_block, else_block)
    ]
    assert branch_costs[0] > branch_costs[1] > 0
    assert flops_cost(if_op, machine) == branch_costs[0]
