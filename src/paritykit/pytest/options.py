"""The plugin's command-line options (group "paritykit") and what they select.

Nothing here imports a framework; paritykit's registries are imported inside the functions that
need them, so a pytest run that uses no parity option pays only for registering options.

Example::

    pytest --parity-backend torch-export,onnxruntime -k linear
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import pytest

from paritykit.cli.common import add_option

if TYPE_CHECKING:
    from paritykit.run.worker import RunConfig

GROUP = "paritykit"
PREFIX = "parity-"
ALL = "all"
NONE = "none"


def add_options(parser: pytest.Parser) -> None:
    """Register every ``--parity-*`` option under the "paritykit" group."""
    group = parser.getgroup(GROUP, "paritykit: parity of ML backends with PyTorch eager")
    add = group.addoption
    add("--parity-backend", action="append", default=[], metavar="NAME",
        help="run the parity suite (every registered case) on backend NAME, one test per case "
             "config x backend; repeatable or comma-separated; 'all' = every available "
             "backend. Also the backends that parity_backend / parametrize_backends use.")
    add("--parity-cases", action="append", default=[], metavar="CASES",
        help="restrict the suite to these base names or config ids (comma-separated); 'none' "
             "adds no suite items (fixtures only)")
    # The options `parity run` has too, declared once in paritykit.cli.common.
    for name in ("plugin", "seed", "artifact-dir", "cache-dir", "no-cache", "backend-option"):
        add_option(add, name, prefix=PREFIX)
    add_option(add, "tolerances", prefix=PREFIX,
               help="tolerance rules (JSON); also used by assert_allclose_cross_backend")
    for name in ("expectations", "no-expectations", "grad", "shard", "durations"):
        add_option(add, name, prefix=PREFIX)
    add("--parity-in-process", action="store_true",
        help="run parity items and JSON test definitions in the pytest process (faster; a "
             "backend that crashes or hangs takes pytest down) instead of in worker "
             "processes; backends that need a process of their own still get one")
    add("--parity-isolate", action="store_true",
        help="deprecated, does nothing: items run in worker processes by default now (a "
             "crash or hang costs one test)")
    add_option(add, "timeout", prefix=PREFIX,
               help="per-item limit in a worker process; past it the worker is killed and the "
                    "item fails as TIMEOUT (default 600)")
    add_option(add, "threads", prefix=PREFIX)
    add("--parity-autodiff", nargs="?", const=ALL, default=None, metavar="FRAMEWORK",
        help="add the autodiff conformance checks as tests, one per check x framework "
             "(torch, jax, mlx; comma-separated; default all, an unavailable one's tests "
             "skip). Write --parity-autodiff=NAME.")
    add("--parity-golden-dir", default="tests/golden_values", metavar="DIR",
        help="where golden_registry keeps its JSON files (default tests/golden_values, "
             "relative to the rootdir)")


def split(values: list[str]) -> list[str]:
    """``["a,b", "c"]`` -> ``["a", "b", "c"]`` (order kept, duplicates dropped)."""
    return list(dict.fromkeys(v.strip() for spec in values for v in spec.split(",") if v.strip()))


def suite_requested(config: pytest.Config) -> bool:
    """Whether the run asked for the built-in suite's items: ``--parity-backend`` without
    ``--parity-cases none``, and, when JSON definitions are collected (``--test-file-directory``),
    only if ``--parity-cases`` names some cases: ``--parity-backend`` then picks the backends of
    the JSON items."""
    cases = split(config.option.parity_cases)
    if getattr(config.option, "test_file_directory", None) and not cases:
        return False
    return bool(config.option.parity_backend) and cases != [NONE]


def active(config: pytest.Config) -> bool:
    """Whether any option that needs paritykit's registries was given."""
    opt = config.option
    return bool(opt.parity_backend or opt.parity_plugin or opt.parity_autodiff)


def usage_error(what: str) -> pytest.UsageError:
    """A UsageError: pytest prints it as ``ERROR: ...`` without a traceback."""
    return pytest.UsageError(f"paritykit: {what}")


def backend_names(config: pytest.Config) -> list[str]:
    """The selected backends: ``--parity-backend`` (``all`` = every available one), else every
    available backend. An unknown name is a UsageError listing the known ones."""
    from paritykit.core.errors import ParityError
    from paritykit.core.registry import BACKENDS

    load(config)
    wanted = split(config.option.parity_backend)
    if not wanted or wanted == [ALL]:
        return BACKENDS.available()
    names: list[str] = []
    for name in wanted:
        if name == ALL:
            names.extend(BACKENDS.available())
            continue
        try:
            BACKENDS.get(name)
        except ParityError as exc:
            raise usage_error(f"--parity-backend: {exc}") from None
        names.append(name)
    return list(dict.fromkeys(names))


_LOADED = pytest.StashKey["RunConfig"]()


def load(config: pytest.Config) -> RunConfig:
    """The run's RunConfig (built once per pytest session); imports suites and ``-p`` files."""
    if _LOADED in config.stash:
        return config.stash[_LOADED]
    from paritykit.core.errors import ParityError
    from paritykit.core.registry import parse_backend_options
    from paritykit.run.worker import load_sources

    try:
        run_config = make_run_config(config)
        load_sources(run_config)
        options = parse_backend_options(config.option.parity_backend_option,
                                        "--parity-backend-option")
    except ParityError as exc:
        raise usage_error(str(exc)) from None
    run_config = dataclasses.replace(run_config, backend_options=options)
    config.stash[_LOADED] = run_config
    return run_config


def make_run_config(config: pytest.Config) -> RunConfig:
    """The core's RunConfig from the ``--parity-*`` options (no backend options yet)."""
    from paritykit.core.tolerance import ToleranceRules
    from paritykit.run.cache import default_cache_dir
    from paritykit.run.worker import RunConfig

    opt = config.option
    if opt.parity_threads < 1:
        raise usage_error("--parity-threads must be at least 1")
    tolerances = (ToleranceRules.load(opt.parity_tolerances) if opt.parity_tolerances
                  else ToleranceRules())
    cache = None if opt.parity_no_cache else str(opt.parity_cache_dir or default_cache_dir())
    return RunConfig(seed=opt.parity_seed, artifact_dir=opt.parity_artifact_dir,
                     cache_dir=cache,
                     # seed 003's --force-recompile (JSON items) reaches parity items too
                     force_recompile=bool(getattr(opt, "force_recompile", False)),
                     plugins=tuple(opt.parity_plugin), tolerances=tolerances,
                     tolerances_path=opt.parity_tolerances, threads=opt.parity_threads,
                     grad=opt.parity_grad)


