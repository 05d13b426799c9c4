"""
The machine model behind the `flops` cost model, calibrated once per machine.

A node's time is a fixed per-call overhead (the Python + dispatcher cost of one
torch call) plus a roofline term: its compute at the measured rate of each kind
of kernel (convolution, matrix product, max / average pooling, transcendental
functions) or its bytes at the memory bandwidth, whichever takes longer.
`calibrate` measures those rates with a few micro-benchmarks on one intra-op
thread (a fraction of a second), plus the price of handing a value from one
thread to another; `load_machine` caches the result as JSON in
`$RAMIEL_CACHE_DIR/machine.json` (default `~/.cache/ramiel-mlir/machine.json`),
keyed by CPU, core count and torch version.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import os
import platform
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CACHE_VERSION = 3
"""Bump when the benchmarks change so that old caches are recalibrated."""

KINDS = ("conv", "matmul", "max_pool", "avg_pool", "lrn", "special")
"""The kinds of compute work a node can do, each with its own measured rate."""


@dataclass(frozen=True)
class Machine:
    """Measured rates of one machine, on one intra-op thread (G/s = 1e3 per microsecond)."""

    conv_gflops: float
    """Convolution FLOPs (2 per multiply-add) per second."""
    matmul_gflops: float
    """Dense matrix product FLOPs per second."""
    max_pool_gops: float
    """Max-pool window elements (outputs x window size) per second."""
    avg_pool_gops: float
    """Average-pool window elements per second."""
    lrn_gops: float
    """Local response normalisation window elements (elements x size) per second."""
    special_gops: float
    """Transcendental evaluations (exp, log, tanh, pow ...) per second."""
    memory_gbps: float
    """Bytes read plus written per second, for memory-bound ops."""
    op_overhead_us: float
    """The fixed cost of one torch call from Python, with no work in it."""
    edge_cost_us: float
    """Handing a value from one thread to another: a Future set here, awaited there."""

    def rate(self, kind: str) -> float:
        """The throughput of a kind of work (one of `KINDS`), in G/s."""
        return {
            "conv": self.conv_gflops,
            "matmul": self.matmul_gflops,
            "max_pool": self.max_pool_gops,
            "avg_pool": self.avg_pool_gops,
            "lrn": self.lrn_gops,
            "special": self.special_gops,
        }[kind]


def cache_path() -> Path:
    """Where the calibration is cached: `$RAMIEL_CACHE_DIR`, else ~/.cache/ramiel-mlir."""
    root = os.environ.get("RAMIEL_CACHE_DIR") or Path.home() / ".cache" / "ramiel-mlir"
    return Path(root) / "machine.json"


def machine_key() -> dict[str, Any]:
    """What identifies a machine for the cache: its CPU, core count and torch version."""
    return {
        "version": CACHE_VERSION,
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "arch": platform.machine(),
        "torch": importlib.metadata.version("torch"),  # without importing torch
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_machine(*, recalibrate: bool = False) -> Machine:
    """The cached calibration of this machine; calibrate and cache it when missing or stale."""
    path = cache_path()
    key = machine_key()
    if not recalibrate:
        try:
            data = json.loads(path.read_text())
            if data.get("key") == key:
                return Machine(**data["machine"])
        except (OSError, ValueError, KeyError, TypeError):
            pass  # no cache, or one from another version: calibrate afresh
    machine = calibrate()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps({"key": key, "machine": dataclasses.asdict(machine)}, indent=2))
    partial.replace(path)
    return machine


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with `count` intra-op threads, then restore the previous count."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def call_times_us(function: Callable[[], object], repeats: int, warmup: int = 1) -> list[float]:
    """The wall times of `repeats` calls of `function()` in microseconds, after `warmup` calls."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        function()
        times.append((time.perf_counter_ns() - start) / 1e3)
    return times


def calibrate() -> Machine:
    """
    Measure this machine's rates on one intra-op thread (a fraction of a second).

    Kernel times are the fastest of a few runs: on a machine shared with other
    work, the minimum is the estimate least disturbed by preemption.
    """
    import torch
    import torch.nn.functional as F

    with torch_threads(1), torch.inference_mode():
        tiny = torch.ones(1)
        overhead = min(call_times_us(lambda: torch.relu(tiny), repeats=2000, warmup=100))

        def rate(function: Callable[[], object], amount: float, repeats: int) -> float:
            """`amount` of work per second in G/s, net of the call overhead."""
            elapsed = min(call_times_us(function, repeats, warmup=2)) - overhead
            return amount / max(elapsed, 1e-3) / 1e3

        x = torch.randn(1, 64, 28, 28)
        w = torch.randn(64, 64, 3, 3)
        conv = rate(lambda: F.conv2d(x, w, padding=1), 2 * 64 * 28 * 28 * 64 * 9, 9)
        a = torch.randn(256, 256)
        matmul = rate(lambda: torch.mm(a, a), 2 * 256**3, 9)
        y = torch.randn(1, 32, 28, 28)
        window = 9 * y.numel()
        max_pool = rate(lambda: F.max_pool2d(y, 3, stride=1, padding=1), window, 9)
        avg_pool = rate(lambda: F.avg_pool2d(y, 3, stride=1, padding=1), window, 9)
        lrn = rate(lambda: F.local_response_norm(y, 5), 5 * y.numel(), 9)
        special = rate(lambda: torch.exp(y), y.numel(), 15)
        u, v = torch.randn(1 << 18), torch.randn(1 << 18)
        memory = rate(lambda: torch.add(u, v), 3 * 4 * u.numel(), 25)
    return Machine(
        conv_gflops=conv,
        matmul_gflops=matmul,
        max_pool_gops=max_pool,
        avg_pool_gops=avg_pool,
        lrn_gops=lrn,
        special_gops=special,
        memory_gbps=memory,
        op_overhead_us=overhead,
        edge_cost_us=measure_handoff(),
    )


def measure_handoff(rounds: int = 60, batches: int = 5, pause: float = 0.05) -> float:
    """
    The cost (us) of handing a value to a thread blocked on a Future.

    A worker waits on `ping[i].result()` and answers with `pong[i]`; the caller
    times each round trip, which is two hand-offs with a thread wake-up each.
    The result is the lowest median of `batches` batches taken `pause` seconds
    apart: when another process holds the other core, wake-ups take twice as
    long for a tenth of a second or so, and that is load, not the machine.
    """
    medians = []
    for _ in range(batches):
        medians.append(statistics.median(_round_trips(rounds)) / 2)
        time.sleep(pause)
    return min(medians)


def _round_trips(rounds: int) -> list[float]:
    """The times (us) of `rounds` ping-pong round trips with a new worker thread."""
    pings: list[Future[int]] = [Future() for _ in range(rounds)]
    pongs: list[Future[int]] = [Future() for _ in range(rounds)]

    def worker() -> None:
        for ping, pong in zip(pings, pongs, strict=True):
            pong.set_result(ping.result())

    thread = threading.Thread(target=worker, name="ramiel-calibrate", daemon=True)
    thread.start()
    trips = []
    for index, (ping, pong) in enumerate(zip(pings, pongs, strict=True)):
        time.sleep(1e-4)  # let the worker block on its future: time a real wake-up
        start = time.perf_counter_ns()
        ping.set_result(index)
        pong.result()
        trips.append((time.perf_counter_ns() - start) / 1e3)
    thread.join()
    return trips
