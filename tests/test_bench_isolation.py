"""``parity bench`` isolates like every other route: a backend that crashes or hangs on SOME
programs costs exactly those rows (CRASH / TIMEOUT, in ``parity run``'s message grammar), its
other programs are still timed in a fresh worker, bench.json is written and the command exits 1
by itself without a traceback.

The misbehaving backends are the test-only fakes of ``tests/fakes/selective_crash_backends.py``:
they run ``relu`` wrong (SIGSEGV, abort, hang) and every other program right. One bench run
times all three, so the module pays for its worker start-ups once.
"""

from __future__ import annotations

import contextlib
import io
import json
import pathlib
from collections.abc import Callable
from typing import Any

import pytest

from conftest import SELECTIVE, SELECTIVE_CASES, SELECTIVE_FAILURES
from paritykit.cli.main import main

CASES = SELECTIVE_CASES
FAILURES = SELECTIVE_FAILURES


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory, registries: Callable[[], Any]
          ) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench")
    stdout, stderr = io.StringIO(), io.StringIO()
    with registries(), contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["bench", *CASES, "-b", ",".join(FAILURES), "-p", str(SELECTIVE),
                     "--timeout", "5", "--budget", "0.05", "--artifact-dir", str(out)])
        from paritykit.core.cases import CASES as REGISTRY
        from paritykit.core.cases import select

        order = [r.id for r in select(REGISTRY.expand(), CASES)]
    path = out / "bench.json"
    return {"code": code, "out": stdout.getvalue(), "err": stderr.getvalue(), "path": path,
            "doc": json.loads(path.read_text()) if path.is_file() else None, "order": order}


@pytest.mark.slow
def test_the_run_finishes_by_itself_with_exit_1_and_no_traceback(bench: dict[str, Any]) -> None:
    assert bench["code"] == 1, bench["out"] + bench["err"]
    assert "Traceback" not in bench["out"] + bench["err"]
    assert bench["doc"] is not None, "bench.json not written"
    assert "3 program(s) crashed or timed out" in bench["out"]
    # The victim is timed first: what follows it on its backend needs a fresh worker.
    assert bench["order"][0] == "relu"


@pytest.mark.slow
@pytest.mark.parametrize("backend", sorted(FAILURES))
def test_only_the_failing_program_is_lost(backend: str, bench: dict[str, Any]) -> None:
    from paritykit.files.bench import BenchRun

    run = BenchRun.from_dict(bench["doc"], str(bench["path"]))  # still a valid file
    status, what = FAILURES[backend]
    failures = {f.case: f for f in run.failures if f.backend == backend}
    assert set(failures) == {"relu"}, failures
    victim = failures["relu"]
    assert (victim.status, victim.variant) == (status, "optimized"), victim.message
    assert victim.message == f"relu @ {backend}: {what}"
    assert f"{status}: relu @ {backend}: {what}" in bench["out"]
    rows = {r.case: r for r in run.rows if r.backend == backend}
    assert set(rows) == set(CASES[1:])
    for row in rows.values():
        assert row.status == "PASS" and row.repeats >= 10 and row.median_s > 0
    references = {r.case for r in run.rows if r.variant == "reference"}
    assert references == set(CASES)


def test_a_harmless_backend_exits_0(tmp_path: pathlib.Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    """The fakes are right on every other program: no crash, no exit 1."""
    code = main(["bench", "linear_nobias", "-b", "fake-segv-some", "-p", str(SELECTIVE),
                 "--budget", "0.02", "--artifact-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "crashed or timed out" not in out
