"""
Hypothesis strategies: random, valid ONNX models built from operators ramiel-opt lowers.

`onnx_examples()` draws an `Example`: a model of one to a dozen nodes over one to
three float inputs, and input arrays for it. Each node reads values drawn from
everything computed so far, mostly the newest (long chains) but often older
ones (fan-out, shared producers, diamonds when the branches meet again in a
binary op or a Concat); values nobody reads are graph outputs, and a few read
ones are too (several outputs). Shapes are random but small (at most
`MAX_ELEMENTS` elements a tensor) so that an example compiles and runs in
milliseconds. Weights are initializers or Constant nodes; value names are
sometimes not Python identifiers (`a/b:0`, `class`, `1x`).

Values stay finite and well conditioned: weights are scaled so that products
keep magnitudes near one, and operators with a restricted domain (Log, Sqrt,
Reciprocal) only ever read the output of a Sigmoid. So a mismatch against ONNX
Runtime is a bug, not rounding blown up by an ill-posed graph.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from hypothesis import strategies as st
from hypothesis.strategies import DrawFn
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
MAX_ELEMENTS = 256
"""The largest tensor an example computes (elements)."""


@dataclass(frozen=True)
class Value:
    """A float tensor of the graph under construction."""

    name: str
    shape: tuple[int, ...]

    @property
    def rank(self) -> int:
        """The number of dimensions."""
        return len(self.shape)

    @property
    def size(self) -> int:
        """The number of elements."""
        return math.prod(self.shape)


@dataclass(frozen=True)
class Example:
    """A drawn model and an input array per graph input (in graph order)."""

    model: onnx.ModelProto
    inputs: list[np.ndarray]

    def text(self) -> str:
        """The model in ONNX's textual syntax (to reproduce a failure by hand)."""
        return onnx.printer.to_text(self.model)

    def __repr__(self) -> str:
        ops = " ".join(
            f"{n.op_type}({','.join(n.input)})->{','.join(n.output)}" for n in self.model.graph.node
        )
        shapes = [list(a.shape) for a in self.inputs]
        return f"Example(inputs={shapes}, nodes=[{ops}])"


_NAME_STYLES = ("{}", "{}", "{}", "a/{}:0", "{}.out", "1{}", "class", "x", "lambda")
"""Templates for value names: plain, ONNX-style paths, leading digits, Python keywords."""

_NODE_NAME_STYLES = (
    "n{i}_{op}",
    "n{i}_{op}",
    "n{i}_{op}",
    "/block{i}/{op}",
    'n{i} "{op}"',
    "n{i}\\{op}",
    "n{i}\n{op}",
    "n{i}\x00{op}",
)
"""Templates for node names (which end up in comments and docstrings of the code)."""

UNARY = ("Relu", "Sigmoid", "Tanh", "Abs", "Neg", "Sin", "Cos", "Erf", "Identity")
"""Elementwise unary operators defined on every float (and continuous: Floor and Ceil
would turn a last-bit difference from ONNX Runtime upstream into a difference of 1)."""
ON_UNIT_INTERVAL = ("Sqrt", "Log", "Reciprocal", "Exp")
"""Unary operators applied to a Sigmoid's output, where they are well conditioned."""
BINARY = ("Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "Mean", "Pow")
REDUCE = (
    "ReduceSum",
    "ReduceMean",
    "ReduceMax",
    "ReduceMin",
    "ReduceL1",
    "ReduceL2",
    "ReduceSumSquare",
    "ReduceLogSumExp",
    "ReduceProd",
)


@dataclass
class _Graph:
    """The model being drawn: nodes, initializers and the float values so far."""

    draw: DrawFn
    inputs: list[Value]
    values: list[Value] = field(default_factory=list[Value])
    nodes: list[onnx.NodeProto] = field(default_factory=list[onnx.NodeProto])
    initializers: list[TensorProto] = field(default_factory=list[TensorProto])
    read: set[str] = field(default_factory=set[str])
    names: set[str] = field(default_factory=set[str])
    rng: np.random.Generator = field(default_factory=np.random.default_rng)

    def fresh(self, base: str) -> str:
        """A new value name, sometimes in an awkward style."""
        style = self.draw(st.sampled_from(_NAME_STYLES))
        name = style.format(base) if "{}" in style else style
        while name in self.names:
            name = f"{name}_"
        self.names.add(name)
        return name

    def pick(self, accept: Callable[[Value], bool] = lambda _: True) -> Value | None:
        """An existing value that `accept`s, most likely a recent one."""
        candidates = [v for v in self.values if accept(v)]
        if not candidates:
            return None
        back = self.draw(st.integers(0, len(candidates) - 1))
        return candidates[len(candidates) - 1 - back]

    def weight(self, shape: Sequence[int], scale: float = 1.0, low: float | None = None) -> str:
        """A float initializer (or, sometimes, a Constant node) of `shape`."""
        if low is None:
            data = self.rng.standard_normal(shape).astype(np.float32) * np.float32(scale)
        else:
            data = self.rng.uniform(low, scale, size=shape).astype(np.float32)
        return self.tensor(np.asarray(data, dtype=np.float32))

    def ints(self, values: Sequence[int]) -> str:
        """An int64 initializer holding `values`."""
        return self.tensor(np.array(values, dtype=np.int64))

    def tensor(self, data: np.ndarray) -> str:
        name = self.fresh(f"w{len(self.initializers)}")
        tensor = numpy_helper.from_array(data, name)
        if data.dtype == np.float32 and self.draw(st.integers(0, 4)) == 0:
            self.nodes.append(
                helper.make_node("Constant", [], [name], name=f"const_{name}", value=tensor)
            )
        else:
            self.initializers.append(tensor)
        return name

    def node(
        self,
        op_type: str,
        inputs: Sequence[str],
        shapes: Sequence[Sequence[int]],
        **attributes: Any,
    ) -> list[Value]:
        """Add a node whose float outputs have `shapes`; they become operands for later nodes."""
        outputs = [Value(self.fresh(f"v{len(self.nodes)}"), tuple(s)) for s in shapes]
        self.nodes.append(
            helper.make_node(
                op_type,
                list(inputs),
                [o.name for o in outputs],
                name=self.node_name(op_type),
                **attributes,
            )
        )
        self.read.update(inputs)
        self.values += outputs
        return outputs

    def node_name(self, op_type: str) -> str:
        """A node name: mostly plain, sometimes one that is awkward in Python source."""
        style = self.draw(st.sampled_from(_NODE_NAME_STYLES))
        return style.format(i=len(self.nodes), op=op_type.lower())

    def hidden(self, op_type: str, inputs: Sequence[str], **attributes: Any) -> str:
        """A node whose output only the next node reads (bool masks, casts)."""
        name = self.fresh(f"t{len(self.nodes)}")
        self.nodes.append(
            helper.make_node(
                op_type,
                list(inputs),
                [name],
                name=self.node_name(op_type),
                **attributes,
            )
        )
        self.read.update(inputs)
        return name


# Operators ------------------------------------------------------------------------
# Each adds one node (or a short fixed pattern) reading `x`, or returns False when
# `x` does not suit it.


def _unary(g: _Graph, x: Value) -> bool:
    op = g.draw(st.sampled_from(UNARY))
    g.node(op, [x.name], [x.shape])
    return True


def _on_unit_interval(g: _Graph, x: Value) -> bool:
    op = g.draw(st.sampled_from(ON_UNIT_INTERVAL))
    (s,) = g.node("Sigmoid", [x.name], [x.shape])
    g.node(op, [s.name], [x.shape])
    return True


def _broadcast_partner(g: _Graph, x: Value) -> tuple[str, tuple[int, ...]]:
    """Another value that broadcasts with `x`, or a weight of a shape that does."""

    def fits(v: Value) -> bool:
        try:
            shape = np.broadcast_shapes(x.shape, v.shape)
        except ValueError:
            return False
        return math.prod(shape) <= MAX_ELEMENTS

    if g.draw(st.booleans()) and (other := g.pick(fits)) is not None:
        return other.name, np.broadcast_shapes(x.shape, other.shape)
    keep = g.draw(st.integers(0, x.rank))
    shape = [d if g.draw(st.booleans()) else 1 for d in x.shape[x.rank - keep :]]
    return g.weight(shape, low=0.5, scale=2.0), x.shape


def _binary(g: _Graph, x: Value) -> bool:
    op = g.draw(st.sampled_from(BINARY))
    if op == "Pow":
        exponent = g.tensor(np.array(g.draw(st.sampled_from([2.0, 3.0])), dtype=np.float32))
        g.node("Pow", [x.name, exponent], [x.shape])
        return True
    if op == "Div":  # by a weight in [0.5, 2]: no division by (almost) zero
        divisor = g.weight([d if g.draw(st.booleans()) else 1 for d in x.shape], low=0.5, scale=2.0)
        g.node("Div", [x.name, divisor], [x.shape])
        return True
    name, shape = _broadcast_partner(g, x)
    operands = [x.name, name]
    if op in ("Sum", "Mean", "Max", "Min") and g.draw(st.booleans()):
        operands.append(x.name)  # variadic, and the same value read twice
    if g.draw(st.booleans()):
        operands.reverse()
    g.node(op, operands, [shape])
    return True


def _where(g: _Graph, x: Value) -> bool:
    name, shape = _broadcast_partner(g, x)
    compare = g.draw(st.sampled_from(["Greater", "Less", "GreaterOrEqual", "LessOrEqual"]))
    mask = g.hidden(compare, [x.name, name])
    g.node("Where", [mask, x.name, name], [shape])
    return True


def _clip(g: _Graph, x: Value) -> bool:
    low = g.tensor(np.array(-0.5, dtype=np.float32)) if g.draw(st.booleans()) else ""
    high = g.tensor(np.array(g.draw(st.sampled_from([0.5, 1.0, 6.0])), dtype=np.float32))
    inputs = [x.name, low, high]
    g.node("Clip", inputs, [x.shape])
    return True


def _matmul(g: _Graph, x: Value) -> bool:
    k = x.shape[-1] if x.rank else 0
    if x.rank == 0:
        return False

    def fits(v: Value) -> bool:
        return v.rank == 2 and v.shape[0] == k and x.size // k * v.shape[1] <= MAX_ELEMENTS

    other = g.pick(fits) if g.draw(st.booleans()) else None
    if other is not None:
        g.node("MatMul", [x.name, other.name], [(*x.shape[:-1], other.shape[1])])
        return True
    n = g.draw(st.integers(1, 6))
    if x.size // k * n > MAX_ELEMENTS:
        return False
    w = g.weight([k, n], scale=1 / math.sqrt(k))
    g.node("MatMul", [x.name, w], [(*x.shape[:-1], n)] if x.rank > 1 else [(n,)])
    return True


def _gemm(g: _Graph, x: Value) -> bool:
    if x.rank != 2:
        return False
    m, k = x.shape
    n = g.draw(st.integers(1, 6))
    trans_b = g.draw(st.integers(0, 1))
    w = g.weight([n, k] if trans_b else [k, n], scale=1 / math.sqrt(k))
    inputs = [x.name, w]
    if g.draw(st.booleans()):
        inputs.append(g.weight(g.draw(st.sampled_from([[n], [1, n], [m, n]]))))
    alpha = g.draw(st.sampled_from([1.0, 0.5]))
    g.node("Gemm", inputs, [(m, n)], transB=trans_b, alpha=alpha, beta=1.0)
    return True


def _conv(g: _Graph, x: Value) -> bool:
    if x.rank != 4:
        return False
    n, c, h, w = x.shape
    kernel = g.draw(st.integers(1, 3))
    pad = g.draw(st.integers(0, 1))
    stride = g.draw(st.integers(1, 2))
    if kernel > h + 2 * pad or kernel > w + 2 * pad:
        return False
    depthwise = c > 1 and g.draw(st.booleans())
    out_channels = c * g.draw(st.integers(1, 2)) if depthwise else g.draw(st.integers(1, 4))
    group = c if depthwise else 1
    out = [(d + 2 * pad - kernel) // stride + 1 for d in (h, w)]
    if n * out_channels * out[0] * out[1] > MAX_ELEMENTS:
        return False
    fan_in = c // group * kernel * kernel
    inputs = [x.name, g.weight([out_channels, c // group, kernel, kernel], 1 / math.sqrt(fan_in))]
    if g.draw(st.booleans()):
        inputs.append(g.weight([out_channels]))
    g.node(
        "Conv",
        inputs,
        [(n, out_channels, *out)],
        kernel_shape=[kernel, kernel],
        pads=[pad] * 4,
        strides=[stride] * 2,
        group=group,
    )
    return True


def _channel_affine(g: _Graph, y: Value) -> None:
    """
    Sometimes a per-channel affine node right after a Conv or Gemm: an inference
    BatchNormalization, or a Mul or Add by a constant of shape (C, 1, ...) (what
    `fold-batchnorm` folds into the producer's weights).
    """
    kind = g.draw(st.sampled_from(["bn", "mul", "add", "none"]))
    c = y.shape[1]
    if kind == "bn":
        inputs = [y.name, g.weight([c]), g.weight([c]), g.weight([c]), g.weight([c], 2.0, 0.5)]
        g.node("BatchNormalization", inputs, [y.shape], epsilon=1e-5)
    elif kind != "none":
        constant = g.weight([c] + [1] * (y.rank - 2))
        op_type = "Mul" if kind == "mul" else "Add"
        operands = [y.name, constant] if g.draw(st.booleans()) else [constant, y.name]
        g.node(op_type, operands, [y.shape])


def _pool(g: _Graph, x: Value) -> bool:
    if x.rank != 4:
        return False
    op = g.draw(st.sampled_from(["MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"]))
    if op.startswith("Global"):
        g.node(op, [x.name], [(*x.shape[:2], 1, 1)])
        return True
    kernel = g.draw(st.integers(1, 3))
    if kernel > min(x.shape[2:]):
        return False
    pad = g.draw(st.integers(0, kernel // 2))
    stride = g.draw(st.integers(1, 2))
    out = [(d + 2 * pad - kernel) // stride + 1 for d in x.shape[2:]]
    attributes: dict[str, object] = {
        "kernel_shape": [kernel, kernel],
        "pads": [pad] * 4,
        "strides": [stride] * 2,
    }
    if op == "AveragePool":
        attributes["count_include_pad"] = g.draw(st.integers(0, 1))
    g.node(op, [x.name], [(*x.shape[:2], *out)], **attributes)
    return True


def _concat(g: _Graph, x: Value) -> bool:
    if x.rank == 0:
        return False
    axis = g.draw(st.integers(-x.rank, x.rank - 1))
    a = axis % x.rank

    def fits(v: Value) -> bool:
        return v.rank == x.rank and all(
            d == e for i, (d, e) in enumerate(zip(v.shape, x.shape, strict=True)) if i != a
        )

    operands = [x]
    for _ in range(g.draw(st.integers(1, 2))):
        other = g.pick(fits)
        operands.append(other if other is not None else x)
    total = sum(v.shape[a] for v in operands)
    shape = (*x.shape[:a], total, *x.shape[a + 1 :])
    if math.prod(shape) > MAX_ELEMENTS:
        return False
    g.node("Concat", [v.name for v in operands], [shape], axis=axis)
    return True


def _split(g: _Graph, x: Value) -> bool:
    axes = [a for a, d in enumerate(x.shape) if d >= 2]
    if not axes:
        return False
    axis = g.draw(st.sampled_from(axes))
    dim = x.shape[axis]
    cut = sorted(set(g.draw(st.lists(st.integers(1, dim - 1), min_size=1, max_size=2))))
    sizes = [b - a for a, b in zip([0, *cut], [*cut, dim], strict=True)]
    shapes = [(*x.shape[:axis], s, *x.shape[axis + 1 :]) for s in sizes]
    g.node("Split", [x.name, g.ints(sizes)], shapes, axis=axis)
    return True


def _factor_shape(g: _Graph, size: int) -> list[int]:
    """A random shape with `size` elements and rank 1 to 4."""
    shape: list[int] = []
    rest = size
    for _ in range(g.draw(st.integers(0, 3))):
        divisors = [d for d in range(1, rest + 1) if rest % d == 0]
        d = g.draw(st.sampled_from(divisors))
        shape.append(d)
        rest //= d
    shape.append(rest)
    return shape


def _reshape(g: _Graph, x: Value) -> bool:
    shape = _factor_shape(g, x.size)
    spec = list(shape)
    if g.draw(st.booleans()):
        spec[g.draw(st.integers(0, len(spec) - 1))] = -1
    if g.draw(st.booleans()):
        # A computed shape: Shape of a value with these dimensions (fold-constants' work).
        same = g.pick(lambda v: list(v.shape) == shape)
        if same is not None:
            g.node("Reshape", [x.name, g.hidden("Shape", [same.name])], [shape])
            return True
    g.node("Reshape", [x.name, g.ints(spec)], [shape])
    return True


def _flatten(g: _Graph, x: Value) -> bool:
    axis = g.draw(st.integers(0, x.rank))
    outer = math.prod(x.shape[:axis])
    g.node("Flatten", [x.name], [(outer, x.size // outer)], axis=axis)
    return True


def _transpose(g: _Graph, x: Value) -> bool:
    if x.rank < 2:
        return False
    perm = g.draw(st.permutations(range(x.rank)))
    g.node("Transpose", [x.name], [tuple(x.shape[p] for p in perm)], perm=list(perm))
    return True


def _squeeze(g: _Graph, x: Value) -> bool:
    if x.rank >= 4 or g.draw(st.booleans()):
        ones = [a for a, d in enumerate(x.shape) if d == 1]
        if not ones:
            return False
        axis = g.draw(st.sampled_from(ones))
        shape = x.shape[:axis] + x.shape[axis + 1 :]
        g.node(
            "Squeeze", [x.name, g.ints([axis - x.rank if g.draw(st.booleans()) else axis])], [shape]
        )
        return True
    axis = g.draw(st.integers(-(x.rank + 1), x.rank))
    a = axis % (x.rank + 1)
    g.node("Unsqueeze", [x.name, g.ints([axis])], [(*x.shape[:a], 1, *x.shape[a:])])
    return True


def _reduce(g: _Graph, x: Value) -> bool:
    if x.rank == 0:
        return False
    op = g.draw(st.sampled_from(REDUCE))
    axes = sorted(g.draw(st.sets(st.integers(0, x.rank - 1), min_size=1, max_size=x.rank)))
    keepdims = g.draw(st.integers(0, 1))
    shape = (
        [1 if a in axes else d for a, d in enumerate(x.shape)]
        if keepdims
        else [d for a, d in enumerate(x.shape) if a not in axes]
    )
    written = [a - x.rank if g.draw(st.booleans()) else a for a in axes]
    if op == "ReduceSum":
        g.node(op, [x.name, g.ints(written)], [shape], keepdims=keepdims)
    else:
        g.node(op, [x.name], [shape], axes=written, keepdims=keepdims)
    return True


def _softmax(g: _Graph, x: Value) -> bool:
    if x.rank == 0:
        return False
    op = g.draw(st.sampled_from(["Softmax", "LogSoftmax"]))
    g.node(op, [x.name], [x.shape], axis=g.draw(st.integers(-x.rank, x.rank - 1)))
    return True


def _slice(g: _Graph, x: Value) -> bool:
    if x.rank == 0:
        return False
    axis = g.draw(st.integers(0, x.rank - 1))
    dim = x.shape[axis]
    step = g.draw(st.sampled_from([1, 1, 2, -1, -2]))
    start = g.draw(st.integers(-dim - 1, dim + 1))
    end = g.draw(st.integers(-dim - 1, dim + 1))
    if step < 0:
        start, end = max(start, end), min(start, end)
    else:
        start, end = min(start, end), max(start, end)
    length = len(range(dim)[slice(start, end, step)])
    if length == 0:
        return False
    shape = (*x.shape[:axis], length, *x.shape[axis + 1 :])
    inputs = [x.name, g.ints([start]), g.ints([end]), g.ints([axis]), g.ints([step])]
    g.node("Slice", inputs, [shape])
    return True


def _normalize(g: _Graph, x: Value) -> bool:
    if x.rank < 2:
        return False
    if g.draw(st.booleans()):
        c = x.shape[1]
        inputs = [x.name, g.weight([c]), g.weight([c]), g.weight([c]), g.weight([c], 2.0, 0.5)]
        g.node("BatchNormalization", inputs, [x.shape], epsilon=1e-5)
        return True
    axis = g.draw(st.integers(-x.rank, x.rank - 1))
    inner = x.shape[axis % x.rank :]
    inputs = [x.name, g.weight(inner)]
    if g.draw(st.booleans()):
        inputs.append(g.weight(inner))
    g.node("LayerNormalization", inputs, [x.shape], axis=axis, epsilon=1e-5)
    return True


def _expand(g: _Graph, x: Value) -> bool:
    shape = [d if d != 1 else g.draw(st.integers(1, 3)) for d in x.shape]
    if x.rank < 3 and g.draw(st.booleans()):
        shape.insert(0, g.draw(st.integers(1, 3)))
    if math.prod(shape) > MAX_ELEMENTS:
        return False
    g.node("Expand", [x.name, g.ints(shape)], [shape])
    return True


def _gather(g: _Graph, x: Value) -> bool:
    if x.rank == 0:
        return False
    axis = g.draw(st.integers(0, x.rank - 1))
    dim = x.shape[axis]
    index_shape = g.draw(st.sampled_from([(), (1,), (2,), (2, 2)]))
    indices = g.rng.integers(-dim, dim, size=index_shape)
    shape = (*x.shape[:axis], *index_shape, *x.shape[axis + 1 :])
    if math.prod(shape) > MAX_ELEMENTS:
        return False
    g.node("Gather", [x.name, g.tensor(np.asarray(indices, dtype=np.int64))], [shape], axis=axis)
    return True


def _cast_round_trip(g: _Graph, x: Value) -> bool:
    wide = g.hidden("Cast", [x.name], to=TensorProto.DOUBLE)
    tanh = g.hidden("Tanh", [wide])
    g.node("Cast", [tanh], [x.shape], to=TensorProto.FLOAT)
    return True


OPERATORS: dict[str, Callable[[_Graph, Value], bool]] = {
    "unary": _unary,
    "unit-interval": _on_unit_interval,
    "binary": _binary,
    "where": _where,
    "clip": _clip,
    "matmul": _matmul,
    "gemm": _gemm,
    "conv": _conv,
    "pool": _pool,
    "concat": _concat,
    "split": _split,
    "reshape": _reshape,
    "flatten": _flatten,
    "transpose": _transpose,
    "squeeze": _squeeze,
    "reduce": _reduce,
    "softmax": _softmax,
    "slice": _slice,
    "normalize": _normalize,
    "expand": _expand,
    "gather": _gather,
    "cast": _cast_round_trip,
}
"""The kinds of node a graph is drawn from (each a function that may decline an operand)."""


# The model ------------------------------------------------------------------------


def _input_shape(draw: DrawFn, base: tuple[int, ...]) -> tuple[int, ...]:
    """`base`, or a variant of it that broadcasts with it (some dimensions 1, fewer dimensions)."""
    if draw(st.booleans()):
        return base
    drop = draw(st.integers(0, len(base)))
    return tuple(d if draw(st.booleans()) else 1 for d in base[drop:])


@st.composite
def onnx_examples(draw: DrawFn, max_nodes: int = 10) -> Example:
    """A valid ONNX model (opset 17, static shapes) of supported operators, and inputs for it."""
    rank = draw(st.sampled_from([1, 2, 2, 3, 4, 4]))
    base = tuple(draw(st.lists(st.integers(1, 5), min_size=rank, max_size=rank)))
    while math.prod(base) > MAX_ELEMENTS // 2:
        base = base[1:]
    inputs = [
        Value(f"in{i}", base if i == 0 else _input_shape(draw, base))
        for i in range(draw(st.integers(1, 3)))
    ]
    graph = _Graph(draw, inputs, list(inputs))
    graph.rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    graph.names.update(v.name for v in inputs)
    kinds = sorted(OPERATORS)
    # Hypothesis favours small numbers; the larger of two draws favours graphs with forks.
    count = max(draw(st.integers(1, max_nodes)), draw(st.integers(1, max_nodes)))
    for _ in range(count):
        x = graph.pick()
        assert x is not None
        # Images are rare after a few nodes: give convolutions and pools their chance.
        image = x.rank == 4 and draw(st.booleans())
        kind = draw(st.sampled_from(["conv", "pool"] if image else kinds))
        if not OPERATORS[kind](graph, x):
            _unary(graph, x)
    return _example(draw, graph)


@st.composite
def affine_chain_examples(draw: DrawFn) -> Example:
    """
    A Conv (on an image) or Gemm, or an elementwise node, followed by one to three
    per-channel affine nodes (BatchNormalization, Mul, Add), sometimes with a node also
    read elsewhere: the graphs `fold-batchnorm` rewrites (into the Conv or Gemm, or
    into a BatchNormalization after the elementwise node), and the ones it must leave
    alone.
    """
    image = draw(st.booleans())
    dims = st.integers(1, 4)
    shape = tuple(draw(st.lists(dims, min_size=4 if image else 2, max_size=4 if image else 2)))
    graph = _Graph(draw, [Value("in0", shape)], [Value("in0", shape)])
    graph.rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    graph.names.add("in0")
    elementwise = draw(st.integers(0, 3)) == 0
    if elementwise or not (_conv if image else _gemm)(graph, graph.values[0]):
        _unary(graph, graph.values[0])
    for _ in range(draw(st.integers(1, 3))):
        last = graph.values[-1]
        if last.rank >= 2:
            _channel_affine(graph, last)
    if draw(st.booleans()):
        _unary(graph, graph.values[draw(st.integers(1, len(graph.values) - 1))])
    return _example(draw, graph)


def _example(draw: DrawFn, graph: _Graph) -> Example:
    """The drawn graph as a checked ONNX model, with random inputs for it."""
    inputs = graph.inputs
    produced = [v for v in graph.values if v not in inputs]
    outputs = [v for v in produced if v.name not in graph.read]
    outputs += [v for v in produced if v.name in graph.read and draw(st.integers(0, 5)) == 0]
    model = helper.make_model(
        helper.make_graph(
            graph.nodes,
            "random",
            [helper.make_tensor_value_info(v.name, TensorProto.FLOAT, v.shape) for v in inputs],
            [helper.make_tensor_value_info(v.name, TensorProto.FLOAT, v.shape) for v in outputs],
            graph.initializers,
        ),
        opset_imports=[helper.make_opsetid("", OPSET)],
    )
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    data = [graph.rng.standard_normal(v.shape).astype(np.float32) for v in inputs]
    return Example(model, data)
