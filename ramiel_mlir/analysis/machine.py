"""
The machine model behind the `flops` cost model: measured once per machine, or given.

A node does one kind of work (convolution, matrix product, pooling, ...). Its
time is the fixed overhead of that kind of torch call (Python, argument parsing,
dispatch, kernel setup: measured on a one-element tensor) plus a roofline term:
its work at the measured rate of its kind, or its bytes at the memory bandwidth,
whichever takes longer. `calibrate` measures each kind on one intra-op thread
with one small and one realistic instance, the realistic one again on every core,
what waking the intra-op team adds to a small call, the price of handing a value
from one thread to another, starting and joining a worker, and what a small call
costs when every core's thread makes them at once (about 7 s in all).

A machine model is an input of `estimate-cost` (its `machine` option, see
`resolve_machine`): `default`, the built-in table in `default_machine.json`, which
needs no measurement; a JSON file written by `ramiel-calibrate -o FILE`; or
`auto`, the calibration of this machine that `load_machine` caches, like an
autotuning cache, in `$RAMIEL_CACHE_DIR/machine.json` (default
`~/.cache/ramiel-mlir/machine.json`), keyed by CPU, core count and torch version.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import importlib.resources
import json
import logging
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
from typing import Any, TypeVar

from ramiel_mlir.diagnostics import RamielError

CACHE_VERSION = 23
"""
Bump when the benchmarks change so that old caches are recalibrated (and
regenerate `default_machine.json` with `ramiel-calibrate -o` on the reference machine).
"""

Key = TypeVar("Key")

AUTO = "auto"
"""`machine=auto`: this machine's cached calibration (`load_machine`)."""

DEFAULT = "default"
"""`machine=default`: the built-in machine model (`default_machine`), no measurement."""

_log = logging.getLogger("ramiel_mlir")

UNITS = {
    "conv": "FLOP (2 per multiply-add)",
    "pointwise_conv": "FLOP (2 per multiply-add)",
    "onednn_conv": "FLOP (2 per multiply-add)",
    "onednn_linear": "FLOP (2 per multiply-add)",
    "depthwise_conv": "FLOP (2 per multiply-add)",
    "matmul": "FLOP (2 per multiply-add)",
    "max_pool": "window elements (outputs x window size)",
    "avg_pool": "window elements (outputs x window size)",
    "lrn": "window elements (elements x size)",
    "special": "transcendental evaluations (exp, log, tanh ...)",
    "norm": "normalised elements",
    "memory": "bytes read plus written",
    "view": "nothing (a view or no-op: overhead only)",
}
"""The kinds of work a node does, and the unit each kind's rate counts."""


@dataclass(frozen=True)
class Machine:
    """Measured costs of one machine on one intra-op thread (G/s = 1e3 per microsecond)."""

    rates: dict[str, float]
    """Kind -> work per second in G units (see `UNITS`); every kind but `view`."""
    overheads: dict[str, float]
    """Kind -> the fixed time (us) of one call of that kind with no work in it."""
    edge_cost_us: float
    """Handing a value from one thread to another: a Future set here, awaited there."""
    threaded_rates: dict[str, float] = dataclasses.field(default_factory=dict[str, float])
    """Kind -> rate with the machine's cores as intra-op threads (what one lane gets)."""
    fork_join_us: float = 0.0
    """Starting a worker lane and waiting for it: one submit to a thread pool and its wait."""
    threaded_overheads: dict[str, float] = dataclasses.field(default_factory=dict[str, float])
    """
    Kind -> the extra fixed time (us) of a small call on all cores: waking the
    intra-op team costs more than a small kernel saves (0 where torch keeps it serial).
    """
    contended_dispatch_us: float = 0.0
    """
    The time (us) a small call costs when every core's Python thread makes such
    calls at once: the GIL serialises them, and each hand-over of it wakes a
    thread. Lanes cannot overlap this part of any node (`measure_contended_dispatch`).
    """
    channels_last_ratios: dict[str, float] = dataclasses.field(default_factory=dict[str, float])
    """
    Layout kind (`analysis/layout.py`) -> a node's time on channels-last tensors over
    its time on contiguous ones, one thread (`measure_channels_last`): what
    `assign-layout{mode=auto}` weighs and `estimate-cost` applies.
    """

    vector_floats: int = 0
    """
    float32 lanes of the SIMD unit torch's kernels use: 16 with AVX-512, 8 with
    AVX2 (`simd_floats`); 0 for a model calibrated before it (no padding).
    """

    conversion_gbps: float = 0.0
    """
    Bytes read and written per second (GB/s) converting an image between contiguous
    and channels-last (`measure_conversion`): a transposing copy, several times slower
    than streaming memory. 0 for a model calibrated before it (`memory_gbps`).
    """

    @property
    def layout_conversion_gbps(self) -> float:
        """The rate of a memory-format conversion, else (an older model) the memory bandwidth."""
        return self.conversion_gbps or self.memory_gbps

    @property
    def memory_gbps(self) -> float:
        """The memory bandwidth (GB/s) that bounds every kind."""
        return self.rates["memory"]


def cache_path() -> Path:
    """
    Where `machine=auto` caches the calibration: `$RAMIEL_CACHE_DIR/machine.json`, else
    `$XDG_CACHE_HOME/ramiel-mlir/machine.json`, else `~/.cache/ramiel-mlir/machine.json`.
    A RamielError when none of these variables is set (no home directory to cache in).
    """
    if root := os.environ.get("RAMIEL_CACHE_DIR"):
        return Path(root) / "machine.json"
    if xdg := os.environ.get("XDG_CACHE_HOME"):
        return Path(xdg) / "ramiel-mlir" / "machine.json"
    if home := os.environ.get("HOME"):
        return Path(home) / ".cache" / "ramiel-mlir" / "machine.json"
    raise RamielError("no home directory ($HOME unset) to cache the machine calibration in")


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


def machine_from_json(text: str) -> Machine:
    """The machine model in a JSON text as `save_machine` writes it; ValueError if it is not one."""
    try:
        return Machine(**json.loads(text)["machine"])
    except (KeyError, TypeError) as error:
        raise ValueError(f"not a ramiel-mlir machine model ({error})") from None


def save_machine(path: Path, machine: Machine, key: dict[str, Any] | None = None) -> None:
    """Write `machine` (and the `key` of the machine it was measured on) as JSON, atomically."""
    data = {"key": machine_key() if key is None else key, "machine": dataclasses.asdict(machine)}
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        partial.write_text(json.dumps(data, indent=2) + "\n")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def read_machine(path: str | os.PathLike[str]) -> Machine:
    """The machine model in the JSON file `path` (from `ramiel-calibrate -o`)."""
    try:
        return machine_from_json(Path(path).read_text())
    except OSError as error:
        raise RamielError(f"cannot read machine model {path}: {error.strerror}") from None
    except ValueError as error:  # (json.JSONDecodeError is one)
        raise RamielError(f"{path}: {error}") from None


def default_machine() -> Machine:
    """
    The built-in machine model (`default_machine.json`): a calibration of the 2-core
    development machine (docs/cost-model.md), used where no measurement is wanted.
    """
    text = (
        importlib.resources.files("ramiel_mlir.analysis")
        .joinpath("default_machine.json")
        .read_text()
    )
    return machine_from_json(text)


def machine_digest(machine: Machine) -> str:
    """A short hash of the model's numbers: which model a cost came from, wherever it lives."""
    canonical = json.dumps(dataclasses.asdict(machine), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def resolve_machine(spec: str) -> tuple[Machine, str]:
    """
    The machine model `spec` names, and the label the IR records for it.

    `default` is the built-in model (label `default`); `auto` this machine's cached
    calibration (label `auto:<digest>`, or `default` where it cannot be cached);
    anything else is a file written by `ramiel-calibrate` (label `<file name>:<digest>`).
    """
    if spec == DEFAULT:
        return default_machine(), DEFAULT
    if spec == AUTO:
        machine = load_machine()
        if machine == default_machine():
            return machine, DEFAULT
        return machine, f"{AUTO}:{machine_digest(machine)}"
    machine = read_machine(spec)
    return machine, f"{Path(spec).name}:{machine_digest(machine)}"


def load_machine(*, recalibrate: bool = False) -> Machine:
    """
    This machine's cached calibration; calibrate and cache it when missing or stale.

    Where there is nowhere to cache it (no home directory, or a read-only one), the
    built-in model is used instead, with a note: the same command then gives the
    same output every time, as with `machine=default`.
    """
    key = machine_key()
    try:
        path = cache_path()
    except RamielError as error:
        return _use_default(str(error))
    if not recalibrate:
        try:
            data = json.loads(path.read_text())
            if data.get("key") == key:
                return machine_from_json(json.dumps(data))
        except (OSError, ValueError, AttributeError):
            pass  # no cache, or one from another version: calibrate afresh
    if (problem := _cache_problem(path)) is not None:
        return _use_default(problem)
    _log.warning("note: calibrating this machine for estimate-cost (once; cached in %s)", path)
    machine = calibrate()
    try:
        save_machine(path, machine, key)
    except OSError as error:
        _log.warning("note: cannot cache the machine calibration in %s: %s", path, error.strerror)
    return machine


_NOTED: set[str] = set()
"""The problems `_use_default` has noted in this process (each is said once)."""


def _use_default(problem: str) -> Machine:
    """The built-in model, with a note (once per process) on why the calibration cannot be used."""
    if problem in _NOTED:
        return default_machine()
    _NOTED.add(problem)
    _log.warning(
        "note: %s; estimate-cost uses the built-in machine model (machine=default); "
        "run ramiel-calibrate -o FILE and pass machine=FILE to use a calibrated one",
        problem,
    )
    return default_machine()


def _cache_problem(path: Path) -> str | None:
    """Why the calibration cannot be cached at `path` (None if it can)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        return f"cannot cache the machine calibration in {path.parent}: {error.strerror}"
    if not os.access(path.parent, os.W_OK):
        return f"cannot cache the machine calibration in {path.parent}: not writable"
    return None


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


SPREAD_ROUNDS = 5
"""Rounds of the kernel timings and the team wake-up, `SPREAD_PAUSE_S` apart."""

SPREAD_PAUSE_S = 0.3
"""
The pause between those rounds. On a shared host another tenant takes a core for 0.1 to
1 s at a time (a 64-channel 3x3 convolution timed every 50 ms for 12 s ran no faster on
two threads than on one in 30 of 178 samples, in streaks of up to 14), so rounds spread
over 1.2 s find the team whole where one burst may not. One-thread times are taken in the
same rounds (the same kernel's varied 2x), so both sides of a speedup are the quiet ones.
"""


def spread_minimum(
    measure: Callable[[], dict[Key, float]],
    rounds: int = SPREAD_ROUNDS,
    pause: float = SPREAD_PAUSE_S,
) -> dict[Key, float]:
    """Per key, the least of `rounds` calls of `measure()`, `pause` seconds apart."""
    least: dict[Key, float] = {}
    for round_ in range(rounds):
        if round_:
            time.sleep(pause)
        for key, value in measure().items():
            least[key] = min(value, least.get(key, value))
    return least


Timed = tuple[Callable[[], object], int, int]
"""A call to time, how many times, and how many untimed calls go first."""


def fastest_calls(calls: dict[str, Timed], cores: int) -> dict[tuple[str, int], float]:
    """
    (kind, threads) -> the fastest time in us of each kind's call on one intra-op thread
    and on `cores`, over `spread_minimum`'s rounds.
    """
    import torch

    def times() -> dict[tuple[str, int], float]:
        measured: dict[tuple[str, int], float] = {}
        with torch.inference_mode():
            for threads in (1, cores):
                with torch_threads(threads):
                    for kind, (call, repeats, warmup) in calls.items():
                        measured[kind, threads] = min(call_times_us(call, repeats, warmup))
        return measured

    return spread_minimum(times)


def calibrate() -> Machine:
    """
    Measure this machine: each kind on one intra-op thread and on every core (about 7 s).

    Kernel times are the fastest of a few runs: on a machine shared with other
    work, the minimum is the estimate least disturbed by preemption.
    """
    import torch

    from ramiel_mlir.runtime.lanes import _keep_freed_memory

    _keep_freed_memory()  # as the threaded generated code runs
    benchmarks = _benchmarks()
    with torch_threads(1), torch.inference_mode():
        overheads = {
            kind: min(call_times_us(tiny, repeats=300, warmup=30))
            for kind, (tiny, *_) in benchmarks.items()
        }
    cores = os.cpu_count() or 1

    fastest = fastest_calls(
        {
            kind: (big, repeats, 2)
            for kind, (_, big, _, repeats) in benchmarks.items()
            if big is not None
        },
        cores,
    )
    rates: dict[str, float] = {}
    threaded: dict[str, float] = {}
    for kind, (_, big, amount, _) in benchmarks.items():
        if big is None:
            continue
        rates[kind] = amount / max(fastest[kind, 1] - overheads[kind], 1e-3) / 1e3
        # Torch's one-thread pooling takes a slower path on some shapes (4x on the
        # calibration pool, 2x on others): no kind counts as more than `cores` times
        # faster on `cores` threads.
        team = amount / max(fastest[kind, cores] - overheads[kind], 1e-3) / 1e3
        threaded[kind] = min(team, cores * rates[kind])
    return Machine(
        rates,
        overheads,
        measure_handoff(),
        threaded,
        measure_fork_join(),
        measure_team_wakeup(cores),
        measure_contended_dispatch(cores),
        measure_channels_last(),
        simd_floats(),
        measure_conversion(),
    )


def simd_floats() -> int:
    """The float32 lanes of the vector ISA torch dispatches its CPU kernels to."""
    import torch

    capability = torch.backends.cpu.get_cpu_capability()
    return {"AVX512": 16, "AVX2": 8}.get(capability, 4)


def layout_cases() -> dict[str, Callable[[Any], Callable[[], object]]]:
    """
    Layout kind -> a typical batch-1 CNN node of that kind, made for a given torch
    memory format (its input, and its weight, in that format).
    """
    import torch
    import torch.nn.functional as F

    from ramiel_mlir.runtime.nn import _local_response_norm

    def conv(cin: int, cout: int, size: int, kernel: int, groups: int = 1) -> Any:
        x, w = torch.randn(1, cin, size, size), torch.randn(cout, cin // groups, kernel, kernel)

        def make(memory_format: Any) -> Callable[[], object]:
            xf, wf = (t.contiguous(memory_format=memory_format) for t in (x, w))
            return lambda: F.conv2d(xf, wf, padding=kernel // 2, groups=groups)

        return make

    def image(function: Callable[[Any], object], channels: int = 64, size: int = 56) -> Any:
        x = torch.randn(1, channels, size, size)

        def make(memory_format: Any) -> Callable[[], object]:
            xf = x.contiguous(memory_format=memory_format)
            return lambda: function(xf)

        return make

    zeros, ones = torch.zeros(64), torch.ones(64)
    normalized = torch.randn(1, 64, 56, 56)

    def norm(memory_format: Any) -> Callable[[], object]:
        # What the generated code runs: F.batch_norm on a contiguous image, the
        # per-channel affine on a channels-last one (backend/ops/nn.py:_batch_norm).
        x = normalized.contiguous(memory_format=memory_format)
        if memory_format == torch.channels_last:
            scale, shift = ones.reshape(-1, 1, 1), zeros.reshape(-1, 1, 1)
            return lambda: torch.addcmul(shift, x, scale)
        return lambda: F.batch_norm(x, zeros, ones, ones, zeros)

    return {
        "conv": conv(64, 64, 28, 3),
        "pointwise_conv": conv(256, 64, 28, 1),
        "depthwise_conv": conv(128, 128, 28, 3, groups=128),
        "max_pool": image(lambda x: F.max_pool2d(x, 3, 2, ceil_mode=True)),
        "avg_pool": image(lambda x: F.avg_pool2d(x, 3, 1, 1)),
        "global_pool": image(lambda x: F.adaptive_avg_pool2d(x, 1)),
        "norm": norm,
        "concat": image(lambda x: torch.cat([x, x], 1)),
        "split": image(lambda x: torch.split(x, 32, dim=1)),
        "pointwise": image(torch.relu),
        "lrn": image(lambda x: _local_response_norm(x, 5, 1e-4, 0.75, 1.0)),
    }


def measure_conversion(repeats: int = 30) -> float:
    """
    GB/s read and written converting a 64x56x56 image to channels-last and back, one
    intra-op thread: the fastest of `repeats` calls each way, over the bytes of both.
    """
    import torch

    image = torch.randn(1, 64, 56, 56)
    nhwc = image.contiguous(memory_format=torch.channels_last)
    with torch_threads(1), torch.inference_mode():
        there = min(
            call_times_us(lambda: image.contiguous(memory_format=torch.channels_last), repeats)
        )
        back = min(call_times_us(nhwc.contiguous, repeats))
    moved = 2 * 2 * image.numel() * image.element_size()  # each way reads and writes it
    return round(moved / (there + back) / 1e3, 3)


def measure_channels_last(repeats: int = 15) -> dict[str, float]:
    """
    Per layout kind, the fastest channels-last call over the fastest contiguous one
    (one intra-op thread, `layout_cases`, interleaved so that both see the same machine).
    """
    import torch

    ratios: dict[str, float] = {}
    with torch_threads(1), torch.inference_mode():
        for kind, make in layout_cases().items():
            contiguous, channels_last = make(torch.contiguous_format), make(torch.channels_last)
            first = call_times_us(contiguous, repeats, warmup=3)
            cl = call_times_us(channels_last, repeats, warmup=3)
            second = call_times_us(contiguous, repeats, warmup=0)
            ratios[kind] = round(min(cl) / min(*first, *second), 3)
    return ratios


def measure_contended_dispatch(
    cores: int, calls: int = 300, batches: int = 15, pause: float = 0.01
) -> float:
    """
    Per call, the time `cores` threads take to make `calls` small linear calls each.

    A 32x96 by 96x24 product is a few microseconds, the size of a transformer
    head's ops: each call releases the GIL for its kernel and must take it back,
    so calls from several threads serialise and every hand-over of the GIL wakes a
    thread. Batches `pause` seconds apart swing from 5 to 35 us a call (the threads
    fall into a convoy, each GIL hand-over waiting for a wake-up); the lowest is the
    time one such node costs every lane at best, and lanes only overlap what a
    node spends beyond it.
    """
    from concurrent.futures import ThreadPoolExecutor

    import torch
    import torch.nn.functional as F

    a, b = torch.randn(32, 96), torch.randn(24, 96)

    def burst() -> None:
        for _ in range(calls):
            F.linear(a, b)

    times = []
    lanes = ThreadPoolExecutor(cores - 1, initializer=torch.set_num_threads, initargs=(1,))
    with torch_threads(1), torch.inference_mode(), lanes as pool:
        burst()  # warm up the worker and the kernel
        for _ in range(batches):
            start = time.perf_counter_ns()
            others = [pool.submit(burst) for _ in range(cores - 1)]
            burst()
            for other in others:
                other.result()
            times.append((time.perf_counter_ns() - start) / 1e3 / (calls * cores))
            time.sleep(pause)
    return round(min(times), 3)


def measure_team_wakeup(cores: int) -> dict[str, float]:
    """
    Per kind, how much longer a small call takes on `cores` intra-op threads than on one.

    The small instances are the size of a transformer head's or a squeeze
    layer's ops: torch splits them across the team, and waking it costs more
    than the split saves. The fastest call of each (least disturbed by other
    processes: a busy core makes a team call wait for it), and a lower bound of
    the extra time (the split saves a little).
    """

    calls = _small_calls()
    fastest = fastest_calls({kind: (small, 100, 10) for kind, small in calls.items()}, cores)
    return {kind: round(max(0.0, fastest[kind, cores] - fastest[kind, 1]), 3) for kind in calls}


def _small_calls() -> dict[str, Callable[[], object]]:
    """A small call of each kind with work (a few microseconds), as the generated code makes it."""
    import torch
    import torch.nn.functional as F

    from ramiel_mlir.runtime.nn import _local_response_norm

    x, w = torch.randn(1, 16, 14, 14), torch.randn(16, 16, 3, 3)
    # A pointwise conv down to 16 channels, a reduce layer of Inception, SqueezeNet and
    # fire modules, small enough (16,384 elements) that F.conv2d keeps its matrix-product
    # path on two threads; a larger one runs oneDNN there, which the threaded estimate
    # costs as the packed kernel `prepack-weights` gives it (`kernels.threaded_cost`).
    reduce, to_16 = torch.randn(1, 64, 16, 16), torch.randn(16, 64, 1, 1)
    wide, wide_to_16 = torch.randn(1, 96, 28, 28), torch.randn(16, 96, 1, 1)
    a, b = torch.randn(32, 96), torch.randn(24, 96)
    s = torch.randn(1, 4, 32, 32)
    mean, var = torch.zeros(16), torch.ones(16)
    packed = _onednn_weight(w, [1, 1], list(x.shape))
    depthwise = _onednn_weight(torch.randn(16, 1, 3, 3), [1, 1], list(x.shape), groups=16)
    wide_cl = wide.contiguous(memory_format=torch.channels_last)
    to_16_packed = _linear_weight(wide_to_16, wide_cl)
    return {
        "conv": lambda: F.conv2d(x, w, padding=1),
        "onednn_conv": lambda: _onednn_conv(x, packed, None, [1, 1]),
        "onednn_linear": lambda: _onednn_linear(wide_cl, to_16_packed),
        "depthwise_conv": lambda: _onednn_conv(x, depthwise, None, [1, 1], groups=16),
        "pointwise_conv": lambda: F.conv2d(reduce, to_16),
        "matmul": lambda: F.linear(a, b),
        "max_pool": lambda: F.max_pool2d(x, 3, stride=1, padding=1),
        "avg_pool": lambda: F.avg_pool2d(x, 3, stride=1, padding=1),
        "lrn": lambda: _local_response_norm(x, 5, 1e-4, 0.75, 1.0),
        "special": lambda: torch.softmax(s, -1),
        "norm": lambda: F.batch_norm(x, mean, var, var, mean, training=False),
        "memory": lambda: torch.add(a, a),
    }


Benchmark = tuple[Callable[[], object], Callable[[], object] | None, float, int]
"""A call with no work, one with `amount` of work (None: no rate), its repeat count."""


def _benchmarks() -> dict[str, Benchmark]:
    """One small and one realistic instance of each kind, as the generated code calls them."""
    import torch
    import torch.nn.functional as F

    from ramiel_mlir.runtime.nn import _local_response_norm

    one = torch.ones(1, 1, 1, 1)
    ones = torch.ones(1)
    x, w = torch.randn(1, 64, 28, 28), torch.randn(64, 64, 3, 3)
    wide, pointwise = torch.randn(1, 256, 28, 28), torch.randn(128, 256, 1, 1)
    a = torch.randn(256, 256)
    y = torch.randn(1, 32, 28, 28)
    u, v = torch.randn(1 << 18), torch.randn(1 << 18)
    mean, var = torch.zeros(32), torch.ones(32)
    conv_flops = 2 * x.numel() * 64 * 9
    window = 9 * y.numel()
    packed_one = _onednn_weight(one, [0, 0], [1, 1, 1, 1])
    packed_w = _onednn_weight(w, [1, 1], list(x.shape))
    channels = torch.randn(1, 96, 28, 28)
    packed_dw = _onednn_weight(torch.randn(96, 1, 3, 3), [1, 1], list(channels.shape), groups=96)
    wide_cl = wide.contiguous(memory_format=torch.channels_last)
    linear_one, linear_wide = _linear_weight(one, one), _linear_weight(pointwise, wide_cl)
    return {
        "conv": (
            lambda: F.conv2d(one, one, ones),
            lambda: F.conv2d(x, w, padding=1),
            conv_flops,
            9,
        ),
        "pointwise_conv": (
            lambda: F.conv2d(one, one, ones),
            lambda: F.conv2d(wide, pointwise),
            2 * 128 * wide.numel(),
            9,
        ),
        "onednn_conv": (
            lambda: _onednn_conv(one, packed_one, ones, [0, 0]),
            lambda: _onednn_conv(x, packed_w, None, [1, 1]),
            conv_flops,
            9,
        ),
        "onednn_linear": (
            lambda: _onednn_linear(one, linear_one, ones),
            lambda: _onednn_linear(wide_cl, linear_wide),
            2 * 128 * wide.numel(),
            9,
        ),
        "depthwise_conv": (
            lambda: _onednn_conv(one, packed_one, ones, [0, 0]),
            lambda: _onednn_conv(channels, packed_dw, None, [1, 1], groups=96),
            2 * 9 * channels.numel(),
            9,
        ),
        "matmul": (
            lambda: F.linear(ones, ones.reshape(1, 1)),
            lambda: torch.mm(a, a),
            2 * 256**3,
            9,
        ),
        "max_pool": (
            lambda: F.max_pool2d(one, 1),
            lambda: F.max_pool2d(y, 3, stride=1, padding=1),
            window,
            9,
        ),
        "avg_pool": (
            lambda: F.avg_pool2d(one, 1),
            lambda: F.avg_pool2d(y, 3, stride=1, padding=1),
            window,
            9,
        ),
        "lrn": (
            lambda: _local_response_norm(one, 1, 1e-4, 0.75, 1.0),
            lambda: _local_response_norm(y, 5, 1e-4, 0.75, 1.0),
            5 * y.numel(),
            9,
        ),
        "special": (lambda: torch.exp(ones), lambda: torch.exp(y), y.numel(), 15),
        "norm": (
            lambda: F.batch_norm(one, ones, ones, ones, ones, training=False),
            lambda: F.batch_norm(y, mean, var, var, mean, training=False),
            y.numel(),
            15,
        ),
        "memory": (lambda: torch.add(ones, ones), lambda: torch.add(u, v), 3 * 4 * u.numel(), 25),
        "view": (lambda: one.reshape([1, 1]), None, 0.0, 0),
    }


def _onednn_weight(weight: Any, padding: list[int], input_size: list[int], groups: int = 1) -> Any:
    """`weight` packed for oneDNN as the generated code packs it (`prepack-weights`)."""
    import torch

    return torch.ops.mkldnn._reorder_convolution_weight(
        weight, padding, [1, 1], [1, 1], groups, input_size
    )


def _onednn_conv(x: Any, packed: Any, bias: Any, padding: list[int], groups: int = 1) -> Any:
    """A convolution on oneDNN with packed weights, through the generated code's helper."""
    from ramiel_mlir.runtime import onednn

    return onednn._onednn_conv(
        x, packed, bias, padding=tuple(padding), stride=(1, 1), dilation=(1, 1), groups=groups
    )


def _linear_weight(weight: Any, x: Any) -> Any:
    """A 1x1 convolution `weight` packed for oneDNN's matrix product over `x`'s pixels."""
    import torch

    n, _, h, w = x.shape
    return torch.ops.mkldnn._reorder_linear_weight(weight.flatten(1), batch_size=n * h * w)


def _onednn_linear(x: Any, packed: Any, bias: Any = None) -> Any:
    """A 1x1 convolution of channels-last `x` as oneDNN's matrix product, as the code runs it."""
    from ramiel_mlir.runtime import onednn

    return onednn._onednn_linear(x.permute(0, 2, 3, 1), packed, bias).permute(0, 3, 1, 2)


def measure_fork_join(rounds: int = 200) -> float:
    """The median cost (us) of submitting an empty task to a started worker and waiting for it."""
    from concurrent.futures import ThreadPoolExecutor, wait

    with ThreadPoolExecutor(1, "ramiel-calibrate") as pool:
        pool.submit(int).result()
        times = []
        for _ in range(rounds):
            time.sleep(1e-4)  # the worker is idle, as at the start of a call
            start = time.perf_counter_ns()
            wait([pool.submit(int)])
            times.append((time.perf_counter_ns() - start) / 1e3)
    return statistics.median(times)


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
