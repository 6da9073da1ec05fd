"""Running one (case, backend) pair for a pytest item through the same core as ``parity run``.

Planning (unavailable backend, expectations skip entry, UNSUPPORTED) uses
:func:`paritykit.run.plan.build_plan`; running uses a :class:`paritykit.run.pool.Pool` kept for the
whole session: a backend that segfaults, aborts or hangs costs its own item only (CRASH /
TIMEOUT, ``parity run``'s messages). ``--parity-in-process`` runs items in the pytest process
with :class:`paritykit.run.worker.Worker` instead, except for backends that ``needs_own_process``.
Every result is appended to ``ARTIFACT_DIR/results.jsonl`` with
:func:`paritykit.files.results.append_result`, so ``parity`` reports can read it.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from paritykit.core.cases import CaseRef
    from paritykit.core.expectations import ExpectationSet
    from paritykit.core.result import Result
    from paritykit.run.plan import CallTask, Task
    from paritykit.run.pool import Pool
    from paritykit.run.worker import RunConfig, Worker


@dataclass
class ParityRunner:
    """Per pytest process: the run config, expectations, the worker pool and, when items run
    here, the in-process worker."""

    config: RunConfig
    expectations: ExpectationSet
    in_process: bool = False
    timeout: float = 600.0
    _worker: Worker | None = None
    _pool: Pool | None = None
    _roots: tuple[str, ...] | None = None

    @property
    def results_path(self) -> pathlib.Path:
        """Where every result of the session is appended."""
        return pathlib.Path(self.config.artifact_dir, "results.jsonl")

    def run(self, ref: CaseRef, backend: str) -> Result:
        """Plan, run and apply expectations for one pair; the result is also recorded."""
        from paritykit.files.results import append_result
        from paritykit.run.plan import build_plan

        plan = build_plan([ref], [backend], self.config.seed, expectations=self.expectations)
        if plan.decided:
            result = plan.decided[0]
        elif self._isolated(backend, ref.cls):
            result = self._in_pool(plan.tasks[0])
        else:
            result = self._local().run(plan.tasks[0])
        result = self.expectations.apply(result)
        append_result(self.results_path, result)
        return result

    def call(self, task: CallTask) -> Result:
        """A CallTask (a JSON test definition) run where an item on its backend would run."""
        if self._isolated(task.backend):
            return self._in_pool(task)
        value: Result = task.invoke()
        return value

    def _isolated(self, backend: str, case: type | None = None) -> bool:
        from paritykit.core.registry import BACKENDS

        instance = BACKENDS.get(backend)
        if instance.needs_own_process:
            return True
        if self.in_process:
            return False
        if self._roots is None:
            self._roots = worker_modules(self.config)
        return all(_within(c.__module__, self._roots)
                   for c in (type(instance), case) if c is not None)

    def _local(self) -> Worker:
        if self._worker is None:
            from paritykit.run.worker import Worker, init_process

            init_process(self.config)
            self._worker = Worker(self.config)
        return self._worker

    def _in_pool(self, task: Task) -> Result:
        from paritykit.core.errors import ParityError
        from paritykit.core.result import Result, Status
        from paritykit.run.pool import Pool

        if self._pool is None:
            # One worker shared by every backend, one for a backend that needs its own
            # process; idle workers stay for the next item until close().
            self._pool = Pool(self.config, jobs=2, timeout=self.timeout, persistent=True)
        try:
            return self._pool.run([task], lambda _: None)[0]
        except ParityError as exc:  # a worker that cannot start: this item's failure
            return Result(task.case, task.backend, Status.RUN_ERROR, base=task.base,
                          message=f"{task.case} @ {task.backend}: {exc}")

    def close(self) -> None:
        """Stop the worker processes, if any."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None


def worker_modules(config: RunConfig) -> tuple[str, ...]:
    """The modules (and their submodules) a worker process imports, so registers the cases and
    backends of: paritykit, the suites, the backend entry points and the ``--parity-plugin``
    files and modules. A ``conftest.py`` or test module is not among them: only pytest imports
    those, so their cases and backends run in the pytest process."""
    import importlib.metadata

    from paritykit.core.registry import ENTRY_POINT_GROUP

    return ("paritykit", *config.suites,
            *(ep.module for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)),
            *(p for p in config.plugins if not p.endswith(".py")))


def _within(module: str, roots: tuple[str, ...]) -> bool:
    # load_plugin imports a plugin file as paritykit_plugin_<its path>; the pytest process loads
    # only the --parity-plugin files, which the workers load too.
    return (module.startswith("paritykit_plugin_")
            or any(module == root or module.startswith(root + ".") for root in roots))


def make_runner(pytest_config: Any) -> ParityRunner:
    """A runner from the ``--parity-*`` options (expectation files validated here)."""
    from paritykit.core.errors import ParityError
    from paritykit.core.expectations import ExpectationSet
    from paritykit.pytest.options import load, usage_error

    run_config = load(pytest_config)
    opt = pytest_config.option
    try:
        expectations = (ExpectationSet() if opt.parity_no_expectations
                        else ExpectationSet.load(opt.parity_expectations))
    except ParityError as exc:
        raise usage_error(str(exc)) from None
    return ParityRunner(run_config, expectations, in_process=opt.parity_in_process,
                        timeout=opt.parity_timeout)
