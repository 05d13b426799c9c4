"""
Tensor data that lives outside the IR text.

A `dfg.weight` either holds a small value inline or names a file: an ONNX model
(the tensor is the initializer or `Constant` output called `weight_name`) or a
`.npy` blob written by the constant folder into a content-addressed store.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ramiel_mlir.diagnostics import RamielError
from ramiel_mlir.tensors import numpy_from_dense, numpy_from_onnx

if TYPE_CHECKING:
    from onnx import TensorProto

    from ramiel_mlir.dialects.dfg import WeightOp

INLINE_LIMIT = 16
"""Constants with at most this many elements are written inline in the IR."""


def cache_root() -> Path:
    """
    The compiler's scratch files: `$RAMIEL_CACHE_DIR`, else `ramiel-mlir-<uid>` in the
    system's temporary directory (`/tmp`). Not under the home directory: the blob
    paths are written into the IR, which should not depend on whose home it was
    compiled in.
    """
    if root := os.environ.get("RAMIEL_CACHE_DIR"):
        return Path(root)
    return Path(tempfile.gettempdir()) / f"ramiel-mlir-{os.getuid()}"


def blob_dir() -> Path:
    """The default store of folded constants (`fold-constants{blob-dir}`): `cache_root()/blobs`."""
    return cache_root() / "blobs"


def private_cache_root() -> Path:
    """`cache_root()`, made sure to be this user's own when it is in the shared `/tmp`."""
    root = cache_root()
    if os.environ.get("RAMIEL_CACHE_DIR"):
        return root
    try:
        root.mkdir(mode=0o700, exist_ok=True)
        owner = root.stat().st_uid
    except OSError as error:
        raise RamielError(f"cannot create {root}: {error.strerror}") from None
    if owner != os.getuid():  # another user's files could stand in for folded constants
        raise RamielError(
            f"{root} belongs to another user; give fold-constants{{blob-dir=DIR}} "
            "or set RAMIEL_CACHE_DIR"
        )
    return root


def store_blob(array: np.ndarray, directory: str = "") -> str:
    """
    Write `array` to the blob store `directory` ('': `blob_dir()`), named by its
    content, and return its absolute path.
    """
    array = np.ascontiguousarray(array)
    digest = hashlib.sha256()
    digest.update(f"{array.dtype.str}{array.shape}".encode())
    digest.update(array.tobytes())
    store = Path(directory).absolute() if directory else private_cache_root() / "blobs"
    path = store / f"{digest.hexdigest()[:32]}.npy"
    if array.dtype.type.__module__ == "ml_dtypes":
        # .npy has no name for ml_dtypes' types: the file holds the bits, its name the type.
        path = path.with_suffix(f".{array.dtype.name}.npy")
        array = array.view(np.dtype(f"uint{8 * array.dtype.itemsize}"))
    if not path.exists():
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with partial.open("wb") as stream:
                np.save(stream, array)
            partial.replace(path)
        except OSError as error:
            partial.unlink(missing_ok=True)
            raise RamielError(f"cannot write to the blob store {store}: {error.strerror}") from None
    return str(path)


@cache
def _onnx_tensors(path: str, mtime: float) -> dict[str, TensorProto]:
    """The initializers and Constant values of an ONNX model file, by name."""
    import onnx

    model = onnx.load(path, load_external_data=False)
    tensors = {t.name: t for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant":
            for attr in node.attribute:
                if attr.name == "value" and attr.HasField("t"):
                    tensors[node.output[0]] = attr.t
    return tensors


def load_tensor(file: str, name: str) -> np.ndarray:
    """The tensor `name` stored in `file` (an ONNX model or a `.npy` blob)."""
    try:
        if file.endswith(".npy"):
            return _ml_dtypes_view(np.load(file), file)
        tensors = _onnx_tensors(file, os.path.getmtime(file))
    except OSError as error:
        raise RamielError(f"cannot read weight '{name}' from {file}: {error}") from None
    if name not in tensors:
        raise RamielError(f"weight '{name}' is not in {file}")
    return numpy_from_onnx(tensors[name], os.path.dirname(file))


def weight_value(op: WeightOp) -> np.ndarray:
    """The data of a `dfg.weight`, inline or from its file."""
    if op.value is not None:
        return numpy_from_dense(op.value)
    assert op.file is not None
    return load_tensor(op.file.data, op.weight_name.data)


def _ml_dtypes_view(array: np.ndarray, file: str) -> np.ndarray:
    """The blob's data in the ml_dtypes type its name gives (`<hash>.bfloat16.npy`), if any."""
    parts = Path(file).name.split(".")
    if len(parts) != 3:
        return array
    import ml_dtypes

    return array.view(np.dtype(getattr(ml_dtypes, parts[1])))
