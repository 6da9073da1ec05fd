"""``parity autodiff``: the autodiff conformance checks as a check × framework matrix.

Listed in :data:`paritykit.cli.main.COMMAND_MODULES` (``NAME``, ``add_parser``, ``run``).
Exit codes: 0 nothing failed (UNSUPPORTED is not a failure), 1 a check failed or errored,
2 a requested framework is unknown or unavailable.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from paritykit.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE

_STYLE = {"PASS": "green", "FAIL": "bold red", "ERROR": "bold red", "UNSUPPORTED": "yellow"}


NAME = "autodiff"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``autodiff`` sub-command to ``parity``'s sub-parsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "autodiff",
        help="run the autodiff conformance checks (grad, vjp, jvp, custom_vjp, checkpoint, ...) "
             "on torch.func, JAX and MLX",
    )
    parser.add_argument("-f", "--framework", action="append", default=[], metavar="NAME",
                        help="framework to check: torch, jax or mlx (repeatable or "
                             "comma-separated); default: every available one")
    parser.add_argument("-k", dest="keyword", metavar="EXPR",
                        help='pytest-style keyword expression over check names and groups, '
                             'e.g. "vjp and not custom"')
    return parser


def run(args: argparse.Namespace, console: Console) -> int:
    """Run the selected checks and print the matrix; 1 if any check failed."""
    from paritykit.autodiff.adapters import ADAPTERS
    from paritykit.autodiff.checks import run_checks, select_checks
    from paritykit.core.errors import RegistryError

    requested = [n for spec in args.framework for n in spec.split(",") if n]
    names = requested or ADAPTERS.names()
    adapters = []
    for name in names:
        try:
            adapter = ADAPTERS.get(name)
        except RegistryError as exc:
            console.print(f"parity autodiff: {escape(str(exc))}", style="red")
            return EXIT_USAGE
        reason = adapter.is_available()
        if reason is not None:
            if requested:
                console.print(f"{name}: unavailable: {escape(reason)}", style="red")
                return EXIT_USAGE
            console.print(f"{name}: skipped: {escape(reason)}", style="dim")
            continue
        adapters.append(adapter)
    checks = select_checks(args.keyword)
    if not checks:
        console.print(f"no check matches -k {escape(str(args.keyword))}", style="red")
        return EXIT_USAGE

    start = time.perf_counter()
    results = run_checks(adapters, checks)
    elapsed = time.perf_counter() - start

    table = Table(title="autodiff checks")
    table.add_column("check")
    table.add_column("group", style="dim")
    for adapter in adapters:
        table.add_column(adapter.name)
    cell = {(r.check, r.framework): r for r in results}
    for chk in checks:
        row = [chk.name, chk.group]
        for adapter in adapters:
            status = cell[(chk.name, adapter.name)].status
            row.append(f"[{_STYLE[status]}]{status}[/]")
        table.add_row(*row)
    console.print(table)

    for r in results:
        if r.status != "PASS":
            console.print(escape(f"{r.status} {r.check}[{r.framework}]: {r.message}"),
                          style=_STYLE[r.status], highlight=False)
    counts = Counter(r.status for r in results)
    summary = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items()))
    console.print(f"{len(checks)} checks × {len(adapters)} frameworks: {summary} in "
                  f"{elapsed:.1f}s", style="dim")
    return EXIT_FAILED if any(r.failed for r in results) else EXIT_OK
