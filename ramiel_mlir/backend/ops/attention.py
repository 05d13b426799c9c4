"""
ONNX Attention (opsets 23 to 25) as one helper function of the generated file.

The operator is a case analysis (3-D or 4-D inputs, a float or boolean mask
shorter than the keys, causal masking offset by a cache, sliding windows,
grouped key/value heads, softcap, four kinds of `qk_matmul_output`); the helper
follows the steps of ONNX's reference implementation, in torch, so that
every case, including fully masked rows (zero, not NaN), means what ONNX says.
The scale is computed at compile time exactly as the reference computes it.
"""

from __future__ import annotations

import numpy as np
from xdsl.ir import SSAValue

from ramiel_mlir.backend.context import NodeContext
from ramiel_mlir.backend.ops import lowering
from ramiel_mlir.tensors import element_type_from_onnx, numpy_dtype, torch_dtype_name

ATTENTION = '''\
def _attention_bias(base, offset, left: int, right: int, causal: bool):
    """`base` plus -inf where a query may not see a key: causal, and outside the window."""
    q_len, kv_len = base.shape[-2:]
    rows = torch.arange(q_len).reshape(q_len, 1)
    columns = torch.arange(kv_len).reshape(1, kv_len)
    per_batch = isinstance(offset, torch.Tensor)
    diff = (rows + (offset.reshape(-1, 1, 1) if per_batch else offset)) - columns
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


def _attention(
    q, k, v, mask, past_key, past_value, nonpad, scale: float, causal: bool,
    q_heads, kv_heads, softcap, softmax_dtype, mode: int, left: int, right: int,
):
    """ONNX Attention: the reference implementation's steps, in torch."""
    three_d = q.dim() == 3
    if three_d:
        batch = q.shape[0]
        q = q.reshape(batch, q.shape[1], q_heads, -1).transpose(1, 2)
        k = k.reshape(batch, k.shape[1], kv_heads, -1).transpose(1, 2)
        v = v.reshape(batch, v.shape[1], kv_heads, -1).transpose(1, 2)
    if past_key is not None:
        k = torch.cat([past_key, k], 2)
        v = torch.cat([past_value, v], 2)
    present_key, present_value = k, v
    q_len, kv_len = q.shape[2], k.shape[2]
    bias = torch.zeros(q_len, kv_len, dtype=q.dtype)
    if mask is not None and mask.shape[-1] < kv_len:
        fill = False if mask.dtype == torch.bool else float("-inf")
        mask = F.pad(mask, [0, kv_len - mask.shape[-1]], value=fill)
    if mask is not None and mask.dtype == torch.bool:
        mask = torch.where(mask, 0.0, float("-inf")).to(q.dtype)
    windowed = left >= 0 or right >= 0
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
        bias = bias + torch.zeros(q_len, kv_len, dtype=q.dtype)
        bias = _attention_bias(bias, offset, left, right, False)
    if nonpad is not None:
        padding = torch.arange(kv_len) < nonpad.reshape(-1, 1)
        padding = torch.where(padding, 0.0, float("-inf")).to(bias.dtype)
        bias = bias + padding.reshape(-1, 1, 1, kv_len)
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
'''


def _scale(ctx: NodeContext, head_size: int) -> float:
    """sqrt(scale) in Q's type, as the reference applies it to both Q and K."""
    scale = ctx.attr("scale", None)
    value = 1 / np.sqrt(head_size) if scale is None else float(scale)  # type: ignore[arg-type]
    dtype = numpy_dtype(ctx.in_type(0).get_element_type())
    return float(dtype.type(np.sqrt(value)))


@lowering("Attention")
def _attention(ctx: NodeContext) -> list[SSAValue | None]:
    q_shape = ctx.in_shape(0)
    q_heads = ctx.attr("q_num_heads", None)
    kv_heads = ctx.attr("kv_num_heads", None)
    if len(q_shape) == 3:
        if q_heads is None or kv_heads is None:
            ctx.error("3-D inputs need q_num_heads and kv_num_heads")
        head_size = q_shape[2] // int(q_heads)  # type: ignore[arg-type]
    elif len(q_shape) == 4:
        head_size = q_shape[3]
    else:
        ctx.unsupported(f"rank-{len(q_shape)} inputs")
    mode = int(ctx.attr("qk_matmul_output_mode", 0))  # type: ignore[arg-type]
    if mode not in (0, 1, 2, 3):
        ctx.unsupported(f"qk_matmul_output_mode={mode}")
    if ctx.has(4) != ctx.has(5):
        ctx.error("past_key and past_value must be given together")
    precision = ctx.attr("softmax_precision", None)
    softmax_dtype: SSAValue | None = None
    if precision is not None:
        element = element_type_from_onnx(int(precision))  # type: ignore[arg-type]
        if element is None:
            ctx.unsupported(f"softmax_precision={precision}")
        softmax_dtype = ctx.b.name(f"torch.{torch_dtype_name(element)}")
    softcap = ctx.attr("softcap", None)
    ctx.helper(ATTENTION)
    inputs = [ctx.arg(i) if ctx.has(i) else None for i in range(7)]
    results = ctx.b.call_n(
        "_attention",
        4,
        *inputs,
        scale=_scale(ctx, head_size),
        causal=bool(ctx.attr("is_causal", 0)),
        q_heads=q_heads,  # type: ignore[arg-type]
        kv_heads=kv_heads,  # type: ignore[arg-type]
        softcap=None if softcap is None else float(softcap),  # type: ignore[arg-type]
        softmax_dtype=softmax_dtype,
        mode=mode,
        left=int(ctx.attr("left_window_size", -1)),  # type: ignore[arg-type]
        right=int(ctx.attr("right_window_size", -1)),  # type: ignore[arg-type]
    )
    return list(results[: len(ctx.node.outputs)])


ROTARY = '''\
def _rotary_embedding(x, cos, sin, positions, interleaved: bool, dim: int, heads: int):
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
'''


@lowering("RotaryEmbedding")
def _rotary_embedding(ctx: NodeContext) -> list[SSAValue]:
    """Rotary position embedding (opset 23), halves or interleaved pairs rotated."""
    if ctx.rank(0) not in (3, 4):
        ctx.unsupported(f"a rank-{ctx.rank(0)} input")
    heads = int(ctx.attr("num_heads", 0))  # type: ignore[arg-type]
    if ctx.rank(0) == 3 and not heads:
        ctx.error("a 3-D input needs num_heads")
    ctx.helper(ROTARY)
    positions = ctx.arg(3) if ctx.has(3) else None
    return [
        ctx.b.call(
            "_rotary_embedding",
            ctx.arg(0),
            ctx.arg(1),
            ctx.arg(2),
            positions,
            bool(ctx.attr("interleaved", 0)),
            int(ctx.attr("rotary_embedding_dim", 0)),  # type: ignore[arg-type]
            heads,
        )
    ]
