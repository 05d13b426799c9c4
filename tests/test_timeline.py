"""The cost model's planned timeline on small hand-made graphs."""

from __future__ import annotations

from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser

from ramiel_mlir.analysis.timeline import PlannedNode, planned_timeline
from ramiel_mlir.api import make_context
from ramiel_mlir.dialects import dfg

F = "tensor<4xf32>"

CLUSTERED = f"""
dfg.graph @diamond(%x: {F}) -> {F} attributes {{dfg.edge_cost = 2.0 : f64}} {{
  %d = dfg.cluster 0 threads 1 -> {F} {{
    %a = dfg.node "Relu"(%x) opset 17 {{dfg.cost = 1.0 : f64}} : ({F}) -> {F} loc("a")
    dfg.send %a to "a" : {F}
    %b = dfg.node "Tanh"(%a) opset 17 {{dfg.cost = 10.0 : f64}} : ({F}) -> {F} loc("b")
    %c = dfg.recv "c" : {F}
    %d_1 = dfg.node "Add"(%b, %c) opset 17 {{dfg.cost = 1.0 : f64}} : ({F}, {F}) -> {F} loc("d")
    dfg.yield %d_1 : {F}
  }}
  dfg.cluster 1 threads 1 {{
    %a_1 = dfg.recv "a" : {F}
    %c_1 = dfg.node "Sigmoid"(%a_1) opset 17 {{dfg.cost = 6.0 : f64}} : ({F}) -> {F} loc("c")
    dfg.send %c_1 to "c" : {F}
    dfg.yield
  }}
  dfg.output %d : {F}
}}
"""

A = "dfg.cost = 4.0 : f64, dfg.threaded_cost = 3.0 : f64, dfg.threads = 1 : i64"
B = "dfg.cost = 10.0 : f64, dfg.threaded_cost = 6.0 : f64"
ONE_LANE = f"""
dfg.graph @chain(%x: {F}) -> {F} {{
  %y = dfg.cluster 0 threads 2 -> {F} {{
    %a = dfg.node "Relu"(%x) opset 17 {{{A}}} : ({F}) -> {F} loc("a")
    %b = dfg.node "Tanh"(%a) opset 17 {{{B}}} : ({F}) -> {F} loc("b")
    dfg.yield %b : {F}
  }}
  dfg.output %y : {F}
}}
"""


def _graph(text: str) -> dfg.GraphOp:
    module = Parser(make_context(), text).parse_module()
    assert isinstance(module, ModuleOp)
    module.verify()
    graph = next(iter(module.ops))
    assert isinstance(graph, dfg.GraphOp)
    return graph


def test_lanes_wait_for_values_from_other_lanes() -> None:
    """Lane 1 starts a hand-over late and waits for `a`; `d` waits for `c` to arrive."""
    assert planned_timeline(_graph(CLUSTERED)) == [
        PlannedNode("a", "Relu", 0, 0.0, 1.0),
        PlannedNode("b", "Tanh", 0, 1.0, 10.0),
        PlannedNode("d", "Add", 0, 11.0, 1.0),
        PlannedNode("c", "Sigmoid", 1, 3.0, 6.0),
    ]


def test_nodes_on_several_intra_op_threads_cost_their_threaded_cost() -> None:
    """The lane has two threads: `b` costs its threaded cost, `a` (one thread) its cost."""
    assert planned_timeline(_graph(ONE_LANE)) == [
        PlannedNode("a", "Relu", 0, 0.0, 4.0),
        PlannedNode("b", "Tanh", 0, 4.0, 6.0),
    ]


def test_a_flat_graph_is_one_lane_in_program_order() -> None:
    flat = f"""
    dfg.graph @flat(%x: {F}) -> {F} {{
      %a = dfg.node "Relu"(%x) opset 17 {{dfg.cost = 2.0 : f64}} : ({F}) -> {F} loc("a")
      %b = dfg.node "Tanh"(%x) opset 17 {{dfg.cost = 3.0 : f64}} : ({F}) -> {F} loc("b")
      %c = dfg.node "Add"(%a, %b) opset 17 {{dfg.cost = 1.0 : f64}} : ({F}, {F}) -> {F} loc("c")
      dfg.output %c : {F}
    }}
    """
    assert [(p.name, p.lane, p.start) for p in planned_timeline(_graph(flat))] == [
        ("a", 0, 0.0),
        ("b", 0, 2.0),
        ("c", 0, 5.0),
    ]
