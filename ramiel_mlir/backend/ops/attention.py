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
from ramiel_mlir.backend.runtime_source import runtime_module
from ramiel_mlir.tensors import element_type_from_onnx, numpy_dtype, torch_dtype_name

runtime = runtime_module("attention")
"""The runtime functions this file's lowerings call."""


def _scale(ctx: NodeContext, head_size: int) -> float:
    """sqrt(scale) in Q's type, as the reference applies it to both Q and K."""
    scale = ctx.attr_float("scale")
    value = 1 / np.sqrt(head_size) if scale is None else scale
    dtype = numpy_dtype(ctx.in_type(0).get_element_type())
    return float(dtype.type(np.sqrt(value)))


@lowering("Attention")
def _attention(ctx: NodeContext) -> list[SSAValue | None]:
    q_shape = ctx.in_shape(0)
    q_heads = ctx.attr_int("q_num_heads")
    kv_heads = ctx.attr_int("kv_num_heads")
    if len(q_shape) == 3:
        if q_heads is None or kv_heads is None:
            ctx.error("3-D inputs need q_num_heads and kv_num_heads")
        head_size = q_shape[2] // q_heads
    elif len(q_shape) == 4:
        head_size = q_shape[3]
    else:
        ctx.unsupported(f"rank-{len(q_shape)} inputs")
    mode = ctx.attr_int("qk_matmul_output_mode", 0)
    if mode not in (0, 1, 2, 3):
        ctx.unsupported(f"qk_matmul_output_mode={mode}")
    if ctx.has(4) != ctx.has(5):
        ctx.error("past_key and past_value must be given together")
    precision = ctx.attr_int("softmax_precision")
    softmax_dtype: SSAValue | None = None
    if precision is not None:
        element = element_type_from_onnx(precision)
        if element is None:
            ctx.unsupported(f"softmax_precision={precision}")
        softmax_dtype = ctx.b.name(f"torch.{torch_dtype_name(element)}")
    softcap = ctx.attr_float("softcap")
    inputs = [ctx.arg(i) if ctx.has(i) else None for i in range(7)]
    results = ctx.b.call_n(
        ctx.helper(runtime._attention),
        4,
        *inputs,
        scale=_scale(ctx, head_size),
        causal=bool(ctx.attr("is_causal", 0)),
        q_heads=q_heads,
        kv_heads=kv_heads,
        softcap=softcap,
        softmax_dtype=softmax_dtype,
        mode=mode,
        left=ctx.attr_int("left_window_size", -1),
        right=ctx.attr_int("right_window_size", -1),
    )
    return list(results[: len(ctx.node.outputs)])


@lowering("RotaryEmbedding")
def _rotary_embedding(ctx: NodeContext) -> list[SSAValue]:
    """Rotary position embedding (opset 23), halves or interleaved pairs rotated."""
    if ctx.rank(0) not in (3, 4):
        ctx.unsupported(f"a rank-{ctx.rank(0)} input")
    heads = ctx.attr_int("num_heads", 0)
    if ctx.rank(0) == 3 and not heads:
        ctx.error("a 3-D input needs num_heads")
    positions = ctx.arg(3) if ctx.has(3) else None
    return [
        ctx.b.call(
            ctx.helper(runtime._rotary_embedding),
            ctx.arg(0),
            ctx.arg(1),
            ctx.arg(2),
            positions,
            bool(ctx.attr("interleaved", 0)),
            ctx.attr_int("rotary_embedding_dim", 0),
            heads,
        )
    ]
