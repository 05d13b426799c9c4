"""
Write a state dict in PyTorch's zip serialization format, without importing torch.

`torch.save({name: tensor, ...}, path)` writes a zip archive of uncompressed
records under one top directory, `<archive>/` (the file name without its last
suffix):

    <archive>/data.pkl             the pickled dict (protocol 2)
    <archive>/.storage_alignment   "64": every data record starts at a multiple of 64
    <archive>/byteorder            "little": the byte order of the data records
    <archive>/data/<key>           the bytes of storage <key> ("0", "1", ...)
    <archive>/version              "3": the archive format version

In `data.pkl` each tensor is a call the unpickler makes,

    torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())

whose `storage` is a persistent id, `("storage", torch.FloatStorage, "<key>",
"cpu", element count)`, that `torch.load` resolves to the record `data/<key>`.
Dtypes that have no legacy `torch.<X>Storage` class (float8, uint16/32/64, ...)
are stored as `torch.storage.UntypedStorage` with a byte count, and rebuilt by
`_rebuild_tensor_v3(..., torch.<dtype>)`. These are exactly the calls and
globals `torch.load(path, weights_only=True)` allows, in torch 2.3 and later.

The pickle is written opcode by opcode: pickling the real globals would import
torch, which is what this module exists to avoid. `.format_version` is left out
on purpose: it lets torch compute record offsets under the assumption of
miniz's streaming layout (a data descriptor after every record); without it,
torch reads each record's offset from the zip directory, which is always right.
The output is deterministic: the same tensors give the same bytes.
"""

from __future__ import annotations

import math
import pickle
import struct
import sys
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

ALIGNMENT = 64
"""Every data record starts at a multiple of this many bytes (torch's default)."""

VERSION = "3"
"""The archive format version that torch.save writes."""

LOCAL_HEADER_SIZE = 30
"""The fixed part of a zip local file header, before the name and extra field (APPNOTE 4.3.7)."""


@dataclass(frozen=True)
class TorchDtype:
    """How a torch dtype is serialized."""

    itemsize: int
    """Bytes per element."""
    storage: str | None
    """The legacy `torch.<X>Storage` class name; None for dtypes saved as untyped bytes."""


DTYPES: dict[str, TorchDtype] = {
    # Dtypes with a legacy storage class (torch.storage._dtype_to_storage_type_map,
    # without the quantized ones: a quantized tensor pickles its quantizer too).
    "float64": TorchDtype(8, "DoubleStorage"),
    "float32": TorchDtype(4, "FloatStorage"),
    "float16": TorchDtype(2, "HalfStorage"),
    "bfloat16": TorchDtype(2, "BFloat16Storage"),
    "int64": TorchDtype(8, "LongStorage"),
    "int32": TorchDtype(4, "IntStorage"),
    "int16": TorchDtype(2, "ShortStorage"),
    "int8": TorchDtype(1, "CharStorage"),
    "uint8": TorchDtype(1, "ByteStorage"),
    "bool": TorchDtype(1, "BoolStorage"),
    "complex128": TorchDtype(16, "ComplexDoubleStorage"),
    "complex64": TorchDtype(8, "ComplexFloatStorage"),
    # Newer dtypes (torch.storage._new_dtypes): untyped storage plus the dtype.
    "uint16": TorchDtype(2, None),
    "uint32": TorchDtype(4, None),
    "uint64": TorchDtype(8, None),
    "float8_e4m3fn": TorchDtype(1, None),
    "float8_e4m3fnuz": TorchDtype(1, None),
    "float8_e5m2": TorchDtype(1, None),
    "float8_e5m2fnuz": TorchDtype(1, None),
    "float8_e8m0fnu": TorchDtype(1, None),
    "float4_e2m1fn_x2": TorchDtype(1, None),
    "complex32": TorchDtype(4, None),
}
"""Torch dtype name -> its element size and storage class."""


def contiguous_strides(shape: Sequence[int]) -> tuple[int, ...]:
    """Row-major strides in elements, as torch computes them (a 0 dimension counts as 1)."""
    strides: list[int] = []
    step = 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides))


class _PickleWriter:
    """Protocol-2 pickle opcodes for the few kinds of values a state dict holds."""

    def __init__(self) -> None:
        self.out = bytearray(pickle.PROTO + bytes([2]))

    def global_(self, module: str, name: str) -> None:
        self.out += pickle.GLOBAL + f"{module}\n{name}\n".encode()

    def string(self, text: str) -> None:
        data = text.encode("utf-8", "surrogatepass")
        self.out += pickle.BINUNICODE + struct.pack("<I", len(data)) + data

    def integer(self, value: int) -> None:
        if 0 <= value < 1 << 8:
            self.out += pickle.BININT1 + struct.pack("<B", value)
        elif 0 <= value < 1 << 16:
            self.out += pickle.BININT2 + struct.pack("<H", value)
        elif -(1 << 31) <= value < 1 << 31:
            self.out += pickle.BININT + struct.pack("<i", value)
        else:
            data = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
            self.out += pickle.LONG1 + struct.pack("<B", len(data)) + data

    def int_tuple(self, values: Iterable[int]) -> None:
        self.out += pickle.MARK
        for value in values:
            self.integer(value)
        self.out += pickle.TUPLE

    def tensor(self, key: str, dtype: str, shape: Sequence[int]) -> None:
        """A contiguous CPU tensor of `shape` over all of storage `key`."""
        info = DTYPES[dtype]
        count = math.prod(shape)
        v3 = info.storage is None
        self.global_("torch._utils", "_rebuild_tensor_v3" if v3 else "_rebuild_tensor_v2")
        self.out += pickle.MARK
        # The storage: a persistent id that torch.load maps to the record data/<key>.
        self.out += pickle.MARK
        self.string("storage")
        if info.storage is None:
            self.global_("torch.storage", "UntypedStorage")
        else:
            self.global_("torch", info.storage)
        self.string(key)
        self.string("cpu")
        self.integer(count * info.itemsize if v3 else count)
        self.out += pickle.TUPLE + pickle.BINPERSID
        self.integer(0)  # storage offset
        self.int_tuple(shape)
        self.int_tuple(contiguous_strides(shape))
        self.out += pickle.NEWFALSE  # requires_grad
        self.global_("collections", "OrderedDict")  # backward hooks: none
        self.out += pickle.EMPTY_TUPLE + pickle.REDUCE
        if v3:
            self.global_("torch", dtype)
        self.out += pickle.TUPLE + pickle.REDUCE


def state_dict_pickle(tensors: Mapping[str, tuple[str, Sequence[int]]]) -> bytes:
    """`data.pkl` for a dict of name -> (dtype, shape); tensor i's storage is key str(i)."""
    writer = _PickleWriter()
    writer.out += pickle.EMPTY_DICT
    for index, (name, (dtype, shape)) in enumerate(tensors.items()):
        writer.string(name)
        writer.tensor(str(index), dtype, shape)
        writer.out += pickle.SETITEM
    writer.out += pickle.STOP
    return bytes(writer.out)


def _little_endian_bytes(array: np.ndarray, dtype: str) -> memoryview:
    """The C-order bytes of `array` in little-endian order, as elements of torch `dtype`."""
    if dtype not in DTYPES:
        raise ValueError(f"torch dtype '{dtype}' cannot be saved (known: {', '.join(DTYPES)})")
    if array.dtype.itemsize != DTYPES[dtype].itemsize:
        raise ValueError(
            f"a {array.dtype} array cannot hold torch.{dtype} elements "
            f"({array.dtype.itemsize} bytes, not {DTYPES[dtype].itemsize})"
        )
    array = np.ascontiguousarray(array)
    order = array.dtype.byteorder
    if order == ">" or (order == "=" and sys.byteorder == "big"):
        array = array.byteswap()
    return array.reshape(-1).view(np.uint8).data


class _ArchiveWriter:
    """Uncompressed zip records under one directory, data records aligned to `ALIGNMENT`."""

    def __init__(self, stream: IO[bytes], archive: str) -> None:
        self.stream = stream
        self.zip = zipfile.ZipFile(stream, "w", zipfile.ZIP_STORED)
        self.archive = archive

    def record(self, name: str, data: bytes | memoryview) -> None:
        info = zipfile.ZipInfo(f"{self.archive}/{name}", date_time=(1980, 1, 1, 0, 0, 0))
        info.file_size = len(data)
        # zipfile adds a zip64 field to the local header of large records; choose it
        # here, so that the header size (and the padding) is known.
        zip64 = len(data) > zipfile.ZIP64_LIMIT // 2
        header = LOCAL_HEADER_SIZE + len(info.filename.encode())
        header += struct.calcsize("<HHQQ") if zip64 else 0
        # An extra field (id "FB", as torch writes it) pads the header to the alignment.
        start = self.stream.tell() + header + 4
        padding = -start % ALIGNMENT
        info.extra = b"FB" + struct.pack("<H", padding) + bytes(padding)
        with self.zip.open(info, "w", force_zip64=zip64) as record:
            assert self.stream.tell() % ALIGNMENT == 0, "zip header size not as computed"
            record.write(data)

    def close(self) -> None:
        self.zip.close()


def save_state_dict(path: str | Path, tensors: Mapping[str, tuple[str, np.ndarray]]) -> None:
    """
    Write `{name: tensor}` to `path` as `torch.save` does; `tensors` maps each
    name to (torch dtype name, array of its values). The array's element size
    must be the dtype's (bfloat16 and float8 come as ml_dtypes or raw integers).
    """
    path = Path(path)
    shapes = {name: (dtype, array.shape) for name, (dtype, array) in tensors.items()}
    payloads = [_little_endian_bytes(array, dtype) for dtype, array in tensors.values()]
    with path.open("wb") as stream:
        archive = _ArchiveWriter(stream, path.stem or "archive")
        archive.record("data.pkl", state_dict_pickle(shapes))
        archive.record(".storage_alignment", str(ALIGNMENT).encode())
        archive.record("byteorder", b"little")
        for key, payload in enumerate(payloads):
            archive.record(f"data/{key}", payload)
        archive.record("version", f"{VERSION}\n".encode())
        archive.close()
