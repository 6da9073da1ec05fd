"""``parity run --executor ray``: the same statuses as the local pool, crashes and hangs cost
their own results with the same messages, and a backend no node offers is SKIPPED.

One local Ray node is started inside the test on 127.0.0.1 (checked before any work is sent),
offering every backend but ``mlx`` through its custom resources, as a second machine without
MLX would; it is stopped at the end.
"""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

from conftest import SELECTIVE, SELECTIVE_CASES, SELECTIVE_FAILURES, read_report
from paritykit.cli.main import main
from paritykit.core.registry import BACKENDS
from paritykit.run.ray_executor import node_resources, resource_name

# Ray reads this when it is imported: a local node then registers 127.0.0.1.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
ray = pytest.importorskip("ray")
BACKENDS_RUN = ("torch", "torch-export", *SELECTIVE_FAILURES, "mlx")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    offers = {resource_name(b): 2.0 for b in BACKENDS_RUN if b != "mlx"}
    ray.init(num_cpus=2, resources=offers, include_dashboard=False, log_to_driver=False,
             configure_logging=False, _node_ip_address="127.0.0.1")
    try:
        assert {n["NodeManagerAddress"] for n in ray.nodes()} == {"127.0.0.1"}
        yield ray
    finally:
        ray.shutdown()


def _statuses(path: pathlib.Path) -> dict[tuple[str, str], tuple[str, str]]:
    return {(r["case"], r["backend"]): (r["status"], r["message"])
            for r in read_report(path)["results"]}


@pytest.mark.slow
def test_ray_gives_the_local_pools_results(cluster: Any, tmp_path: pathlib.Path) -> None:
    args = ["run", "-p", str(SELECTIVE), "-b", ",".join(BACKENDS_RUN), *SELECTIVE_CASES,
            "--timeout", "5", "-j", "2", "--no-cache"]
    main([*args, "--executor", "ray", "--artifact-dir", str(tmp_path / "ray"),
          "--json", str(tmp_path / "ray.json")])
    main(["run", "relu", "-b", "torch", "--executor", "ray", "--ray-keep-passes", "--no-cache",
          "--artifact-dir", str(tmp_path / "kept")])
    assert (tmp_path / "kept" / "relu" / "torch" / "result.json").is_file()
    main([*args, "--artifact-dir", str(tmp_path / "local"), "--json", str(tmp_path / "local.json")])
    on_ray, local = _statuses(tmp_path / "ray.json"), _statuses(tmp_path / "local.json")
    for (case, backend), (status, message) in on_ray.items():
        if backend == "mlx":  # the node offers no mlx
            assert status == "SKIPPED" and "no Ray node offers mlx" in message
            continue
        assert (status, message) == local[case, backend], (case, backend)
    for backend, (status, what) in SELECTIVE_FAILURES.items():
        assert on_ray["relu", backend] == (status, f"relu @ {backend}: {what}")
        assert all(on_ray[c, backend][0] == "PASS" for c in SELECTIVE_CASES if c != "relu")
    # A failure's files come back to the driver's artifact dir; a pass keeps none.
    crash = tmp_path / "ray" / "relu" / "fake-segv-some"
    assert (crash / "result.json").is_file() and (crash / "repro.txt").is_file()
    assert not (tmp_path / "ray" / "relu" / "torch").exists()


def test_a_node_advertises_the_backends_available_on_it(
        capsys: pytest.CaptureFixture[str]) -> None:
    offers = node_resources(4)
    assert offers == {f"parity:{b}": 4.0 for b in BACKENDS.available()}
    assert main(["backends", "--ray-resources"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed) == set(offers)
