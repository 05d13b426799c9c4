"""The `clone` pass: recompute cheap values in each lane instead of waiting for them."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import GreedyRewritePatternApplier, PatternRewriteWalker

from ramiel_mlir.transforms.canonicalization_patterns.dfg import (
    CloneCheapProducer,
    EraseUnreadSend,
)


@dataclass(frozen=True)
class ClonePass(ModulePass):
    """
    Duplicate cheap nodes into the lanes that read them, instead of communicating.

    A node whose `cost` is at most `threshold` microseconds (by default the
    graph's edge cost: recomputing is then cheaper than a hand-over), that is
    deterministic, and whose inputs the reading lane already has, is cloned into
    that lane; sends nobody receives are erased. These are dfg's canonicalization
    patterns, so `canonicalize` does the same with the default threshold. Run
    `dce` after it to remove originals that became dead.
    """

    name = "clone"

    threshold: float | None = None

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier(
                [CloneCheapProducer(self.threshold), EraseUnreadSend()], dce_enabled=False
            )
        ).rewrite_module(op)
