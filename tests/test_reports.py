"""Tests of the reporters: JSON round trip, JUnit XML, console matrix and reporter."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from rich.console import Console

from paritykit.core.errors import ParityError
from paritykit.core.result import Result, Status
from paritykit.reports import (
    ConsoleReporter,
    format_error,
    print_matrix,
    read_json,
    summary_line,
    write_json,
    write_junit,
)

BACKENDS = ["inductor", "onnxruntime"]

# The matrix symbols, as specified.
EXPECTED_SYMBOLS = {
    Status.PASS: "✓",
    Status.MISMATCH: "✗",
    Status.EXPORT_ERROR: "E",
    Status.LOWER_ERROR: "L",
    Status.RUN_ERROR: "R",
    Status.CRASH: "C",
    Status.TIMEOUT: "T",
    Status.UNSUPPORTED: "–",
    Status.SKIPPED: "s",
    Status.XFAIL: "x",
    Status.XPASS: "X",
}


def _result(case: str, backend: str, status: Status, **kw: object) -> Result:
    defaults: dict[str, object] = {
        "message": f"{status.value.lower()} happened in {case} [on {backend}]",
        "prepare_s": 0.25,
        "run_s": 0.5,
    }
    if status in (Status.PASS, Status.MISMATCH, Status.XPASS):
        defaults["max_abs_error"] = 3.1e-2 if status is Status.MISMATCH else 2e-7
        defaults["max_rel_error"] = 1.5e-3
    if status.failed:
        defaults["repro"] = f"parity repro {case} --backend {backend}"
        defaults["traceback"] = f"Traceback (most recent call last):\n  boom {case}\n"
    defaults.update(kw)
    return Result(case=case, backend=backend, status=status, **defaults)  # type: ignore[arg-type]


@pytest.fixture
def results() -> list[Result]:
    """Every status on the first backend; PASS (or SKIPPED) on the second."""
    out = []
    for status in Status:
        case = f"op.{status.value.lower()}[float32]"
        out.append(
            _result(
                case,
                "inductor",
                status,
                stats={"peak_mb": 12.5},
                versions={"torch": "2.13.0"},
                worst_index=[0, 3],
                artifact_dir=f"/tmp/art/{case}",
            )
        )
        second = Status.SKIPPED if status is Status.TIMEOUT else Status.PASS
        out.append(_result(case, "onnxruntime", second))
    return out


# -- JSON ---------------------------------------------------------------------------------


def test_json_round_trip(tmp_path: Path, results: list[Result]) -> None:
    path = tmp_path / "out" / "report.json"
    write_json(path, results, summary_extra={"wall_s": 12.5})
    assert read_json(path) == results
    # No temp files left behind next to the report.
    assert [p.name for p in path.parent.iterdir()] == ["report.json"]


def test_json_summary_and_fields(tmp_path: Path, results: list[Result]) -> None:
    path = tmp_path / "report.json"
    write_json(path, results, summary_extra={"wall_s": 12.5, "total": "overridden"})
    doc = json.loads(path.read_text())
    summary = doc["summary"]
    assert summary["total"] == "overridden"  # summary_extra wins
    assert summary["wall_s"] == 12.5
    failed_statuses = [s for s in Status if s.failed]
    assert summary["failed"] == len(failed_statuses)
    assert summary["by_status"]["PASS"] == 1 + len(Status) - 1
    assert summary["by_status"]["SKIPPED"] == 2
    assert summary["by_status"]["MISMATCH"] == 1
    assert summary["by_backend"]["onnxruntime"] == {"PASS": len(Status) - 1, "SKIPPED": 1}
    first = doc["results"][0]
    assert list(first)[:9] == [
        "case",
        "backend",
        "status",
        "max_abs_error",
        "max_rel_error",
        "message",
        "artifact_dir",
        "prepare_s",
        "run_s",
    ]
    # Every Result field is present.
    assert set(first) == set(results[0].to_dict())
    assert first["stats"] == {"peak_mb": 12.5}


def test_json_nonfinite_is_strict_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    r = _result(
        "op.nan", "inductor", Status.MISMATCH, max_abs_error=math.nan, max_rel_error=math.inf
    )
    write_json(path, [r])
    text = path.read_text()
    assert "NaN" in text
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    (back,) = read_json(path)
    assert back.max_abs_error is not None and math.isnan(back.max_abs_error)
    assert back.max_rel_error == math.inf


def test_read_json_rejects_other_files(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"something": 1}')
    with pytest.raises(ParityError, match="not a paritykit JSON report"):
        read_json(path)
    path.write_text("{not json")
    with pytest.raises(ParityError, match="invalid JSON"):
        read_json(path)


# -- JUnit --------------------------------------------------------------------------------


def test_junit_counts_and_elements(tmp_path: Path, results: list[Result]) -> None:
    path = tmp_path / "junit.xml"
    write_junit(path, results)
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"paritykit.inductor", "paritykit.onnxruntime"}

    ind = suites["paritykit.inductor"]
    assert ind.get("tests") == str(len(Status))
    assert ind.get("failures") == "2"  # MISMATCH, XPASS
    assert ind.get("errors") == "5"  # EXPORT, LOWER, RUN, CRASH, TIMEOUT
    assert ind.get("skipped") == "3"  # UNSUPPORTED, SKIPPED, XFAIL
    ort = suites["paritykit.onnxruntime"]
    assert (ort.get("tests"), ort.get("failures"), ort.get("errors"), ort.get("skipped")) == (
        str(len(Status)),
        "0",
        "0",
        "1",
    )
    assert root.get("tests") == str(2 * len(Status))
    assert root.get("skipped") == "4"

    cases = {tc.get("name"): tc for tc in ind.findall("testcase")}
    assert len(cases) == len(Status)
    for tc in ind.findall("testcase"):
        assert tc.get("classname") == "paritykit.inductor"
        assert tc.get("time") == "0.750"

    mismatch = cases["op.mismatch[float32]"].find("failure")
    assert mismatch is not None
    assert mismatch.get("message") == "mismatch happened in op.mismatch[float32] [on inductor]"
    assert mismatch.text is not None and "parity repro op.mismatch[float32]" in mismatch.text
    assert cases["op.xpass[float32]"].find("failure") is not None

    crash = cases["op.crash[float32]"].find("error")
    assert crash is not None
    assert crash.get("type") == "CRASH"
    assert crash.text is not None and "boom op.crash[float32]" in crash.text

    skipped = cases["op.unsupported[float32]"].find("skipped")
    assert skipped is not None
    assert "unsupported happened" in (skipped.get("message") or "")

    passed = cases["op.pass[float32]"]
    assert list(passed) == []


def test_junit_strips_xml_illegal_characters(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    r = _result("op.ansi", "b", Status.RUN_ERROR, message="\x1b[31mred\x1b[0m", traceback="a\x00b")
    write_junit(path, [r], suite_name="custom")
    root = ET.parse(path).getroot()  # would raise on illegal characters
    error = root.find("testsuite/testcase/error")
    assert error is not None
    assert "red" in (error.get("message") or "")
    assert "\x1b" not in (error.get("message") or "")
    tc = root.find("testsuite/testcase")
    assert tc is not None and tc.get("classname") == "custom.b"


# -- console ------------------------------------------------------------------------------


def _console() -> Console:
    return Console(record=True, width=160, color_system=None)


def test_format_error() -> None:
    assert format_error(2e-7) == "2e-7"
    assert format_error(3.1e-2) == "3.1e-2"
    assert format_error(0.0) == "0"
    assert format_error(None) == ""
    assert format_error(math.nan) == "nan"
    assert format_error(12.0) == "1.2e1"


def test_matrix_contents(results: list[Result]) -> None:
    console = _console()
    print_matrix(console, results, ["onnxruntime", "inductor"])
    text = console.export_text()
    for r in results:
        assert r.case in text
    header = next(line for line in text.splitlines() if line.lstrip().startswith("case"))
    assert header.index("onnxruntime") < header.index("inductor")  # order as given

    def row(case: str) -> str:
        return next(line for line in text.splitlines() if line.startswith(case + " "))

    assert "✗ 3.1e-2" in row("op.mismatch[float32]")
    assert row("op.pass[float32]").count("✓ 2e-7") == 2
    for status in Status:
        if status in (Status.PASS, Status.MISMATCH):
            continue
        symbol = EXPECTED_SYMBOLS[status]
        cells = row(f"op.{status.value.lower()}[float32]").split()
        assert cells[-1] == symbol, (status, cells)
    legend = next(line for line in text.splitlines() if line.startswith("legend:"))
    for status, symbol in EXPECTED_SYMBOLS.items():
        assert f"{symbol} {status.value}" in legend
    assert "totals inductor" in text
    assert "1 pass, 7 fail, 3 other" in text
    assert f"{len(Status) - 1} pass, 0 fail, 1 other" in text


def test_matrix_missing_cells_and_unknown_backend() -> None:
    console = _console()
    rs = [
        _result("a", "x", Status.PASS, max_abs_error=0.0),
        _result("b", "y", Status.MISMATCH),
    ]
    print_matrix(console, rs, ["x"])
    text = console.export_text()
    assert "y" in text.splitlines()[0]  # backend not given in start still gets a column
    assert "· not run" in text
    assert "✓ 0" in text


def test_reporter_finish(results: list[Result]) -> None:
    console = _console()
    reporter = ConsoleReporter(console)
    reporter.start(len(results), BACKENDS, jobs=4)
    for r in results:
        reporter.on_result(r)
    reporter.finish(results, wall_s=83.24)
    text = console.export_text()
    for backend in BACKENDS:
        assert backend in text
    for r in results:
        assert r.case in text
        if r.status.failed:
            # Brackets in messages are shown literally, not eaten as rich markup.
            assert r.message in text
            assert r.repro in text
    assert "Failures (7):" in text
    expected = summary_line(results, 83.24)
    assert text.rstrip().splitlines()[-1] == expected
    assert expected.startswith(f"{len(results)} results: {len(Status)} PASS, 1 MISMATCH")
    assert expected.endswith(" 2 SKIPPED, 1 XFAIL, 1 XPASS in 83.2 s")


def test_reporter_prints_failures_immediately_and_verbose() -> None:
    ok = _result("op.ok", "inductor", Status.PASS)
    bad = _result("op.bad", "inductor", Status.MISMATCH, message="too far off")

    quiet = _console()
    reporter = ConsoleReporter(quiet, verbose=False)
    reporter.on_result(ok)
    reporter.on_result(bad)
    text = quiet.export_text()
    assert "op.ok" not in text
    assert "op.bad @ inductor" in text and "too far off" in text

    loud = _console()
    reporter = ConsoleReporter(loud, verbose=True)
    reporter.on_result(ok)
    line = loud.export_text()
    assert "PASS" in line and "op.ok @ inductor" in line
    assert "abs 2e-7" in line and "prepare 0.25s run 0.50s" in line


def test_summary_line() -> None:
    rs = [_result("a", "x", Status.PASS), _result("b", "x", Status.UNSUPPORTED)]
    assert summary_line(rs, 1.04) == "2 results: 1 PASS, 1 UNSUPPORTED in 1.0 s"
    assert summary_line(rs[:1]) == "1 result: 1 PASS"
    assert summary_line([], 0.0) == "0 results in 0.0 s"
