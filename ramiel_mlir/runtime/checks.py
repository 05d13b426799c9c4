"""
The input checks at the top of every generated `forward`.

The code is specialised to the static shapes it was compiled for (broadcasting
could otherwise turn a wrong shape into a wrong answer), so `forward` starts
with one check per input: `_check_input` for tensors, `_check_strings` for ONNX
STRING tensors (numpy arrays of `str`), `_check_sequence` for ONNX sequences
(lists of tensors whose shapes may vary where the type leaves a dimension or the
rank unknown) and `_check_optional` for ONNX optionals.
"""

import numpy as np
import torch


def _check_input(name: str, value: torch.Tensor, shape: tuple[int, ...], dtype: torch.dtype):
    """Reject an input this code was not compiled for, before any node runs."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"input '{name}' must be a torch.Tensor, got {type(value).__name__}")
    if value.shape != shape or value.dtype != dtype:
        raise ValueError(
            f"input '{name}' must be a {dtype} tensor of shape {list(shape)}, "
            f"got a {value.dtype} tensor of shape {list(value.shape)}"
        )


def _check_strings(name: str, value: np.ndarray, shape: tuple[int, ...]):
    """Reject a string input this code was not compiled for: a numpy array of str of `shape`."""
    if not isinstance(value, np.ndarray) or value.dtype != object:
        got = value.dtype if isinstance(value, np.ndarray) else type(value).__name__
        raise TypeError(f"input '{name}' must be a numpy array of str (dtype object), got {got}")
    if value.shape != shape:
        raise ValueError(
            f"input '{name}' must be a string array of shape {list(shape)}, "
            f"got shape {list(value.shape)}"
        )
    for item in value.flat:
        if not isinstance(item, str):
            raise TypeError(f"input '{name}' must hold str elements, got {type(item).__name__}")


def _check_sequence(name: str, value: list, shape: tuple | None, dtype: torch.dtype):
    """
    Reject a sequence input this code was not compiled for: a list of `dtype` tensors
    of `shape`, where None leaves the rank (for `shape`) or a dimension free.
    """
    if not isinstance(value, list):
        raise TypeError(f"input '{name}' must be a list of tensors, got {type(value).__name__}")
    for index, item in enumerate(value):
        if not isinstance(item, torch.Tensor):
            raise TypeError(
                f"input '{name}'[{index}] must be a torch.Tensor, got {type(item).__name__}"
            )
        fits = shape is None or (
            len(item.shape) == len(shape)
            and all(
                want is None or want == got for want, got in zip(shape, item.shape, strict=False)
            )
        )
        if item.dtype != dtype or not fits:
            dims = None if shape is None else ["?" if d is None else d for d in shape]
            want = "any shape" if dims is None else f"shape {dims}"
            raise ValueError(
                f"input '{name}'[{index}] must be a {dtype} tensor of {want}, "
                f"got a {item.dtype} tensor of shape {list(item.shape)}"
            )


def _check_optional(name: str, value, check, *expected):
    """Accept None (an empty ONNX optional), else what `check(name, value, *expected)` accepts."""
    if value is not None:
        check(name, value, *expected)
