"""Expectations files: XFAIL, strict XPASS, skip, stale-id warnings, validation and update."""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

import pytest

from conftest import HARNESS_BACKENDS, read_report
from paritykit.cli.main import main
from paritykit.core.cases import CASES
from paritykit.core.errors import ParityError
from paritykit.core.expectations import (
    BUILTIN_DIR,
    SCHEMA,
    Expectations,
    ExpectationSet,
    update,
)
from paritykit.core.registry import BACKENDS
from paritykit.core.result import Result, Status
from paritykit.run.plan import build_plan


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """rich wraps at $COLUMNS when output is not a terminal; keep messages on one line."""
    monkeypatch.setenv("COLUMNS", "1000")


def _set(backend: str, data: dict[str, Any]) -> ExpectationSet:
    return ExpectationSet({backend: Expectations.from_data(data, backend, f"{backend}.toml")})


def _result(case: str, status: Status, backend: str = "b", message: str = "") -> Result:
    return Result(case, backend, status, message=message or f"{case} @ {backend}: {status}")


# -- applying ------------------------------------------------------------------------------

def test_failure_listed_as_xfail_is_xfail_and_keeps_what_happened() -> None:
    exp = _set("b", {"xfail": {"conv*": "LOWER_ERROR: no kernel"}})
    out = exp.apply(_result("conv2d", Status.LOWER_ERROR))
    assert out.status is Status.XFAIL and not out.status.failed
    assert out.raw_status == "LOWER_ERROR"
    assert out.expectation == "LOWER_ERROR: no kernel"


def test_pass_listed_as_xfail_is_strict_xpass_naming_entry_and_file() -> None:
    exp = _set("b", {"xfail": {"conv*": "flaky kernel"}})
    out = exp.apply(_result("conv2d", Status.PASS))
    assert out.status is Status.XPASS and out.status.failed
    assert "'conv*'" in out.message and "b.toml" in out.message
    assert "parity expectations update -b b" in out.message


def test_non_strict_entry_lets_a_pass_pass() -> None:
    exp = _set("b", {"xfail": {"conv2d": {"reason": "bf16 on AMX only", "strict": False}}})
    assert exp.apply(_result("conv2d", Status.PASS)).status is Status.PASS
    assert exp.apply(_result("conv2d", Status.MISMATCH)).status is Status.XFAIL


def test_unlisted_results_other_backends_and_unsupported_are_untouched() -> None:
    exp = _set("b", {"xfail": {"conv2d": "x"}})
    assert exp.apply(_result("relu", Status.MISMATCH)).status is Status.MISMATCH
    assert exp.apply(_result("conv2d", Status.MISMATCH, "other")).status is Status.MISMATCH
    assert exp.apply(_result("conv2d", Status.UNSUPPORTED)).status is Status.UNSUPPORTED


def test_apply_is_idempotent_and_reapplies_from_the_raw_status() -> None:
    """A resumed result is re-judged against today's file, not yesterday's verdict."""
    xfailed = _set("b", {"xfail": {"conv2d": "x"}}).apply(_result("conv2d", Status.MISMATCH))
    assert _set("b", {"xfail": {"conv2d": "x"}}).apply(xfailed).status is Status.XFAIL
    assert ExpectationSet().apply(xfailed).status is Status.MISMATCH


def test_exact_id_beats_glob_and_skip_beats_xfail() -> None:
    exp = Expectations.from_data(
        {"xfail": {"conv*": "glob", "conv2d": "exact"}, "skip": {"conv3d": "slow"}}, "b", "b.toml")
    assert exp.match("conv2d").reason == "exact"  # type: ignore[union-attr]
    assert exp.match("conv1d").reason == "glob"  # type: ignore[union-attr]
    assert exp.match("conv3d").kind == "skip"  # type: ignore[union-attr]


def test_skip_entries_are_decided_by_the_planner_without_running() -> None:
    refs = [r for r in CASES.expand() if r.id in ("relu", "tanh")]
    plan = build_plan(refs, ["torch"], 0, expectations=_set("torch", {"skip": {"relu": "slow"}}))
    assert [t.case for t in plan.tasks] == ["tanh"]
    [decided] = plan.decided
    assert decided.status is Status.SKIPPED and "slow" in decided.message


# -- validation and warnings ---------------------------------------------------------------

@pytest.mark.parametrize(("text", "where"), [
    ('[xfail]\nrelu = ""\n', "xfail.relu"),
    ('[xfail]\nrelu = { strict = false }\n', "xfail.relu"),
    ('[xfail]\nrelu = 3\n', "xfail.relu"),
    ('[skip]\nrelu = "  "\n', "skip.relu"),
    ('[xpass]\nrelu = "x"\n', "xpass"),
    ('backend = "other"\n', "other"),
    ('[xfail\n', "not valid TOML"),
])
def test_bad_files_name_the_file_and_the_key(tmp_path: pathlib.Path, text: str,
                                             where: str) -> None:
    path = tmp_path / "torch.toml"
    path.write_text(text)
    with pytest.raises(ParityError) as err:
        ExpectationSet.load([tmp_path], builtin=False)
    assert str(path) in str(err.value) and where in str(err.value)


@pytest.mark.parametrize(("text", "fragments"), [
    # A bad `strict` value or an unknown key used to be reported as "needs a non-empty reason".
    ('[xfail]\nrelu = { reason = "x", strict = "yes" }\n',
     ("xfail.relu.strict", "'yes'", "true or false")),
    ('[xfail]\nrelu = { reason = "x", strict = 3 }\n', ("xfail.relu.strict", "3", "true or false")),
    ('[xfail]\nrelu = { reason = "x", stict = false }\n',
     ("xfail.relu", "unknown key 'stict'", "reason, strict")),
    ('[xfail]\nrelu = { reason = 3 }\n', ("xfail.relu.reason", "non-empty reason")),
    ('[xfail]\nrelu = [1, 2]\n', ("xfail.relu", "a reason string or a table", "array")),
    ('[skip]\nrelu = { reason = "x" }\n', ("skip.relu", "a reason string", "table")),
    ('[skip]\nrelu = { reason = "x", strict = false }\n', ("skip.relu", "a reason string")),
    ('xfail = 3\n', ("xfail", "must be a table", "integer")),
    ('xfail = "relu"\n', ("xfail", "must be a table", "string")),
    ('backend = 3\n', ("backend", "must be a non-empty string", "integer")),
    ('backend = ""\n', ("backend", "")),
    ('[xfail]\n"" = "x"\n', ("xfail", "empty pattern")),
    ('[xfail]\n"  " = "x"\n', ("xfail", "'  '", "empty pattern")),
    ('[xfail]\nrelu = "x"\n[xfail_extra]\nrelu = "x"\n',
     ("xfail_extra", "unknown table", "backend, xfail, skip")),
])
def test_entry_errors_name_the_real_problem(tmp_path: pathlib.Path, text: str,
                                            fragments: tuple[str, ...]) -> None:
    path = tmp_path / "torch.toml"
    path.write_text(text)
    with pytest.raises(ParityError) as err:
        ExpectationSet.load([tmp_path], builtin=False)
    message = str(err.value)
    assert message.startswith(f"{path}: ")
    for fragment in fragments:
        assert fragment in message, message
    if "reason" not in fragments[-1]:
        assert "needs a non-empty reason" not in message


@pytest.mark.parametrize(("raw", "fragment"), [
    (b'[xfail]\nrelu = "caf\xe9"\n', "not UTF-8"),
    (b"\xff\xfe[\x00x\x00", "not UTF-8"),
    (b"a = " + b"[" * 100_000, "nested too deeply"),
    (b"a = " + b"{b = " * 100_000, "nested too deeply"),
    (b'[xfail]\nrelu = { reason = "r", strict = ' + b"9" * 5000 + b" }\n", "too many digits"),
])
def test_unreadable_files_are_errors_naming_the_file(tmp_path: pathlib.Path, raw: bytes,
                                                     fragment: str) -> None:
    path = tmp_path / "torch.toml"
    path.write_bytes(raw)
    with pytest.raises(ParityError) as err:
        ExpectationSet.load([tmp_path], builtin=False)
    assert str(err.value).startswith(f"{path}: ") and fragment in str(err.value)


def test_a_file_given_as_the_directory_is_named(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "torch.toml"
    path.write_text('[xfail]\nrelu = "x"\n')
    with pytest.raises(ParityError, match="is a file") as err:
        ExpectationSet.load([path], builtin=False)
    assert str(path) in str(err.value)


def test_cli_reports_a_non_utf8_expectations_file_with_exit_2(
        tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    exp = tmp_path / "exp"
    exp.mkdir()
    (exp / "torch.toml").write_bytes(b'[xfail]\nrelu = "caf\xe9"\n')
    code = main(["run", "-b", "torch", "-k", "relu", "--expectations", str(exp),
                 "--artifact-dir", str(tmp_path / "out"), "--no-cache"])
    captured = capsys.readouterr()
    assert code == 2 and "Traceback" not in captured.out + captured.err
    [line] = captured.err.strip().splitlines()
    assert line.startswith(f"parity: error: {exp / 'torch.toml'}: not UTF-8")


def test_pytest_plugin_reports_a_bad_expectations_file_as_a_usage_error(
        tmp_path: pathlib.Path) -> None:
    import subprocess
    import sys

    exp = tmp_path / "exp"
    exp.mkdir()
    (exp / "torch.toml").write_bytes(b'[xfail]\nrelu = "caf\xe9"\n')
    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--parity-backend", "torch",
         "--parity-cases", "relu", "--parity-expectations", "exp",
         "--parity-artifact-dir", "out", "test_nothing.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, output
    assert "INTERNALERROR" not in output and "Traceback" not in output
    assert "torch.toml: not UTF-8" in output


def test_the_schema_agrees_with_the_checks() -> None:
    """SCHEMA (for editors and other tools) refuses what from_data refuses, and no more."""
    from paritykit.files.jsonfile import schema_errors

    samples: list[Any] = [
        {}, {"backend": "b"}, {"backend": 3}, {"xfail": {"a": "x"}}, {"xfail": {"a": ""}},
        {"xfail": {"a": " "}}, {"xfail": {"a": {"reason": "x", "strict": False}}},
        {"xfail": {"a": {"reason": "x", "strict": "no"}}}, {"xfail": {"a": {"strict": True}}},
        {"xfail": {"a": {"reason": "x", "other": 1}}}, {"xfail": {"": "x"}}, {"skip": {"a": "x"}},
        {"skip": {"a": {"reason": "x"}}}, {"skip": []}, {"xpass": {}}, {"xfail": {"a": 3}},
        {"xfail": {" ": "x"}}, {"backend": ""},
    ]
    for data in samples:
        try:
            Expectations.from_data(data, "b", "b.toml")
            refused = False
        except ParityError:
            refused = True
        assert refused == bool(schema_errors(data, SCHEMA)), data


def test_stale_patterns_and_unknown_backends_are_warned() -> None:
    exp = ExpectationSet({
        "torch": Expectations.from_data({"xfail": {"relu": "x", "nosuch_*": "y"}}, "torch", "t"),
        "ghost": Expectations.from_data({"xfail": {"relu": "x"}}, "ghost", "g"),
    })
    lines = exp.warnings(["relu", "tanh"], ["torch"])
    assert any("'nosuch_*' matches no case" in x and x.startswith("t:") for x in lines)
    assert any("no backend named 'ghost'" in x for x in lines)
    assert not any("'relu'" in x for x in lines)


def test_shipped_files_are_valid_and_name_only_registered_cases_and_backends() -> None:
    shipped = ExpectationSet.load()
    assert set(shipped.files) <= set(BACKENDS.names())
    assert shipped.warnings((r.id for r in CASES.expand()), BACKENDS.names()) == []
    for exp in shipped.files.values():
        assert all(e.reason.strip() for e in exp.entries)
    assert all(p.suffix == ".toml" for p in BUILTIN_DIR.iterdir())


# -- update ----------------------------------------------------------------------------------

def test_update_keeps_reasons_narrows_globs_drops_passes_and_adds_new(
        tmp_path: pathlib.Path) -> None:
    path = tmp_path / "b.toml"
    path.write_text('[xfail]\n"conv*" = "old conv reason"\nrelu = "fixed now"\n'
                    'notrun = "kept: not in the results"\n'
                    'soft = { reason = "non-strict", strict = false }\n[skip]\nbig = "slow"\n')
    results = [
        _result("conv1d", Status.XFAIL), _result("conv2d", Status.PASS),
        _result("relu", Status.PASS), _result("soft", Status.MISMATCH),
        _result("tanh", Status.RUN_ERROR,
                message="tanh @ b: run failed — ValueError: bad /tmp/stage-x1/model.onnx"),
    ]
    results[0].raw_status = "MISMATCH"
    change = update("b", results, path)
    new = Expectations.load(path)
    reasons = {e.pattern: (e.kind, e.reason, e.strict) for e in new.entries}
    assert reasons == {
        "conv1d": ("xfail", "old conv reason", True),  # glob narrowed: conv2d passes now
        "notrun": ("xfail", "kept: not in the results", True),
        "soft": ("xfail", "non-strict", False),
        "tanh": ("xfail", "RUN_ERROR: run failed — ValueError: bad model.onnx", True),  # no path
        "big": ("skip", "slow", True),
    }
    assert change.removed == ["relu"] and sorted(change.added) == ["conv1d", "tanh"]
    # Applying the rewritten file to the same results leaves nothing failing.
    applied = [ExpectationSet({"b": new}).apply(r) for r in results]
    assert not any(r.status.failed for r in applied)


# -- end to end through the CLI --------------------------------------------------------------

def test_run_is_green_with_xfail_and_red_with_xpass_then_update_fixes_it(
        tmp_path: pathlib.Path, registries: Callable[[], Any],
        capsys: pytest.CaptureFixture[str]) -> None:
    exp_dir, out = tmp_path / "exp", tmp_path / "out"
    exp_dir.mkdir()
    (exp_dir / "fake-offset.toml").write_text(
        '[xfail]\nrelu = "adds 1.0"\nabs = "adds 1.0"\n"gone_*" = "stale"\n')
    (exp_dir / "torch.toml").write_text('[xfail]\nrelu = "pretend"\n')
    argv = ["run", "relu", "abs", "-b", "fake-offset,torch", "-p", str(HARNESS_BACKENDS),
            "--artifact-dir", str(out), "--no-cache", "--json", str(tmp_path / "r.json"),
            "--expectations", str(exp_dir)]
    with registries():
        code = main(argv)
        err = capsys.readouterr().err
        statuses = {(r["case"], r["backend"]): r["status"]
                    for r in read_report(tmp_path / "r.json")["results"]}
        assert statuses == {("relu", "fake-offset"): "XFAIL", ("abs", "fake-offset"): "XFAIL",
                            ("relu", "torch"): "XPASS", ("abs", "torch"): "PASS"}
        assert code == 1
        assert "'gone_*' matches no case" in err
        assert main(["expectations", "update", "-b", "torch", "--artifact-dir", str(out),
                     "--expectations", str(exp_dir), "-p", str(HARNESS_BACKENDS)]) == 0
        assert "relu (passes now)" in capsys.readouterr().out
        assert main([*argv, "--no-cache"]) == 0
        assert main([*argv, "--no-expectations"]) == 1


def test_update_without_results_is_a_usage_error(tmp_path: pathlib.Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["expectations", "update", "-b", "torch", "--artifact-dir",
                 str(tmp_path)]) == 2
    assert "results.jsonl: no such file" in capsys.readouterr().err


# One known gap per backend from the shipped files: still failing the same way on this machine.
# When a framework upgrade fixes one, this turns red (XPASS) and the file needs an update.
SHIPPED_GAPS = {
    "onnxruntime": "cumprod",
    "openvino": "index_add",
    "iree": "softshrink",
    "executorch-portable": "remainder_int32",
    "jax": "conv_transpose1d_groups",
}


@pytest.mark.slow
def test_shipped_expectations_still_hold_for_a_sample(
        tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    backends = [b for b in SHIPPED_GAPS if BACKENDS.info(b).available]
    if not backends:
        pytest.skip("none of the sampled backends is installed")
    cases = sorted({SHIPPED_GAPS[b] for b in backends})
    report = tmp_path / "r.json"
    code = main(["run", *cases, "-b", ",".join(backends), "-j", "2", "--no-cache",
                 "--artifact-dir", str(tmp_path / "out"), "--json", str(report)])
    results = {(r["case"], r["backend"]): r for r in read_report(report)["results"]}
    assert code == 0, capsys.readouterr().out
    for backend in backends:
        gap = results[(SHIPPED_GAPS[backend], backend)]
        assert gap["status"] == "XFAIL" and Status(gap["raw_status"]).failed, gap
        assert gap["expectation"]
