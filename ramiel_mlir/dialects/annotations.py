"""
Pass annotations: the discardable attributes of the `dfg` dialect, declared in one place.

MLIR splits an op's attributes in two (LangRef, "Attributes"). Inherent attributes are
part of the op's definition and meaning: a `dfg.node`'s `op_type` and `opset`, a
`dfg.cluster`'s `id` and `threads`. Discardable attributes are facts that passes attach
to ops; dropping them loses information but never changes what the program computes.
They live in the op's attribute dictionary under a name prefixed with the dialect that
defines them (as `llvm.linkage` or `gpu.container_module` do), so any op may carry them,
and that dialect verifies them (MLIR: `Dialect::verifyOperationAttribute`).

The estimates that `estimate-cost`, `linear-cluster` and `merge-clusters` write are of
that kind: costs in microseconds, a node's own intra-op thread count, the graph's
communication costs and schedule estimates. Each is declared below, once, with its name,
type and meaning; passes read and write them only through these accessors, and the
verifiers of `dfg.graph` and of every node (see `dfg.NodeInterface`) check them.

```mlir
dfg.graph @g(%x: tensor<4xf32>) -> tensor<4xf32> attributes {dfg.edge_cost = 5.0 : f64} {
  %y = dfg.node "Relu"(%x) opset 17 {dfg.cost = 3.2 : f64, dfg.threaded_cost = 4.1 : f64} : ...
```
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.dialects.builtin import FloatAttr, IntegerAttr, StringAttr, f64, i64
from xdsl.ir import Operation
from xdsl.utils.exceptions import VerifyException

PREFIX = "dfg."
"""The prefix of the dialect's discardable attribute names."""


@dataclass(frozen=True)
class F64Annotation:
    """A discardable `f64` attribute, read and written as a Python float."""

    name: str
    doc: str

    def get(self, op: Operation) -> float | None:
        """The value on `op`, None if it has none."""
        attr = op.attributes.get(self.name)
        if attr is None:
            return None
        self._check(op)
        assert isinstance(attr, FloatAttr)
        return attr.value.data

    def set(self, op: Operation, value: float) -> None:
        """Attach `value` to `op` (replacing an earlier one)."""
        op.attributes[self.name] = FloatAttr(value, f64)

    def remove(self, op: Operation) -> None:
        """Drop the annotation from `op`, if it has it."""
        op.attributes.pop(self.name, None)

    def _check(self, op: Operation) -> None:
        attr = op.attributes.get(self.name)
        if attr is not None and not (isinstance(attr, FloatAttr) and attr.type == f64):
            raise VerifyException(f"'{op.name}' has {self.name} = {attr}; it must be an f64")

    def verify(self, op: Operation) -> None:
        """Check the annotation's type on `op`, if present."""
        self._check(op)


@dataclass(frozen=True)
class I64Annotation:
    """A discardable `i64` attribute, read and written as a Python int."""

    name: str
    doc: str

    def get(self, op: Operation) -> int | None:
        """The value on `op`, None if it has none."""
        attr = op.attributes.get(self.name)
        if attr is None:
            return None
        self._check(op)
        assert isinstance(attr, IntegerAttr)
        return attr.value.data

    def set(self, op: Operation, value: int) -> None:
        """Attach `value` to `op` (replacing an earlier one)."""
        op.attributes[self.name] = IntegerAttr(value, 64)

    def remove(self, op: Operation) -> None:
        """Drop the annotation from `op`, if it has it."""
        op.attributes.pop(self.name, None)

    def _check(self, op: Operation) -> None:
        attr = op.attributes.get(self.name)
        if attr is not None and not (isinstance(attr, IntegerAttr) and attr.type == i64):
            raise VerifyException(f"'{op.name}' has {self.name} = {attr}; it must be an i64")

    def verify(self, op: Operation) -> None:
        """Check the annotation's type on `op`, if present."""
        self._check(op)


@dataclass(frozen=True)
class StrAnnotation:
    """A discardable string attribute, read and written as a Python str."""

    name: str
    doc: str
    values: tuple[str, ...] = ()
    """The values it may take (empty: any string)."""

    def get(self, op: Operation) -> str | None:
        """The value on `op`, None if it has none."""
        attr = op.attributes.get(self.name)
        if attr is None:
            return None
        self._check(op)
        assert isinstance(attr, StringAttr)
        return attr.data

    def set(self, op: Operation, value: str) -> None:
        """Attach `value` to `op` (replacing an earlier one)."""
        op.attributes[self.name] = StringAttr(value)

    def remove(self, op: Operation) -> None:
        """Drop the annotation from `op`, if it has it."""
        op.attributes.pop(self.name, None)

    def _check(self, op: Operation) -> None:
        attr = op.attributes.get(self.name)
        if attr is not None and not isinstance(attr, StringAttr):
            raise VerifyException(f"'{op.name}' has {self.name} = {attr}; it must be a string")
        if isinstance(attr, StringAttr) and self.values and attr.data not in self.values:
            allowed = ", ".join(f'"{value}"' for value in self.values)
            raise VerifyException(
                f"'{op.name}' has {self.name} = \"{attr.data}\"; it must be one of {allowed}"
            )

    def verify(self, op: Operation) -> None:
        """Check the annotation's type on `op`, if present."""
        self._check(op)


Annotation = F64Annotation | I64Annotation | StrAnnotation

# On nodes (every op with `dfg.NodeInterface`).

COST = F64Annotation("dfg.cost", "Estimated microseconds on one intra-op thread (estimate-cost).")
THREADED_COST = F64Annotation(
    "dfg.threaded_cost",
    "Estimated microseconds with every core as intra-op threads (estimate-cost).",
)
THREADS = I64Annotation(
    "dfg.threads",
    "The node's own intra-op thread count where it differs from its lane's "
    "(merge-clusters); at least 1, and only in a dfg.cluster planned with `threads`.",
)

LAYOUT = StrAnnotation(
    "dfg.layout",
    "The memory format of the node's image results, `channels_last` (assign-layout); "
    "none: contiguous.",
)

KERNEL = StrAnnotation(
    "dfg.kernel",
    "How the generated code runs the node where PyTorch offers more than one way: "
    "`onednn`, a convolution on oneDNN with weights packed once at load time "
    "(prepack-weights); `onednn_linear`, a 1x1 convolution of channels-last images as "
    "oneDNN's matrix product over the pixels, weights packed likewise; `linear`, the "
    "same as `F.linear` (MKL's matrix product, nothing packed); none: the plain PyTorch "
    "call.",
)

# On `dfg.graph`.

EDGE_COST = F64Annotation(
    "dfg.edge_cost", "Microseconds to hand one value to another lane (estimate-cost)."
)
DISPATCH_COST = F64Annotation(
    "dfg.dispatch_cost",
    "Microseconds of each node call that holds the GIL, which lanes cannot overlap "
    "(estimate-cost).",
)
FORK_COST = F64Annotation(
    "dfg.fork_cost", "Microseconds to start and join the worker lanes (estimate-cost)."
)
MACHINE = StrAnnotation(
    "dfg.machine",
    "The machine model the costs came from (estimate-cost): `default`, `auto:<hash>` or "
    "`<file name>:<hash>`.",
)
SERIAL_ESTIMATE = F64Annotation(
    "dfg.serial_estimate",
    "Estimated microseconds of the graph on one lane (linear-cluster, merge-clusters).",
)
PARALLEL_ESTIMATE = F64Annotation(
    "dfg.parallel_estimate",
    "Estimated microseconds of the graph as clustered (linear-cluster, merge-clusters).",
)

BATCH_PLAN = StrAnnotation(
    "dfg.batch_plan",
    "How parallelize split the batch into hyperclusters, or why not (the generated header).",
)

ONEDNN_GRAPH = "onednn_graph"
"""The `dfg.runtime` of a graph whose lanes oneDNN Graph compiles at load time."""
TORCHSCRIPT = "torchscript"
"""The `dfg.runtime` of a graph whose one-thread lane runs as its TorchScript trace."""

RUNTIME = StrAnnotation(
    "dfg.runtime",
    "How the generated code runs the graph's one lane, or each batch slice's lane "
    "(fuse-onednn-graph): `onednn_graph`, traced at load time and compiled by oneDNN "
    "Graph, else as "
    "TorchScript, else eager; `torchscript`, traced and run as TorchScript (bitwise the "
    "eager lane's results), else eager; none: eager PyTorch.",
    values=(ONEDNN_GRAPH, TORCHSCRIPT),
)

NODE_ANNOTATIONS: tuple[Annotation, ...] = (COST, THREADED_COST, THREADS, LAYOUT, KERNEL)
"""The annotations a node may carry."""

GRAPH_ANNOTATIONS: tuple[Annotation, ...] = (
    EDGE_COST,
    DISPATCH_COST,
    FORK_COST,
    MACHINE,
    SERIAL_ESTIMATE,
    PARALLEL_ESTIMATE,
    BATCH_PLAN,
    RUNTIME,
)
"""The annotations a `dfg.graph` may carry."""


def verify_annotations(op: Operation, allowed: tuple[Annotation, ...]) -> None:
    """
    Check the `dfg.`-prefixed attributes of `op`: each must be one of `allowed`, with
    its type. Other attributes are not the dialect's to judge, except one spelled
    like an annotation without its prefix (`cost`), which is a mistake.
    """
    known = {annotation.name: annotation for annotation in allowed}
    for name in op.attributes:
        if not name.startswith(PREFIX):
            if PREFIX + name in known:
                raise VerifyException(
                    f"'{op.name}' has the attribute {name}: pass annotations are "
                    f"dialect-prefixed, write {PREFIX}{name}"
                )
            continue
        annotation = known.get(name)
        if annotation is None:
            expected = ", ".join(sorted(known)) or "none"
            raise VerifyException(
                f"'{op.name}' has the unknown annotation {name} (expected: {expected})"
            )
        annotation.verify(op)
