"""
One-node (or few-node) ONNX graphs for the data-movement, element-wise, reduction
and normalization lowerings, compiled with `dce` and compared with ONNX Runtime.

The cases cover the opset differences (axes and sizes as attributes or inputs),
ONNX's index conventions (negative and clamped Slice bounds, negative steps,
negative Gather indices) and the type rules (integer Div truncates, Pow keeps the
base type, Cast between all supported types).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from ramiel_mlir.api import CompiledModel, compile_onnx
from ramiel_mlir.diagnostics import RamielError

RNG = np.random.default_rng(0)
INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


def floats(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def ints(*values: int) -> np.ndarray:
    return np.array(values, np.int64)


@dataclass
class Case:
    """A graph: its nodes, run-time inputs, initializers, output element types, opset."""

    nodes: list[onnx.NodeProto]
    inputs: dict[str, np.ndarray]
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    outputs: dict[str, int] = field(default_factory=lambda: {"y": TensorProto.FLOAT})
    opset: int = 18

    def model(self) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes,
            "case",
            [
                helper.make_tensor_value_info(
                    name, helper.np_dtype_to_tensor_dtype(value.dtype), value.shape
                )
                for name, value in self.inputs.items()
            ],
            [helper.make_tensor_value_info(name, t, None) for name, t in self.outputs.items()],
            [numpy_helper.from_array(value, name) for name, value in self.weights.items()],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)])
        model.ir_version = 8
        # Output shapes come from shape inference rather than from each case.
        return onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)


def node(
    op_type: str, inputs: Sequence[str], outputs: Sequence[str] = ("y",), **attrs: object
) -> onnx.NodeProto:
    """A node named after its op type (lower case)."""
    proto = helper.make_node(op_type, list(inputs), list(outputs), name=op_type.lower())
    proto.attribute.extend(helper.make_attribute(k, v) for k, v in attrs.items())
    return proto


def compile_case(case: Case, directory: Path) -> CompiledModel:
    return compile_onnx(case.model(), "dce", directory)


def check(case: Case, directory: Path) -> str:
    """Compile the case, compare every output with ONNX Runtime, return the source."""
    model = case.model()
    compiled = compile_onnx(model, "dce", directory)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    expected = session.run(None, case.inputs)
    with torch.no_grad():
        actual = compiled.load()(*(torch.from_numpy(v) for v in case.inputs.values()))
    if isinstance(actual, torch.Tensor):
        actual = (actual,)
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        e = np.asarray(e)
        result = a.numpy()
        assert result.dtype == e.dtype
        assert result.shape == e.shape
        if e.dtype.kind == "f":
            scale = max(float(np.abs(e).max(initial=0.0)), 1e-30)
            assert np.abs(result - e).max(initial=0.0) <= 1e-5 * scale
        else:
            np.testing.assert_array_equal(result, e)
    return compiled.source


SLICE_CASES = {
    # opset 9: bounds as attributes, clamped and negative.
    "attrs": Case(
        [node("Slice", ["x"], starts=[1, -4], ends=[-1, 1000], axes=[0, 2])],
        {"x": floats(4, 3, 5)},
        opset=9,
    ),
    "steps": Case(
        [node("Slice", ["x", "s", "e", "a", "st"])],
        {"x": floats(4, 3, 10)},
        {"s": ints(1, 0), "e": ints(INT64_MAX, 9), "a": ints(-1, 0), "st": ints(3, 2)},
    ),
    "negative_steps": Case(
        [node("Slice", ["x", "s", "e", "a", "st"])],
        {"x": floats(6, 7)},
        {"s": ints(-1, 5), "e": ints(INT64_MIN, 1), "a": ints(0, 1), "st": ints(-1, -2)},
    ),
    "start_beyond_end": Case(
        [node("Slice", ["x", "s", "e"])],
        {"x": floats(5, 4)},
        {"s": ints(100), "e": ints(-100)},
    ),
    "no_axes_empty": Case(
        [node("Slice", ["x", "s", "e"])],
        {"x": floats(5, 4)},
        {"s": ints(3, 0), "e": ints(2, 4)},
    ),
    # Bounds from Constant nodes, as the TorchScript exporter writes them.
    "constant_bounds": Case(
        [
            node("Constant", [], ["start"], value_ints=[-3]),
            node("Constant", [], ["end"], value=numpy_helper.from_array(ints(INT64_MAX))),
            node("Constant", [], ["axes"], value_ints=[1]),
            node("Slice", ["x", "start", "end", "axes"]),
        ],
        {"x": floats(2, 8)},
    ),
    # A shape computed from the input's shape, as exporters write `view(b, -1)`.
    "shape_chain_reshape": Case(
        [
            node("Shape", ["x"], ["shape"]),
            node("Gather", ["shape", "zero"], ["batch"], axis=0),
            node("Unsqueeze", ["batch", "zero"], ["batch1"]),
            node("Concat", ["batch1", "minus_one"], ["target"], axis=0),
            node("Reshape", ["x", "target"], ["r"]),
            node("Slice", ["r", "start", "two", "one"]),
        ],
        {"x": floats(3, 2, 4)},
        {
            "zero": np.array(0, np.int64),
            "start": ints(0),
            "one": ints(1),
            "two": ints(2),
            "minus_one": ints(-1),
        },
    ),
}


@pytest.mark.parametrize("case", SLICE_CASES.values(), ids=SLICE_CASES.keys())
def test_slice(case: Case, tmp_path: Path) -> None:
    check(case, tmp_path)


def test_slice_prints_python_slices(tmp_path: Path) -> None:
    assert "x[::2, :, 1::3]" in check(SLICE_CASES["steps"], tmp_path)
    assert "x.flip([0, 1])[:, 1:5:2]" in check(SLICE_CASES["negative_steps"], tmp_path)
    assert "x[:, 5:]" in check(SLICE_CASES["constant_bounds"], tmp_path / "constant")
    chain = check(SLICE_CASES["shape_chain_reshape"], tmp_path / "chain")
    assert "reshape([3, 8])" in chain
    assert "r[:, :2]" in chain
    for op_type in ("Shape", "Gather", "Unsqueeze", "Concat"):
        assert f"({op_type})" not in chain


SPLIT_CASES = {
    "attr_sizes": Case(
        [node("Split", ["x"], ["y", "z"], axis=1, split=[1, 3])],
        {"x": floats(2, 4)},
        outputs={"y": TensorProto.FLOAT, "z": TensorProto.FLOAT},
        opset=11,
    ),
    "input_sizes": Case(
        [node("Split", ["x", "sizes"], ["y", "z", "w"], axis=-1)],
        {"x": floats(2, 7)},
        {"sizes": ints(2, 2, 3)},
        outputs={"y": TensorProto.FLOAT, "z": TensorProto.FLOAT, "w": TensorProto.FLOAT},
        opset=13,
    ),
    "num_outputs_uneven": Case(
        [node("Split", ["x"], ["y", "z", "w"], axis=0, num_outputs=3)],
        {"x": floats(7, 2)},
        outputs={"y": TensorProto.FLOAT, "z": TensorProto.FLOAT, "w": TensorProto.FLOAT},
    ),
    "equal": Case(
        [node("Split", ["x"], ["y", "z"], axis=1)],
        {"x": floats(3, 6)},
        outputs={"y": TensorProto.FLOAT, "z": TensorProto.FLOAT},
        opset=13,
    ),
}


@pytest.mark.parametrize("case", SPLIT_CASES.values(), ids=SPLIT_CASES.keys())
def test_split(case: Case, tmp_path: Path) -> None:
    check(case, tmp_path)


SQUEEZE_CASES = {
    "unsqueeze_attr": Case([node("Unsqueeze", ["x"], axes=[-1, 0])], {"x": floats(3, 4)}, opset=11),
    "unsqueeze_input": Case(
        [node("Unsqueeze", ["x", "axes"])], {"x": floats(3, 4)}, {"axes": ints(1)}, opset=13
    ),
    "squeeze_attr": Case([node("Squeeze", ["x"], axes=[-2])], {"x": floats(3, 1, 4)}, opset=11),
    "squeeze_input": Case(
        [node("Squeeze", ["x", "axes"])], {"x": floats(1, 3, 1)}, {"axes": ints(0, 2)}, opset=13
    ),
    "squeeze_all": Case([node("Squeeze", ["x"])], {"x": floats(1, 3, 1, 2)}, opset=13),
    "flatten": Case([node("Flatten", ["x"], axis=2)], {"x": floats(2, 3, 4, 5)}),
    "reshape": Case(
        [node("Reshape", ["x", "shape"])], {"x": floats(2, 3, 4)}, {"shape": ints(0, -1)}
    ),
    "transpose": Case([node("Transpose", ["x"], perm=[2, 0, 1])], {"x": floats(2, 3, 4)}),
    "expand": Case([node("Expand", ["x", "shape"])], {"x": floats(3, 1)}, {"shape": ints(2, 1, 4)}),
    "expand_two_way": Case(
        [node("Expand", ["x", "shape"])], {"x": floats(3, 4)}, {"shape": ints(1, 1)}
    ),
    "concat": Case([node("Concat", ["x", "w"], axis=-2)], {"x": floats(2, 3)}, {"w": floats(1, 3)}),
}


@pytest.mark.parametrize("case", SQUEEZE_CASES.values(), ids=SQUEEZE_CASES.keys())
def test_shape_ops(case: Case, tmp_path: Path) -> None:
    check(case, tmp_path)


def _gather(indices: np.ndarray, axis: int, computed: bool = False) -> Case:
    inputs = {"x": floats(4, 5, 3)}
    weights = {}
    (inputs if computed else weights)["i"] = indices
    return Case([node("Gather", ["x", "i"], axis=axis)], inputs, weights)


GATHER_CASES = {
    "scalar": _gather(np.array(-1, np.int64), 1),
    "list": _gather(ints(0, -1, 2), -1),
    "matrix": _gather(np.array([[0, -4], [3, 1]], np.int64), 0),
    "computed": _gather(np.array([[2, -1, 0]], np.int64), 1, computed=True),
    "int32": _gather(np.array([1, -2], np.int32), 2),
}


@pytest.mark.parametrize("case", GATHER_CASES.values(), ids=GATHER_CASES.keys())
def test_gather(case: Case, tmp_path: Path) -> None:
    check(case, tmp_path)


def test_gather_prints_plain_indices(tmp_path: Path) -> None:
    assert "x[:, 4]" in check(GATHER_CASES["scalar"], tmp_path)
    assert "x[:, :, [0, 2, 2]]" in check(GATHER_CASES["list"], tmp_path)


def test_gather_out_of_range(tmp_path: Path) -> None:
    with pytest.raises(RamielError, match=r"node 'gather' \(Gather\): indices \[5\] are out"):
        compile_case(_gather(ints(5), 1), tmp_path)


INT_TYPES = {np.dtype(np.int32): TensorProto.INT32, np.dtype(np.int64): TensorProto.INT64}


def _binary(op_type: str, a: np.ndarray, b: np.ndarray, out: int, weight: str = "") -> Case:
    """`op_type(a, b)`; the input named by `weight` is an initializer."""
    inputs = {name: v for name, v in (("a", a), ("b", b)) if name != weight}
    weights = {name: v for name, v in (("a", a), ("b", b)) if name == weight}
    return Case([node(op_type, ["a", "b"])], inputs, weights, outputs={"y": out})


ELEMENTWISE_CASES = {
    "div_int_truncates": _binary(
        "Div",
        np.array([7, -7, 7, -7, 0], np.int32),
        np.array([2, 2, -2, -2, 3], np.int32),
        TensorProto.INT32,
    ),
    "div_int_scalar": _binary(
        "Div", np.array([-9, 9, -1], np.int64), np.array(4, np.int64), TensorProto.INT64, "b"
    ),
    "div_float_scalar": _binary(
        "Div", floats(3, 4), np.array([4.898979663848877], np.float32), TensorProto.FLOAT, "b"
    ),
    "pow_int_exponent": _binary(
        "Pow", floats(3, 4), np.array([2, 3, 1, 0], np.int64), TensorProto.FLOAT
    ),
    "pow_float_scalar": _binary(
        "Pow", np.abs(floats(3, 4)), np.array(0.5, np.float32), TensorProto.FLOAT, "b"
    ),
    "pow_int_int": _binary(
        "Pow", np.array([2, -3, 4], np.int32), np.array([3, 3, 2], np.int32), TensorProto.INT32
    ),
    "pow_int32_int64": _binary(
        "Pow", np.array([2, -3, 4], np.int32), np.array([3, 3, 2], np.int64), TensorProto.INT32
    ),
    "equal_int": _binary(
        "Equal", np.array([1, 2, 3], np.int64), np.array(2, np.int64), TensorProto.BOOL, "b"
    ),
    "less_scalar_left": _binary(
        "Less", np.array(0.0, np.float32), floats(2, 3), TensorProto.BOOL, "a"
    ),
    "greater_broadcast": _binary("Greater", floats(2, 1), floats(3), TensorProto.BOOL),
    "sub_scalar_left": _binary(
        "Sub", np.array(1.5, np.float32), floats(2, 3), TensorProto.FLOAT, "a"
    ),
    "add_one_element_to_scalar": _binary(
        "Add", np.array(1.0, np.float32), np.array([2.5], np.float32), TensorProto.FLOAT, "b"
    ),
    "where_scalar_branch": Case(
        [node("Greater", ["x", "zero"], ["c"]), node("Where", ["c", "x", "low"])],
        {"x": floats(2, 3)},
        {"zero": np.array(0.0, np.float32), "low": np.array(np.finfo(np.float32).min)},
    ),
    "where_broadcast": Case(
        [node("Where", ["c", "x", "w"])],
        {"c": RNG.standard_normal((3, 1)) > 0, "x": floats(1, 4)},
        {"w": floats(3, 4)},
    ),
    "clip_attrs": Case([node("Clip", ["x"], min=-0.5, max=0.5)], {"x": floats(3, 4)}, opset=6),
    "clip_min_only": Case(
        [node("Clip", ["x", "lo"])], {"x": floats(3, 4)}, {"lo": np.array(0.1, np.float32)}
    ),
    "clip_max_only_int": Case(
        [node("Clip", ["x", "", "hi"])],
        {"x": np.arange(-5, 5, dtype=np.int64)},
        {"hi": np.array(2, np.int64)},
        outputs={"y": TensorProto.INT64},
    ),
    "clip_computed_bounds": Case(
        [node("ReduceMin", ["x"], ["lo"], keepdims=0), node("Clip", ["x", "lo", "hi"])],
        {"x": floats(3, 4), "hi": np.array(0.2, np.float32)},
    ),
    "gelu": Case([node("Gelu", ["x"])], {"x": floats(3, 4)}, opset=20),
    "gelu_tanh": Case([node("Gelu", ["x"], approximate="tanh")], {"x": floats(3, 4)}, opset=20),
    "erf": Case([node("Erf", ["x"])], {"x": floats(3, 4)}),
    "sqrt_neg": Case([node("Neg", ["x"], ["n"]), node("Sqrt", ["n"])], {"x": -np.abs(floats(5))}),
}


@pytest.mark.parametrize("case", ELEMENTWISE_CASES.values(), ids=ELEMENTWISE_CASES.keys())
def test_elementwise(case: Case, tmp_path: Path) -> None:
    check(case, tmp_path)


def test_numbers_are_plain(tmp_path: Path) -> None:
    assert "torch.div(a, 4.8989797)" in check(ELEMENTWISE_CASES["div_float_scalar"], tmp_path)
    assert "torch.gt(b, 0.0)" in check(ELEMENTWISE_CASES["less_scalar_left"], tmp_path)
    assert "torch.finfo(torch.float32).min" in check(
        ELEMENTWISE_CASES["where_scalar_branch"], tmp_path
    )


def test_pow_integer_base_float_exponent(tmp_path: Path) -> None:
    """Computed in float64, then truncated to the base's type (1.41 -> 1, 11.18 -> 11)."""
    case = _binary(
        "Pow",
        np.array([2, 3, 5, 10], np.int32),
        np.array([0.5, 2.0, 1.5, -1.0], np.float32),
        TensorProto.INT32,
    )
    check(case, tmp_path)


CAST_TARGETS = {
    "float32": TensorProto.FLOAT,
    "float64": TensorProto.DOUBLE,
    "float16": TensorProto.FLOAT16,
    "int8": TensorProto.INT8,
    "int16": TensorProto.INT16,
    "int32": TensorProto.INT32,
    "int64": TensorProto.INT64,
    "uint8": TensorProto.UINT8,
    "bool": TensorProto.BOOL,
}

CAST_SOURCES = {
    "float32": np.array([-2.7, -0.5, 0.0, 0.4, 3.9, 100.2], np.float32),
    "float64": np.array([-2.7, -0.5, 0.0, 0.4, 3.9, 100.2], np.float64),
    "int64": np.array([-3, 0, 1, 7, 100, 127], np.int64),
    "bool": np.array([True, False, True, True, False, False]),
    "uint8": np.array([0, 1, 2, 100, 200, 255], np.uint8),
}


@pytest.mark.parametrize("source", CAST_SOURCES)
@pytest.mark.parametrize("target", CAST_TARGETS)
def test_cast(source: str, target: str, tmp_path: Path) -> None:
    x = CAST_SOURCES[source]
    if target == "uint8" and x.dtype.kind in "if":
        x = np.abs(x)  # negative to unsigned is implementation-defined
    if target in ("int8", "uint8") and source == "uint8":
        x = x % 100
    to = CAST_TARGETS[target]
    check(Case([node("Cast", ["x"], to=to)], {"x": x}, outputs={"y": to}), tmp_path)


def _reduce(op_type: str, opset: int, axes: list[int] | None, as_input: bool, **attrs) -> Case:
    x = floats(3, 4, 5) if op_type != "ReduceProd" else 1 + floats(3, 4, 5) / 4
    if op_type in ("ReduceLogSum",):
        x = np.abs(x) + 0.1
    if axes is not None and not as_input:
        attrs["axes"] = axes
    inputs = ["x", "axes"] if axes is not None and as_input else ["x"]
    weights = {"axes": ints(*axes)} if axes is not None and as_input else {}
    return Case([node(op_type, inputs, **attrs)], {"x": x}, weights, opset=opset)


REDUCE_CASES = {
    "mean_attr": _reduce("ReduceMean", 13, [-1], False, keepdims=0),
    "mean_input": _reduce("ReduceMean", 18, [0, -1], True),
    "sum_input_13": _reduce("ReduceSum", 13, [1], True, keepdims=0),
    "sum_attr_11": _reduce("ReduceSum", 11, [0, 2], False),
    "sum_all": _reduce("ReduceSum", 13, None, False, keepdims=0),
    "sum_noop": _reduce("ReduceSum", 13, None, False, noop_with_empty_axes=1),
    "max": _reduce("ReduceMax", 18, [1, 2], True),
    "min": _reduce("ReduceMin", 13, [0], False, keepdims=0),
    "prod": _reduce("ReduceProd", 18, [0, 2], True),
    "l1": _reduce("ReduceL1", 18, [1], True),
    "l2": _reduce("ReduceL2", 18, [2], True, keepdims=0),
    "sum_square": _reduce("ReduceSumSquare", 18, [0], True),
    "log_sum": _reduce("ReduceLogSum", 18, [1], True),
    "log_sum_exp": _reduce("ReduceLogSumExp", 18, [-1], True),
    "sum_int32": Case(
        [node("ReduceSum", ["x", "axes"], keepdims=0)],
        {"x": np.arange(24, dtype=np.int32).reshape(2, 3, 4)},
        {"axes": ints(1)},
        outputs={"y": TensorProto.INT32},
        opset=13,
    ),
}


@pytest.mark.parametrize("case", REDUCE_CASES.values(), ids=REDUCE_CASES.keys())
def test_reduce(case: Case, tmp_path: Path) -> None:
    check(case, tmp_path)


CONSTANT_CASES = {
    "value": Case(
        [
            node("Constant", [], ["c"], value=numpy_helper.from_array(floats(2, 3))),
            node("Add", ["x", "c"]),
        ],
        {"x": floats(2, 3)},
    ),
    "value_float": Case(
        [node("Constant", [], ["c"], value_float=0.25), node("Mul", ["x", "c"])],
        {"x": floats(2, 3)},
    ),
    "value_floats": Case(
        [node("Constant", [], ["c"], value_floats=[1.0, -2.0, 0.5]), node("Mul", ["x", "c"])],
        {"x": floats(2, 3)},
    ),
    "value_ints": Case(
        [node("Constant", [], ["c"], value_ints=list(range(20))), node("Add", ["x", "c"])],
        {"x": np.arange(20, dtype=np.int64)},
        outputs={"y": TensorProto.INT64},
    ),
    "value_int": Case(
        [node("Constant", [], ["c"], value_int=-3), node("Sub", ["x", "c"])],
        {"x": np.arange(4, dtype=np.int64)},
        outputs={"y": TensorProto.INT64},
    ),
    "constant_of_shape": Case(
        [
            node("Shape", ["x"], ["s"]),
            node(
                "ConstantOfShape",
                ["s"],
                ["c"],
                value=numpy_helper.from_array(np.array([7], np.int64)),
            ),
            node("Add", ["x", "c"]),
        ],
        {"x": np.arange(12, dtype=np.int64).reshape(3, 4)},
        outputs={"y": TensorProto.INT64},
    ),
    "constant_of_shape_default": Case(
        [node("ConstantOfShape", ["s"], ["c"]), node("Add", ["x", "c"])],
        {"x": floats(5, 4)},
        {"s": ints(5, 4)},
    ),
    "shape_start_end": Case(
        [node("Shape", ["x"], start=-3, end=-1)],
        {"x": floats(2, 3, 4, 5)},
        outputs={"y": TensorProto.INT64},
    ),
    "size": Case([node("Size", ["x"])], {"x": floats(2, 3)}, outputs={"y": TensorProto.INT64}),
    "range_int": Case(
        [node("Range", ["s", "l", "d"], ["r"]), node("Add", ["x", "r"])],
        {"x": np.zeros(7, np.int64)},
        {"s": np.array(20, np.int64), "l": np.array(-1, np.int64), "d": np.array(-3, np.int64)},
        outputs={"y": TensorProto.INT64},
    ),
    "range_float": Case(
        [node("Range", ["s", "l", "d"], ["r"]), node("Add", ["x", "r"])],
        {"x": floats(23)},
        {
            "s": np.array(0.5, np.float32),
            "l": np.array(6.2, np.float32),
            "d": np.array(0.25, np.float32),
        },
    ),
    # A known value read by a lowering elsewhere (Gemm's bias) is assigned once.
    "folded_read_elsewhere": Case(
        [node("Identity", ["b"], ["bias"]), node("Gemm", ["x", "w", "bias"], transB=1)],
        {"x": floats(2, 3)},
        {"w": floats(4, 3), "b": floats(4)},
    ),
}


@pytest.mark.parametrize("case", CONSTANT_CASES.values(), ids=CONSTANT_CASES.keys())
def test_constants(case: Case, tmp_path: Path) -> None:
    check(case, tmp_path)


def test_folded_values_print_where_read(tmp_path: Path) -> None:
    source = check(CONSTANT_CASES["value_floats"], tmp_path)
    assert "torch.mul(x, torch.tensor([1.0, -2.0, 0.5]))" in source
    assert "(Constant)" not in source


MATMUL_CASES = {
    "batched_broadcast": ((2, 1, 3, 4), (5, 4, 2)),
    "vector_matrix": ((4,), (3, 4, 2)),
    "matrix_vector": ((3, 4), (4,)),
}


@pytest.mark.parametrize("shapes", MATMUL_CASES.values(), ids=MATMUL_CASES.keys())
def test_matmul(shapes: tuple[tuple[int, ...], tuple[int, ...]], tmp_path: Path) -> None:
    a, b = shapes
    check(Case([node("MatMul", ["a", "b"])], {"a": floats(*a), "b": floats(*b)}), tmp_path)


LAYER_NORM_CASES = {
    "last_axis": Case(
        [node("LayerNormalization", ["x", "s", "b"], epsilon=1e-3)],
        {"x": floats(2, 5, 8)},
        {"s": floats(8), "b": floats(8)},
        opset=17,
    ),
    "axis_1_no_bias": Case(
        [node("LayerNormalization", ["x", "s"], axis=1)],
        {"x": floats(2, 3, 4)},
        {"s": floats(3, 4)},
        opset=17,
    ),
    "broadcast_scale": Case(
        [node("LayerNormalization", ["x", "s", "b"], axis=-2)],
        {"x": floats(2, 3, 4)},
        {"s": floats(4), "b": floats(1, 4)},
        opset=17,
    ),
    "statistics": Case(
        [node("LayerNormalization", ["x", "s", "b"], ["y", "mean", "inv_std"], axis=-1)],
        {"x": floats(2, 3, 4)},
        {"s": floats(4), "b": floats(4)},
        outputs={"y": TensorProto.FLOAT, "mean": TensorProto.FLOAT, "inv_std": TensorProto.FLOAT},
        opset=17,
    ),
}


@pytest.mark.parametrize("case", LAYER_NORM_CASES.values(), ids=LAYER_NORM_CASES.keys())
def test_layer_normalization(case: Case, tmp_path: Path) -> None:
    check(case, tmp_path)


def test_an_output_printed_as_one_expression_can_have_two_readers(tmp_path: Path) -> None:
    # A negative-step Slice over a whole axis prints as one call (x.flip); its value
    # is read twice, so it must be bound to a name (found by tools/fuzz.py).
    case = Case(
        [
            node("Slice", ["x", "starts", "ends", "axes", "steps"], ["s"]),
            node("Relu", ["s"], ["y1"]),
            node("Tanh", ["s"], ["y2"]),
        ],
        {"x": floats(2, 2)},
        {"starts": ints(-1), "ends": ints(-3), "axes": ints(1), "steps": ints(-1)},
        {"y1": TensorProto.FLOAT, "y2": TensorProto.FLOAT},
    )
    assert "s = x.flip([1])" in check(case, tmp_path)


def test_reshape_to_another_element_count_is_a_compile_error(tmp_path: Path) -> None:
    case = Case([node("Reshape", ["x", "shape"])], {"x": floats(2, 3)}, {"shape": ints(7)})
    with pytest.raises(RamielError, match=r"node 'reshape' \(Reshape\): cannot reshape \[2, 3\]"):
        compile_case(case, tmp_path)


def test_log_sum_exp_over_every_axis_without_keepdims(tmp_path: Path) -> None:
    # torch's logsumexp needs its dims even over every axis (found by tools/fuzz.py).
    case = Case(
        [node("ReduceLogSumExp", ["x", "axes"], keepdims=0)],
        {"x": floats(2, 3)},
        {"axes": ints(0, 1)},
    )
    check(case, tmp_path)


def test_clip_with_one_constant_and_one_computed_bound(tmp_path: Path) -> None:
    # torch.clamp takes two numbers or two tensors, not one of each (found by tools/fuzz.py).
    case = Case(
        [node("Clip", ["v", "low", "v"])],
        {"v": floats(1)},
        {"low": np.array(-0.5, np.float32)},
    )
    check(case, tmp_path)
