"""Running a plan on a Ray cluster: the second executor beside the local pool.

Ray places the work; isolation stays paritykit's own. Each Ray actor is long-lived, pinned to
one node, and runs its tasks through a persistent local :class:`~paritykit.run.pool.Pool` of one
worker process there. So a backend that segfaults or hangs costs its one result with the local
pool's messages (``worker process killed by signal SIGSEGV``, ``no result after N s``), the
actor carries on with a fresh worker, and the worker keeps one case's setup for its backends.

Placement: a node offers backend B by advertising the Ray custom resource ``parity:B`` (``ray
start --resources "$(parity backends --ray-resources)"``; a local cluster started here offers
every backend available here). A task for B goes only to an actor on a node that offers B; a
backend no node offers is SKIPPED with that reason, never an infeasible task. Nothing is
retried: a retried segfault is still a segfault.

Files: an actor works in a node-local scratch directory; the files of a failed result (and of
a pass, with ``keep_passes``) come back to the driver's artifact directory with the result.
Each node keeps its own compiled-artifact cache at the run's cache path.

Example::

    RayExecutor(config, jobs=4, timeout=600).run(plan.tasks, on_result)
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import shutil
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from paritykit.core.errors import ParityError
from paritykit.core.registry import BACKENDS
from paritykit.core.result import Result, Status
from paritykit.files.artifacts import backend_dir, case_dir
from paritykit.run.plan import Task
from paritykit.run.pool import Pool, task_failure
from paritykit.run.worker import RunConfig, record_files

OnResult = Callable[[Result], None]
RESOURCE_PREFIX = "parity:"
#: Beyond ``timeout``: the actor's own pool kills a hung worker at ``timeout``; only an actor
#: that itself stops answering is killed from here, this much later.
GRACE_S = 60.0
#: A local cluster must listen on the loopback interface only.
LOOPBACK = "127.0.0.1"


def resource_name(backend: str) -> str:
    """The Ray custom resource that says a node can run ``backend``.

    >>> resource_name("iree")
    'parity:iree'
    """
    return RESOURCE_PREFIX + backend


def node_resources(cpus: int | None = None) -> dict[str, float]:
    """What this machine offers a cluster: ``parity:B`` for every backend available here, as
    many units as CPUs (an actor takes one unit of its node's CPU, none of these)."""
    count = float(cpus or os.cpu_count() or 1)
    return {resource_name(b): count for b in BACKENDS.available()}


class NodeWorker:
    """The body of one Ray actor: a persistent one-process pool in a node-local directory."""

    def __init__(self, config: RunConfig, timeout: float) -> None:
        self.root = pathlib.Path(tempfile.mkdtemp(prefix="parity-ray-"))
        self.config = dataclasses.replace(config, artifact_dir=str(self.root))
        self.pool = Pool(self.config, jobs=1, timeout=timeout, persistent=True)

    def run(self, task: Task, keep: bool) -> tuple[dict[str, Any], dict[str, bytes]]:
        """One task; its result and, unless it passed (or ``keep``), its files by path."""
        (result,) = self.pool.run([task], lambda _: None)
        files: dict[str, bytes] = {}
        if keep or result.status is not Status.PASS:
            files = _collect(self.root, task)
        shutil.rmtree(backend_dir(self.root, task.case, task.backend), ignore_errors=True)
        return result.to_dict(), files

    def close(self) -> None:
        """Stop the pool's worker and remove the scratch directory."""
        self.pool.close()
        shutil.rmtree(self.root, ignore_errors=True)


def _collect(root: pathlib.Path, task: Task) -> dict[str, bytes]:
    files = {}
    case = case_dir(root, task.case)
    for path in [*case.glob("*.safetensors"), *backend_dir(root, task.case,
                                                             task.backend).rglob("*")]:
        if path.is_file():
            files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


@dataclass
class _Actor:
    handle: Any
    node: str
    offers: frozenset[str]
    case: str = ""
    task: Task | None = None
    future: Any = None
    started: float = 0.0


@dataclass
class RayExecutor:
    """Tasks on a Ray cluster, with :class:`~paritykit.run.pool.Pool`'s ``run`` interface.

    ``address`` is ``auto`` (an existing cluster, else a local one on 127.0.0.1) or a
    cluster's address; a Ray connection this process already has is used as it is. ``jobs``
    actors are spread over the nodes (at most one per CPU of a node).
    """

    config: RunConfig
    jobs: int = 1
    timeout: float = 600.0
    address: str = "auto"
    keep_passes: bool = False

    def run(self, tasks: Iterable[Task], on_result: OnResult) -> list[Result]:
        """Run ``tasks``; ``on_result`` sees each Result as it comes back."""
        ray, started_here = _connect(self.address, self.jobs)
        results: list[Result] = []

        def emit(result: Result) -> None:
            results.append(result)
            on_result(result)

        actors: list[_Actor] = []
        try:
            alive = [n for n in ray.nodes() if n["Alive"]]
            nodes = _nodes(alive)
            offered = set().union(*nodes.values()) if nodes else set()
            pending: deque[Task] = deque()
            for task in tasks:
                if task.backend in offered:
                    pending.append(task)
                else:
                    emit(self._unplaced(task))
            actors = [self._spawn(ray, node, nodes[node]) for node in
                      _spread(alive, nodes, self.jobs, {t.backend for t in pending})]
            while pending or any(a.task for a in actors):
                self._dispatch(pending, actors)
                self._collect_one(ray, actors, emit)
        finally:
            _stop(ray, actors)
            if started_here:
                ray.shutdown()
        return results

    def _unplaced(self, task: Task) -> Result:
        return Result(task.case, task.backend, Status.SKIPPED, base=task.base,
                      message=f"{task.case} @ {task.backend}: skipped: no Ray node offers "
                              f"{task.backend} (a node runs it when started with the resource "
                              f"{resource_name(task.backend)}: see `parity backends "
                              "--ray-resources`)",
                      fingerprint=self.config.fingerprint)

    def _spawn(self, ray: Any, node: str, offers: frozenset[str]) -> _Actor:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        remote = ray.remote(NodeWorker).options(
            num_cpus=1, max_restarts=0, max_task_retries=0,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False))
        return _Actor(remote.remote(self.config, self.timeout), node, offers)

    def _dispatch(self, pending: deque[Task], actors: list[_Actor]) -> None:
        for actor in actors:
            if actor.task is not None:
                continue
            fits = [t for t in pending if t.backend in actor.offers]
            if not fits:
                continue
            task = next((t for t in fits if t.case == actor.case), fits[0])
            pending.remove(task)
            actor.task, actor.case, actor.started = task, task.case, time.monotonic()
            actor.future = actor.handle.run.remote(task, self.keep_passes)

    def _collect_one(self, ray: Any, actors: list[_Actor], emit: OnResult) -> None:
        busy = [a for a in actors if a.task is not None]
        if not busy:
            return
        limit = self.timeout + GRACE_S
        wait_s = max(0.0, min(a.started + limit - time.monotonic() for a in busy))
        ready, _ = ray.wait([a.future for a in busy], num_returns=1, timeout=wait_s)
        for actor in busy:
            task = actor.task
            assert task is not None
            if actor.future in ready:
                emit(self._received(ray, actor, task, actors))
            elif time.monotonic() - actor.started > limit:
                self._replace(ray, actor, actors)
                emit(task_failure(task, self.config, Status.TIMEOUT,
                                  f"{task.case} @ {task.backend}: no result after "
                                  f"{limit:g} s; Ray actor killed", ""))

    def _received(self, ray: Any, actor: _Actor, task: Task, actors: list[_Actor]) -> Result:
        from ray.exceptions import RayError

        try:
            row, files = ray.get(actor.future)
        except RayError as exc:  # the actor itself died (its pool's worker could not)
            self._replace(ray, actor, actors)
            return task_failure(task, self.config, Status.CRASH,
                                f"{task.case} @ {task.backend}: Ray actor on node "
                                f"{actor.node[:8]} died ({type(exc).__name__})", str(exc))
        actor.task = actor.future = None
        return self._landed(Result.from_dict(row), files)

    def _landed(self, result: Result, files: dict[str, bytes]) -> Result:
        """The result with its files written under the driver's artifact directory."""
        root = pathlib.Path(self.config.artifact_dir)
        for name, data in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        outdir = backend_dir(root, result.case, result.backend)
        if result.artifact:
            result.artifact = str(outdir / pathlib.Path(result.artifact).name)
        if files:
            return record_files(result, outdir)
        result.artifact_dir = None
        return result

    def _replace(self, ray: Any, actor: _Actor, actors: list[_Actor]) -> None:
        ray.kill(actor.handle, no_restart=True)
        actors[actors.index(actor)] = self._spawn(ray, actor.node, actor.offers)


def _connect(address: str, jobs: int) -> tuple[Any, bool]:
    """Ray, connected; True when this call started a local cluster (and must stop it)."""
    # Read when Ray is imported: a local node then registers 127.0.0.1, not the outward
    # interface (checked below before any work is sent).
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise ParityError("--executor ray needs Ray: pip install 'paritykit[ray]'") from None
    if ray.is_initialized():
        return ray, False
    quiet: dict[str, Any] = dict(include_dashboard=False, log_to_driver=False,
                                 configure_logging=False)
    if address != "auto":
        try:
            ray.init(address=address, **quiet)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ParityError(f"--ray-address {address}: cannot connect ({exc})") from None
        return ray, False
    try:
        ray.init(address="auto", **quiet)
        return ray, False
    except (ConnectionError, RuntimeError, ValueError):
        pass
    # A local cluster: listening on the loopback interface only, offering what runs here.
    ray.init(num_cpus=max(jobs, 1), resources=node_resources(max(jobs, 1)),
             _node_ip_address=LOOPBACK, **quiet)
    bound = {n["NodeManagerAddress"] for n in ray.nodes()}
    if bound != {LOOPBACK}:
        ray.shutdown()
        raise ParityError(f"the local Ray node registered {', '.join(sorted(bound))}, not "
                          f"{LOOPBACK}; start a cluster yourself and pass --ray-address")
    return ray, True


def _nodes(alive: list[dict[str, Any]]) -> dict[str, frozenset[str]]:
    """The backends each alive node (from ``ray.nodes()``) offers."""
    return {n["NodeID"]: frozenset(k.removeprefix(RESOURCE_PREFIX) for k in n["Resources"]
                                   if k.startswith(RESOURCE_PREFIX))
            for n in alive}


def _spread(alive: list[dict[str, Any]], nodes: dict[str, frozenset[str]], jobs: int,
            wanted: set[str]) -> list[str]:
    """Which node each of the ``jobs`` actors goes to: round robin over the nodes that offer a
    wanted backend, at most one actor per CPU of a node."""
    cpus = {n["NodeID"]: int(n["Resources"].get("CPU", 1)) for n in alive}
    useful = [n for n, offers in nodes.items() if offers & wanted]
    placed: list[str] = []
    while len(placed) < jobs and useful:
        for node in list(useful):
            if len(placed) >= jobs:
                break
            if placed.count(node) >= max(cpus.get(node, 1), 1):
                useful.remove(node)
                continue
            placed.append(node)
    return placed


def _stop(ray: Any, actors: list[_Actor]) -> None:
    """Let each actor stop its worker (it exits on its own), then remove the actors."""
    closing = [a.handle.close.remote() for a in actors if a.task is None]
    if closing:
        ray.wait(closing, num_returns=len(closing), timeout=15)
    for actor in actors:
        ray.kill(actor.handle, no_restart=True)
