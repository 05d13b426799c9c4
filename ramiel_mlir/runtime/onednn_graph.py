"""
A lane compiled by oneDNN Graph when the model loads (`fuse-onednn-graph`).

A generated `Model` whose graph the pass marked has a `_compile_lanes` method that
calls `_compile_lane_at_load` on each lane's nodes (`_lane0` for a plan of one lane,
`_lane<i>_nodes` for each lane of several). It runs after every `load_state_dict`
(through `_compile_after_load`), so the compiled lanes always read the loaded weights.

A lane is traced with `torch.jit.trace` on seeded inputs of the compiled shapes, on the
intra-op thread count it runs with, since oneDNN picks its kernels by the thread count.
TorchScript's warnings that it froze a size read from a tensor are silenced: the shapes
are fixed, and the pass admits no op that reads any other value of a tensor. The
fuser is switched on for the first calls, which make and cache the fused plan, and
then put back as it was. The compiled lane replaces the method on this one instance
only if it gives the eager lane's results (within 1e-4 of their largest magnitude) on
those inputs. Where the fuser fails, or for a lane on one thread (`dfg.runtime =
"torchscript"`: the same kernels as the eager lane, so bitwise its results), the plain
TorchScript trace (no fusion, but no Python between the ops either) is tried the same
way; where that fails too, and wherever this PyTorch lacks TorchScript or the fuser,
the eager method stays. What happened is logged (logger `ramiel`, level INFO).
"""

from collections.abc import Sequence
from typing import Any

import torch


def _compile_after_load(module: torch.nn.Module, incompatible_keys: Any) -> None:
    """Compile the lanes again: `load_state_dict` has just replaced the weights they read."""
    getattr(module, "_compile_lanes")()  # noqa: B009 (a method of the generated class)


def _same_results(got: Any, expected: Any) -> None:
    """Raise AssertionError unless `got` matches `expected` within 1e-4 of its scale."""
    pairs = zip(got, expected, strict=True) if isinstance(expected, tuple) else [(got, expected)]
    for value, reference in pairs:
        scale = float(reference.abs().nan_to_num(0.0, 0.0, 0.0).max()) if reference.numel() else 0.0
        torch.testing.assert_close(
            value, reference, rtol=0.0, atol=1e-4 * max(scale, 1e-2), equal_nan=True
        )


def _traced(eager: Any, example: tuple[torch.Tensor, ...], jit: Any, fuse: bool) -> Any:
    """
    `eager` traced on `example` and run three times, checked against `eager` there.
    With `fuse`, the runs profile the trace and make the optimized plan, which oneDNN
    Graph's fuser compiles. Without, the trace runs unoptimized, every call (the graph
    executor's optimizations decompose batch and layer norms, which then round
    otherwise): the eager lane's kernels, bitwise, without Python between them.
    """
    import warnings

    def run(*args: torch.Tensor) -> Any:
        return eager(*args)

    previous = jit.onednn_fusion_enabled()
    try:
        with torch.no_grad(), warnings.catch_warnings(), jit.optimized_execution(fuse):
            warnings.simplefilter("ignore", DeprecationWarning)
            # Sizes read from tensors (`x.shape[1]` in a helper) are frozen: the shapes
            # are fixed at compile time, and fuse-onednn-graph admits no op that reads
            # another value of a tensor.
            warnings.simplefilter("ignore", jit.TracerWarning)
            jit.enable_onednn_fusion(fuse)
            compiled = jit.trace(run, example, check_trace=False)
            for _ in range(3):
                got = compiled(*example)
            _same_results(got, eager(*example))
    finally:
        jit.enable_onednn_fusion(previous)
    if fuse:
        return compiled

    def unoptimized(*args: torch.Tensor) -> Any:
        with jit.optimized_execution(False):
            return compiled(*args)

    return unoptimized


def _compile_lane_at_load(
    module: torch.nn.Module,
    lane: str,
    inputs: Sequence[tuple[tuple[int, ...], torch.dtype]],
    *,
    onednn_graph: bool,
    threads: int,
) -> str:
    """
    Replace `module.<lane>` by its trace compiled by oneDNN Graph (if `onednn_graph`)
    or, where that fails or is not asked for, by the plain TorchScript trace, each
    checked against the eager method on seeded inputs of the `(shape, dtype)`s `inputs`
    gives, all on `threads` intra-op threads (the caller's count is put back); keep
    the eager method if both fail. Returns how the lane runs:
    "onednn_graph", "torchscript" or "eager".
    """
    import logging

    log = logging.getLogger("ramiel")
    module.__dict__.pop(lane, None)  # back to the eager method, if compiled before
    eager = getattr(module, lane)
    generator = torch.Generator().manual_seed(0)
    example = tuple(torch.randn(s, generator=generator, dtype=d) for s, d in inputs)
    jit: Any = getattr(torch, "jit", None)
    if jit is None or not hasattr(jit, "enable_onednn_fusion"):
        log.info("%s stays eager: this torch has no TorchScript oneDNN Graph fuser", lane)
        return "eager"
    ways = ((True, "onednn_graph"), (False, "torchscript"))
    caller_threads = torch.get_num_threads()
    for fuse, how in ways if onednn_graph else ways[1:]:
        try:
            torch.set_num_threads(threads)
            module.__dict__[lane] = _traced(eager, example, jit, fuse)
        except Exception as error:  # any failure leaves the next way, or the eager lane
            text = str(error).strip()
            log.info(
                "%s: %s failed: %s: %s",
                lane,
                "oneDNN Graph" if fuse else "TorchScript",
                type(error).__name__,
                text.splitlines()[0] if text else "",
            )
            continue
        finally:
            torch.set_num_threads(caller_threads)
        log.info("%s runs as %s", lane, how)
        return how
    log.info("%s stays eager", lane)
    return "eager"
