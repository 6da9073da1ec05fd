"""Every route isolates the same way: a backend that crashes or hangs on SOME programs costs
exactly those results, with one message grammar, and the command still finishes by itself.

The misbehaving backends are test-only fakes (``tests/fakes/selective_crash_backends.py``): they
run ``relu`` wrong (SIGSEGV, abort, hang) and every other program right.
"""

from __future__ import annotations

import pathlib
import shutil
from collections.abc import Callable
from typing import Any

import pytest

from conftest import FAKES, SELECTIVE, SELECTIVE_CASES, SELECTIVE_FAILURES, by_key, read_report
from paritykit.cli.main import main

EXAMPLES_JSON = FAKES.parent.parent / "examples" / "json"
CASES = SELECTIVE_CASES
FAILURES = SELECTIVE_FAILURES


@pytest.fixture(scope="module")
def golden_dir(tmp_path_factory: pytest.TempPathFactory, registries: Callable[[], Any]
               ) -> pathlib.Path:
    """Golden values of the selected cases, made on torch."""
    out = tmp_path_factory.mktemp("golden")
    with registries():
        assert main(["golden", "generate", *CASES, "-b", "torch", "--out", str(out)]) == 0
    return out


def _routes(golden: pathlib.Path, backend: str, tmp: pathlib.Path) -> dict[str, list[str]]:
    common = ["-b", backend, "-p", str(SELECTIVE), "--timeout", "5"]
    return {
        "run": ["run", *CASES, *common, "--no-cache", "--artifact-dir", str(tmp / "run")],
        "golden generate": ["golden", "generate", *CASES, *common, "--out", str(tmp / "gen")],
        "golden compare": ["golden", "compare", *common, "--golden", str(golden)],
    }


@pytest.mark.slow
@pytest.mark.parametrize("backend", sorted(FAILURES))
def test_every_route_costs_only_the_failing_program(
    backend: str, golden_dir: pathlib.Path, tmp_path: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, what = FAILURES[backend]
    for route, argv in _routes(golden_dir, backend, tmp_path).items():
        report = tmp_path / f"{route.replace(' ', '-')}.json"
        code = main([*argv, "--json", str(report)])
        out = capsys.readouterr()
        assert code == 1, (route, out.out)
        assert "Traceback" not in out.out + out.err, route
        results = by_key(read_report(report)["results"])
        assert set(results) == {(c, backend) for c in CASES}, route
        victim = results[("relu", backend)]
        assert victim["status"] == status, (route, victim["message"])
        assert victim["message"] == f"relu @ {backend}: {what}", route
        for case in CASES[1:]:
            assert results[(case, backend)]["status"] == "PASS", (route, results[(case, backend)])


@pytest.mark.slow
@pytest.mark.parametrize("backend", sorted(FAILURES))
def test_json_definitions_cost_only_the_failing_definition(
    backend: str, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tests = tmp_path / "json"
    shutil.copytree(EXAMPLES_JSON, tests)
    # The same module under a name the fakes fail on.
    shutil.copyfile(tests / "mlp_quality.json", tests / "relu_mlp_quality.json")
    report = tmp_path / "report.json"
    code = main(["run", "--test-file-directory", str(tests), "-b", backend, "-p", str(SELECTIVE),
                 "--timeout", "5", "--artifact-dir", str(tmp_path / "out"),
                 "--json", str(report)])
    out = capsys.readouterr()
    assert code == 1, out.out
    assert "Traceback" not in out.out + out.err
    results = by_key(read_report(report)["results"])
    status, what = FAILURES[backend]
    victim = results[("relu_mlp_quality", backend)]
    assert (victim["status"], victim["message"]) == (status, f"relu_mlp_quality @ {backend}: "
                                                             f"{what}")
    assert "--test-file-directory" in victim["repro"]
    assert results[("mlp_quality", backend)]["status"] == "PASS"


def test_golden_generate_leaves_a_crashed_case_out_of_the_manifest(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from paritykit import golden

    out = tmp_path / "gen"
    code = main(["golden", "generate", "relu", "linear_3d", "-b", "fake-segv-some", "-p",
                 str(SELECTIVE), "--out", str(out), "-j", "2"])
    assert code == 1
    manifest = golden.load_manifest(out)
    assert [e.case for e in manifest.cases] == ["linear_3d"]
    assert "stored 1 case(s)" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize("backend", sorted(FAILURES))
def test_eval_costs_only_the_failing_backend(
    backend: str, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The fakes fail on any module holding a ReLU: the mlp's validate and trace on that
    backend are lost, torch's still run and pass."""
    import json

    status, what = FAILURES[backend]
    common = ["--model", "mlp", "-b", f"{backend},torch", "-p", str(SELECTIVE),
              "--timeout", "5", "--artifact-dir", str(tmp_path)]
    assert main(["eval", "--workload", "validate", *common]) == 1
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    rows = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    results = {r["backend"]: r for r in rows}
    assert (results[backend]["status"], results[backend]["message"]) == (
        status, f"model:mlp @ {backend}: {what}")
    assert results["torch"]["status"] == "PASS"

    assert main(["eval", "--workload", "trace", *common]) == 1
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    lost = json.loads((tmp_path / f"trace-mlp-{backend}.json").read_text())
    assert lost["error"] == f"{status}: model:mlp @ {backend}: {what}"
    kept = json.loads((tmp_path / "trace-mlp-torch.json").read_text())
    assert kept["rows"] and {r["status"] for r in kept["rows"]} == {"PASS"}
