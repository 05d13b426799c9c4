"""The `dot` target: a dfg graph as Graphviz, one subgraph per cluster (lane)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import IO, ClassVar

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.utils.target import Target

from ramiel_mlir.analysis.graph import graph_nodes
from ramiel_mlir.analysis.layout import node_layout
from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.dialects import dfg


def _quote(text: str) -> str:
    return json.dumps(text)


def print_dot(graph: dfg.GraphOp, output: IO[str]) -> None:
    """Write `graph` as a Graphviz digraph: nodes, data edges, clusters as boxes."""
    ids = {node: f"n{index}" for index, node in enumerate(graph_nodes(graph))}
    sent = {op.channel.data: op.value for op in graph.walk() if isinstance(op, dfg.SendOp)}
    output.write(f"digraph {_quote(graph.sym_name.data)} {{\n")
    output.write("  node [shape=box, style=rounded, fontname=Helvetica];\n")
    for op in graph.block.ops:
        if isinstance(op, dfg.ClusterOp):
            output.write(f"  subgraph cluster_{op.id} {{\n")
            output.write(f"    label={_quote(f'lane {op.id}')};\n")
            for node in op.block.ops:
                if node in ids:
                    output.write(f"    {_node_line(node, ids)}\n")
            output.write("  }\n")
        elif op in ids:
            output.write(f"  {_node_line(op, ids)}\n")
    _print_edges(ids, sent, output)
    output.write("}\n")


def _print_edges(ids: dict[Operation, str], sent: dict[str, SSAValue], output: IO[str]) -> None:
    """Data edges between nodes; those through a channel (across lanes) dashed."""
    for node, name in ids.items():
        for value in node.operands:
            style = ""
            if isinstance(recv := value.owner, dfg.RecvOp):
                value, style = sent[recv.channel.data], " [style=dashed]"
            if (producer := value.owner) in ids:
                assert isinstance(producer, Operation)
                output.write(f"  {ids[producer]} -> {name}{style};\n")


def _node_line(node: Operation, ids: dict[Operation, str]) -> str:
    interface = dfg.node_of(node)
    name, op_type = interface.node_name(node), interface.op_type(node)
    lines = [name]
    if op_type != name:
        lines.append(op_type)
    if (cost := interface.cost(node)) is not None:
        lines.append(f"{cost:.0f} us")
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
