"""
Neural-network operators written with faster eager ops than PyTorch's own kernel.

`F.local_response_norm` sums the squares over channels with `avg_pool3d`, which
runs on one thread and took 3.2 ms of inception_v1's 19.7 ms for one call; the
same sum as `size` in-place additions of channel-shifted slices takes 0.3 ms.
"""

import torch


def _local_response_norm(
    x: torch.Tensor, size: int, alpha: float, beta: float, bias: float
) -> torch.Tensor:
    """
    ONNX LRN over axis 1: each element divided by (bias + alpha / size * the sum of
    the squares over channels [c - floor((size-1)/2), c + ceil((size-1)/2)]) ** beta,
    the window clipped at the edges. Works in any memory format.
    """
    squares = x * x
    total = squares.clone()
    channels = x.shape[1]
    before = (size - 1) // 2
    for offset in range(-before, size - before):
        low, high = max(0, -offset), min(channels, channels - offset)
        if offset != 0 and high > low:
            total.narrow(1, low, high - low).add_(squares.narrow(1, low + offset, high - low))
    total.mul_(alpha / size).add_(bias).pow_(beta)
    return torch.div(x, total, out=total)
