"""The `estimate-cost` pass: annotate every node with its estimated time."""

from __future__ import annotations

import os
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from ramiel_mlir.dialects import dfg
from ramiel_mlir.dialects.annotations import (
    COST,
    DISPATCH_COST,
    EDGE_COST,
    FORK_COST,
    MACHINE,
    THREADED_COST,
)

MODELS = ("flops", "profile")


@dataclass(frozen=True)
class EstimateCostPass(ModulePass):
    """
    Annotate every node with its cost in microseconds, and every graph with its edge cost.

    `model=flops` (default) counts each node's FLOPs and bytes from its static
    shapes and converts them with this machine's calibrated rates (measured on
    contiguous tensors: a node `assign-layout` put in channels-last costs that times its
    kind's measured ratio, `analysis/layout.py:layout_cost`);
    `model=profile` runs each node alone with the generated PyTorch code and the
    model's weights, on one intra-op thread and on every core, and takes the
    median times: `dfg.cost`. Every node also gets `dfg.threaded_cost`: its time with
    every core as intra-op threads (the threaded rates, or the node timed on every
    core). The graph gets `dfg.edge_cost`: the measured price of handing a value to
    another thread, `dfg.dispatch_cost`: the time a small torch call costs every lane
    (the GIL), and `dfg.fork_cost`: starting a worker lane and joining it (all
    discardable attributes, see `dialects/annotations.py`).
    Nodes are found at any depth, so the pass also runs on clustered graphs (with
    `flops`; `profile` needs the nodes' inputs to be graph values).

    `machine` is the machine model the rates and lane costs come from: `auto`
    (default) calibrates this machine once and caches the result, `default` is the
    built-in model (no measurement: the same output on every machine), and any
    other value is a file written by `ramiel-calibrate -o FILE`. The graph records
    which one in `dfg.machine` (`"default"`, `"auto:<hash>"`, `"<file name>:<hash>"`).

        dfg.node "Relu"(%x) opset 13 : ...
    becomes
        dfg.node "Relu"(%x) opset 13 {dfg.cost = 3.2 : f64, dfg.threaded_cost = 4.1 : f64} : ...
    """

    name = "estimate-cost"

    model: str = "flops"
    """How to estimate: `flops` (analytic) or `profile` (measured)."""

    machine: str = "auto"
    """The machine model: `auto` (cached calibration), `default` (built in) or a JSON file."""

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(
                f"estimate-cost: model must be one of {', '.join(MODELS)}, got '{self.model}'"
            )

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from ramiel_mlir.analysis.graph import graph_nodes
        from ramiel_mlir.analysis.kernels import threaded_cost
        from ramiel_mlir.analysis.layout import layout_cost
        from ramiel_mlir.analysis.machine import resolve_machine
        from ramiel_mlir.backend.profile import profile_graph_threads

        machine, label = resolve_machine(self.machine)
        cores = os.cpu_count() or 1
        for graph in op.walk():
            if not isinstance(graph, dfg.GraphOp):
                continue
            if self.model == "profile":
                measured = profile_graph_threads(graph, sorted({1, cores}))  # once on 1 core
                costs, threaded = measured[1], measured[cores]
                for node in graph_nodes(graph):
                    if node not in costs:  # a dfg.loop or dfg.if: not profiled (backend/profile.py)
                        costs[node] = layout_cost(node, machine)
                        threaded[node] = layout_cost(node, machine, threaded=True)
            else:
                costs = {node: layout_cost(node, machine) for node in graph_nodes(graph)}
                threaded = {node: threaded_cost(node, machine, cores) for node in costs}
            for node, cost in costs.items():
                COST.set(node, round(cost, 3))
                THREADED_COST.set(node, round(threaded[node], 3))
            EDGE_COST.set(graph, round(machine.edge_cost_us, 3))
            # The part of every node's time that lanes cannot overlap: a small call
            # made from every core's thread at once (the GIL serialises them), else
            # the cheapest torch call, which is (nearly) all Python and dispatch.
            dispatch = machine.contended_dispatch_us or min(machine.overheads.values())
            DISPATCH_COST.set(graph, round(dispatch, 3))
            FORK_COST.set(graph, round(machine.fork_join_us, 3))
            MACHINE.set(graph, label)
