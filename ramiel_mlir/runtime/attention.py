"""
ONNX Attention (opsets 23 to 25) and RotaryEmbedding.

Attention is a case analysis (3-D or 4-D inputs, a float or boolean mask shorter
than the keys, causal masking offset by a cache, sliding windows, grouped
key/value heads, softcap, four kinds of `qk_matmul_output`); `_attention`
follows the steps of ONNX's reference implementation, in torch, so that every
case, including fully masked rows (zero, not NaN), means what ONNX says.
"""

import torch
import torch.nn.functional as F


def _attention_bias(
    base: torch.Tensor, offset: torch.Tensor | int, left: int, right: int, causal: bool
) -> torch.Tensor:
    """`base` plus -inf where a query may not see a key: causal, and outside the window."""
    q_len, kv_len = base.shape[-2:]
    rows = torch.arange(q_len).reshape(q_len, 1)
    columns = torch.arange(kv_len).reshape(1, kv_len)
    per_batch = isinstance(offset, torch.Tensor)
    shift = offset.reshape(-1, 1, 1) if isinstance(offset, torch.Tensor) else offset
    diff = (rows + shift) - columns
    if causal:
        allowed = diff >= 0
    else:
        allowed = torch.ones_like(diff, dtype=torch.bool)
        if left >= 0:
            allowed = allowed & (diff <= left)
        if right >= 0:
            allowed = allowed & (-diff <= right)
    bias = torch.where(allowed, 0.0, float("-inf")).to(base.dtype)
    if per_batch:
        bias = bias.reshape(bias.shape[0], 1, q_len, kv_len)
    return base + bias


def _attention_mask(
    mask: torch.Tensor | None,
    q_len: int,
    kv_len: int,
    dtype: torch.dtype,
    past_key: torch.Tensor | None,
    nonpad: torch.Tensor | None,
    causal: bool,
    left: int,
    right: int,
) -> torch.Tensor:
    """The additive bias of the scores: the mask, causal masking, the window and padding."""
    bias = torch.zeros(q_len, kv_len, dtype=dtype)
    if mask is not None and mask.shape[-1] < kv_len:
        fill = False if mask.dtype == torch.bool else float("-inf")
        mask = F.pad(mask, [0, kv_len - mask.shape[-1]], value=fill)
    if mask is not None and mask.dtype == torch.bool:
        mask = torch.where(mask, 0.0, float("-inf")).to(dtype)
    windowed = left >= 0 or right >= 0
    offset: torch.Tensor | int
    if past_key is None and nonpad is not None:
        offset = nonpad.reshape(-1) - q_len  # the external cache: per batch
    else:
        offset = past_key.shape[2] if past_key is not None else 0
    if causal:
        base = bias if mask is None else mask
        if windowed:
            base = bias + base
        bias = _attention_bias(base, offset, -1, -1, True)
    elif mask is not None:
        bias = bias + mask
    if windowed:
        bias = bias + torch.zeros(q_len, kv_len, dtype=dtype)
        bias = _attention_bias(bias, offset, left, right, False)
    if nonpad is not None:
        padding = torch.arange(kv_len) < nonpad.reshape(-1, 1)
        padding = torch.where(padding, 0.0, float("-inf")).to(bias.dtype)
        bias = bias + padding.reshape(-1, 1, 1, kv_len)
    return bias


def _attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None,
    past_key: torch.Tensor | None,
    past_value: torch.Tensor | None,
    nonpad: torch.Tensor | None,
    scale: float,
    causal: bool,
    q_heads: int | None,
    kv_heads: int | None,
    softcap: float | None,
    softmax_dtype: torch.dtype | None,
    mode: int,
    left: int,
    right: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """ONNX Attention: the reference implementation's steps, in torch."""
    three_d = q.dim() == 3
    if three_d:
        if q_heads is None or kv_heads is None:
            raise ValueError("Attention: 3-D inputs need q_num_heads and kv_num_heads")
        batch = q.shape[0]
        q = q.reshape(batch, q.shape[1], q_heads, -1).transpose(1, 2)
        k = k.reshape(batch, k.shape[1], kv_heads, -1).transpose(1, 2)
        v = v.reshape(batch, v.shape[1], kv_heads, -1).transpose(1, 2)
    if past_key is not None and past_value is not None:
        k = torch.cat([past_key, k], 2)
        v = torch.cat([past_value, v], 2)
    present_key, present_value = k, v
    bias = _attention_mask(
        mask, q.shape[2], k.shape[2], q.dtype, past_key, nonpad, causal, left, right
    )
    heads = q_heads if q_heads is not None else q.shape[1]
    kv = kv_heads if kv_heads is not None else k.shape[1]
    if heads != kv and heads % kv == 0:
        k = k.repeat_interleave(heads // kv, 1)
        v = v.repeat_interleave(heads // kv, 1)
    qk = torch.matmul(q * scale, k.transpose(2, 3) * scale)
    if softcap is not None and softcap > 0:
        qk = torch.tanh(qk / softcap) * softcap
    scores = qk + bias
    if mode == 2:
        qk = scores
    if softmax_dtype is not None:
        scores = scores.to(softmax_dtype)
    peak = scores.amax(-1, keepdim=True)
    peak = torch.where(torch.isneginf(peak), torch.zeros_like(peak), peak)
    exp = torch.exp(scores - peak)
    total = exp.sum(-1, keepdim=True)
    probs = exp / torch.where(total == 0, torch.ones_like(total), total)
    # A query whose every key is masked attends to nothing: zeros, not NaN.
    masked = torch.isneginf(bias.amax(-1, keepdim=True))
    probs = torch.where(masked, torch.zeros_like(probs), probs)
    if mode == 3:
        qk = probs
    y = torch.matmul(probs.to(q.dtype), v)
    if three_d:
        y = y.transpose(1, 2).reshape(y.shape[0], y.shape[2], -1)
    return y, present_key, present_value, qk.to(q.dtype)


def _rotary_embedding(
    x: torch.Tensor,
    cos: torch.Tensor,
    sin: torch.Tensor,
    positions: torch.Tensor | None,
    interleaved: bool,
    dim: int,
    heads: int,
) -> torch.Tensor:
    """ONNX RotaryEmbedding: rotate the first `dim` features of every head by position."""
    shape = x.shape
    if x.dim() == 4:  # (batch, heads, sequence, head size) -> (batch, sequence, heads, ...)
        x = x.transpose(1, 2)
    else:
        x = x.reshape(shape[0], shape[1], heads, -1)
    dim = dim or x.shape[3]
    rotated, kept = x[..., :dim], x[..., dim:]
    if positions is not None:
        cos, sin = cos[positions], sin[positions]
    cos, sin = cos.unsqueeze(2), sin.unsqueeze(2)
    if interleaved:
        x1, x2 = rotated[..., 0::2], rotated[..., 1::2]
    else:
        x1, x2 = rotated.chunk(2, -1)
    real = cos * x1 - sin * x2
    imaginary = sin * x1 + cos * x2
    if interleaved:
        rotated = torch.stack([real, imaginary], -1).reshape(rotated.shape)
    else:
        rotated = torch.cat([real, imaginary], -1)
    y = torch.cat([rotated, kept], -1)
    return y.reshape(shape) if len(shape) == 3 else y.transpose(1, 2)
