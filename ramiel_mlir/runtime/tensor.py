"""Tensor ops whose arguments are known only at run time: Dropout, Slice, Pad, GatherND, ..."""

import math

import numpy as np
import torch
import torch.nn.functional as F


def _dropout(
    x: torch.Tensor, ratio: torch.Tensor | float, training: torch.Tensor, seed: int | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """
    ONNX Dropout: the identity unless training_mode is set and the ratio is not
    0; then elements are kept where numpy's RandomState(seed) draws a uniform
    number >= ratio, and scaled by 1 / (1 - ratio): ONNX's reference, draw for draw.
    """
    if not bool(training) or float(ratio) == 0.0:
        return x, torch.ones(x.shape, dtype=torch.bool)
    draws = np.random.RandomState(seed).uniform(0, 1.0, tuple(x.shape))
    mask = torch.from_numpy(draws >= float(ratio))
    scale = torch.reciprocal(torch.sub(1.0, torch.as_tensor(ratio)))
    return x * mask * scale, mask


def _slice(x: torch.Tensor, starts: list, ends: list, axes, steps) -> torch.Tensor:
    """ONNX Slice with bounds known at run time: clamped as ONNX clamps them."""
    axes = list(range(len(starts))) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=False):
        axis = axis % x.dim()
        size = x.shape[axis]
        start = start + size if start < 0 else start
        end = end + size if end < 0 else end
        if step > 0:
            start, end = min(max(start, 0), size), min(max(end, 0), size)
        elif step < 0:  # torch has no negative steps: slice the flipped axis forward
            x = x.flip(axis)
            start = size - 1 - min(max(start, 0), size - 1)
            end = size - 1 - min(max(end, -1), size - 1)
            step = -step
        else:
            raise ValueError(f"Slice: step 0 on axis {axis}")
        x = x[(slice(None),) * axis + (slice(start, end, step),)]
    return x


def _pad(x: torch.Tensor, pads: list, value, mode: str, axes: list) -> torch.Tensor:
    """ONNX Pad: pads are (begin..., end...) for `axes`; negative pads crop."""
    for i, axis in enumerate(axes):
        axis = axis % x.dim()
        begin, end = pads[i], pads[i + len(axes)]
        if begin == 0 and end == 0:
            continue
        if mode == "constant":
            x = F.pad(x, [0, 0] * (x.dim() - 1 - axis) + [begin, end], value=value)
            continue
        size = x.shape[axis]
        index = torch.arange(-begin, size + end)
        if mode == "edge":
            index = index.clamp(0, size - 1)
        elif mode == "wrap":
            index = index.remainder(size)
        else:  # reflect: mirrored about the first and the last element
            period = max(2 * (size - 1), 1)
            index = index.abs().remainder(period)
            index = torch.where(index >= size, period - index, index)
        x = x.index_select(axis, index)
    return x


def _reshape(x: torch.Tensor, shape: torch.Tensor, allowzero: bool) -> torch.Tensor:
    """ONNX Reshape to a shape computed at run time: a 0 copies the input's size unless
    `allowzero`, a -1 is inferred."""
    sizes = [int(size) for size in shape.tolist()]
    if not allowzero:
        sizes = [x.shape[i] if size == 0 else size for i, size in enumerate(sizes)]
    return x.reshape(sizes)


def _reverse_sequence(
    x: torch.Tensor, lens: torch.Tensor, batch_axis: int, time_axis: int
) -> torch.Tensor:
    """ONNX ReverseSequence: for each batch entry b, its first lens[b] steps in reverse."""
    out = x.clone()
    for entry, length in enumerate(lens.tolist()):
        steps = x.narrow(batch_axis, entry, 1).narrow(time_axis, 0, length)
        out.narrow(batch_axis, entry, 1).narrow(time_axis, 0, length).copy_(steps.flip(time_axis))
    return out


def _expand(x: torch.Tensor, shape: torch.Tensor) -> torch.Tensor:
    """ONNX Expand to a shape computed at run time: two-way broadcasting (a view)."""
    return torch.broadcast_to(x, torch.broadcast_shapes(x.shape, tuple(shape.tolist())))


def _constant_of_shape(shape: torch.Tensor, fill: float | int | bool, dtype: torch.dtype):
    """ONNX ConstantOfShape of a shape computed at run time: `fill` everywhere."""
    return torch.full([int(size) for size in shape.tolist()], fill, dtype=dtype)


def _has_element(optional: object) -> torch.Tensor:
    """ONNX OptionalHasElement of an optional value (None when empty)."""
    return torch.tensor(optional is not None)


def _get_element(optional: object) -> object:
    """ONNX OptionalGetElement: the value of a non-empty optional."""
    if optional is None:
        raise ValueError("OptionalGetElement of an empty optional")
    return optional


def _range(
    start: torch.Tensor, limit: torch.Tensor, delta: torch.Tensor, dtype: torch.dtype
) -> torch.Tensor:
    """
    ONNX Range whose bounds, and so its length, are known only at run time:
    `start + i * delta` for i below max(ceil((limit - start) / delta), 0), in
    float64 for floats (as the reference's `np.arange`), then in `dtype`.
    """
    if dtype.is_floating_point:
        first, last, step = float(start), float(limit), float(delta)
        count = max(math.ceil((last - first) / step), 0)
        steps = torch.arange(count, dtype=torch.float64)
        return torch.add(torch.mul(steps, step), first).to(dtype)
    first, last, step = int(start), int(limit), int(delta)
    count = max(-((first - last) // step), 0)  # the ceiling of an exact integer division
    return torch.add(torch.mul(torch.arange(count, dtype=dtype), step), first)


def _gather_nd(data: torch.Tensor, indices: torch.Tensor, batch_dims: int) -> torch.Tensor:
    """ONNX GatherND: index the dimensions after `batch_dims` with the last axis of `indices`."""
    batch = [
        torch.arange(size).reshape([-1] + [1] * (indices.dim() - 2 - axis))
        for axis, size in enumerate(indices.shape[:batch_dims])
    ]
    return data[tuple(batch) + tuple(indices.long().unbind(-1))]


def _scatter_nd(
    data: torch.Tensor, indices: torch.Tensor, updates: torch.Tensor, reduce: str | None
) -> torch.Tensor:
    """ONNX ScatterND: the rows `indices` names in the leading axes of `data` get `updates`."""
    depth = indices.shape[-1]
    rows = data.reshape((-1, *data.shape[depth:]))
    strides = [*torch.tensor(data.shape[:depth]).flip(0).cumprod(0).flip(0).tolist()[1:], 1]
    indices = indices.long()
    sizes = torch.tensor(data.shape[:depth])
    position = torch.where(indices < 0, indices + sizes, indices)
    flat = (position * torch.tensor(strides)).sum(-1).reshape(-1)
    values = updates.reshape((-1, *data.shape[depth:]))
    if reduce is None:
        return rows.index_copy(0, flat, values).reshape(data.shape)
    index = flat.reshape((-1,) + (1,) * (values.dim() - 1)).expand(values.shape)
    return rows.scatter_reduce(0, index, values, reduce).reshape(data.shape)


def _pool_indices(
    plane: torch.Tensor, padded: list, begin: list, size: list, column_major: bool
) -> torch.Tensor:
    """
    MaxPool's Indices as ONNX counts them: torch's index into one (padded) plane
    of the input becomes an index into the whole unpadded input, flattened in
    row-major (or, with storage_order=1, column-major) order per plane.
    """
    coords = []
    for extent in reversed(padded):
        coords.append(torch.remainder(plane, extent))
        plane = torch.div(plane, extent, rounding_mode="floor")
    coords = [c - b for c, b in zip(reversed(coords), begin, strict=False)]
    axes = reversed(range(len(size))) if column_major else range(len(size))
    flat = torch.zeros_like(coords[0])
    for axis in axes:
        flat = flat * size[axis] + coords[axis]
    planes = flat.shape[0] * flat.shape[1]
    offsets = torch.arange(planes).reshape(*flat.shape[:2], *[1] * len(size))
    return flat + offsets * math.prod(size)


def _scan_output(
    items: list[torch.Tensor], shape: tuple[int, ...], dtype: torch.dtype, node: str
) -> torch.Tensor:
    """A Loop scan output: its per-iteration values stacked along a new axis 0."""
    if len(items) != shape[0]:
        raise RuntimeError(
            f"Loop node {node!r} ran {len(items)} iterations, but its scan outputs were "
            f"compiled for {shape[0]} (the static shape of the model); this input "
            "needs a model with a different declared shape"
        )
    return torch.stack(items) if items else torch.empty(shape, dtype=dtype)
