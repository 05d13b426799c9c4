"""
Static shapes for the ONNX frontend, beyond what `onnx.shape_inference` resolves.

ONNX shape inference (even with data propagation) loses track of shapes that
exporters compute with ordinary arithmetic: TorchScript's `expand(b, t, t)` goes
through Where/Equal/ConstantOfShape, `chunk` through Div, and Expand before opset
13 has no data propagation. Yet with static input shapes such arithmetic is a
compile-time constant. `infer_static_shapes` does what onnx-simplifier does:

    repeat:  evaluate every small constant value upstream of an unresolved one
             (Constant, Shape/Size of a static type, deterministic nodes over
             constants) with ONNX's reference implementation;
             re-run shape inference on a copy where those values are Constants
    until no value is unresolved or nothing new was computed.

The computed values only settle types: the returned model is the input model
with its value types filled in, every node kept (fold-constants folds them later).
A model whose shapes resolve on the first inference pays nothing.
"""

from __future__ import annotations

import math
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import (
    AttributeProto,
    GraphProto,
    ModelProto,
    NodeProto,
    TensorProto,
    TypeProto,
    helper,
    numpy_helper,
)

from ramiel_mlir.onnx.evaluate import SHAPE_ONLY_OPS, placeholder, run_node
from ramiel_mlir.onnx.schema import schema_is_deterministic
from ramiel_mlir.tensors import numpy_from_onnx

MAX_ELEMENTS = 65_536
"""The largest value (in elements) computed to help shape inference."""

Types = dict[str, TypeProto]
"""Value name -> its ONNX type, as shape inference left it."""


def infer_static_shapes(model: ModelProto, base_dir: str = "") -> ModelProto:
    """
    `model` with static types for as many values as can be resolved (module doc).

    `base_dir` locates external data of small initializers that feed shapes.
    Raises onnx's `InferenceError` (or `ValidationError`) when shape inference
    finds the model inconsistent; values left unresolved are for the caller to
    report.
    """
    inferred = _infer(model)
    unresolved = unresolved_values(model.graph, static_values(inferred.graph))
    if not unresolved:
        return inferred
    types = value_types(inferred.graph)
    evaluator = _ConstantEvaluator(model, base_dir)
    while unresolved and evaluator.evaluate(types, unresolved):
        latest = value_types(_infer(evaluator.substituted()).graph)
        types.update((n, t) for n, t in latest.items() if n not in types or is_static(t))
        static = {name for name, t in types.items() if is_static(t)}
        unresolved = unresolved_values(model.graph, static)
    if unresolved and _rank_reductions(model, types):
        # The ranks found are hints: inference carries them to the nodes downstream.
        latest = value_types(_infer(_with_types(inferred, types)).graph)
        types.update((n, t) for n, t in latest.items() if n not in types or _has_rank(t))
    return _with_types(inferred, types)


REDUCTIONS_AXES_INPUT = {"ReduceSum": 13} | {
    op: 18
    for op in (
        *("ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax"),
        *("ReduceMean", "ReduceMin", "ReduceProd", "ReduceSumSquare"),
    )
}
"""Reductions and the opset since which their `axes` are an input (which may be computed)."""


def _rank_reductions(model: ModelProto, types: Types) -> bool:
    """
    Give a rank to the result of each reduction over computed axes, which ONNX's
    inference leaves without a shape: the data's rank with `keepdims`, else that
    rank less the number of axes (their static count; repeated axes are an error
    in ONNX's reference and in torch).
    Its sizes are `?`: which axes go is known when the code runs. Whether any was added.
    """
    opset = max(
        (entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx")),
        default=0,
    )
    added = False
    for node in model.graph.node:
        since = REDUCTIONS_AXES_INPUT.get(node.op_type)
        output = node.output[0] if node.output else ""
        if since is None or _domain(node) or opset < since or len(node.input) < 2:
            continue
        if not output or _has_rank(types.get(output, TypeProto())):
            continue
        data, axes = types.get(node.input[0]), types.get(node.input[1])
        if data is None or axes is None or not _has_rank(data) or not is_static(axes):
            continue
        keepdims = next((a.i for a in node.attribute if a.name == "keepdims"), 1)
        count = _count(_dims(axes))
        rank = len(data.tensor_type.shape.dim)
        if count == 0 or count > rank:  # no axes: all or none, by an attribute; or invalid
            continue
        dims = [None] * (rank if keepdims else rank - count)
        types[output] = helper.make_tensor_type_proto(data.tensor_type.elem_type, dims)
        added = True
    return added


def _has_rank(t: TypeProto) -> bool:
    """Whether `t` is a tensor type with a known rank."""
    return t.tensor_type.HasField("shape")


def constant_value(
    model: ModelProto, name: str, types: Mapping[str, TypeProto], base_dir: str = ""
) -> np.ndarray | None:
    """
    The compile-time value of `name` in `model`, whose values have the `types` given
    (beside those `model` records): computed from constants and static shapes as
    `infer_static_shapes` computes them; None if it depends on input data (or on a
    random or subgraph node).
    """
    evaluator = _ConstantEvaluator(model, base_dir)
    if name in evaluator.initializers:
        return evaluator._value(name)  # pyright: ignore[reportPrivateUsage]
    known_types = value_types(model.graph) | dict(types)
    while name not in evaluator.known and evaluator.evaluate(known_types, [name]):
        pass
    return evaluator.known.get(name)


def _infer(model: ModelProto) -> ModelProto:
    return onnx.shape_inference.infer_shapes(
        model, check_type=True, strict_mode=True, data_prop=True
    )


def is_static(t: TypeProto) -> bool:
    """Whether `t` is a tensor type with a known rank and every dimension a number."""
    tensor = t.tensor_type  # an empty message for other types: no shape
    if not tensor.HasField("shape"):
        return False
    # `dim_value` is tested first: HasField is the slow call, and 0 is rare.
    return all(d.dim_value or d.HasField("dim_value") for d in tensor.shape.dim)


def static_values(graph: GraphProto) -> set[str]:
    """The values (other than inputs and initializers) that `graph` types statically."""
    return {
        info.name
        for infos in (graph.value_info, graph.output)
        for info in infos
        if is_static(info.type)
    }


def value_types(graph: GraphProto) -> Types:
    """The types that `graph` records for its inputs, initializers and values."""
    types: Types = {}
    for info in [*graph.input, *graph.value_info, *graph.output]:
        if info.HasField("type"):
            types[info.name] = info.type
    for tensor in graph.initializer:
        types[tensor.name] = helper.make_tensor_type_proto(tensor.data_type, tensor.dims)
    return types


def unresolved_values(graph: GraphProto, static: Container[str]) -> set[str]:
    """Node outputs that a node or the graph output reads, without a static type."""
    read = {output.name for output in graph.output}
    produced: list[str] = []
    for node in graph.node:
        read.update(node.input)
        produced.extend(node.output)
    return {name for name in produced if name in read and name not in static}


def _with_types(inferred: ModelProto, types: Mapping[str, TypeProto]) -> ModelProto:
    """`inferred` with the value types of `types` (its nodes untouched)."""
    graph = inferred.graph
    outputs = {output.name for output in graph.output}
    del graph.value_info[:]
    graph.value_info.extend(
        helper.make_value_info(name, types[name])
        for node in graph.node
        for name in node.output
        if name and name in types and name not in outputs
    )
    for output in graph.output:
        if output.name in types:
            output.type.CopyFrom(types[output.name])
    return inferred


@dataclass
class _ConstantEvaluator:
    """The compile-time values of a model found so far, and the model they make."""

    model: ModelProto
    base_dir: str
    known: dict[str, np.ndarray] = field(default_factory=dict[str, np.ndarray])
    """Values computed (or read from initializers), each at most MAX_ELEMENTS."""
    rejected: set[int] = field(default_factory=set[int])
    """Nodes that will never be evaluated (random, no reference, too large, failing)."""
    producers: dict[str, int] = field(init=False)
    initializers: dict[str, TensorProto] = field(init=False)

    def __post_init__(self) -> None:
        graph = self.model.graph
        self.producers = {
            name: index for index, node in enumerate(graph.node) for name in node.output if name
        }
        self.initializers = {tensor.name: tensor for tensor in graph.initializer}

    def evaluate(self, types: Mapping[str, TypeProto], unresolved: Iterable[str]) -> bool:
        """Compute the constants upstream of `unresolved`; whether any is new."""
        nodes = self.model.graph.node
        progress = False
        for index in sorted(self._ancestors(unresolved)):
            node = nodes[index]
            if index in self.rejected or all(n in self.known for n in node.output if n):
                continue
            inputs = self._inputs(node, types)
            if inputs is None:
                continue  # an input is not (yet) known
            values = self._run(node, inputs, types)
            if values is None:
                self.rejected.add(index)
                continue
            self.known.update(values)
            progress = True
        return progress

    def substituted(self) -> ModelProto:
        """
        The model with every computed value as a Constant node, for shape inference.

        Initializers that are not small data in memory become typed graph inputs:
        inference needs their types only, and copying them would cost time.
        """
        model = ModelProto(ir_version=self.model.ir_version)
        model.opset_import.extend(self.model.opset_import)
        model.functions.extend(self.model.functions)
        source = self.model.graph
        graph = model.graph
        graph.name = source.name
        graph.output.extend(source.output)
        graph.value_info.extend(source.value_info)
        graph.sparse_initializer.extend(source.sparse_initializer)
        graph.input.extend(source.input)
        listed = {info.name for info in source.input}
        for tensor in source.initializer:
            if tensor.name in self.known:
                value = self.known[tensor.name]
                graph.initializer.append(numpy_helper.from_array(value, tensor.name))
            elif _in_memory(tensor) and _count(tensor.dims) <= MAX_ELEMENTS:
                graph.initializer.append(tensor)
            elif tensor.name not in listed:
                graph.input.append(
                    helper.make_tensor_value_info(tensor.name, tensor.data_type, tensor.dims)
                )
        for node in source.node:
            outputs = [name for name in node.output if name]
            if outputs and all(name in self.known for name in outputs):
                graph.node.extend(
                    helper.make_node(
                        "Constant",
                        [],
                        [name],
                        name=node.name,
                        value=numpy_helper.from_array(self.known[name], name),
                    )
                    for name in outputs
                )
            else:
                graph.node.append(node)
        return model

    def _ancestors(self, names: Iterable[str]) -> set[int]:
        """The nodes that compute `names`, and all the nodes they depend on."""
        nodes = self.model.graph.node
        pending = [self.producers[name] for name in names if name in self.producers]
        seen: set[int] = set()
        while pending:
            index = pending.pop()
            if index in seen:
                continue
            seen.add(index)
            pending.extend(self.producers[n] for n in nodes[index].input if n in self.producers)
        return seen

    def _inputs(
        self, node: NodeProto, types: Mapping[str, TypeProto]
    ) -> dict[str, np.ndarray] | None:
        """The node's input values by name, None unless all are known."""
        shape_only = node.op_type in SHAPE_ONLY_OPS and _domain(node) == ""
        feeds: dict[str, np.ndarray] = {}
        for name in node.input:
            if not name:
                continue
            if shape_only and name in types and is_static(types[name]):
                feeds[name] = _placeholder(types[name])
                continue
            value = self._value(name)
            if value is None:
                return None
            feeds[name] = value
        return feeds

    def _value(self, name: str) -> np.ndarray | None:
        """A known value, reading a small initializer on first use."""
        if name in self.known:
            return self.known[name]
        tensor = self.initializers.get(name)
        if tensor is None or _count(tensor.dims) > MAX_ELEMENTS:
            return None
        try:
            value = numpy_from_onnx(tensor, self.base_dir)
        except (OSError, ValueError, TypeError):
            return None  # missing external data: the checker reports it elsewhere
        self.known[name] = value
        return value

    def _run(
        self, node: NodeProto, feeds: dict[str, np.ndarray], types: Mapping[str, TypeProto]
    ) -> dict[str, np.ndarray] | None:
        """The node's outputs by name, None if they must not or cannot be computed."""
        if not self._evaluable(node):
            return None
        outputs = [name for name in node.output if name]
        if any(
            name in types and is_static(types[name]) and _count(_dims(types[name])) > MAX_ELEMENTS
            for name in outputs
        ):
            return None
        try:
            results = run_node(node, feeds, self._opsets())
        except Exception:  # no reference implementation, or it rejects the inputs
            return None
        values = {
            name: np.asarray(result)
            for name, result in zip(node.output, results, strict=True)
            if name
        }
        if not all(_fits(values[name], types.get(name)) for name in outputs):
            return None
        return values

    def _evaluable(self, node: NodeProto) -> bool:
        """Whether the node is a deterministic standard op without subgraphs."""
        domain = _domain(node)
        if domain != "" or any(
            a.type in (AttributeProto.GRAPH, AttributeProto.GRAPHS) for a in node.attribute
        ):
            return False
        return schema_is_deterministic(node.op_type, self._opsets().get(domain, 0), domain)

    def _opsets(self) -> dict[str, int]:
        return {
            "" if entry.domain == "ai.onnx" else entry.domain: entry.version
            for entry in self.model.opset_import
        }


def _fits(value: np.ndarray, expected: TypeProto | None) -> bool:
    """
    Whether a computed value is small, is an ONNX tensor, and agrees with the type
    that inference gave it.
    """
    if value.size > MAX_ELEMENTS:
        return False
    try:
        elem_type = helper.np_dtype_to_tensor_dtype(value.dtype)
    except (KeyError, ValueError, TypeError):
        return False  # not a tensor `substituted` could write
    if expected is None or not expected.HasField("tensor_type"):
        return True
    tensor = expected.tensor_type
    if tensor.elem_type and tensor.elem_type != elem_type:
        return False
    return not is_static(expected) or tuple(_dims(expected)) == value.shape


def _placeholder(t: TypeProto) -> np.ndarray:
    """A zero-stride array of a static tensor type: its shape without its data."""
    try:
        dtype = helper.tensor_dtype_to_np_dtype(t.tensor_type.elem_type)
    except KeyError:
        dtype = np.dtype(np.float32)  # Shape and Size read the shape only
    return placeholder(_dims(t), dtype)


def _dims(t: TypeProto) -> list[int]:
    return [d.dim_value for d in t.tensor_type.shape.dim]


def _count(dims: Iterable[int]) -> int:
    return math.prod(dims)


def _domain(node: NodeProto) -> str:
    return "" if node.domain == "ai.onnx" else node.domain


def _in_memory(tensor: TensorProto) -> bool:
    return tensor.data_location != TensorProto.EXTERNAL
