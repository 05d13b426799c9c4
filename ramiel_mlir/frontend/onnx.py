"""
The ONNX frontend: an `.onnx` file in, a `dfg.graph` module out.

It loads the model (external data stays on disk), fixes symbolic dimensions from
`--input-shape`, runs ONNX shape inference so that every value has a static type,
and maps each ONNX node to one `dfg.node` located at its ONNX node name. Whatever
it cannot represent faithfully is a `RamielError` naming the node.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, ClassVar, NoReturn

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import (
    AttributeProto,
    GraphProto,
    ModelProto,
    NodeProto,
    TensorProto,
    TensorShapeProto,
    TypeProto,
    ValueInfoProto,
    helper,
    numpy_helper,
)
from xdsl.context import Context
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    DenseIntOrFPElementsAttr,
    FunctionType,
    ModuleOp,
    NameLoc,
    NoneAttr,
    NoneType,
    StringAttr,
    TensorType,
    UnrankedTensorType,
    i1,
    i64,
)
from xdsl.ir import Attribute, Block, Region, SSAValue
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.frontend import Frontend

from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.dialects.dfg import (
    DEFAULT_DOMAIN,
    GraphOp,
    IfOp,
    IfYieldOp,
    LoopOp,
    LoopYieldOp,
    NodeOp,
    NoneOp,
    OptionalType,
    OutputOp,
    SequenceType,
    WeightOp,
)
from ramiel_mlir.frontend.scan import lower_scans
from ramiel_mlir.frontend.shapes import constant_value, infer_static_shapes
from ramiel_mlir.onnx.attributes import from_proto
from ramiel_mlir.onnx.support import op_histogram
from ramiel_mlir.tensors import (
    ONNX_STRING,
    dense_from_numpy,
    element_type_from_onnx,
    is_static_type,
    is_string,
    numpy_from_dense,
    numpy_from_onnx,
    onnx_from_element_type,
)
from ramiel_mlir.weights import INLINE_LIMIT

_INVALID_NAME_CHARS = re.compile(r"[^\w$.-]")


def parse_input_shapes(specs: Sequence[str]) -> dict[str, list[int]]:
    """Parse `name=d0,d1,...` specs (the `--input-shape` option) into a mapping."""
    shapes: dict[str, list[int]] = {}
    for spec in specs:
        name, sep, dims = spec.rpartition("=")
        try:
            shape = [int(d) for d in dims.split(",")] if dims else []
        except ValueError:
            shape = None
        if not sep or not name or shape is None or any(d < 0 for d in shape):
            raise RamielError(
                f"invalid --input-shape '{spec}': expected NAME=D0,D1,... with "
                "non-negative integer dimensions"
            )
        shapes[name] = shape
    return shapes


def load_model(path: str) -> ModelProto:
    """Read and check an ONNX model file; errors name the file."""
    try:
        model = onnx.load(path, load_external_data=False)
    except FileNotFoundError:
        raise RamielError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise RamielError(f"{path}: is a directory, not an ONNX model") from None
    except (DecodeError, RuntimeWarning, ValueError) as error:
        raise RamielError(f"{path}: not a valid ONNX model ({error})") from None
    if not model.graph.node and not model.graph.output:
        raise RamielError(f"{path}: not a valid ONNX model (empty graph)")
    if not model.graph.output:
        raise RamielError(f"{path}: the graph has no outputs: there is nothing to compute")
    _check_utf8(model, path)
    try:
        # Given the path, the checker looks for external data beside the model
        # rather than in the working directory.
        onnx.checker.check_model(path)
    except onnx.checker.ValidationError as error:
        # Some checker messages span lines (a cycle names the node on the next one).
        message = " ".join(str(error).split())
        raise RamielError(f"{path}: invalid ONNX model: {message}") from None
    return model


def _check_utf8(model: ModelProto, path: str) -> None:
    """Reject names that are not UTF-8 (protobuf hands them over as bytes, not str)."""
    graph = model.graph
    names: list[str | bytes] = [graph.name, *(entry.domain for entry in model.opset_import)]
    for node in graph.node:
        names += [node.name, node.op_type, node.domain, *node.input, *node.output]
        names += [attribute.name for attribute in node.attribute]
    names += [v.name for v in [*graph.input, *graph.output, *graph.value_info]]
    names += [t.name for t in graph.initializer]
    for name in names:
        if isinstance(name, bytes):
            raise RamielError(f"{path}: not a valid ONNX model (name {name!r} is not UTF-8)")


def import_onnx(path: str, input_shapes: Mapping[str, Sequence[int]] | None = None) -> ModuleOp:
    """Import the ONNX model at `path` as a module holding one `dfg.graph`."""
    path = os.path.abspath(path)
    model = load_model(path)
    _check_supported(model, path)
    shapes = dict(input_shapes or {})
    _fix_input_shapes(model, path, shapes)
    _check_dimensions(model, path, shapes)
    model = lower_scans(_infer_shapes(model, path), _describer(path))
    return _GraphBuilder(model, path).build()


def _describer(path: str, scope: str = "") -> Callable[[NodeProto], str]:
    """How a Scan rewritten as a Loop names a node in errors."""

    def where(node: NodeProto) -> str:
        return f"{path}: node '{node.name or node.output[0]}' ({node.op_type}){scope}"

    return where


def _check_supported(model: ModelProto, path: str) -> None:
    """Reject a model with nodes without a PyTorch lowering, listing them all, before shapes."""
    unsupported = [row for row in op_histogram(model) if not row.supported]
    if not unsupported:
        return
    if len(unsupported) == 1:
        row = unsupported[0]
        where = f"node '{row.nodes[0]}' ({row.op_type})"
        more = f" (opset {row.opset}, {row.node_list()})" if row.count > 1 else ""
        raise RamielError(f"{path}: {where}: operator '{row.qualified}' is not supported{more}")
    nodes = sum(row.count for row in unsupported)
    raise RamielError(
        f"{path}: {len(unsupported)} unsupported operator{'s' if len(unsupported) > 1 else ''} "
        f"({nodes} nodes): {'; '.join(row.describe() for row in unsupported)}"
    )


def _graph_inputs(model: ModelProto) -> list[ValueInfoProto]:
    """The real graph inputs (old IR versions also list initializers as inputs)."""
    initializers = {t.name for t in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in initializers]


def _fix_input_shapes(model: ModelProto, path: str, shapes: dict[str, Sequence[int]]) -> None:
    """Give every graph input a static shape, from the model or from `shapes`."""
    inputs = {i.name: i for i in _graph_inputs(model)}
    for name in shapes:
        if name not in inputs:
            raise RamielError(
                f"--input-shape names '{name}', which is not an input of {path} "
                f"(inputs: {', '.join(inputs) or 'none'})"
            )
    changed = False
    for name, value in inputs.items():
        if not value.type.HasField("tensor_type"):
            # A sequence or optional input: its type is checked when it is imported.
            if name in shapes:
                raise RamielError(
                    f"--input-shape names '{name}', which is not a tensor input of {path}"
                )
            continue
        if name in shapes:
            changed |= _set_input_shape(value, shapes[name])
            continue
        dims = value.type.tensor_type.shape.dim
        unknown = [_dim_text(dim) for dim in dims if _is_dynamic(dim)]
        if unknown or not value.type.tensor_type.HasField("shape"):
            raise RamielError(
                f"{path}: input '{name}' has unknown dimensions "
                f"({', '.join(unknown) or 'no shape'}); fix them with "
                f"--input-shape {name}=D0,D1,..."
            )
    if changed:
        # Intermediate shapes recorded by the exporter may still be symbolic:
        # drop them and let shape inference recompute them from the fixed inputs.
        del model.graph.value_info[:]
        for output in model.graph.output:
            if output.type.HasField("tensor_type"):  # (a sequence's element may stay symbolic)
                output.type.tensor_type.ClearField("shape")


def _set_input_shape(value: ValueInfoProto, shape: Sequence[int]) -> bool:
    """
    Fix an input's shape from `--input-shape`; it must agree with the model's rank
    and sizes. Returns whether the shape differs from the one the model declares.
    """
    tensor = value.type.tensor_type
    dims = tensor.shape.dim
    if len(shape) != len(dims) and tensor.HasField("shape"):
        raise RamielError(
            f"--input-shape gives {len(shape)} dimensions for '{value.name}', "
            f"which has rank {len(dims)}"
        )
    for index, (dim, size) in enumerate(zip(dims, shape, strict=False)):
        # A declared 0 is read as unknown (see _check_dimensions), a negative one as
        # dynamic (paddle2onnx writes -1): any size may replace either.
        if dim.HasField("dim_value") and dim.dim_value > 0 and dim.dim_value != size:
            raise RamielError(
                f"--input-shape gives {list(shape)} for '{value.name}', whose "
                f"dimension {index} is fixed to {dim.dim_value} by the model (not {size})"
            )
    declared = [None if _is_dynamic(dim) else dim.dim_value for dim in dims]
    if tensor.HasField("shape") and declared == list(shape):
        return False
    tensor.shape.ClearField("dim")
    for size in shape:
        tensor.shape.dim.add().dim_value = size
    return True


def _is_dynamic(dim: TensorShapeProto.Dimension) -> bool:
    """
    Whether an input dimension is dynamic: symbolic (`dim_param`), absent, or
    negative (paddle2onnx and some other exporters write `dim_value: -1`, which
    ONNX Runtime also reads as dynamic).
    """
    return not dim.HasField("dim_value") or dim.dim_value < 0


def _dim_text(dim: TensorShapeProto.Dimension) -> str:
    """A dynamic dimension as the model writes it: its name, its negative value, or `?`."""
    if dim.HasField("dim_value"):
        return str(dim.dim_value)
    return dim.dim_param or "?"


def _check_dimensions(model: ModelProto, path: str, stated: Mapping[str, Sequence[int]]) -> None:
    """
    Reject an input with a 0 dimension the user did not state.

    The checker lets it pass. A 0 declared by the model is ambiguous (older
    exporters wrote `dim_value: 0` for a dynamic size), so it compiles for empty
    tensors only when stated explicitly with `--input-shape` / `input_shapes=`.
    (Negative dimensions are dynamic: `_fix_input_shapes` has replaced them.)
    """
    for value in _graph_inputs(model):
        shape = [dim.dim_value for dim in value.type.tensor_type.shape.dim]
        if 0 in shape and value.name not in stated:
            raise RamielError(
                f"{path}: input '{value.name}' has shape {shape}: a 0 dimension is read as "
                "unknown (older exporters write 0 for a dynamic size); to compile for empty "
                f"tensors, state it with --input-shape {value.name}="
                f"{','.join(map(str, shape))}"
            )


def _infer_shapes(model: ModelProto, path: str) -> ModelProto:
    """
    Shape inference, helped by evaluating constant shape arithmetic (frontend/shapes.py).

    An input without elements (an `axes` of shape [0]) has one possible value,
    known from its type: inference sees it as an initializer of the same name
    (a default value), so that the shapes it determines are static.
    """
    empty = _empty_inputs(model)
    model.graph.initializer.extend(empty)
    try:
        inferred = infer_static_shapes(model, os.path.dirname(path))
    except (onnx.shape_inference.InferenceError, onnx.checker.ValidationError) as e:
        message = " ".join(str(e).split())
        raise RamielError(f"{path}: shape inference failed: {message}") from None
    finally:
        _drop_initializers(model, {t.name for t in empty})
    _drop_initializers(inferred, {t.name for t in empty})
    return inferred


def _empty_inputs(model: ModelProto) -> list[TensorProto]:
    """The value of every graph input that has no elements, as a tensor."""
    tensors: list[TensorProto] = []
    for value in _graph_inputs(model):
        tensor = value.type.tensor_type
        dims = [dim.dim_value for dim in tensor.shape.dim]
        if 0 in dims and tensor.elem_type not in (TensorProto.UNDEFINED, TensorProto.STRING):
            tensors.append(onnx.helper.make_tensor(value.name, tensor.elem_type, dims, []))
    return tensors


def _drop_initializers(model: ModelProto, names: set[str]) -> None:
    """Remove the initializers called `names` (those `_empty_inputs` added)."""
    if not names:
        return
    kept = [t for t in model.graph.initializer if t.name not in names]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)


def _valid_name(name: str) -> str | None:
    """An SSA name hint for an ONNX value name, None if nothing usable is left."""
    cleaned = _INVALID_NAME_CHARS.sub("_", name)
    if not cleaned:
        return None
    return cleaned if not cleaned[0].isdigit() else f"v{cleaned}"


@dataclass
class _GraphBuilder:
    """Builds the `dfg.graph` of one shape-inferred ONNX model."""

    model: ModelProto
    path: str
    values: dict[str, SSAValue] = field(default_factory=dict[str, SSAValue])
    types: dict[str, Attribute] = field(default_factory=dict[str, Attribute])
    none: SSAValue | None = None
    read: set[str] = field(default_factory=set[str])
    """Names that some node or the graph output reads."""
    scope: str = ""
    """Where the graph is, for messages: empty for the model, else which Loop body."""
    learned: dict[str, Attribute] = field(default_factory=dict[str, Attribute])
    """Types of Loop and If results that shape inference left unknown, for `_reinfer`."""
    refined: bool = False
    """Whether some `learned` type makes one that inference gave more static: the values
    after it may be typed more statically too, so `_reinfer` runs before the next node."""

    def _read_graph_types(self) -> None:
        """The types the model's value infos give, and which names are read."""
        graph_proto = self.model.graph
        for info in [*graph_proto.input, *graph_proto.value_info, *graph_proto.output]:
            t = self._value_type(info.type, info.name)
            # A declared output with `?` dimensions does not hide the static type inferred.
            if t is not None and (info.name not in self.types or is_static_type(t)):
                self.types[info.name] = t
        self.read = {name for node in graph_proto.node for name in node.input}
        self.read |= {o.name for o in graph_proto.output}

    def _fill_block(self, block: Block, inputs: Sequence[ValueInfoProto]) -> None:
        """Bind `block`'s arguments to `inputs`, then add the weights and the nodes."""
        for value, info in zip(block.args, inputs, strict=True):
            value.name_hint = _valid_name(info.name)
            self.values[info.name] = value
        for tensor in self.model.graph.initializer:
            self._add_weight(block, tensor)
        for node in list(self.model.graph.node):  # `_reinfer` replaces the model
            self._add_node(block, node)

    def build(self) -> ModuleOp:
        graph_proto = self.model.graph
        self._read_graph_types()
        inputs = _graph_inputs(self.model)
        input_types = [self._require_type(i.name, "graph input") for i in inputs]
        # A Loop's or an If's outputs are typed when it is imported (from its subgraphs),
        # and the values after it may be typed only then (`_reinfer`): with control flow,
        # an output's type is its value's, and a node whose type stays unknown says so.
        control_flow = any(_is_loop(node) or _is_if(node) for node in graph_proto.node)
        output_types = [
            self.types.get(o.name, NoneType())
            if control_flow
            else self._require_type(o.name, "graph output")
            for o in graph_proto.output
        ]
        graph = GraphOp(
            _valid_name(graph_proto.name) or "main",
            input_types,
            output_types,
            input_names=[i.name for i in inputs],
            output_names=[o.name for o in graph_proto.output],
            source=os.path.basename(self.path),
        )
        block = graph.block
        self._fill_block(block, inputs)
        outputs = [self._use(o.name, "graph output") for o in graph_proto.output]
        block.add_op(OutputOp(outputs))
        if control_flow:
            graph.function_type = FunctionType.from_lists(input_types, [v.type for v in outputs])
        module = ModuleOp([graph])
        try:
            module.verify()
        except VerifyException as error:
            raise RamielError(f"{self.path}: {error}") from None
        return module

    def _value_type(self, t: TypeProto, name: str) -> Attribute | None:
        """
        The dfg type of an ONNX value: a ranked tensor type, a `!dfg.sequence`
        or a `!dfg.optional`; None where shape inference left a tensor's rank
        unknown. A dimension it could not compute (a data-dependent size:
        NonZero's count, a Range's length from computed bounds) is `?`.
        Maps and sparse tensors are errors.
        """
        kind = t.WhichOneof("value")
        if kind == "tensor_type":
            tensor = t.tensor_type
            if not tensor.HasField("shape"):
                return None
            element = self._element_type(tensor.elem_type, name)
            dims = [
                d.dim_value if d.HasField("dim_value") and d.dim_value >= 0 else DYNAMIC_INDEX
                for d in tensor.shape.dim
            ]
            return TensorType(element, dims)
        if kind == "sequence_type":
            return self._sequence_type(t.sequence_type.elem_type, name)
        if kind == "optional_type":
            element = t.optional_type.elem_type
            if element.WhichOneof("value") == "sequence_type":
                inner = self._sequence_type(element.sequence_type.elem_type, name)
            elif element.WhichOneof("value") == "tensor_type":
                inner = self._value_type(element, name)
            else:
                raise RamielError(
                    f"{self.path}: value '{name}' is an optional of "
                    f"{element.WhichOneof('value') or 'no type'}, which is not supported"
                )
            return OptionalType(inner) if inner is not None else None
        if kind is None:
            return None
        raise RamielError(f"{self.path}: value '{name}' is a {kind}, which is not supported")

    def _element_type(self, onnx_type: int, name: str) -> Attribute:
        element = element_type_from_onnx(onnx_type)
        if element is None:
            raise RamielError(
                f"{self.path}: value '{name}' has element type "
                f"{TensorProto.DataType.Name(onnx_type)}, which is not supported"
            )
        return element

    def _sequence_type(self, element: TypeProto, name: str) -> SequenceType:
        """A sequence of tensors: unranked without a shape, `?` for unknown dimensions."""
        if element.WhichOneof("value") != "tensor_type":
            raise RamielError(
                f"{self.path}: value '{name}' is a sequence of "
                f"{element.WhichOneof('value') or 'values of no type'}, which is not supported"
            )
        tensor = element.tensor_type
        if tensor.elem_type == ONNX_STRING:
            raise RamielError(
                f"{self.path}: value '{name}' is a sequence of STRING tensors, "
                "which is not supported"
            )
        scalar = self._element_type(tensor.elem_type, name)
        if not tensor.HasField("shape"):
            return SequenceType(UnrankedTensorType(scalar))
        dims = [d.dim_value if d.HasField("dim_value") else DYNAMIC_INDEX for d in tensor.shape.dim]
        return SequenceType(TensorType(scalar, dims))

    def _require_type(self, name: str, what: str) -> Attribute:
        if name not in self.types:
            raise RamielError(f"{self.path}: cannot infer a static shape for {what} '{name}'")
        return self.types[name]

    def _result_type(self, name: str, where: str) -> Attribute:
        """The type of a node output; `none` for one that is omitted or never read."""
        if not name or (name not in self.types and name not in self.read):
            return NoneType()
        if self.refined or (name not in self.types and self.learned):
            self._reinfer()
        if name not in self.types:
            raise RamielError(
                f"{self.path}: {where}: cannot infer a static shape for output '{name}'"
            )
        return self.types[name]

    def _reinfer(self) -> None:
        """
        Shape inference again, given the types of Loop and If results learned from their
        imported bodies (ONNX's inference of a Loop's scan outputs, or of a body that reads
        outer constants, leaves them unknown): the values after them get static types.
        """
        model = ModelProto()
        model.CopyFrom(self.model)
        graph = model.graph
        kept = [info for info in graph.value_info if info.name not in self.learned]
        del graph.value_info[:]
        graph.value_info.extend(kept)
        graph.value_info.extend(
            helper.make_value_info(name, _type_proto(t)) for name, t in self.learned.items()
        )
        self.learned.clear()
        self.refined = False
        self.model = model  # the types learned so far hold for every later inference
        try:
            inferred = infer_static_shapes(model, os.path.dirname(self.path))
        except (onnx.shape_inference.InferenceError, onnx.checker.ValidationError) as e:
            message = " ".join(str(e).split())
            raise RamielError(f"{self.path}: shape inference failed: {message}") from None
        for info in [*inferred.graph.value_info, *inferred.graph.output]:
            t = self._value_type(info.type, info.name)
            if t is None or info.name in self.values:
                continue  # not known, or imported already
            if info.name not in self.types or _refines(t, self.types[info.name]):
                self.types[info.name] = t

    def _use(self, name: str, user: str) -> SSAValue:
        if name not in self.values:
            raise RamielError(
                f"{self.path}: {user} uses '{name}', which no earlier node, input "
                "or initializer defines (the graph is not topologically sorted, "
                "has a cycle, or names a missing value)"
            )
        return self.values[name]

    def _add_weight(self, block: Block, tensor: TensorProto, name: str = "") -> None:
        name = name or tensor.name
        element = element_type_from_onnx(tensor.data_type)
        if element is None:
            raise RamielError(
                f"{self.path}: initializer '{name}' has element type "
                f"{TensorProto.DataType.Name(tensor.data_type)}, which is not supported"
            )
        result_type = TensorType(element, list(tensor.dims))
        count = 1
        for dim in tensor.dims:
            count *= dim
        array = None
        if count <= INLINE_LIMIT and tensor.data_location != TensorProto.EXTERNAL:
            array = numpy_from_onnx(tensor)
        # Non-finite floats would not survive a print/parse round trip inline.
        # Strings have no dense attribute: they are read from the model file.
        if is_string(element):
            array = None
        if array is not None and (array.dtype.kind != "f" or np.isfinite(array).all()):
            op = WeightOp(name, result_type, value=dense_from_numpy(array, element))
        else:
            op = WeightOp(name, result_type, file=self.path)
        op.result.name_hint = _valid_name(name)
        block.add_op(op)
        self.values[name] = op.result
        self.types[name] = result_type

    def _add_node(self, block: Block, node: NodeProto) -> None:
        where = f"node '{node.name or node.output[0]}' ({node.op_type}){self.scope}"
        domain = "" if node.domain == "ai.onnx" else node.domain  # supported: _check_supported
        if node.op_type == "Constant" and self._add_large_constant(block, node):
            return
        if _is_loop(node):
            self._add_loop(block, node, where)
            return
        if _is_if(node):
            self._add_if(block, node, where)
            return
        operands = [self._operand(block, name, where) for name in node.input]
        result_types = [self._result_type(name, where) for name in node.output]
        op = NodeOp(
            node.op_type,
            operands,
            result_types,
            opset=self._opset(domain),
            attrs={a.name: self._attribute(a, where) for a in node.attribute},
        )
        op.location = NameLoc(StringAttr(node.name or node.output[0]), NoneAttr())
        for result, name in zip(op.outputs, node.output, strict=True):
            if name and not isinstance(result.type, NoneType):
                result.name_hint = _valid_name(name)
                self.values[name] = result
        block.add_op(op)

    def _add_loop(self, block: Block, node: NodeProto, where: str) -> None:
        """
        Import a `Loop` as a `dfg.loop` whose region is the imported `body` graph.

        The body's outer-scope reads become explicit captures; its types come from
        shape inference on the body alone, with the carried values typed as their
        initial values (a carried value must keep its static shape).
        """
        body = next(a.g for a in node.attribute if a.name == "body")
        names = [*node.input, "", ""][:2] + list(node.input[2:])
        if not names[0] and not names[1]:
            raise RamielError(
                f"{self.path}: {where}: a Loop with neither a trip count nor a condition "
                "never ends, which is not supported"
            )
        trip_count = self._operand(block, names[0], where)
        condition = self._operand(block, names[1], where)
        inits = [self._use(name, where) for name in names[2:]]
        captured = [name for name in _free_names(body) if name in self.values]
        captures = [self._use(name, where) for name in captured]
        arg_types = [_tensor(v, where, self.path) for v in [*inits, *captures]]
        body_model = self._body_model(body, arg_types[: len(inits)], captured, arg_types, where)
        scope = f" in the body of {where}"
        body_builder = _GraphBuilder(body_model, self.path, scope=scope)
        region, yielded = body_builder.build_body(len(inits), where)
        carried = len(inits)
        scan_types = [
            self._scan_type(
                node.output[carried + index], yielded[1 + carried + index], trip_count, where
            )
            for index in range(len(node.output) - carried)
        ]
        op = LoopOp(
            trip_count, condition, inits, captures, scan_types, region, opset=self._opset("")
        )
        op.location = NameLoc(StringAttr(node.name or node.output[0]), NoneAttr())
        for result, name in zip(op.outputs, node.output, strict=True):
            result.name_hint = _valid_name(name)
            if name:
                self.values[name] = result
                if name not in self.types:
                    self.learned[name] = result.type
                self.types[name] = result.type  # type: ignore[assignment]
        block.add_op(op)

    def _add_if(self, block: Block, node: NodeProto, where: str) -> None:
        """
        Import an `If` as a `dfg.if` whose regions are its imported branches.

        The outer-scope names either branch reads become explicit captures, the
        arguments of both regions. Each branch's types come from shape inference on
        the branch alone; the `If`'s results take the types both branches yield.

        A condition known at compile time (computed from constants and static shapes)
        imports the branch it takes alone, inlined: the other branch may be one that
        has no static types for these inputs (an expanded function's branch for
        another rank), and it never runs.
        """
        branches = {a.name: a.g for a in node.attribute if a.type == AttributeProto.GRAPH}
        condition = self._use(node.input[0], where)
        known = self._known_condition(node)
        if known is not None:
            key, label = ("then_branch", "then") if known else ("else_branch", "else")
            captured, captures = self._captures(where, branches[key])
            region, _ = self._import_branch(node, branches[key], label, captured, captures, where)
            self._bind_results(node, _inline(region.block, captures, block))
            return
        captured, captures = self._captures(where, branches["then_branch"], branches["else_branch"])
        regions: list[Region] = []
        yielded_types: list[list[Attribute]] = []
        for key, label in (("then_branch", "then"), ("else_branch", "else")):
            region, types = self._import_branch(
                node, branches[key], label, captured, captures, where
            )
            regions.append(region)
            yielded_types.append(types)
        then_types, else_types = yielded_types
        if then_types != else_types:
            self._branch_type_error(node, then_types, else_types, where)
        op = IfOp(condition, captures, then_types, *regions, opset=self._opset(""))
        op.location = NameLoc(StringAttr(node.name or node.output[0]), NoneAttr())
        block.add_op(op)
        self._bind_results(node, list(op.outputs))

    def _known_condition(self, node: NodeProto) -> bool | None:
        """The value of an If's condition if it is known at compile time, else None."""
        types = {
            name: _type_proto(t)
            for name, t in self.types.items()
            if isinstance(t, TensorType | SequenceType | OptionalType)
        }
        directory = os.path.dirname(self.path)
        known = constant_value(self.model, node.input[0], types, directory)
        if known is None or known.size != 1:
            return None
        return bool(known.reshape(-1)[0])

    def _captures(self, where: str, *graphs: GraphProto) -> tuple[list[str], list[SSAValue]]:
        """The outer-scope names `graphs` read, in first-use order, and their values."""
        free = [name for graph in graphs for name in _free_names(graph)]
        captured = [name for name in dict.fromkeys(free) if name in self.values]
        return captured, [self._use(name, where) for name in captured]

    def _import_branch(
        self,
        node: NodeProto,
        branch: GraphProto,
        label: str,
        captured: Sequence[str],
        captures: Sequence[SSAValue],
        where: str,
    ) -> tuple[Region, list[Attribute]]:
        """One branch of an If as a region, and the types it yields (one per output)."""
        branch_model = self._branch_model(branch, captured, captures, where, label)
        scope = f" in the {label} branch of {where}"
        builder = _GraphBuilder(branch_model, self.path, scope=scope)
        region, types = builder.build_branch(f"{where}, {label} branch output")
        if len(types) != len(node.output):
            raise RamielError(
                f"{self.path}: {where}: the {label} branch yields {len(types)} values "
                f"for {len(node.output)} outputs"
            )
        return region, types

    def _bind_results(self, node: NodeProto, results: Sequence[SSAValue]) -> None:
        """Name the values of a control-flow node's outputs; learn the types inference lacks."""
        for result, name in zip(results, node.output, strict=True):
            if not name:
                continue
            result.name_hint = result.name_hint or _valid_name(name)
            self.values[name] = result
            if name not in self.types:
                self.learned[name] = result.type
            elif _refines(result.type, self.types[name]):
                # The branch taken gives a static type where inference merged both.
                self.learned[name] = result.type
                self.refined = True
            self.types[name] = result.type

    def _branch_type_error(
        self,
        node: NodeProto,
        then_types: Sequence[Attribute],
        else_types: Sequence[Attribute],
        where: str,
    ) -> NoReturn:
        for name, then_type, else_type in zip(node.output, then_types, else_types, strict=True):
            if then_type != else_type:
                raise RamielError(
                    f"{self.path}: {where}: output '{name}' is {then_type} in the then branch "
                    f"and {else_type} in the else branch: an output must have one static type "
                    "(or the condition be known at compile time)"
                )
        raise AssertionError("the branches' types differ")

    def _branch_model(
        self,
        branch: GraphProto,
        captured: Sequence[str],
        captures: Sequence[SSAValue],
        where: str,
        label: str,
    ) -> ModelProto:
        """A branch of an If as a model of its own (captures as inputs), types inferred."""
        graph = GraphProto()
        graph.CopyFrom(branch)
        del graph.input[:]
        del graph.value_info[:]
        for name, value in zip(captured, captures, strict=True):
            graph.input.append(helper.make_value_info(name, _type_proto(value.type)))
        return self._infer_subgraph(graph, captured, f"{label} branch", where)

    def build_branch(self, where: str) -> tuple[Region, list[Attribute]]:
        """The region of an If branch (this builder's model) and the types it yields."""
        graph_proto = self.model.graph
        self._read_graph_types()
        block = Block(arg_types=[self.types[i.name] for i in graph_proto.input])
        self._fill_block(block, graph_proto.input)
        yielded = [self._use(o.name, where) for o in graph_proto.output]
        block.add_op(IfYieldOp(yielded))
        return Region(block), [v.type for v in yielded]

    def _body_model(
        self,
        body: GraphProto,
        carried: Sequence[TensorType],
        captured: Sequence[str],
        arg_types: Sequence[TensorType],
        where: str,
    ) -> ModelProto:
        """The body as a model of its own (captures as inputs), with static types inferred."""
        if len(body.input) != 2 + len(carried):
            raise RamielError(
                f"{self.path}: {where}: the body takes {len(body.input)} inputs for "
                f"{len(carried)} carried values (expected {2 + len(carried)})"
            )
        graph = GraphProto()
        graph.CopyFrom(body)
        del graph.input[:]
        del graph.value_info[:]
        scalars = [TensorType(i64, []), TensorType(i1, [])]
        for info, tensor_type in zip(body.input, [*scalars, *carried], strict=True):
            graph.input.append(_value_info(info.name, tensor_type))
        for name, tensor_type in zip(captured, arg_types[len(carried) :], strict=True):
            graph.input.append(_value_info(name, tensor_type))
        return self._infer_subgraph(graph, captured, "body", where)

    def _infer_subgraph(
        self, graph: GraphProto, captured: Sequence[str], part: str, where: str
    ) -> ModelProto:
        """
        A subgraph (captures among its inputs) as a model of its own, its types inferred;
        `part` (`body`, `then branch`) and `where` (the node) name it in errors.

        Captures that are small constants (shape arithmetic read by a body's Unsqueeze
        or Reshape) are given to inference as initializers, so that the shapes they
        determine are static; the model returned keeps them as inputs.
        """
        constants = {
            name: array
            for name in captured
            if (array := _known_array(self.values[name])) is not None
        }
        probe = GraphProto()
        probe.CopyFrom(graph)
        if constants:
            del probe.input[:]
            probe.input.extend(i for i in graph.input if i.name not in constants)
            probe.initializer.extend(
                numpy_helper.from_array(array, name) for name, array in constants.items()
            )
        model = helper.make_model(
            probe, opset_imports=list(self.model.opset_import), ir_version=self.model.ir_version
        )
        model.functions.extend(self.model.functions)
        try:
            inferred = infer_static_shapes(model, os.path.dirname(self.path))
        except (onnx.shape_inference.InferenceError, onnx.checker.ValidationError) as e:
            message = " ".join(str(e).split())
            raise RamielError(
                f"{self.path}: {where}: shape inference of the {part} failed: {message}"
            ) from None
        if constants:
            kept = [t for t in inferred.graph.initializer if t.name not in constants]
            del inferred.graph.initializer[:]
            inferred.graph.initializer.extend(kept)
            del inferred.graph.input[:]
            inferred.graph.input.extend(graph.input)
        return lower_scans(inferred, _describer(self.path, f" in the {part} of {where}"))

    def build_body(self, carried: int, where: str) -> tuple[Region, list[Attribute]]:
        """The region of a Loop body (this builder's model) and the types it yields."""
        graph_proto = self.model.graph
        self._read_graph_types()
        block = Block(arg_types=[self.types[i.name] for i in graph_proto.input])
        self._fill_block(block, graph_proto.input)
        body_where = f"{where}, body output"
        yielded = [self._use(o.name, body_where) for o in graph_proto.output]
        for value, info in zip(yielded, graph_proto.output, strict=True):
            if not isinstance(value.type, TensorType):
                raise RamielError(
                    f"{self.path}: {where}: cannot infer a static shape for body output "
                    f"'{info.name}'"
                )
        if len(yielded) < 1 + carried:
            raise RamielError(
                f"{self.path}: {where}: the body yields {len(yielded)} values for "
                f"{carried} carried values (expected at least {1 + carried})"
            )
        block.add_op(LoopYieldOp(yielded))
        return Region(block), [v.type for v in yielded]

    def _scan_type(
        self, name: str, item: Attribute, trip_count: SSAValue, where: str
    ) -> TensorType:
        """
        The type of scan output `name`: the body's value `item` stacked along a new axis 0
        whose size is the model's declared (or inferred) one, else the constant trip count.
        """
        assert isinstance(item, TensorType)
        shape = list(item.get_shape())
        declared = self._declared_scan_shape(name)
        if not item.has_static_shape():
            raise RamielError(
                f"{self.path}: {where}: scan output '{name}' stacks values of type {item}, "
                "whose size is known only at run time, which is not supported"
            )
        if declared is not None:
            known = self.types.get(name)
            if known is not None and not isinstance(known, TensorType):
                raise RamielError(
                    f"{self.path}: {where}: scan output '{name}' is declared as "
                    f"{known}, not a tensor"
                )
            declared_type = (
                known
                if isinstance(known, TensorType) and known.has_static_shape()
                else TensorType(item.get_element_type(), declared)
            )
            if (
                declared[1:] != shape
                or len(declared) != len(shape) + 1
                or declared_type.get_element_type() != item.get_element_type()
            ):
                raise RamielError(
                    f"{self.path}: {where}: scan output '{name}' is declared as "
                    f"{declared_type}, but the body yields {item} per iteration"
                )
            return declared_type
        count = _known_int(trip_count)
        if count is None:
            raise RamielError(
                f"{self.path}: {where}: the number of iterations is not known at compile "
                f"time: declare the shape of scan output '{name}' or make the trip count "
                "a constant"
            )
        return TensorType(item.get_element_type(), [max(count, 0), *shape])

    def _declared_scan_shape(self, name: str) -> list[int] | None:
        """
        The static shape the model gives the scan output `name`, directly or through a
        chain of shape-preserving consumers (Cast, CastLike, Identity) to a typed value.
        """
        if isinstance(known := self.types.get(name), TensorType) and known.has_static_shape():
            return list(known.get_shape())
        for node in self.model.graph.node:
            if node.op_type in _SHAPE_PRESERVING and node.input and node.input[0] == name:
                found = self._declared_scan_shape(node.output[0])
                if found is not None:
                    return found
        return None

    def _add_large_constant(self, block: Block, node: NodeProto) -> bool:
        """
        Import a Constant too large to print inline, or of strings (which have no
        dense attribute), as a weight read from file.
        """
        for attr in node.attribute:
            if attr.name == "value" and attr.HasField("t"):
                count = 1
                for dim in attr.t.dims:
                    count *= dim
                if count > INLINE_LIMIT or attr.t.data_type == ONNX_STRING:
                    self._add_weight(block, attr.t, node.output[0])
                    return True
        return False

    def _operand(self, block: Block, name: str, where: str) -> SSAValue:
        if name:
            return self._use(name, where)
        if self.none is None:
            none_op = NoneOp()
            if block.first_op is None:
                block.add_op(none_op)
            else:
                block.insert_op_before(none_op, block.first_op)
            self.none = none_op.result
        return self.none

    def _opset(self, domain: str) -> int:
        for entry in self.model.opset_import:
            if entry.domain in ("", "ai.onnx") and domain == DEFAULT_DOMAIN:
                return entry.version
            if entry.domain == domain:
                return entry.version
        raise RamielError(f"{self.path}: the model imports no opset for '{domain}'")

    def _attribute(self, attr: AttributeProto, where: str) -> Attribute:
        try:
            return from_proto(attr, os.path.dirname(self.path))
        except ValueError as error:
            raise RamielError(f"{self.path}: {where}: {error}") from None


_SHAPE_PRESERVING = frozenset({"Cast", "CastLike", "Identity"})
"""Operators whose output has the shape of their first input."""


def _refines(new: Attribute, old: Attribute) -> bool:
    """Whether tensor type `new` is `old` with some of its `?` dimensions known."""
    if not isinstance(new, TensorType) or not isinstance(old, TensorType):
        return False
    if new.get_element_type() != old.get_element_type() or new.get_num_dims() != old.get_num_dims():
        return False
    pairs = list(zip(new.get_shape(), old.get_shape(), strict=True))
    if any(o != DYNAMIC_INDEX and n != o for n, o in pairs):
        return False
    return any(o == DYNAMIC_INDEX and n != DYNAMIC_INDEX for n, o in pairs)


def _is_loop(node: NodeProto) -> bool:
    """Whether `node` is an ONNX `Loop` (imported as a `dfg.loop`)."""
    return node.op_type == "Loop" and node.domain in ("", "ai.onnx")


def _inline(branch: Block, captures: Sequence[SSAValue], block: Block) -> list[SSAValue]:
    """Move the ops of `branch` to the end of `block`, reading `captures`; what it yields."""
    terminator = branch.last_op
    assert isinstance(terminator, IfYieldOp)
    results = list(terminator.values)
    terminator.detach()
    terminator.erase()
    for argument, capture in zip(branch.args, captures, strict=True):
        argument.replace_all_uses_with(capture)
    for op in list(branch.ops):
        op.detach()
        block.add_op(op)
    return results


def _is_if(node: NodeProto) -> bool:
    """Whether `node` is an ONNX `If` (imported as a `dfg.if`)."""
    return node.op_type == "If" and node.domain in ("", "ai.onnx")


def _free_names(graph: GraphProto) -> list[str]:
    """The outer-scope names that `graph` (or a subgraph of it) reads, in first-use order."""
    defined = {i.name for i in graph.input} | {t.name for t in graph.initializer}
    free: list[str] = []
    for node in graph.node:
        used = list(node.input)
        for attr in node.attribute:
            subgraphs = [attr.g] if attr.type == AttributeProto.GRAPH else list(attr.graphs)
            for subgraph in subgraphs:
                used += _free_names(subgraph)
        free += [n for n in used if n and n not in defined and n not in free]
        defined.update(node.output)
    free += [o.name for o in graph.output if o.name not in defined and o.name not in free]
    return free


def _tensor(value: SSAValue, where: str, path: str) -> TensorType:
    """The tensor type of a Loop operand (carried or captured)."""
    if not isinstance(value.type, TensorType):
        raise RamielError(f"{path}: {where}: Loop operand '{value.name_hint}' is not a tensor")
    return value.type


def _type_proto(t: Attribute) -> TypeProto:
    """The ONNX type of a dfg value type (a tensor, a `!dfg.sequence`, a `!dfg.optional`)."""
    if isinstance(t, SequenceType | OptionalType):
        inner = _type_proto(t.element_type)
        if isinstance(t, SequenceType):
            return helper.make_sequence_type_proto(inner)
        return helper.make_optional_type_proto(inner)
    assert isinstance(t, TensorType | UnrankedTensorType)
    element = onnx_from_element_type(t.get_element_type())
    shape = list(t.get_shape()) if isinstance(t, TensorType) else None
    dims = None if shape is None else [d if d >= 0 else None for d in shape]
    return helper.make_tensor_type_proto(element, dims)


def _value_info(name: str, tensor_type: TensorType) -> ValueInfoProto:
    element = onnx_from_element_type(tensor_type.get_element_type())
    return helper.make_tensor_value_info(name, element, list(tensor_type.get_shape()))


def _known_array(value: SSAValue) -> np.ndarray | None:
    """The value of a small constant (an inline weight or a Constant node), else None."""
    owner = value.owner
    if isinstance(owner, WeightOp) and owner.value is not None:
        return numpy_from_dense(owner.value)
    if (
        isinstance(owner, NodeOp)
        and owner.op_type.data == "Constant"
        and isinstance(attr := owner.onnx_attrs.get("value"), DenseIntOrFPElementsAttr)
    ):
        return numpy_from_dense(attr)
    return None


def _known_int(value: SSAValue) -> int | None:
    """The value of a one-element integer constant (weight or Constant node), else None."""
    array = _known_array(value)
    if array is None or array.size != 1:
        return None
    return int(array.reshape(-1)[0])


@dataclass(frozen=True)
class OnnxFrontend(Frontend):
    """The `onnx` frontend: imports `.onnx` files (chosen by file extension)."""

    name: ClassVar[str] = "onnx"

    input_shape: tuple[str, ...] = ()
    """Shapes for symbolic input dimensions, each `name=d0,d1,...`."""

    def parse(self, ctx: Context, input: IO[bytes], input_name: str) -> ModuleOp:
        input.close()
        if input_name == "stdin":
            raise RamielError("ONNX input must be a file path, not standard input")
        return import_onnx(input_name, parse_input_shapes(self.input_shape))
