"""User and backend code that misbehaves costs its own result, never the run or the user's files.

Names that would point outside the artifact directory are refused where they are registered;
``sys.exit``/KeyboardInterrupt from a ``-p`` file, a case or a backend is a failure of that
load or that result; a run that selects nothing, senseless limits and a second writer on one
artifact directory are usage errors (exit 2) naming the flag or the file.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import textwrap

import pytest

from conftest import FAKES, by_key, read_jsonl, read_report
from paritykit.cli.main import main
from paritykit.core.errors import ParityError
from paritykit.files.artifacts import backend_dir, case_dir
from paritykit.files.results import ResultStore

HOSTILE = FAKES / "hostile_code.py"


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "1000")


def _tree(root: pathlib.Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _case_file(tmp_path: pathlib.Path, base: str, config: str | None) -> pathlib.Path:
    configs = "" if config is None else textwrap.dedent(f"""
        @classmethod
        def get_test_configs(cls):
            c = cls()
            c.name = {config!r}
            return [c]
    """)
    path = tmp_path / "bad_names.py"
    path.write_text(textwrap.dedent("""
        import torch
        import paritykit as pk

        @pk.register_test
        class BadName(pk.OpTestCase):
            name = {base!r}
            def create_model(self):
                return torch.nn.ReLU()
            def create_inputs(self):
                return (torch.randn(3),)
    """).format(base=base) + textwrap.indent(configs, "    "))
    return path


@pytest.mark.parametrize(("base", "config"), [("..", None), (".", None), ("relu_ok", ".."),
                                              ("relu_ok", "."), ("relu_ok", "a/../../b"),
                                              ("relu_ok", " x")])
def test_a_name_that_leaves_its_folder_is_refused_naming_the_class(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], base: str, config: str | None) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "mine.txt").write_text("the user's own file")
    monkeypatch.chdir(work)
    plugin = _case_file(tmp_path, base, config)
    before = _tree(tmp_path)
    code = main(["run", "-p", str(plugin), "-b", "torch", "--clean-after",
                 "--artifact-dir", str(work / "out")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "BadName" in err and "name" in err and "Traceback" not in err
    assert _tree(tmp_path) == before  # nothing written, nothing deleted


def test_every_path_from_a_name_is_proven_inside_its_root(tmp_path: pathlib.Path) -> None:
    root = tmp_path / "out"
    for name in ("..", ".", ""):
        with pytest.raises(ParityError, match="cannot name a folder"):
            case_dir(root, name)
        with pytest.raises(ParityError, match="cannot name a folder"):
            backend_dir(root, "relu", name)
    root.mkdir()
    (root / "escape").symlink_to(tmp_path)
    with pytest.raises(ParityError, match="outside"):
        case_dir(root, "escape")
    assert case_dir(root, "a/b") == root / "a_b"  # separators never survive


def test_a_plugin_that_calls_sys_exit_is_a_usage_error(
        tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    plugin = tmp_path / "exits.py"
    plugin.write_text("import sys\nsys.exit(0)\n")
    assert main(["run", "-p", str(plugin), "-b", "torch", "relu"]) == 2
    err = capsys.readouterr().err
    assert f"-p {plugin}: importing it called sys.exit(0)" in err


def test_a_keyword_that_selects_nothing_is_a_usage_error(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "-b", "torch", "-k", "no_such_case_anywhere"]) == 2
    assert "-k 'no_such_case_anywhere' selects no case" in capsys.readouterr().err


@pytest.mark.parametrize(("flag", "value", "says"), [
    ("--timeout", "0", "more than 0 seconds"), ("--timeout", "-5", "more than 0 seconds"),
    ("--timeout", "nan", "more than 0 seconds"), ("--timeout", "soon", "not a number"),
    ("--artifact-dir", "FILE", "exists and is not a directory"),
    ("--cache-dir", "FILE", "exists and is not a directory"),
    ("--backend-option", "torch.devise=cpu", "backend torch has no option 'devise'"),
    ("--backend-option", "torch-export.x=1", "it takes no options"),
    ("--backend-option", "onnxruntime.graph_optimisation=all", "its options: graph_optimization"),
])
def test_senseless_limits_and_options_are_usage_errors_naming_the_flag(
        tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str],
        flag: str, value: str, says: str) -> None:
    if value == "FILE":
        value = str(tmp_path / "a-file")
        pathlib.Path(value).write_text("")
    with pytest.raises(SystemExit) as exit_info:  # argparse's own usage errors
        code = main(["run", "relu", "-b", "torch", flag, value,
                     "--artifact-dir", str(tmp_path / "out")] if flag != "--artifact-dir"
                    else ["run", "relu", "-b", "torch", flag, value])
        raise SystemExit(code)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2, err
    assert flag.lstrip("-").split("-")[0] in err and says in err
    assert "Traceback" not in err


def test_a_second_run_on_one_artifact_dir_is_refused(
        tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    first = ResultStore(out / "results.jsonl")
    try:
        assert main(["run", "relu", "-b", "torch", "--artifact-dir", str(out)]) == 2
    finally:
        first.close()
    assert "is in use by another parity run" in capsys.readouterr().err
    assert main(["run", "relu", "-b", "torch", "--artifact-dir", str(out)]) == 0


def test_cases_whose_code_raises_or_exits_cost_their_own_results(
        tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "report.json"
    cases = ["hostile_ok", "hostile_configs_raise", "hostile_inputs_raise",
             "hostile_inputs_exit", "hostile_not_tensor", "hostile_not_module"]
    code = main(["run", "-p", str(HOSTILE), "-b", "torch,torch-export", *cases,
                 "--artifact-dir", str(tmp_path / "out"), "--json", str(report)])
    out = capsys.readouterr()
    assert code == 1 and "Traceback" not in out.err
    results = by_key(read_report(report)["results"])
    assert len(results) == 2 * len(cases)
    says = {"hostile_configs_raise": "RuntimeError: configs cannot be listed",
            "hostile_inputs_raise": "ValueError: inputs cannot be made",
            "hostile_inputs_exit": "SystemExit: 0",
            "hostile_not_tensor": "HostileNotTensor.create_inputs() gave str as input 1",
            "hostile_not_module": "HostileNotModule.create_model() returned "}
    for backend in ("torch", "torch-export"):
        assert results["hostile_ok", backend]["status"] == "PASS"
        for case, text in says.items():
            r = results[case, backend]
            assert r["status"] == "RUN_ERROR", r
            assert r["message"].startswith(f"{case} @ {backend}: case setup or torch reference "
                                           "failed"), r["message"]
            assert text in r["message"]


def test_a_case_with_no_configs_says_so_when_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "-p", str(HOSTILE), "-b", "torch", "hostile_empty"]) == 2
    assert "case 'hostile_empty'" in (err := capsys.readouterr().err)
    assert "get_test_configs() returned an empty list" in err


def test_backend_code_that_exits_interrupts_or_returns_junk_costs_its_result(
        tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    args = ["run", "-p", str(HOSTILE), "hostile_ok", "--artifact-dir", str(out),
            "-b", "fake-exit,fake-interrupt,fake-none,fake-huge-misshapen,torch"]
    assert main(args) == 1
    assert "Traceback" not in capsys.readouterr().err
    results = {r["backend"]: r for r in read_jsonl(out / "results.jsonl")}
    assert results["torch"]["status"] == "PASS"
    expected = {"fake-exit": ("LOWER_ERROR", "lowering failed — SystemExit: 0"),
                "fake-interrupt": ("RUN_ERROR", "run failed — KeyboardInterrupt"),
                "fake-none": ("RUN_ERROR", "Prepared.run returned NoneType"),
                "fake-huge-misshapen": ("MISMATCH", "")}
    for backend, (status, text) in expected.items():
        r = results[backend]
        assert r["status"] == status and text in r["message"], r
        assert r["repro"] and r["fingerprint"], r
        assert (pathlib.Path(r["artifact_dir"]) / "result.json").is_file()
    huge = pathlib.Path(results["fake-huge-misshapen"]["artifact_dir"])
    assert not (huge / "actual.safetensors").exists()
    assert "67 MiB" in results["fake-huge-misshapen"]["stats"]["actual_not_stored"]
    # Complete results are kept by --resume like any other: nothing runs again.
    assert main([*args, "--resume", "--json", str(tmp_path / "again.json")]) == 1
    again = json.loads((tmp_path / "again.json").read_text())
    assert {r["backend"]: r["status"] for r in again["results"]} == {
        b: r["status"] for b, r in results.items()}
    assert len(read_jsonl(out / "results.jsonl")) == len(results)


def test_retired_workers_leak_no_semaphores(tmp_path: pathlib.Path) -> None:
    """Workers that hold semaphores are retired between worker groups and at the end: each
    exits on its own, so the resource tracker finds nothing left over."""
    done = subprocess.run(
        [sys.executable, "-m", "paritykit.cli", "run", "-p", str(HOSTILE), "-b",
         "fake-semaphore,torch", "-j", "1", "hostile_ok", "relu", "--artifact-dir",
         str(tmp_path / "out"), "--no-cache"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 results: 4 PASS" in done.stdout
    assert "leaked semaphore" not in done.stderr, done.stderr
