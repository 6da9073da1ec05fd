"""The sections of the HTML report about results: summary, failures, error distributions,
expectations and run information (the matrix, speedups and traces have their own modules).

Each function takes plain data and returns :class:`Markup`; nothing here reads files.

Example::

    >>> from paritykit.core.result import Result, Status
    >>> "1 PASS" in summary_section([Result("relu", "torch", Status.PASS)], ["torch"])
    True
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence

from paritykit.core.result import Result, Status
from paritykit.reports._html_inputs import Bench
from paritykit.reports._html_markup import Markup, el, join, num_cell, plural, slug, table
from paritykit.reports._html_matrix import status_class, symbol
from paritykit.reports._html_svg import HistogramRange, histogram_svg
from paritykit.reports.console import format_error, summary_line

#: A failure's traceback is cut to its last this many characters (the end says what raised).
TRACEBACK_CHARS = 3000
#: A backend's failures are listed expanded up to this many; more start collapsed.
OPEN_FAILURES = 30


# ---------------------------------------------------------------- summary


def summary_section(results: Sequence[Result], backends: Sequence[str]) -> Markup:
    """Counts per status (badges) and a backend × status table."""
    counts = Counter(r.status for r in results)
    present = [s for s in Status if counts[s]]
    badges = [el("span", el("b", str(counts[s])), el("span", symbol(s), class_="sym"), " ",
                 s.value, class_=f"badge {status_class(s)}") for s in present]
    per: dict[str, Counter[Status]] = defaultdict(Counter)
    for r in results:
        per[r.backend][r.status] += 1
    rows = [
        el("tr", el("th", b, scope="row"), num_cell(sum(per[b].values())),
           [el("td", per[b][s] or "", class_="num " + status_class(s) if per[b][s] else "num")
            for s in present],
           num_cell(sum(n for s, n in per[b].items() if s.failed)))
        for b in backends if b in per
    ]
    head = ["backend", "results", *(s.value for s in present), "failed"]
    return join([
        el("p", summary_line(results)),
        el("div", badges, class_="badges"),
        el("div", table(head, rows, numeric=range(1, len(head))), class_="scroll")
        if results else "",
    ])


# ---------------------------------------------------------------- failures


def failure_anchors(results: Sequence[Result]) -> dict[tuple[str, str], str]:
    """An element id for each failed result (the matrix links its cell there)."""
    taken: set[str] = set()
    return {r.key: "f-" + slug(f"{r.case}--{r.backend}", taken)
            for r in results if r.status.failed}


def _facts(r: Result) -> str:
    parts = []
    for label, value in (("max abs", r.max_abs_error), ("max rel", r.max_rel_error),
                         ("max ULP", r.max_ulp)):
        if value is not None:
            parts.append(f"{label} {format_error(value)}")
    if r.mismatched is not None and r.total:
        parts.append(f"{r.mismatched} / {r.total} mismatched")
    if r.worst_index is not None:
        parts.append(f"worst at {list(r.worst_index)}")
    if r.tolerance_source:
        parts.append(r.tolerance_source)
    if r.raw_status and r.raw_status != r.status.value:
        parts.append(f"was {r.raw_status}")
    if r.artifact_dir:
        parts.append(f"artifacts {r.artifact_dir}")
    return " · ".join(parts)


def _failure(r: Result, anchor: str) -> Markup:
    tb = r.traceback
    cut = len(tb) > TRACEBACK_CHARS
    if cut:
        tb = tb[-TRACEBACK_CHARS:]
    return el(
        "article",
        el("h4", el("span", symbol(r.status), class_=f"sym {status_class(r.status)}"), " ",
           r.status.value, " ", el("code", r.case), " @ ", el("code", r.backend)),
        el("pre", r.message, class_="message") if r.message else "",
        el("p", "repro: ", el("code", r.repro)) if r.repro else "",
        el("p", _facts(r), class_="facts") if _facts(r) else "",
        el("details", el("summary", "traceback" + (" (last part)" if cut else "")),
           el("pre", tb)) if tb else "",
        class_="failure", id=anchor)


def failures_section(results: Sequence[Result], backends: Sequence[str],
                     anchors: Mapping[tuple[str, str], str]) -> Markup:
    """Every failed result with its message, repro command, figures and traceback, by backend."""
    failed = [r for r in results if r.status.failed]
    if not failed:
        return el("p", "No failures.", class_="note")
    by_backend: dict[str, list[Result]] = defaultdict(list)
    for r in failed:
        by_backend[r.backend].append(r)
    groups = [
        el("details", el("summary", el("b", backend), f" — {plural(len(items), 'failure')}"),
           [_failure(r, anchors[r.key]) for r in items], open=len(items) <= OPEN_FAILURES)
        for backend in backends if (items := by_backend.get(backend))
    ]
    return join(groups)


# ---------------------------------------------------------------- error distributions


def _within(r: Result) -> bool:
    return (r.raw_status or r.status.value) == Status.PASS.value


def _worst(results: Sequence[Result], attr: str) -> Markup:
    scored = [(getattr(r, attr), r.case) for r in results if getattr(r, attr) is not None]
    if not scored:
        return el("td", "")
    value, case = max(scored, key=lambda p: math.inf if math.isnan(p[0]) else p[0])
    where = el("small", " " + case) if value != 0 else ""
    return el("td", format_error(value), where, class_="num")


def errors_section(results: Sequence[Result], backends: Sequence[str]) -> Markup:
    """Per backend, histograms of log10 max rel error and max ULP of the compared results."""
    compared = [r for r in results if r.max_rel_error is not None or r.max_ulp is not None]
    if not compared:
        return el("p", "No compared results (no backend produced outputs to compare).",
                  class_="note")
    rel_span = HistogramRange.covering([r.max_rel_error for r in compared
                                        if r.max_rel_error is not None])
    ulp_span = HistogramRange.covering([r.max_ulp for r in compared if r.max_ulp is not None],
                                       lo=0, hi=12)
    rows, figures = [], []
    for backend in backends:
        mine = [r for r in compared if r.backend == backend]
        if not mine:
            continue
        rel = [(r.max_rel_error, _within(r)) for r in mine if r.max_rel_error is not None]
        ulp = [(r.max_ulp, _within(r)) for r in mine if r.max_ulp is not None]
        nonzero = [v for v, _ in rel if math.isfinite(v) and v != 0]
        rows.append(el("tr", el("th", backend, scope="row"), num_cell(len(mine)),
                       num_cell(sum(r.max_abs_error == 0 for r in mine)),
                       num_cell(sum(_within(r) for r in mine)),
                       num_cell(format_error(statistics.median(nonzero)) if nonzero else ""),
                       _worst(mine, "max_rel_error"), _worst(mine, "max_ulp")))
        figures.append(el("div", [
            el("figure", el("figcaption", f"{backend} — {what} "
                                          f"({plural(len(values), 'result')})"),
               histogram_svg(values, span, what))
            for values, span, what in ((rel, rel_span, "max rel error"),
                                       (ulp, ulp_span, "max ULP"))
            if values]))
    head = ["backend", "compared", "exactly equal", "within tolerance", "median max rel ≠ 0",
            "worst max rel (case)", "worst max ULP (case)"]
    key = el("p", el("span", class_="key bar-pass"), "within tolerance",
             el("span", class_="key bar-fail"), "beyond tolerance (MISMATCH, also when "
             "expected); bars: results per half decade; '0': exactly equal", class_="note")
    return join([el("div", table(head, rows, numeric=range(1, 7)), class_="scroll"), key,
                 join(figures)])


# ---------------------------------------------------------------- expectations, run info


def expected_section(results: Sequence[Result]) -> Markup:
    """Results that an expectations entry turned into XFAIL / XPASS, with its reason."""
    listed = [r for r in results if r.status in (Status.XFAIL, Status.XPASS) or r.expectation]
    if not listed:
        return el("p", "No expectations entry applied to these results.", class_="note")
    rows = [el("tr", el("td", r.backend), el("td", el("code", r.case)),
               el("td", r.status.value, class_=status_class(r.status)), el("td", r.raw_status),
               el("td", r.expectation), el("td", r.message.splitlines()[0] if r.message else ""))
            for r in listed]
    head = ["backend", "case", "status", "was", "reason (expectations file)", "message"]
    return el("details", el("summary", f"{plural(len(listed), 'result')} with an expectation"),
              el("div", table(head, rows), class_="scroll"), open=len(listed) <= OPEN_FAILURES)


def _fmt_counter(counter: Counter[str]) -> str:
    return "; ".join(f"{k or '—'} ({n})" for k, n in counter.most_common())


def info_section(results: Sequence[Result], backends: Sequence[str], bench: Bench | None,
                 facts: Mapping[str, str]) -> Markup:
    """Where the data came from, run fingerprints, versions and time per backend, expectations
    applied, and the bench machine's fingerprint."""
    items = dict(facts)
    if results:
        items["run fingerprints"] = _fmt_counter(Counter(r.fingerprint for r in results))
        items["devices"] = _fmt_counter(Counter(r.device for r in results))
        total = sum(r.total_s or 0.0 for r in results)
        items["worker time"] = f"{total:.1f} s (sum over results)"
        applied = Counter(r.backend for r in results if r.expectation)
        items["expectations applied"] = _fmt_counter(applied) if applied else "none"
    if bench is not None:
        for k, v in bench.machine.items():
            items[f"bench machine: {k}"] = str(v)
    info = el("dl", [join([el("dt", k), el("dd", v)]) for k, v in items.items()], class_="info")
    per: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        per[r.backend].append(r)
    rows = []
    for b in backends:
        mine = per.get(b, [])
        if not mine:
            continue
        versions: dict[str, set[str]] = defaultdict(set)
        for r in mine:
            for pkg, ver in r.versions.items():
                versions[pkg].add(ver)
        text = ", ".join(f"{p} {'/'.join(sorted(v))}" for p, v in sorted(versions.items()))
        cache = Counter(str(r.cache) for r in mine if r.cache)
        rows.append(el("tr", el("th", b, scope="row"), el("td", text),
                       el("td", _fmt_counter(cache)),
                       num_cell(f"{sum(r.prepare_s or 0.0 for r in mine):.1f}"),
                       num_cell(f"{sum(r.run_s or 0.0 for r in mine):.2f}")))
    head = ["backend", "versions", "cache", "prepare s (sum)", "run s (sum)"]
    per_backend = el("div", table(head, rows, numeric=(3, 4)), class_="scroll") if rows else ""
    return join([info, per_backend])
