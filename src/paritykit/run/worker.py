"""What a worker process does for one (case, backend) task: prepare, run, compare, record.

Everything here returns data; failures become Results with a status, never exceptions.
"""

from __future__ import annotations

import enum
import os
import pathlib
import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from paritykit.core.backend import Backend
from paritykit.core.cases import CASES, CaseRef
from paritykit.core.errors import code_failures
from paritykit.core.grad_oracle import compare_gradients, oracle_gradients
from paritykit.core.gradients import NotDifferentiable, torch_gradients
from paritykit.core.reference import CaseMaterial, build_case
from paritykit.core.registry import BACKENDS, load_plugin
from paritykit.core.result import Result, Status
from paritykit.core.tolerance import Tolerance, ToleranceRules
from paritykit.files.artifacts import (
    backend_dir,
    case_dir,
    content_hash,
    named_arrays,
    save_arrays,
    write_json,
)
from paritykit.files.golden_manifest import (
    INPUTS_DIFFER_HINT,
    Manifest,
    load_checked,
    load_manifest,
    provenance_findings,
)
from paritykit.run.attempt import CacheSlot, Reference, Stage, attempt, error_message, fail
from paritykit.run.cache import ArtifactCache, cache_key
from paritykit.run.plan import CallTask, Task

__all__ = ["Expected", "RunConfig", "Task", "Worker", "error_message", "init_process",
           "load_sources", "record_files"]


class Expected(str, enum.Enum):
    """Where a run's expected outputs come from."""

    #: PyTorch eager on this machine (``parity run``).
    EAGER = "eager"
    #: Nowhere: the backend's outputs are what the run is for (``parity golden generate``).
    NONE = "none"
    #: The stored outputs of ``RunConfig.golden_dir`` (``parity golden compare``).
    GOLDEN = "golden"


def repro_flags(plugins: Sequence[str], tolerances_path: str | None,
                backend_options: Mapping[str, Mapping[str, str]]) -> list[str]:
    """The ``-p``, ``--tolerances`` and ``--backend-option`` flags of a repro command.

    >>> repro_flags(["my.py"], None, {"iree": {"flags": "-O3"}})
    ['-p', 'my.py', '--backend-option', 'iree.flags=-O3']
    """
    args = [a for p in plugins for a in ("-p", p)]
    if tolerances_path:
        args += ["--tolerances", tolerances_path]
    for b, opts in backend_options.items():
        args += [a for k, v in opts.items() for a in ("--backend-option", f"{b}.{k}={v}")]
    return args


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
    expected: Expected = Expected.EAGER
    #: The golden directory written (Expected.NONE) or compared with (Expected.GOLDEN).
    golden_dir: str | None = None

    @property
    def fingerprint(self) -> str:
        """What makes results of two runs comparable (``--resume`` keeps only matching ones)."""
        return cache_key({"seed": self.seed, "tolerances": repr(self.tolerances),
                          "options": self.backend_options, "plugins": self.plugins,
                          **({"grad": True} if self.grad else {})})

    def repro(self, case: str, backend: str) -> str:
        """One command that reruns just this pair."""
        if self.expected is Expected.GOLDEN:
            args = ["parity", "golden", "compare", "-b", backend, "--golden",
                    str(self.golden_dir)]
        elif self.expected is Expected.NONE:
            args = ["parity", "golden", "generate", case, "-b", backend, "--out",
                    str(self.golden_dir), "--seed", str(self.seed)]
        else:
            args = ["parity", "run", case, "-b", backend, "--seed", str(self.seed)]
        args += repro_flags(self.plugins, self.tolerances_path, self.backend_options)
        if self.grad:
            args.append("--grad")
        return shlex.join([*args, "-v"])


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
        self._manifest: Manifest | None = None
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
            save_arrays(directory / "inputs.safetensors", material.input_arrays, "input")
            save_arrays(directory / "expected.safetensors", material.expected, "output")
            self._material = material
        return self._material

    def run(self, task: Task) -> Result:
        """Execute one task; never raises for a backend's or a case's failure."""
        if isinstance(task, CallTask):
            value: Result = task.invoke()
            return value
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
            reference = self._reference(material, result)
            result.setup_s = time.perf_counter() - start
        except code_failures() as exc:
            return self._finish(fail(result, Stage.SETUP, exc), outdir)
        backend = BACKENDS.get(task.backend)
        result.versions = backend.versions()
        options = self.config.backend_options.get(task.backend, {})
        cache = CacheSlot(self.cache, lambda: material.key_parts) if self.cache else None
        attempted = attempt(backend, material.program, reference, result, options=options,
                            workdir=outdir, cache=cache)
        if attempted is None:
            return self._finish(result, outdir)
        _save_actual(outdir, attempted.outputs, reference, result)
        if self.config.expected is Expected.GOLDEN:
            self._golden_findings(result, material, reference)
        elif self.config.expected is Expected.NONE:
            result.stats["weights_sha256"] = material.key_parts["state"]
        if self.config.grad and result.status is Status.PASS:
            try:
                self._compare_gradients(result, backend, material, options)
            except code_failures() as exc:
                fail(result, Stage.GRADIENTS, exc)
        return self._finish(result, outdir)

    def _reference(self, material: CaseMaterial, result: Result) -> Reference:
        """What this run judges the backend against: eager, nothing, or a golden directory."""
        tolerance = self._tolerances(result, material)
        if self.config.expected is Expected.EAGER:
            return Reference(material.input_arrays, material.expected, tolerance)
        if self.config.expected is Expected.NONE:
            return Reference(material.input_arrays, None, tolerance)
        manifest = self.manifest()
        entry = manifest.entry(result.case)
        result.stats.update({"seed": manifest.seed, "golden": str(manifest.path.parent),
                             "golden_origin": manifest.origin})
        return Reference(load_checked(manifest, entry, "input"),
                         load_checked(manifest, entry, "output"), tolerance,
                         label=f"{result.backend} vs golden {manifest.origin}")

    def manifest(self) -> Manifest:
        """The golden directory this run compares with (read once per worker)."""
        if self._manifest is None:
            assert self.config.golden_dir is not None
            self._manifest = load_manifest(self.config.golden_dir)
        return self._manifest

    def _golden_findings(self, result: Result, material: CaseMaterial,
                         reference: Reference) -> None:
        """A golden made from other inputs or weights describes another computation."""
        entry = self.manifest().entry(result.case)
        findings = provenance_findings(entry, content_hash(named_arrays(material.input_arrays,
                                                                        "input")),
                                       material.key_parts["state"], self.config.seed)
        if not findings:
            return
        label = f"{result.case} @ {reference.label}: "
        outcome = (result.message.removeprefix(label) if result.message
                   else "outputs on the stored inputs agree")
        result.status = Status.MISMATCH
        result.message = f"{label}{'; '.join(findings)} ({INPUTS_DIFFER_HINT}); {outcome}"
        result.stats["finding"] = "inputs"

    def _compare_gradients(self, result: Result, backend: Backend, material: CaseMaterial,
                           options: dict[str, str]) -> None:
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
        got = backend.gradients(material.program.with_options(options), self.config.seed)
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

    def _tolerances(self, result: Result,
                    material: CaseMaterial) -> Callable[[str], Tolerance]:
        return self.config.tolerances.resolver(result.backend, result.case, result.base,
                                               material.tolerance)

    def _finish(self, result: Result, outdir: pathlib.Path) -> Result:
        result.total_s = time.perf_counter() - self._started
        return record_files(result, outdir)


#: The most a result stores of outputs whose shapes differ from the expected ones: a backend
#: that returns a huge array of the wrong shape must not fill the disk with it.
MAX_MISSHAPEN_BYTES = 64 * 2**20


def _save_actual(outdir: pathlib.Path, outputs: list[list[np.ndarray]], reference: Reference,
                 result: Result) -> None:
    """``actual.safetensors``, unless outputs of the wrong shape would exceed the cap."""
    def shapes(sets: list[list[np.ndarray]]) -> list[list[tuple[int, ...]]]:
        return [[a.shape for a in arrays] for arrays in sets]

    misshapen = reference.expected is not None and shapes(outputs) != shapes(reference.expected)
    size = sum(a.nbytes for arrays in outputs for a in arrays)
    if misshapen and size > MAX_MISSHAPEN_BYTES:
        result.stats["actual_not_stored"] = (f"{size / 2**20:.0f} MiB of outputs whose shapes "
                                             f"differ from the expected ones (over the "
                                             f"{MAX_MISSHAPEN_BYTES // 2**20} MiB cap)")
        return
    save_arrays(outdir / "actual.safetensors", outputs, "output", atomic=False)


def record_files(result: Result, outdir: pathlib.Path) -> Result:
    """Write ``result.json`` and ``repro.txt`` of a finished pair."""
    outdir.mkdir(parents=True, exist_ok=True)
    result.artifact_dir = str(outdir)
    write_json(outdir / "result.json", result.to_dict())
    (outdir / "repro.txt").write_text(result.repro + "\n")
    return result
