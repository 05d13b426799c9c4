"""
Lowering `dfg.fork` and `dfg.join`: the batch split of `hypercluster`.

A fork becomes one `torch.split` along axis 0 whose slices are views of the
input (no copy), emitted in each lane where the slices are first read; a join
becomes `torch.cat` of the parts along axis 0.
"""

from __future__ import annotations

from collections.abc import Callable

from xdsl.dialects.builtin import TensorType
from xdsl.ir import SSAValue

from ramiel_mlir.backend.builder import PyBuilder
from ramiel_mlir.dialects import dfg


def lower_fork(
    fork: dfg.ForkOp,
    b: PyBuilder,
    arg: Callable[[SSAValue], SSAValue],
    values: dict[SSAValue, SSAValue],
) -> None:
    """`x_part0, x_part1, ... = torch.split(x, sizes)`: views of the batch slices."""
    sizes: list[int] = []
    for part in fork.slices:
        assert isinstance(part.type, TensorType)
        sizes.append(part.type.get_shape()[0])
    size: int | list[int] = sizes[0] if len(set(sizes)) == 1 else sizes
    b.comment(f"batch split into {len(sizes)} slices (dfg.fork)")
    results = b.call_n("torch.split", len(sizes), arg(fork.input), size)
    for part, result in zip(fork.slices, results, strict=True):
        result.name_hint = part.name_hint
        values[part] = result


def lower_join(
    join: dfg.JoinOp,
    b: PyBuilder,
    arg: Callable[[SSAValue], SSAValue],
    values: dict[SSAValue, SSAValue],
) -> None:
    """`y = torch.cat([y_part0, y_part1, ...])`: the batch slices concatenated."""
    b.comment(f"batch join of {len(join.parts)} slices (dfg.join)")
    result = b.call("torch.cat", b.list([arg(part) for part in join.parts]))
    result.name_hint = join.result.name_hint
    values[join.result] = result
