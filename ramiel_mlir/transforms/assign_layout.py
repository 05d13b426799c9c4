"""
`assign-layout`: choose the memory format of 4-D activations per region.

Nodes that can run on `torch.channels_last` tensors (convolution, pooling,
elementwise ops, channel concatenation; `analysis/layout.py`) and are joined by
image edges form regions. Each region runs in one format: with `mode=channels-last`
every region, with `mode=contiguous` none, with `mode=auto` those whose estimated
saving (per-kind measured ratios times the flops model's node times) exceeds the
cost of converting the values that cross its edge. A chosen node carries
`dfg.layout = "channels_last"`; the lowering stores the 4-D weights such nodes read
in that format and converts a value once where it crosses a region's edge.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.passes import ModulePass

from ramiel_mlir.analysis.kernels import stray_conversions_cost
from ramiel_mlir.analysis.layout import CHANNELS_LAST, LAYOUT_ATTR, layout_regions, region_gain
from ramiel_mlir.diagnostics import RamielError, remark
from ramiel_mlir.dialects.dfg import ClusterOp, GraphOp, NodeOp

MODES = ("auto", "contiguous", "channels-last")
"""The values of the `mode` option."""


def graph_nodes(graph: GraphOp) -> list[NodeOp]:
    """The graph's nodes at its top level and in its clusters (not inside loop bodies)."""
    nodes: list[NodeOp] = []
    for op in graph.block.ops:
        if isinstance(op, NodeOp):
            nodes.append(op)
        elif isinstance(op, ClusterOp):
            nodes += [inner for inner in op.block.ops if isinstance(inner, NodeOp)]
    return nodes


@dataclass(frozen=True)
class AssignLayoutPass(ModulePass):
    """
    Record per region of image nodes whether it runs channels-last
    (`dfg.layout = "channels_last"` on its nodes) or contiguous (no attribute).
    """

    name = "assign-layout"

    mode: str = "auto"
    """`auto` (measured estimate per region), `contiguous` or `channels-last`."""

    machine: str = "auto"
    """`auto`'s machine model: `auto` (cached calibration), `default` (built in) or a JSON file."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if self.mode not in MODES:
            raise RamielError(
                f"assign-layout: mode must be one of {', '.join(MODES)}, got '{self.mode}'"
            )
        machine = None
        if self.mode == "auto":
            from ramiel_mlir.analysis.machine import resolve_machine

            machine, _ = resolve_machine(self.machine)
        for graph in op.walk():
            if not isinstance(graph, GraphOp):
                continue
            nodes = graph_nodes(graph)
            for node in nodes:
                node.attributes.pop(LAYOUT_ATTR, None)
            for region in layout_regions(nodes):
                gain = None
                if machine is not None:
                    gain = region_gain(region, machine) + stray_conversions_cost(region, machine)
                chosen = self.mode == "channels-last" or (gain is not None and gain > 0.0)
                _remark_region(region, chosen, self.mode, gain)
                if not chosen:
                    continue
                for node in region:
                    node.attributes[LAYOUT_ATTR] = StringAttr(CHANNELS_LAST)


def _remark_region(region: list[NodeOp], chosen: bool, mode: str, gain: float | None) -> None:
    """Say why a region changed to channels-last or stayed contiguous."""
    first = region[0]
    layout = "channels-last" if chosen else "contiguous"
    why = f"mode={mode}"
    if gain is not None:
        why = f"its estimated saving is {gain:.3g} us after converting at its edge"
    remark(
        f"assign-layout: region of {len(region)} nodes from {first.node_name} runs {layout}: {why}",
        at=first,
    )
