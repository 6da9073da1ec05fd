"""One eval entry end to end: pick backends, run one job per backend, collect the data.

Each backend's job runs in a worker of :class:`paritykit.run.pool.Pool`, the pool every route
uses (one fresh worker per job, one job at a time, so timings never share the CPU), so a
backend that fails, crashes or hangs costs its own result and the others still run. Nothing
here prints: ``on_progress`` is told what starts, the CLI renders what comes back.
"""

from __future__ import annotations

import functools
import os
import pathlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from paritykit.core.registry import BACKENDS
from paritykit.core.result import Result, Status
from paritykit.evaluate import bench, run, trace, validate
from paritykit.evaluate.common import failed_result
from paritykit.evaluate.options import EvalOptions
from paritykit.files.results import RESULTS_FILE
from paritykit.run.cache import default_cache_dir
from paritykit.run.plan import CallTask
from paritykit.run.pool import Pool
from paritykit.run.worker import RunConfig, load_sources

Progress = Callable[[str], None]

#: workload -> (job run per backend, result of a job that crashed / timed out / raised)
JOBS: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "validate": (validate.validate_backend, failed_result),
    "trace": (trace.trace_backend, trace.failed_trace),
    "bench": (bench.bench_backend, bench.failed_bench),
    "run": (run.run_backend, run.failed_run),
}


@dataclass
class EvalOutcome:
    """Everything one entry produced (what the CLI prints and the tests read)."""

    options: EvalOptions
    backends: list[str]
    skipped: dict[str, str] = field(default_factory=dict)
    results: list[Result] = field(default_factory=list)
    traces: list[trace.TraceReport] = field(default_factory=list)
    bench: list[bench.BenchOutcome] = field(default_factory=list)
    bench_path: pathlib.Path | None = None
    runs: list[run.RunOutput] = field(default_factory=list)
    eager: run.RunOutput | None = None
    dumps: list[pathlib.Path] = field(default_factory=list)


def pick_backends(requested: tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
    """(backends to run, {unavailable requested backend: why}); default: every available one."""
    if not requested:
        return BACKENDS.available(), {}
    chosen, skipped = [], {}
    for name in dict.fromkeys(requested):
        info = BACKENDS.info(name)  # unknown names: RegistryError listing the known ones
        if info.available:
            chosen.append(name)
        else:
            skipped[name] = info.reason
    return chosen, skipped


def job(options: EvalOptions, workload: str, backend: str, threads: int) -> Any:
    """One backend's job of ``workload``: in a worker process unless ``options.isolate`` is
    off (backends that need a process of their own get one all the same)."""
    fn, failed = JOBS[workload]
    if workload == "bench" and backend == "torch eager":
        fn = bench.bench_reference
    args = (options,) if fn is bench.bench_reference else (options, backend)
    # A raise in the job is a harness error (a backend's failures are data already).
    task = CallTask(case=options.case_id, base=options.case_id, backend=backend, call=fn,
                    args=args, on_lost=functools.partial(failed, options, backend))
    own = backend in BACKENDS.names() and BACKENDS.get(backend).needs_own_process
    if not (options.isolate or own):
        set_threads(threads)
        return task.invoke()
    config = RunConfig(artifact_dir=options.artifact_dir, plugins=options.plugins,
                       threads=threads, cache_dir=str(default_cache_dir()))
    return Pool(config, timeout=options.timeout_s).call(task)


def set_threads(threads: int) -> None:
    """Thread budget of this process: torch's pools (backends read ``torch.get_num_threads``)."""
    import torch

    os.environ["OMP_NUM_THREADS"] = str(threads)
    torch.set_num_threads(threads)


def load_plugins(plugins: Sequence[str]) -> None:
    """Discover the built-in backends and import the user's ``-p`` files."""
    load_sources(RunConfig(plugins=tuple(plugins)))


def execute(options: EvalOptions, on_progress: Progress = lambda _: None) -> EvalOutcome:
    """Run ``options.workload`` for ``options.model`` on the chosen backends."""
    from paritykit.evaluate import dump
    from paritykit.evaluate.model import load_model

    load_model(options, with_reference=False)  # a bad model name or --weights fails here, once
    backends, skipped = pick_backends(options.backends)
    outcome = EvalOutcome(options, backends, skipped)
    if options.dumps_lowered:
        path = dump.write_exported(options)
        outcome.dumps += [path] if path else []
    if options.dumps_activations:
        outcome.dumps.append(dump.write_activations(options))
    workload = options.workload
    threads = options.threads[0]
    if workload == "validate":
        _validate(options, backends, skipped, outcome, on_progress)
    elif workload == "trace":
        for backend in backends:
            on_progress(f"trace {options.model} on {backend}")
            outcome.traces.append(job(options, "trace", backend, threads))
    elif workload == "bench":
        _bench(options, backends, outcome, on_progress)
    else:
        on_progress(f"run {options.model} in torch eager")
        outcome.eager = run.run_eager(options)
        for backend in backends:
            on_progress(f"run {options.model} on {backend}")
            outcome.runs.append(job(options, "run", backend, threads))
    return outcome


def _validate(options: EvalOptions, backends: list[str], skipped: dict[str, str],
              outcome: EvalOutcome, on_progress: Progress) -> None:
    from paritykit.files.results import ResultStore

    store = ResultStore(pathlib.Path(options.artifact_dir, RESULTS_FILE), resume=True)
    try:
        for name, reason in skipped.items():
            result = Result(options.case_id, name, Status.UNSUPPORTED, base=options.case_id,
                            message=f"{options.case_id} @ {name}: unavailable — {reason}")
            store.append(result)
            outcome.results.append(result)
        for backend in backends:
            on_progress(f"validate {options.model} on {backend}")
            result = job(options, "validate", backend, options.threads[0])
            store.append(result)
            outcome.results.append(result)
    finally:
        store.close()


def _bench(options: EvalOptions, backends: list[str], outcome: EvalOutcome,
           on_progress: Progress) -> None:
    versions = {b: BACKENDS.get(b).versions() for b in backends}
    for threads in options.threads:
        pinned = options.with_backend_threads(threads)
        on_progress(f"bench {options.model} in torch eager, {threads} thread(s)")
        before = job(pinned, "bench", "torch eager", threads)
        timed = []
        for backend in backends:
            on_progress(f"bench {options.model} on {backend}, {threads} thread(s)")
            timed.append(job(pinned, "bench", backend, threads))
        # Every speedup divides by the reference: timed once, a burst of load during it would
        # skew them all, so it is timed before and after the backends and the samples pooled.
        on_progress(f"bench {options.model} in torch eager again, {threads} thread(s)")
        after = job(pinned, "bench", "torch eager", threads)
        outcome.bench += [bench.pool_reference(before, after), *timed]
    outcome.bench_path = bench.write(options, outcome.bench, versions)

