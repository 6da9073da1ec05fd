"""The ``parity`` command line: list, backends, run, expectations, and the subcommand modules.

Exit codes: 0 nothing failed, 1 something failed, 2 usage error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time
from collections import Counter
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from paritykit.cli import autodiff as cli_autodiff
from paritykit.cli import bench as cli_bench
from paritykit.cli import eval as cli_eval
from paritykit.cli import export_weights as cli_export_weights
from paritykit.cli import golden as cli_golden
from paritykit.cli import merge as cli_merge
from paritykit.cli import report as cli_report
from paritykit.cli.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    add_expectation_dirs,
    add_option,
    add_selection,
    add_source_options,
    load_config,
    load_expectations,
    make_console,
    run_command,
    selected_cases,
)
from paritykit.cli.common import (
    EXIT_USAGE as EXIT_USAGE,  # re-exported: paritykit.cli.main.EXIT_USAGE
)
from paritykit.core.cases import CaseRef
from paritykit.core.errors import ParityError
from paritykit.core.expectations import BUILTIN_DIR, ExpectationSet
from paritykit.core.expectations import update as update_expectations
from paritykit.core.registry import BACKENDS, parse_backend_options
from paritykit.core.result import Result, summarize
from paritykit.core.tolerance import ToleranceRules
from paritykit.files.machine import machine_info
from paritykit.files.results import read_results
from paritykit.files.run_record import RunRecord, write_run_record
from paritykit.reports import ConsoleReporter, write_json, write_junit
from paritykit.run.session import RESULTS_FILE, SessionOptions, execute, prepare_plan
from paritykit.run.shard import shard_of
from paritykit.run.worker import RunConfig

# Each of these modules owns one subcommand: ``add_parser(subparsers)`` registers it under
# ``NAME`` and ``run(args, console) -> exit code`` carries it out.
COMMAND_MODULES = (cli_golden, cli_autodiff, cli_bench, cli_export_weights, cli_eval,
                   cli_report, cli_merge)
EXTRA_COMMANDS = {module.NAME: module.run for module in COMMAND_MODULES}

def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to render ``--help`` in the docs)."""
    parser = argparse.ArgumentParser(
        prog="parity",
        description="Check that ML backends compute the same numbers as PyTorch eager.",
        epilog="exit codes: 0 nothing failed, 1 a result failed, 2 usage error, 130 interrupted",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p_list = sub.add_parser("list", help="list every case: base name, then each config")
    add_source_options(p_list)
    add_selection(p_list)

    p_backends = sub.add_parser(
        "backends", help="list backends: available or not, why, devices, versions")
    add_source_options(p_backends)
    p_backends.add_argument("--ray-resources", action="store_true",
                            help="print the Ray custom resources this machine offers (JSON, for "
                                 "`ray start --resources`): parity:BACKEND per available backend")

    p_run = sub.add_parser("run", help="run cases on backends and compare with torch eager")
    add_source_options(p_run)
    add_selection(p_run)
    from paritykit.cli.jsontests import add_run_options  # JSON test definitions

    add_run_options(p_run)
    p_run.add_argument("-b", "--backend", action="append", default=[], metavar="NAME",
                       help="backend to run (repeatable or comma-separated); default: every "
                            "available backend")
    p_run.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                       help="worker processes (default 1)")
    add_option(p_run.add_argument, "threads",
               help="threads per worker for torch and ONNX Runtime (default 1); fixed rather "
                    "than cores/-j so results and compile caches do not depend on -j")
    p_run.add_argument("-v", "--verbose", action="store_true", help="one line per result")
    p_run.add_argument("--list", action="store_true", help="print the selected cases and exit")
    p_run.add_argument("--executor", choices=("local", "ray"), default="local",
                       help="where tasks run: worker processes here (default) or a Ray cluster; "
                            "-j is then the number of Ray actors over the cluster's nodes")
    p_run.add_argument("--ray-address", default="auto", metavar="ADDR",
                       help="the Ray cluster for --executor ray (default auto: a running "
                            "cluster, else a local one on 127.0.0.1)")
    p_run.add_argument("--ray-keep-passes", action="store_true",
                       help="with --executor ray, bring the files of passing results back to "
                            "--artifact-dir too (by default only failures' files come back)")
    add_option(p_run.add_argument, "shard")
    add_option(p_run.add_argument, "durations")
    for name in ("seed", "timeout", "tolerances", "artifact-dir"):
        add_option(p_run.add_argument, name)
    p_run.add_argument("--clean-after", action="store_true",
                       help="delete the artifacts of passing results at the end")
    p_run.add_argument("--json", metavar="FILE", help="write a JSON report")
    p_run.add_argument("--junit", metavar="FILE", help="write a JUnit XML report")
    p_run.add_argument("--html", metavar="FILE",
                       help="write a self-contained HTML report (as `parity report`)")
    p_run.add_argument("--resume", action="store_true",
                       help="keep results already in DIR/results.jsonl (from a run with the same "
                            "seed, tolerances, options and -p files) and run only the rest")
    add_option(p_run.add_argument, "cache-dir")
    add_option(p_run.add_argument, "no-cache")
    p_run.add_argument("--force-recompile", action="store_true",
                       help="ignore cached artifacts (and torch's compile caches); rewrite them")
    add_option(p_run.add_argument, "backend-option")
    add_option(p_run.add_argument, "grad",
               help="also compare gradients of sum(output * random cotangent) w.r.t. inputs and "
                    "parameters with eager autograd (aot-eager, inductor, mlx)")
    add_expectation_dirs(p_run)
    add_option(p_run.add_argument, "no-expectations")

    p_exp = sub.add_parser("expectations", help="check or rewrite expectations files")
    exp_sub = p_exp.add_subparsers(dest="action", required=True, metavar="ACTION")
    p_check = exp_sub.add_parser("check", help="validate every file; warn about stale entries")
    add_source_options(p_check)
    add_expectation_dirs(p_check)
    p_update = exp_sub.add_parser(
        "update", help="rewrite BACKEND's file from the last results (reasons of entries "
                       "that remain are kept)")
    add_source_options(p_update)
    p_update.add_argument("-b", "--backend", required=True, action="append", metavar="NAME",
                          help="backend whose file to rewrite (repeatable)")
    p_update.add_argument("--artifact-dir", default="parity-out", metavar="DIR",
                          help="the run whose DIR/results.jsonl to read (default parity-out)")
    p_update.add_argument("--expectations", metavar="DIR",
                          help="write DIR/BACKEND.toml instead of the built-in file")
    for module in COMMAND_MODULES:
        module.add_parser(sub)
    return parser


def cmd_list(args: argparse.Namespace, console: Console) -> int:
    """``parity list``."""
    load_config(args.plugin)
    refs = selected_cases(args)
    by_base: dict[str, list[CaseRef]] = {}
    for ref in refs:
        by_base.setdefault(ref.base, []).append(ref)
    for base, configs in by_base.items():
        console.print(escape(base), highlight=False)
        for ref in configs:
            console.print(f"  {escape(ref.id)}", highlight=False)
    console.print(f"{len(by_base)} cases, {len(refs)} configs", style="dim")
    return EXIT_OK


def cmd_backends(args: argparse.Namespace, console: Console) -> int:
    """``parity backends``."""
    load_config(args.plugin)
    if args.ray_resources:
        from paritykit.run.ray_executor import node_resources

        console.print(json.dumps(node_resources(), sort_keys=True), highlight=False,
                      soft_wrap=True)
        return EXIT_OK
    table = Table("backend", "available", "devices", "route / reason", "versions", "origin")
    for name in BACKENDS.names():
        info = BACKENDS.info(name)
        versions = " ".join(f"{k} {v}" for k, v in info.versions.items())
        table.add_row(name, "[green]yes[/]" if info.available else "[red]no[/]",
                      ",".join(info.devices),
                      escape(info.description if info.available else info.reason),
                      escape(versions), escape(info.origin))
    console.print(table)
    return EXIT_OK


def _backend_names(args: argparse.Namespace) -> list[str]:
    names = [n.strip() for spec in args.backend for n in spec.split(",") if n.strip()]
    if not names:
        return BACKENDS.available()
    for name in names:
        BACKENDS.get(name)  # unknown names are a usage error listing the known ones
    return list(dict.fromkeys(names))


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    """``parity run``."""
    if args.jobs < 1 or args.threads < 1:
        raise ParityError("-j/--jobs and --threads must be at least 1")
    load_config(args.plugin)
    if args.test_file_directory:
        from paritykit.cli import jsontests as json_cli

        return json_cli.run(args, console, _backend_names(args))
    refs = selected_cases(args)
    backends = _backend_names(args)
    selected = [r.id for r in refs]
    if args.durations and args.shard is None:
        raise ParityError("--durations balances --shard K/N; give --shard too")
    if args.shard is not None:
        refs = shard_of(refs, backends, args.shard, args.durations)
    if args.list:
        for ref in refs:
            console.print(escape(ref.id), highlight=False)
        return EXIT_OK
    tolerances = ToleranceRules.load(args.tolerances) if args.tolerances else ToleranceRules()
    cache_dir = None if args.no_cache else (args.cache_dir or str(_default_cache()))
    config = RunConfig(
        seed=args.seed, artifact_dir=args.artifact_dir, cache_dir=cache_dir,
        force_recompile=args.force_recompile, plugins=tuple(args.plugin),
        tolerances=tolerances, tolerances_path=args.tolerances,
        threads=args.threads, backend_options=parse_backend_options(args.backend_option),
        grad=args.grad,
    )
    expectations = (ExpectationSet() if args.no_expectations
                    else load_expectations(args.expectations))
    options = SessionOptions(jobs=args.jobs, timeout=args.timeout, resume=args.resume,
                             clean_after=args.clean_after, expectations=expectations,
                             executor=args.executor, ray_address=args.ray_address,
                             ray_keep_passes=args.ray_keep_passes)
    plan, previous = prepare_plan(refs, backends, config, options)
    write_run_record(args.artifact_dir, RunRecord(args.seed, config.fingerprint, selected,
                                                  backends, args.shard, machine_info()))
    reporter = ConsoleReporter(console, verbose=args.verbose)
    reporter.start(len(plan.tasks) + len(plan.decided), backends, args.jobs)
    start = time.perf_counter()
    results: list[Result] = []
    interrupted = False
    def on_result(result: Result) -> None:
        results.append(result)
        reporter.on_result(result)

    try:
        execute(plan, config, options, on_result)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        # Also on a ParityError from the pool: stop the progress bar, show what finished.
        reporter.finish(previous + results, time.perf_counter() - start)
    everything = previous + results
    extra = {"seed": args.seed, "backends": backends, "jobs": args.jobs,
             "wall_s": round(time.perf_counter() - start, 3), "interrupted": interrupted}
    if args.json:
        write_json(args.json, everything, extra)
    if args.junit:
        write_junit(args.junit, everything)
    if args.html:
        _write_html(args, everything, backends, extra)
    if interrupted:
        console.print(f"interrupted: {len(everything)} results kept in "
                      f"{pathlib.Path(args.artifact_dir, RESULTS_FILE)}; rerun with --resume")
        return EXIT_INTERRUPTED
    return EXIT_FAILED if summarize(everything)["failed"] else EXIT_OK


def cmd_expectations(args: argparse.Namespace, console: Console) -> int:
    """``parity expectations check|update``."""
    load_config(args.plugin)
    if args.action == "check":
        loaded = load_expectations(args.expectations)
        for _, exp in sorted(loaded.files.items()):
            kinds = Counter(e.kind for e in exp.entries)
            console.print(f"{escape(exp.path)}: {kinds['xfail']} xfail, {kinds['skip']} skip")
        return EXIT_OK
    results_path = pathlib.Path(args.artifact_dir, RESULTS_FILE)
    if not results_path.exists():
        raise ParityError(f"{results_path}: no such file; run `parity run -b "
                          f"{args.backend[0]} --artifact-dir {args.artifact_dir}` first")
    results = read_results(results_path)
    for name in args.backend:
        BACKENDS.get(name)
        if not any(r.backend == name for r in results):
            raise ParityError(f"{results_path}: has no results for backend {name!r}")
        directory = pathlib.Path(args.expectations) if args.expectations else BUILTIN_DIR
        change = update_expectations(name, results, directory / f"{name}.toml",
                                     source=str(results_path))
        console.print(f"{escape(str(change.path))}: kept {change.kept}, added "
                      f"{len(change.added)}, removed {len(change.removed)}")
        for pattern in change.removed:
            console.print(f"  - {escape(pattern)} (passes now)")
        for case in change.added:
            console.print(f"  + {escape(case)}")
    return EXIT_OK


def _write_html(args: argparse.Namespace, results: list[Result], backends: list[str],
                extra: dict[str, object]) -> None:
    from paritykit.reports.html import ReportInputs, write_html

    source = str(pathlib.Path(args.artifact_dir, RESULTS_FILE))
    write_html(args.html, ReportInputs(results, source=source),
               title=f"parity run: {', '.join(backends)}", backends=backends,
               facts={"seed": str(args.seed), "jobs": str(args.jobs),
                      "wall": f"{extra['wall_s']} s"})


def _default_cache() -> pathlib.Path:
    from paritykit.run.cache import default_cache_dir

    return default_cache_dir()


COMMANDS = {"list": cmd_list, "backends": cmd_backends, "run": cmd_run,
            "expectations": cmd_expectations}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``parity`` script."""
    args = build_parser().parse_args(argv)
    command = COMMANDS.get(args.command) or EXTRA_COMMANDS[args.command]
    return run_command(command, args, make_console())


if __name__ == "__main__":
    sys.exit(main())
