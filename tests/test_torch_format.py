"""The torch-free weights writer against torch.save and torch.load."""

from __future__ import annotations

import math
import struct
import zipfile
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest
import torch
import torch.storage

from ramiel_mlir import tensors
from ramiel_mlir.backend.torch_format import (
    ALIGNMENT,
    DTYPES,
    LOCAL_HEADER_SIZE,
    contiguous_strides,
    save_state_dict,
)

SHAPES = [(), (1,), (0,), (3, 0), (2, 3, 4), (5, 1, 2)]
"""0-d, empty and multi-dimensional tensors (all contiguous, as the writer stores them)."""


def _numpy_dtype(dtype: str) -> np.dtype:
    """A numpy dtype for torch `dtype`'s elements: numpy's, ml_dtypes', else raw bytes."""
    if hasattr(np, dtype):
        return np.dtype(dtype)
    if dtype != "float4_e2m1fn_x2" and hasattr(ml_dtypes, dtype):
        return np.dtype(getattr(ml_dtypes, dtype))
    return np.dtype(f"V{DTYPES[dtype].itemsize}")


def _samples(dtype: str) -> dict[str, tuple[torch.Tensor, np.ndarray]]:
    """For each of SHAPES, a torch tensor and a numpy array holding the same random bytes."""
    rng = np.random.default_rng(sum(map(ord, dtype)))
    samples = {}
    for shape in SHAPES:
        count = math.prod(shape) * DTYPES[dtype].itemsize
        high = 2 if dtype == "bool" else 256
        raw = rng.integers(0, high, size=count, dtype=np.uint8)
        tensor = torch.empty(shape, dtype=getattr(torch, dtype))
        tensor.reshape(-1).view(torch.uint8).copy_(torch.from_numpy(raw))
        samples[f"t{'x'.join(map(str, shape))}"] = (
            tensor,
            raw.view(_numpy_dtype(dtype)).reshape(shape),
        )
    return samples


def _bytes(tensor: torch.Tensor) -> bytes:
    return tensor.reshape(-1).view(torch.uint8).numpy().tobytes()


def _records(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as archive:
        return {name.partition("/")[2] for name in archive.namelist()}


@pytest.mark.filterwarnings("ignore:ComplexHalf support is experimental:UserWarning")
@pytest.mark.parametrize("dtype", sorted(DTYPES))
def test_loads_as_torch_save(dtype: str, tmp_path: Path) -> None:
    """/// Every dtype and shape loads (plainly and mmapped) bitwise equal to torch.save's file."""
    samples = _samples(dtype)
    ours, theirs = tmp_path / "ours.weights.pt", tmp_path / "theirs.weights.pt"
    save_state_dict(ours, {name: (dtype, array) for name, (_, array) in samples.items()})
    torch.save({name: tensor for name, (tensor, _) in samples.items()}, theirs)
    expected = torch.load(theirs, weights_only=True)
    for mmap in (False, True):
        loaded = torch.load(ours, weights_only=True, mmap=mmap)
        assert list(loaded) == list(expected)
        for name, tensor in loaded.items():
            reference = expected[name]
            assert tensor.dtype == reference.dtype, name
            assert tensor.shape == reference.shape, name
            assert tensor.stride() == reference.stride(), name
            assert tensor.storage_offset() == reference.storage_offset() == 0, name
            assert _bytes(tensor) == _bytes(reference), name
    assert _records(ours) <= _records(theirs)


def test_records_are_aligned_and_deterministic(tmp_path: Path) -> None:
    """/// Data records start at multiples of ALIGNMENT; the same tensors give the same file."""
    arrays = {f"w{i}": ("float32", np.ones(i, np.float32)) for i in range(7)}
    first, second = tmp_path / "a.weights.pt", tmp_path / "b.weights.pt"
    save_state_dict(first, arrays)
    save_state_dict(second, arrays)
    data = first.read_bytes()
    with zipfile.ZipFile(first) as archive:
        infos = archive.infolist()
    assert {info.filename.partition("/")[0] for info in infos} == {"a.weights"}
    for info in infos:
        name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
        start = info.header_offset + LOCAL_HEADER_SIZE + name_length + extra_length
        assert start % ALIGNMENT == 0, info.filename
    # The archive directory is named after the file; the rest is byte for byte equal.
    assert second.read_bytes() == data.replace(b"a.weights/", b"b.weights/")


def test_big_endian_arrays_are_stored_little_endian(tmp_path: Path) -> None:
    """/// A big-endian array is byte-swapped, not reinterpreted."""
    path = tmp_path / "w.weights.pt"
    save_state_dict(path, {"x": ("int32", np.arange(-3, 3, dtype=">i4").reshape(2, 3))})
    loaded = torch.load(path, weights_only=True)["x"]
    assert loaded.tolist() == [[-3, -2, -1], [0, 1, 2]]


def test_large_integers_in_shapes() -> None:
    """/// Sizes beyond 32 bits (LONG1 in the pickle) and torch's strides for 0 dimensions."""
    from ramiel_mlir.backend.torch_format import state_dict_pickle

    shape = (1 << 33, 1)
    expected = torch.empty(0).new_empty_strided(shape, (1, 1), device="meta")
    assert contiguous_strides(shape) == expected.stride()
    assert contiguous_strides((3, 0, 2)) == torch.empty(3, 0, 2).stride()
    pickled = state_dict_pickle({"big": ("int8", shape)})
    assert (1 << 33).to_bytes(5, "little") in pickled


def test_rejects_unknown_dtypes_and_wrong_element_sizes(tmp_path: Path) -> None:
    """/// A dtype the writer does not know, or an array of another element size, is an error."""
    path = tmp_path / "w.weights.pt"
    with pytest.raises(ValueError, match="torch dtype 'qint8' cannot be saved"):
        save_state_dict(path, {"x": ("qint8", np.zeros(2, np.int8))})
    with pytest.raises(ValueError, match=r"cannot hold torch\.float32 elements"):
        save_state_dict(path, {"x": ("float32", np.zeros(2, np.float64))})
    assert not path.exists()


def test_table_agrees_with_torch() -> None:
    """/// Every dtype the compiler emits is writable, with torch's storage class and size."""
    assert {entry[3] for entry in tensors._ELEMENT_TYPES} <= set(DTYPES)
    legacy = {
        str(d).removeprefix("torch."): n
        for d, n in torch.storage._dtype_to_storage_type_map().items()
    }
    new = {str(d).removeprefix("torch.") for d in torch.storage._new_dtypes()}
    for name, info in DTYPES.items():
        assert getattr(torch, name).itemsize == info.itemsize, name
        if info.storage is None:
            assert name in new, name
        else:
            assert legacy[name] == info.storage, name
    plain_legacy = {name for name in legacy if not name.startswith(("qint", "quint"))}
    assert plain_legacy <= set(DTYPES)
