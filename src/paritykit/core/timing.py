"""Adaptive wall-clock timing of one callable, with a distribution-free CI of the median.

``measure(fn)`` calls ``fn`` a few times to warm up, then takes samples until the 95%
confidence interval of the median is within ``target_rel_ci`` of the median or the time budget
runs out. A call shorter than about 1000 clock ticks is batched (several calls per sample) so
the clock's own cost per call stays far below the call; ``samples_s`` are per-call seconds.

Example::

    >>> t = measure(lambda: sum(range(100)), budget_s=0.05)
    >>> t.ci_low_s <= t.median_s <= t.ci_high_s
    True
"""

from __future__ import annotations

import bisect
import functools
import gc
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: A sample should span at least this many clock "ticks" (the clock's effective resolution,
#: which includes the cost of reading it), so quantisation and clock cost stay ≲ 0.1%.
TICKS_PER_SAMPLE = 1000
#: Never batch more calls than this into one sample (a pathological zero-cost callable).
MAX_CALLS_PER_SAMPLE = 1_000_000
#: Two-sided level of the confidence interval of the median.
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Timing:
    """Result of :func:`measure`: per-call seconds and their summary statistics.

    ``ci_low_s``/``ci_high_s`` bound the median with 95% confidence (order statistics; with
    fewer than 6 samples no such interval exists and the range of the samples is given).
    ``overhead_s`` is the timer's own cost per call (one clock read, spread over the calls of
    a sample); it is reported, not subtracted.
    """

    samples_s: tuple[float, ...]
    median_s: float
    iqr_s: float
    ci_low_s: float
    ci_high_s: float
    repeats: int
    warmup: int
    calls_per_sample: int
    overhead_s: float

    @property
    def rel_ci(self) -> float:
        """Half-width of the CI of the median, relative to the median (0.03 = ±3%)."""
        half = max(self.median_s - self.ci_low_s, self.ci_high_s - self.median_s)
        return half / self.median_s if self.median_s > 0 else 0.0


@functools.lru_cache(maxsize=4096)
def median_ci_ranks(n: int, confidence: float = CONFIDENCE) -> tuple[int, int]:
    """0-based ranks ``(lo, hi)`` of the sorted samples that bound the median.

    Distribution-free: the number of samples below the true median is Binomial(n, 1/2), so
    ``P(x[lo] <= median <= x[hi]) >= confidence`` with ``lo`` the largest rank whose lower tail
    is ``<= (1 - confidence) / 2``. For small ``n`` no such rank exists: ``(0, n - 1)``.

    >>> median_ci_ranks(20)
    (5, 14)
    """
    if n < 1:
        raise ValueError(f"median_ci_ranks needs at least one sample, got n={n}")
    alpha = (1.0 - confidence) / 2.0
    log_half_n = n * math.log(0.5)
    tail = 0.0
    lo = -1
    for k in range(n // 2 + 1):
        # P(B = k) for B ~ Binomial(n, 1/2), in logs so that large n does not underflow.
        tail += math.exp(math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
                         + log_half_n)
        if tail > alpha:
            break
        lo = k
    # x[lo] <= median fails only when at most lo samples lie below it: probability tail(lo).
    # Rank lo (0-based) is the (lo+1)-th order statistic; P(fewer than lo+1 below) = tail(lo).
    if lo < 0:
        return 0, n - 1
    return lo, n - 1 - lo


def summarize(samples: Sequence[float]) -> tuple[float, float, float, float]:
    """``(median, iqr, ci_low, ci_high)`` of per-call seconds.

    >>> summarize([1.0, 2.0, 3.0, 4.0, 5.0])
    (3.0, 2.0, 1.0, 5.0)
    """
    ordered = sorted(samples)
    if not ordered:
        raise ValueError("summarize needs at least one sample")
    median = statistics.median(ordered)
    if len(ordered) > 1:
        q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
        iqr = q3 - q1
    else:
        iqr = 0.0
    lo, hi = median_ci_ranks(len(ordered))
    return median, iqr, ordered[lo], ordered[hi]


def clock_resolution(clock: Callable[[], float], reads: int = 64) -> float:
    """Smallest positive step between consecutive reads of ``clock`` (its effective tick).

    Includes the cost of reading the clock, which on a fast clock dominates its nominal
    resolution. A clock that never moves (a synthetic test clock) counts as 1 ns.
    """
    steps = []
    previous = clock()
    for _ in range(reads):
        now = clock()
        if now > previous:
            steps.append(now - previous)
        previous = now
    return min(steps) if steps else 1e-9


def _clock_cost(clock: Callable[[], float], reads: int = 64) -> float:
    """Median seconds between two back-to-back clock reads: the timer's cost per sample."""
    deltas = []
    for _ in range(reads):
        start = clock()
        deltas.append(clock() - start)
    return max(0.0, statistics.median(deltas))


def _calls_per_sample(call_s: float, tick_s: float) -> int:
    """How many calls to batch so that one sample spans ``TICKS_PER_SAMPLE`` ticks."""
    target = tick_s * TICKS_PER_SAMPLE
    if call_s >= target:
        return 1
    return min(MAX_CALLS_PER_SAMPLE, math.ceil(target / max(call_s, tick_s)))


def _validate(warmup: int, min_repeats: int, max_repeats: int, target_rel_ci: float,
              budget_s: float) -> None:
    if warmup < 0:
        raise ValueError(f"measure: warmup must be >= 0, got {warmup}")
    if not 1 <= min_repeats <= max_repeats:
        raise ValueError(f"measure: need 1 <= min_repeats <= max_repeats, got "
                         f"min_repeats={min_repeats}, max_repeats={max_repeats}")
    if target_rel_ci <= 0 or budget_s < 0:
        raise ValueError(f"measure: target_rel_ci must be > 0 and budget_s >= 0, got "
                         f"target_rel_ci={target_rel_ci}, budget_s={budget_s}")


def measure(fn: Callable[[], object], *, warmup: int = 3, min_repeats: int = 5,
            max_repeats: int = 1000, target_rel_ci: float = 0.05, budget_s: float = 2.0,
            sync: Callable[[], None] | None = None,
            clock: Callable[[], float] = time.perf_counter) -> Timing:
    """Time ``fn()`` adaptively; see the module docstring.

    Stops after ``max_repeats`` samples, or once at least ``min_repeats`` samples were taken
    and either the CI of the median is within ``±target_rel_ci × median`` or ``budget_s``
    (counted from the first warm-up call) is spent. ``min_repeats`` wins over the budget.
    ``sync`` (e.g. ``torch.cuda.synchronize``) is called before every clock read that closes
    or opens a sample, so asynchronous work is counted. Garbage collection is paused while
    sampling, as ``timeit`` does.

    >>> ticks = iter(range(10_000))
    >>> t = measure(lambda: None, clock=lambda: float(next(ticks)), warmup=0, min_repeats=5)
    >>> (t.repeats, t.median_s)
    (5, 1.0)
    """
    _validate(warmup, min_repeats, max_repeats, target_rel_ci, budget_s)
    barrier = sync or (lambda: None)
    tick = clock_resolution(clock)
    start = clock()
    call_s = math.inf
    for _ in range(warmup):
        barrier()
        t0 = clock()
        fn()
        barrier()
        call_s = min(call_s, clock() - t0)
    # A warm-up reading includes one clock read (~one tick): take it off the call's estimate.
    calls = _calls_per_sample(max(call_s - tick, 0.0), tick) if warmup else 1
    cost = _clock_cost(clock)
    ordered: list[float] = []
    samples: list[float] = []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        while len(samples) < max_repeats:
            barrier()
            t0 = clock()
            for _ in range(calls):
                fn()
            barrier()
            t1 = clock()
            per_call = (t1 - t0) / calls
            samples.append(per_call)
            bisect.insort(ordered, per_call)
            n = len(samples)
            if n < min_repeats:
                continue
            lo, hi = median_ci_ranks(n)
            median = statistics.median(ordered)
            half = max(median - ordered[lo], ordered[hi] - median)
            if half <= target_rel_ci * median or t1 - start >= budget_s:
                break
    finally:
        if gc_was_enabled:
            gc.enable()
    median, iqr, ci_low, ci_high = summarize(samples)
    return Timing(samples_s=tuple(samples), median_s=median, iqr_s=iqr, ci_low_s=ci_low,
                  ci_high_s=ci_high, repeats=len(samples), warmup=warmup,
                  calls_per_sample=calls, overhead_s=cost / calls)
