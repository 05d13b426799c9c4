"""
ONNX `Scan` as the `Loop` it is equivalent to, before import (`lower_scans`).

A `Scan` runs its body once per slice of its scan inputs, carrying state values from
one iteration to the next and stacking the body's scan outputs. With static shapes the
number of iterations N is the scan inputs' length along their scan axes, so the same
computation is an ONNX `Loop` with the constant trip count N, which the frontend imports
as a `dfg.loop` (and everything downstream already handles):

    Scan(states..., xs...) <body(states_in..., x_t...) -> (states_out..., ys_t...)>
 =  Loop(N, "", states...) <body'(i, cond, states_in...) -> (cond, states_out..., ys_t...)>
    with  x_t = Gather(x, i, axis)        (index N-1-i for a reversed scan input)
    then  ys  = Transpose(Slice(stacked, reversed)) where an output axis or direction asks

Opset 8's Scan has a batch axis 0 on every input and output: it becomes a `Loop` over
the batch whose body gathers one batch entry and holds the `Loop` above; its outputs
stack the entries again. (`sequence_lens`, which lets entries stop early, is refused.)

The rewrite runs on a shape-inferred model (Scan's shape inference knows N, Loop's does
not): the types of the values it creates outside the loop are written as value infos,
and the Scan's outputs keep their names and types.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from onnx import (
    AttributeProto,
    GraphProto,
    ModelProto,
    NodeProto,
    TensorProto,
    TypeProto,
    ValueInfoProto,
    helper,
    numpy_helper,
)

from ramiel_mlir.diagnostics import RamielError

INT64_MIN = -(2**63)


def is_scan(node: NodeProto) -> bool:
    """Whether `node` is an ONNX `Scan` (imported as a `Loop`, hence a `dfg.loop`)."""
    return node.op_type == "Scan" and node.domain in ("", "ai.onnx")


def lower_scans(model: ModelProto, where: Callable[[NodeProto], str]) -> ModelProto:
    """
    `model` with every Scan of its top-level graph replaced by the equivalent Loop.

    `where(node)` names a node for error messages (a `RamielError`).
    """
    graph = model.graph
    if not any(is_scan(node) for node in graph.node):
        return model
    opset = next(e.version for e in model.opset_import if e.domain in ("", "ai.onnx"))
    rewriter = _ScanRewriter(_types(graph), _names(graph), where)
    nodes: list[NodeProto] = []
    constants: list[TensorProto] = []
    for node in graph.node:
        nodes += rewriter.rewrite(node, opset, constants) if is_scan(node) else [node]
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(constants)
    graph.value_info.extend(rewriter.value_infos)
    return model


def _types(graph: GraphProto) -> dict[str, TypeProto]:
    types = {i.name: i.type for i in [*graph.input, *graph.value_info, *graph.output]}
    for tensor in graph.initializer:
        types[tensor.name] = helper.make_tensor_type_proto(tensor.data_type, tensor.dims)
    return types


def _names(graph: GraphProto) -> set[str]:
    """Every value and node name of `graph` and its subgraphs (new names avoid them)."""
    names = {i.name for i in [*graph.input, *graph.value_info, *graph.output]}
    names |= {t.name for t in graph.initializer}
    for node in graph.node:
        names |= {*node.input, *node.output, node.name}
        for attr in node.attribute:
            for sub in [attr.g] if attr.type == AttributeProto.GRAPH else list(attr.graphs):
                names |= _names(sub)
    return names


def _shape(t: TypeProto | None) -> list[int] | None:
    """The static shape of a tensor type, None if it has none."""
    if t is None or not t.tensor_type.HasField("shape"):
        return None
    dims = t.tensor_type.shape.dim
    if not all(d.HasField("dim_value") for d in dims):
        return None
    return [d.dim_value for d in dims]


@dataclass
class _ScanRewriter:
    types: dict[str, TypeProto]
    taken: set[str]
    where: Callable[[NodeProto], str]
    value_infos: list[ValueInfoProto] = field(default_factory=list[ValueInfoProto])

    def fresh(self, hint: str) -> str:
        """A name no value or node of the model has."""
        name, index = hint, 1
        while name in self.taken:
            name, index = f"{hint}_{index}", index + 1
        self.taken.add(name)
        return name

    def rewrite(
        self, node: NodeProto, opset: int, initializers: list[TensorProto]
    ) -> list[NodeProto]:
        """The nodes that replace the Scan `node`; the constants they read go to `initializers`."""
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if opset < 9:
            return self._batched(node, attrs, initializers)
        count = int(attrs["num_scan_inputs"])
        scans = list(node.input[len(node.input) - count :])
        return self._loop(
            node,
            states=list(node.input[: len(node.input) - count]),
            scans=scans,
            input_axes=list(attrs.get("scan_input_axes", [0] * count)),
            input_reversed=[bool(d) for d in attrs.get("scan_input_directions", [0] * count)],
            outputs=list(node.output),
            output_axes=list(attrs.get("scan_output_axes", [])),
            output_reversed=[bool(d) for d in attrs.get("scan_output_directions", [])],
            body=attrs["body"],
            input_shapes=[self._static(node, name) for name in scans],
            initializers=initializers,
        )

    def _static(self, node: NodeProto, name: str) -> list[int]:
        shape = _shape(self.types.get(name))
        if shape is None:
            raise RamielError(f"{self.where(node)}: cannot infer a static shape for '{name}'")
        return shape

    def _loop(
        self,
        node: NodeProto,
        *,
        states: Sequence[str],
        scans: Sequence[str],
        input_axes: Sequence[int],
        input_reversed: Sequence[bool],
        outputs: Sequence[str],
        output_axes: Sequence[int],
        output_reversed: Sequence[bool],
        body: GraphProto,
        input_shapes: Sequence[Sequence[int]],
        initializers: list[TensorProto],
    ) -> list[NodeProto]:
        """
        The Loop (and the nodes after it) equivalent to one opset-9+ Scan; the constants
        they read are added to `initializers`.
        """
        if not scans:
            raise RamielError(f"{self.where(node)}: a Scan needs at least one scan input")
        axes = [a % len(s) for a, s in zip(input_axes, input_shapes, strict=True)]
        lengths = {s[a] for a, s in zip(axes, input_shapes, strict=True)}
        if len(lengths) != 1:
            raise RamielError(
                f"{self.where(node)}: the scan inputs have different lengths {sorted(lengths)}"
            )
        (steps,) = lengths
        label = node.name or node.output[0]
        trip = self.fresh(f"{label}_trip_count")
        iteration, cond = self.fresh(f"{label}_i"), self.fresh(f"{label}_cond")
        initializers.append(self._constant(trip, np.array(steps, np.int64)))
        body_constants: list[TensorProto] = []
        body_nodes: list[NodeProto] = []
        reversed_index = ""
        for k, (name, axis) in enumerate(zip(scans, axes, strict=True)):
            index = iteration
            if input_reversed[k] if k < len(input_reversed) else False:
                if not reversed_index:
                    last = self.fresh(f"{label}_last")
                    reversed_index = self.fresh(f"{label}_reversed_i")
                    body_constants.append(_constant(last, np.array(steps - 1, np.int64)))
                    body_nodes.append(helper.make_node("Sub", [last, iteration], [reversed_index]))
                index = reversed_index
            slice_name = body.input[len(states) + k].name
            body_nodes.append(helper.make_node("Gather", [name, index], [slice_name], axis=axis))
        loop_body = helper.make_graph(
            [*body_nodes, *body.node],
            body.name,
            [
                helper.make_tensor_value_info(iteration, TensorProto.INT64, []),
                helper.make_tensor_value_info(cond, TensorProto.BOOL, []),
                *body.input[: len(states)],
            ],
            [helper.make_tensor_value_info(cond, TensorProto.BOOL, []), *body.output],
            [*body.initializer, *body_constants],
        )
        loop_body.value_info.extend(body.value_info)
        loop_outputs = list(outputs[: len(states)])
        after: list[NodeProto] = []
        for j, name in enumerate(outputs[len(states) :]):
            axis = output_axes[j] if j < len(output_axes) else 0
            flip = output_reversed[j] if j < len(output_reversed) else False
            if axis == 0 and not flip:
                loop_outputs.append(name)
                continue
            loop_outputs.append(self._rearrange(node, name, axis, flip, after, initializers))
        loop = helper.make_node(
            "Loop", [trip, "", *states], loop_outputs, name=label, body=loop_body
        )
        return [loop, *after]

    def _rearrange(
        self,
        node: NodeProto,
        name: str,
        axis: int,
        flip: bool,
        after: list[NodeProto],
        initializers: list[TensorProto],
    ) -> str:
        """
        The name the Loop stacks scan output `name` under (along axis 0, in iteration
        order), adding to `after` the nodes that reverse it and move its axis.
        """
        if not name:
            return ""
        final = self._static(node, name)
        axis %= len(final)
        stacked_shape = [final[axis], *final[:axis], *final[axis + 1 :]]
        element = self.types[name].tensor_type.elem_type
        stacked = self.fresh(f"{name}_stacked")
        self._info(stacked, element, stacked_shape)
        current = stacked
        if flip:
            flipped = name if axis == 0 else self.fresh(f"{name}_reversed")
            bounds = [self.fresh(f"{name}_{part}") for part in ("start", "end", "axis", "step")]
            values = ([-1], [INT64_MIN], [0], [-1])
            initializers.extend(
                self._constant(b, np.array(v, np.int64))
                for b, v in zip(bounds, values, strict=True)
            )
            after.append(helper.make_node("Slice", [current, *bounds], [flipped]))
            if flipped != name:
                self._info(flipped, element, stacked_shape)
            current = flipped
        if axis != 0:
            perm = [*range(1, axis + 1), 0, *range(axis + 1, len(final))]
            after.append(helper.make_node("Transpose", [current], [name], perm=perm))
        return stacked

    def _constant(self, name: str, value: np.ndarray) -> TensorProto:
        """A constant of the rewritten graph (an initializer), its type recorded."""
        self._info(name, helper.np_dtype_to_tensor_dtype(value.dtype), value.shape)
        return _constant(name, value)

    def _info(self, name: str, element: int, shape: Sequence[int]) -> None:
        info = helper.make_tensor_value_info(name, element, list(shape))
        self.value_infos.append(info)
        self.types[name] = info.type

    def _batched(
        self, node: NodeProto, attrs: dict[str, object], initializers: list[TensorProto]
    ) -> list[NodeProto]:
        """Opset 8's Scan: a Loop over the batch axis around the Loop of one entry."""
        if node.input[0]:
            raise RamielError(
                f"{self.where(node)}: a Scan with sequence_lens is not supported "
                "(every batch entry must run the whole sequence)"
            )
        count = int(attrs["num_scan_inputs"])  # type: ignore[call-overload]
        inputs = list(node.input[1:])
        states, scans = inputs[: len(inputs) - count], inputs[len(inputs) - count :]
        shapes = [self._static(node, name) for name in [*states, *scans]]
        batch = shapes[0][0]
        label = node.name or node.output[0]
        trip = self.fresh(f"{label}_batch_count")
        entry, cond = self.fresh(f"{label}_b"), self.fresh(f"{label}_batch_cond")
        gathers: list[NodeProto] = []
        entries: list[str] = []
        for name in [*states, *scans]:
            entries.append(self.fresh(f"{name}_entry"))
            gathers.append(helper.make_node("Gather", [name, entry], [entries[-1]], axis=0))
        inner_outputs = [self.fresh(f"{name or 'unused'}_entry") for name in node.output]
        directions = attrs.get("directions", [0] * count)
        body = attrs["body"]
        assert isinstance(body, GraphProto)
        inner_constants: list[TensorProto] = []
        inner = self._loop(
            node,
            states=entries[: len(states)],
            scans=entries[len(states) :],
            input_axes=[0] * count,
            input_reversed=[bool(d) for d in directions],  # type: ignore[union-attr]
            outputs=inner_outputs,
            output_axes=[],
            output_reversed=[],
            body=body,
            input_shapes=[shape[1:] for shape in shapes[len(states) :]],
            initializers=inner_constants,
        )
        inner[0].name = self.fresh(f"{label}_entry")
        outer_body = helper.make_graph(
            [*gathers, *inner],
            f"{body.name}_batch",
            [
                helper.make_tensor_value_info(entry, TensorProto.INT64, []),
                helper.make_tensor_value_info(cond, TensorProto.BOOL, []),
            ],
            [
                helper.make_tensor_value_info(cond, TensorProto.BOOL, []),
                *(helper.make_value_info(n, TypeProto()) for n in inner_outputs),
            ],
            inner_constants,
        )
        initializers.append(self._constant(trip, np.array(batch, np.int64)))
        return [
            helper.make_node("Loop", [trip, ""], list(node.output), name=label, body=outer_body)
        ]


def _constant(name: str, value: np.ndarray) -> TensorProto:
    return numpy_helper.from_array(value, name)
