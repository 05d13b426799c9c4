"""
Element types and tensor data across ONNX, MLIR builtin types and numpy.

The one table that says which ONNX element types the compiler handles; the
frontend, the folder and the lowering all read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from xdsl.dialects.builtin import (
    BytesAttr,
    DenseIntOrFPElementsAttr,
    Float16Type,
    Float32Type,
    Float64Type,
    IntegerType,
    Signedness,
    TensorType,
)
from xdsl.ir import Attribute

if TYPE_CHECKING:
    from onnx import TensorProto

# (ONNX TensorProto.DataType, MLIR element type, numpy dtype, torch dtype name)
_ELEMENT_TYPES: tuple[tuple[int, Attribute, np.dtype, str], ...] = (
    (1, Float32Type(), np.dtype(np.float32), "float32"),
    (2, IntegerType(8, Signedness.UNSIGNED), np.dtype(np.uint8), "uint8"),
    (3, IntegerType(8), np.dtype(np.int8), "int8"),
    (5, IntegerType(16), np.dtype(np.int16), "int16"),
    (6, IntegerType(32), np.dtype(np.int32), "int32"),
    (7, IntegerType(64), np.dtype(np.int64), "int64"),
    (9, IntegerType(1), np.dtype(np.bool_), "bool"),
    (10, Float16Type(), np.dtype(np.float16), "float16"),
    (11, Float64Type(), np.dtype(np.float64), "float64"),
)

_BY_ONNX: dict[int, tuple[Attribute, np.dtype, str]] = {
    onnx: (mlir, npt, torch) for onnx, mlir, npt, torch in _ELEMENT_TYPES
}
_BY_MLIR: dict[Attribute, tuple[int, np.dtype, str]] = {
    mlir: (onnx, npt, torch) for onnx, mlir, npt, torch in _ELEMENT_TYPES
}


def element_type_from_onnx(onnx_type: int) -> Attribute | None:
    """The MLIR element type of an ONNX element type, None if unsupported."""
    entry = _BY_ONNX.get(onnx_type)
    return entry[0] if entry else None


def onnx_from_element_type(element_type: Attribute) -> int:
    """The ONNX element type (TensorProto.DataType) of an MLIR element type."""
    return _BY_MLIR[element_type][0]


def numpy_dtype(element_type: Attribute) -> np.dtype:
    """The numpy dtype that holds values of an MLIR element type."""
    return _BY_MLIR[element_type][1]


def torch_dtype_name(element_type: Attribute) -> str:
    """The name of the torch dtype of an MLIR element type (`float32`, ...)."""
    return _BY_MLIR[element_type][2]


def tensor_type(element_type: Attribute, shape: Sequence[int]) -> TensorType:
    """A ranked tensor type."""
    return TensorType(element_type, list(shape))


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
