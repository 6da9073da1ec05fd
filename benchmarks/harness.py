"""Measure paritykit's own costs and print the figures quoted in docs/performance.md.

1. Harness overhead per (case, backend) beyond the backend's own work, two ways:
   - in the worker: ``total_s - setup_s - prepare_s - run_s`` of each result (comparison,
     artifact files, bookkeeping), median over the run; ``setup_s`` (the case's own model and
     inputs plus the eager reference, computed once per case per worker) is printed apart;
   - end to end: the pool's wall time for the run minus worker start-up minus the backend's
     prepare + run, divided by the number of tasks (adds IPC and the parent's bookkeeping).
   Uses the ``torch`` backend, whose prepare is a no-op, so nearly all of it is harness.
2. Cold vs warm compiled-artifact cache: the same selection twice with an empty cache dir, then
   warm (torch's compile caches live in the same dir, so inductor warms too).
3. ``-j 1`` vs ``-j 2`` on the warm cache.

Usage::

    python benchmarks/harness.py                      # the whole built-in suite, every backend
    python benchmarks/harness.py -k "not conv3d" -b torch-export -b onnxruntime
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import tempfile
import time

from paritykit.core.cases import CASES
from paritykit.core.registry import BACKENDS
from paritykit.core.result import Result, summarize
from paritykit.run.plan import build_plan, filter_keyword
from paritykit.run.pool import Pool
from paritykit.run.worker import RunConfig, load_sources


def run(
    config: RunConfig, jobs: int, keyword: str | None, backends: list[str]
) -> tuple[float, list[Result]]:
    """Wall seconds of one run, and its results."""
    refs = filter_keyword(CASES.expand(), keyword)
    plan = build_plan(refs, backends, config.seed)
    start = time.perf_counter()
    results = Pool(config, jobs=jobs, timeout=600).run(plan.tasks, lambda r: None)
    return time.perf_counter() - start, results


def overhead(keyword: str | None, tmp: pathlib.Path) -> None:
    """Harness cost per (case, backend) on the no-op ``torch`` backend."""
    config = RunConfig(artifact_dir=str(tmp / "overhead"), cache_dir=None)
    refs = filter_keyword(CASES.expand(), keyword)
    tasks = build_plan(refs, ["torch"], config.seed).tasks
    stamps: list[float] = []
    results = Pool(config, jobs=1).run(tasks, lambda r: stamps.append(time.perf_counter()))
    in_worker = [r.total_s - (r.setup_s or 0) - (r.prepare_s or 0) - (r.run_s or 0)
                 for r in results if r.total_s]
    # From the first result to the last: worker start-up is excluded, IPC and the parent's
    # bookkeeping are included.
    work = sum((r.setup_s or 0) + (r.prepare_s or 0) + (r.run_s or 0) for r in results[1:])
    end_to_end = (stamps[-1] - stamps[0] - work) / max(1, len(results) - 1)
    setup = [r.setup_s or 0 for r in results]
    print(f"harness overhead, {len(results)} tasks on `torch`:")
    print(f"  in worker  median {1e3 * statistics.median(in_worker):.2f} ms   "
          f"p90 {1e3 * statistics.quantiles(in_worker, n=10)[-1]:.2f} ms per (case, backend)")
    print(f"  end to end mean   {1e3 * end_to_end:.2f} ms per (case, backend) "
          "(IPC and the parent included, worker start-up excluded)")
    print(f"  case setup (model, inputs, eager reference; shared by a case's backends) median "
          f"{1e3 * statistics.median(setup):.2f} ms")


def cache_and_jobs(keyword: str | None, backends: list[str], tmp: pathlib.Path) -> None:
    cache = tmp / "cache"
    def timed(name: str, jobs: int) -> tuple[float, list[Result]]:
        config = RunConfig(artifact_dir=str(tmp / name), cache_dir=str(cache))
        return run(config, jobs, keyword, backends)

    cold, results = timed("cold", 1)
    warm, _ = timed("warm", 1)
    j2, _ = timed("j2", 2)
    print(f"op suite, {len(results)} results on {', '.join(backends)}:")
    for backend, counts in summarize(results)["by_backend"].items():
        print(f"  {backend:14} " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    print(f"  cold cache -j 1 {cold:8.1f} s")
    print(f"  warm cache -j 1 {warm:8.1f} s   cold/warm {cold / warm:.2f}x")
    print(f"  warm cache -j 2 {j2:8.1f} s   -j1/-j2   {warm / j2:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", dest="keyword", help="select cases like parity run -k")
    parser.add_argument("-b", "--backend", action="append", default=[])
    parser.add_argument("--skip", choices=["overhead", "cache"], action="append", default=[])
    args = parser.parse_args()
    load_sources(RunConfig())
    backends = args.backend or BACKENDS.available()
    with tempfile.TemporaryDirectory(prefix="parity-bench-") as tmp:
        if "overhead" not in args.skip:
            overhead(args.keyword, pathlib.Path(tmp))
        if "cache" not in args.skip:
            cache_and_jobs(args.keyword, backends, pathlib.Path(tmp))


if __name__ == "__main__":
    main()
