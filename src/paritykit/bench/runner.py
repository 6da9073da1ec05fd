"""Time each case on each backend, on its baseline and on torch eager, in this one process.

For every thread count and case: the case is built once (seeded model and inputs, eager
reference), every variant is prepared once (not timed), run once and checked against the
reference (PASS or MISMATCH in its row), then ``Prepared.run`` is timed with
:func:`paritykit.timing.measure` on the case's example inputs. Everything is sequential, so
no two timings share the CPU. A variant that cannot be timed becomes a :class:`BenchFailure`.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from paritykit.artifacts import backend_dir
from paritykit.backend import Prepared
from paritykit.bench.machine import fingerprint
from paritykit.bench.store import BenchFailure, BenchRow, BenchRun
from paritykit.cases import CaseRef
from paritykit.compare import compare_outputs
from paritykit.dtypes import to_numpy
from paritykit.errors import ExportError
from paritykit.reference import CaseMaterial, build_case, case_info
from paritykit.registry import BACKENDS
from paritykit.result import Status
from paritykit.timing import measure
from paritykit.tolerance import ToleranceRules
from paritykit.worker import error_message

REFERENCE = "torch"
REFERENCE_LABEL = "torch eager"


@dataclass(frozen=True)
class BenchOptions:
    """How to time: thread counts, and :func:`~paritykit.timing.measure`'s stopping rule."""

    threads: tuple[int, ...] = (1,)
    budget_s: float = 1.0
    target_rel_ci: float = 0.05
    warmup: int = 3
    #: 10, not measure's 5: from 6 samples on the CI of the median is a true 95% interval,
    #: and 5 quick samples on a busy machine can agree by chance.
    min_repeats: int = 10
    max_repeats: int = 1000
    seed: int = 0


@dataclass(frozen=True)
class Variant:
    """One thing to time for a backend's row: its reference, baseline or optimized route."""

    backend: str  # the backend the row belongs to
    variant: str  # "reference" | "baseline" | "optimized"
    label: str
    runs_on: str  # the registered backend actually prepared
    options: dict[str, str] = field(default_factory=dict)


def baseline_label(name: str, options: dict[str, str]) -> str:
    """``aot-eager``, ``iree --iree-opt-level=O0``, ``onnxruntime graph_optimization=disable``.

    >>> baseline_label("iree", {"flags": "--iree-opt-level=O0"})
    'iree --iree-opt-level=O0'
    """
    parts = [v if v.startswith("-") else f"{k}={v}" for k, v in options.items()]
    return " ".join([name, *parts])


def variants(backend: str) -> list[Variant]:
    """The optimized route of ``backend`` and, when it declares one, its baseline."""
    out = [Variant(backend, "optimized", backend, backend)]
    baseline = type(BACKENDS.get(backend)).baseline
    if baseline is not None:
        name, options = baseline
        out.append(Variant(backend, "baseline", baseline_label(name, options), name,
                           dict(options)))
    return out


def order_backends(names: Iterable[str]) -> list[str]:
    """Backends that need their own process (framework side effects) go last, so they cannot
    break the lowering of the others in this one process."""
    names = list(dict.fromkeys(names))
    return sorted(names, key=lambda n: type(BACKENDS.get(n)).needs_own_process)


class BenchRunner:
    """Runs one benchmark; ``on_entry`` sees every row or failure as soon as it exists."""

    def __init__(self, options: BenchOptions, artifact_dir: pathlib.Path,
                 on_entry: Callable[[BenchRow | BenchFailure], None] | None = None) -> None:
        self.options = options
        self.root = artifact_dir
        self.on_entry = on_entry or (lambda entry: None)
        self.tolerances = ToleranceRules()

    def run(self, refs: Sequence[CaseRef], backends: Sequence[str]) -> BenchRun:
        """Every case × (reference + each backend's variants) × thread count."""
        import torch

        ordered = order_backends(backends)
        versions = {n: BACKENDS.get(n).versions() for n in [REFERENCE, *ordered]}
        run = BenchRun(machine=fingerprint(versions))
        previous = torch.get_num_threads()
        try:
            for threads in self.options.threads:
                torch.set_num_threads(threads)
                self._threads(refs, ordered, threads, run)
        finally:
            torch.set_num_threads(previous)
        return run

    def _threads(self, refs: Sequence[CaseRef], backends: list[str], threads: int,
                 run: BenchRun) -> None:
        materials: dict[str, CaseMaterial | BenchFailure] = {}
        reference = Variant(REFERENCE, "reference", REFERENCE_LABEL, REFERENCE)
        for ref in refs:
            try:
                materials[ref.id] = build_case(ref, self.options.seed)
            except Exception as exc:
                materials[ref.id] = BenchFailure(ref.id, REFERENCE, "reference", REFERENCE_LABEL,
                                                 threads, str(Status.RUN_ERROR), error_message(
                                                     ref.id, REFERENCE, "case setup failed", exc))
            self._record(run, self._time(ref, materials[ref.id], reference, threads))
        # Backend-major order: a backend that must come last (see order_backends) does.
        for backend in backends:
            for ref in refs:
                material = materials[ref.id]
                for variant in variants(backend):
                    self._record(run, self._time(ref, material, variant, threads))

    def _record(self, run: BenchRun, entry: BenchRow | BenchFailure) -> None:
        if isinstance(entry, BenchRow):
            run.rows.append(entry)
        else:
            run.failures.append(entry)
        self.on_entry(entry)

    def _time(self, ref: CaseRef, material: CaseMaterial | BenchFailure, variant: Variant,
              threads: int) -> BenchRow | BenchFailure:
        def failed(status: Status, message: str) -> BenchFailure:
            return BenchFailure(ref.id, variant.backend, variant.variant, variant.label,
                                threads, str(status), message)

        if isinstance(material, BenchFailure):
            return failed(Status.RUN_ERROR, material.message)
        backend = BACKENDS.get(variant.runs_on)
        reason = backend.is_available() or backend.unsupported_reason(
            case_info(ref, self.options.seed))
        if reason:
            return failed(Status.UNSUPPORTED, f"{ref.id} @ {variant.label}: {reason}")
        program = material.program
        program.options = dict(variant.options)
        workdir = backend_dir(self.root, ref.id, variant.label.replace(" ", "_"))
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            prepared = backend.prepare(program, workdir)
        except ExportError as exc:
            return failed(Status.EXPORT_ERROR, error_message(ref.id, variant.label,
                                                             "export failed", exc))
        except Exception as exc:
            return failed(Status.LOWER_ERROR, error_message(ref.id, variant.label,
                                                            "lowering failed", exc))
        inputs = [to_numpy(t) for t in material.inputs]
        try:
            status = self._check(ref, material, variant, prepared.run(inputs))
            timing = measure(lambda: prepared.run(inputs), warmup=self.options.warmup,
                             min_repeats=self.options.min_repeats,
                             max_repeats=self.options.max_repeats,
                             target_rel_ci=self.options.target_rel_ci,
                             budget_s=self.options.budget_s, sync=_sync(prepared))
        except Exception as exc:
            return failed(Status.RUN_ERROR, error_message(ref.id, variant.label, "run failed",
                                                          exc))
        return BenchRow.from_timing(timing, case=ref.id, backend=variant.backend,
                                    variant=variant.variant, label=variant.label,
                                    threads=threads, status=str(status),
                                    device=prepared.device, options=dict(variant.options))

    def _check(self, ref: CaseRef, material: CaseMaterial, variant: Variant,
               outputs: list[np.ndarray]) -> Status:
        """PASS or MISMATCH of the first run against the eager reference (a fast wrong answer
        is not a speedup, so the row says so)."""
        tolerance = self.tolerances.resolver(variant.runs_on, ref.id, ref.base,
                                             material.tolerance)
        ok = compare_outputs(outputs, material.expected[0], tolerance).ok
        return Status.PASS if ok else Status.MISMATCH


def _sync(prepared: Prepared) -> Callable[[], None] | None:
    """Wait for the device before reading the clock (``run`` returns NumPy, so this is a
    safeguard for backends that hand back before the GPU is done)."""
    if prepared.device == "cuda":
        import torch

        return torch.cuda.synchronize
    return None
