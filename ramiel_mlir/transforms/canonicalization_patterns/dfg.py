"""
Canonicalization patterns of the dfg dialect.

`CloneCheapProducer` (on `dfg.recv`) recomputes a cheap value in the lane that
reads it instead of waiting for it; `EraseUnreadSend` (on `dfg.send`) drops a
send that no lane receives any more. The `clone` pass applies the same patterns
with a threshold of the user's choice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern
from xdsl.rewriter import InsertPoint

from ramiel_mlir.analysis.graph import graph_edge_cost, node_cost, receivers, senders
from ramiel_mlir.dialects import dfg


def _graph(op: Operation) -> dfg.GraphOp:
    graph = op.parent_op()
    while not isinstance(graph, dfg.GraphOp):
        assert graph is not None
        graph = graph.parent_op()
    return graph


def _available(
    value: SSAValue, at: dfg.RecvOp, graph: dfg.GraphOp, sends: Mapping[str, dfg.SendOp]
) -> SSAValue | None:
    """`value` as visible at `at`: graph-level values, or an earlier recv of it."""
    if value.owner is graph.block or (
        isinstance(value.owner, Operation) and value.owner.parent_op() is graph
    ):
        return value
    op = at.prev_op
    while op is not None:
        if isinstance(op, dfg.RecvOp) and sends[op.channel.data].value is value:
            return op.result
        op = op.prev_op
    return None


@dataclass
class CloneCheapProducer(RewritePattern):
    """
    Replace `dfg.recv` of a value that a cheap, deterministic node computes from
    values this lane already has by a copy of that node.
    """

    threshold: float | None = None

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: dfg.RecvOp, rewriter: PatternRewriter) -> None:
        graph = _graph(op)
        sends = senders(graph)
        send = sends.get(op.channel.data)
        if send is None or not isinstance(producer := send.value.owner, dfg.NodeOp):
            return
        limit = self.threshold if self.threshold is not None else graph_edge_cost(graph)
        if node_cost(producer) > limit or not dfg.is_deterministic(producer):
            return
        operands = [_available(v, op, graph, sends) for v in producer.inputs]
        if any(v is None for v in operands):
            return
        clone = producer.clone()
        for index, value in enumerate(operands):
            assert value is not None
            clone.operands[index] = value
        rewriter.insert_op(clone, InsertPoint.before(op))
        result = clone.results[producer.results.index(send.value)]
        result.name_hint = op.result.name_hint
        rewriter.replace_op(op, [], [result])


class EraseUnreadSend(RewritePattern):
    """Erase a `dfg.send` that no lane receives any more."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: dfg.SendOp, rewriter: PatternRewriter) -> None:
        if op.channel.data not in receivers(_graph(op)):
            rewriter.erase_op(op)
