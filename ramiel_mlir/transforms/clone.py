"""The `clone` pass: recompute cheap values in each lane instead of waiting for them."""

from __future__ import annotations

from dataclasses import dataclass, field

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from ramiel_mlir.analysis.graph import graph_edge_cost, node_cost
from ramiel_mlir.diagnostics import remark
from ramiel_mlir.dialects import dfg


@dataclass
class Channels:
    """
    The channels of one clustered graph, built once and kept up to date by the
    patterns: each channel's send and receivers, and each lane-crossing value's
    local copies (the results of its recvs, then of the clones that replace them).
    """

    graph: dfg.GraphOp
    sends: dict[str, dfg.SendOp] = field(default_factory=dict[str, dfg.SendOp])
    receivers: dict[str, list[dfg.RecvOp]] = field(default_factory=dict[str, list[dfg.RecvOp]])
    copies: dict[SSAValue, list[SSAValue]] = field(default_factory=dict[SSAValue, list[SSAValue]])

    @staticmethod
    def of(graph: dfg.GraphOp) -> Channels:
        """The channels of `graph`'s clusters."""
        channels = Channels(graph)
        for cluster in graph.block.ops:
            if not isinstance(cluster, dfg.ClusterOp):
                continue
            for op in cluster.block.ops:
                if isinstance(op, dfg.SendOp):
                    channels.sends[op.channel.data] = op
                elif isinstance(op, dfg.RecvOp):
                    channels.receivers.setdefault(op.channel.data, []).append(op)
        for channel, recvs in channels.receivers.items():
            sent = channels.sends[channel].value  # verified: every channel is sent
            channels.copies.setdefault(sent, []).extend(r.result for r in recvs)
        return channels

    def local(self, value: SSAValue, at: Operation) -> SSAValue | None:
        """
        `value` as the lane of `at` sees it just before `at`: a graph input, weight or
        none itself, else a copy computed or received earlier in that lane (None if none).
        """
        owner = value.owner
        if owner is self.graph.block or (
            isinstance(owner, Operation) and owner.parent_op() is self.graph
        ):
            return value
        for copy in self.copies.get(value, ()):
            local = copy.owner
            assert isinstance(local, Operation)
            if local.parent_block() is at.parent_block() and local.is_before_in_block(at):
                return copy
        return None


def cheap_producer(send: dfg.SendOp, threshold: float) -> dfg.NodeOp | None:
    """
    The node computing a sent value, if it is deterministic and costs at most `threshold`.

    Only a `dfg.node` qualifies: whether a `dfg.loop` or `dfg.if` is deterministic depends
    on its regions.
    """
    producer = send.value.owner
    if not isinstance(producer, dfg.NodeOp):
        return None
    if node_cost(producer) > threshold or not dfg.is_deterministic(producer):
        return None
    return producer


@dataclass
class CloneCheapProducer(RewritePattern):
    """
    Replace a `dfg.recv` of a value that a cheap, deterministic node computes from
    values this lane already has by a copy of that node. The send goes with its
    last receiver.
    """

    channels: Channels
    threshold: float

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: dfg.RecvOp, rewriter: PatternRewriter) -> None:
        channel = op.channel.data
        send = self.channels.sends[channel]
        producer = cheap_producer(send, self.threshold)
        if producer is None:
            return
        operands = [self.channels.local(value, op) for value in producer.operands]
        if any(value is None for value in operands):
            return
        clone = producer.clone()
        for index, value in enumerate(operands):
            assert value is not None
            clone.operands[index] = value
        result = clone.results[producer.results.index(send.value)]
        result.name_hint = op.result.name_hint
        copies = self.channels.copies[send.value]
        copies[copies.index(op.result)] = result
        self.channels.receivers[channel].remove(op)
        lane = op.parent_op()
        remark(
            f"clone: {dfg.node_of(producer).describe(producer)} recomputed in lane "
            f"{lane.id if isinstance(lane, dfg.ClusterOp) else '?'} instead of "
            f"received: it costs {node_cost(producer):.3g} us, at most the threshold "
            f"{self.threshold:.3g} us (a hand-over between lanes)",
            at=producer,
        )
        rewriter.replace_op(op, clone, [result])
        if not self.channels.receivers[channel]:
            rewriter.erase_op(send)


@dataclass
class EraseUnreceivedSend(RewritePattern):
    """Erase a `dfg.send` whose channel has no receiver."""

    channels: Channels

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: dfg.SendOp, rewriter: PatternRewriter) -> None:
        if not self.channels.receivers.get(op.channel.data):
            rewriter.erase_op(op)


@dataclass(frozen=True)
class ClonePass(ModulePass):
    """
    Duplicate cheap nodes into the lanes that read them, instead of communicating.

    A `dfg.recv` of a value whose producer is a deterministic `dfg.node` with a
    `cost` of at most `threshold` microseconds (by default the graph's edge cost:
    recomputing is then cheaper than a hand-over), and whose inputs the receiving
    lane already has, becomes a copy of that node; sends nobody receives are erased.
    Each lane is walked from its end, so a cheap chain (a clone reading an earlier
    received value that is itself cloned) is recomputed whole. Needs the costs of
    `estimate-cost`. Run `dce` after it to remove originals that became dead.
    """

    name = "clone"

    threshold: float | None = None
    """Microseconds; by default the graph's `edge_cost`."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for graph in op.ops:
            if not isinstance(graph, dfg.GraphOp):
                continue
            limit = self.threshold if self.threshold is not None else graph_edge_cost(graph)
            channels = Channels.of(graph)
            patterns: list[RewritePattern] = [
                CloneCheapProducer(channels, limit),
                EraseUnreceivedSend(channels),
            ]
            PatternRewriteWalker(
                GreedyRewritePatternApplier(patterns, dce_enabled=False),
                walk_reverse=True,
                apply_recursively=False,
            ).rewrite_region(graph.body)
