"""
Element types and tensor data across ONNX, MLIR builtin types and numpy.

The one table that says which ONNX element types the compiler handles; the
frontend, the folder and the lowering all read it.

ONNX STRING is apart from the table: its MLIR element type is `!dfg.string`
(`StringType`, defined here and registered by the dfg dialect, so that this
module sits below the dialects), and torch has no string dtype, so the
generated code holds string tensors as numpy arrays of Python `str` (dtype
object), as onnx and onnxruntime do. `numpy_dtype` and `torch_dtype_name` know
only the numeric types: the folder, weights and buffers stay numeric.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import ml_dtypes
import numpy as np
from xdsl.dialects.builtin import (
    BFloat16Type,
    BytesAttr,
    DenseIntOrFPElementsAttr,
    Float4E2M1FNType,
    Float8E4M3FNType,
    Float8E4M3FNUZType,
    Float8E5M2FNUZType,
    Float8E5M2Type,
    Float8E8M0FNUType,
    Float16Type,
    Float32Type,
    Float64Type,
    IntegerType,
    Signedness,
    TensorType,
)
from xdsl.ir import Attribute, ParametrizedAttribute, TypeAttribute
from xdsl.irdl import irdl_attr_definition

if TYPE_CHECKING:
    import torch
    from onnx import TensorProto


@irdl_attr_definition
class StringType(ParametrizedAttribute, TypeAttribute):
    """
    The element type of ONNX STRING tensors: `tensor<2x!dfg.string>`.

    MLIR has no builtin string element type. Values of this type are arrays of
    Python `str` in the generated code (numpy arrays of dtype object, as onnx and
    onnxruntime hold them): only the ops that `backend/ops/dtypes.py` lists
    handle them.
    """

    name = "dfg.string"


_UNSIGNED = Signedness.UNSIGNED

# (ONNX TensorProto.DataType, MLIR element type, numpy dtype, torch dtype name).
# numpy dtypes are those of `onnx.helper.tensor_dtype_to_np_dtype` (ml_dtypes for
# bfloat16, float8, float4 and the sub-byte integers). The torch dtype is the one
# the generated code holds the values in: the type itself where torch has it,
# else a wider stand-in (EMULATED) that holds every value exactly.
_ELEMENT_TYPES: tuple[tuple[int, Attribute, np.dtype, str], ...] = (
    (1, Float32Type(), np.dtype(np.float32), "float32"),
    (2, IntegerType(8, _UNSIGNED), np.dtype(np.uint8), "uint8"),
    (3, IntegerType(8), np.dtype(np.int8), "int8"),
    (4, IntegerType(16, _UNSIGNED), np.dtype(np.uint16), "uint16"),
    (5, IntegerType(16), np.dtype(np.int16), "int16"),
    (6, IntegerType(32), np.dtype(np.int32), "int32"),
    (7, IntegerType(64), np.dtype(np.int64), "int64"),
    (9, IntegerType(1), np.dtype(np.bool_), "bool"),
    (10, Float16Type(), np.dtype(np.float16), "float16"),
    (11, Float64Type(), np.dtype(np.float64), "float64"),
    (12, IntegerType(32, _UNSIGNED), np.dtype(np.uint32), "uint32"),
    (13, IntegerType(64, _UNSIGNED), np.dtype(np.uint64), "uint64"),
    (16, BFloat16Type(), np.dtype(ml_dtypes.bfloat16), "bfloat16"),
    (17, Float8E4M3FNType(), np.dtype(ml_dtypes.float8_e4m3fn), "float8_e4m3fn"),
    (18, Float8E4M3FNUZType(), np.dtype(ml_dtypes.float8_e4m3fnuz), "float8_e4m3fnuz"),
    (19, Float8E5M2Type(), np.dtype(ml_dtypes.float8_e5m2), "float8_e5m2"),
    (20, Float8E5M2FNUZType(), np.dtype(ml_dtypes.float8_e5m2fnuz), "float8_e5m2fnuz"),
    (21, IntegerType(4, _UNSIGNED), np.dtype(ml_dtypes.uint4), "uint8"),
    (22, IntegerType(4), np.dtype(ml_dtypes.int4), "int8"),
    (23, Float4E2M1FNType(), np.dtype(ml_dtypes.float4_e2m1fn), "float32"),
    (24, Float8E8M0FNUType(), np.dtype(ml_dtypes.float8_e8m0fnu), "float8_e8m0fnu"),
    (25, IntegerType(2, _UNSIGNED), np.dtype(ml_dtypes.uint2), "uint8"),
    (26, IntegerType(2), np.dtype(ml_dtypes.int2), "int8"),
)

EMULATED: frozenset[Attribute] = frozenset(
    mlir for _, mlir, npt, name in _ELEMENT_TYPES if npt.name != name
)
"""Element types that torch lacks: the generated code holds them in a wider dtype."""

_BY_ONNX: dict[int, tuple[Attribute, np.dtype, str]] = {
    onnx: (mlir, npt, torch) for onnx, mlir, npt, torch in _ELEMENT_TYPES
}
_BY_MLIR: dict[Attribute, tuple[int, np.dtype, str]] = {
    mlir: (onnx, npt, torch) for onnx, mlir, npt, torch in _ELEMENT_TYPES
}
_BY_NUMPY: dict[np.dtype, tuple[Attribute, str]] = {
    npt: (mlir, torch) for _, mlir, npt, torch in _ELEMENT_TYPES
}


ONNX_STRING = 8
"""TensorProto.STRING."""

STRING_DTYPE = np.dtype(object)
"""The numpy dtype of string tensors in the generated code (arrays of Python `str`)."""


def element_type_from_onnx(onnx_type: int) -> Attribute | None:
    """The MLIR element type of an ONNX element type, None if unsupported."""
    if onnx_type == ONNX_STRING:
        return StringType()
    entry = _BY_ONNX.get(onnx_type)
    return entry[0] if entry else None


def onnx_from_element_type(element_type: Attribute) -> int:
    """The ONNX element type (TensorProto.DataType) of an MLIR element type."""
    if is_string(element_type):
        return ONNX_STRING
    return _BY_MLIR[element_type][0]


def is_string(element_type: Attribute) -> bool:
    """Whether `element_type` is ONNX STRING (`!dfg.string`)."""
    return isinstance(element_type, StringType)


def numpy_dtype(element_type: Attribute) -> np.dtype:
    """The numpy dtype that holds values of a numeric MLIR element type (KeyError for others)."""
    return _BY_MLIR[element_type][1]


def torch_dtype_name(element_type: Attribute) -> str:
    """The name of the torch dtype of an MLIR element type (`float32`, ...)."""
    return _BY_MLIR[element_type][2]


def is_emulated(element_type: Attribute) -> bool:
    """Whether the generated code holds `element_type` in a wider torch dtype."""
    return element_type in EMULATED


def tensor_type(element_type: Attribute, shape: Sequence[int]) -> TensorType:
    """A ranked tensor type."""
    return TensorType(element_type, list(shape))


def is_static_type(t: Attribute) -> bool:
    """
    False for a tensor type with a `?` dimension (a size known only at run time:
    the result of NonZero, Unique, ...), True for any other type.
    """
    return not isinstance(t, TensorType) or t.has_static_shape()


def dense_from_numpy(array: np.ndarray, element_type: Attribute) -> DenseIntOrFPElementsAttr:
    """A dense attribute holding `array` as `element_type` values."""
    dtype = numpy_dtype(element_type)
    data = np.ascontiguousarray(array, dtype=dtype).astype(dtype.newbyteorder("<"))
    attr_type = tensor_type(element_type, array.shape)
    if isinstance(element_type, IntegerType) and element_type.width.data == 1:
        data = data.astype(np.int8)
    return DenseIntOrFPElementsAttr(attr_type, BytesAttr(data.tobytes()))  # pyright: ignore[reportArgumentType]


def numpy_from_dense(attr: DenseIntOrFPElementsAttr) -> np.ndarray:
    """The values of a dense attribute as a numpy array of its shape."""
    element_type = attr.get_element_type()
    dtype = numpy_dtype(element_type)
    shape = attr.get_shape()
    count = int(np.prod(shape)) if shape else 1
    raw_dtype = np.int8 if dtype == np.bool_ else dtype
    values = np.frombuffer(attr.data.data, dtype=np.dtype(raw_dtype).newbyteorder("<"))
    if values.size == 1 and count != 1:
        values = np.full(count, values[0])
    return values.astype(dtype).reshape(shape)


def numpy_from_onnx(tensor: TensorProto, base_dir: str = "") -> np.ndarray:
    """The data of an ONNX tensor (external data read from `base_dir`)."""
    from onnx import numpy_helper

    return numpy_helper.to_array(tensor, base_dir)


def numpy_native(dtype: np.dtype) -> bool:
    """Whether numpy itself has the dtype (not one that ml_dtypes adds to it)."""
    return dtype.type.__module__ == "numpy"


def _bits(itemsize: int) -> str:
    """The unsigned integer dtype name of a width in bytes."""
    return f"uint{8 * itemsize}"


def torch_from_numpy(array: np.ndarray) -> torch.Tensor:
    """
    A tensor of the torch dtype that the generated code uses for the array's
    type: the same bits where torch has the type (bfloat16, float8: viewed
    through unsigned integers, which numpy and torch share), the values in the
    stand-in dtype for an EMULATED one.
    """
    import torch

    array = array.astype(array.dtype.newbyteorder("="), copy=False)  # torch reads native order
    entry = _BY_NUMPY.get(array.dtype)
    if entry is None or numpy_native(array.dtype):
        return torch.from_numpy(np.require(array, requirements=("C", "W")))  # no read-only view
    if is_emulated(entry[0]):
        return torch.from_numpy(array.astype(np.dtype(entry[1])))
    bits = np.array(array, order="C").view(np.dtype(_bits(array.dtype.itemsize)))
    return torch.from_numpy(bits).view(getattr(torch, entry[1]))


def numpy_from_torch(tensor: torch.Tensor, element_type: Attribute) -> np.ndarray:
    """The values of a tensor that holds `element_type` values, in that type's numpy dtype."""
    import torch

    dtype = numpy_dtype(element_type)
    if is_emulated(element_type):
        return tensor.numpy(force=True).astype(dtype)
    if numpy_native(dtype):
        return tensor.numpy(force=True)
    bits = tensor.detach().cpu().contiguous().view(getattr(torch, _bits(dtype.itemsize)))
    return bits.numpy().view(dtype)
