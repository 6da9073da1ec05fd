"""``parity run --test-file-directory DIR``: JSON test definitions through the normal reporters.

Downloads and compiled modules are cached under ``--artifact-dir`` (``downloads/``,
``artifacts/<backend>/<key>/``) and every result is appended to ``--artifact-dir``'s
``results.jsonl``; ``--force-recompile``, ``-b``, ``-v``, ``--json`` and ``--junit`` keep their
meaning. A definition that fails to load is a RUN_ERROR line naming file and field, and the
exit code is 1 at the end; the other definitions still run. Definitions read files only under
the three directories unless ``--allow-outside-paths`` is given.
"""

from __future__ import annotations

import argparse
import pathlib
import time
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape

from paritykit.core.errors import ParityError


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
    parser.add_argument("--allow-outside-paths", action="store_true",
                        help="JSON tests: let definitions read files outside the test file, "
                             "module and external-file directories (absolute paths, ../, ~, "
                             "file: URLs)")


def _directory(flag: str, value: str) -> pathlib.Path:
    path = pathlib.Path(value)
    if not path.is_dir():
        raise ParityError(f"{flag} {value}: no such directory")
    return path


def run(args: argparse.Namespace, console: Console, backends: Sequence[str]) -> int:
    """Collect, run and report every definition × backend; exit code 1 if any failed.

    Entries run in the worker pool like cases do (``-j``, ``--timeout``): a backend that
    crashes or hangs on one definition costs that entry only.
    """
    from paritykit.core.result import Result, summarize
    from paritykit.files.results import ResultStore
    from paritykit.jsontests.runner import JsonOptions, collect, entry_task, run_entry
    from paritykit.reports import ConsoleReporter, write_json, write_junit
    from paritykit.run.pool import Pool
    from paritykit.run.session import RESULTS_FILE
    from paritykit.run.worker import RunConfig

    test_dir = _directory("--test-file-directory", args.test_file_directory)
    options = JsonOptions(
        test_dir=test_dir,
        module_dir=_directory("--module-directory", args.module_directory or str(test_dir)),
        external_dir=_directory("--external-file-directory",
                                args.external_file_directory or str(test_dir)),
        artifact_dir=pathlib.Path(args.artifact_dir), force_recompile=args.force_recompile,
        time_margin=args.benchmark_margin, allow_outside_paths=args.allow_outside_paths)
    entries = collect(options, backends)
    reporter = ConsoleReporter(console, verbose=args.verbose)
    reporter.start(len(entries), list(backends), args.jobs)
    store = ResultStore(options.artifact_dir / RESULTS_FILE)
    results: list[Result] = []
    start = time.perf_counter()

    def record(result: Result) -> None:
        store.append(result)
        results.append(result)
        reporter.on_result(result)
        if args.verbose and result.message and not result.status.failed:
            # benchmark / compstat passes: the median, IQR or stats behind the verdict
            console.print(f"    {escape(result.message)}", style="dim", highlight=False)

    runnable = [e for e in entries if e.backend and not (e.error or e.skip)]
    config = RunConfig(artifact_dir=str(options.artifact_dir), plugins=tuple(args.plugin))
    try:
        for entry in entries:
            if entry not in runnable:  # load errors and skips: nothing of a backend's to run
                record(run_entry(entry, options))
        tasks = [entry_task(e, options, _repro(args, e.backend or "")) for e in runnable]
        if tasks:
            Pool(config, jobs=args.jobs, timeout=args.timeout).run(tasks, record)
    finally:
        store.close()
        reporter.finish(results, time.perf_counter() - start)
    if args.json:
        write_json(args.json, results, {"backends": list(backends), "jobs": args.jobs,
                                        "test_file_directory": str(test_dir)})
    if args.junit:
        write_junit(args.junit, results)
    return 1 if summarize(results)["failed"] else 0


def _repro(args: argparse.Namespace, backend: str) -> str:
    """The command that reruns the JSON definitions on one backend."""
    import shlex

    argv = ["parity", "run", "--test-file-directory", args.test_file_directory, "-b", backend]
    for flag, value in (("--module-directory", args.module_directory),
                        ("--external-file-directory", args.external_file_directory)):
        if value:
            argv += [flag, value]
    if args.allow_outside_paths:
        argv.append("--allow-outside-paths")
    return shlex.join([*argv, *(a for p in args.plugin for a in ("-p", p))])
