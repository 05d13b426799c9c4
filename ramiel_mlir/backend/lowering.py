"""
Lower a `dfg.graph` into a `py.module`: the generated file's structure.

The module defines `class Model(torch.nn.Module)` (weights as buffers, declared in
`__init__` and filled by `load_model`) and `load_model(weights_path=None)`. A flat
or single-cluster graph becomes one `forward` with a statement group per ONNX
node. A graph with several clusters becomes one method per lane (`_lane0`,
`_lane1`, ...) that `forward` runs through the lane runtime; `dfg.send` and
`dfg.recv` become `ch.<channel>.set_result(v)` and `ch.<channel>.result()`.
What each node computes comes from the op table in `ramiel_mlir.backend.ops`.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects.builtin import TensorType, UnitAttr
from xdsl.ir import Attribute, Block, Operation, SSAValue

from ramiel_mlir.analysis.concat_chains import ChainLink, concat_chains
from ramiel_mlir.analysis.kernels import thread_plan
from ramiel_mlir.analysis.layout import node_layout
from ramiel_mlir.backend.batch import lower_fork, lower_join
from ramiel_mlir.backend.builder import PyBuilder, add_import, add_runtime
from ramiel_mlir.backend.conditional import lower_if
from ramiel_mlir.backend.context import (
    ConvPacking,
    LinearPacking,
    NodeContext,
    NormPacking,
    PackSpec,
)
from ramiel_mlir.backend.layout import Layouts, weight_layout
from ramiel_mlir.backend.loop import lower_loop
from ramiel_mlir.backend.ops import lowering_of
from ramiel_mlir.backend.ops.dtypes import check_element_types
from ramiel_mlir.backend.ops.known import inline_constant, literal
from ramiel_mlir.backend.print_python import (
    MODULE_ATTRIBUTES,
    RESERVED,
    python_identifier,
    readable,
)
from ramiel_mlir.backend.program import add_main
from ramiel_mlir.backend.release import release_dead_values
from ramiel_mlir.backend.runtime_source import Import, runtime_module
from ramiel_mlir.backend.values import (
    annotation,
    check_input,
    graph_types,
    input_checks,
    is_string_tensor,
    needs_numpy,
    string_constant,
)
from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.dialects import dfg, py
from ramiel_mlir.dialects.annotations import (
    BATCH_PLAN,
    ONEDNN_GRAPH,
    PARALLEL_ESTIMATE,
    RUNTIME,
    SERIAL_ESTIMATE,
    THREADS,
    TORCHSCRIPT,
)
from ramiel_mlir.names import unique_name
from ramiel_mlir.tensors import torch_dtype_name
from ramiel_mlir.weights import weight_value

NODE_LINES = "_NODES"
"""The generated file's table of the lines where each node's code starts."""

lanes = runtime_module("lanes")
onednn = runtime_module("onednn")
onednn_graph = runtime_module("onednn_graph")
"""The lane runtime of threaded files."""

CHANNEL_ATTRIBUTES = frozenset({"error", "failing", "fail"})
"""The attributes of `runtime/lanes.py:_Channels` besides the channels: no channel takes them."""


@dataclass
class GraphLowering:
    """Lowering one graph: which weights became buffers, and compile-time constants."""

    graph: dfg.GraphOp
    init: PyBuilder
    init_self: SSAValue
    buffers: dict[SSAValue, str] = field(default_factory=dict[SSAValue, str])
    buffer_names: set[str] = field(default_factory=lambda: set(MODULE_ATTRIBUTES))
    """The attribute names taken in the generated `Model` (its buffers, and nn.Module's own)."""
    constants: dict[SSAValue, np.ndarray] = field(default_factory=dict[SSAValue, np.ndarray])
    channels: dict[str, str] = field(default_factory=dict[str, str])
    layouts: Layouts | None = None
    class_body: PyBuilder | None = None
    """The class body, where `_pack_weights` goes when a node needs packed weights."""
    in_place: bool = True
    """Whether element-wise nodes may overwrite inputs no other op reads (`overwritable`)."""
    pack: PyBuilder | None = None
    """The body of `_pack_weights` (None until a node needs it)."""
    packed: dict[tuple[SSAValue, PackSpec, int | None], str] = field(
        default_factory=dict[tuple[SSAValue, PackSpec, int | None], str]
    )
    """(weight, how it is packed, for how many threads) -> the attribute holding it."""
    pack_threads: int | None = None
    """The intra-op thread count `_pack_weights` has set so far (None: the caller's)."""
    caller_threads: SSAValue | None = None
    """`_pack_weights`' copy of the caller's thread count, once it sets its own."""

    chains: bool = True
    """
    Whether Concat chains write into one buffer (`analysis/concat_chains.py`); off where
    each node's code stands alone (the profiler's methods) and where the lane is traced
    at load (`dfg.runtime`: a trace of `torch.cat(..., out=buffer.narrow(...))` gave
    DenseNet wrong results under oneDNN Graph, which fuses plain concatenations itself).
    """
    concat_chains: dict[dfg.NodeOp, ChainLink] = field(default_factory=dict[dfg.NodeOp, ChainLink])
    """The graph's Concat chains (empty unless `chains`)."""
    chain_buffers: dict[tuple[dfg.NodeOp, Block], SSAValue] = field(
        default_factory=dict[tuple[dfg.NodeOp, Block], SSAValue]
    )
    """(a chain's first Concat, the block of its code) -> the chain's buffer there."""

    def __post_init__(self) -> None:
        self.layouts = Layouts.of(self.graph)
        if self.chains:
            nodes = (op for op in self.graph.walk() if isinstance(op, dfg.NodeOp))
            self.concat_chains = concat_chains(nodes)

    def buffer(self, weight: dfg.WeightOp) -> str:
        """The buffer that holds `weight`, declared in `__init__` on first use."""
        if weight.result in self.buffers:
            return self.buffers[weight.result]
        name = unique_name(python_identifier(weight.weight_name.data, "w"), self.buffer_names)
        self.buffers[weight.result] = name
        tensor_type = weight.result.type
        assert isinstance(tensor_type, TensorType)
        if is_string_tensor(tensor_type):
            # Torch buffers hold numbers: a string constant is a numpy attribute.
            array = string_constant(self.init, weight_value(weight))
            self.init.add(py.SetAttrOp(self.init_self, name, array))
            return name
        self.init.add(
            py.BufferOp(
                self.init_self,
                name,
                tensor_type,
                weight.weight_name.data,
                file=weight.file.data if weight.file else None,
                value=weight.value,
                memory_format=weight_layout(weight),
            )
        )
        return name

    def packed_weight(
        self, weight: dfg.WeightOp, spec: PackSpec, threads: int | None = None
    ) -> str:
        """
        The attribute holding `weight` prepared as `spec` says (packed for oneDNN, or
        a batch normalization's scale or shift), set in `_pack_weights` (made on first
        use; `finish_packing` makes it run). A oneDNN weight is packed on `threads`
        intra-op threads, those of the node that reads it (None: the caller's count):
        oneDNN picks the blocked format by the thread count, and a weight packed for
        another count ran 1.5x to 30x slower (AVX2, MobileNetV2's 960 -> 160 1x1 on
        7x7: 0.31 ms packed for one thread, 10 ms packed for two).
        """
        if isinstance(spec, NormPacking):  # derived values, the same on any thread count
            key = (weight.result, spec, None)
            if key not in self.packed:
                self._norm_affine(spec)
            return self.packed[key]
        key = (weight.result, spec, threads)
        if key in self.packed:
            return self.packed[key]
        pack, pack_self = self._packing()
        self._pack_on(threads)
        buffer = self.buffer(weight)
        name = unique_name(f"{buffer}_packed", self.buffer_names)
        self.packed[key] = name
        weight_value = pack.getattr(pack_self, buffer)
        match spec:
            case ConvPacking(padding, stride, dilation, groups, input_size):
                packed = pack.call(
                    "torch.ops.mkldnn._reorder_convolution_weight",
                    weight_value,
                    padding=list(padding),
                    stride=list(stride),
                    dilation=list(dilation),
                    groups=groups,
                    input_size=list(input_size),
                    inline=True,
                )
            case LinearPacking(rows, transposed):
                matrix = (
                    pack.method(weight_value, "t", inline=True)
                    if transposed
                    else pack.method(weight_value, "flatten", 1, inline=True)
                )
                packed = pack.call(
                    "torch.ops.mkldnn._reorder_linear_weight", matrix, batch_size=rows, inline=True
                )
        pack.add(py.SetAttrOp(pack_self, name, packed))
        return name

    def _norm_affine(self, spec: NormPacking) -> None:
        """
        A batch normalization's per-channel scale and shift, both set in `_pack_weights`
        (`scale = gamma / sqrt(var + eps)`, `shift = beta - mean * scale`: the affine
        form torch's inference kernel applies), shaped to broadcast over its input.
        """
        pack, pack_self = self._packing()

        def read(value: SSAValue) -> SSAValue:
            return pack.getattr(pack_self, self.buffer(_weight(value)))

        std = pack.call("torch.sqrt", pack.binary("+", read(spec.var), spec.epsilon))
        scale = pack.add(py.AssignOp(pack.binary("/", read(spec.gamma), std))).res
        mean = pack.binary("*", read(spec.mean), scale)
        shift = pack.add(py.AssignOp(pack.binary("-", read(spec.beta), mean))).res
        std.name_hint, scale.name_hint, shift.name_hint = "std", "scale", "shift"
        shape = [-1] + [1] * (spec.rank - 2)
        for part, value, weight in (("scale", scale, spec.gamma), ("shift", shift, spec.beta)):
            name = unique_name(f"{self.buffer(_weight(weight))}_{part}", self.buffer_names)
            self.packed[(weight, spec._replace(part=part), None)] = name
            per_channel = pack.method(value, "reshape", *shape, inline=True)
            pack.add(py.SetAttrOp(pack_self, name, per_channel))

    def _packing(self) -> tuple[PyBuilder, SSAValue]:
        """The builder of `_pack_weights` (made on first use) and its `self`."""
        if self.pack is None:
            assert self.class_body is not None
            func = self.class_body.add(
                py.FuncOp(
                    "_pack_weights",
                    ["self"],
                    [""],
                    "None",
                    doc="Derive what the nodes run with from the weights, once per load: "
                    "oneDNN's blocked convolution weights, batch normalizations' "
                    "scales and shifts.",
                )
            )
            self.pack = PyBuilder(func.body.block)
        return self.pack, self.pack.block.args[0]

    def _pack_on(self, threads: int | None) -> None:
        """
        Have `_pack_weights` pack what follows on `threads` intra-op threads (None: on
        the caller's), keeping the caller's count to restore at its end.
        """
        if threads == self.pack_threads:
            return
        pack, _ = self._packing()
        if threads is None:
            assert self.caller_threads is not None  # set with the first other count
            pack.call_n("torch.set_num_threads", 0, self.caller_threads)
            self.pack_threads = None
            return
        if self.caller_threads is None:
            get = py.CallOp("torch.get_num_threads", [], [], 1)
            get.results[0].name_hint = "caller_threads"
            first = pack.block.first_op
            if first is None:
                pack.block.add_op(get)
            else:
                pack.block.insert_op_before(get, first)
            self.caller_threads = get.results[0]
            pack.comment(
                "oneDNN picks a weight's blocked format by the intra-op thread count: "
                "each is packed for its node's"
            )
        pack.call_n("torch.set_num_threads", 0, threads)
        self.pack_threads = threads

    def _packed_value(
        self,
        b: PyBuilder,
        self_value: SSAValue,
        value: SSAValue,
        spec: PackSpec,
        threads: int | None = None,
    ) -> SSAValue:
        """`self.<packed weight>` for the weight `value`, packed as `spec` says for `threads`."""
        return b.getattr(self_value, self.packed_weight(_weight(value), spec, threads))

    def finish_packing(self, top: Block) -> None:
        """Pack the weights at the end of `__init__` and after every `load_state_dict`."""
        if self.pack is None:
            return
        if self.caller_threads is not None:
            self.pack.call_n("torch.set_num_threads", 0, self.caller_threads)
        self.init.statement(self.init_self, "_pack_weights")
        hook = add_runtime(top, onednn._pack_after_load)
        self.init.statement(
            self.init_self, "register_load_state_dict_post_hook", self.init.name(hook)
        )

    def constant(self, value: SSAValue) -> np.ndarray | None:
        """The compile-time value of a dfg value, if a weight defines it."""
        if not isinstance(value.owner, dfg.WeightOp):
            return None
        if value not in self.constants:
            self.constants[value] = weight_value(value.owner)
        return self.constants[value]

    def channel(self, name: str) -> str:
        """The Python attribute name of a channel."""
        if name not in self.channels:
            taken = set(self.channels.values()) | CHANNEL_ATTRIBUTES
            self.channels[name] = unique_name(python_identifier(name, "ch"), taken)
        return self.channels[name]

    def lower_ops(
        self,
        ops: Iterable[Operation],
        b: PyBuilder,
        self_value: SSAValue,
        values: dict[SSAValue, SSAValue],
        ch: SSAValue | None = None,
        threads: int | None = None,
    ) -> list[SSAValue]:
        """
        Lower the nodes and channel ops of one lane; return what it yields.

        `threads` is the lane's intra-op thread count: a node planned with its own
        count sets it, and the next node that runs on the lane's sets that back.
        """

        def arg(value: SSAValue) -> SSAValue:
            if value in values:
                return values[value]
            if isinstance(value.owner, dfg.WeightOp):
                return b.getattr(self_value, self.buffer(value.owner))
            raise RamielError(f"value '{value.name_hint or value}' is used before it is defined")

        ops = list(ops)
        _lower_forks(ops, b, arg, values)
        yielded: list[SSAValue] = []
        current = threads
        for op in ops:
            match op:
                case dfg.NodeOp() | dfg.LoopOp() | dfg.IfOp():
                    own = THREADS.get(op)
                    wanted = own if own is not None else threads
                    switch = wanted if wanted != current else None
                    self._lower_dataflow_node(op, b, self_value, arg, values, switch)
                    current = wanted
                case dfg.SendOp():
                    assert ch is not None
                    future = b.getattr(ch, self.channel(op.channel.data))
                    b.statement(future, "set_result", arg(op.value))
                case dfg.RecvOp():
                    assert ch is not None
                    future = b.getattr(ch, self.channel(op.channel.data))
                    received = b.method(future, "result")
                    received.name_hint = op.result.name_hint
                    values[op.result] = received
                case dfg.YieldOp() | dfg.OutputOp() | dfg.LoopYieldOp() | dfg.IfYieldOp():
                    yielded = self._yielded(op, b, arg)
                case dfg.JoinOp():
                    lower_join(op, b, arg, values)
                case dfg.ClusterOp() | dfg.WeightOp() | dfg.NoneOp() | dfg.ForkOp():
                    pass
                case _:
                    raise RamielError(f"convert-dfg-to-py: cannot lower '{op.name}'")
        return yielded

    def _lower_dataflow_node(
        self,
        op: dfg.NodeOp | dfg.LoopOp | dfg.IfOp,
        b: PyBuilder,
        self_value: SSAValue,
        arg: Callable[[SSAValue], SSAValue],
        values: dict[SSAValue, SSAValue],
        threads: int | None,
    ) -> None:
        """One node of the graph: an operator, a loop or an if/else."""
        if isinstance(op, dfg.NodeOp):
            self._lower_node(op, b, self_value, arg, values, threads)
        elif isinstance(op, dfg.LoopOp):
            lower_loop(self, op, b, self_value, arg, values, threads)
        else:
            lower_if(self, op, b, self_value, arg, values, threads)

    def _yielded(
        self, op: Operation, b: PyBuilder, arg: Callable[[SSAValue], SSAValue]
    ) -> list[SSAValue]:
        """What a lane or the graph yields (contiguous, as graph outputs), a body or a branch."""
        if isinstance(op, dfg.LoopYieldOp | dfg.IfYieldOp):
            return [arg(v) for v in op.operands]
        assert self.layouts is not None
        return [self.layouts.output(b, v, arg(v)) for v in op.operands]

    def _lower_node(
        self,
        node: dfg.NodeOp,
        b: PyBuilder,
        self_value: SSAValue,
        arg: Callable[[SSAValue], SSAValue],
        values: dict[SSAValue, SSAValue],
        threads: int | None = None,
    ) -> None:
        """
        One node's code, after a comment naming it (and `threads`, if it sets them).

        A small Constant that only nodes read prints nothing: its value is a
        literal where each of them reads it.
        """
        if node.outputs and all(inline_constant(r) is not None for r in node.outputs):
            return

        given: list[SSAValue] = []
        layouts, wanted = self.layouts, node_layout(node)
        assert layouts is not None

        def node_arg(value: SSAValue) -> SSAValue:
            constant = inline_constant(value)
            if constant is None:
                given.append(layouts.convert(b, value, arg(value), wanted))
            else:
                assert isinstance(value.type, TensorType)
                given.append(literal(ctx, constant, value.type.get_element_type()))
            return given[-1]

        def packed(value: SSAValue, spec: PackSpec) -> SSAValue:
            return self._packed_value(b, self_value, value, spec, thread_plan(node))

        lower = lowering_of(node)
        ctx = NodeContext(
            node,
            b,
            node_arg,
            self.constant,
            packed,
            self.in_place,
            self.concat_chains,
            self.chain_buffers,
        )
        if lower is None:
            ctx.unsupported(f"operator '{node.op_type.data}'")
        check_element_types(ctx)
        b.node(readable(node.node_name), readable(node.op_type.data))
        comment = b.block.last_op
        if threads is not None:
            b.call_n("torch.set_num_threads", 0, threads)
        first = b.block.last_op
        results = list(lower(ctx))
        results += [None] * (len(node.outputs) - len(results))
        created = {r for op in _ops_after(b.block, first) for r in op.results}
        if first is comment and all(r is None or r in given for r in results):
            # The node's results are its inputs (Expand to the same shape, ...): no comment.
            assert comment is not None
            comment.detach()
            comment.erase()
        _bind_results(ctx, results, created, values)


def _weight(value: SSAValue) -> dfg.WeightOp:
    """The weight that defines `value`; an error for a computed value."""
    if not isinstance(value.owner, dfg.WeightOp):
        raise RamielError(f"only a weight can be packed, not '{value.name_hint or value}'")
    return value.owner


def _bind_results(
    ctx: NodeContext,
    results: Sequence[SSAValue | None],
    created: Container[SSAValue],
    values: dict[SSAValue, SSAValue],
) -> None:
    """Map the node's ONNX results to the Python values its lowering returned, named after them."""
    for onnx_value, result in zip(ctx.node.outputs, results, strict=True):
        if result is None:
            if onnx_value.uses:
                ctx.unsupported(f"output '{onnx_value.name_hint}'")
            continue
        if result in created and result.name_hint is None:
            result.name_hint = onnx_value.name_hint
        owner = result.owner
        if isinstance(owner, py.CallOp | py.MethodCallOp) and owner.inline is not None:
            # An ONNX value is bound to its name: it may have several readers.
            del owner.attributes["inline"]
        values[onnx_value] = result


def _lower_forks(
    ops: Sequence[Operation],
    b: PyBuilder,
    arg: Callable[[SSAValue], SSAValue],
    values: dict[SSAValue, SSAValue],
) -> None:
    """Split the batch (each `dfg.fork` whose slices `ops` read) at the top of a lane."""
    forks = {v.owner: None for op in ops for v in op.operands if v not in values}
    for fork in forks:
        if isinstance(fork, dfg.ForkOp):
            lower_fork(fork, b, arg, values)


def _ops_after(block: Block, first: Operation | None) -> Iterable[Operation]:
    op = first.next_op if first is not None else block.first_op
    while op is not None:
        yield op
        op = op.next_op


def _lane_doc(cluster: dfg.ClusterOp) -> str:
    names = [readable(dfg.node_of(op).node_name(op)) for op in cluster.block.ops if dfg.is_node(op)]
    where = "the calling thread" if cluster.id == 0 else "a worker thread"
    shown = ", ".join(names[:6]) + (f", ... ({len(names)} nodes)" if len(names) > 6 else "")
    return f"Lane {cluster.id}, on {where}: {shown or 'no nodes'}."


def _input_names(graph: dfg.GraphOp) -> list[str]:
    """The ONNX names of the graph inputs (or names made up for them)."""
    if graph.input_names is not None:
        return [n.data for n in graph.input_names]
    return [a.name_hint or f"input_{i}" for i, a in enumerate(graph.block.args)]


def _params(graph: dfg.GraphOp) -> list[str]:
    taken = set(RESERVED)
    return [unique_name(python_identifier(n, "input"), taken) for n in _input_names(graph)]


def _duration(microseconds: float) -> str:
    return f"{microseconds / 1000:.1f} ms" if microseconds >= 1000 else f"{microseconds:.0f} us"


def _threads(count: int) -> str:
    return f"{count} intra-op thread{'s' if count > 1 else ''}"


def _plan_summary(
    graph: dfg.GraphOp, clusters: Sequence[dfg.ClusterOp], planned: int | None
) -> str:
    """The plan the header states (`2 lanes, estimated 6 us (serial 8 us)`); '' if serial."""
    summary = ""
    if len(clusters) > 1:
        summary = f"{len(clusters)} lanes"
        estimate = PARALLEL_ESTIMATE.get(graph)
        serial = SERIAL_ESTIMATE.get(graph)
        if estimate is not None and serial is not None:
            summary += f", estimated {_duration(estimate)} (serial {_duration(serial)})"
        if RUNTIME.get(graph) == ONEDNN_GRAPH:
            summary += ", each compiled at load (oneDNN Graph, else TorchScript)"
    if len(clusters) == 1 and planned is not None:
        summary = f"1 lane, {_threads(planned)}"
        own = [THREADS.get(op) for op in clusters[0].block.ops if dfg.is_node(op)]
        counts = [count for count in own if count is not None]
        if counts:
            summary += f" ({_threads(max(counts))} for {len(counts)} of its nodes)"
        if RUNTIME.get(graph) == ONEDNN_GRAPH:
            summary += ", compiled at load (oneDNN Graph, else TorchScript)"
        elif RUNTIME.get(graph) == TORCHSCRIPT:
            summary += ", run as TorchScript from load"
    return summary


def _header(
    top: PyBuilder, graph: dfg.GraphOp, plan: str, planned: int | None, lane_count: int
) -> None:
    source = graph.source.data if graph.source else f"@{graph.sym_name.data}"
    summary = f"Generated by ramiel-opt from {readable(source)}"
    if plan:
        summary += f": {plan}"
    top.comment(summary + ".")
    _batch_comment(top, graph)
    block = top.block
    add_import(block, Import("pathlib", name="Path"))
    add_import(block, Import("torch"))
    add_import(block, Import("torch.nn.functional", alias="F"))
    if needs_numpy(graph_types(graph)):
        add_import(block, Import("numpy", alias="np"))
    here = top.call("Path", top.name("__file__"), inline=True)
    weights_path = top.add(py.AssignOp(top.method(here, "with_suffix", ".weights.pt", inline=True)))
    weights_path.res.name_hint = "WEIGHTS_PATH"
    for check in input_checks(graph):
        add_runtime(block, check)
    if planned is not None:
        add_runtime(block, lanes._with_threads)
    if lane_count > 1:
        add_runtime(block, lanes._Lanes)


def _batch_plan(graph: dfg.GraphOp) -> str | None:
    """The batch split: parallelize's choice, or hypercluster's split (None: neither)."""
    plan = BATCH_PLAN.get(graph)
    forks = [op for op in graph.block.ops if isinstance(op, dfg.ForkOp)]
    if plan is not None:
        return readable(plan)
    if forks:
        return f"split into {len(forks[0].slices)} hyperclusters"
    return None


def _batch_comment(top: PyBuilder, graph: dfg.GraphOp) -> None:
    """A header line on the batch split, if there is one."""
    plan = _batch_plan(graph)
    if plan is not None:
        top.comment(f"Batch plan: {plan}.")


def _planned_threads(clusters: Sequence[dfg.ClusterOp]) -> int | None:
    """The intra-op threads merge-clusters planned for the lanes (None: not planned)."""
    counts = [c.threads.value.data for c in clusters if c.threads is not None]
    return max(counts) if counts else None


def lower_graph(graph: dfg.GraphOp) -> py.ModuleOp:
    """The Python module for one graph."""
    clusters = [op for op in graph.block.ops if isinstance(op, dfg.ClusterOp)]
    planned = _planned_threads(clusters)
    module = py.ModuleOp()
    top = PyBuilder(module.body.block)
    plan = _plan_summary(graph, clusters, planned)
    _header(top, graph, plan, planned, len(clusters))

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
    init_b.statement(init_b.call("super", inline=True), "__init__")
    lowering = GraphLowering(
        graph,
        init_b,
        init.body.block.args[0],
        class_body=class_body,
        chains=RUNTIME.get(graph) is None,
    )

    params = _params(graph)
    returns = _returns(graph.function_type.outputs.data)
    forward = class_body.add(
        py.FuncOp("forward", ["self", *params], ["", *_annotations(graph)], returns)
    )
    forward_b = PyBuilder(forward.body.block)
    forward_args = forward.body.block.args
    _check_inputs(forward_b, graph, forward_args[1:])
    compiled: list[CompiledLane] = []
    if len(clusters) <= 1 and planned is None:
        _lower_body(lowering, clusters, forward_b, forward_args)
    elif len(clusters) == 1 and planned is not None:
        _lower_single_lane(
            lowering, class_body, forward_b, forward_args, clusters[0], planned, params, returns
        )
        inputs = list(graph.function_type.inputs)
        compiled = [CompiledLane("_lane0", inputs, planned)] if RUNTIME.get(graph) else []
    else:
        compiled = _lower_lanes(
            lowering, class_body, forward_b, forward_args, clusters, params, returns
        )

    for method in class_body.block.ops:
        if isinstance(method, py.FuncOp) and _holds_nodes(method):
            release_dead_values(method.body.block)
    lowering.finish_packing(top.block)
    if compiled:
        _compile_at_load(lowering, class_body, top, graph, compiled)
    _load_model(top, weights_path=_global(module, "WEIGHTS_PATH"))
    top.add(py.NodeLinesOp(NODE_LINES))
    batch = _batch_plan(graph)
    plan = plan or "serial: one forward on the caller's intra-op threads"
    add_main(top, graph, plan + (f"; batch plan: {batch}" if batch else ""), NODE_LINES)
    return module


def _holds_nodes(method: py.FuncOp) -> bool:
    """Whether `method` is `forward` or a lane: the methods that run the graph's nodes."""
    name = method.sym_name.data
    return name == "forward" or name.startswith("_lane")


def _check_inputs(b: PyBuilder, graph: dfg.GraphOp, params: Sequence[SSAValue]) -> None:
    """One `_check_input(name, param, shape, dtype)` (or another kind's) per input, up front."""
    inputs = zip(_input_names(graph), params, graph.function_type.inputs, strict=True)
    for name, param, input_type in inputs:
        check_input(b, name, param, input_type)


def _lower_body(
    lowering: GraphLowering,
    clusters: Sequence[dfg.ClusterOp],
    b: PyBuilder,
    args: Sequence[SSAValue],
) -> None:
    """The whole graph, in order, into one function whose `args` are self and the inputs."""
    graph = lowering.graph
    values: dict[SSAValue, SSAValue] = dict(zip(graph.block.args, args[1:], strict=True))
    if clusters:
        lane = clusters[0]
        threads = lane.threads.value.data if lane.threads is not None else None
        yielded = lowering.lower_ops(lane.block.ops, b, args[0], values, threads=threads)
        values.update(zip(clusters[0].outputs, yielded, strict=True))
    b.add(py.ReturnOp(lowering.lower_ops(graph.block.ops, b, args[0], values)))


def _lower_single_lane(
    lowering: GraphLowering,
    class_body: PyBuilder,
    forward_b: PyBuilder,
    forward_args: Sequence[SSAValue],
    cluster: dfg.ClusterOp,
    threads: int,
    params: list[str],
    returns: str,
) -> None:
    """One planned lane: `forward` runs `_lane0` with the lane's intra-op thread count."""
    method = class_body.add(
        py.FuncOp(
            "_lane0",
            ["self", *params],
            ["", *_annotations(lowering.graph)],
            returns,
            doc=_lane_doc(cluster),
        )
    )
    _lower_body(lowering, [cluster], PyBuilder(method.body.block), method.body.block.args)
    lane = forward_b.getattr(forward_args[0], "_lane0")
    result = forward_b.call(lanes._with_threads.name, threads, lane, *forward_args[1:], inline=True)
    forward_b.add(py.ReturnOp([result]))


@dataclass(frozen=True)
class CompiledLane:
    """A method that `_compile_lanes` has compiled at load: its name, inputs and threads."""

    method: str
    inputs: Sequence[Attribute]
    threads: int


def _compile_at_load(
    lowering: GraphLowering,
    class_body: PyBuilder,
    top: PyBuilder,
    graph: dfg.GraphOp,
    compiled: Sequence[CompiledLane],
) -> None:
    """
    `_compile_lanes`, which has oneDNN Graph compile each lane's method for the
    compiled input shapes on the lane's intra-op threads (or, for `dfg.runtime =
    "torchscript"`, traces it without the fuser), run after every `load_state_dict`
    (fuse-onednn-graph).
    """
    fuse = RUNTIME.get(graph) == ONEDNN_GRAPH
    lanes_ = "each lane's nodes" if len(compiled) > 1 else "lane 0"
    method = class_body.add(
        py.FuncOp(
            "_compile_lanes",
            ["self"],
            [""],
            "None",
            doc=(
                f"Compile {lanes_} for these inputs: with oneDNN Graph, else as TorchScript, "
                "else not."
                if fuse
                else f"Trace {lanes_} for these inputs and run it as TorchScript, else eager."
            ),
        )
    )
    b = PyBuilder(method.body.block)
    name = add_runtime(top.block, onednn_graph._compile_lane_at_load)
    for lane in compiled:
        specs = []
        for t in lane.inputs:
            assert isinstance(t, TensorType)  # fuse-onednn-graph's condition
            shape = b.list(list(t.get_shape()), as_tuple=True)
            dtype = b.name(f"torch.{torch_dtype_name(t.get_element_type())}")
            specs.append(b.list([shape, dtype], as_tuple=True))
        b.call_n(
            name,
            0,
            method.body.block.args[0],
            lane.method,
            b.list(specs),
            onednn_graph=fuse,
            threads=lane.threads,
        )
    hook = add_runtime(top.block, onednn_graph._compile_after_load)
    lowering.init.statement(
        lowering.init_self, "register_load_state_dict_post_hook", lowering.init.name(hook)
    )


def _lane_nodes(
    lowering: GraphLowering,
    class_body: PyBuilder,
    cluster: dfg.ClusterOp,
    b: PyBuilder,
    self_value: SSAValue,
    values: dict[SSAValue, SSAValue],
) -> CompiledLane:
    """
    A compiled lane's nodes as their own method, `_lane<i>_nodes(self, inputs...)`,
    which returns the values the lane's channel ops and yield read, and its call in
    the lane (`b`), whose results go into `values`; the lane's channel ops follow that
    call. fuse-onednn-graph has made sure that the lane receives nothing before one of
    its nodes: the nodes need nothing from another lane, and a send that came between
    them may wait until all have run (only lane ends receive).
    """
    nodes = [op for op in cluster.block.ops if dfg.is_node(op)]
    inside = set(nodes)
    inputs = list(
        dict.fromkeys(
            v
            for node in nodes
            for v in node.operands
            if v.owner not in inside and not isinstance(v.owner, dfg.WeightOp | dfg.NoneOp)
        )
    )
    outputs = [
        r for node in nodes for r in node.results if any(u.operation not in inside for u in r.uses)
    ]
    _lower_forks(nodes, b, values.__getitem__, values)
    name = f"_lane{cluster.id}_nodes"
    taken = set(RESERVED)
    params = [unique_name(python_identifier(v.name_hint or "x", "input"), taken) for v in inputs]
    method = class_body.add(
        py.FuncOp(
            name,
            ["self", *params],
            ["", *(annotation(v.type) for v in inputs)],
            _returns([v.type for v in outputs]),
            doc=f"The nodes of lane {cluster.id}, compiled at load.",
        )
    )
    args = method.body.block.args
    inner = PyBuilder(method.body.block)
    own: dict[SSAValue, SSAValue] = dict(zip(inputs, args[1:], strict=True))
    lowering.lower_ops(nodes, inner, args[0], own)
    inner.add(py.ReturnOp([own[v] for v in outputs]))
    call = b.add(py.MethodCallOp(self_value, name, [values[v] for v in inputs], (), len(outputs)))
    for value, result in zip(outputs, call.res, strict=True):
        result.name_hint = value.name_hint
        values[value] = result
    threads = cluster.threads.value.data if cluster.threads is not None else 1
    return CompiledLane(name, [v.type for v in inputs], threads)


def _lower_lanes(
    lowering: GraphLowering,
    class_body: PyBuilder,
    forward_b: PyBuilder,
    forward_args: Sequence[SSAValue],
    clusters: Sequence[dfg.ClusterOp],
    params: list[str],
    returns: str,
) -> list[CompiledLane]:
    """
    One method per lane, and a `forward` that runs them through `_Lanes`; in a graph
    that fuse-onednn-graph marked, each lane's nodes go into a method of their own,
    compiled at load (returned).
    """
    threads = max((c.threads.value.data for c in clusters if c.threads is not None), default=1)
    init_self = lowering.init_self
    runner = lowering.init.call(
        lanes._Lanes.name,
        workers=len(clusters) - 1,
        threads=threads,
        nodes=lowering.init.name(NODE_LINES),
        inline=True,
    )
    lowering.init.add(py.SetAttrOp(init_self, "_lanes", runner))
    methods: list[SSAValue] = []
    compiled: list[CompiledLane] = []
    for cluster in sorted(clusters, key=lambda c: c.id):
        method = class_body.add(
            py.FuncOp(
                f"_lane{cluster.id}",
                ["self", "ch", *params],
                ["", "_Channels", *_annotations(lowering.graph)],
                returns if cluster.id == 0 else "None",
                doc=_lane_doc(cluster),
            )
        )
        args = method.body.block.args
        values: dict[SSAValue, SSAValue] = dict(
            zip(lowering.graph.block.args, args[2:], strict=True)
        )
        b = PyBuilder(method.body.block)
        ops = list(cluster.block.ops)
        if RUNTIME.get(lowering.graph) is not None:
            compiled.append(_lane_nodes(lowering, class_body, cluster, b, args[0], values))
            ops = [op for op in ops if not dfg.is_node(op)]
        yielded = lowering.lower_ops(ops, b, args[0], values, ch=args[1])
        if cluster.id == 0:  # lane 0 also runs what follows the clusters (dfg.join)
            values.update(zip(cluster.outputs, yielded, strict=True))
            b.add(py.ReturnOp(lowering.lower_ops(lowering.graph.block.ops, b, args[0], values)))
        methods.append(forward_b.getattr(forward_args[0], f"_lane{cluster.id}"))
    # The channel names, a class constant at the top of the class body.
    class_block = class_body.block
    names = PyBuilder(Block())
    constant = names.add(py.AssignOp(names.list(sorted(lowering.channels.values()), as_tuple=True)))
    constant.res.name_hint = "CHANNELS"
    first = class_block.first_op
    assert first is not None  # __init__
    for op in list(names.block.ops):
        op.detach()
        class_block.insert_op_before(op, first)
    result = forward_b.method(
        forward_b.getattr(forward_args[0], "_lanes"),
        "run",
        forward_b.getattr(forward_args[0], "CHANNELS"),
        forward_b.list(methods),
        *forward_args[1:],
        inline=True,
    )
    forward_b.add(py.ReturnOp([result]))
    return compiled


def _returns(types: Sequence[Attribute]) -> str:
    """The return annotation of a function that returns values of `types`."""
    results = [annotation(t) for t in types]
    return f"tuple[{', '.join(results)}]" if len(results) > 1 else "".join(results) or "None"


def _annotations(graph: dfg.GraphOp) -> list[str]:
    """The annotations of the graph inputs as parameters of the generated code."""
    return [annotation(t) for t in graph.function_type.inputs]


def _global(module: py.ModuleOp, name: str) -> SSAValue:
    for op in module.body.block.ops:
        if isinstance(op, py.AssignOp) and op.res.name_hint == name:
            return op.res
    raise AssertionError(f"no global {name}")


def _load_model(top: PyBuilder, weights_path: SSAValue) -> None:
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
    b = PyBuilder(load.body.block)
    path = load.body.block.args[0]
    instance = b.call("Model")
    instance.name_hint = "model"
    state = b.call("torch.load", b.binary("or", path, weights_path), weights_only=True)
    state.name_hint = "state"
    b.statement(instance, "load_state_dict", state)
    b.add(py.ReturnOp([b.method(instance, "eval", inline=True)]))
