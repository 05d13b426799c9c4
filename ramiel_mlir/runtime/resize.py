"""
ONNX Resize (opsets 10 to 19) and Upsample.

Resize is separable: each resized axis is interpolated on its own, every output
position taking a few neighbours (1-D kernels of 2 or 4 taps, wider when
antialiasing) with coefficients that depend on the mode, the coordinate
transformation and the scale. Scales, sizes and the region of interest are
inputs that a model may compute, so positions and coefficients are computed
when the code runs, in float64, as ONNX's reference implementation does, then
cast back to the input's type.
"""

import torch


def _resize_coefficients(
    ratios: torch.Tensor, scale: float, mode: str, nearest: str, a: float, antialias: bool
) -> torch.Tensor:
    """The kernel taps of every output position: [outputs, taps] (float64)."""
    r = ratios[:, None]
    if mode == "nearest":
        if nearest == "round_prefer_floor":
            right = r > 0.5
        elif nearest == "round_prefer_ceil":
            right = r >= 0.5
        elif nearest == "simple":  # Resize-10, Upsample: floor, but ceil when downsampling
            right = torch.full_like(r, scale < 1, dtype=torch.bool)
        else:
            right = torch.full_like(r, nearest == "ceil", dtype=torch.bool)
        right = right | (r == 1.0)  # an exact input position: itself
        return torch.cat([(~right).double(), right.double()], 1)
    if not antialias:
        if mode == "linear":
            return torch.cat([1 - r, r], 1)
        s = 1 - r
        return torch.cat(
            [
                ((a * (r + 1) - 5 * a) * (r + 1) + 8 * a) * (r + 1) - 4 * a,
                ((a + 2) * r - (a + 3)) * r * r + 1,
                ((a + 2) * s - (a + 3)) * s * s + 1,
                ((a * (s + 1) - 5 * a) * (s + 1) + 8 * a) * (s + 1) - 4 * a,
            ],
            1,
        )
    scale = min(scale, 1.0)
    if mode == "linear":
        start = int(-1 / scale // 1) + 1
        taps = torch.arange(start, 2 - start, dtype=torch.float64)
        weights = (1 - ((taps - r) * scale).abs()).clamp(0, 1)
    else:
        start = int(-2 / scale // 1) + 1
        x = ((torch.arange(start, 2 - start, dtype=torch.float64) - r) * scale).abs()
        near = (a + 2) * x**3 - (a + 3) * x**2 + 1
        far = a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a
        weights = torch.where(x <= 1, near, torch.where(x < 2, far, torch.zeros_like(x)))
    return weights / weights.sum(1, keepdim=True)


def _resize_axis(
    data: torch.Tensor, axis: int, scale: float, size: int, roi, options: dict
) -> torch.Tensor:
    """Interpolate `data` along one axis to `size` positions."""
    width = data.shape[axis]
    scaled = scale * width
    y = torch.arange(size, dtype=torch.float64)
    mode = options["coordinate"]
    outside = None
    if mode == "align_corners":
        x = y * 0.0 if scaled == 1 else y * (width - 1) / (scaled - 1)
    elif mode == "asymmetric":
        x = y / scale
    elif mode == "tf_crop_and_resize":
        low, high = roi
        if scaled == 1:
            x = torch.full((size,), (high - low) * (width - 1) / 2, dtype=torch.float64)
        else:
            x = y * (high - low) * (width - 1) / (scaled - 1)
        x = x + low * (width - 1)
        outside = (x < 0) | (x > width - 1)
    elif mode == "pytorch_half_pixel":
        x = y * 0.0 - 0.5 if scaled == 1 else (y + 0.5) / scale - 0.5
    elif mode == "half_pixel":
        x = (y + 0.5) / scale - 0.5
    else:  # half_pixel_symmetric
        offset = width / 2 * (1 - size / scaled)
        x = offset + (y + 0.5) / scale - 0.5
    floor = torch.floor(x)
    ratios = torch.where(x == floor, 1.0, x - floor)
    coefficients = _resize_coefficients(
        ratios, scale, options["mode"], options["nearest"], options["a"], options["antialias"]
    )
    taps = coefficients.shape[1]
    pad = (taps + 1) // 2
    padded = x + pad
    p = torch.floor(padded)
    frac = padded - p
    if taps % 2 == 0:
        start = p + torch.where(frac == 0, -(taps // 2), -(taps // 2) + 1)
    else:
        base = -((taps - 1) // 2)
        start = p + torch.where(frac <= 0.5, base, base + 1)
    index = start.long()[:, None] + torch.arange(taps)[None, :] - pad
    if options["exclude_outside"]:
        coefficients = torch.where((index < 0) | (index >= width), 0.0, coefficients)
        total = coefficients.sum(1, keepdim=True)
        coefficients = coefficients / torch.where(total == 0, 1.0, total)
    gathered = data.index_select(axis, index.clamp(0, width - 1).reshape(-1))
    gathered = gathered.reshape((*data.shape[:axis], size, taps, *data.shape[axis + 1 :]))
    shape = (1,) * axis + (size, taps) + (1,) * (data.dim() - axis - 1)
    result = (gathered * coefficients.reshape(shape)).sum(axis + 1)
    if outside is not None:
        mask = outside.reshape((1,) * axis + (size,) + (1,) * (data.dim() - axis - 1))
        result = torch.where(mask, options["extrapolation"], result)
    return result


def _resize_identity(factor: float, size: int, width: int, roi) -> bool:
    """Whether an axis keeps its positions (the reference skips it: math.isclose)."""
    if abs(factor - 1.0) > 1e-9 or size != width:
        return False
    return roi is None or (roi[0] == 0.0 and abs(roi[1] - 1.0) <= 1e-9)


def _resize(x: torch.Tensor, roi, scales, sizes, axes, policy: str, **options) -> torch.Tensor:
    """ONNX Resize: the reference implementation's separable interpolation, in torch."""
    rank = x.dim()
    axes = [a % rank for a in axes] if axes is not None else list(range(rank))
    if sizes is not None:
        factors = [size / x.shape[a] for a, size in zip(axes, sizes, strict=False)]
        if policy != "stretch":
            common = min(factors) if policy == "not_larger" else max(factors)
            factors = [common] * len(axes)
            sizes = [int(common * x.shape[a] + 0.5) for a in axes]
    else:
        factors = list(scales) if len(scales) == len(axes) else [scales[a] for a in axes]
        sizes = [int(f * x.shape[a]) for a, f in zip(axes, factors, strict=False)]
    if roi is not None and len(roi) == 2 * rank and len(axes) != rank:
        roi = [roi[a] for a in axes] + [roi[rank + a] for a in axes]
    result = x.double()
    for i, axis in enumerate(axes):
        axis_roi = None if roi is None else (roi[i], roi[len(axes) + i])
        if _resize_identity(factors[i], sizes[i], result.shape[axis], axis_roi):
            continue
        result = _resize_axis(result, axis, factors[i], sizes[i], axis_roi, options)
    if x.dtype.is_floating_point:
        return result.to(x.dtype)
    info = torch.iinfo(x.dtype)
    return result.clamp(info.min, info.max).to(x.dtype)
