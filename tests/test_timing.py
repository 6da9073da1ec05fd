"""paritykit.core.timing on synthetic clocks: CI-based stopping, budget, batching, statistics."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable

import numpy as np
import pytest

from paritykit.core.timing import Timing, measure, median_ci_ranks, summarize


class FakeClock:
    """A clock that moves only when told: by each call of the timed function (``work``) and
    by ``tick`` on every read (the cost of reading it)."""

    def __init__(self, tick: float = 0.0) -> None:
        self.now = 0.0
        self.tick = tick
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        value = self.now
        self.now += self.tick
        return value

    def work(self, durations: Callable[[], float]) -> Callable[[], None]:
        def fn() -> None:
            self.now += durations()
        return fn


def test_a_noiseless_clock_stops_at_min_repeats() -> None:
    clock = FakeClock()
    timing = measure(clock.work(lambda: 1e-3), clock=clock, min_repeats=7, warmup=2)
    assert timing.repeats == 7
    assert timing.samples_s == pytest.approx((1e-3,) * 7, rel=1e-9)
    assert timing.median_s == pytest.approx(1e-3, rel=1e-9)
    assert timing.iqr_s == pytest.approx(0.0, abs=1e-15)
    assert timing.ci_high_s - timing.ci_low_s == pytest.approx(0.0, abs=1e-15)
    assert (timing.warmup, timing.calls_per_sample) == (2, 1)


def test_a_noisy_clock_runs_until_the_ci_is_within_target() -> None:
    rng = np.random.default_rng(0)
    clock = FakeClock()
    timing = measure(clock.work(lambda: float(1e-3 * rng.lognormal(0, 0.3))), clock=clock,
                     target_rel_ci=0.05, budget_s=100.0)
    assert timing.repeats > 50  # ±5% on 30% noise takes ~200 samples, not 5
    assert timing.repeats < 1000
    assert timing.rel_ci <= 0.05
    # One sample fewer would not have met the target (it stopped as soon as it could).
    shorter = summarize(timing.samples_s[:-1])
    assert max(shorter[0] - shorter[2], shorter[3] - shorter[0]) > 0.05 * shorter[0]


def test_the_budget_stops_sampling() -> None:
    rng = np.random.default_rng(1)
    clock = FakeClock()
    timing = measure(clock.work(lambda: float(1e-3 * rng.lognormal(0, 0.3))), clock=clock,
                     target_rel_ci=1e-9, budget_s=0.2, warmup=3)
    spent = clock.now
    assert 0.2 <= spent <= 0.2 + 0.01  # the sample that crossed the budget is the last
    assert 100 < timing.repeats < 200


def test_min_repeats_wins_over_the_budget_and_max_repeats_caps() -> None:
    clock = FakeClock()
    slow = measure(clock.work(lambda: 1.0), clock=clock, budget_s=0.5, min_repeats=4)
    assert slow.repeats == 4
    rng = np.random.default_rng(2)
    capped = measure(clock.work(lambda: float(rng.uniform(1, 2))), clock=clock,
                     target_rel_ci=1e-9, budget_s=1e9, max_repeats=30)
    assert capped.repeats == 30


def test_short_calls_are_batched_and_reported_per_call() -> None:
    clock = FakeClock(tick=1e-8)  # reading the clock costs 10 ns, its effective resolution
    timing = measure(clock.work(lambda: 1e-7), clock=clock)
    # A sample must span 1000 ticks = 10 µs: 100 calls of 100 ns.
    assert timing.calls_per_sample == 100
    assert timing.median_s == pytest.approx(1e-7, rel=0.002)  # + one 10 ns read per 100 calls
    assert timing.overhead_s == pytest.approx(1e-8 / 100)


def test_long_calls_are_not_batched() -> None:
    clock = FakeClock(tick=1e-8)
    assert measure(clock.work(lambda: 1e-4), clock=clock).calls_per_sample == 1


def test_sync_runs_before_every_clock_read_of_a_sample() -> None:
    clock = FakeClock()
    events: list[str] = []
    def fn() -> None:
        events.append("call")
        clock.now += 1e-3
    timing = measure(fn, clock=clock, warmup=1, min_repeats=3,
                     sync=lambda: events.append("sync"))
    assert timing.repeats == 3
    # warm-up and each sample: sync, (clock), call, sync, (clock)
    assert events == ["sync", "call", "sync"] * 4


def test_summarize_matches_numpy() -> None:
    rng = np.random.default_rng(3)
    samples = list(rng.lognormal(0, 0.5, 101))
    median, iqr, low, high = summarize(samples)
    assert median == pytest.approx(float(np.median(samples)))
    q1, q3 = np.percentile(samples, [25, 75])
    assert iqr == pytest.approx(float(q3 - q1))
    ordered = sorted(samples)
    lo, hi = median_ci_ranks(101)
    assert (low, high) == (ordered[lo], ordered[hi])
    assert low < median < high


@pytest.mark.parametrize(("n", "ranks"), [(1, (0, 0)), (5, (0, 4)), (6, (0, 5)),
                                          (10, (1, 8)), (20, (5, 14)), (100, (39, 60))])
def test_median_ci_ranks_are_the_binomial_order_statistics(n: int, ranks: tuple[int, int]
                                                           ) -> None:
    assert median_ci_ranks(n) == ranks
    lo = ranks[0]
    if n >= 6:  # exact: P(Binomial(n, 1/2) <= lo) <= 2.5% < P(... <= lo + 1)
        cdf = [sum(math.comb(n, j) for j in range(k + 1)) / 2 ** n for k in range(n)]
        assert cdf[lo] <= 0.025 < cdf[lo + 1]


def test_the_median_ci_covers_the_true_median_at_least_95_percent() -> None:
    rng = np.random.default_rng(4)
    true_median = math.log(2)  # of Exponential(1)
    n, trials = 31, 2000
    lo, hi = median_ci_ranks(n)
    samples = np.sort(rng.exponential(1.0, (trials, n)), axis=1)
    covered = np.mean((samples[:, lo] <= true_median) & (true_median <= samples[:, hi]))
    assert 0.95 <= covered <= 0.995


def test_a_real_clock_measures_a_sleep_like_call() -> None:
    timing = measure(lambda: sum(range(2000)), budget_s=0.2)
    assert isinstance(timing, Timing)
    assert timing.ci_low_s <= timing.median_s <= timing.ci_high_s
    assert len(timing.samples_s) == timing.repeats >= 5
    assert timing.median_s == statistics.median(timing.samples_s)


@pytest.mark.parametrize("kwargs", [{"warmup": -1}, {"min_repeats": 0},
                                    {"min_repeats": 10, "max_repeats": 5},
                                    {"target_rel_ci": 0.0}, {"budget_s": -1.0}])
def test_bad_arguments_are_rejected_by_name(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        measure(lambda: None, **kwargs)  # type: ignore[arg-type]
