"""The pytest plugin runs items in worker processes by default: a backend that segfaults,
aborts or hangs on one case costs that item only, with ``parity run``'s message, also under
pytest-xdist, and the JUnit file and exit code say so.

The backends are the test-only fakes of ``tests/fakes/selective_crash_backends.py``: they fail
on ``relu`` and compute every other case right.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from conftest import (
    HARNESS_BACKENDS,
    SELECTIVE,
    SELECTIVE_CASES,
    SELECTIVE_FAILURES,
)
from test_pytest_plugin import run

pytest_plugins = ["pytester"]

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples" / "json"
CASES = SELECTIVE_CASES
VICTIM = CASES[0]


@pytest.mark.slow
@pytest.mark.parametrize(("backend", "xdist"), [
    ("fake-segv-some", False), ("fake-segv-some", True), ("fake-abort-some", False),
    ("fake-hang-some", False),
], ids=["segv", "segv-xdist", "abort", "hang"])
def test_a_crash_or_hang_costs_its_own_item(pytester: pytest.Pytester, backend: str,
                                             xdist: bool) -> None:
    status, what = SELECTIVE_FAILURES[backend]
    junit = pytester.path / "out.xml"
    result = run(pytester, *(["-n", "2"] if xdist else []), "--parity-backend", backend,
                 f"--parity-plugin={SELECTIVE}", "--parity-cases", ",".join(CASES),
                 "--parity-timeout", "5", f"--junitxml={junit}")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=len(CASES) - 1, failed=1)
    message = f"{VICTIM} @ {backend}: {what}"
    result.stdout.fnmatch_lines([message, f"status: {status}"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()

    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    assert set(cases) == {f"test_parity[{c}-{backend}]" for c in CASES}
    failure = cases[f"test_parity[{VICTIM}-{backend}]"].find("failure")
    assert failure is not None
    assert failure.get("message", "").splitlines()[0] == message
    for case in CASES[1:]:
        assert not list(cases[f"test_parity[{case}-{backend}]"]), case  # passed
    lines = (pytester.path / "parity-out" / "results.jsonl").read_text().splitlines()
    statuses = {json.loads(x)["case"]: json.loads(x)["status"] for x in lines}
    assert statuses == {VICTIM: status, **{c: "PASS" for c in CASES[1:]}}


@pytest.mark.slow
def test_a_json_definition_that_crashes_costs_its_own_item(pytester: pytest.Pytester) -> None:
    """JSON test definitions run in the same worker processes as parity items."""
    defs = pytester.path / "defs"
    for name in ("mlp_quality.json", "pk_json_models.py", "modules/mlp.json", "data/mlp_x.npy",
                 "data/mlp.safetensors", "data/mlp_expected.npy"):
        (defs / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(EXAMPLES / name, defs / name)
    # the fakes crash on programs named relu*: the same definition under such a name
    shutil.copy(defs / "mlp_quality.json", defs / f"{VICTIM}_mlp_quality.json")
    junit = pytester.path / "out.xml"
    result = run(pytester, f"--test-file-directory={defs}", "--parity-backend=fake-segv-some",
                 f"--parity-plugin={SELECTIVE}", f"--artifact-directory={pytester.path / 'art'}",
                 f"--junitxml={junit}", str(defs))
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, failed=1)
    message = (f"CRASH: {VICTIM}_mlp_quality @ fake-segv-some: worker process killed by signal "
               "SIGSEGV")
    result.stdout.fnmatch_lines([message])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    failures = [c.find("failure") for c in ET.parse(junit).getroot().iter("testcase")]
    assert [f.get("message") for f in failures if f is not None] == [message]


def test_in_process_runs_items_in_the_pytest_process(pytester: pytest.Pytester) -> None:
    """``--parity-in-process``: items share pytest's pid; a needs_own_process backend does not."""
    result = run(pytester, "--parity-backend", "fake-shared-pid,fake-own-process",
                 f"--parity-plugin={HARNESS_BACKENDS}", "--parity-cases", "relu",
                 "--parity-in-process")
    result.assert_outcomes(passed=2)
    pids = _pids(pytester)
    assert pids["fake-shared-pid"] == os.getpid()
    assert pids["fake-own-process"] != os.getpid()


def test_items_run_in_worker_processes_and_isolate_is_a_no_op(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--parity-backend", "fake-shared-pid",
                 f"--parity-plugin={HARNESS_BACKENDS}", "--parity-cases", "relu,linear_nobias",
                 "--parity-isolate")
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines(["*--parity-isolate does nothing now: items run in worker "
                                 "processes by default*"])
    pids = set(_pids_per_case(pytester).values())
    assert len(pids) == 1 and os.getpid() not in pids  # one worker, kept for the session


def test_a_conftest_case_runs_in_the_pytest_process(pytester: pytest.Pytester) -> None:
    """Workers do not import a conftest.py, so its cases run where they are registered."""
    pytester.makeconftest("""
        import torch
        import paritykit as pk

        @pk.register_test
        class ConftestNeg(pk.OpTestCase):
            name = "conftest_neg"

            def create_model(self):
                return _Neg()

            def create_inputs(self):
                return (pk.randn(2, 3),)

        class _Neg(torch.nn.Module):
            def forward(self, x):
                return -x
    """)
    result = run(pytester, "--parity-backend", "fake-shared-pid",
                 f"--parity-plugin={HARNESS_BACKENDS}", "--parity-cases", "conftest_neg")
    result.assert_outcomes(passed=1)
    assert _pids(pytester)["fake-shared-pid"] == os.getpid()


def _records(pytester: pytest.Pytester) -> list[dict[str, Any]]:
    lines = (pytester.path / "parity-out" / "results.jsonl").read_text().splitlines()
    return [json.loads(x) for x in lines]


def _pids(pytester: pytest.Pytester) -> dict[str, int]:
    """The pid each backend's result was made in (the fakes record it in stats)."""
    return {r["backend"]: r["stats"]["pid"] for r in _records(pytester)}


def _pids_per_case(pytester: pytest.Pytester) -> dict[str, int]:
    return {r["case"]: r["stats"]["pid"] for r in _records(pytester)}
