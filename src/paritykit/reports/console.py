"""The console reporter: a live progress bar, then the parity matrix, failures and a summary."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from paritykit.core.result import Result, Status

SYMBOLS: dict[Status, tuple[str, str]] = {
    Status.PASS: ("✓", "green"),
    Status.MISMATCH: ("✗", "bold red"),
    Status.EXPORT_ERROR: ("E", "magenta"),
    Status.LOWER_ERROR: ("L", "magenta"),
    Status.RUN_ERROR: ("R", "red"),
    Status.CRASH: ("C", "bold red"),
    Status.TIMEOUT: ("T", "yellow"),
    Status.UNSUPPORTED: ("–", "dim"),
    Status.SKIPPED: ("s", "dim"),
    Status.XFAIL: ("x", "yellow"),
    Status.XPASS: ("X", "bold magenta"),
}
"""The matrix symbol and rich style of each status."""

MISSING_SYMBOL = "·"
"""The matrix cell of a (case, backend) pair that has no result."""


def format_error(value: float | None) -> str:
    """An error in compact form: ``2e-7``, ``3.1e-2``, ``0``, ``nan``; ``""`` for None."""
    if value is None:
        return ""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.1e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def _format_seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}s"


def _status_text(status: Status) -> Text:
    symbol, style = SYMBOLS[status]
    return Text(symbol, style=style)


def cell_text(result: Result) -> Text:
    """The matrix cell of one result: its symbol, plus the worst abs error for PASS/MISMATCH."""
    text = _status_text(result.status)
    if result.status in (Status.PASS, Status.MISMATCH) and result.max_abs_error is not None:
        text.append(" " + format_error(result.max_abs_error), style=SYMBOLS[result.status][1])
    return text


def _ordered_backends(results: Iterable[Result], backends: Sequence[str] | None) -> list[str]:
    ordered = list(dict.fromkeys(backends or ()))
    seen = set(ordered)
    for r in results:
        if r.backend not in seen:
            seen.add(r.backend)
            ordered.append(r.backend)
    return ordered


def result_line(result: Result) -> Text:
    """One line about one result: status, ``case @ backend``, worst abs error, timings."""
    symbol, style = SYMBOLS[result.status]
    line = Text.assemble(
        (f"{symbol} {result.status.value:<12}", style),
        " ",
        (result.case, "bold"),
        " @ ",
        (result.backend, "cyan"),
    )
    error = format_error(result.max_abs_error)
    if error:
        line.append(f"  abs {error}")
    if result.prepare_s is not None or result.run_s is not None:
        line.append(
            f"  prepare {_format_seconds(result.prepare_s)} run {_format_seconds(result.run_s)}",
            style="dim",
        )
    return line


def _indented(text: str, prefix: str = "    ") -> Text:
    return Text("\n".join(prefix + line for line in text.splitlines()))


def print_matrix(
    console: Console, results: Sequence[Result], backends: Sequence[str] | None = None
) -> None:
    """Print the parity matrix of ``results``, a legend and a totals line per backend.

    Rows are cases in the order first seen; columns are ``backends`` (in the order given)
    followed by any other backend in the order first seen. When a (case, backend) pair has
    several results, the last one is shown.
    """
    if not results:
        console.print("No results.", style="dim")
        return
    columns = _ordered_backends(results, backends)
    cells: dict[str, dict[str, Result]] = {}
    for r in results:
        cells.setdefault(r.case, {})[r.backend] = r

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1))
    table.add_column("case", overflow="fold", style="bold")
    for backend in columns:
        table.add_column(escape(backend), no_wrap=True, overflow="ellipsis", min_width=3)
    missing = False
    for case, row in cells.items():
        rendered: list[Text] = [Text(case)]
        for backend in columns:
            result = row.get(backend)
            if result is None:
                missing = True
                rendered.append(Text(MISSING_SYMBOL, style="dim"))
            else:
                rendered.append(cell_text(result))
        table.add_row(*rendered)
    console.print(table)

    present = {r.status for r in results}
    legend = Text("legend: ", style="dim")
    for status in Status:
        if status in present:
            legend.append_text(_status_text(status))
            legend.append(f" {status.value}  ")
    if missing:
        legend.append(f"{MISSING_SYMBOL} not run", style="dim")
    legend.rstrip()
    console.print(legend)

    shown = {(r.case, r.backend): r for r in results}.values()
    width = max(len(b) for b in columns)
    for backend in columns:
        counts = Counter(
            "pass" if r.status is Status.PASS else "fail" if r.status.failed else "other"
            for r in shown
            if r.backend == backend
        )
        line = Text.assemble(
            ("totals ", "dim"),
            (f"{backend:<{width}}", "cyan"),
            "  ",
            (f"{counts['pass']} pass", "green"),
            ", ",
            (f"{counts['fail']} fail", "red" if counts["fail"] else ""),
            ", ",
            f"{counts['other']} other",
        )
        console.print(line)


def print_failures(console: Console, results: Sequence[Result]) -> None:
    """Print each failed result: status, ``case @ backend``, its message and repro command."""
    failed = [r for r in results if r.status.failed]
    if not failed:
        return
    console.print()
    console.print(Text(f"Failures ({len(failed)}):", style="bold red"))
    for r in failed:
        console.print(result_line(r))
        if r.message:
            console.print(_indented(r.message))
        if r.repro:
            console.print(Text.assemble(("    repro: ", "dim"), r.repro))


def summary_line(results: Sequence[Result], wall_s: float | None = None) -> str:
    """``412 results: 398 PASS, 3 MISMATCH, 11 UNSUPPORTED in 83.2 s`` (statuses in enum order)."""
    counts = Counter(r.status for r in results)
    noun = "result" if len(results) == 1 else "results"
    parts = ", ".join(f"{counts[s]} {s.value}" for s in Status if counts[s])
    line = f"{len(results)} {noun}" + (f": {parts}" if parts else "")
    if wall_s is not None:
        line += f" in {wall_s:.1f} s"
    return line


class ConsoleReporter:
    """Reports a run on a rich console: progress while it runs, the matrix when it ends.

    Call :meth:`start` once, :meth:`on_result` for each finished (case, backend) pair and
    :meth:`finish` at the end. Failed results are printed as they arrive; with ``verbose``,
    every result is.
    """

    def __init__(self, console: Console, verbose: bool = False) -> None:
        self.console = console
        self.verbose = verbose
        self._backends: list[str] = []
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._counts: Counter[Status] = Counter()

    def start(self, total: int, backends: list[str], jobs: int) -> None:
        """Start a transient progress bar for ``total`` results over ``backends``."""
        self._backends = list(backends)
        self._counts = Counter()
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[counts]}"),
            console=self.console,
            transient=True,
        )
        plural = "" if jobs == 1 else "s"
        description = escape(f"{len(backends)} backends, {jobs} job{plural}")
        self._task = self._progress.add_task(description, total=total, counts="")
        self._progress.start()

    def _counts_markup(self) -> str:
        parts = []
        for status in Status:
            if self._counts[status]:
                symbol, style = SYMBOLS[status]
                parts.append(f"[{style}]{symbol}[/] {self._counts[status]}")
        return "  ".join(parts)

    def on_result(self, result: Result) -> None:
        """Advance the progress bar; print the result if verbose or failed."""
        self._counts[result.status] += 1
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=1, counts=self._counts_markup())
        if self.verbose or result.status.failed:
            self.console.print(result_line(result))
            if result.status.failed and result.message:
                self.console.print(_indented(result.message))

    def finish(self, results: list[Result], wall_s: float) -> None:
        """Stop the progress bar and print the matrix, the failures and the summary line."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._task = None
        self.console.print()
        print_matrix(self.console, results, self._backends or None)
        print_failures(self.console, results)
        self.console.print()
        failed = any(r.status.failed for r in results)
        self.console.print(
            Text(summary_line(results, wall_s), style="bold red" if failed else "bold green")
        )
