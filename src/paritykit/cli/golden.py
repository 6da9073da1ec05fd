"""``parity golden generate|compare``: store a backend's outputs here, check another there.

Listed in :data:`paritykit.cli.main.COMMAND_MODULES`, like every subcommand module (``NAME``,
``add_parser``, ``run``); the option builders it shares with ``parity run`` live in
:mod:`paritykit.cli.common`.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from rich.console import Console
from rich.markup import escape

from paritykit.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    add_option,
    add_selection,
    add_source_options,
    load_config,
    load_expectations,
    selected_cases,
)
from paritykit.core.errors import ParityError
from paritykit.core.result import Result, summarize

NAME = "golden"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``golden`` with its ``generate`` and ``compare`` actions to ``parity``'s subparsers."""
    p_golden = subparsers.add_parser(
        "golden", help="store a backend's outputs as golden values, or compare with them")
    actions = p_golden.add_subparsers(dest="action", required=True, metavar="ACTION")

    p_gen = actions.add_parser(
        "generate", help="run cases on a backend; store inputs, outputs and a manifest in DIR")
    add_source_options(p_gen)
    add_selection(p_gen)
    p_gen.add_argument("-b", "--backend", required=True, metavar="NAME",
                       help="the backend whose outputs become the golden values")
    p_gen.add_argument("--out", required=True, metavar="DIR",
                       help="golden directory to write (manifest.json and one folder per case)")
    add_option(p_gen.add_argument, "seed")
    _add_common(p_gen)

    p_cmp = actions.add_parser(
        "compare", help="run a backend here on a golden directory's inputs; compare outputs")
    add_source_options(p_cmp)
    p_cmp.add_argument("-b", "--backend", required=True, metavar="NAME",
                       help="the backend to check against the golden values")
    p_cmp.add_argument("--golden", required=True, metavar="DIR",
                       help="a directory written by `parity golden generate`")
    add_option(p_cmp.add_argument, "tolerances")
    p_cmp.add_argument("--allow-outside-paths", action="store_true",
                       help="read case files the manifest names outside DIR (absolute paths, "
                            "../, symlinks); refused by default")
    _add_common(p_cmp)
    return p_golden


def _add_common(parser: argparse.ArgumentParser) -> None:
    add_option(parser.add_argument, "backend-option")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="one line per result (failures are always printed)")
    add_option(parser.add_argument, "expectations")
    add_option(parser.add_argument, "no-expectations")
    parser.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                        help="worker processes (default 1); a crash or hang costs one case")
    add_option(parser.add_argument, "timeout")
    parser.add_argument("--artifact-dir", metavar="DIR",
                        help="keep the workers' logs and lowered programs in DIR (default: a "
                             "temporary directory, removed afterwards)")
    parser.add_argument("--json", metavar="FILE", help="write a JSON report")
    parser.add_argument("--junit", metavar="FILE", help="write a JUnit XML report")


def run(args: argparse.Namespace, console: Console) -> int:
    """``parity golden generate|compare``; exit 1 when any case failed or differed."""
    from paritykit import golden
    from paritykit.core.expectations import ExpectationSet
    from paritykit.core.registry import BACKENDS, parse_backend_options
    from paritykit.core.tolerance import ToleranceRules

    load_config(args.plugin)
    info = BACKENDS.info(args.backend)  # unknown names are a usage error listing the known ones
    if not info.available:
        raise ParityError(f"backend {args.backend} is not available: {info.reason}")
    options = parse_backend_options(args.backend_option).get(args.backend, {})
    known = ExpectationSet() if args.no_expectations else load_expectations(args.expectations)
    if args.jobs < 1:
        raise ParityError("-j/--jobs must be at least 1")
    pool = golden.PoolOptions(jobs=args.jobs, timeout=args.timeout, plugins=tuple(args.plugin),
                              artifact_dir=args.artifact_dir)
    start = time.perf_counter()
    if args.action == "generate":
        refs = selected_cases(args)
        if not refs:
            raise ParityError("no case matches the selection (see `parity list`)")
        results = golden.generate(args.backend, refs, args.out, seed=args.seed, options=options,
                                   expectations=known, pool=pool)
        stored = len(golden.load_manifest(args.out).cases)
        tail = f"stored {stored} case(s) in {args.out}"
    else:
        rules = ToleranceRules.load(args.tolerances) if args.tolerances else ToleranceRules()
        results = golden.compare(args.backend, args.golden, rules, options=options,
                                 expectations=known, pool=pool,
                                 allow_outside_paths=args.allow_outside_paths)
        manifest = golden.load_manifest(args.golden)
        tail = f"against {manifest.origin}, seed {manifest.seed}"
    _print(console, results, args.verbose)
    from paritykit.reports import summary_line, write_json, write_junit

    if args.json:
        write_json(args.json, results, {"command": f"golden {args.action}",
                                        "backend": args.backend})
    if args.junit:
        write_junit(args.junit, results, suite_name=f"paritykit golden {args.action}")
    console.print(f"{summary_line(results, time.perf_counter() - start)}; {escape(tail)}")
    return EXIT_FAILED if summarize(results)["failed"] else EXIT_OK


def _print(console: Console, results: list[Result], verbose: bool) -> None:
    from paritykit.reports.console import result_line

    for result in results:
        if verbose or result.status.failed:
            console.print(result_line(result))
        if result.message and (result.status.failed or verbose):
            console.print(f"    {escape(result.message)}", highlight=False)
