"""
Canonicalization patterns of the dfg dialect: local rewrites that need no costs.

`EraseUnreadSend` (on `dfg.send`) drops a send that no lane receives. Rewrites
that weigh costs, such as recomputing a cheap value instead of receiving it, are
passes of their own (`clone`).
"""

from __future__ import annotations

from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from ramiel_mlir.analysis.graph import receivers
from ramiel_mlir.dialects import dfg


class EraseUnreadSend(RewritePattern):
    """Erase a `dfg.send` that no lane receives."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: dfg.SendOp, rewriter: PatternRewriter) -> None:
        if op.channel.data not in receivers(dfg.parent_graph(op)):
            rewriter.erase_op(op)
