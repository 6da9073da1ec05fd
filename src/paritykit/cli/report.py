"""``parity report RESULTS --html FILE``: one self-contained HTML page from a run's files.

``RESULTS`` is an artifact directory (its ``results.jsonl``, ``bench.json`` and
``trace-*.json``) or one file (a ``results.jsonl``, a ``--json`` report, a bench or a trace
file). Listed in :data:`paritykit.cli.main.COMMAND_MODULES`.

Example::

    parity run relu -b torch --artifact-dir out
    parity report out --html out/report.html --title "relu on torch"
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from rich.console import Console
from rich.markup import escape

from paritykit.cli.common import EXIT_OK
from paritykit.core.errors import ParityError

NAME = "report"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``report`` to ``parity``'s subparsers."""
    p = subparsers.add_parser(
        "report", help="write a self-contained HTML report of a run (matrix, failures, "
                       "error distributions, speedups, traces)")
    p.add_argument("results", metavar="RESULTS",
                   help="an artifact directory (reads results.jsonl, bench.json and "
                        "trace-*.json there) or one results.jsonl / --json / bench / trace file")
    p.add_argument("--html", required=True, metavar="FILE", help="the HTML file to write")
    p.add_argument("--title", default=None, help="page title (default: 'paritykit report: "
                                                  "RESULTS')")
    p.add_argument("--bench", metavar="FILE",
                   help="a bench.json from elsewhere (replaces RESULTS/bench.json)")
    p.add_argument("--trace", action="append", default=[], metavar="FILE",
                   help="a trace-MODEL-BACKEND.json from elsewhere (repeatable)")
    return p


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def run(args: argparse.Namespace, console: Console) -> int:
    """Read the inputs, write the page, print one line saying what went in."""
    from paritykit.reports.html import load_inputs, write_html

    start = time.perf_counter()
    inputs = load_inputs(args.results, bench=args.bench, traces=args.trace)
    title = args.title or f"paritykit report: {args.results}"
    try:
        size = write_html(args.html, inputs, title=title)
    except OSError as exc:
        raise ParityError(f"{args.html}: cannot write the report: {exc.strerror or exc}") from exc
    failed = sum(r.status.failed for r in inputs.results)
    parts = [f"{len(inputs.results)} results", f"{failed} failed"]
    if inputs.bench is not None:
        parts.append(f"{len(inputs.bench.rows)} bench rows")
    if inputs.traces:
        parts.append(f"{len(inputs.traces)} trace(s)")
    if inputs.skipped_lines:
        parts.append(f"{inputs.skipped_lines} incomplete line(s) of results.jsonl skipped")
    console.print(f"wrote {escape(str(args.html))} ({_size(size)}, "
                  f"{time.perf_counter() - start:.1f} s): {escape(', '.join(parts))}")
    return EXIT_OK
