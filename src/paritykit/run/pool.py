"""Running tasks on a pool of worker processes that a crash or a hang cannot take down.

Each worker is a spawned process that owns one pipe. The parent hands a task to an idle worker
and waits on every pipe and process sentinel at once; a worker that dies mid-task yields CRASH
(with the signal), one that overruns ``timeout`` is killed and yields TIMEOUT, and in both cases
a fresh worker takes its place. Backends with ``needs_own_process`` get workers of their own.
"""

from __future__ import annotations

import contextlib
import faulthandler
import itertools
import multiprocessing
import multiprocessing.connection
import os
import pathlib
import signal
import sys
import time
import traceback
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from paritykit.core.errors import ParityError
from paritykit.core.registry import BACKENDS
from paritykit.core.result import Result, Status
from paritykit.files.artifacts import backend_dir
from paritykit.run.attempt import error_message
from paritykit.run.plan import CallTask, Task
from paritykit.run.worker import RunConfig, Worker, init_process, record_files

OnResult = Callable[[Result], None]


def _redirect_output(log: str) -> None:
    # Framework chatter (warnings, native prints) goes to the worker's log, not the console;
    # the tail of it is attached to a CRASH result.
    pathlib.Path(log).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    faulthandler.enable()  # a segfault leaves the Python stack in the log


def _worker_main(conn: multiprocessing.connection.Connection, config: RunConfig,
                 log: str) -> None:
    # The parent owns Ctrl-C (it stops the run and kills its workers); so in a worker a
    # KeyboardInterrupt can only come from code, and costs that code's result.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _redirect_output(log)
    try:
        init_process(config)
        worker = Worker(config)
    except BaseException as exc:
        conn.send(("init_error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", None))
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        payload: Any
        try:
            value = worker.run(task)
            payload = value if isinstance(task, CallTask) else value.to_dict()
        except BaseException as exc:
            payload = _harness_error(task, config, exc)
        conn.send(("result", payload))


def _harness_error(task: Task, config: RunConfig, exc: BaseException) -> Any:
    """The value of a task whose run raised past every stage: a full result all the same
    (repro, fingerprint, result.json), so ``--resume`` keeps it like any other."""
    detail = "".join(traceback.format_exception(exc))
    if isinstance(task, CallTask) and task.on_lost is not None:
        return task.on_lost(Status.RUN_ERROR, f"{type(exc).__name__}: {exc}", detail)
    failed = task_failure(task, config, Status.RUN_ERROR,
                          error_message(task.case, task.backend, "harness error", exc), detail)
    return failed if isinstance(task, CallTask) else failed.to_dict()


def task_failure(task: Task, config: RunConfig, status: Status, message: str,
                 detail: str) -> Result:
    """The Result of a task that ended without one of its own (crash, timeout, harness error):
    with its repro and fingerprint, and for a case task its ``result.json`` written."""
    repro = task.repro if isinstance(task, CallTask) else config.repro(task.case, task.backend)
    result = Result(task.case, task.backend, status, base=task.base, message=message,
                    repro=repro, fingerprint=config.fingerprint, traceback=detail)
    if not isinstance(task, CallTask):
        with contextlib.suppress(OSError):
            record_files(result, backend_dir(pathlib.Path(config.artifact_dir), task.case,
                                             task.backend))
    return result


@dataclass
class _Proc:
    process: Any
    conn: multiprocessing.connection.Connection
    group: str
    log: pathlib.Path
    ready: bool = False
    task: Task | None = None
    started: float = 0.0


def _tail(log: pathlib.Path, lines: int = 40) -> str:
    try:
        text = log.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join([f"last lines of {log}:", *text[-lines:]])


def exit_description(exitcode: int | None) -> str:
    """``killed by signal SIGSEGV`` / ``exited with status 3``."""
    if exitcode is None:
        return "exited"
    if exitcode < 0:
        try:
            return f"killed by signal {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exited with status {exitcode}"


#: How long idle workers get to exit of their own accord before they are killed.
RETIRE_S = 10.0

#: Worker log numbers, shared by every Pool of this process.
_LOG_NUMBERS = itertools.count(1)


@dataclass
class Pool:
    """Worker processes for one run; use :meth:`run`.

    ``persistent`` keeps idle workers between :meth:`run` calls (a pytest session sends one
    task at a time); the owner calls :meth:`close`. A worker that crashed or hung is replaced
    either way.

        >>> pool = Pool(RunConfig(), jobs=2)            # doctest: +SKIP
        >>> results = pool.run(plan.tasks, print)        # doctest: +SKIP
    """

    config: RunConfig
    jobs: int = 1
    timeout: float = 600.0
    persistent: bool = False
    _procs: list[_Proc] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._ctx = multiprocessing.get_context("spawn")

    def _spawn(self, group: str) -> _Proc:
        parent, child = self._ctx.Pipe()
        # Named by this process and a count over every pool in it: eval starts a pool per job and
        # pytest-xdist runs a pool per xdist worker, all on one artifact directory.
        log = pathlib.Path(self.config.artifact_dir, "logs",
                           f"worker-{os.getpid()}-{next(_LOG_NUMBERS)}.log")
        log.unlink(missing_ok=True)
        process = self._ctx.Process(target=_worker_main, args=(child, self.config, str(log)),
                                    daemon=True, name=f"parity-worker-{group or 'shared'}")
        process.start()
        child.close()
        proc = _Proc(process, parent, group, log)
        self._procs.append(proc)
        return proc

    def _kill(self, proc: _Proc) -> None:
        if proc.process.is_alive():
            proc.process.kill()
        proc.process.join(5)
        proc.conn.close()
        self._procs.remove(proc)

    def close(self) -> None:
        """Stop every worker: idle ones are asked to exit, busy ones (on KeyboardInterrupt)
        are killed."""
        self._retire([p for p in self._procs if p.task is None])
        for proc in list(self._procs):
            self._kill(proc)

    def _retire(self, procs: list[_Proc]) -> None:
        """Ask idle workers to exit and wait up to ``RETIRE_S`` for them; kill the rest.

        An exit of its own lets a worker run its finalizers: a killed worker leaves the
        semaphores its libraries made registered, and the resource tracker warns about
        them ("leaked semaphore objects") at the end of the run.
        """
        for proc in procs:
            if proc.process.is_alive():
                with contextlib.suppress(OSError):
                    proc.conn.send(None)
        deadline = time.monotonic() + RETIRE_S
        for proc in procs:
            proc.process.join(max(0.0, deadline - time.monotonic()))
            self._kill(proc)

    def run(self, tasks: Iterable[Task], on_result: OnResult) -> list[Result]:
        """Run ``tasks``; ``on_result`` sees each Result as soon as it exists."""
        tasks = list(tasks)  # read twice below; a generator would be empty the second time
        known = set(BACKENDS.names())  # a CallTask may name no backend ("-", "torch eager")
        groups = {t.backend: (t.backend if t.backend in known
                              and BACKENDS.get(t.backend).needs_own_process else "")
                  for t in tasks}
        pending: deque[Task] = deque(tasks)
        need = Counter(groups[t.backend] for t in tasks)  # pending tasks per worker group
        results: list[Result] = []

        def emit(result: Result) -> None:
            results.append(result)
            on_result(result)

        try:
            while pending or any(p.task for p in self._procs):
                self._dispatch(pending, groups, need)
                self._wait(emit)
        finally:
            if not self.persistent:
                self.close()
        return results

    def call(self, task: CallTask) -> Any:
        """Run one CallTask in a worker and return its value (or ``on_lost``'s)."""
        values: list[Any] = []
        self.run([task], values.append)
        return values[0]

    def _dispatch(self, pending: deque[Task], groups: dict[str, str], need: Counter[str]) -> None:
        for proc in self._procs:
            if proc.ready and proc.task is None and need[proc.group]:
                task = next(t for t in pending if groups[t.backend] == proc.group)
                pending.remove(task)
                need[proc.group] -= 1
                proc.task, proc.started = task, time.monotonic()
                proc.conn.send(task)
        for group, count in need.items():
            if not count:
                continue
            free = sum(p.group == group and p.task is None for p in self._procs)
            while free < count:
                if len(self._procs) >= self.jobs:
                    idle = [p for p in self._procs if p.task is None and not need[p.group]]
                    if not idle:
                        break
                    self._retire(idle[:1])
                self._spawn(group)
                free += 1

    def _wait(self, emit: OnResult) -> None:
        now = time.monotonic()
        deadlines = [p.started + self.timeout - now for p in self._procs if p.task]
        wait_for = max(0.0, min(deadlines)) if deadlines else None
        handles: list[Any] = [p.conn for p in self._procs] + [p.process.sentinel
                                                               for p in self._procs]
        ready = set(multiprocessing.connection.wait(handles, timeout=wait_for))
        for proc in list(self._procs):
            if proc.conn in ready:
                try:
                    kind, payload = proc.conn.recv()
                except (EOFError, OSError):
                    kind, payload = "dead", None
                if kind == "ready":
                    proc.ready = True
                elif kind == "result":
                    called, proc.task = isinstance(proc.task, CallTask), None
                    emit(payload if called else Result.from_dict(payload))
                elif kind == "init_error":
                    self._kill(proc)
                    raise ParityError(f"a worker process could not start: {payload}")
                if kind != "dead":
                    continue
            if proc.process.sentinel in ready or not proc.process.is_alive():
                proc.process.join(1)
                self._lost(proc, emit, Status.CRASH,
                           f"worker process {exit_description(proc.process.exitcode)}")
            elif proc.task and time.monotonic() - proc.started > self.timeout:
                self._lost(proc, emit, Status.TIMEOUT,
                           f"no result after {self.timeout:g} s; worker killed")

    def _lost(self, proc: _Proc, emit: OnResult, status: Status, what: str) -> None:
        task = proc.task
        if task is None and not proc.ready:
            self._kill(proc)
            raise ParityError(f"a worker process could not start: it {what}")
        self._kill(proc)
        if isinstance(task, CallTask) and task.on_lost is not None:
            emit(task.on_lost(status, what, _tail(proc.log)))
        elif task is not None:
            emit(task_failure(task, self.config, status, f"{task.case} @ {task.backend}: {what}",
                              _tail(proc.log)))
