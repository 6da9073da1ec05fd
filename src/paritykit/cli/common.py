"""What :mod:`paritykit.cli.main` and its subcommand modules share: exit codes, option builders, the
loading of ``-p`` sources, case selection, expectations, the console and the error handling.

It imports no other ``cli`` module, so a subcommand module (``cli.eval``, ``cli.golden``, …) can
use it without importing :mod:`paritykit.cli.main`, which imports every subcommand module. The
heavier parts of paritykit are imported inside the functions that need them.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

from paritykit.core.errors import ParityError

if TYPE_CHECKING:
    from paritykit.core.cases import CaseRef
    from paritykit.core.expectations import ExpectationSet
    from paritykit.run.worker import RunConfig

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

Command = Callable[[argparse.Namespace, Console], int]


def seconds(text: str) -> float:
    """An argparse type: a time limit, positive and finite (``inf`` allowed: no limit).

        >>> seconds("2.5")
        2.5
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text!r}: a time limit must be more than 0 seconds")
    return value


def directory(text: str) -> str:
    """An argparse type: a directory to write into, existing or not, but not a file.

        >>> directory("parity-out")
        'parity-out'
    """
    if not text:
        raise argparse.ArgumentTypeError("a directory name cannot be empty")
    if os.path.exists(text) and not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text!r} exists and is not a directory")
    return text


#: Options that several commands (and the pytest plugin, as ``--parity-NAME``) take, by long
#: name: (short flag or None, argparse keywords). One definition keeps their meaning the same.
SHARED_OPTIONS: dict[str, tuple[str | None, dict[str, Any]]] = {
    "plugin": ("-p", dict(action="append", default=[], metavar="FILE_OR_MODULE",
                          help="load a Python file or module that registers cases and/or "
                               "backends (repeatable)")),
    "seed": (None, dict(type=int, default=0, metavar="N",
                        help="run seed for inputs and weights (default 0)")),
    "backend-option": (None, dict(action="append", default=[], metavar="BACKEND.KEY=VALUE",
                                  help="an option passed to one backend (repeatable)")),
    "expectations": (None, dict(action="append", default=[], metavar="DIR",
                                help="a directory of BACKEND.toml expectations files; each "
                                     "replaces the built-in file of its backend (repeatable)")),
    "no-expectations": (None, dict(action="store_true",
                                   help="ignore every expectations file: report each result "
                                        "as it came")),
    "timeout": (None, dict(type=seconds, default=600.0, metavar="SECONDS",
                           help="per (case, backend) limit; the worker is killed past it "
                                "(default 600)")),
    "tolerances": (None, dict(default=None, metavar="FILE", help="tolerance rules (JSON)")),
    "artifact-dir": (None, dict(type=directory, default="parity-out", metavar="DIR",
                                help="where results.jsonl and per-case artifacts go (default "
                                     "parity-out)")),
    "cache-dir": (None, dict(type=directory, default=None, metavar="DIR",
                             help="compiled-artifact cache (default $PARITYKIT_CACHE_DIR or the "
                                  "user cache dir)")),
    "no-cache": (None, dict(action="store_true", help="do not read or write the cache")),
    "threads": (None, dict(type=int, default=1, metavar="N",
                           help="threads per worker for torch and ONNX Runtime (default 1)")),
    "shard": (None, dict(default=None, metavar="K/N",
                         help="run shard K of N: whole cases, balanced by --durations (or by "
                              "pair count), the same on every machine for the same selection")),
    "durations": (None, dict(default=None, metavar="FILE",
                             help="seconds per (case, backend) from an earlier run's "
                                  "results.jsonl or --json report, to balance --shard")),
    "grad": (None, dict(action="store_true",
                        help="also compare gradients of sum(output * random cotangent) w.r.t. "
                             "inputs and parameters with eager autograd")),
}


def add_option(add: Callable[..., Any], name: str, prefix: str = "", **overrides: Any) -> None:
    """Declare the shared option ``name`` with ``add`` (``parser.add_argument`` or a pytest
    group's ``addoption``), as ``--{prefix}{name}``; ``overrides`` change keywords such as help.

    The short flag is only given without a prefix (pytest reserves lower-case short options).

        >>> p = argparse.ArgumentParser()
        >>> add_option(p.add_argument, "seed")
        >>> p.parse_args(["--seed", "3"]).seed
        3
    """
    short, keywords = SHARED_OPTIONS[name]
    flags = ([short] if short and not prefix else []) + [f"--{prefix}{name}"]
    add(*flags, **{**keywords, **overrides})


def add_source_options(parser: argparse.ArgumentParser) -> None:
    """``-p/--plugin FILE_OR_MODULE`` (repeatable)."""
    add_option(parser.add_argument, "plugin")


def add_selection(parser: argparse.ArgumentParser) -> None:
    """Positional ``CASE`` names and ``-k EXPR``."""
    parser.add_argument("cases", nargs="*", metavar="CASE",
                        help="base names (all their configs) or config names; default: all")
    parser.add_argument("-k", dest="keyword", metavar="EXPR",
                        help='pytest-style keyword expression over case ids and markers, '
                             'e.g. "softmax and not fp16"')


def add_expectation_dirs(parser: argparse.ArgumentParser) -> None:
    """``--expectations DIR`` (repeatable)."""
    add_option(parser.add_argument, "expectations")


def load_config(plugins: Sequence[str]) -> RunConfig:
    """Load the built-in cases and backends and the ``-p`` files / modules."""
    from paritykit.run.worker import RunConfig, load_sources

    config = RunConfig(plugins=tuple(plugins))
    load_sources(config)
    return config


def selected_cases(args: argparse.Namespace) -> list[CaseRef]:
    """The case configs that ``args.cases`` and ``args.keyword`` select."""
    from paritykit.core.cases import CASES, select
    from paritykit.run.plan import filter_keyword

    refs = filter_keyword(select(CASES.expand(), args.cases), args.keyword)
    if args.keyword and not refs:
        raise ParityError(f"-k {args.keyword!r} selects no case; `parity list` shows every "
                          "case id and `parity list -k EXPR` what an expression selects")
    return refs


def load_expectations(directories: Sequence[str]) -> ExpectationSet:
    """Load the files and warn on stderr about entries that match no registered case."""
    from paritykit.core.cases import CASES
    from paritykit.core.expectations import ExpectationSet
    from paritykit.core.registry import BACKENDS

    expectations = ExpectationSet.load(directories)
    err = Console(stderr=True, highlight=False)
    for line in expectations.warnings((r.id for r in CASES.expand()), BACKENDS.names()):
        err.print(f"[yellow]warning:[/] {escape(line)}")
    return expectations


def make_console() -> Console:
    """stdout's console: pipes and CI logs get 160 columns instead of rich's 80 by default."""
    width = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160
    return Console(highlight=False, width=width)


def run_command(command: Command, args: argparse.Namespace, console: Console) -> int:
    """Run ``command``; a ParityError is a usage error, printed on stderr."""
    err = Console(stderr=True, highlight=False)
    try:
        return command(args, console)
    except ParityError as exc:
        err.print(f"parity: error: {escape(str(exc))}", soft_wrap=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        err.print("parity: interrupted")
        return EXIT_INTERRUPTED


def subcommand_main(module: Any, argv: Sequence[str] | None = None) -> int:
    """``parity NAME ARGV...`` for one subcommand module (``NAME``, ``add_parser``, ``run``)
    without building the whole ``parity`` parser: ``python -m paritykit.cli.eval``."""
    parser = argparse.ArgumentParser(prog="parity")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    module.add_parser(sub)
    args = parser.parse_args([module.NAME, *(argv or [])])
    return run_command(module.run, args, make_console())
