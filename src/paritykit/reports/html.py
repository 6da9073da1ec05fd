"""The HTML report: one self-contained file (inline CSS and SVG, no script, no network).

It shows the counts per status, the parity matrix (cases × backends), every failure with its
message and repro command, error distributions per backend, speedup charts from a
``bench.json``, layer-by-layer trace tables and the run's machine and version information.
Everything taken from results is escaped.

Example::

    >>> from paritykit.core.result import Result, Status
    >>> page = build_html(ReportInputs([Result("relu", "torch", Status.PASS)]), title="demo")
    >>> page.startswith("<!DOCTYPE html>") and "relu" in page
    True
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Sequence

from paritykit.core.result import Result
from paritykit.files.atomic import atomic_write_bytes
from paritykit.reports._html_inputs import (
    Bench,
    BenchRow,
    ReportInputs,
    Trace,
    TraceRow,
    load_bench,
    load_inputs,
    load_trace,
)
from paritykit.reports._html_markup import Markup, el, join
from paritykit.reports._html_matrix import matrix_section
from paritykit.reports._html_sections import (
    errors_section,
    expected_section,
    failure_anchors,
    failures_section,
    info_section,
    summary_section,
)
from paritykit.reports._html_speedups import speedup_section, trace_section
from paritykit.reports._html_style import CSS

__all__ = [
    "Bench",
    "BenchRow",
    "ReportInputs",
    "Trace",
    "TraceRow",
    "build_html",
    "load_bench",
    "load_inputs",
    "load_trace",
    "write_html",
]


def _backends(results: Sequence[Result], order: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([*order, *(r.backend for r in results)]))


def _section(anchor: str, title: str, body: Markup) -> Markup:
    return el("section", el("h2", title), body, id=anchor)


def build_html(
    inputs: ReportInputs,
    title: str = "paritykit report",
    backends: Sequence[str] = (),
    facts: dict[str, str] | None = None,
) -> str:
    """The whole report page as a string.

    ``backends`` orders the matrix columns (other backends follow in first-seen order);
    ``facts`` are extra ``name: value`` lines for the run information (seed, command line).
    """
    results = inputs.results
    columns = _backends(results, backends)
    anchors = failure_anchors(results)
    generated = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    info = {"source": inputs.source or "—", "generated": generated}
    if inputs.skipped_lines:
        info["skipped lines"] = (f"{inputs.skipped_lines} incomplete line(s) of the results "
                                 "file (a run killed mid-write); `parity run --resume` reruns "
                                 "those pairs")
    info.update(facts or {})
    failed = sum(r.status.failed for r in results)
    sections = [
        ("summary", "Summary", summary_section(results, columns)),
        ("matrix", "Parity matrix", matrix_section(results, columns, anchors)),
        ("failures", f"Failures ({failed})", failures_section(results, columns, anchors)),
        ("errors", "Error distributions", errors_section(results, columns)),
        ("speedups", "Speedups", speedup_section(inputs.bench)),
        ("traces", "Traces", trace_section(inputs.traces)),
        ("expectations", "Expected failures", expected_section(results)),
        ("info", "Machine and run", info_section(results, columns, inputs.bench, info)),
    ]
    nav = el("nav", [el("a", name, href=f"#{anchor}") for anchor, name, _ in sections])
    header = el("header", el("h1", title),
                el("p", f"{inputs.source or 'results'} · generated {generated}", class_="note"))
    body = el("body", header, nav, [_section(a, n, b) for a, n, b in sections])
    head = el("head", el("meta", charset="utf-8"),
              el("meta", name="viewport", content="width=device-width, initial-scale=1"),
              el("title", title), el("style", Markup(CSS)))
    return "<!DOCTYPE html>\n" + join([el("html", head, body, lang="en")]) + "\n"


def write_html(
    path: str | os.PathLike[str],
    inputs: ReportInputs,
    title: str = "paritykit report",
    backends: Sequence[str] = (),
    facts: dict[str, str] | None = None,
) -> int:
    """Write :func:`build_html` to ``path`` atomically; returns its size in bytes."""
    data = build_html(inputs, title, backends, facts).encode("utf-8")
    atomic_write_bytes(path, data)
    return len(data)
