"""
Lower a `dfg.graph` into a `py.module`: the generated file's structure.

The module defines `class Model(torch.nn.Module)` (weights as buffers, declared in
`__init__` and filled by `load_model`), its `forward` with one statement group per
ONNX node, and `load_model(weights_path=None)`. What each node computes comes from
the op table in `ramiel_mlir.backend.ops`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects.builtin import TensorType, UnitAttr
from xdsl.ir import SSAValue

from ramiel_mlir.backend.builder import PyBuilder
from ramiel_mlir.backend.context import NodeContext
from ramiel_mlir.backend.ops import LOWERINGS
from ramiel_mlir.backend.print_python import python_identifier
from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.dialects import dfg, py
from ramiel_mlir.weights import weight_value

TENSOR = "torch.Tensor"


@dataclass
class GraphLowering:
    """The state of lowering one graph: where weights became buffers, and values."""

    graph: dfg.GraphOp
    init: PyBuilder
    init_self: SSAValue
    values: dict[SSAValue, SSAValue] = field(default_factory=dict[SSAValue, SSAValue])
    buffers: dict[SSAValue, str] = field(default_factory=dict[SSAValue, str])
    buffer_names: set[str] = field(default_factory=set[str])
    constants: dict[SSAValue, np.ndarray] = field(default_factory=dict[SSAValue, np.ndarray])

    def buffer(self, weight: dfg.WeightOp) -> str:
        """The buffer that holds `weight`, declared in `__init__` on first use."""
        if weight.result in self.buffers:
            return self.buffers[weight.result]
        name = python_identifier(weight.weight_name.data, "w")
        candidate, suffix = name, 1
        while candidate in self.buffer_names:
            candidate, suffix = f"{name}_{suffix}", suffix + 1
        self.buffer_names.add(candidate)
        self.buffers[weight.result] = candidate
        tensor_type = weight.result.type
        assert isinstance(tensor_type, TensorType)
        self.init.add(
            py.BufferOp(
                self.init_self,
                candidate,
                tensor_type,
                weight.weight_name.data,
                file=weight.file.data if weight.file else None,
                value=weight.value,
            )
        )
        return candidate

    def constant(self, value: SSAValue) -> np.ndarray | None:
        """The compile-time value of a dfg value, if a weight defines it."""
        if not isinstance(value.owner, dfg.WeightOp):
            return None
        if value not in self.constants:
            self.constants[value] = weight_value(value.owner)
        return self.constants[value]

    def lower_body(self, block_builder: PyBuilder, self_value: SSAValue) -> list[SSAValue]:
        """Lower every node of the graph into `block_builder`; return the outputs."""

        def arg(value: SSAValue) -> SSAValue:
            if value in self.values:
                return self.values[value]
            if isinstance(value.owner, dfg.WeightOp):
                return block_builder.getattr(self_value, self.buffer(value.owner))
            raise RamielError(f"value {value.name_hint or value} is used before it is defined")

        for op in self.graph.block.ops:
            if isinstance(op, dfg.NodeOp):
                self._lower_node(op, block_builder, arg)
        output = self.graph.block.last_op
        assert isinstance(output, dfg.OutputOp)
        return [arg(v) for v in output.outputs]

    def _lower_node(self, node: dfg.NodeOp, b: PyBuilder, arg) -> None:
        lower = LOWERINGS.get(node.op_type.data)
        ctx = NodeContext(node, b, arg, self.constant)
        if lower is None or node.onnx_domain != dfg.DEFAULT_DOMAIN:
            ctx.unsupported(f"operator '{node.op_type.data}'")
        b.comment(f"{node.node_name} ({node.op_type.data})")
        first = b.block.last_op
        results = list(lower(ctx))
        if len(results) < len(node.outputs):
            results += [None] * (len(node.outputs) - len(results))
        created = {r for op in _ops_after(b, first) for r in op.results}
        for onnx_value, result in zip(node.outputs, results, strict=True):
            if result is None:
                if onnx_value.uses:
                    ctx.unsupported(f"output '{onnx_value.name_hint}'")
                continue
            if result in created and result.name_hint is None:
                result.name_hint = onnx_value.name_hint
            self.values[onnx_value] = result


def _ops_after(b: PyBuilder, first):
    op = first.next_op if first is not None else b.block.first_op
    while op is not None:
        yield op
        op = op.next_op


def lower_graph(graph: dfg.GraphOp) -> py.ModuleOp:
    """The Python module for one graph."""
    module = py.ModuleOp()
    top = PyBuilder(module.body.block)
    source = graph.source.data if graph.source else f"@{graph.sym_name.data}"
    top.comment(f"Generated by ramiel-opt from {source}.")
    top.add(py.FromImportOp("pathlib", ["Path"]))
    top.add(py.ImportOp("torch"))
    top.add(py.ImportOp("torch.nn.functional", "F"))
    here = top.add(py.CallOp("Path", [top.name("__file__")])).res[0]
    here.owner.attributes["inline"] = UnitAttr()
    weights_path = top.add(py.AssignOp(top.method(here, "with_suffix", ".weights.pt"))).res
    weights_path.name_hint = "WEIGHTS_PATH"
    with_suffix = weights_path.owner.operands[0].owner
    with_suffix.attributes["inline"] = UnitAttr()

    model = top.add(
        py.ClassOp(
            "Model",
            ["torch.nn.Module"],
            doc=f"The ONNX graph {graph.sym_name.data} as a PyTorch module.",
        )
    )
    class_body = PyBuilder(model.body.block)
    init = class_body.add(py.FuncOp("__init__", ["self"], [""], "None"))
    init_b = PyBuilder(init.body.block)
    super_call = init_b.add(py.CallOp("super", []))
    super_call.attributes["inline"] = UnitAttr()
    init_b.statement(super_call.res[0], "__init__")

    input_names = (
        [n.data for n in graph.input_names]
        if graph.input_names is not None
        else [a.name_hint or f"input_{i}" for i, a in enumerate(graph.block.args)]
    )
    params = _unique_params(input_names)
    outputs = len(graph.function_type.outputs)
    forward = class_body.add(
        py.FuncOp(
            "forward",
            ["self", *params],
            ["", *[TENSOR] * len(params)],
            TENSOR if outputs == 1 else f"tuple[{', '.join([TENSOR] * outputs)}]",
        )
    )
    lowering = GraphLowering(graph, init_b, init.body.block.args[0])
    forward_args = forward.body.block.args
    for dfg_arg, py_arg in zip(graph.block.args, forward_args[1:], strict=True):
        lowering.values[dfg_arg] = py_arg
    forward_b = PyBuilder(forward.body.block)
    results = lowering.lower_body(forward_b, forward_args[0])
    forward_b.add(py.ReturnOp(results))

    load = top.add(
        py.FuncOp(
            "load_model",
            ["weights_path"],
            ["str | Path | None"],
            "Model",
            doc="Build the model and load its weights (by default, the file beside this one).",
            defaults=[UnitAttr()],
        )
    )
    load_b = PyBuilder(load.body.block)
    path = load.body.block.args[0]
    instance = load_b.call("Model")
    instance.name_hint = "model"
    state = load_b.call("torch.load", load_b.binary("or", path, weights_path), weights_only=True)
    state.name_hint = "state"
    load_b.statement(instance, "load_state_dict", state)
    load_b.add(py.ReturnOp([load_b.method(instance, "eval")]))
    _inline_single_use(load.body.block)
    return module


def _inline_single_use(block) -> None:
    """Print `return model.eval()` rather than binding a name used once at once."""
    last = block.last_op
    if isinstance(last, py.ReturnOp):
        for value in last.values:
            owner = value.owner
            if isinstance(owner, py.MethodCallOp) and value.has_one_use():
                owner.attributes["inline"] = UnitAttr()


def _unique_params(names: list[str]) -> list[str]:
    params: list[str] = []
    for name in names:
        candidate = python_identifier(name, "input")
        base, suffix = candidate, 1
        while candidate in params or candidate in ("self", "torch", "F", "Path"):
            candidate, suffix = f"{base}_{suffix}", suffix + 1
        params.append(candidate)
    return params
