"""
The lanes of a threaded generated file, and the intra-op thread count of a lane.

`_with_threads` runs a lane with the intra-op thread count it was planned with
(one lane on every core, or one thread when the ops are too small to share) and
restores the caller's count.

`_Lanes.run` starts lanes 1..n-1 on worker threads created once, runs lane 0 on
the calling thread, and returns lane 0's result. The first exception raised in
any lane gets a note naming the ONNX node that raised it (looked up in the
file's table of the lines where each node's code starts, so the lanes' code pays
nothing for it), fails every pending channel, so no lane stays blocked, and is
re-raised to the caller once all lanes have stopped. A call's lanes are queued
together, so concurrent calls cannot each hold a worker while waiting for lanes
stuck behind the other call in the queue.

`_keep_freed_memory` makes glibc's allocator keep what lanes free for their next
allocations; `_Lanes` calls it once.
"""

import ctypes
import platform
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor, wait
from typing import Any

import torch


def _with_threads(threads: int, lane: Callable[..., Any], *args: Any) -> Any:
    """Run `lane` with the intra-op thread count it was planned with, then restore the caller's."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return lane(*args)
    finally:
        torch.set_num_threads(previous)


def _keep_freed_memory() -> None:
    """
    Have glibc's malloc serve tensors up to 32 MiB from its heaps and never give freed
    heap memory back to the system (process-wide; nothing on another C library).
    By default each freed tensor above 128 KiB is unmapped and the next one mapped
    again: its pages fault in anew, and unmapping in a threaded process interrupts the
    other cores to flush their TLBs. Two lanes then ran slower together than one
    after the other (two GoogLeNet batch halves: 28.0 ms together, 24.6 ms in turn;
    16.1 ms together with this). The cost is that the process keeps its peak heap.
    """
    if platform.libc_ver()[0] != "glibc":
        return
    trim_threshold, mmap_threshold = -1, -3  # mallopt parameters, glibc's <malloc.h>
    libc = ctypes.CDLL(None)
    libc.mallopt(trim_threshold, 2**31 - 1)
    libc.mallopt(mmap_threshold, 32 * 2**20)  # glibc's upper limit on 64-bit systems


class _Channels:
    """The values that cross lanes during one call: one future per channel."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.error: BaseException | None = None
        self.failing = threading.Lock()
        for name in names:
            setattr(self, name, Future())

    def fail(self, error: BaseException) -> None:
        """Record the first error and wake every lane waiting for a value."""
        with self.failing:
            if self.error is None:
                self.error = error
        for future in vars(self).values():
            if isinstance(future, Future):
                try:
                    future.set_exception(self.error)
                except InvalidStateError:
                    pass  # already set: its value was delivered


def _name_failing_node(
    error: BaseException, lane: Callable[..., Any], nodes: Mapping[int, tuple[str, str]]
) -> None:
    """
    Note on `error` which ONNX node of `lane` raised it: the last node whose code
    starts (`nodes`: line -> (node name, op type)) at or above the failing line.
    """
    code = lane.__code__
    trace = error.__traceback__
    while trace is not None and trace.tb_frame.f_code is not code:
        trace = trace.tb_next
    if trace is None:
        return
    failing = trace.tb_lineno
    where = f"lane {lane.__name__.removeprefix('_lane')}, line {failing}"
    starts = [line for line in nodes if code.co_firstlineno < line <= failing]
    if not starts:
        error.add_note(f"in {where}")
        return
    node, op_type = nodes[max(starts)]
    error.add_note(f"in ONNX node '{node}' ({op_type}), {where}")


class _Lanes:
    """Lanes 1..n-1 on worker threads started once; lane 0 runs on the caller."""

    def __init__(self, workers: int, threads: int, nodes: Mapping[int, tuple[str, str]]) -> None:
        _keep_freed_memory()
        self.threads = threads
        self.nodes = nodes
        self.pool = ThreadPoolExecutor(
            workers, "ramiel-lane", initializer=torch.set_num_threads, initargs=(threads,)
        )
        self.queueing = threading.Lock()

    def run(self, channels: tuple[str, ...], lanes: list[Callable[..., Any]], *inputs: Any) -> Any:
        """Run one call: every lane with its own inputs; lane 0's result."""
        ch = _Channels(channels)
        workers: list[Future[Any]] = []
        result = None
        try:
            with self.queueing:  # one call's lanes stay together in the queue
                for lane in lanes[1:]:
                    workers.append(self.pool.submit(self._guard, lane, ch, inputs))
            result = _with_threads(self.threads, self._guard, lanes[0], ch, inputs)
        except BaseException as error:
            ch.fail(error)  # also when a lane could not be queued: wake the queued ones
        finally:
            wait(workers)
        if ch.error is not None:
            raise ch.error
        return result

    def _guard(self, lane: Callable[..., Any], ch: _Channels, inputs: tuple[Any, ...]) -> Any:
        try:
            return lane(ch, *inputs)
        except BaseException as error:
            if error is not ch.error:  # raised here, not received from another lane
                _name_failing_node(error, lane, self.nodes)
            ch.fail(error)
            raise
