"""
ONNX DFT, with numpy's FFT in the input's precision as ONNX's reference does.

Torch's FFT (MKL) rounds differently, and the ONNX suite checks near-zero
imaginary parts to 1e-7, below float32 FFT noise.
"""

import numpy as np
import torch


def _dft(x: torch.Tensor, length, axis: int, inverse: bool, onesided: bool) -> torch.Tensor:
    """ONNX DFT of a (..., 1) real or (..., 2) complex tensor along `axis`."""
    axis = axis % x.dim()
    data = x.numpy(force=True)
    signal = data[..., 0] if data.shape[-1] == 1 else data[..., 0] + 1j * data[..., 1]
    if length is None:
        length = 2 * (x.shape[axis] - 1) if inverse and onesided else x.shape[axis]
    if inverse and onesided:
        real = np.fft.irfft(signal, n=length, axis=axis)[..., None]
        return torch.from_numpy(real.astype(data.dtype))
    if inverse:
        result = np.fft.ifft(signal, n=length, axis=axis)
    else:
        result = np.fft.fft(signal, n=length, axis=axis)
        if onesided:
            result = result.take(range(length // 2 + 1), axis)
    return torch.from_numpy(np.stack([result.real, result.imag], -1).astype(data.dtype))
