"""
Element types torch lacks or barely computes with, checked against ONNX's reference.

The node suite has a handful of values per case; these run every float16 value
through the float8 and float4 casts, the edges of the unsigned types through the
ops that compute them in signed types, and MaxPool's Indices with explicit pads,
column-major storage and three spatial axes.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TypeAlias

import ml_dtypes
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from ramiel_mlir import onnx_backend
from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.tensors import (
    element_type_from_onnx,
    numpy_from_torch,
    torch_from_numpy,
)

FLOAT8 = {
    "e4m3fn": TensorProto.FLOAT8E4M3FN,
    "e4m3fnuz": TensorProto.FLOAT8E4M3FNUZ,
    "e5m2": TensorProto.FLOAT8E5M2,
    "e5m2fnuz": TensorProto.FLOAT8E5M2FNUZ,
}


Types: TypeAlias = Mapping[str, tuple[int, list[int]]]
"""Value name -> (ONNX element type, shape)."""


def _model(nodes: list[onnx.NodeProto], inputs: Types, outputs: Types) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, t, s) for n, (t, s) in inputs.items()],
        [helper.make_tensor_value_info(n, t, s) for n, (t, s) in outputs.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 25)])


def _run_both(
    model: onnx.ModelProto, feeds: dict[str, np.ndarray]
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The generated code's outputs and the reference's (which warns casting NaN and Inf)."""
    actual = list(onnx_backend.prepare(model).run(list(feeds.values())))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = ReferenceEvaluator(model).run(None, feeds)
    return actual, [np.asarray(e) for e in expected]


def _same_bits(actual: np.ndarray, expected: np.ndarray) -> None:
    """Equal bit for bit, or both NaN (formats differ in which NaN they produce)."""
    assert actual.dtype == expected.dtype
    a32, e32 = actual.astype(np.float32), expected.astype(np.float32)
    both_nan = np.isnan(a32) & np.isnan(e32)
    same = actual.view(np.uint8) == expected.view(np.uint8)
    bad = ~(both_nan | same.reshape(actual.shape))
    assert not bad.any(), f"{actual[bad][:8]} != {expected[bad][:8]} for inputs at {np.where(bad)}"


def _all_float16() -> np.ndarray:
    return np.arange(1 << 16, dtype=np.uint16).view(np.float16)


def _float32_edges() -> np.ndarray:
    """Values around every float8 maximum and rounding tie, in float32."""
    centres = np.array([448, 464, 480, 240, 248, 256, 57344, 61440, 65536, 0.5, 2**-9, 2**-10])
    steps = np.array([-1, 0, 1], np.float32)
    around = [np.nextafter(np.float32(c), np.float32(c) + s) for c in centres for s in steps]
    values = np.array(around, np.float32)
    return np.concatenate([values, -values, [np.inf, -np.inf, np.nan, 0.0, -0.0]]).astype(
        np.float32
    )


@pytest.mark.parametrize("source", ["float16", "float32"])
def test_cast_to_float8_both_saturate_modes(source: str) -> None:
    """Every float16 value (and float32 edges) to each float8 type, saturate 1 and 0."""
    x = _all_float16() if source == "float16" else _float32_edges()
    elem = TensorProto.FLOAT16 if source == "float16" else TensorProto.FLOAT
    nodes: list[onnx.NodeProto] = []
    outputs: dict[str, tuple[int, list[int]]] = {}
    for name, to in FLOAT8.items():
        for saturate in (0, 1):
            out = f"{name}_{saturate}"
            nodes.append(helper.make_node("Cast", ["x"], [out], to=to, saturate=saturate))
            outputs[out] = (to, [x.size])
    actual, expected = _run_both(_model(nodes, {"x": (elem, [x.size])}, outputs), {"x": x})
    for a, e in zip(actual, expected, strict=True):
        _same_bits(a, e)


def test_cast_float64_to_float8_is_an_error() -> None:
    """Torch rounds float64 through float32 (twice): refused rather than approximated."""
    node = helper.make_node("Cast", ["x"], ["y"], to=TensorProto.FLOAT8E4M3FN)
    model = _model([node], {"x": (TensorProto.DOUBLE, [3])}, {"y": (TensorProto.FLOAT8E4M3FN, [3])})
    with pytest.raises(RamielError, match="a cast from float64 to float8_e4m3fn"):
        onnx_backend.prepare(model)


@pytest.mark.parametrize("round_mode", ["up", "down", "nearest"])
def test_cast_to_float8e8m0(round_mode: str) -> None:
    """Exponents rounded as round_mode says: fractions, ties, the largest, Inf, NaN, subnormals."""
    normal = [0x3F800000, 0x3F800001, 0x3FC00000, 0x3FA00000, 0x3FE00000, 0x7F000001]
    edges = [0x7F7FFFFF, 0x7F800000, 0x7FC00000, 0x00400000, 0x00600000, 0xBFC00000]
    bits = np.array([0, 1, *normal, *edges], np.uint32)
    x = bits.view(np.float32)
    nodes = [
        helper.make_node(
            "Cast", ["x"], [f"y{s}"], to=TensorProto.FLOAT8E8M0, saturate=s, round_mode=round_mode
        )
        for s in (0, 1)
    ]
    outputs = {f"y{s}": (TensorProto.FLOAT8E8M0, [x.size]) for s in (0, 1)}
    actual, expected = _run_both(
        _model(nodes, {"x": (TensorProto.FLOAT, [x.size])}, outputs), {"x": x}
    )
    for a, e in zip(actual, expected, strict=True):
        _same_bits(a, e)


def test_cast_to_float4e2m1_all_float16() -> None:
    """Nearest even on FLOAT4E2M1's grid, saturating at 6; held in float32, returned as float4."""
    x = _all_float16()
    node = helper.make_node("Cast", ["x"], ["y"], to=TensorProto.FLOAT4E2M1)
    model = _model(
        [node], {"x": (TensorProto.FLOAT16, [x.size])}, {"y": (TensorProto.FLOAT4E2M1, [x.size])}
    )
    (actual,), (expected,) = _run_both(model, {"x": x})
    _same_bits(actual, expected)


NARROW: dict[int, tuple[int, bool]] = {
    TensorProto.INT4: (4, True),
    TensorProto.UINT4: (4, False),
    TensorProto.INT2: (2, True),
    TensorProto.UINT2: (2, False),
}
"""The narrow integer types: width in bits, signed."""


def _wrapped(x: np.ndarray, width: int, signed: bool) -> np.ndarray:
    """The documented behaviour (docs/op-support.md): truncate toward zero, keep the low
    `width` bits, read them in two's complement if signed. Computed in int64 arithmetic,
    exact for these inputs, whatever the processor's float-to-int conversion does."""
    whole = np.trunc(x.astype(np.float64)).astype(np.int64)
    low = np.bitwise_and(whole, (1 << width) - 1)
    return low - ((low >> (width - 1)) << width) if signed else low


@pytest.mark.parametrize("target", NARROW)
def test_cast_to_narrow_integers_wraps(target: int) -> None:
    """
    Out of range, ONNX leaves a float-to-integer cast undefined, and ml_dtypes' answer
    (the reference's) differs between processors: the project wraps, as documented,
    checked against the test's own integer arithmetic. A Cast back reads the wrapped value.
    """
    x = np.arange(-40, 40, 0.75, dtype=np.float32)
    nodes = [
        helper.make_node("Cast", ["x"], ["y"], to=target),
        helper.make_node("Cast", ["y"], ["z"], to=TensorProto.FLOAT),
    ]
    model = _model(
        nodes,
        {"x": (TensorProto.FLOAT, [x.size])},
        {"y": (target, [x.size]), "z": (TensorProto.FLOAT, [x.size])},
    )
    y, z = onnx_backend.prepare(model).run([x])
    expected = _wrapped(x, *NARROW[target])
    assert y.dtype == helper.tensor_dtype_to_np_dtype(target)
    np.testing.assert_array_equal(y.astype(np.int64), expected)
    np.testing.assert_array_equal(z, expected.astype(np.float32))


def test_wrap_reference() -> None:
    """The test's reference itself, on values worked out by hand."""
    x = np.array([-9.0, -8.5, -1.5, 7.9, 8.0, 15.0, 16.0, 17.5], np.float32)
    np.testing.assert_array_equal(_wrapped(x, 4, True), [7, -8, -1, 7, -8, -1, 0, 1])
    np.testing.assert_array_equal(_wrapped(x, 4, False), [7, 8, 15, 7, 8, 15, 0, 1])
    np.testing.assert_array_equal(_wrapped(x, 2, True), [-1, 0, -1, -1, 0, -1, 0, 1])


UNSIGNED = {16: TensorProto.UINT16, 32: TensorProto.UINT32, 64: TensorProto.UINT64}


@pytest.mark.parametrize("width", UNSIGNED)
def test_unsigned_ops_at_the_edges(width: int) -> None:
    """Wrap-around, values above the signed maximum, and division, as numpy computes them."""
    dtype = np.dtype(f"uint{width}")
    top = np.iinfo(dtype).max
    a = np.array([0, 1, top, top - 1, top // 2 + 1, 7, top, 12345], dtype)
    b = np.array([1, top, 1, top, top // 2, 2, 3, top // 2 + 2], dtype)
    ops = ["Add", "Sub", "Mul", "Div", "Max", "Min", "Less", "GreaterOrEqual", "Equal"]
    nodes = [helper.make_node(op, ["a", "b"], [op]) for op in ops]
    boolean = {"Less", "GreaterOrEqual", "Equal"}
    elem = UNSIGNED[width]
    outputs = {op: (TensorProto.BOOL if op in boolean else elem, [a.size]) for op in ops}
    model = _model(nodes, {"a": (elem, [a.size]), "b": (elem, [a.size])}, outputs)
    actual, expected = _run_both(model, {"a": a, "b": b})
    for op, x, e in zip(ops, actual, expected, strict=True):
        assert x.dtype == e.dtype, op
        np.testing.assert_array_equal(x, e, err_msg=op)


@pytest.mark.parametrize("width", UNSIGNED)
def test_unsigned_mod_and_shifts_at_the_edges(width: int) -> None:
    """Mod and both shifts above the signed maximum and by the width or more."""
    dtype = np.dtype(f"uint{width}")
    top = np.iinfo(dtype).max
    a = np.array([top, top // 2 + 6, 12345, 3, top - 1, 7, top, 0], dtype)
    b = np.array([7, top // 2 + 2, 1, width - 1, width, width + 3, 1, 5], dtype)
    shifts = np.array([0, 1, width - 1, width, width + 3, 2, width - 2, 9], dtype)
    elem = UNSIGNED[width]
    nodes = [
        helper.make_node("Mod", ["a", "b"], ["mod"]),
        helper.make_node("BitShift", ["a", "s"], ["left"], direction="LEFT"),
        helper.make_node("BitShift", ["a", "s"], ["right"], direction="RIGHT"),
    ]
    inputs = {name: (elem, [a.size]) for name in ("a", "b", "s")}
    model = _model(nodes, inputs, {name: (elem, [a.size]) for name in ("mod", "left", "right")})
    actual, _ = _run_both(model, {"a": a, "b": b, "s": shifts})
    expected = [
        a % b,
        np.array(
            [
                int(x) << int(s) & int(top) if s < width else 0
                for x, s in zip(a, shifts, strict=True)
            ],
            dtype,
        ),
        np.array(
            [int(x) >> int(s) if s < width else 0 for x, s in zip(a, shifts, strict=True)], dtype
        ),
    ]
    for name, x, e in zip(("mod", "left", "right"), actual, expected, strict=True):
        assert x.dtype == dtype, name
        np.testing.assert_array_equal(x, e, err_msg=name)


def test_unsigned_in_an_op_without_exact_lowering_is_an_error() -> None:
    node = helper.make_node("Abs", ["x"], ["y"])
    model = _model([node], {"x": (TensorProto.UINT32, [4])}, {"y": (TensorProto.UINT32, [4])})
    with pytest.raises(RamielError, match=r"\(Abs\): element type UINT32 in Abs is not supported"):
        onnx_backend.prepare(model)


def test_int4_in_quantize_is_an_error() -> None:
    """int4 is held in int8: an op that clamps to its dtype's range would be wrong."""
    node = helper.make_node("QuantizeLinear", ["x", "s", "z"], ["y"])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", TensorProto.INT4, [4])],
        [
            helper.make_tensor("s", TensorProto.FLOAT, [], [0.5]),
            helper.make_tensor("z", TensorProto.INT4, [], [1]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 25)])
    with pytest.raises(RamielError, match="element type INT4 in QuantizeLinear is not supported"):
        onnx_backend.prepare(model)


@pytest.mark.parametrize(
    "numpy_type",
    [ml_dtypes.bfloat16, ml_dtypes.float8_e5m2, ml_dtypes.int4, ml_dtypes.float4_e2m1fn, np.uint64],
)
def test_torch_round_trip(numpy_type: type) -> None:
    array = np.array([[0, 1.5, -2], [3, -0.5, 6]], np.float32).astype(numpy_type)
    tensor = torch_from_numpy(array)
    element = element_type_from_onnx(helper.np_dtype_to_tensor_dtype(array.dtype))
    assert element is not None
    back = numpy_from_torch(tensor, element)
    assert back.dtype == array.dtype
    np.testing.assert_array_equal(back.view(np.uint8), array.view(np.uint8))


@pytest.mark.parametrize(
    ("shape", "attrs"),
    [
        ([2, 3, 5, 6], {"kernel_shape": [2, 3], "pads": [1, 0, 0, 2], "strides": [2, 2]}),
        ([1, 2, 5, 5], {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "storage_order": 1}),
        ([1, 2, 4, 5, 3], {"kernel_shape": [2, 2, 2], "strides": [1, 2, 1], "ceil_mode": 1}),
        ([1, 1, 7, 6], {"kernel_shape": [3, 2], "dilations": [2, 1], "storage_order": 1}),
        # end pads beyond the begin pads, which PyTorch takes as ceil mode's overhang
        ([1, 2, 8, 7], {"kernel_shape": [3, 3], "pads": [0, 0, 1, 1], "strides": [2, 2]}),
        ([1, 2, 9, 8], {"kernel_shape": [3, 3], "pads": [1, 0, 2, 1], "strides": [2, 3]}),
        ([2, 1, 7, 7], {"kernel_shape": [3, 3], "pads": [0, 0, 1, 1], "strides": [3, 3]}),
    ],
)
def test_max_pool_indices(shape: list[int], attrs: dict[str, object]) -> None:
    """
    Indices into the whole flattened input, row- or column-major, as ONNX Runtime
    gives them (the reference's Indices are wrong where pads are involved).
    """
    x = np.random.default_rng(0).permutation(np.prod(shape)).astype(np.float32).reshape(shape)
    node = helper.make_node("MaxPool", ["x"], ["y", "i"], **attrs)  # type: ignore[arg-type]
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, None),
            helper.make_tensor_value_info("i", TensorProto.INT64, None),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])
    model.ir_version = 10
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    expected_values, expected_indices = (np.asarray(v) for v in session.run(None, {"x": x}))
    del model.graph.output[:]
    model.graph.output.extend(
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, expected_values.shape),
            helper.make_tensor_value_info("i", TensorProto.INT64, expected_indices.shape),
        ]
    )
    values, indices = onnx_backend.prepare(model).run([x])
    np.testing.assert_array_equal(values, expected_values)
    np.testing.assert_array_equal(indices, expected_indices)
