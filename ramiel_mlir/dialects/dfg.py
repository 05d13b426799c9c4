"""
The `dfg` (dataflow graph) dialect.

One `dfg.graph` holds one ONNX model: its block arguments are the model inputs,
`dfg.weight` ops are its initializers, one `dfg.node` stands for one ONNX operator,
and `dfg.output` returns the model outputs. Values are ranked tensors; a missing
optional ONNX input is a `dfg.none` value.

ONNX values that MLIR's builtin types cannot say have dialect types:
`tensor<2x!dfg.string>` is a tensor of ONNX STRING elements (`!dfg.string` is an
element type, as TensorFlow's `!tf_type.string` is), `!dfg.sequence<tensor<*xf32>>`
an ONNX sequence of tensors (the element tensor type may be unranked or have
dynamic dimensions) and `!dfg.optional<T>` an ONNX optional of a tensor or a
sequence.

```mlir
dfg.graph @main(%x: tensor<1x3xf32>) -> tensor<1x3xf32> {
  %w = dfg.weight "w" from "/models/m.onnx" : tensor<3xf32>
  %y = dfg.node "Add"(%x, %w) opset 13 : (tensor<1x3xf32>, tensor<3xf32>) -> tensor<1x3xf32>
  dfg.output %y : tensor<1x3xf32>
}
```
"""

from __future__ import annotations

import abc
import functools
import itertools
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from graphlib import CycleError, TopologicalSorter
from typing import TYPE_CHECKING

from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    I64,
    ArrayAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    DictionaryAttr,
    FloatAttr,
    FunctionType,
    IntegerAttr,
    NoneType,
    StringAttr,
    SymbolNameConstraint,
    TensorType,
    UnrankedTensorType,
    i1,
    i64,
)
from xdsl.dialects.utils import parse_func_op_like, print_func_op_like
from xdsl.ir import (
    Attribute,
    Block,
    Dialect,
    Operation,
    ParametrizedAttribute,
    Region,
    SSAValue,
    TypeAttribute,
)
from xdsl.irdl import (
    AttrSizedOperandSegments,
    IRDLOperation,
    attr_def,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_attr_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.parser import Parser
from xdsl.pattern_rewriter import RewritePattern
from xdsl.printer import Printer
from xdsl.traits import (
    AlwaysSpeculatable,
    ConstantLike,
    EffectInstance,
    HasCanonicalizationPatternsTrait,
    HasParent,
    IsolatedFromAbove,
    IsTerminator,
    MemoryEffect,
    MemoryEffectKind,
    OpTrait,
    Pure,
    RecursiveMemoryEffect,
    SymbolOpInterface,
)
from xdsl.utils.exceptions import VerifyException

from ramiel_mlir.dialects.annotations import (
    COST,
    GRAPH_ANNOTATIONS,
    NODE_ANNOTATIONS,
    THREADED_COST,
    THREADS,
    verify_annotations,
)
from ramiel_mlir.onnx import schema
from ramiel_mlir.onnx.attributes import to_proto
from ramiel_mlir.onnx.inference import InferenceRejected, infer_node
from ramiel_mlir.onnx.schema import DEFAULT_DOMAIN, onnx_schema
from ramiel_mlir.tensors import (
    StringType,
    element_type_from_onnx,
    numpy_from_dense,
    onnx_from_element_type,
)

if TYPE_CHECKING:
    from onnx import TypeProto


@irdl_attr_definition
class SequenceType(ParametrizedAttribute, TypeAttribute):
    """
    An ONNX sequence of tensors of one element type: `!dfg.sequence<tensor<*xf32>>`.

    The tensors of a sequence may differ in shape: the element type is unranked
    (`tensor<*xf32>`) or has dynamic dimensions (`tensor<?x3xf32>`) where ONNX
    does not fix them. The generated code holds a sequence as a Python list.
    """

    name = "dfg.sequence"

    element_type: Attribute

    def __init__(self, element_type: Attribute):
        super().__init__(element_type)

    def verify(self) -> None:
        if not isinstance(self.element_type, TensorType | UnrankedTensorType):
            raise VerifyException(f"!dfg.sequence holds tensors, not {self.element_type}")
        inner = self.element_type.element_type
        if isinstance(inner, SequenceType | OptionalType):
            raise VerifyException(f"!dfg.sequence holds tensors of scalars, not of {inner}")


@irdl_attr_definition
class OptionalType(ParametrizedAttribute, TypeAttribute):
    """
    An ONNX optional: a tensor or a sequence, or no value (`!dfg.optional<tensor<5xf32>>`).

    The generated code holds an optional as `None` or the value.
    """

    name = "dfg.optional"

    element_type: Attribute

    def __init__(self, element_type: Attribute):
        super().__init__(element_type)

    def verify(self) -> None:
        if not isinstance(self.element_type, TensorType | SequenceType):
            raise VerifyException(
                f"!dfg.optional holds a ranked tensor or a !dfg.sequence, not {self.element_type}"
            )


VALUE_TYPES = (TensorType, SequenceType, OptionalType)
"""The types of the values ONNX nodes read and write (besides `none` for an omitted one)."""


@irdl_op_definition
class GraphOp(IRDLOperation):
    """
    A whole ONNX model as one dataflow graph.

    The entry block's arguments are the graph inputs and `dfg.output` returns the
    graph outputs, in ONNX order. `input_names` / `output_names` keep the ONNX value
    names, which the generated code uses for its parameters. The passes' estimates
    (`dfg.edge_cost`, `dfg.serial_estimate`, ...) are discardable attributes, declared
    in `annotations.py`.
    """

    name = "dfg.graph"

    body = region_def("single_block")
    sym_name = attr_def(SymbolNameConstraint())
    function_type = attr_def(FunctionType)
    input_names = opt_attr_def(ArrayAttr[StringAttr])
    output_names = opt_attr_def(ArrayAttr[StringAttr])
    source = opt_attr_def(StringAttr)

    traits = traits_def(IsolatedFromAbove(), SymbolOpInterface())

    def __init__(
        self,
        name: str,
        input_types: Sequence[Attribute],
        output_types: Sequence[Attribute],
        region: Region | None = None,
        *,
        input_names: Sequence[str] | None = None,
        output_names: Sequence[str] | None = None,
        source: str | None = None,
    ):
        if region is None:
            region = Region(Block(arg_types=input_types))
        attributes: dict[str, Attribute | None] = {
            "sym_name": StringAttr(name),
            "function_type": FunctionType.from_lists(input_types, output_types),
            "input_names": _str_array(input_names),
            "output_names": _str_array(output_names),
            "source": StringAttr(source) if source else None,
        }
        super().__init__(attributes=attributes, regions=[region])

    @property
    def block(self) -> Block:
        """The graph's only block."""
        return self.body.block

    def verify_(self) -> None:
        verify_annotations(self, GRAPH_ANNOTATIONS)
        if self.function_type.inputs.data != self.block.arg_types:
            raise VerifyException(
                "dfg.graph block argument types must match the function type inputs"
            )
        for kind, field, count in (
            ("input", self.input_names, len(self.function_type.inputs)),
            ("output", self.output_names, len(self.function_type.outputs)),
        ):
            if field is not None and len(field) != count:
                raise VerifyException(
                    f"dfg.graph has {len(field)} {kind} names for {count} {kind}s"
                )
        if any(isinstance(op, ClusterOp) for op in self.block.ops):
            verify_channels(self)

    @classmethod
    def parse(cls, parser: Parser) -> GraphOp:
        name, inputs, outputs, region, extra_attrs, _, _ = parse_func_op_like(
            parser, reserved_attr_names=("sym_name", "function_type")
        )
        graph = GraphOp(name, inputs, outputs, region)
        if extra_attrs is not None:
            graph.attributes |= extra_attrs.data
        return graph

    def print(self, printer: Printer) -> None:
        print_func_op_like(
            printer,
            self.sym_name,
            self.function_type,
            self.body,
            self.attributes,
            reserved_attr_names=("sym_name", "function_type"),
        )


@irdl_op_definition
class OutputOp(IRDLOperation):
    """Returns the graph outputs; the terminator of `dfg.graph`."""

    name = "dfg.output"

    outputs = var_operand_def()

    traits = traits_def(IsTerminator(), HasParent(GraphOp))

    assembly_format = "attr-dict ($outputs^ `:` type($outputs))?"

    def __init__(self, outputs: Sequence[SSAValue]):
        super().__init__(operands=[outputs])

    def verify_(self) -> None:
        graph = self.parent_op()
        assert isinstance(graph, GraphOp)
        expected = graph.function_type.outputs.data
        if self.outputs.types != expected:
            raise VerifyException(
                f"dfg.output types [{', '.join(map(str, self.outputs.types))}] do not "
                f"match the graph result types [{', '.join(map(str, expected))}]"
            )


@irdl_op_definition
class WeightOp(IRDLOperation):
    """
    A named constant tensor: an ONNX initializer or a folded constant.

    Large data stays out of the IR: `from "file"` names the ONNX model (or `.npy`
    blob) that holds the tensor under `weight_name`. Small constants carry their
    value inline as a dense attribute.
    """

    name = "dfg.weight"

    weight_name = attr_def(StringAttr)
    file = opt_attr_def(StringAttr)
    value = opt_attr_def(DenseIntOrFPElementsAttr)
    result = result_def(TensorType)

    traits = traits_def(Pure(), ConstantLike())

    assembly_format = "$weight_name (`from` $file^)? ($value^)? attr-dict `:` type($result)"

    def __init__(
        self,
        weight_name: str,
        result_type: TensorType,
        *,
        file: str | None = None,
        value: DenseIntOrFPElementsAttr | None = None,
    ):
        super().__init__(
            result_types=[result_type],
            attributes={
                "weight_name": StringAttr(weight_name),
                "file": StringAttr(file) if file is not None else None,
                "value": value,
            },
        )

    def verify_(self) -> None:
        if (self.file is None) == (self.value is None):
            raise VerifyException(
                'dfg.weight needs exactly one of `from "file"` or an inline value'
            )
        if self.value is not None and self.value.type != self.result.type:
            raise VerifyException(
                f"dfg.weight value type {self.value.type} does not match "
                f"result type {self.result.type}"
            )


@irdl_op_definition
class NoneOp(IRDLOperation):
    """The absent value of an omitted optional ONNX input (ONNX writes `""`)."""

    name = "dfg.none"

    result = result_def(NoneType)

    traits = traits_def(Pure(), ConstantLike())

    assembly_format = "attr-dict `:` type($result)"

    def __init__(self):
        super().__init__(result_types=[NoneType()])


class NodeMemoryEffect(MemoryEffect):
    """
    A deterministic ONNX operator has no side effects; a random one (RandomNormal,
    Bernoulli, Dropout in training mode, ...) allocates fresh results on every run.

    The allocation effect is what keeps CSE from merging two random nodes while
    DCE may still remove a dead one.
    """

    @classmethod
    def get_effects(cls, op: Operation) -> AbstractSet[EffectInstance]:
        assert isinstance(op, NodeOp)
        if is_deterministic(op):
            return frozenset()
        return frozenset(EffectInstance(MemoryEffectKind.ALLOC, r) for r in op.results)


def is_deterministic(op: NodeOp) -> bool:
    """Whether the node computes the same outputs from the same inputs every time."""
    is_test = op.onnx_attrs.get("is_test")
    return schema.is_deterministic(
        op.op_type.data,
        op.opset.value.data,
        op.onnx_domain,
        is_test=is_test.value.data if isinstance(is_test, IntegerAttr) else None,
        training_mode=_constant_flag(op.inputs[2]) if len(op.inputs) > 2 else False,
    )


def _constant_flag(value: SSAValue) -> bool | None:
    """A boolean input: False if omitted, its value if a constant weight, None if computed."""
    owner = value.owner
    if isinstance(owner, NoneOp):
        return False
    if isinstance(owner, WeightOp) and owner.value is not None:
        return any(owner.value.get_values())
    return None


class NodeInterface(OpTrait, abc.ABC):
    """
    What passes treat as one node of the dataflow graph: one ONNX operator application
    that is costed, scheduled, placed on a lane and lowered as a whole (`dfg.node`, and
    `dfg.loop` with its body). Analyses, passes and backends ask `is_node(op)` and
    `node_of(op)` instead of testing op classes, so that no kind of node is dropped.
    A node's pass annotations (`dfg.cost`, `dfg.threaded_cost`, `dfg.threads`, see
    `annotations.py`) are read through the interface too; its verifier checks them.
    """

    @abc.abstractmethod
    def op_type(self, op: Operation) -> str:
        """The ONNX operator type (`Conv`, `Loop`)."""

    @abc.abstractmethod
    def domain(self, op: Operation) -> str:
        """The ONNX operator domain (`""` is the default domain)."""

    def node_name(self, op: Operation) -> str:
        """The ONNX node name (the op's `loc("name")`), or the op type if unnamed."""
        return location_name(op) or self.op_type(op)

    def describe(self, op: Operation) -> str:
        """How messages name the node: `node 'conv1' (Conv)`."""
        return f"node '{self.node_name(op)}' ({self.op_type(op)})"

    def cost(self, op: Operation) -> float | None:
        """Microseconds on one intra-op thread (`dfg.cost`), None before estimate-cost."""
        return COST.get(op)

    def threaded_cost(self, op: Operation) -> float | None:
        """Microseconds on every core (`dfg.threaded_cost`), None before estimate-cost."""
        return THREADED_COST.get(op)

    def threads(self, op: Operation) -> int | None:
        """The node's own intra-op thread count (`dfg.threads`), None: its lane's."""
        return THREADS.get(op)

    def verify(self, op: Operation) -> None:
        verify_annotations(op, NODE_ANNOTATIONS)
        threads = THREADS.get(op)
        if threads is None:
            return
        if threads < 1:
            raise VerifyException(
                f"'{self.op_type(op)}' has {THREADS.name} {threads}; it must be at least 1"
            )
        lane = op.parent_op()
        if not isinstance(lane, ClusterOp) or lane.threads is None:
            raise VerifyException(
                f"'{self.op_type(op)}' has its own thread count, so it must be in a "
                "dfg.cluster planned with `threads`"
            )


class NodeOpInterface(NodeInterface):
    """`NodeInterface` of `dfg.node`: its own op type and domain."""

    def op_type(self, op: Operation) -> str:
        assert isinstance(op, NodeOp)
        return op.op_type.data

    def domain(self, op: Operation) -> str:
        assert isinstance(op, NodeOp)
        return op.onnx_domain


class LoopOpInterface(NodeInterface):
    """`NodeInterface` of `dfg.loop`: an ONNX `Loop` of the default domain (or a `Scan`)."""

    def op_type(self, op: Operation) -> str:
        return "Loop"

    def domain(self, op: Operation) -> str:
        return DEFAULT_DOMAIN


class IfOpInterface(NodeInterface):
    """`NodeInterface` of `dfg.if`: an ONNX `If` of the default domain."""

    def op_type(self, op: Operation) -> str:
        return "If"

    def domain(self, op: Operation) -> str:
        return DEFAULT_DOMAIN


def is_node(op: Operation | Block | None) -> bool:
    """Whether `op` is one node of the dataflow graph (an op with `NodeInterface`)."""
    return isinstance(op, Operation) and op.has_trait(NodeInterface)


def node_of(op: Operation) -> NodeInterface:
    """The `NodeInterface` of an op known to be a node."""
    interface = op.get_trait(NodeInterface)
    assert interface is not None, f"{op.name} is not a dataflow node"
    return interface


def parent_graph(op: Operation) -> GraphOp:
    """The `dfg.graph` an op is nested in."""
    graph = op.parent_op()
    while not isinstance(graph, GraphOp):
        assert graph is not None
        graph = graph.parent_op()
    return graph


@irdl_op_definition
class NodeOp(IRDLOperation):
    """
    One ONNX operator application.

    `op_type`, `domain` and `opset` name the operator schema; `attrs` holds the
    ONNX attributes with their types (i64, f32, string, dense tensor, or arrays of
    them). The op's location is the ONNX node name. Passes annotate it with
    `dfg.cost`, `dfg.threaded_cost` and `dfg.threads` (see `NodeInterface`).
    """

    name = "dfg.node"

    op_type = attr_def(StringAttr)
    domain = opt_attr_def(StringAttr)
    opset = attr_def(IntegerAttr[I64])
    attrs = opt_attr_def(DictionaryAttr)
    inputs = var_operand_def()
    outputs = var_result_def()

    traits = traits_def(NodeOpInterface(), NodeMemoryEffect(), AlwaysSpeculatable())

    assembly_format = (
        "$op_type `(` $inputs `)` ($attrs^)? `opset` $opset attr-dict "
        "`:` functional-type($inputs, $outputs)"
    )

    def __init__(
        self,
        op_type: str,
        inputs: Sequence[SSAValue],
        result_types: Sequence[Attribute],
        *,
        opset: int,
        attrs: Mapping[str, Attribute] | None = None,
        domain: str = DEFAULT_DOMAIN,
    ):
        super().__init__(
            operands=[inputs],
            result_types=[result_types],
            attributes={
                "op_type": StringAttr(op_type),
                "domain": StringAttr(domain) if domain != DEFAULT_DOMAIN else None,
                "opset": IntegerAttr(opset, 64),
                "attrs": DictionaryAttr(dict(attrs)) if attrs else None,
            },
        )

    @property
    def onnx_domain(self) -> str:
        """The ONNX domain of the operator (`""` is the default domain)."""
        return self.domain.data if self.domain is not None else DEFAULT_DOMAIN

    @property
    def onnx_attrs(self) -> dict[str, Attribute]:
        """The ONNX attributes of the node, by name."""
        return dict(self.attrs.data) if self.attrs is not None else {}

    def int_attr(self, name: str, default: int) -> int:
        """The ONNX int attribute `name`, `default` if the node does not set it."""
        attr = self.onnx_attrs.get(name)
        return attr.value.data if isinstance(attr, IntegerAttr) else default

    def number_attr(self, name: str, default: float) -> float:
        """The ONNX int or float attribute `name` as a float, `default` if it is not set."""
        attr = self.onnx_attrs.get(name)
        return float(attr.value.data) if isinstance(attr, IntegerAttr | FloatAttr) else default

    def ints_attr(self, name: str) -> list[int] | None:
        """The ONNX ints attribute `name`, None if the node does not set it."""
        attr = self.onnx_attrs.get(name)
        if isinstance(attr, DenseArrayBase):
            return [int(v) for v in attr.get_values()]
        if not isinstance(attr, ArrayAttr):
            return None
        return [item.value.data for item in attr.data if isinstance(item, IntegerAttr)]

    @property
    def node_name(self) -> str:
        """The ONNX node name (from the location), or the op type if unnamed."""
        return node_of(self).node_name(self)

    def verify_(self) -> None:
        schema = onnx_schema(self.op_type.data, self.opset.value.data, self.onnx_domain)
        if schema is None:
            domain = self.onnx_domain or "ai.onnx"
            raise VerifyException(
                f"'{self.op_type.data}' is not an ONNX operator of domain "
                f"'{domain}' at opset {self.opset.value.data}"
            )
        op_type = self.op_type.data
        _check_count(op_type, "inputs", len(self.inputs), schema.min_input, schema.max_input)
        _check_count(op_type, "outputs", len(self.outputs), schema.min_output, schema.max_output)
        for index, operand in enumerate(self.inputs):
            if not isinstance(operand.type, (*VALUE_TYPES, NoneType)):
                raise VerifyException(
                    f"input #{index} of '{self.op_type.data}' must be a ranked "
                    f"tensor, a !dfg.sequence or a !dfg.optional (or none for an "
                    f"omitted optional input), got {operand.type}"
                )
        for index, result in enumerate(self.outputs):
            if not isinstance(result.type, (*VALUE_TYPES, NoneType)):
                raise VerifyException(
                    f"output #{index} of '{self.op_type.data}' must be a ranked "
                    f"tensor, a !dfg.sequence or a !dfg.optional, got {result.type}"
                )
        _check_result_types(self)


@irdl_op_definition
class ClusterOp(IRDLOperation):
    """
    A chain of nodes that one lane (thread) runs in order.

    Clusters of a graph all start when the graph is called and run concurrently;
    values cross between them only through `dfg.send` / `dfg.recv`. Graph inputs
    and weights (defined above the clusters) are visible in every cluster. The
    values a cluster yields become its results (the graph outputs). `threads` is
    the intra-op thread count the lane was planned with.
    """

    name = "dfg.cluster"

    cluster_id = attr_def(IntegerAttr[I64], attr_name="id")
    threads = opt_attr_def(IntegerAttr[I64])
    outputs = var_result_def()
    body = region_def("single_block")

    traits = traits_def(HasParent(GraphOp))

    assembly_format = (
        "$id (`threads` $threads^)? attr-dict-with-keyword (`->` type($outputs)^)? $body"
    )

    def __init__(
        self,
        cluster_id: int,
        result_types: Sequence[Attribute] = (),
        region: Region | None = None,
        *,
        threads: int | None = None,
    ):
        super().__init__(
            result_types=[result_types],
            regions=[region if region is not None else Region(Block())],
            attributes={
                "id": IntegerAttr(cluster_id, 64),
                "threads": IntegerAttr(threads, 64) if threads is not None else None,
            },
        )

    @property
    def block(self) -> Block:
        """The cluster's only block."""
        return self.body.block

    @property
    def id(self) -> int:
        """The cluster (lane) number; 0 runs on the calling thread."""
        return self.cluster_id.value.data


@irdl_op_definition
class YieldOp(IRDLOperation):
    """Ends a `dfg.cluster`, giving the values that leave it (its results)."""

    name = "dfg.yield"

    values = var_operand_def()

    traits = traits_def(IsTerminator(), HasParent(ClusterOp))

    assembly_format = "attr-dict ($values^ `:` type($values))?"

    def __init__(self, values: Sequence[SSAValue] = ()):
        super().__init__(operands=[values])

    def verify_(self) -> None:
        cluster = self.parent_op()
        assert isinstance(cluster, ClusterOp)
        if self.values.types != cluster.outputs.types:
            raise VerifyException(
                f"dfg.yield types [{', '.join(map(str, self.values.types))}] do not "
                f"match the cluster result types [{', '.join(map(str, cluster.outputs.types))}]"
            )


class SendOpHasCanonicalizationPatterns(HasCanonicalizationPatternsTrait):
    """A send that no lane receives is erased."""

    @classmethod
    def get_canonicalization_patterns(cls) -> tuple[RewritePattern, ...]:
        from ramiel_mlir.transforms.canonicalization_patterns.dfg import EraseUnreadSend

        return (EraseUnreadSend(),)


@irdl_op_definition
class SendOp(IRDLOperation):
    """Hands `value` to the other clusters that `dfg.recv` the same channel."""

    name = "dfg.send"

    value = operand_def(TensorType | SequenceType | OptionalType)
    channel = attr_def(StringAttr)

    traits = traits_def(HasParent(ClusterOp), SendOpHasCanonicalizationPatterns())

    assembly_format = "$value `to` $channel attr-dict `:` type($value)"

    def __init__(self, value: SSAValue, channel: str):
        super().__init__(operands=[value], attributes={"channel": StringAttr(channel)})


@irdl_op_definition
class RecvOp(IRDLOperation):
    """Waits for the value another cluster sends on `channel`."""

    name = "dfg.recv"

    channel = attr_def(StringAttr)
    result = result_def(TensorType | SequenceType | OptionalType)

    traits = traits_def(HasParent(ClusterOp))

    assembly_format = "$channel attr-dict `:` type($result)"

    def __init__(self, channel: str, result_type: Attribute):
        super().__init__(result_types=[result_type], attributes={"channel": StringAttr(channel)})


def verify_channels(graph: GraphOp) -> None:
    """
    Check a clustered graph's communication and prove it deadlock-free.

    Every channel has one `dfg.send` and receivers in other clusters with the
    same type. Program order within clusters plus send -> recv edges must form
    a DAG: then some order runs every op after all it waits for, so no lane
    blocks forever.
    """
    sends: dict[str, SendOp] = {}
    recvs: dict[str, list[RecvOp]] = {}
    order: list[list[Operation]] = []
    for cluster in graph.block.ops:
        if not isinstance(cluster, ClusterOp):
            continue
        comms: list[Operation] = []
        for op in cluster.block.ops:
            if isinstance(op, SendOp):
                if op.channel.data in sends:
                    raise VerifyException(f"channel '{op.channel.data}' is sent twice")
                sends[op.channel.data] = op
                comms.append(op)
            elif isinstance(op, RecvOp):
                recvs.setdefault(op.channel.data, []).append(op)
                comms.append(op)
        order.append(comms)
    for channel, receivers in recvs.items():
        send = sends.get(channel)
        if send is None:
            raise VerifyException(f"channel '{channel}' is received but never sent")
        for recv in receivers:
            if recv.result.type != send.value.type:
                raise VerifyException(
                    f"channel '{channel}' sends {send.value.type} but is received "
                    f"as {recv.result.type}"
                )
            if recv.parent_op() is send.parent_op():
                raise VerifyException(
                    f"channel '{channel}' is sent and received in the same cluster"
                )
    _check_acyclic(order, sends, recvs)


def _check_acyclic(
    order: list[list[Operation]],
    sends: Mapping[str, SendOp],
    recvs: Mapping[str, list[RecvOp]],
) -> None:
    """Program order + communication edges must form a DAG; a cycle is named op by op."""
    sorter = TopologicalSorter[Operation]()
    for comms in order:
        for op in comms:
            sorter.add(op)
        for before, after in itertools.pairwise(comms):
            sorter.add(after, before)
    for channel, send in sends.items():
        for recv in recvs.get(channel, []):
            sorter.add(recv, send)
    try:
        sorter.prepare()
    except CycleError as error:
        cycle: list[SendOp | RecvOp] = error.args[1]
        channels = sorted({op.channel.data for op in cycle})
        steps = " -> ".join(_comm_name(op) for op in cycle)
        raise VerifyException(
            "the clusters can deadlock: a cycle of waits through channels "
            + ", ".join(f"'{c}'" for c in channels)
            + f": {steps} (each waits for the one before it)"
        ) from None


def _comm_name(op: SendOp | RecvOp) -> str:
    """`recv 'a' (cluster 1)`: a channel op as a deadlock message names it."""
    kind = "send" if isinstance(op, SendOp) else "recv"
    cluster = op.parent_op()
    assert isinstance(cluster, ClusterOp)
    return f"{kind} '{op.channel.data}' (cluster {cluster.id})"


def _check_result_types(node: NodeOp) -> None:
    """
    Check the node's result types against ONNX shape inference on its input types
    (and inline constant inputs): a result must have the inferred element type and
    rank, and each dimension both know must agree. What inference leaves unknown
    (a dimension, the shape, an operator without inference) is accepted.
    """
    data = tuple(
        operand.owner.value if isinstance(operand.owner, WeightOp) else None
        for operand in node.inputs
    )
    key = (
        node.op_type.data,
        node.onnx_domain,
        node.opset.value.data,
        node.attrs,
        tuple(operand.type for operand in node.inputs),
        data,
        tuple(not isinstance(result.type, NoneType) for result in node.outputs),
    )
    inferred = _inferred_types(*key)
    if isinstance(inferred, str):
        raise VerifyException(
            f"node '{node.node_name}' ({node.op_type.data}): ONNX shape inference "
            f"rejects its inputs: {inferred}"
        )
    for index, (result, expected) in enumerate(zip(node.outputs, inferred, strict=True)):
        if expected is not None and not _agrees(result.type, expected):
            raise VerifyException(
                f"node '{node.node_name}' ({node.op_type.data}): result #{index} has type "
                f"{result.type}, but ONNX shape inference gives {_describe(expected)}"
            )


@functools.lru_cache(maxsize=1 << 16)
def _inferred_types(
    op_type: str,
    domain: str,
    opset: int,
    attrs: DictionaryAttr | None,
    input_types: tuple[Attribute, ...],
    data: tuple[DenseIntOrFPElementsAttr | None, ...],
    outputs: tuple[bool, ...],
) -> tuple[TypeProto | None, ...] | str:
    """
    `infer_node` on a node's key (cached: verification runs at every pass
    boundary, and a model repeats its nodes): the inferred types, or why
    inference rejects the inputs.
    """
    from onnx import numpy_helper

    try:
        attributes = [
            to_proto(name, value, op_type, opset, domain)
            for name, value in (attrs.data.items() if attrs is not None else ())
        ]
        inputs = [_type_proto(t) for t in input_types]
        values = {
            index: numpy_helper.from_array(numpy_from_dense(value), f"i{index}")
            for index, value in enumerate(data)
            if value is not None
        }
    except (ValueError, KeyError, TypeError):  # no ONNX form: nothing to check against
        return (None,) * len(outputs)
    try:
        return tuple(infer_node(op_type, domain, opset, attributes, inputs, outputs, values))
    except InferenceRejected as error:
        return str(error)


def _type_proto(t: Attribute) -> TypeProto | None:
    """The ONNX type of a dfg value type; None for `none` (an omitted input)."""
    return None if isinstance(t, NoneType) else _value_type_proto(t)


def _value_type_proto(t: Attribute) -> TypeProto:
    """The ONNX type of a tensor, sequence or optional type (ValueError for another)."""
    from onnx import helper

    if isinstance(t, SequenceType):
        return helper.make_sequence_type_proto(_value_type_proto(t.element_type))
    if isinstance(t, OptionalType):
        return helper.make_optional_type_proto(_value_type_proto(t.element_type))
    if isinstance(t, TensorType):
        shape = [None if d == DYNAMIC_INDEX else d for d in t.get_shape()]
        return helper.make_tensor_type_proto(onnx_from_element_type(t.get_element_type()), shape)
    if isinstance(t, UnrankedTensorType):
        return helper.make_tensor_type_proto(onnx_from_element_type(t.element_type), None)
    raise ValueError(f"{t} has no ONNX type")


def _agrees(given: Attribute, expected: TypeProto) -> bool:
    """Whether `given` has what `expected` (an inferred ONNX type) knows."""
    kind = expected.WhichOneof("value")
    if kind == "sequence_type":
        inner = expected.sequence_type.elem_type
        return isinstance(given, SequenceType) and (
            not inner.WhichOneof("value") or _agrees(given.element_type, inner)
        )
    if kind == "optional_type":
        inner = expected.optional_type.elem_type
        return isinstance(given, OptionalType) and (
            not inner.WhichOneof("value") or _agrees(given.element_type, inner)
        )
    if kind != "tensor_type":
        return True
    tensor = expected.tensor_type
    if not isinstance(given, TensorType | UnrankedTensorType):
        return False
    element = given.get_element_type() if isinstance(given, TensorType) else given.element_type
    if tensor.elem_type and onnx_from_element_type(element) != tensor.elem_type:
        return False
    if not tensor.HasField("shape") or not isinstance(given, TensorType):
        return True
    shape = given.get_shape()
    if len(shape) != len(tensor.shape.dim):
        return False
    return all(
        not dim.HasField("dim_value") or size in (DYNAMIC_INDEX, dim.dim_value)
        for dim, size in zip(tensor.shape.dim, shape, strict=True)
    )


def _describe(t: TypeProto) -> str:
    """An inferred ONNX type in MLIR's spelling, `?` (or `*`) where it is unknown."""
    kind = t.WhichOneof("value")
    if kind == "sequence_type":
        return f"!dfg.sequence<{_describe(t.sequence_type.elem_type)}>"
    if kind == "optional_type":
        return f"!dfg.optional<{_describe(t.optional_type.elem_type)}>"
    if kind != "tensor_type":
        return "an unknown type"
    tensor = t.tensor_type
    element = element_type_from_onnx(tensor.elem_type) if tensor.elem_type else None
    spelled = str(element) if element is not None else "?"
    if not tensor.HasField("shape"):
        return f"tensor<*x{spelled}>"
    dims = [str(d.dim_value) if d.HasField("dim_value") else "?" for d in tensor.shape.dim]
    return f"tensor<{'x'.join([*dims, spelled])}>"


def _check_count(op_type: str, what: str, count: int, low: int, high: int) -> None:
    if low <= count <= high:
        return
    if low == high:
        bounds = f"{low}"
    elif high >= 2**31 - 1:  # ONNX's bound for variadic inputs/outputs
        bounds = f"at least {low}"
    else:
        bounds = f"{low} to {high}"
    raise VerifyException(f"'{op_type}' takes {bounds} {what}, got {count}")


def _str_array(names: Sequence[str] | None) -> ArrayAttr[StringAttr] | None:
    return None if names is None else ArrayAttr(StringAttr(n) for n in names)


def location_name(op: Operation) -> str | None:
    """The name of a `loc("name")` location, which holds the ONNX node name."""
    from xdsl.dialects.builtin import NameLoc

    loc = op.location
    return loc.desc.data if isinstance(loc, NameLoc) else None


@irdl_op_definition
class LoopOp(IRDLOperation):
    """
    An ONNX `Loop`: its `body` graph as a region, run until the trip count or condition stops it.

    Operands are ONNX's (`max_trip_count`, `condition`, each a `dfg.none` when omitted, then
    the initial loop-carried values) followed by `captures`: the outer values the body reads.
    The body is isolated from above: its block arguments are the iteration number
    (`tensor<i64>`), the condition (`tensor<i1>`), the carried values, then one argument per
    capture, so every dataflow edge into the loop is an operand that passes see. `dfg.loop_yield`
    ends the body with the next condition, the next carried values and the per-iteration scan
    values. Results are the final carried values (same types as the initial ones: a carried
    value keeps its static shape) and the scan outputs, each the scan values stacked along a new
    axis 0 whose static size N is the number of iterations the loop must run.

    Passes treat the loop as one node of ONNX type `Loop` (`NodeInterface`): it gets its
    `dfg.cost` and `dfg.threaded_cost` from `estimate-cost`, and its own `dfg.threads`
    (for the whole loop) from `merge-clusters`.
    """

    name = "dfg.loop"

    max_trip_count = operand_def(TensorType | NoneType)
    condition = operand_def(TensorType | NoneType)
    inits = var_operand_def(TensorType)
    captures = var_operand_def(TensorType)
    opset = attr_def(IntegerAttr[I64])
    outputs = var_result_def(TensorType)
    body = region_def("single_block")

    irdl_options = (AttrSizedOperandSegments(),)
    traits = traits_def(LoopOpInterface(), IsolatedFromAbove(), RecursiveMemoryEffect())

    assembly_format = (
        "`(` $max_trip_count `,` $condition `)` "
        "(`carried` `(` $inits^ `:` type($inits) `)`)? "
        "(`captures` `(` $captures^ `:` type($captures) `)`)? "
        "`opset` $opset attr-dict-with-keyword "
        "`:` type($max_trip_count) `,` type($condition) "
        "`->` `(` type($outputs) `)` $body"
    )

    def __init__(
        self,
        max_trip_count: SSAValue,
        condition: SSAValue,
        inits: Sequence[SSAValue],
        captures: Sequence[SSAValue],
        scan_types: Sequence[Attribute],
        body: Region,
        *,
        opset: int,
    ):
        super().__init__(
            operands=[max_trip_count, condition, inits, captures],
            result_types=[[*(v.type for v in inits), *scan_types]],
            attributes={"opset": IntegerAttr(opset, 64)},
            regions=[body],
        )

    @property
    def node_name(self) -> str:
        """The ONNX node name (from the location), or `Loop` if unnamed."""
        return node_of(self).node_name(self)

    @property
    def onnx_inputs(self) -> tuple[SSAValue, ...]:
        """The ONNX inputs: trip count, condition, initial carried values (no captures)."""
        return (self.max_trip_count, self.condition, *self.inits)

    @property
    def finals(self) -> tuple[SSAValue, ...]:
        """The final carried values: the first results, one per initial value."""
        return tuple(self.outputs[: len(self.inits)])

    @property
    def scans(self) -> tuple[SSAValue, ...]:
        """The scan outputs: the results after the final carried values."""
        return tuple(self.outputs[len(self.inits) :])

    @property
    def block(self) -> Block:
        """The body's only block."""
        return self.body.block

    def static_trip_count(self) -> int | None:
        """
        The number of iterations known at compile time: the scan outputs' axis 0 if there
        are any (the generated code checks it at run time), else a constant trip count when
        no condition can stop the loop early; None if unknown.
        """
        if self.scans:
            scan_type = self.scans[0].type
            assert isinstance(scan_type, TensorType)
            return scan_type.get_shape()[0]
        owner = self.max_trip_count.owner
        if not isinstance(self.condition.type, NoneType) or not isinstance(owner, WeightOp):
            return None
        if owner.value is None:
            return None
        count = next(iter(owner.value.get_values()))
        assert isinstance(count, int | float)  # a tensor<i64> trip count (verified)
        return int(count)

    def verify_(self) -> None:
        where = f"dfg.loop '{self.node_name}'"
        for what, value, element in (
            ("trip count", self.max_trip_count, "i64"),
            ("condition", self.condition, "i1"),
        ):
            if not isinstance(value.type, NoneType) and not _is_scalar(value.type, element):
                raise VerifyException(
                    f"{where}: the {what} must be a one-element tensor of {element} "
                    f"(or none), got {value.type}"
                )
        carried = [v.type for v in self.inits]
        expected = [TensorType(i64, []), TensorType(i1, []), *carried]
        expected += [v.type for v in self.captures]
        args = list(self.block.arg_types)
        if len(args) != len(expected):
            raise VerifyException(
                f"{where}: the body takes {len(args)} arguments, expected {len(expected)} "
                f"(iteration number, condition, {len(carried)} carried, "
                f"{len(self.captures)} captured)"
            )
        if not _is_scalar(args[0], "i64") or not _is_scalar(args[1], "i1"):
            raise VerifyException(
                f"{where}: the body's first arguments must be the iteration number "
                f"(tensor<i64>) and the condition (tensor<i1>), got {args[0]} and {args[1]}"
            )
        for index, (arg, want) in enumerate(zip(args[2:], expected[2:], strict=True)):
            if arg != want:
                raise VerifyException(
                    f"{where}: body argument #{index + 2} has type {arg}, but its "
                    f"operand has type {want}"
                )
        finals = [v.type for v in self.finals]
        if finals != carried:
            raise VerifyException(
                f"{where}: the first results (final carried values) must have the initial "
                f"values' types [{', '.join(map(str, carried))}], got "
                f"[{', '.join(map(str, finals))}]"
            )
        self._verify_yield(where, carried)

    def _verify_yield(self, where: str, carried: Sequence[Attribute]) -> None:
        terminator = self.block.last_op
        if not isinstance(terminator, LoopYieldOp):
            raise VerifyException(f"{where}: the body must end with dfg.loop_yield")
        yielded = list(terminator.values.types)
        if len(yielded) != 1 + len(carried) + len(self.scans):
            raise VerifyException(
                f"{where}: the body yields {len(yielded)} values, expected "
                f"{1 + len(carried) + len(self.scans)} (condition, {len(carried)} carried, "
                f"{len(self.scans)} scanned)"
            )
        if not _is_scalar(yielded[0], "i1"):
            raise VerifyException(
                f"{where}: the body must yield the condition (tensor<i1>) first, got {yielded[0]}"
            )
        for index, (got, want) in enumerate(zip(yielded[1:], carried, strict=False)):
            if got != want:
                raise VerifyException(
                    f"{where}: carried value #{index} enters the body as {want} but is "
                    f"yielded as {got}: a carried value must keep its type and shape"
                )
        for index, (got, scan) in enumerate(
            zip(yielded[1 + len(carried) :], [v.type for v in self.scans], strict=True)
        ):
            assert isinstance(scan, TensorType)
            if not isinstance(got, TensorType) or (
                got.get_element_type() != scan.get_element_type()
                or list(got.get_shape()) != list(scan.get_shape())[1:]
            ):
                raise VerifyException(
                    f"{where}: scan output #{index} has type {scan}, which does not stack "
                    f"the yielded {got} along a new axis 0"
                )


@irdl_op_definition
class LoopYieldOp(IRDLOperation):
    """Ends a `dfg.loop` body: the next condition, the next carried values, the scan values."""

    name = "dfg.loop_yield"

    values = var_operand_def(TensorType)

    traits = traits_def(IsTerminator(), HasParent(LoopOp), Pure())

    assembly_format = "attr-dict ($values^ `:` type($values))?"

    def __init__(self, values: Sequence[SSAValue]):
        super().__init__(operands=[values])


@irdl_op_definition
class IfOp(IRDLOperation):
    """
    An ONNX `If`: runs its `then` or its `else` region, as the condition says.

    Operands are the condition (a one-element `tensor<i1>`) followed by `captures`: the
    outer values that either branch reads. Both regions are isolated from above and take
    one block argument per capture, so every dataflow edge into the `If` is an operand
    that passes see. Each region ends with `dfg.if_yield` of values of the result types.

    Passes treat the `If` as one node of ONNX type `If` (`NodeInterface`): its cost is that
    of its dearer branch, and `fold-constants` replaces it by the branch taken when the
    condition is a constant.
    """

    name = "dfg.if"

    condition = operand_def(TensorType)
    captures = var_operand_def(TensorType | SequenceType | OptionalType)
    opset = attr_def(IntegerAttr[I64])
    outputs = var_result_def(TensorType | SequenceType | OptionalType)
    then_region = region_def("single_block")
    else_region = region_def("single_block")

    traits = traits_def(IfOpInterface(), IsolatedFromAbove(), RecursiveMemoryEffect())

    assembly_format = (
        "$condition (`captures` `(` $captures^ `:` type($captures) `)`)? "
        "`opset` $opset attr-dict-with-keyword "
        "`:` type($condition) `->` `(` type($outputs) `)` $then_region `else` $else_region"
    )

    def __init__(
        self,
        condition: SSAValue,
        captures: Sequence[SSAValue],
        result_types: Sequence[Attribute],
        then_region: Region,
        else_region: Region,
        *,
        opset: int,
    ):
        super().__init__(
            operands=[condition, captures],
            result_types=[result_types],
            attributes={"opset": IntegerAttr(opset, 64)},
            regions=[then_region, else_region],
        )

    @property
    def node_name(self) -> str:
        """The ONNX node name (from the location), or `If` if unnamed."""
        return node_of(self).node_name(self)

    @property
    def branches(self) -> tuple[Block, Block]:
        """The blocks of the `then` and `else` regions."""
        return self.then_region.block, self.else_region.block

    def verify_(self) -> None:
        where = f"dfg.if '{self.node_name}'"
        if not _is_scalar(self.condition.type, "i1"):
            raise VerifyException(
                f"{where}: the condition must be a one-element tensor of i1, "
                f"got {self.condition.type}"
            )
        captured = list(self.captures.types)
        results = list(self.outputs.types)
        for branch, block in zip(("then", "else"), self.branches, strict=True):
            args = list(block.arg_types)
            if args != captured:
                raise VerifyException(
                    f"{where}: the {branch} branch takes [{', '.join(map(str, args))}], but "
                    f"the captures are [{', '.join(map(str, captured))}]"
                )
            terminator = block.last_op
            if not isinstance(terminator, IfYieldOp):
                raise VerifyException(f"{where}: the {branch} branch must end with dfg.if_yield")
            yielded = list(terminator.values.types)
            if yielded != results:
                raise VerifyException(
                    f"{where}: the {branch} branch yields [{', '.join(map(str, yielded))}], "
                    f"but the results are [{', '.join(map(str, results))}]"
                )


@irdl_op_definition
class IfYieldOp(IRDLOperation):
    """Ends a branch of `dfg.if`: the values the `If` gives when that branch is taken."""

    name = "dfg.if_yield"

    values = var_operand_def(TensorType | SequenceType | OptionalType)

    traits = traits_def(IsTerminator(), HasParent(IfOp), Pure())

    assembly_format = "attr-dict ($values^ `:` type($values))?"

    def __init__(self, values: Sequence[SSAValue]):
        super().__init__(operands=[values])


def _is_scalar(t: Attribute, element: str) -> bool:
    """Whether `t` is a one-element tensor of the element type spelled `element`."""
    if not isinstance(t, TensorType) or str(t.get_element_type()) != element:
        return False
    return all(d == 1 for d in t.get_shape())


def _batch_slices(op_name: str, whole: Attribute, slices: Sequence[Attribute], what: str) -> None:
    """
    Check that the tensors `slices` split the tensor `whole` along axis 0.

    Shared by `dfg.fork` (`what` = "slices") and `dfg.join` (`what` = "parts").
    """
    if len(slices) < 2:
        raise VerifyException(f"{op_name} needs at least 2 {what}, got {len(slices)}")
    if not isinstance(whole, TensorType) or not whole.get_shape():
        raise VerifyException(
            f"{op_name} splits a ranked tensor of rank >= 1 along axis 0, got {whole}"
        )
    shape = list(whole.get_shape())
    if shape[0] < 0:
        raise VerifyException(f"{op_name} needs a static axis 0 (the batch) to split, got {whole}")
    total = 0
    for index, part in enumerate(slices):
        assert isinstance(part, TensorType)  # by the operand/result constraints
        if part.get_element_type() != whole.get_element_type():
            raise VerifyException(
                f"{op_name}: {what[:-1]} #{index} has element type "
                f"{part.get_element_type()}, the whole has {whole.get_element_type()}"
            )
        part_shape = list(part.get_shape())
        if len(part_shape) != len(shape) or part_shape[1:] != shape[1:]:
            raise VerifyException(
                f"{op_name}: {what[:-1]} #{index} ({part}) must have the shape of "
                f"{whole} in every axis but 0"
            )
        if part_shape[0] < 1:
            raise VerifyException(
                f"{op_name}: {what[:-1]} #{index} ({part}) must hold at least one "
                "entry along axis 0"
            )
        total += part_shape[0]
    if total != shape[0]:
        raise VerifyException(
            f"{op_name}: the {what} hold {total} entries along axis 0, the whole {whole} "
            f"holds {shape[0]}"
        )


@irdl_op_definition
class ForkOp(IRDLOperation):
    """
    Split a batched tensor into K >= 2 consecutive slices along axis 0 (the batch).

    Written by `hypercluster`: each slice feeds one copy of the graph (a
    hypercluster). Slices are views of the input in the generated code; they
    are graph values, visible in every cluster, like the graph inputs.

    ```mlir
    %a, %b = dfg.fork %x : tensor<4x3xf32> -> tensor<2x3xf32>, tensor<2x3xf32>
    ```
    """

    name = "dfg.fork"

    input = operand_def(TensorType)
    slices = var_result_def(TensorType)

    traits = traits_def(Pure())

    assembly_format = "$input attr-dict `:` type($input) `->` type($slices)"

    def __init__(self, value: SSAValue, slice_types: Sequence[Attribute]):
        super().__init__(operands=[value], result_types=[slice_types])

    def verify_(self) -> None:
        _batch_slices("dfg.fork", self.input.type, self.slices.types, "slices")


@irdl_op_definition
class JoinOp(IRDLOperation):
    """
    Concatenate K >= 2 batch slices along axis 0, in order: the inverse of `dfg.fork`.

    Written by `hypercluster` for every batched graph output; it stands after the
    clusters, and lane 0 runs it once every slice is done.

    ```mlir
    %y = dfg.join %a, %b : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<4x3xf32>
    ```
    """

    name = "dfg.join"

    parts = var_operand_def(TensorType)
    result = result_def(TensorType)

    traits = traits_def(Pure())

    assembly_format = "$parts attr-dict `:` type($parts) `->` type($result)"

    def __init__(self, parts: Sequence[SSAValue], result_type: Attribute):
        super().__init__(operands=[parts], result_types=[result_type])

    def verify_(self) -> None:
        _batch_slices("dfg.join", self.result.type, self.parts.types, "parts")


DFG = Dialect(
    "dfg",
    [
        GraphOp,
        OutputOp,
        WeightOp,
        NoneOp,
        NodeOp,
        ClusterOp,
        YieldOp,
        SendOp,
        RecvOp,
        LoopOp,
        LoopYieldOp,
        IfOp,
        IfYieldOp,
        ForkOp,
        JoinOp,
    ],
    [StringType, SequenceType, OptionalType],
)
