"""Measure paritykit.core.timing itself; prints the figures quoted in docs/performance.md.

1. Timer overhead: ``measure`` of an empty callable. Its median per call is everything the
   timer adds to a call (the batching loop, the call itself, the clock read spread over the
   batch); ``overhead_s`` is the clock-read part alone. Target: <= 1 µs per call.
2. Repeat-to-repeat spread: the same workload (a 256x256 float32 matmul, a small conv)
   measured ``--repeats`` times by ``paritykit.core.timing.measure`` and by
   ``torch.utils.benchmark.Timer(...).adaptive_autorange()`` (and by ``measure`` with a ±1%
   target instead of the default ±5%): the spread of the medians
   across repeats (relative standard deviation and (max - min) / median), and the wall time
   one measurement takes. Single thread for both.

Usage::

    python benchmarks/timer_overhead.py                 # 10 repeats
    python benchmarks/timer_overhead.py --repeats 20 --budget 0.5
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

from paritykit.core.timing import measure


def overhead(rounds: int) -> None:
    """Per-call cost of timing an empty callable, over ``rounds`` independent measurements."""
    medians, clock, batch = [], [], []
    for _ in range(rounds):
        t = measure(lambda: None, budget_s=0.2)
        medians.append(t.median_s)
        clock.append(t.overhead_s)
        batch.append(t.calls_per_sample)
    print(f"timer overhead, empty callable, {rounds} measurements:")
    print(f"  per call (loop + call + clock share)  median "
          f"{1e9 * statistics.median(medians):.1f} ns  max {1e9 * max(medians):.1f} ns"
          "   (target <= 1000 ns)")
    print(f"  clock read share per call             median "
          f"{1e9 * statistics.median(clock):.2f} ns   calls per sample "
          f"{statistics.median(batch):.0f}")


def workloads() -> dict[str, tuple[Callable[[], object], str, dict[str, object]]]:
    """name -> (callable for measure, stmt and globals for torch's Timer)."""
    import torch

    torch.manual_seed(0)
    a, b = torch.randn(256, 256), torch.randn(256, 256)
    conv = torch.nn.Conv2d(16, 32, 3, padding=1).eval()
    x = torch.randn(1, 16, 32, 32)

    def conv_call() -> object:
        with torch.no_grad():
            return conv(x)

    return {
        "matmul 256x256": (lambda: torch.mm(a, b), "torch.mm(a, b)",
                           {"torch": torch, "a": a, "b": b}),
        "conv2d 16->32 3x3 on 1x16x32x32": (
            conv_call, "with torch.no_grad(): conv(x)", {"torch": torch, "conv": conv, "x": x}),
    }


def spread(values: list[float]) -> str:
    median = statistics.median(values)
    rsd = statistics.stdev(values) / statistics.mean(values)
    return (f"median {1e6 * median:8.2f} µs  rsd {100 * rsd:5.2f}%  "
            f"range {100 * (max(values) - min(values)) / median:5.2f}%")


def compare(repeats: int, budget: float) -> None:
    """``measure`` vs ``adaptive_autorange`` on the same workloads, ``repeats`` times each."""
    import torch
    from torch.utils.benchmark import Timer

    torch.set_num_threads(1)
    for name, (fn, stmt, globals_) in workloads().items():
        ours, tight, theirs, ours_s, tight_s, theirs_s = [], [], [], [], [], []
        for _ in range(repeats):  # interleaved, so drift of the machine hits all alike
            start = time.perf_counter()
            ours.append(measure(fn, budget_s=budget).median_s)
            ours_s.append(time.perf_counter() - start)
            start = time.perf_counter()
            tight.append(measure(fn, budget_s=budget, target_rel_ci=0.01).median_s)
            tight_s.append(time.perf_counter() - start)
            start = time.perf_counter()
            timer = Timer(stmt=stmt, globals=globals_, num_threads=1)
            theirs.append(timer.adaptive_autorange().median)
            theirs_s.append(time.perf_counter() - start)
        print(f"{name}, {repeats} repeats:")
        print(f"  paritykit measure      {spread(ours)}  "
              f"wall {statistics.median(ours_s):.2f} s per measurement")
        print(f"  measure, ±1% target    {spread(tight)}  "
              f"wall {statistics.median(tight_s):.2f} s per measurement")
        print(f"  adaptive_autorange     {spread(theirs)}  "
              f"wall {statistics.median(theirs_s):.2f} s per measurement")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--budget", type=float, default=1.0,
                        help="measure's budget_s (default 1.0)")
    args = parser.parse_args()
    print("load average (1, 5, 15 min): " + ", ".join(f"{x:.1f}" for x in os.getloadavg())
          + f" on {os.cpu_count()} cores")
    overhead(args.repeats)
    compare(args.repeats, args.budget)


if __name__ == "__main__":
    main()
