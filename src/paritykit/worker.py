"""What a worker process does for one (case, backend) task: prepare, run, compare, record.

Everything here returns data; failures become Results with a status, never exceptions.
"""

from __future__ import annotations

import os
import pathlib
import re
import shlex
import shutil
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from paritykit.artifacts import backend_dir, case_dir, link_or_copy, save_arrays, write_json
from paritykit.backend import Backend, Prepared
from paritykit.cache import ArtifactCache, backend_source_hash, cache_key, host_id
from paritykit.cases import CASES, CaseRef
from paritykit.compare import compare_input_sets, message
from paritykit.dtypes import to_numpy
from paritykit.errors import ExportError
from paritykit.grad_oracle import compare_gradients, oracle_gradients
from paritykit.gradients import NotDifferentiable, torch_gradients
from paritykit.program import Program
from paritykit.reference import CaseMaterial, build_case
from paritykit.registry import BACKENDS, load_plugin
from paritykit.result import Result, Status
from paritykit.tolerance import Tolerance, ToleranceRules


@dataclass(frozen=True)
class RunConfig:
    """Everything a worker needs to know about the run (picklable)."""

    seed: int = 0
    artifact_dir: str = "parity-out"
    cache_dir: str | None = None
    force_recompile: bool = False
    plugins: tuple[str, ...] = ()
    suites: tuple[str, ...] = ("paritykit.suite",)
    tolerances: ToleranceRules = field(default_factory=ToleranceRules)
    tolerances_path: str | None = None
    #: Threads per worker (torch, ONNX Runtime). One by default: parallel reductions may sum
    #: in another order with more threads, and inductor's cache key includes the count.
    threads: int = 1
    backend_options: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Also compare gradients with eager autograd, on backends that support it (``--grad``).
    grad: bool = False

    @property
    def fingerprint(self) -> str:
        """What makes results of two runs comparable (``--resume`` keeps only matching ones)."""
        return cache_key({"seed": self.seed, "tolerances": repr(self.tolerances),
                          "options": self.backend_options, "plugins": self.plugins,
                          **({"grad": True} if self.grad else {})})

    def repro(self, case: str, backend: str) -> str:
        """One command that reruns just this pair."""
        args = ["parity", "run", case, "-b", backend, "--seed", str(self.seed)]
        for p in self.plugins:
            args += ["-p", p]
        if self.tolerances_path:
            args += ["--tolerances", self.tolerances_path]
        for b, opts in self.backend_options.items():
            args += [a for k, v in opts.items() for a in ("--backend-option", f"{b}.{k}={v}")]
        if self.grad:
            args.append("--grad")
        return shlex.join([*args, "-v"])


@dataclass(frozen=True)
class Task:
    """One unit of work: a case config on a backend."""

    case: str
    base: str
    backend: str


def init_process(config: RunConfig) -> None:
    """Set up a worker: thread budget, torch's compile caches, suites and plugins."""
    os.environ["OMP_NUM_THREADS"] = str(config.threads)
    if config.cache_dir:
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(pathlib.Path(config.cache_dir,
                                                                          "inductor")))
    if config.force_recompile or not config.cache_dir:
        # --force-recompile and --no-cache reach torch.compile's own on-disk caches too.
        os.environ["TORCHINDUCTOR_FORCE_DISABLE_CACHES"] = "1"
    import torch

    torch.set_num_threads(config.threads)
    load_sources(config)


def load_sources(config: RunConfig) -> None:
    """Import built-in suites, discover backends, then the user's ``-p`` files and modules."""
    import importlib

    for suite in config.suites:
        importlib.import_module(suite)
    BACKENDS.discover()
    for plugin in config.plugins:
        load_plugin(plugin)


class Worker:
    """Runs tasks in this process; keeps the last case built so backends share its reference."""

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.root = pathlib.Path(config.artifact_dir)
        self.cache = (ArtifactCache(pathlib.Path(config.cache_dir), config.force_recompile)
                      if config.cache_dir else None)
        self._refs: dict[str, CaseRef] = {}
        self._material: CaseMaterial | None = None
        self._started = 0.0

    def _ref(self, case: str) -> CaseRef:
        if case not in self._refs:
            self._refs = {r.id: r for r in CASES.expand()}
        return self._refs[case]

    def material(self, case: str) -> CaseMaterial:
        """The built case (cached for consecutive tasks of one case); writes its tensors once."""
        if self._material is None or self._material.ref.id != case:
            self._material = None
            material = build_case(self._ref(case), self.config.seed)
            directory = case_dir(self.root, case)
            save_arrays(directory / "inputs.safetensors",
                        [[to_numpy(t) for t in s] for s in material.input_sets], "input")
            save_arrays(directory / "expected.safetensors", material.expected, "output")
            self._material = material
        return self._material

    def run(self, task: Task) -> Result:
        """Execute one task; never raises for a backend's or a case's failure."""
        self._started = time.perf_counter()
        result = Result(case=task.case, backend=task.backend, base=task.base,
                        status=Status.RUN_ERROR, repro=self.config.repro(task.case, task.backend),
                        fingerprint=self.config.fingerprint)
        outdir = backend_dir(self.root, task.case, task.backend)
        outdir.mkdir(parents=True, exist_ok=True)
        result.artifact_dir = str(outdir)
        try:
            start = time.perf_counter()
            material = self.material(task.case)
            result.setup_s = time.perf_counter() - start
        except Exception as exc:
            return self._finish(result, Status.RUN_ERROR, "case setup or torch reference failed",
                                exc, outdir)
        backend = BACKENDS.get(task.backend)
        result.versions = backend.versions()
        program = material.program
        program.options = dict(self.config.backend_options.get(task.backend, {}))
        start = time.perf_counter()
        try:
            prepared = self._prepare(backend, program, material, outdir, result)
        except ExportError as exc:
            return self._finish(result, Status.EXPORT_ERROR, "export failed", exc, outdir)
        except Exception as exc:
            return self._finish(result, Status.LOWER_ERROR, "lowering failed", exc, outdir)
        result.prepare_s = time.perf_counter() - start
        result.stats = dict(prepared.stats)
        result.device = prepared.device
        if prepared.artifact is not None:
            result.artifact = str(prepared.artifact)
        actual: list[list[np.ndarray]] = []
        try:
            for k, inputs in enumerate(material.input_sets):
                start = time.perf_counter()
                out = prepared.run([to_numpy(t) for t in inputs])
                if k == 0:
                    result.run_s = time.perf_counter() - start
                actual.append(out)
        except Exception as exc:
            return self._finish(result, Status.RUN_ERROR, "run failed", exc, outdir)
        result.stats = dict(prepared.stats)  # again: backends may count things while running
        save_arrays(outdir / "actual.safetensors", actual, "output", atomic=False)
        self._compare(result, material, actual)
        if self.config.grad and result.status is Status.PASS:
            try:
                self._compare_gradients(result, backend, material)
            except Exception as exc:
                return self._finish(result, Status.RUN_ERROR, "gradients failed", exc, outdir)
        return self._finish(result, result.status, "", None, outdir)

    def _compare_gradients(self, result: Result, backend: Backend,
                           material: CaseMaterial) -> None:
        """Forward parity held; now the backward pass (``--grad``)."""
        if not backend.supports_grad:
            result.stats["grad"] = f"not checked: {backend.name} has no training path"
            return
        try:
            expected = torch_gradients(material.model, material.model, material.inputs,
                                       self.config.seed, result.case)
        except NotDifferentiable as exc:
            result.stats["grad"] = f"not checked: {exc}"
            return
        except RuntimeError as exc:  # the reference itself: e.g. an op torch has no derivative for
            result.stats["grad"] = f"not checked: eager autograd fails: {exc}"[:300]
            return
        got = backend.gradients(material.program, self.config.seed)
        verdict = compare_gradients(got, expected, self._tolerances(result, material),
                                    lambda: oracle_gradients(material.model, material.inputs,
                                                             self.config.seed, result.case))
        result.stats["grad"] = verdict.note()
        result.stats["grad_max_abs_error"] = verdict.comparison.max_abs_error
        if verdict.judgements:
            result.stats["grad_oracle"] = verdict.oracle_stats()
        if not verdict.ok:
            result.status = Status.MISMATCH
            result.message = verdict.message(result.case, result.backend)

    def _prepare(self, backend: Backend, program: Program, material: CaseMaterial,
                 outdir: pathlib.Path, result: Result) -> Prepared:
        if self.cache is None or not backend.cacheable:
            result.cache = "off"
            return backend.prepare(program, outdir)
        key = cache_key({**material.key_parts, "backend": backend.name,
                         "versions": backend.versions(), "options": program.options,
                         "source": backend_source_hash(type(backend)), "host": host_id()})
        entry = self.cache.lookup(backend.name, key)
        if entry is not None:
            result.cache = "hit"
            prepared = backend.load(program, entry)
        else:
            result.cache = "forced" if self.cache.force else "miss"
            staged = self.cache.staging(backend.name)
            try:
                prepared = backend.prepare(program, staged)
            except BaseException:
                shutil.rmtree(staged, ignore_errors=True)  # no half-written staging dirs
                raise
            entry = self.cache.commit(backend.name, key, staged)
            if prepared.artifact is not None:
                prepared.artifact = entry / prepared.artifact.relative_to(staged)
        if prepared.artifact is not None:
            local = outdir / prepared.artifact.name
            link_or_copy(prepared.artifact, local)
            prepared.artifact = local
        return prepared

    def _tolerances(self, result: Result,
                    material: CaseMaterial) -> Callable[[str], Tolerance]:
        return self.config.tolerances.resolver(result.backend, result.case, result.base,
                                               material.tolerance)

    def _compare(self, result: Result, material: CaseMaterial,
                 actual: list[list[np.ndarray]]) -> None:
        k, worst = compare_input_sets(actual, material.expected, self._tolerances(result, material))
        result.status = Status.PASS if worst.ok else Status.MISMATCH
        result.message = message(result.case, result.backend, worst, k)
        result.record_comparison(worst)

    def _finish(self, result: Result, status: Status, what: str, exc: BaseException | None,
                outdir: pathlib.Path) -> Result:
        result.status = status
        result.total_s = time.perf_counter() - self._started
        if exc is not None:
            result.message = error_message(result.case, result.backend, what, exc)
            result.traceback = "".join(traceback.format_exception(exc))
        return record_files(result, outdir)


def record_files(result: Result, outdir: pathlib.Path) -> Result:
    """Write ``result.json`` and ``repro.txt`` of a finished pair."""
    outdir.mkdir(parents=True, exist_ok=True)
    result.artifact_dir = str(outdir)
    write_json(outdir / "result.json", result.to_dict())
    (outdir / "repro.txt").write_text(result.repro + "\n")
    return result


def error_message(case: str, backend: str, what: str, exc: BaseException) -> str:
    """``case @ backend: what — Type: first line`` (the comparator's grammar for errors)."""
    if isinstance(exc, ExportError) and exc.__cause__ is not None:
        exc = exc.__cause__
    root = exc
    while root.__cause__ is not None:
        root = root.__cause__
    if root is exc:
        return f"{case} @ {backend}: {what} — {_headline(exc)}"
    # Wrappers (e.g. the ONNX exporter's ConversionError) put the real reason at the root.
    return f"{case} @ {backend}: {what} — {_headline(root)} (via {type(exc).__name__})"


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _headline(exc: BaseException) -> str:
    lines = [x.strip() for x in _ANSI.sub("", str(exc)).strip().splitlines() if x.strip()]
    # Native errors often open with where they were raised ("Check ... failed at x.cpp:151:");
    # the reason follows, so such lead-in lines are dropped and the rest joined.
    first = lines[0] if lines else ""
    if first.endswith(":"):
        first = " | ".join([x for x in lines if not x.endswith(":")][:3]) or first
    if len(first) > 300:
        first = first[:297] + "..."
    return f"{type(exc).__name__}: {first}"

