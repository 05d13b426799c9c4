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
