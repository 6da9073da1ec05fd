"""``parity bench``: time backends against their baseline and torch eager; save and compare runs.

Listed in :data:`paritykit.cli.main.COMMAND_MODULES` (``NAME``, ``add_parser``, ``run``).
Each backend is timed in worker processes of its own, one at a time (see
:mod:`paritykit.bench.runner`). Exit codes: 0 done (a backend that cannot lower or run is a
status in its row, not a failure), 1 a program crashed or timed out (its row says CRASH or
TIMEOUT; the others are timed and written all the same) or ``--compare`` found a regression,
2 usage error.
"""

from __future__ import annotations

import argparse
import pathlib
from typing import Any

from rich.console import Console
from rich.markup import escape

from paritykit.cli.common import add_option, directory

EXIT_OK, EXIT_FAILED, EXIT_REGRESSION, EXIT_USAGE = 0, 1, 1, 2
NAME = "bench"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``bench`` sub-command to ``parity``'s sub-parsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        NAME, help="time cases on backends vs their baseline and torch eager (one worker "
                   "process per backend, one at a time); save runs and compare for regressions")
    add_option(parser.add_argument, "plugin")
    parser.add_argument("cases", nargs="*", metavar="CASE",
                        help="base names (all their configs) or config names; default: all")
    parser.add_argument("-k", dest="keyword", metavar="EXPR",
                        help='pytest-style keyword expression over case ids and markers')
    parser.add_argument("-b", "--backend", action="append", default=[], metavar="NAME",
                        help="backend to time (repeatable or comma-separated); default: every "
                             "available backend except torch (the reference is always timed)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1], metavar="N",
                        help="thread counts to time at, e.g. --threads 1 2 (default 1)")
    parser.add_argument("--budget", type=float, default=1.0, metavar="S",
                        help="time budget per timed program in seconds (default 1.0); repeats "
                             "stop earlier once the 95%% CI of the median is within "
                             "--target-ci")
    parser.add_argument("--target-ci", type=float, default=5.0, metavar="PCT",
                        help="stop repeating once the CI of the median is within ±PCT%% of it "
                             "(default 5)")
    add_option(parser.add_argument, "seed")
    add_option(parser.add_argument, "timeout",
               help="per timed program (prepare, check and timing) limit; its worker is killed "
                    "past it and the program is a TIMEOUT (default 600)")
    parser.add_argument("--artifact-dir", type=directory, default="parity-out", metavar="DIR",
                        help="write DIR/bench.json and the lowered programs (default parity-out)")
    parser.add_argument("--save", metavar="NAME",
                        help="keep this run under NAME (in --bench-dir) for a later --compare")
    parser.add_argument("--compare", metavar="NAME",
                        help="compare with the saved run NAME; exit 1 on a regression")
    parser.add_argument("--threshold", type=float, default=10.0, metavar="PCT",
                        help="--compare flags rows slower by more than PCT%% and significantly "
                             "so (Mann-Whitney U, p < 0.05) (default 10)")
    parser.add_argument("--bench-dir", metavar="DIR",
                        help="where --save/--compare keep runs (default: bench/ in paritykit's "
                             "cache directory)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print each timing as it finishes")
    return parser


def _check_args(args: argparse.Namespace) -> None:
    from paritykit.core.errors import ParityError

    if any(n < 1 for n in args.threads):
        raise ParityError("--threads values must be at least 1")
    if args.budget <= 0 or args.target_ci <= 0 or args.threshold < 0 or args.timeout <= 0:
        raise ParityError("--budget, --target-ci and --timeout must be > 0 and --threshold "
                          ">= 0")


def _backends(specs: list[str]) -> list[str]:
    from paritykit.bench.runner import REFERENCE
    from paritykit.core.registry import BACKENDS

    names = [n.strip() for spec in specs for n in spec.split(",") if n.strip()]
    for name in names:
        BACKENDS.get(name)  # an unknown name is a usage error listing the known ones
    return names or [n for n in BACKENDS.available() if n != REFERENCE]


def run(args: argparse.Namespace, console: Console) -> int:
    """Time, print the table, write bench.json, then --compare and --save."""
    from paritykit.bench.runner import LOST, BenchOptions, BenchRunner
    from paritykit.bench.table import bench_table, failure_lines, fmt_timing
    from paritykit.core.cases import CASES, select
    from paritykit.core.errors import ParityError
    from paritykit.files.bench import (
        BENCH_FILE,
        BenchFailure,
        BenchRow,
        load_run,
        saved_path,
        write_bench,
    )
    from paritykit.run.plan import filter_keyword
    from paritykit.run.worker import RunConfig, load_sources

    _check_args(args)
    load_sources(RunConfig(plugins=tuple(args.plugin)))
    refs = filter_keyword(select(CASES.expand(), args.cases), args.keyword)
    if not refs:
        raise ParityError("no case matches the selection; `parity list` shows the cases")
    backends = _backends(args.backend)
    bench_dir = pathlib.Path(args.bench_dir) if args.bench_dir else None
    previous = load_run(args.compare, bench_dir) if args.compare else None  # fail early
    if args.save:
        saved_path(args.save, bench_dir)  # a bad name fails before anything is timed

    def progress(entry: BenchRow | BenchFailure) -> None:
        if args.verbose:
            what = fmt_timing(entry) if isinstance(entry, BenchRow) else entry.status
            console.print(f"[dim]{escape(entry.case)} {escape(entry.label)} "
                          f"({entry.threads} threads): {what}[/]")

    options = BenchOptions(threads=tuple(dict.fromkeys(args.threads)), budget_s=args.budget,
                           target_rel_ci=args.target_ci / 100, seed=args.seed)
    artifact_dir = pathlib.Path(args.artifact_dir)
    bench = BenchRunner(options, artifact_dir, progress, plugins=args.plugin,
                        timeout_s=args.timeout).run(refs, backends)
    console.print(bench_table(bench))
    for line in failure_lines(bench):
        console.print(f"[dim]{escape(line)}[/]")
    write_bench(artifact_dir / BENCH_FILE, bench)
    console.print(f"[dim]wrote {escape(str(artifact_dir / BENCH_FILE))}[/]")
    lost = [f for f in bench.failures if f.status in LOST]
    code = EXIT_OK
    if lost:
        console.print(f"[bold red]{len(lost)} program(s) crashed or timed out[/] (worker logs: "
                      f"{escape(str(artifact_dir / 'logs'))})")
        code = EXIT_FAILED
    if previous is not None:
        code = _compare(args, previous, bench, console) or code
    if args.save:
        from paritykit.files.bench import save_run

        path = save_run(bench, args.save, bench_dir)
        console.print(f"[dim]saved as {escape(args.save)} ({escape(str(path))})[/]")
    return code


def _compare(args: argparse.Namespace, previous: Any, bench: Any, console: Console) -> int:
    from paritykit.bench.stats import compare_runs
    from paritykit.bench.table import compare_table
    from paritykit.files.machine import differences

    err = Console(stderr=True, highlight=False)
    for line in differences(previous.machine, bench.machine):
        err.print(f"[yellow]warning:[/] machine differs from saved run {escape(args.compare)}: "
                  f"{escape(line)}; timings may not be comparable")
    changes = compare_runs(previous, bench, args.threshold / 100)
    if not changes:
        err.print(f"[yellow]warning:[/] saved run {escape(args.compare)} has none of these rows "
                  "(case, backend, variant, threads); nothing compared")
        return EXIT_OK
    console.print(compare_table(args.compare, changes))
    regressions = [row for row, change in changes if change.verdict == "regression"]
    if regressions:
        console.print(f"[bold red]{len(regressions)} regression(s)[/] beyond "
                      f"{args.threshold:g}% vs {escape(args.compare)}")
        return EXIT_REGRESSION
    return EXIT_OK
