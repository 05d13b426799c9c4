"""
Measure what channels-last does to each kind of image node (`analysis/layout.py`).

For each kind, one typical batch-1 CNN node is timed on contiguous (NCHW) inputs
and weights and on channels-last ones, interleaved (contiguous, channels-last,
contiguous), medians of `--calls` calls after a warm-up; the table gives the
ratio channels-last / contiguous that `CHANNELS_LAST_RATIO` holds.

    python tools/layout_costs.py --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ramiel_mlir.runtime.nn import _local_response_norm

CL = torch.channels_last


def median_us(function: Callable[[], object], calls: int) -> float:
    """Median time of `function` in microseconds, after 5 untimed calls."""
    for _ in range(5):
        function()
    times: list[float] = []
    for _ in range(calls):
        begin = time.perf_counter()
        function()
        times.append(time.perf_counter() - begin)
    return statistics.median(times) * 1e6


def conv_case(
    cin: int, cout: int, size: int, kernel: int, stride: int = 1, groups: int = 1
) -> Callable[[torch.memory_format], Callable[[], object]]:
    """A convolution whose input and weight are in the given format."""
    x = torch.randn(1, cin, size, size)
    w = torch.randn(cout, cin // groups, kernel, kernel)
    b = torch.randn(cout)

    def make(memory_format: torch.memory_format) -> Callable[[], object]:
        xf, wf = (
            x.contiguous(memory_format=memory_format),
            w.contiguous(memory_format=memory_format),
        )
        return lambda: F.conv2d(xf, wf, b, stride=stride, padding=kernel // 2, groups=groups)

    return make


def unary_case(
    function: Callable[[torch.Tensor], object], channels: int = 64, size: int = 112
) -> Callable[[torch.memory_format], Callable[[], object]]:
    """An op on one image in the given format."""
    x = torch.randn(1, channels, size, size)

    def make(memory_format: torch.memory_format) -> Callable[[], object]:
        xf = x.contiguous(memory_format=memory_format)
        return lambda: function(xf)

    return make


def cases() -> dict[str, tuple[str, Callable[[torch.memory_format], Callable[[], object]]]]:
    """Case name -> (kind in CHANNELS_LAST_RATIO, case)."""
    ones, zeros = torch.ones(64), torch.zeros(64)
    return {
        "conv 3x3 64->64 @56": ("conv", conv_case(64, 64, 56, 3)),
        "conv 3x3 128->128 @28": ("conv", conv_case(128, 128, 28, 3)),
        "conv 7x7/2 3->64 @224": ("conv", conv_case(3, 64, 224, 7, 2)),
        "conv 1x1 256->64 @56": ("pointwise_conv", conv_case(256, 64, 56, 1)),
        "conv 1x1 512->128 @28": ("pointwise_conv", conv_case(512, 128, 28, 1)),
        "depthwise 3x3 128 @28": ("depthwise_conv", conv_case(128, 128, 28, 3, groups=128)),
        "max pool 3x3/2 64 @112": (
            "max_pool",
            unary_case(lambda x: F.max_pool2d(x, 3, 2, ceil_mode=True)),
        ),
        "avg pool 3x3/1 64 @112": ("avg_pool", unary_case(lambda x: F.avg_pool2d(x, 3, 1, 1))),
        "global avg pool 64 @112": (
            "global_pool",
            unary_case(lambda x: F.adaptive_avg_pool2d(x, 1)),
        ),
        "batch norm 64 @112": (
            "norm",
            unary_case(lambda x: F.batch_norm(x, zeros, ones, ones, zeros)),
        ),
        "concat 2x64 @112": ("concat", unary_case(lambda x: torch.cat([x, x], 1))),
        "relu 64 @112": ("pointwise", unary_case(torch.relu)),
        "add 64 @112": ("pointwise", unary_case(lambda x: x + x)),
        "lrn 64 @112": ("lrn", unary_case(lambda x: _local_response_norm(x, 5, 1e-4, 0.75, 1.0))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--calls", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print("| node | kind | contiguous (us) | channels-last (us) | ratio |")
    print("|---|---|---:|---:|---:|")
    with torch.inference_mode():
        for name, (kind, make) in cases().items():
            contiguous, channels_last = make(torch.contiguous_format), make(CL)
            first = median_us(contiguous, args.calls)
            cl = median_us(channels_last, args.calls)
            second = median_us(contiguous, args.calls)
            nchw = (first + second) / 2
            print(f"| {name} | {kind} | {nchw:.0f} | {cl:.0f} | {cl / nchw:.2f} |", flush=True)


if __name__ == "__main__":
    main()
