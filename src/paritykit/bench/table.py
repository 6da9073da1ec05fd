"""The compact tables ``parity bench`` prints: one row per (case, backend, threads)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.markup import escape
from rich.table import Table

from paritykit.bench.stats import Change
from paritykit.files.bench import BenchFailure, BenchRow, BenchRun

LEGEND = ("ms: median per call ± half the interquartile range (% of the median); "
          "×: speedup of the backend over its baseline and over torch eager (>1 = faster)")
_VERDICT_STYLE = {"regression": "bold red", "improvement": "green", "same": "dim"}


def fmt_ms(seconds: float) -> str:
    """Milliseconds with three significant digits.

    >>> [fmt_ms(s) for s in (0.0000123, 0.00123, 0.0123, 0.123, 1.23)]
    ['0.0123', '1.23', '12.3', '123', '1230']
    """
    ms = seconds * 1e3
    return f"{ms:.0f}" if ms >= 100 else f"{ms:.3g}"


def fmt_timing(row: BenchRow | None) -> str:
    """``1.23 ±4%`` (half the IQR relative to the median), or blank."""
    if row is None:
        return ""
    spread = 50.0 * row.iqr_s / row.median_s if row.median_s > 0 else 0.0
    return f"{fmt_ms(row.median_s)} ±{spread:.0f}%"


def fmt_speedup(slow: BenchRow | None, fast: BenchRow | None) -> str:
    """``2.10×`` = slow / fast, or blank when either is missing."""
    if slow is None or fast is None or fast.median_s <= 0:
        return ""
    return f"{slow.median_s / fast.median_s:.2f}×"


def bench_table(run: BenchRun) -> Table:
    """One row per (case, backend, threads): baseline, optimized and torch times, speedups.

    A variant that could not be timed shows its status instead of a time.
    """
    rows = {r.key: r for r in run.rows}
    failures = {(f.case, f.backend, f.variant, f.threads): f for f in run.failures}
    threads = sorted({k[3] for k in [*rows, *failures]})
    table = Table("case", "backend", *(["threads"] if len(threads) > 1 else []), "baseline",
                  "baseline ms", "optimized ms", "torch ms", "× baseline", "× torch", "status",
                  caption=LEGEND, caption_justify="left")
    for column in table.columns[:3]:
        column.no_wrap = True
    pairs = dict.fromkeys((k[0], k[1], k[3]) for k in [*rows, *failures] if k[2] != "reference")
    for case, backend, n in pairs:
        opt = rows.get((case, backend, "optimized", n))
        base = rows.get((case, backend, "baseline", n))
        ref = rows.get((case, "torch", "reference", n))
        base_fail = failures.get((case, backend, "baseline", n))
        opt_fail = failures.get((case, backend, "optimized", n))
        ref_fail = failures.get((case, "torch", "reference", n))
        label = _short_label(backend, (base or base_fail).label if (base or base_fail)  # type: ignore[union-attr]
                             else "")
        table.add_row(
            escape(case), escape(backend), *([str(n)] if len(threads) > 1 else []),
            escape(label), fmt_timing(base) or _status(base_fail),
            fmt_timing(opt) or _status(opt_fail), fmt_timing(ref) or _status(ref_fail),
            fmt_speedup(base, opt), fmt_speedup(ref, opt), _row_status(opt, base, opt_fail))
    return table


def _short_label(backend: str, label: str) -> str:
    """The baseline's label without the backend's own name when it is the same backend with
    other options (``iree --iree-opt-level=O0`` shows as ``--iree-opt-level=O0``)."""
    return label[len(backend) + 1:] if label.startswith(backend + " ") else label


def _status(failure: BenchFailure | None) -> str:
    return f"[red]{failure.status}[/]" if failure else ""


def _row_status(opt: BenchRow | None, base: BenchRow | None,
                failure: BenchFailure | None) -> str:
    if failure is not None:
        return f"[red]{failure.status}[/]"
    bad = [f"{r.variant} MISMATCH" for r in (opt, base) if r is not None and r.status != "PASS"]
    return "[yellow]" + ", ".join(bad) + "[/]" if bad else "ok"


def failure_lines(run: BenchRun) -> list[str]:
    """One line per variant that could not be timed (its status and message)."""
    return [f"{f.status}: {f.message}" for f in run.failures]


def compare_table(name: str, changes: Sequence[tuple[BenchRow, Change]]) -> Table:
    """Old vs new median per row, the change, the p-value and the verdict."""
    table = Table("case", "backend", "variant", "threads", f"{name} ms", "now ms", "change",
                  "p", "verdict", title=f"compared with saved run {name!r}")
    for row, change in changes:
        p = change.p_slower if change.change >= 0 else change.p_faster
        style = _VERDICT_STYLE[change.verdict]
        table.add_row(escape(row.case), escape(row.backend), row.variant, str(row.threads),
                      fmt_ms(change.old_median_s), fmt_ms(change.new_median_s),
                      f"{100 * change.change:+.1f}%", f"{p:.3g}",
                      f"[{style}]{change.verdict}[/]")
    return table
