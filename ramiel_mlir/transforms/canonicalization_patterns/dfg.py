"""
Canonicalization patterns of the dfg dialect.

`CloneCheapProducer` (on `dfg.recv`) recomputes a cheap value in the lane that
reads it instead of waiting for it; `EraseUnreadSend` (on `dfg.send`) drops a
send that no lane receives any more. Both decide with the functions below,
which the `clone` pass also uses in its single sweep over a graph.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern
from xdsl.rewriter import InsertPoint

from ramiel_mlir.analysis.graph import graph_edge_cost, node_cost, receivers, senders
from ramiel_mlir.dialects import dfg


def parent_graph(op: Operation) -> dfg.GraphOp:
    """The `dfg.graph` an op is nested in."""
    graph = op.parent_op()
    while not isinstance(graph, dfg.GraphOp):
        assert graph is not None
        graph = graph.parent_op()
    return graph


def is_graph_level(value: SSAValue, graph: dfg.GraphOp) -> bool:
    """A graph input, weight or none: visible in every cluster."""
    return value.owner is graph.block or (
        isinstance(value.owner, Operation) and value.owner.parent_op() is graph
    )


def cheap_producer(send: dfg.SendOp, threshold: float) -> dfg.NodeOp | None:
    """The node computing a sent value, if it is deterministic and costs at most `threshold`."""
    producer = send.value.owner
    if not isinstance(producer, dfg.NodeOp):
        return None
    if node_cost(producer) > threshold or not dfg.is_deterministic(producer):
        return None
    return producer


def clone_in_place_of(
    recv: dfg.RecvOp,
    producer: dfg.NodeOp,
    sent: SSAValue,
    operands: Sequence[SSAValue],
    rewriter: PatternRewriter | None = None,
) -> SSAValue:
    """Replace `recv` by a copy of `producer` reading `operands`; return the copied value."""
    clone = producer.clone()
    for index, value in enumerate(operands):
        clone.operands[index] = value
    result = clone.results[producer.results.index(sent)]
    result.name_hint = recv.result.name_hint
    if rewriter is not None:
        rewriter.insert_op(clone, InsertPoint.before(recv))
        rewriter.replace_op(recv, [], [result])
    else:
        recv.parent_block().insert_op_before(clone, recv)  # type: ignore[union-attr]
        recv.result.replace_all_uses_with(result)
        recv.detach()
        recv.erase()
    return result


def _available_before(
    value: SSAValue, at: dfg.RecvOp, graph: dfg.GraphOp, sends: Mapping[str, dfg.SendOp]
) -> SSAValue | None:
    """`value` as visible at `at`: graph-level values, or an earlier recv of it."""
    if is_graph_level(value, graph):
        return value
    op = at.prev_op
    while op is not None:
        if isinstance(op, dfg.RecvOp) and sends[op.channel.data].value is value:
            return op.result
        op = op.prev_op
    return None


def operands_at(
    producer: dfg.NodeOp, available: Callable[[SSAValue], SSAValue | None]
) -> list[SSAValue] | None:
    """The producer's inputs as the receiving lane sees them, None if one is missing."""
    operands = [available(v) for v in producer.inputs]
    return None if any(v is None for v in operands) else operands  # type: ignore[return-value]


@dataclass
class CloneCheapProducer(RewritePattern):
    """
    Replace `dfg.recv` of a value that a cheap, deterministic node computes from
    values this lane already has by a copy of that node (threshold: the graph's
    edge cost). Looks the channels up per match: the `clone` pass does the same
    for a whole graph in one sweep.
    """

    threshold: float | None = None

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: dfg.RecvOp, rewriter: PatternRewriter) -> None:
        graph = parent_graph(op)
        sends = senders(graph)
        send = sends.get(op.channel.data)
        limit = self.threshold if self.threshold is not None else graph_edge_cost(graph)
        if send is None or (producer := cheap_producer(send, limit)) is None:
            return
        operands = operands_at(producer, lambda v: _available_before(v, op, graph, sends))
        if operands is not None:
            clone_in_place_of(op, producer, send.value, operands, rewriter)


class EraseUnreadSend(RewritePattern):
    """Erase a `dfg.send` that no lane receives any more."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: dfg.SendOp, rewriter: PatternRewriter) -> None:
        if op.channel.data not in receivers(parent_graph(op)):
            rewriter.erase_op(op)
