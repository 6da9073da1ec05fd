"""Time each case on each backend, on its baseline and on torch eager, one worker at a time.

Every (thread count, backend) is one job, run in worker processes of
:class:`paritykit.run.pool.Pool` with one worker at a time, so no two timings share the CPU and
no backend's framework state (thread pools, imported compilers) is there while another is
timed. A job is one :class:`~paritykit.run.plan.CallTask` per (case, variant): when a program
segfaults, aborts or hangs, that program is a CRASH or TIMEOUT failure and the job goes on in
a fresh worker with the next one.

In the worker, the case is built once (seeded model and inputs, eager reference), the variant
is prepared, run once and judged through :mod:`paritykit.run.attempt` (PASS or MISMATCH in its
row), then ``Prepared.run`` is timed with :func:`paritykit.core.timing.measure` on the case's
example inputs. A variant that cannot be timed becomes a :class:`BenchFailure`.
"""

from __future__ import annotations

import functools
import pathlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from paritykit.core.backend import CaseInfo, Prepared
from paritykit.core.cases import CASES, CaseRef
from paritykit.core.reference import CaseMaterial, build_case, case_info
from paritykit.core.registry import BACKENDS
from paritykit.core.result import Result, Status
from paritykit.core.timing import measure
from paritykit.core.tolerance import ToleranceRules
from paritykit.files.artifacts import backend_dir
from paritykit.files.bench import BenchFailure, BenchRow, BenchRun
from paritykit.files.machine import fingerprint
from paritykit.run.attempt import Reference, Stage, attempt, fail
from paritykit.run.cache import default_cache_dir
from paritykit.run.plan import CallTask
from paritykit.run.pool import Pool
from paritykit.run.worker import RunConfig

REFERENCE = "torch"
REFERENCE_LABEL = "torch eager"
#: What ends a program's timing without a result of its own (the command then exits 1).
LOST = (Status.CRASH.value, Status.TIMEOUT.value)


@dataclass(frozen=True)
class BenchOptions:
    """How to time: thread counts, and :func:`~paritykit.core.timing.measure`'s stopping rule."""

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


REFERENCE_VARIANT = Variant(REFERENCE, "reference", REFERENCE_LABEL, REFERENCE)


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
    """Backends that need their own process (framework side effects) go last, as they do in
    ``parity run``; each job has workers of its own anyway, so this only fixes the order."""
    names = list(dict.fromkeys(names))
    return sorted(names, key=lambda n: type(BACKENDS.get(n)).needs_own_process)


class BenchRunner:
    """Runs one benchmark; ``on_entry`` sees every row or failure as soon as it exists.

    ``plugins`` are the ``-p`` sources the workers load; ``timeout_s`` bounds one program's
    prepare, check and timing (its worker is killed past it).
    """

    def __init__(self, options: BenchOptions, artifact_dir: pathlib.Path,
                 on_entry: Callable[[BenchRow | BenchFailure], None] | None = None, *,
                 plugins: Sequence[str] = (), timeout_s: float = 600.0) -> None:
        self.options = options
        self.root = artifact_dir
        self.on_entry = on_entry or (lambda entry: None)
        self.plugins = tuple(plugins)
        self.timeout_s = timeout_s

    def run(self, refs: Sequence[CaseRef], backends: Sequence[str]) -> BenchRun:
        """Every case × (reference + each backend's variants) × thread count."""
        ordered = order_backends(backends)
        versions = {n: BACKENDS.get(n).versions() for n in [REFERENCE, *ordered]}
        run = BenchRun(machine=fingerprint(versions))
        infos = {ref.id: _info(ref, self.options.seed) for ref in refs}
        jobs = [[REFERENCE_VARIANT], *(variants(b) for b in ordered)]

        def record(entry: Any) -> None:
            (run.rows if isinstance(entry, BenchRow) else run.failures).append(entry)
            self.on_entry(entry)

        # One pool for the whole run, so worker logs (DIR/logs/worker-PID-N.log) are numbered once
        # and a crashed program's log is not overwritten by a later job's worker.
        pool = Pool(self._config(self.options.threads[0]), jobs=1, timeout=self.timeout_s)
        for threads in self.options.threads:
            # Its workers start with this count (torch, ONNX Runtime; IREE's executor keeps
            # the count of its first use in a process, so a fresh process per count matters).
            pool.config = self._config(threads)
            for job in jobs:
                tasks = []
                for ref in refs:
                    for variant in job:
                        reason = _unsupported(variant, infos[ref.id])
                        if reason:
                            record(_failure(ref.id, variant, threads, Status.UNSUPPORTED,
                                            f"{ref.id} @ {variant.label}: {reason}"))
                        else:
                            tasks.append(self._task(ref, variant, threads))
                if tasks:
                    pool.run(tasks, record)  # one worker at a time; closed after the job
        return run

    def _config(self, threads: int) -> RunConfig:
        return RunConfig(seed=self.options.seed, artifact_dir=str(self.root),
                         cache_dir=str(default_cache_dir()), plugins=self.plugins,
                         threads=threads)

    def _task(self, ref: CaseRef, variant: Variant, threads: int) -> CallTask:
        return CallTask(case=ref.id, base=ref.base, backend=variant.backend, call=time_program,
                        args=(ref.id, variant, threads, self.options, str(self.root)),
                        on_lost=functools.partial(lost, ref.id, variant, threads))


def _info(ref: CaseRef, seed: int) -> CaseInfo | None:
    """The case's dtypes and ranks; None when the case cannot even be instantiated, which its
    workers then report as a setup failure (RUN_ERROR) instead of this process raising."""
    try:
        return case_info(ref, seed)
    except Exception:
        return None


def _unsupported(variant: Variant, info: CaseInfo | None) -> str | None:
    backend = BACKENDS.get(variant.runs_on)
    return backend.is_available() or (backend.unsupported_reason(info) if info else None)


def _failure(case: str, variant: Variant, threads: int, status: Status,
             message: str) -> BenchFailure:
    return BenchFailure(case, variant.backend, variant.variant, variant.label, threads,
                        status.value, message)


def lost(case: str, variant: Variant, threads: int, status: Status, what: str,
         detail: str) -> BenchFailure:
    """The failure of a program whose worker crashed or timed out (``what`` says how), or
    whose task raised outside the backend's own calls (a harness error)."""
    if status is Status.RUN_ERROR:
        what = f"harness error — {what}"
    return _failure(case, variant, threads, status, f"{case} @ {variant.label}: {what}")


#: The last case built in this worker: both variants of a backend share it.
_built: dict[tuple[str, int], CaseMaterial] = {}


def _material(case: str, seed: int) -> CaseMaterial:
    key = (case, seed)
    if key not in _built:
        _built.clear()
        ref = next(r for r in CASES.expand() if r.id == case)
        _built[key] = build_case(ref, seed)
    return _built[key]


def time_program(case: str, variant: Variant, threads: int, options: BenchOptions,
                 root: str) -> BenchRow | BenchFailure:
    """In a worker: prepare ``variant`` on ``case`` (not timed), run and judge it once against
    the eager reference, then time ``Prepared.run`` on the example inputs."""
    result = Result(case, variant.label, Status.RUN_ERROR)

    def failed(stage: Stage, exc: Exception) -> BenchFailure:
        fail(result, stage, exc)
        return _failure(case, variant, threads, result.status, result.message)

    try:
        material = _material(case, options.seed)
    except Exception as exc:
        return failed(Stage.SETUP, exc)
    ref = material.ref
    tolerance = ToleranceRules().resolver(variant.runs_on, ref.id, ref.base, material.tolerance)
    reference = Reference(material.input_arrays[:1], material.expected[:1], tolerance)
    inputs = [a.copy() for a in material.input_arrays[0]]  # the worker's case stays intact
    workdir = backend_dir(pathlib.Path(root), case, variant.label.replace(" ", "_"))
    # Prepared (not timed) and judged once: a fast wrong answer is not a speedup, the row
    # says PASS or MISMATCH.
    attempted = attempt(BACKENDS.get(variant.runs_on), material.program, reference, result,
                        options=variant.options, workdir=workdir)
    if attempted is None:
        return _failure(case, variant, threads, result.status, result.message)
    prepared = attempted.prepared
    try:
        timing = measure(lambda: prepared.run(inputs), warmup=options.warmup,
                         min_repeats=options.min_repeats, max_repeats=options.max_repeats,
                         target_rel_ci=options.target_rel_ci, budget_s=options.budget_s,
                         sync=_sync(prepared))
    except Exception as exc:
        return failed(Stage.RUN, exc)
    return BenchRow.from_timing(timing, case=case, backend=variant.backend,
                                variant=variant.variant, label=variant.label, threads=threads,
                                status=result.status.value, device=prepared.device,
                                options=dict(variant.options))


def _sync(prepared: Prepared) -> Callable[[], None] | None:
    """Wait for the device before reading the clock (``run`` returns NumPy, so this is a
    safeguard for backends that hand back before the GPU is done)."""
    if prepared.device == "cuda":
        import torch

        return torch.cuda.synchronize
    return None
