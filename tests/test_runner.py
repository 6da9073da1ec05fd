"""The worker pool isolates crashes, aborts, exceptions and hangs, and honours needs_own_process.

The misbehaving backends are test-only fakes from ``tests/fakes/crashing_backends.py``; each
run spawns real worker processes (one ``parity run`` per fixture, to keep the suite fast).
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable
from typing import Any

import pytest

from conftest import CRASHING_BACKENDS, HARNESS_BACKENDS, by_key, read_jsonl, read_report
from paritykit.cli.main import main

CASES = ("abs", "neg")
CRASH_BACKENDS = ("torch", "fake-segfault", "fake-abort", "fake-raise", "fake-hang")


@pytest.fixture(scope="module")
def crash_run(
    tmp_path_factory: pytest.TempPathFactory, registries: Callable[[], Any]
) -> dict[str, Any]:
    """One run of two cases on torch and the four misbehaving fakes, two workers, 5 s timeout."""
    root = tmp_path_factory.mktemp("crash")
    out, report = root / "out", root / "report.json"
    with registries():
        code = main([
            "run", *CASES, "-b", ",".join(CRASH_BACKENDS), "-p", str(CRASHING_BACKENDS),
            "--timeout", "5", "-j", "2", "--no-cache",
            "--artifact-dir", str(out), "--json", str(report),
        ])
    return {"code": code, "out": out, "results": by_key(read_report(report)["results"])}


def test_crash_run_fails_and_records_every_pair(crash_run: dict[str, Any]) -> None:
    assert crash_run["code"] == 1
    assert set(crash_run["results"]) == {(c, b) for c in CASES for b in CRASH_BACKENDS}


def test_reference_backend_unaffected_by_crashing_neighbours(crash_run: dict[str, Any]) -> None:
    for case in CASES:
        result = crash_run["results"][(case, "torch")]
        assert result["status"] == "PASS", result["message"]
        assert result["max_abs_error"] == 0.0


def test_segfault_is_crash_with_signal_name(crash_run: dict[str, Any]) -> None:
    for case in CASES:
        result = crash_run["results"][(case, "fake-segfault")]
        assert result["status"] == "CRASH"
        assert "SIGSEGV" in result["message"]
        assert result["message"].startswith(f"{case} @ fake-segfault:")
        assert "-b fake-segfault" in result["repro"]
        # The worker's log tail rides along: faulthandler's dump names the crashing function.
        assert "Segmentation fault" in result["traceback"]
        assert "prepare" in result["traceback"]


def test_abort_is_crash_with_sigabrt(crash_run: dict[str, Any]) -> None:
    for case in CASES:
        result = crash_run["results"][(case, "fake-abort")]
        assert result["status"] == "CRASH"
        assert "SIGABRT" in result["message"]


def test_exception_in_run_is_run_error_with_traceback(crash_run: dict[str, Any]) -> None:
    for case in CASES:
        result = crash_run["results"][(case, "fake-raise")]
        assert result["status"] == "RUN_ERROR"
        assert "boom-payload" in result["message"]
        assert "RuntimeError" in result["message"]
        assert "boom-payload" in result["traceback"]
        assert "crashing_backends.py" in result["traceback"]
        # An exception is reported by the worker itself, which also writes the pair's record.
        on_disk = pathlib.Path(result["artifact_dir"], "result.json")
        assert on_disk.is_file()


def test_hang_is_timeout(crash_run: dict[str, Any]) -> None:
    for case in CASES:
        result = crash_run["results"][(case, "fake-hang")]
        assert result["status"] == "TIMEOUT"
        assert "5 s" in result["message"]


def test_results_jsonl_has_one_line_per_result(crash_run: dict[str, Any]) -> None:
    lines = read_jsonl(crash_run["out"] / "results.jsonl")
    assert len(lines) == len(crash_run["results"])
    assert {k: r["status"] for k, r in by_key(lines).items()} == {
        k: r["status"] for k, r in crash_run["results"].items()
    }


def test_needs_own_process_never_shares_a_worker(tmp_path: pathlib.Path) -> None:
    """``fake-own-process`` runs in workers that no other backend ever uses, and vice versa."""
    cases = ("abs", "neg", "square")
    backends = ("torch", "fake-shared-pid", "fake-own-process")
    report = tmp_path / "report.json"
    code = main([
        "run", *cases, "-b", ",".join(backends), "-p", str(HARNESS_BACKENDS), "-j", "2",
        "--artifact-dir", str(tmp_path / "out"), "--json", str(report),
    ])
    results = by_key(read_report(report)["results"])
    assert code == 0
    assert {r["status"] for r in results.values()} == {"PASS"}
    own = [results[(c, "fake-own-process")]["stats"] for c in cases]
    shared = [results[(c, "fake-shared-pid")]["stats"] for c in cases]
    own_pids = {s["pid"] for s in own}
    shared_pids = {s["pid"] for s in shared}
    assert own_pids.isdisjoint(shared_pids)
    assert os.getpid() not in own_pids | shared_pids
    # Every process that ran fake-own-process prepared nothing else among the fakes ...
    assert all(s["prepared_here"] == ["fake-own-process"] for s in own)
    # ... and the shared workers never hosted it.
    assert all("fake-own-process" not in s["prepared_here"] for s in shared)
