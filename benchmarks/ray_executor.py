"""Measure the Ray executor against the local pool and print the figures in docs/scale-out.md.

1. Per-task overhead: the same tasks (the ``torch`` backend, whose prepare is a no-op) through
   the local pool and through Ray, both with one worker; from the first result to the last, so
   worker and actor start-up are left out; the difference per task is Ray's cost.
2. Speed-up of two Ray actors over one on this node, on ``--backend`` (default ``inductor``:
   seconds of compilation per task, so the run is work, not start-up).

A local Ray node is started here on 127.0.0.1 and stopped at the end.

Usage::

    python benchmarks/ray_executor.py                 # -k "relu or abs or neg or exp or log"
    python benchmarks/ray_executor.py -k "not conv3d"
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import tempfile
import time

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

import ray  # after the variable above, which makes a local node bind 127.0.0.1

from paritykit.core.cases import CASES
from paritykit.run.plan import Task, build_plan, filter_keyword
from paritykit.run.pool import Pool
from paritykit.run.ray_executor import RayExecutor, node_resources
from paritykit.run.worker import RunConfig, load_sources


def timed(executor: Pool | RayExecutor, tasks: list[Task]) -> tuple[float, float]:
    """(wall from start, wall from the first result to the last) of one run."""
    stamps: list[float] = []
    start = time.perf_counter()
    executor.run(tasks, lambda r: stamps.append(time.perf_counter()))
    return stamps[-1] - start, stamps[-1] - stamps[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", default="relu or abs or neg or exp or log or sigmoid or tanh")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", default="inductor", help="backend of the speed-up run")
    parser.add_argument("--work", type=int, default=150,
                        help="configs of the speed-up run: the suite's first N (default 150)")
    args = parser.parse_args()
    load_sources(RunConfig())
    ray.init(num_cpus=2, resources=node_resources(2), include_dashboard=False,
             log_to_driver=False, configure_logging=False, _node_ip_address="127.0.0.1")
    assert {n["NodeManagerAddress"] for n in ray.nodes()} == {"127.0.0.1"}
    refs = filter_keyword(CASES.expand(), args.k)
    with tempfile.TemporaryDirectory() as tmp:
        config = RunConfig(artifact_dir=str(pathlib.Path(tmp, "out")), cache_dir=None)
        tasks = build_plan(refs, ["torch"], 0).tasks
        n = len(tasks) - 1
        pool = [timed(Pool(config, jobs=1), tasks)[1] / n for _ in range(args.repeat)]
        on_ray = [timed(RayExecutor(config, jobs=1), tasks)[1] / n for _ in range(args.repeat)]
        print(f"{len(tasks)} torch tasks, median of {args.repeat}: local pool "
              f"{statistics.median(pool) * 1e3:.2f} ms/task, Ray "
              f"{statistics.median(on_ray) * 1e3:.2f} ms/task, Ray costs "
              f"{(statistics.median(on_ray) - statistics.median(pool)) * 1e3:+.2f} ms/task")
        work = build_plan(CASES.expand()[:args.work], [args.backend], 0).tasks
        for label, index in (("from the start", 0), ("first result to last", 1)):
            one = [timed(RayExecutor(config, jobs=1), work)[index] for _ in range(args.repeat)]
            two = [timed(RayExecutor(config, jobs=2), work)[index] for _ in range(args.repeat)]
            print(f"{len(work)} {args.backend} tasks, median wall of {args.repeat} ({label}): "
                  f"1 actor {statistics.median(one):.1f} s, 2 actors "
                  f"{statistics.median(two):.1f} s, speed-up "
                  f"{statistics.median(one) / statistics.median(two):.2f}x")
    ray.shutdown()


if __name__ == "__main__":
    main()
