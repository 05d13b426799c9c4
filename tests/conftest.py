"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory shared by the whole session for models built on this machine."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture
def one_intra_op_thread() -> Iterator[None]:
    """
    Torch on one intra-op thread, as lanes of one thread run: a float sum split over
    another thread count may round differently, so bitwise comparisons of serial
    code with such lanes compute both on one thread.
    """
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
