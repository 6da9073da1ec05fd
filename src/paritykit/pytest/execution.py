"""Running one (case, backend) pair for a pytest item through the same core as ``parity run``.

Planning (unavailable backend, expectations skip entry, UNSUPPORTED) uses
:func:`paritykit.plan.build_plan`; running uses :class:`paritykit.worker.Worker` in this process,
or a :class:`paritykit.runner.Pool` worker process kept for the whole session with
``--parity-isolate`` and for backends that ``needs_own_process``. Every result is appended to
``ARTIFACT_DIR/results.jsonl`` (one lock for xdist workers), so ``parity`` reports can read it.
"""

from __future__ import annotations

import json
import pathlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from paritykit.cases import CaseRef
    from paritykit.expectations import ExpectationSet
    from paritykit.result import Result
    from paritykit.runner import Pool
    from paritykit.worker import RunConfig, Worker


def _persistent_pool(config: RunConfig, jobs: int, timeout: float) -> Pool:
    """A Pool whose workers outlive one ``run`` call (closed by :meth:`ParityRunner.close`)."""
    from paritykit.runner import Pool

    class PersistentPool(Pool):
        keep = True

        def close(self) -> None:
            if not self.keep:
                super().close()

    return PersistentPool(config, jobs=jobs, timeout=timeout)


@dataclass
class ParityRunner:
    """Per pytest process: the run config, expectations, worker and pool."""

    config: RunConfig
    expectations: ExpectationSet
    isolate: bool = False
    timeout: float = 600.0
    _worker: Worker | None = None
    _pool: Pool | None = None
    _initialised: bool = False
    _refs: dict[str, CaseRef] = field(default_factory=dict)

    @property
    def results_path(self) -> pathlib.Path:
        """Where every result of the session is appended."""
        return pathlib.Path(self.config.artifact_dir, "results.jsonl")

    def run(self, ref: CaseRef, backend: str) -> Result:
        """Plan, run and apply expectations for one pair; the result is also recorded."""
        from paritykit.plan import build_plan

        plan = build_plan([ref], [backend], self.config.seed, expectations=self.expectations)
        result = plan.decided[0] if plan.decided else self._execute(plan.tasks[0])
        result = self.expectations.apply(result)
        self._record(result)
        return result

    def _execute(self, task: Any) -> Result:
        from paritykit.registry import BACKENDS

        if self.isolate or BACKENDS.get(task.backend).needs_own_process:
            if self._pool is None:
                # one shared worker and one for a backend that needs its own process
                self._pool = _persistent_pool(self.config, 2, self.timeout)
            results = self._pool.run([task], lambda r: None)
            return results[0]
        if self._worker is None:
            from paritykit.worker import Worker, init_process

            init_process(self.config)
            self._worker = Worker(self.config)
        return self._worker.run(task)

    def _record(self, result: Result) -> None:
        from filelock import FileLock

        path = self.results_path
        path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(result.to_dict(), default=str) + "\n"
        with FileLock(str(path) + ".lock"), path.open("a", encoding="utf-8") as fh:
            fh.write(line)

    def close(self) -> None:
        """Stop the worker processes, if any."""
        if self._pool is not None:
            self._pool.keep = False  # type: ignore[attr-defined]
            self._pool.close()
            self._pool = None


def make_runner(pytest_config: Any) -> ParityRunner:
    """A runner from the ``--parity-*`` options (expectation files validated here)."""
    from paritykit.errors import ParityError
    from paritykit.expectations import ExpectationSet
    from paritykit.pytest.options import load, usage_error

    run_config = load(pytest_config)
    opt = pytest_config.option
    try:
        expectations = (ExpectationSet() if opt.parity_no_expectations
                        else ExpectationSet.load(opt.parity_expectations))
    except ParityError as exc:
        raise usage_error(str(exc)) from None
    return ParityRunner(run_config, expectations, isolate=opt.parity_isolate,
                        timeout=opt.parity_timeout)
