"""
Measure what channels-last does to each kind of image node (`analysis/layout.py`).

The cases are the machine calibration's (`analysis/machine.py:layout_cases`): one
typical batch-1 CNN node per layout kind, timed on contiguous (NCHW) inputs and
weights and on channels-last ones, interleaved (contiguous, channels-last,
contiguous), medians of `--calls` calls after a warm-up; the table gives the ratio
channels-last / contiguous that the calibration records as
`Machine.channels_last_ratios` (there from the fastest calls instead).

    python tools/layout_costs.py --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from ramiel_mlir.analysis.machine import layout_cases


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--calls", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print("| kind | contiguous (us) | channels-last (us) | ratio |")
    print("|---|---:|---:|---:|")
    with torch.inference_mode():
        for kind, make in layout_cases().items():
            contiguous, channels_last = make(torch.contiguous_format), make(torch.channels_last)
            first = median_us(contiguous, args.calls)
            cl = median_us(channels_last, args.calls)
            second = median_us(contiguous, args.calls)
            nchw = (first + second) / 2
            print(f"| {kind} | {nchw:.0f} | {cl:.0f} | {cl / nchw:.2f} |", flush=True)


if __name__ == "__main__":
    main()
