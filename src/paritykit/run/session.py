"""One parity run end to end: plan, run on the pool, store, clean up. Used by CLI and plugin."""

from __future__ import annotations

import pathlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from paritykit.core.cases import CaseRef
from paritykit.core.expectations import ExpectationSet
from paritykit.core.result import Result, Status
from paritykit.files.artifacts import backend_dir, case_dir
from paritykit.files.results import RESULTS_FILE as RESULTS_FILE  # re-exported for the CLI
from paritykit.files.results import ResultStore, read_results
from paritykit.run.plan import Plan, build_plan
from paritykit.run.pool import Pool
from paritykit.run.ray_executor import RayExecutor
from paritykit.run.worker import RunConfig


@dataclass
class SessionOptions:
    """How to run (the CLI's flags, minus selection)."""

    jobs: int = 1
    timeout: float = 600.0
    resume: bool = False
    clean_after: bool = False
    #: Known failures and skips; the default has no entries (every result as it came).
    expectations: ExpectationSet = field(default_factory=ExpectationSet)
    #: Where tasks run: this machine's pool, or a Ray cluster (``--executor ray``).
    executor: Literal["local", "ray"] = "local"
    #: The cluster for ``executor="ray"``: ``auto`` finds one or starts a local one.
    ray_address: str = "auto"
    #: Bring passing results' files back from Ray nodes too (failures' always come back).
    ray_keep_passes: bool = False


def prepare_plan(refs: list[CaseRef], backends: list[str], config: RunConfig,
                 options: SessionOptions) -> tuple[Plan, list[Result]]:
    """The plan, and the results a ``--resume`` keeps from ``results.jsonl``."""
    previous: list[Result] = []
    if options.resume:
        wanted = {(r.id, b) for r in refs for b in backends}
        previous = [options.expectations.apply(r)
                    for r in read_results(pathlib.Path(config.artifact_dir, RESULTS_FILE))
                    if r.key in wanted and r.fingerprint == config.fingerprint]
    plan = build_plan(refs, backends, config.seed, done=[r.key for r in previous],
                      expectations=options.expectations)
    return plan, previous


def execute(plan: Plan, config: RunConfig, options: SessionOptions,
            on_result: Callable[[Result], None]) -> list[Result]:
    """Run the plan; every result reaches ``results.jsonl`` and ``on_result`` as it finishes."""
    store = ResultStore(pathlib.Path(config.artifact_dir, RESULTS_FILE), resume=options.resume)
    results: list[Result] = []

    def record(result: Result) -> None:
        result = options.expectations.apply(result)
        store.append(result)
        results.append(result)
        on_result(result)

    try:
        for result in plan.decided:
            record(result)
        if plan.tasks:
            executor(config, options).run(plan.tasks, record)
    finally:
        store.close()
    if options.clean_after:
        clean_passing(pathlib.Path(config.artifact_dir), results)
    return results


def executor(config: RunConfig, options: SessionOptions) -> Pool | RayExecutor:
    """The local pool, or the Ray executor: both run tasks through the same attempt and the
    same worker pool (on a Ray node, a pool of its own)."""
    if options.executor == "ray":
        return RayExecutor(config, jobs=options.jobs, timeout=options.timeout,
                           address=options.ray_address, keep_passes=options.ray_keep_passes)
    return Pool(config, jobs=options.jobs, timeout=options.timeout)


def clean_passing(root: pathlib.Path, results: list[Result]) -> None:
    """Remove the artifacts of passing results, and case folders left with no failures.

    Failures recorded in ``results.jsonl`` count too: with ``--resume`` they are not in
    ``results`` but their artifacts live in the same case folders.
    """
    recorded = read_results(root / RESULTS_FILE)
    failing_cases = {r.case for r in [*recorded, *results] if r.status.failed}
    for r in results:
        if r.status is Status.PASS:
            shutil.rmtree(backend_dir(root, r.case, r.backend), ignore_errors=True)
            r.artifact_dir = None
    for case in {r.case for r in results} - failing_cases:
        shutil.rmtree(case_dir(root, case), ignore_errors=True)
