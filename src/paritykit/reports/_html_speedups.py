"""The bench and trace parts of the HTML report: speedup charts and tables from a
``bench.json``, and one table per ``trace-*.json``.

Speedups are derived here (reference / optimized, baseline / optimized), never stored.

Example::

    >>> from paritykit.files.bench import BenchRow
    >>> def row(backend, variant, median_s):
    ...     return BenchRow("relu", backend, variant, backend, 1, median_s, 0.0, median_s,
    ...                     median_s, 5)
    >>> rows = [row("torch", "reference", 2e-3), row("iree", "optimized", 1e-3)]
    >>> [(key, sorted(v)) for key, v in pair_bench_rows(rows)]
    [(('relu', 'iree', 1), ['optimized', 'reference'])]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from paritykit.core.result import Status
from paritykit.reports._html_inputs import Bench, BenchRow, Trace
from paritykit.reports._html_markup import Markup, el, join, num_cell, plural, table
from paritykit.reports._html_matrix import status_class_of, symbol
from paritykit.reports._html_svg import SpeedupBar, format_speedup, speedup_svg
from paritykit.reports.console import format_error


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds >= 1:
        return f"{seconds:.3g} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} µs"


def _ratio(num: BenchRow | None, den: BenchRow | None) -> float | None:
    if num is None or den is None or not num.median_s or not den.median_s:
        return None
    return num.median_s / den.median_s


Key = tuple[str, str, int | None]


def pair_bench_rows(
    rows: Sequence[BenchRow],
) -> list[tuple[Key, dict[str, BenchRow]]]:
    """Rows grouped by (case, backend, threads) into their variants, in file order.

    A reference row counts for every backend of its (case, threads) unless that backend has
    its own reference row. Groups with no optimized row are dropped.
    """
    groups: dict[Key, dict[str, BenchRow]] = {}
    references: dict[tuple[str, int | None], BenchRow] = {}
    for row in rows:
        groups.setdefault((row.case, row.backend, row.threads), {})[row.variant] = row
        if row.variant == "reference":
            references.setdefault((row.case, row.threads), row)
    out = []
    for key, variants in groups.items():
        if "optimized" not in variants:
            continue
        fallback = references.get((key[0], key[2]))
        if "reference" not in variants and fallback is not None:
            variants = {**variants, "reference": fallback}
        out.append((key, variants))
    return out


def _timing_cell(row: BenchRow | None) -> Markup:
    if row is None:
        return el("td", "")
    if row.median_s is None:
        return el("td", row.status or "not timed", class_="s-run_error")
    tip = (f"{row.label or row.variant}: median {_duration(row.median_s)}, IQR "
           f"{_duration(row.iqr_s)}, 95% CI {_duration(row.ci_low_s)} to "
           f"{_duration(row.ci_high_s)}, {row.repeats} repeats")
    # ± half the interquartile range, relative to the median (as `parity bench` prints it).
    spread = f" ±{row.iqr_s / 2 / row.median_s:.0%}" if row.iqr_s and row.median_s else ""
    text = _duration(row.median_s) + spread
    label = el("small", f" {row.label}") if row.label and row.variant == "baseline" else ""
    if row.status and row.status != Status.PASS.value:
        # A fast wrong answer is not a speedup: say so next to the time.
        return el("td", text, label, " ", el("b", f"{symbol(Status.MISMATCH)} {row.status}"),
                  class_="num s-mismatch", title=tip + f"; outputs: {row.status}")
    return el("td", text, label, class_="num", title=tip)


def _bench_failures(bench: Bench) -> Markup:
    if not bench.failures:
        return Markup("")
    rows = [el("tr", el("td", str(f.get("case", ""))), el("td", str(f.get("backend", ""))),
               el("td", str(f.get("label") or f.get("variant", ""))),
               el("td", str(f.get("status", "")), class_=status_class_of(
                   str(f.get("status", "")))),
               el("td", str(f.get("message", ""))))
            for f in bench.failures]
    return join([el("h3", f"Not timed ({len(rows)})"),
                 el("div", table(["case", "backend", "variant", "status", "message"], rows),
                    class_="scroll")])


def speedup_section(bench: Bench | None) -> Markup:
    """Charts of reference/optimized and baseline/optimized per case and backend, and a table
    of the medians (± IQR) they come from."""
    if bench is None or not (bench.rows or bench.failures):
        return el("p", "No bench.json: `parity bench --artifact-dir DIR` (or `parity eval "
                       "--workload bench`) writes one.", class_="note")
    paired = pair_bench_rows(bench.rows)
    many_threads = len({key[2] for key, _ in paired}) > 1
    by_case: dict[str, list[SpeedupBar]] = defaultdict(list)
    rows = []
    for (case, backend, threads), v in paired:
        ref = _ratio(v.get("reference"), v.get("optimized"))
        base = _ratio(v.get("baseline"), v.get("optimized"))
        label = f"{backend} ({threads} threads)" if many_threads else backend
        by_case[case].append(SpeedupBar(label, ref, base))
        rows.append(el("tr", el("td", case), el("td", backend), num_cell(threads),
                       _timing_cell(v.get("reference")), _timing_cell(v.get("baseline")),
                       _timing_cell(v.get("optimized")), num_cell(format_speedup(ref)),
                       num_cell(format_speedup(base))))
    key = el("p", el("span", class_="key sp-ref"), "reference (torch eager) / optimized",
             el("span", class_="key sp-base"), "baseline (optimisations off) / optimized; "
             "right of the dashed 1× line is faster. Times: median per call ± half the "
             "interquartile range (% of the median).", class_="note")
    figures = [el("figure", el("figcaption", case), speedup_svg(bars))
               for case, bars in by_case.items()]
    head = ["case", "backend", "threads", "reference", "baseline", "optimized",
            "ref / opt", "base / opt"]
    return join([key, el("div", figures),
                 el("div", table(head, rows, numeric=range(2, 8)), class_="scroll"),
                 _bench_failures(bench),
                 el("p", f"{bench.path}: {plural(len(bench.rows), 'row')}"
                         + (f", created {bench.created}" if bench.created else ""),
                    class_="note")])


def trace_section(traces: Sequence[Trace]) -> Markup:
    """One table per trace file; the first diverging module's row is highlighted and marked."""
    if not traces:
        return el("p", "No trace files: `parity eval --workload trace --artifact-dir DIR` "
                       "writes DIR/trace-MODEL-BACKEND.json.", class_="note")
    parts = []
    for t in traces:
        verdict = (f"first mismatch: {t.first_mismatch}" if t.first_mismatch
                   else "trace failed" if t.error else "no module diverges")
        if t.stopped_early:
            verdict += " (stopped there)"
        rows = []
        for i, r in enumerate(t.rows):
            first = r.module == t.first_mismatch
            module = el("td", el("code", r.module),
                        el("b", " ◀ first mismatch") if first else "")
            rows.append(el("tr", num_cell(i), module, el("td", r.type),
                           el("td", r.status, class_=status_class_of(r.status)),
                           num_cell(format_error(r.max_abs)), num_cell(format_error(r.max_rel)),
                           el("td", r.message), class_="first-mismatch" if first else None))
        head = ["#", "module", "type", "status", "max abs", "max rel", "message"]
        parts.append(join([el("h3", el("code", t.model), " @ ", el("code", t.backend),
                              f" — {verdict}"),
                           el("pre", t.error, class_="message") if t.error else "",
                           el("div", table(head, rows, numeric=(0, 4, 5)), class_="scroll"),
                           el("p", t.path, class_="note")]))
    return join(parts)
