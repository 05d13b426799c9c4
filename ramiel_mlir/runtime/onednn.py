"""
Convolutions on oneDNN with weights packed once (`prepack-weights`).

A generated `Model` with such convolutions has a `_pack_weights` method that
reorders each of their weights into oneDNN's blocked format. It runs at the end of
`__init__` and again after every `load_state_dict`, through this hook, so the
packed copies always follow the loaded weights.
"""

from typing import Any

import torch


def _pack_after_load(module: torch.nn.Module, incompatible_keys: Any) -> None:
    """Pack the convolution weights again: `load_state_dict` has just replaced them."""
    getattr(module, "_pack_weights")()  # noqa: B009 (a method of the generated class)


def _onednn_conv(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    *,
    padding: tuple[int, ...],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
    groups: int,
    post_op: str = "none",
    scalars: tuple[float, ...] = (),
) -> torch.Tensor:
    """
    A convolution on oneDNN with `weight` packed by `_pack_weights` and `post_op` (a
    ReLU, a clip as "hardtanh", ...) fused into it. The op is called with positional
    arguments: it parses keywords in C++, which costs about 1.5 us of a 20 us call.
    """
    return torch.ops.mkldnn._convolution_pointwise.default(
        x, weight, bias, padding, stride, dilation, groups, post_op, scalars, None
    )


def _onednn_linear(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    *,
    post_op: str = "none",
    scalars: tuple[float, ...] = (),
) -> torch.Tensor:
    """
    oneDNN's matrix product of `x`'s last axis with the packed `weight`, `post_op` fused
    into it (positional arguments, as `_onednn_conv`).
    """
    return torch.ops.mkldnn._linear_pointwise.default(x, weight, bias, post_op, scalars, None)
