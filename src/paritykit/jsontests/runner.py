"""Collecting JSON test definitions and running one (definition, backend) pair to a Result.

Example::

    options = JsonOptions(test_dir=Path("examples/json"), module_dir=Path("examples/json"),
                          external_dir=Path("examples/json"))
    for entry in collect(options, ["iree"]):
        print(run_entry(entry, options).status)
"""

from __future__ import annotations

import pathlib
import shlex
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from paritykit.core.backend import Backend, Prepared
from paritykit.core.compare import compare_outputs, message
from paritykit.core.errors import code_failures
from paritykit.core.result import Result, Status
from paritykit.core.tolerance import Tolerance, default_tolerance
from paritykit.jsontests.argspec import ArgSpec, materialize
from paritykit.jsontests.compiled import (
    factory_source_hash,
    load_module_file,
    module_file_key,
)
from paritykit.jsontests.definitions import (
    DEFAULT_TIME_MARGIN,
    DefinitionError,
    TestDefinition,
    WeightSpec,
    find_definitions,
    load_test,
    shown_path,
)
from paritykit.jsontests.fetch import Fetcher, sha256_of
from paritykit.jsontests.modules import ModuleDefinition, backends_for, load_factory, load_module
from paritykit.jsontests.paths import PathPolicy
from paritykit.jsontests.runargs import RunArgs, parse_run_args
from paritykit.jsontests.weights import apply_weights
from paritykit.run.attempt import CacheSlot, Stage, fail, prepare
from paritykit.run.cache import ArtifactCache
from paritykit.run.plan import CallTask


@dataclass(frozen=True)
class JsonOptions:
    """The directories and switches of JSON test runs (``--test-file-directory`` and friends)."""

    test_dir: pathlib.Path
    module_dir: pathlib.Path
    external_dir: pathlib.Path
    artifact_dir: pathlib.Path = pathlib.Path("artifacts")
    force_recompile: bool = False
    #: Overrides every definition's ``time_margin`` when set (``--benchmark-margin``).
    time_margin: float | None = None
    #: Time budget of one benchmark measurement (seconds).
    benchmark_budget_s: float = 1.0
    #: Let definitions read files outside the three directories (``--allow-outside-paths``).
    allow_outside_paths: bool = False

    @property
    def policy(self) -> PathPolicy:
        """Where definitions may read: the test file, module and external-file directories."""
        return PathPolicy.of([self.test_dir, self.module_dir, self.external_dir],
                             self.allow_outside_paths)


@dataclass(frozen=True)
class Entry:
    """One runnable item: a definition on a backend, or a file that failed to load."""

    file: str
    name: str
    backend: str | None
    definition: TestDefinition | None = None
    module: ModuleDefinition | None = None
    error: str = ""
    skip: str = ""
    markers: tuple[str, ...] = field(default=())

    @property
    def id(self) -> str:
        """``name[backend]`` (``name`` alone for a file that failed to load)."""
        return f"{self.name}[{self.backend}]" if self.backend else self.name


def collect(options: JsonOptions, candidates: Sequence[str]) -> list[Entry]:
    """Every definition under the test directory × each candidate backend taking its module.

    A file that fails to load, for whatever reason, becomes one Entry with ``error`` set (the
    others still run).
    """
    entries: list[Entry] = []
    for path in find_definitions(options.test_dir):
        shown = shown_path(path)
        try:
            entries.extend(_entries(path, shown, options, candidates))
        except DefinitionError as exc:
            entries.append(Entry(shown, path.stem, None, error=str(exc)))
        except code_failures() as exc:  # a bug of ours or a library's: still this file's alone
            failed = fail(Result(path.stem, "-", Status.RUN_ERROR, base=shown), Stage.SETUP, exc)
            entries.append(Entry(shown, path.stem, None, error=f"{failed.message} (in {shown})"))
    return entries


def _entries(path: pathlib.Path, shown: str, options: JsonOptions,
             candidates: Sequence[str]) -> list[Entry]:
    """The entries of one definition file (a DefinitionError when it does not load)."""
    definition = load_test(path, shown)
    key = "module" if "module" in definition.raw else "modules"
    if len(definition.modules) != 1:
        raise DefinitionError(f"{shown}: $.{key}: {len(definition.modules)} modules "
                              "given; paritykit runs exactly one module per test")
    module = load_module(definition.modules[0], options.module_dir, f"{shown}: $.{key}[0]",
                         options.policy)
    markers = (definition.type, *definition.markers)
    backends = backends_for(module, candidates)
    if not backends:
        return [Entry(shown, definition.name, None, definition, module,
                      skip=f"no selected backend takes {module.kind} modules "
                           f"(selected: {', '.join(candidates) or 'none'})",
                      markers=markers)]
    return [Entry(shown, definition.name, b, definition, module, markers=markers)
            for b in backends]


def entry_task(entry: Entry, options: JsonOptions, repro: str = "") -> CallTask:
    """``entry`` as work for the worker pool (:class:`paritykit.run.pool.Pool`), so a backend
    that crashes or hangs on it costs this entry only."""
    return CallTask(case=entry.name, base=entry.file, backend=entry.backend or "-",
                    call=run_entry, args=(entry, options), repro=repro)


def run_entry(entry: Entry, options: JsonOptions) -> Result:
    """Run one entry to a Result (never raises for a user mistake or a backend failure)."""
    from paritykit.core.registry import BACKENDS

    result = Result(case=entry.name, backend=entry.backend or "-", status=Status.PASS,
                    base=entry.file)
    if entry.error:
        return _set(result, Status.RUN_ERROR, entry.error)
    if entry.skip or entry.definition is None or entry.module is None or entry.backend is None:
        return _set(result, Status.SKIPPED, entry.skip or "nothing to run")
    backend = BACKENDS.get(entry.backend)
    result.versions = backend.versions()
    start = time.perf_counter()
    try:
        _run(result, entry.definition, entry.module, backend, options)
    except DefinitionError as exc:
        _set(result, Status.RUN_ERROR, str(exc))
    except _Stage as stage:
        fail(result, stage.stage, stage.__cause__ or stage)
        if stage.where:
            result.message += f" (in {stage.where})"
    result.total_s = time.perf_counter() - start
    return result


class _Stage(Exception):
    """Wraps an exception of a backend or of the definition's own code with the stage it
    happened in and, for loading, the ``file: $.field`` that led there (classified by
    :func:`paritykit.run.attempt.fail`, like on every other route)."""

    def __init__(self, stage: Stage, where: str = "") -> None:
        super().__init__(stage.phrase)
        self.stage = stage
        self.where = where


def _set(result: Result, status: Status, text: str) -> Result:
    result.status, result.message = status, text
    return result


def _stage(stage: Stage, fn: Callable[[], Any], where: str = "") -> Any:
    """``fn()``; what it raises (SystemExit from a factory's ``sys.exit()`` included) becomes a
    failure of this entry in ``stage``, never the end of the run."""
    try:
        return fn()
    except DefinitionError:
        raise
    except code_failures() as exc:
        raise _Stage(stage, where) from _explained(exc)


_SILENT = {SystemExit: "sys.exit() was called", KeyboardInterrupt: "raised by the code"}


def _explained(exc: BaseException) -> BaseException:
    # sys.exit() and a bare KeyboardInterrupt have no message; say what happened rather than
    # print "SystemExit: ".
    said = _SILENT.get(type(exc))
    if said is None or str(exc):
        return exc
    explained = type(exc)(said)
    explained.__context__ = exc
    return explained


def _arrays(specs: Sequence[ArgSpec], definition: TestDefinition,
            fetcher: Fetcher) -> list[np.ndarray]:
    arrays = []
    for spec in specs:
        try:
            arrays.append(materialize(spec, fetcher.resolve, fetcher.fetch))
        except (ValueError, OSError, DefinitionError) as exc:
            text = str(exc)
            if text.startswith(definition.file):  # already names the file and field
                raise
            where = "" if text.startswith(spec.path) else f"{spec.path}: "
            raise DefinitionError(f"{definition.file}: {where}{text}") from None
    return arrays


def _run(result: Result, definition: TestDefinition, module: ModuleDefinition,
         backend: Backend, options: JsonOptions) -> None:
    run_args = parse_run_args(definition.run_args)
    if not run_args.on_cpu:
        _set(result, Status.SKIPPED, f"run_args --device={run_args.device}: not on this machine "
                                     "(paritykit runs JSON tests on the CPU)")
        return
    fetcher = Fetcher(options.external_dir, options.artifact_dir, options.policy)
    inputs = _stage(Stage.SETUP, lambda: _arrays(definition.inputs, definition, fetcher),
                    definition.file)
    if module.kind == "torch" and not inputs:
        raise DefinitionError(f"{definition.file}: $.inputs: a test of a torch module needs "
                              "inputs (they are the example inputs of its export)")
    start = time.perf_counter()
    prepared = _load(result, definition, module, backend, options, fetcher, inputs, run_args)
    result.prepare_s = time.perf_counter() - start
    result.device = prepared.device
    result.stats = dict(prepared.stats)
    if prepared.artifact is not None:
        result.artifact = str(prepared.artifact)
    check = {"quality": _quality, "benchmark": _benchmark, "compstat": _compstat}
    check[definition.type](result, definition, prepared, inputs, fetcher, options)


def _load(result: Result, definition: TestDefinition, module: ModuleDefinition,
          backend: Backend, options: JsonOptions, fetcher: Fetcher, inputs: list[np.ndarray],
          run_args: RunArgs) -> Prepared:
    cache = ArtifactCache(options.artifact_dir, options.force_recompile)
    iree = backend.name == "iree"  # compiler_flags and run_args are iree's
    if module.kind != "torch":
        if definition.weights:
            raise DefinitionError(f"{definition.file}: $.weights: weights are supported for "
                                  f"torch modules only; {module.name} is an {module.kind} file")
        path = _stage(Stage.SETUP, lambda: fetcher.fetch(
            module.source, module.sha256, f"{module.file}: $.{module.kind}"), module.file)
        flags = module.compiler_flags if iree else ()
        runtime = {"driver": run_args.iree_driver, "function": run_args.function or ""} \
            if iree else {}
        key = module_file_key(backend, module.kind, sha256_of(path), flags)
        module_prepared: Prepared = _stage(Stage.PREPARE, lambda: load_module_file(
            cache, backend, module.kind, path, key, flags, runtime, result))
        return module_prepared
    model = _stage(Stage.SETUP, lambda: load_factory(module, options.module_dir),
                   f"{module.file}: $.torch")
    weights = [_weight(model, w, definition.file, fetcher) for w in definition.weights]
    import torch

    from paritykit.core.program import Program

    example = tuple(torch.from_numpy(np.ascontiguousarray(a)) for a in inputs)
    program_options = {"driver": run_args.iree_driver,
                       "flags": shlex.join(module.compiler_flags)} if iree else {}
    program = Program(definition.name, model, example, options=program_options)
    parts = {"kind": "torch", "factory": module.source, "code": factory_source_hash(model),
             "weights": weights, "inputs": [(list(a.shape), str(a.dtype)) for a in inputs]}
    scratch = options.artifact_dir / "work"
    scratch.mkdir(parents=True, exist_ok=True)
    workdir = pathlib.Path(tempfile.mkdtemp(prefix=f"{backend.name}-", dir=scratch))
    slot = CacheSlot(cache, lambda: parts)
    _stage(Stage.PREPARE, program.exported)  # an export failure is EXPORT_ERROR on any backend
    prepared: Prepared = _stage(Stage.PREPARE, lambda: prepare(backend, program, workdir,
                                                                result, slot))
    return prepared


def _weight(model: Any, spec: WeightSpec, file: str, fetcher: Fetcher) -> str:
    """One weightspec applied to ``model`` (its failure names ``file: $.weights[i]``)."""
    origin: str = _stage(Stage.SETUP, lambda: apply_weights(model, spec, file, fetcher.fetch),
                         f"{file}: {spec.path}")
    return origin


def _retype(outputs: list[np.ndarray], expected: list[np.ndarray]) -> list[np.ndarray]:
    # IREE integers are signless: a ui8 result comes back as int8 with the same bits.
    fixed = []
    for out, exp in zip(outputs, expected, strict=False):
        if (out.dtype != exp.dtype and out.dtype.kind in "iu" and exp.dtype.kind in "iu"
                and out.dtype.itemsize == exp.dtype.itemsize):
            out = out.view(exp.dtype)
        fixed.append(out)
    return fixed + outputs[len(fixed):]


def _tolerance(definition: TestDefinition) -> Callable[[str], Tolerance]:
    def resolve(dtype: str) -> Tolerance:
        default = default_tolerance(dtype)
        if definition.atol is None and definition.rtol is None:
            return default
        atol = default.atol if definition.atol is None else definition.atol
        rtol = default.rtol if definition.rtol is None else definition.rtol
        return Tolerance(atol, rtol, f"{definition.file} atol/rtol")
    return resolve


def _quality(result: Result, definition: TestDefinition, prepared: Prepared,
             inputs: list[np.ndarray], fetcher: Fetcher, options: JsonOptions) -> None:
    expected = _stage(Stage.SETUP, lambda: _arrays(definition.expected_outputs, definition,
                                                   fetcher), definition.file)
    start = time.perf_counter()
    outputs = _stage(Stage.RUN, lambda: prepared.run(inputs))
    result.run_s = time.perf_counter() - start
    comparison = compare_outputs(_retype(list(outputs), expected), expected,
                                 _tolerance(definition))
    result.record_comparison(comparison)
    if not comparison.ok:
        _set(result, Status.MISMATCH, message(definition.name, result.backend, comparison))


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.4g} ms"


def _benchmark(result: Result, definition: TestDefinition, prepared: Prepared,
               inputs: list[np.ndarray], fetcher: Fetcher, options: JsonOptions) -> None:
    from paritykit.core.timing import measure

    _stage(Stage.RUN, lambda: prepared.run(inputs))
    timing = _stage(Stage.RUN, lambda: measure(
        lambda: prepared.run(inputs), budget_s=options.benchmark_budget_s))
    result.run_s = timing.median_s
    result.stats.update({"median_ms": timing.median_s * 1e3, "iqr_ms": timing.iqr_s * 1e3,
                         "repeats": timing.repeats})
    summary = (f"{definition.name} @ {result.backend}: median {_ms(timing.median_s)}, "
               f"IQR {_ms(timing.iqr_s)} over {timing.repeats} samples")
    golden = definition.golden_time_ms
    if golden is None:
        result.message = f"{summary}; no golden_time_ms to check against"
        return
    margin = options.time_margin if options.time_margin is not None else (
        definition.time_margin if definition.time_margin is not None else DEFAULT_TIME_MARGIN)
    limit_ms = golden * (1 + margin)
    result.stats.update({"golden_time_ms": golden, "limit_ms": limit_ms})
    verdict = (f"golden_time_ms {golden:.4g} ms + {margin:.0%} = {limit_ms:.4g} ms")
    if timing.median_s * 1e3 > limit_ms:
        _set(result, Status.MISMATCH, f"{summary}; slower than {verdict}")
    else:
        result.message = f"{summary}; within {verdict}"


def _compstat(result: Result, definition: TestDefinition, prepared: Prepared,
              inputs: list[np.ndarray], fetcher: Fetcher, options: JsonOptions) -> None:
    measured: dict[str, float | None] = {
        "golden_dispatch_count": prepared.stats.get("dispatches"),
        "golden_binary_size": (prepared.artifact.stat().st_size
                               if prepared.artifact is not None and prepared.artifact.is_file()
                               else None),
    }
    names = {"golden_dispatch_count": "dispatch count", "golden_binary_size": "binary size"}
    why = {"golden_dispatch_count": f"{result.backend} reports no dispatch count (IREE's "
                                    "compiler statistics are the only source)",
           "golden_binary_size": f"{result.backend} writes no compiled artifact to measure"}
    lines, failed, unavailable = [], False, []
    for key in ("golden_dispatch_count", "golden_binary_size"):
        golden = getattr(definition, key)
        if golden is None:
            continue
        value = measured[key]
        if value is None:
            unavailable.append(why[key])
            continue
        result.stats[key.removeprefix("golden_")] = value
        over = value > golden
        failed |= over
        lines.append(f"{names[key]} {value:g} {'exceeds' if over else 'within'} "
                     f"{key} {golden:g}")
    head = f"{definition.name} @ {result.backend}: "
    if not lines:
        _set(result, Status.SKIPPED, head + ("; ".join(unavailable) or
                                             "no golden_dispatch_count or golden_binary_size"))
        return
    text = head + "; ".join(lines + [f"not checked: {u}" for u in unavailable])
    _set(result, Status.MISMATCH if failed else Status.PASS, text)
