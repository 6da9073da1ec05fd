"""``parity run --test-file-directory DIR``: JSON test definitions through the normal reporters.

Downloads and compiled modules are cached under ``--artifact-dir`` (``downloads/``,
``artifacts/<backend>/<key>/``) and every result is appended to ``--artifact-dir``'s
``results.jsonl``; ``--force-recompile``, ``-b``, ``-v``, ``--json`` and ``--junit`` keep their
meaning. A definition that fails to load is a RUN_ERROR line naming file and field, and the
exit code is 1 at the end; the other definitions still run.
"""

from __future__ import annotations

import argparse
import pathlib
import time
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape

from paritykit.errors import ParityError


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Seed 003's directory options on ``parity run``."""
    parser.add_argument("--test-file-directory", metavar="DIR",
                        help="run the JSON test definitions under DIR instead of the cases")
    parser.add_argument("--module-directory", metavar="DIR",
                        help="JSON tests: module references are relative to DIR (default: the "
                             "test file directory)")
    parser.add_argument("--external-file-directory", metavar="DIR",
                        help="JSON tests: other paths are relative to DIR (default: the test "
                             "file directory)")
    parser.add_argument("--benchmark-margin", type=float, metavar="FRACTION",
                        help="JSON benchmarks fail above golden_time_ms x (1 + FRACTION) "
                             "(default: the definition's time_margin, else 0.2)")


def _directory(flag: str, value: str) -> pathlib.Path:
    path = pathlib.Path(value)
    if not path.is_dir():
        raise ParityError(f"{flag} {value}: no such directory")
    return path


def run(args: argparse.Namespace, console: Console, backends: Sequence[str]) -> int:
    """Collect, run and report every definition × backend; exit code 1 if any failed."""
    from paritykit.jsontests.isolation import run_entry_isolated
    from paritykit.jsontests.runner import JsonOptions, collect
    from paritykit.reports import ConsoleReporter, write_json, write_junit
    from paritykit.result import Result, summarize
    from paritykit.session import RESULTS_FILE
    from paritykit.store import ResultStore

    test_dir = _directory("--test-file-directory", args.test_file_directory)
    options = JsonOptions(
        test_dir=test_dir,
        module_dir=_directory("--module-directory", args.module_directory or str(test_dir)),
        external_dir=_directory("--external-file-directory",
                                args.external_file_directory or str(test_dir)),
        artifact_dir=pathlib.Path(args.artifact_dir), force_recompile=args.force_recompile,
        time_margin=args.benchmark_margin)
    entries = collect(options, backends)
    reporter = ConsoleReporter(console, verbose=args.verbose)
    reporter.start(len(entries), list(backends), 1)
    store = ResultStore(options.artifact_dir / RESULTS_FILE)
    results: list[Result] = []
    start = time.perf_counter()
    try:
        for entry in entries:
            result = run_entry_isolated(entry, options)
            store.append(result)
            results.append(result)
            reporter.on_result(result)
            if args.verbose and result.message and not result.status.failed:
                # benchmark / compstat passes: the median, IQR or stats behind the verdict
                console.print(f"    {escape(result.message)}", style="dim", highlight=False)
    finally:
        store.close()
        reporter.finish(results, time.perf_counter() - start)
    if args.json:
        write_json(args.json, results, {"backends": list(backends), "jobs": 1,
                                        "test_file_directory": str(test_dir)})
    if args.junit:
        write_junit(args.junit, results)
    return 1 if summarize(results)["failed"] else 0
