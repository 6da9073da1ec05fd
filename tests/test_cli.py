"""The ``parity`` command line end to end: listing, selection, usage errors, reports, artifacts.

One ``parity run`` (``main_run``) of a user's case and the built-in ``abs`` on five backends —
the reference, two real lowerings, a user's NumPy backend from ``tests/fakes/user_cases.py``
and the test-only ``fake-offset`` — feeds most tests; usage errors never start a worker.
"""

from __future__ import annotations

import json
import pathlib
import re
import shlex
import xml.etree.ElementTree as ET
from collections.abc import Callable
from html import escape as html_escape
from typing import Any

import numpy as np
import pytest

from conftest import (
    BUILTIN_BACKENDS,
    HARNESS_BACKENDS,
    USER_CASES,
    by_key,
    read_jsonl,
    read_report,
)
from paritykit.cli.main import main
from paritykit.core.cases import CASES
from paritykit.core.registry import BACKENDS
from paritykit.core.result import Result, Status
from paritykit.files.artifacts import load_arrays

RUN_CASES = ("user_scaled_tanh", "abs")
RUN_BACKENDS = ("torch", "torch-export", "onnxruntime", "user-numpy", "fake-offset")
LOWERED = {"torch-export": "program.pt2", "onnxruntime": "model.onnx",
           "user-numpy": "numpy_program.txt"}
JSON_KEYS = ("case", "backend", "status", "max_abs_error", "max_rel_error", "message",
             "artifact_dir", "prepare_s", "run_s")


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """rich wraps at $COLUMNS when output is not a terminal; keep messages on one line."""
    monkeypatch.setenv("COLUMNS", "1000")


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def main_run(
    tmp_path_factory: pytest.TempPathFactory, registries: Callable[[], Any]
) -> dict[str, Any]:
    if not BACKENDS.info("onnxruntime").available:
        pytest.skip("onnxruntime backend not installed (pip install 'paritykit[onnxruntime]')")
    root = tmp_path_factory.mktemp("cli")
    out, report, junit = root / "out", root / "report.json", root / "junit.xml"
    html = root / "report.html"
    with registries():
        code = main([
            "run", *RUN_CASES, "-b", ",".join(RUN_BACKENDS),
            "-p", str(USER_CASES), "-p", str(HARNESS_BACKENDS), "-j", "2",
            "--cache-dir", str(root / "cache"), "--artifact-dir", str(out),
            "--json", str(report), "--junit", str(junit), "--html", str(html),
        ])
    doc = read_report(report)
    return {"code": code, "root": root, "out": out, "doc": doc, "junit": junit, "html": html,
            "results": by_key(doc["results"])}


# -- parity list / backends ---------------------------------------------------------------


def test_list_shows_bases_then_indented_configs_and_counts(capsys: pytest.CaptureFixture[str]):
    assert main(["list", "abs", "add"]) == 0
    lines = _lines(capsys.readouterr().out)
    add_configs = [r.id for r in CASES.expand() if r.base == "add"]
    assert len(add_configs) > 5
    assert lines[:-1] == ["abs", "  abs", "add", *(f"  {c}" for c in add_configs)]
    assert lines[-1] == f"2 cases, {1 + len(add_configs)} configs"


def test_list_whole_suite_count_line_matches_registry(capsys: pytest.CaptureFixture[str]):
    assert main(["list"]) == 0
    lines = _lines(capsys.readouterr().out)
    refs = CASES.expand()
    bases = {r.base for r in refs}
    assert lines[-1] == f"{len(bases)} cases, {len(refs)} configs"
    assert [line for line in lines[:-1] if not line.startswith("  ")] == list(dict.fromkeys(
        r.base for r in refs))
    assert sum(line.startswith("  ") for line in lines) == len(refs)


def test_list_includes_plugin_cases(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "user_scaled_tanh", "-p", str(USER_CASES)]) == 0
    assert _lines(capsys.readouterr().out) == [
        "user_scaled_tanh", "  user_scaled_tanh", "1 cases, 1 configs"]


def _backend_rows(text: str) -> dict[str, list[str]]:
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃]", line)[1:-1]]
        if cells and cells[0] and cells[0] != "backend":
            rows[cells[0]] = cells
    return rows


def test_backends_lists_builtins_as_available(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backends"]) == 0
    rows = _backend_rows(capsys.readouterr().out)
    assert set(rows) == set(BUILTIN_BACKENDS)
    for name in BUILTIN_BACKENDS:
        expected = "yes" if BACKENDS.info(name).available else "no"
        assert rows[name][1] == expected, rows[name]
        assert rows[name][5] == "built-in"
        assert "torch" in rows[name][4]  # versions
        if expected == "yes":
            assert "cpu" in rows[name][2].split(",")  # devices
    for name in ("torch", "torch-export", "aot-eager", "inductor"):
        assert rows[name][1] == "yes"


def test_backends_with_plugin_shows_its_origin(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backends", "-p", str(USER_CASES)]) == 0
    rows = _backend_rows(capsys.readouterr().out)
    assert rows["user-numpy"][1] == "yes"
    assert rows["user-numpy"][3].startswith("torch.export graph evaluated")
    assert rows["user-numpy"][5].startswith("paritykit_plugin_")
    assert "numpy" in rows["user-numpy"][4]


# -- selection ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        (["exp"], ["exp", "exp_fp16", "exp_bf16"]),  # a base name: all its configs
        (["exp_fp16"], ["exp_fp16"]),  # a config name: just it
        (["exp_fp16", "abs"], ["abs", "exp_fp16"]),  # suite order, not argument order
        (["add", "-k", "dynamic"], ["add_dynamic", "add_broadcast_dynamic"]),
        (["add", "-k", "not (fp16 or bf16 or int or dynamic or broadcast)"],
         ["add", "add_scalar", "add_scalar_tensor", "add_alpha"]),
        (["abs", "exp", "-k", "abs or bf16"], ["abs", "exp_bf16"]),
    ],
)
def test_run_list_selection(
    selection: list[str], expected: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--list", *selection]) == 0
    assert _lines(capsys.readouterr().out) == expected


def test_keyword_matches_markers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--list", "-p", str(USER_CASES), "-k", "user and not abs"]) == 0
    assert _lines(capsys.readouterr().out) == ["user_scaled_tanh"]


# -- usage errors -------------------------------------------------------------------------


def _usage_error(capsys: pytest.CaptureFixture[str], argv: list[str], *offenders: str) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert captured.err.startswith("parity: error: ")
    for offender in offenders:
        assert offender in captured.err
    return captured.err


def test_unknown_case_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    _usage_error(capsys, ["run", "abs", "no_such_case", "-b", "torch"], "'no_such_case'")


def test_unknown_backend_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    err = _usage_error(capsys, ["run", "abs", "-b", "torch,no-such-backend"], "'no-such-backend'")
    assert "torch-export" in err  # the known backends are listed


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ('{"rules": [', "not valid JSON"),
        ('{"rules": [{"backend": "torch", "atol": 1e-3}]}', "'reason' is a required property"),
        ('{"default": {"atol": -1}}', "$.default.atol"),
        ('{"tolerance": {}}', "'tolerance'"),
    ],
    ids=["bad-json", "missing-reason", "negative", "unknown-key"],
)
def test_bad_tolerances_file_is_a_usage_error(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], content: str, needle: str
) -> None:
    path = tmp_path / "tolerances.json"
    path.write_text(content)
    _usage_error(capsys, ["run", "abs", "-b", "torch", "--tolerances", str(path)],
                 str(path), needle)


def test_missing_tolerances_file_is_a_usage_error(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.json"
    _usage_error(capsys, ["run", "abs", "-b", "torch", "--tolerances", str(missing)],
                 str(missing), "no such file")


@pytest.mark.parametrize(
    ("option", "offender"),
    [("torch-atol", "'torch-atol'"), ("torch.=1", "'torch.=1'"),
     ("no-such-backend.key=1", "'no-such-backend'")],
)
def test_bad_backend_option_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], option: str, offender: str
) -> None:
    _usage_error(capsys, ["run", "abs", "-b", "torch", "--backend-option", option], offender)


def test_missing_plugin_and_bad_keyword_and_jobs_are_usage_errors(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope_plugin.py"
    _usage_error(capsys, ["run", "abs", "-p", str(missing)], str(missing))
    _usage_error(capsys, ["run", "abs", "-k", "abs and"], "-k 'abs and'")
    _usage_error(capsys, ["run", "abs", "-j", "0"], "-j/--jobs")


# -- one real run: user plugin, reports, artifacts -----------------------------------------


def test_run_exit_code_and_user_plugin_results(main_run: dict[str, Any]) -> None:
    results = main_run["results"]
    assert main_run["code"] == 1  # fake-offset is wrong on purpose
    assert set(results) == {(c, b) for c in RUN_CASES for b in RUN_BACKENDS}
    for case in RUN_CASES:
        for backend in ("torch", "torch-export", "onnxruntime", "user-numpy"):
            assert results[(case, backend)]["status"] == "PASS", results[(case, backend)]
        mismatch = results[(case, "fake-offset")]
        assert mismatch["status"] == "MISMATCH"
        assert mismatch["max_abs_error"] == pytest.approx(1.0, abs=1e-5)
        assert mismatch["message"].startswith(f"{case} @ fake-offset: ")
    assert results[("user_scaled_tanh", "user-numpy")]["stats"]["numpy_ops"] == 3
    # The user's case has a learned parameter: a wrong backend could not pass by accident.
    assert results[("user_scaled_tanh", "user-numpy")]["max_abs_error"] < 1e-5


def test_json_report_keys_and_summary(main_run: dict[str, Any]) -> None:
    doc = main_run["doc"]
    for result in doc["results"]:
        assert list(result)[: len(JSON_KEYS)] == list(JSON_KEYS)
    summary = doc["summary"]
    assert summary["total"] == len(RUN_CASES) * len(RUN_BACKENDS)
    assert summary["failed"] == len(RUN_CASES)
    assert summary["by_status"] == {"PASS": 8, "MISMATCH": 2}
    assert summary["by_backend"]["fake-offset"] == {"MISMATCH": 2}
    assert summary["backends"] == list(RUN_BACKENDS)
    assert summary["jobs"] == 2
    assert summary["seed"] == 0
    assert summary["interrupted"] is False
    # results.jsonl agrees with the report.
    lines = by_key(read_jsonl(main_run["out"] / "results.jsonl"))
    assert {k: r["status"] for k, r in lines.items()} == {
        k: r["status"] for k, r in main_run["results"].items()}


def test_junit_report_parses(main_run: dict[str, Any]) -> None:
    root = ET.parse(main_run["junit"]).getroot()
    assert root.tag == "testsuites"
    assert root.get("tests") == "10"
    assert root.get("failures") == "2"
    assert root.get("errors") == "0"
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {f"paritykit.{b}" for b in RUN_BACKENDS}
    failures = suites["paritykit.fake-offset"].findall("testcase/failure")
    assert len(failures) == 2
    assert {f.get("type") for f in failures} == {"MISMATCH"}
    assert not suites["paritykit.user-numpy"].findall("testcase/failure")
    names = {c.get("name") for c in suites["paritykit.user-numpy"].iter("testcase")}
    assert names == set(RUN_CASES)


def test_html_report_written_by_run(main_run: dict[str, Any]) -> None:
    page = main_run["html"].read_text(encoding="utf-8")
    # Every case and backend of the run is in the matrix, and the MISMATCH rows have a message.
    for name in (*RUN_CASES, *RUN_BACKENDS):
        assert name in page
    failing = [r for r in main_run["results"].values() if r["status"] == "MISMATCH"]
    assert failing and all(html_escape(r["message"]) in page for r in failing)


def test_artifact_layout(main_run: dict[str, Any]) -> None:
    out: pathlib.Path = main_run["out"]
    for case in RUN_CASES:
        inputs = load_arrays(out / case / "inputs.safetensors")
        expected = load_arrays(out / case / "expected.safetensors")
        assert sorted(inputs) == (["input_0", "input_1"] if case == "user_scaled_tanh"
                                  else ["input_0"])
        assert sorted(expected) == ["output_0"]
        for backend in RUN_BACKENDS:
            folder = out / case / backend
            for name in ("actual.safetensors", "result.json", "repro.txt"):
                assert (folder / name).is_file(), folder / name
            record = json.loads((folder / "result.json").read_text())
            assert record["status"] == main_run["results"][(case, backend)]["status"]
            assert (folder / "repro.txt").read_text().strip() == record["repro"]
            assert pathlib.Path(record["artifact_dir"]) == folder
            if backend in LOWERED:
                artifact = folder / LOWERED[backend]
                assert artifact.stat().st_size > 0
                assert pathlib.Path(record["artifact"]) == artifact
        # torch eager rerun is the reference itself: bit-identical outputs.
        actual = load_arrays(out / case / "torch" / "actual.safetensors")
        np.testing.assert_array_equal(actual["output_0"], expected["output_0"])
        offset = load_arrays(out / case / "fake-offset" / "actual.safetensors")
        np.testing.assert_allclose(offset["output_0"] - expected["output_0"], 1.0, atol=1e-5)


def test_repro_command_reproduces_the_status(
    main_run: dict[str, Any], tmp_path: pathlib.Path
) -> None:
    record = json.loads((main_run["out"] / "abs" / "fake-offset" / "result.json").read_text())
    argv = shlex.split(record["repro"])
    assert argv[:2] == ["parity", "run"]
    report = tmp_path / "repro.json"
    code = main([*argv[1:], "--artifact-dir", str(tmp_path / "out"), "--json", str(report)])
    assert code == 1
    [again] = read_report(report)["results"]
    assert (again["case"], again["backend"], again["status"]) == ("abs", "fake-offset", "MISMATCH")
    assert again["max_abs_error"] == record["max_abs_error"]  # same seed, same numbers
    assert again["repro"] == record["repro"]


def test_clean_after_keeps_only_failing_artifacts(tmp_path: pathlib.Path) -> None:
    out, report = tmp_path / "out", tmp_path / "report.json"
    # abs: torch PASS, fake-offset MISMATCH; add_int32: torch PASS, fake-offset UNSUPPORTED.
    code = main(["run", "abs", "add_int32", "-b", "torch,fake-offset",
                 "-p", str(HARNESS_BACKENDS), "--clean-after",
                 "--artifact-dir", str(out), "--json", str(report)])
    results = by_key(read_report(report)["results"])
    assert code == 1
    assert results[("abs", "fake-offset")]["status"] == "MISMATCH"
    assert results[("add_int32", "fake-offset")]["status"] == "UNSUPPORTED"
    assert results[("add_int32", "torch")]["status"] == "PASS"
    failing = out / "abs" / "fake-offset"
    for name in ("actual.safetensors", "result.json", "repro.txt"):
        assert (failing / name).is_file()
    assert results[("abs", "fake-offset")]["artifact_dir"] == str(failing)
    assert (out / "abs" / "inputs.safetensors").is_file()  # the failure's inputs stay
    assert (out / "abs" / "expected.safetensors").is_file()
    assert not (out / "abs" / "torch").exists()
    assert results[("abs", "torch")]["artifact_dir"] is None
    assert not (out / "add_int32").exists()  # nothing failed there: the whole case goes
    assert (out / "results.jsonl").is_file()


def test_clean_after_resume_keeps_failures_from_the_previous_run(tmp_path: pathlib.Path) -> None:
    """A failure kept by --resume still owns its case folder when the rerun pairs pass."""
    out = tmp_path / "out"
    failing = out / "abs" / "fake-offset"
    failing.mkdir(parents=True)
    (failing / "result.json").write_text("{}")
    previous = Result("abs", "fake-offset", Status.MISMATCH, base="abs",
                      artifact_dir=str(failing))
    (out / "results.jsonl").write_text(json.dumps(previous.to_dict()) + "\n")
    report = tmp_path / "report.json"
    code = main(["run", "abs", "-b", "torch,fake-offset", "-p", str(HARNESS_BACKENDS),
                 "--resume", "--clean-after", "--artifact-dir", str(out), "--json", str(report)])
    results = by_key(read_report(report)["results"])
    assert code == 1
    assert results[("abs", "torch")]["status"] == "PASS"  # the only pair that ran
    assert results[("abs", "fake-offset")]["status"] == "MISMATCH"
    assert (failing / "result.json").is_file()
    assert (out / "abs" / "inputs.safetensors").is_file()
    assert not (out / "abs" / "torch").exists()
