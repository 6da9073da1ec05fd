"""Is the new run slower than the stored one? A one-sided Mann–Whitney U test.

The test is rank-based, so it needs no assumption about the (skewed, long-tailed) distribution
of timings; a regression needs both a significant shift and a relative slowdown above the
threshold, so neither a tiny-but-certain nor a large-but-noisy change is flagged.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from paritykit.files.bench import BenchRow, BenchRun


def mann_whitney_greater(new: Sequence[float], old: Sequence[float]) -> float:
    """One-sided p-value that ``new`` tends to be larger than ``old``.

    :func:`scipy.stats.mannwhitneyu` with the normal approximation (mid-ranks for ties, the
    tie-corrected variance, a continuity correction) at every sample size, so the p-value of
    a run does not switch method with the number of repeats. Two samples of one and the same
    value give p = 0.5 (no evidence either way; scipy says 1.0 for a zero variance).

    >>> round(mann_whitney_greater([2.0, 2.1, 2.2, 2.3, 2.4], [1.0, 1.1, 1.2, 1.3, 1.4]), 4)
    0.0061
    """
    if len(new) == 0 or len(old) == 0:
        raise ValueError("mann_whitney_greater needs two non-empty samples")
    if len({*new, *old}) == 1:
        return 0.5
    from scipy.stats import mannwhitneyu  # ~1 s to import: only when runs are compared

    test = mannwhitneyu(new, old, alternative="greater", method="asymptotic",
                        use_continuity=True)
    return float(test.pvalue)


@dataclass(frozen=True)
class Change:
    """How one row moved between a stored run and this one."""

    old_median_s: float
    new_median_s: float
    #: new / old - 1 (0.3 = 30% slower)
    change: float
    #: one-sided p-value that the new samples are slower
    p_slower: float
    #: one-sided p-value that the new samples are faster
    p_faster: float
    verdict: str  # "regression" | "improvement" | "same"


def compare_samples(new: Sequence[float], old: Sequence[float], threshold: float = 0.10,
                    alpha: float = 0.05) -> Change:
    """Verdict on ``new`` vs ``old`` per-call seconds.

    ``regression``: median slower by more than ``threshold`` and ``p_slower < alpha``;
    ``improvement`` symmetrically (faster by more than ``threshold``); otherwise ``same``.

    >>> compare_samples([1.3, 1.31, 1.29, 1.3, 1.32], [1.0, 1.01, 0.99, 1.0, 1.02]).verdict
    'regression'
    """
    old_median, new_median = statistics.median(old), statistics.median(new)
    change = new_median / old_median - 1.0 if old_median > 0 else 0.0
    p_slower = mann_whitney_greater(new, old)
    p_faster = mann_whitney_greater(old, new)
    verdict = "same"
    if change > threshold and p_slower < alpha:
        verdict = "regression"
    elif change < -threshold / (1.0 + threshold) and p_faster < alpha:
        verdict = "improvement"
    return Change(old_median, new_median, change, p_slower, p_faster, verdict)


def compare_runs(old: BenchRun, new: BenchRun, threshold: float = 0.10,
                 alpha: float = 0.05) -> list[tuple[BenchRow, Change]]:
    """Each row of ``new`` that ``old`` also has (same case, backend, variant, threads) with its
    :class:`Change`; rows only one run has are left out."""
    before = {r.key: r for r in old.rows}
    out = []
    for row in new.rows:
        previous = before.get(row.key)
        if previous is None:
            continue
        old_samples = previous.samples_s or [previous.median_s]
        new_samples = row.samples_s or [row.median_s]
        out.append((row, compare_samples(new_samples, old_samples, threshold, alpha)))
    return out
