"""The data of a generated model's buffers (`py.buffer`), and its weights file."""

from __future__ import annotations

import numpy as np
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr

from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.dialects import py


def buffer_arrays(module: py.ModuleOp) -> dict[str, tuple[str, np.ndarray]]:
    """
    The data of every `py.buffer`, by buffer name: its torch dtype name and
    its values in that dtype's layout (a state dict for `Model`, as numpy).

    Element types that torch lacks (int4, float4, ...) are widened to the dtype
    the generated code holds them in, as the buffer's `torch.empty` declares.
    """
    from ramiel_mlir.tensors import numpy_dtype, numpy_from_dense, torch_dtype_name
    from ramiel_mlir.weights import load_tensor

    state: dict[str, tuple[str, np.ndarray]] = {}
    for op in module.walk():
        if not isinstance(op, py.BufferOp):
            continue
        if op.file is not None:
            array = load_tensor(op.file.data, op.key.data)
        else:
            assert isinstance(op.value, DenseIntOrFPElementsAttr)
            array = numpy_from_dense(op.value)
        element_type = op.tensor_type.get_element_type()
        expected = numpy_dtype(element_type)
        shape = tuple(op.tensor_type.get_shape())
        if not np.can_cast(array.dtype, expected, "equiv") or array.shape != shape:
            where = f" in {op.file.data}" if op.file is not None else ""
            raise RamielError(
                f"weight '{op.key.data}'{where}: {array.dtype} data of shape {list(array.shape)}"
                f" for a {expected} buffer of shape {list(shape)}"
            )
        dtype = torch_dtype_name(element_type)
        if array.dtype.name != dtype:  # a type torch lacks: its wider stand-in
            array = array.astype(np.dtype(dtype))
        state[op.buffer_name.data] = (dtype, array)
    return state


def write_weights(module: py.ModuleOp, path: str) -> None:
    """Save the data of every `py.buffer` to `path`, as `torch.save` of a state dict would."""
    from ramiel_mlir.backend.torch_format import save_state_dict

    save_state_dict(path, buffer_arrays(module))
