"""Batch separability (analysis/batch.py) on small hand-made graphs."""

from __future__ import annotations

import pytest
from xdsl.parser import Parser

from ramiel_mlir.analysis.batch import batch_separability, batch_slices
from ramiel_mlir.api import make_context
from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.dialects import dfg


def graph(text: str) -> dfg.GraphOp:
    """The one graph of `text` (a module body)."""
    module = Parser(make_context(), text).parse_module()
    module.verify()
    (found,) = [op for op in module.ops if isinstance(op, dfg.GraphOp)]
    return found


def values(g: dfg.GraphOp) -> dict[str, object]:
    """Node results and inputs of `g` by name hint."""
    named: dict[str, object] = {a.name_hint or "": a for a in g.block.args}
    for op in g.walk():
        named.update({r.name_hint or "": r for r in op.results})
    return named


def test_elementwise_with_broadcast_bias_is_separable() -> None:
    g = graph("""
    dfg.graph @g(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
      %b = dfg.weight "b" dense<1.0> : tensor<3xf32> : tensor<3xf32>
      %nb = dfg.node "Neg"(%b) opset 17 : (tensor<3xf32>) -> tensor<3xf32>
      %y = dfg.node "Add"(%x, %nb) opset 17 : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<4x3xf32>
      dfg.output %y : tensor<4x3xf32>
    }""")
    found = batch_separability(g)
    assert found.separable
    assert found.batch == 4
    named = values(g)
    assert named["y"] in found.batched
    assert named["x"] in found.batched
    assert named["nb"] not in found.batched  # weights-only: computed once, shared


def test_reshape_folding_the_batch_into_another_axis_blocks() -> None:
    g = graph("""
    dfg.graph @g(%x: tensor<4x3xf32>) -> tensor<2x6xf32> {
      %s = dfg.weight "s" dense<[2, 6]> : tensor<2xi64> : tensor<2xi64>
      %y = dfg.node "Reshape"(%x, %s) opset 17 : (tensor<4x3xf32>, tensor<2xi64>) -> tensor<2x6xf32>
      dfg.output %y : tensor<2x6xf32>
    }""")
    found = batch_separability(g)
    assert not found.separable
    assert found.blocker is not None
    assert dfg.node_of(found.blocker).op_type(found.blocker) == "Reshape"
    assert found.reason == "it folds the batch into another axis"


def test_rows_folded_batch_major_stay_separable() -> None:
    """[4, 3, 2] -> [12, 2]: entry b is rows 3b to 3b + 2; row-wise ops keep entries apart."""
    g = graph("""
    dfg.graph @g(%x: tensor<4x3x2xf32>) -> tensor<4x3x5xf32> {
      %s = dfg.weight "s" dense<[12, 2]> : tensor<2xi64> : tensor<2xi64>
      %back = dfg.weight "back" dense<[4, 3, 5]> : tensor<3xi64> : tensor<3xi64>
      %w = dfg.weight "w" dense<1.0> : tensor<2x5xf32> : tensor<2x5xf32>
      %rows = dfg.node "Reshape"(%x, %s) opset 17 :
        (tensor<4x3x2xf32>, tensor<2xi64>) -> tensor<12x2xf32>
      %m = dfg.node "MatMul"(%rows, %w) opset 17 :
        (tensor<12x2xf32>, tensor<2x5xf32>) -> tensor<12x5xf32>
      %y = dfg.node "Reshape"(%m, %back) opset 17 :
        (tensor<12x5xf32>, tensor<3xi64>) -> tensor<4x3x5xf32>
      dfg.output %y : tensor<4x3x5xf32>
    }""")
    found = batch_separability(g)
    assert found.separable, found.reason
    named = values(g)
    assert found.factor(named["rows"]) == 3  # type: ignore[arg-type]
    assert found.factor(named["m"]) == 3  # type: ignore[arg-type]
    assert found.factor(named["y"]) == 1  # type: ignore[arg-type]


def test_reshape_keeping_the_batch_first_is_separable() -> None:
    g = graph("""
    dfg.graph @g(%x: tensor<4x3x2xf32>) -> tensor<4x6xf32> {
      %s = dfg.weight "s" dense<[4, 6]> : tensor<2xi64> : tensor<2xi64>
      %y = dfg.node "Reshape"(%x, %s) opset 17 :
        (tensor<4x3x2xf32>, tensor<2xi64>) -> tensor<4x6xf32>
      dfg.output %y : tensor<4x6xf32>
    }""")
    assert batch_separability(g).separable


@pytest.mark.parametrize(
    ("node", "reason"),
    [
        (
            '"ReduceSum"(%x, %axes) {keepdims = 1 : i64} opset 17 : '
            "(tensor<4x3xf32>, tensor<1xi64>) -> tensor<1x3xf32>",
            "it reduces over axis 0, the batch",
        ),
        (
            '"Transpose"(%x) {perm = [1, 0]} opset 17 : (tensor<4x3xf32>) -> tensor<3x4xf32>',
            "it moves axis 0, the batch",
        ),
        (
            '"Concat"(%x, %x) {axis = 0 : i64} opset 17 : '
            "(tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<8x3xf32>",
            "it works along axis 0, the batch",
        ),
        (
            '"Softmax"(%x) {axis = 0 : i64} opset 17 : (tensor<4x3xf32>) -> tensor<4x3xf32>',
            "it works along axis 0, the batch",
        ),
        (
            '"Gemm"(%x, %x) {transA = 1 : i64} opset 17 : '
            "(tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<3x3xf32>",
            "only the rows of A (not transposed) may carry the batch",
        ),
        (
            '"MatMul"(%w, %x) opset 17 : (tensor<3x4xf32>, tensor<4x3xf32>) -> tensor<3x3xf32>',
            "the batch axis of an input is contracted or broadcast",
        ),
        (
            '"Mul"(%x, %n4) opset 17 : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<4x3xf32>',
            "an unbatched input spans axis 0 of the output",
        ),
        (
            '"Expand"(%x, %s3) opset 17 : (tensor<4x3xf32>, tensor<3xi64>) -> tensor<2x4x3xf32>',
            "it adds leading axes, so the batch moves off axis 0",
        ),
        (
            '"Shape"(%x) opset 17 : (tensor<4x3xf32>) -> tensor<2xi64>',
            "its result holds the batch size",
        ),
        (
            '"RandomNormalLike"(%x) opset 17 : (tensor<4x3xf32>) -> tensor<4x3xf32>',
            "no batch rule for 'RandomNormalLike'",
        ),
    ],
)
def test_nodes_that_mix_batch_entries(node: str, reason: str) -> None:
    result = node.rsplit("-> ", 1)[1]
    g = graph(f"""
    dfg.graph @g(%x: tensor<4x3xf32>) -> {result} {{
      %axes = dfg.weight "axes" dense<0> : tensor<1xi64> : tensor<1xi64>
      %w = dfg.weight "w" dense<1.0> : tensor<3x4xf32> : tensor<3x4xf32>
      %w4 = dfg.weight "w4" dense<1.0> : tensor<4x3xf32> : tensor<4x3xf32>
      %n4 = dfg.node "Neg"(%w4) opset 17 : (tensor<4x3xf32>) -> tensor<4x3xf32>
      %s3 = dfg.weight "s3" dense<[2, 4, 3]> : tensor<3xi64> : tensor<3xi64>
      %y = dfg.node {node}
      dfg.output %y : {result}
    }}""")
    found = batch_separability(g)
    assert found.blocker is not None
    assert found.reason == reason


@pytest.mark.parametrize(
    "node",
    [
        '"MatMul"(%x, %w) opset 17 : (tensor<4x3xf32>, tensor<3x4xf32>) -> tensor<4x4xf32>',
        '"Gemm"(%x, %w) opset 17 : (tensor<4x3xf32>, tensor<3x4xf32>) -> tensor<4x4xf32>',
        '"Softmax"(%x) {axis = -1 : i64} opset 17 : (tensor<4x3xf32>) -> tensor<4x3xf32>',
        '"ReduceMean"(%x, %one) opset 18 : (tensor<4x3xf32>, tensor<1xi64>) -> tensor<4x1xf32>',
        '"Concat"(%x, %x) {axis = 1 : i64} opset 17 : '
        "(tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<4x6xf32>",
        '"Unsqueeze"(%x, %one) opset 17 : (tensor<4x3xf32>, tensor<1xi64>) -> tensor<4x1x3xf32>',
        '"Flatten"(%x) {axis = 1 : i64} opset 17 : (tensor<4x3xf32>) -> tensor<4x3xf32>',
        '"Expand"(%x, %s2) opset 17 : (tensor<4x3xf32>, tensor<2xi64>) -> tensor<4x3xf32>',
    ],
)
def test_nodes_that_keep_batch_entries_apart(node: str) -> None:
    result = node.rsplit("-> ", 1)[1]
    g = graph(f"""
    dfg.graph @g(%x: tensor<4x3xf32>) -> {result} {{
      %one = dfg.weight "one" dense<1> : tensor<1xi64> : tensor<1xi64>
      %w = dfg.weight "w" dense<1.0> : tensor<3x4xf32> : tensor<3x4xf32>
      %s2 = dfg.weight "s2" dense<[1, 3]> : tensor<2xi64> : tensor<2xi64>
      %y = dfg.node {node}
      dfg.output %y : {result}
    }}""")
    found = batch_separability(g)
    assert found.separable, found.reason
    assert values(g)["y"] in found.batched


def test_a_constant_with_one_row_per_entry_is_batched_data() -> None:
    """A position embedding expanded over the batch, then folded: each slice reads its rows."""
    g = graph("""
    dfg.graph @g(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
      %pos = dfg.weight "pos" dense<1.0> : tensor<4x3xf32> : tensor<4x3xf32>
      %y = dfg.node "Add"(%x, %pos) opset 17 : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<4x3xf32>
      dfg.output %y : tensor<4x3xf32>
    }""")
    found = batch_separability(g)
    assert found.separable
    assert values(g)["pos"] in found.batched


def test_embedding_lookup_by_batched_indices_is_separable() -> None:
    g = graph("""
    dfg.graph @g(%ids: tensor<4x5xi64>) -> tensor<4x5x8xf32> {
      %table = dfg.weight "table" dense<1.0> : tensor<100x8xf32> : tensor<100x8xf32>
      %y = dfg.node "Gather"(%table, %ids) {axis = 0 : i64} opset 17 :
        (tensor<100x8xf32>, tensor<4x5xi64>) -> tensor<4x5x8xf32>
      dfg.output %y : tensor<4x5x8xf32>
    }""")
    assert batch_separability(g).separable


@pytest.mark.parametrize(
    ("input_type", "reason"),
    [
        ("tensor<1x3xf32>", "the batch size is 1"),
        ("tensor<?x3xf32>", "the batch size is not known (fix it with --input-shape)"),
        ("tensor<f32>", "the graph has no batched tensor input"),
    ],
)
def test_no_known_batch_to_split(input_type: str, reason: str) -> None:
    g = graph(f"""
    dfg.graph @g(%x: {input_type}) -> {input_type} {{
      %y = dfg.node "Relu"(%x) opset 17 : ({input_type}) -> {input_type}
      dfg.output %y : {input_type}
    }}""")
    found = batch_separability(g)
    assert not found.separable
    assert found.blocker is None
    assert found.reason == reason


def test_the_first_blocker_in_program_order_is_named() -> None:
    g = graph("""
    dfg.graph @g(%x: tensor<4x3xf32>) -> tensor<3x4xf32> {
      %a = dfg.node "Relu"(%x) opset 17 : (tensor<4x3xf32>) -> tensor<4x3xf32> loc("ok")
      %b = dfg.node "Transpose"(%a) {perm = [1, 0]} opset 17 :
        (tensor<4x3xf32>) -> tensor<3x4xf32> loc("first")
      %c = dfg.node "Transpose"(%b) {perm = [1, 0]} opset 17 :
        (tensor<3x4xf32>) -> tensor<4x3xf32> loc("second")
      dfg.output %b : tensor<3x4xf32>
    }""")
    found = batch_separability(g)
    assert found.blocker is not None
    assert dfg.node_of(found.blocker).node_name(found.blocker) == "first"


def test_batch_slices_follow_the_fork_and_weights_only_nodes_go_with_their_reader() -> None:
    g = graph("""
    dfg.graph @g(%x: tensor<4x3xf32>) -> (tensor<4x3xf32>, tensor<3xf32>) {
      %x0, %x1 = dfg.fork %x : tensor<4x3xf32> -> tensor<2x3xf32>, tensor<2x3xf32>
      %b = dfg.weight "b" dense<1.0> : tensor<3xf32> : tensor<3xf32>
      %shared = dfg.node "Neg"(%b) opset 17 : (tensor<3xf32>) -> tensor<3xf32>
      %a1 = dfg.node "Relu"(%x1) opset 17 : (tensor<2x3xf32>) -> tensor<2x3xf32>
      %b1 = dfg.node "Add"(%a1, %shared) opset 17
          : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
      %a0 = dfg.node "Add"(%x0, %shared) opset 17
          : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
      %own = dfg.node "Exp"(%b) opset 17 : (tensor<3xf32>) -> tensor<3xf32>
      %y = dfg.join %a0, %b1 : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<4x3xf32>
      dfg.output %y, %own : tensor<4x3xf32>, tensor<3xf32>
    }""")
    slices = batch_slices(g)
    assert slices is not None
    by_name = {op.results[0].name_hint: index for op, index in slices.items()}
    # Relu and Add on slice 1 follow %x1; the shared Neg goes with the lowest slice
    # among its readers (slice 0's Add); Exp has no reader among the nodes: slice 0.
    assert by_name == {"a1": 1, "b1": 1, "a0": 0, "shared": 0, "own": 0}


def test_batch_slices_of_a_graph_without_fork_and_of_a_node_reading_two_slices() -> None:
    flat = graph("""
    dfg.graph @g(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
      %y = dfg.node "Relu"(%x) opset 17 : (tensor<4x3xf32>) -> tensor<4x3xf32>
      dfg.output %y : tensor<4x3xf32>
    }""")
    assert batch_slices(flat) is None
    mixed = graph("""
    dfg.graph @g(%x: tensor<4x3xf32>) -> tensor<2x3xf32> {
      %x0, %x1 = dfg.fork %x : tensor<4x3xf32> -> tensor<2x3xf32>, tensor<2x3xf32>
      %y = dfg.node "Add"(%x0, %x1) opset 17
          : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32> loc("mix")
      dfg.output %y : tensor<2x3xf32>
    }""")
    with pytest.raises(RamielError, match=r"'mix'.*reads batch slices \[0, 1\]"):
        batch_slices(mixed)
