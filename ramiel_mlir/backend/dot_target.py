"""The `dot` target: a dfg graph as Graphviz, one subgraph per cluster (lane)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import IO, ClassVar

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import SSAValue
from xdsl.utils.target import Target

from ramiel_mlir.analysis.layout import node_layout
from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.dialects import dfg


def _quote(text: str) -> str:
    return json.dumps(text)


def print_dot(graph: dfg.GraphOp, output: IO[str]) -> None:
    """Write `graph` as a Graphviz digraph: nodes, data edges, clusters as boxes."""
    ids: dict[dfg.NodeOp, str] = {}
    sent: dict[str, SSAValue] = {}
    for op in graph.walk():
        if isinstance(op, dfg.NodeOp):
            ids[op] = f"n{len(ids)}"
        elif isinstance(op, dfg.SendOp):
            sent[op.channel.data] = op.value
    output.write(f"digraph {_quote(graph.sym_name.data)} {{\n")
    output.write("  node [shape=box, style=rounded, fontname=Helvetica];\n")
    for op in graph.block.ops:
        if isinstance(op, dfg.ClusterOp):
            output.write(f"  subgraph cluster_{op.id} {{\n")
            output.write(f"    label={_quote(f'lane {op.id}')};\n")
            for node in op.block.ops:
                if isinstance(node, dfg.NodeOp):
                    output.write(f"    {_node_line(node, ids)}\n")
            output.write("  }\n")
        elif isinstance(op, dfg.NodeOp):
            output.write(f"  {_node_line(op, ids)}\n")
    _print_edges(ids, sent, output)
    output.write("}\n")


def _print_edges(ids: dict[dfg.NodeOp, str], sent: dict[str, SSAValue], output: IO[str]) -> None:
    """Data edges between nodes; those through a channel (across lanes) dashed."""
    for node, name in ids.items():
        for value in node.inputs:
            style = ""
            if isinstance(recv := value.owner, dfg.RecvOp):
                value, style = sent[recv.channel.data], " [style=dashed]"
            if isinstance(producer := value.owner, dfg.NodeOp):
                output.write(f"  {ids[producer]} -> {name}{style};\n")


def _node_line(node: dfg.NodeOp, ids: dict[dfg.NodeOp, str]) -> str:
    lines = [node.node_name]
    if node.op_type.data != node.node_name:
        lines.append(node.op_type.data)
    if node.cost is not None:
        lines.append(f"{node.cost.value.data:.0f} us")
    if (layout := node_layout(node)) is not None:
        lines.append(layout)
    return f"{ids[node]} [label={_quote(chr(10).join(lines))}];"


@dataclass(frozen=True)
class DotTarget(Target):
    """Print each dfg graph as Graphviz (`dot -Tsvg`), clusters as subgraphs."""

    name: ClassVar[str] = "dot"

    def emit(self, ctx: Context, module: ModuleOp, output: IO[str]) -> None:
        graphs = [op for op in module.ops if isinstance(op, dfg.GraphOp)]
        if not graphs:
            raise RamielError("the dot target needs a module in the dfg dialect")
        for graph in graphs:
            print_dot(graph, output)
