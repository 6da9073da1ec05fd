"""``parity bench``: the regression statistics, bench.json, the table, --save / --compare.

One module-scoped ``parity bench`` run (``bench``) of ``abs`` and ``relu`` on inductor (whose
baseline is aot-eager) and on test-only backends that mismatch, fail to lower and fail to run
feeds the end-to-end tests; --compare runs tamper with a saved copy so that the verdicts do
not depend on this machine's noise.
"""

from __future__ import annotations

import contextlib
import json
import math
import pathlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from conftest import HARNESS_BACKENDS
from paritykit.bench.stats import compare_runs, compare_samples, mann_whitney_greater
from paritykit.bench.table import bench_table
from paritykit.cli.main import main
from paritykit.core.errors import ParityError
from paritykit.files.bench import (
    SCHEMA_ID,
    BenchFailure,
    BenchRow,
    BenchRun,
    merged,
    read_bench,
    write_bench,
)
from paritykit.files.machine import differences, fingerprint

FAKES = HARNESS_BACKENDS.parent
CASES = ("abs", "relu")
FAILING = {"fake-raise": "RUN_ERROR", "fake-cacheable-lower-error": "LOWER_ERROR"}


def _row(case: str, backend: str, variant: str, median: float, samples: list[float] | None = None,
         label: str = "") -> BenchRow:
    return BenchRow(case=case, backend=backend, variant=variant, label=label or backend,
                    threads=1, median_s=median, iqr_s=0.1 * median, ci_low_s=0.9 * median,
                    ci_high_s=1.1 * median, repeats=len(samples or [median]),
                    samples_s=samples or [median])


# --- statistics -------------------------------------------------------------------------------

def test_mann_whitney_p_value_by_hand() -> None:
    # n1 = n2 = 3, fully separated: U = 9, mean 4.5, var 3*3*7/12, continuity 0.5.
    sd = (3 * 3 * 7 / 12) ** 0.5
    assert mann_whitney_greater([4, 5, 6], [1, 2, 3]) == pytest.approx(
        0.5 * math.erfc((9 - 4.5 - 0.5) / sd / math.sqrt(2)))
    assert mann_whitney_greater([1, 2, 3], [4, 5, 6]) == pytest.approx(  # U = 0
        0.5 * math.erfc((0 - 4.5 - 0.5) / sd / math.sqrt(2)))
    assert mann_whitney_greater([2.0] * 5, [2.0] * 5) == 0.5


def test_a_real_30_percent_shift_is_a_regression() -> None:
    rng = np.random.default_rng(0)
    old = list(1e-3 * rng.lognormal(0, 0.05, 30))
    new = list(1.3e-3 * rng.lognormal(0, 0.05, 30))
    change = compare_samples(new, old, threshold=0.10)
    assert change.verdict == "regression"
    assert change.change == pytest.approx(0.3, abs=0.05)
    assert change.p_slower < 1e-6
    assert compare_samples(old, new, threshold=0.10).verdict == "improvement"


def test_pure_noise_pairs_are_not_flagged_even_without_a_threshold() -> None:
    flagged = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        a, b = (list(1e-3 * rng.lognormal(0, 0.2, 25)) for _ in range(2))
        flagged += compare_samples(a, b, threshold=0.0).verdict == "regression"
    assert flagged <= 3  # ~5% false positives at alpha = 0.05 (1 of 20 expected)


def test_a_certain_but_small_slowdown_is_below_the_threshold() -> None:
    rng = np.random.default_rng(1)
    old = list(1e-3 * rng.lognormal(0, 0.001, 30))
    new = list(1.05e-3 * rng.lognormal(0, 0.001, 30))
    change = compare_samples(new, old, threshold=0.10)
    assert change.p_slower < 1e-6
    assert change.verdict == "same"


def test_compare_runs_matches_rows_by_case_backend_variant_threads() -> None:
    old = BenchRun(machine={}, rows=[_row("a", "x", "optimized", 1.0, [1.0, 1.01, 0.99] * 4),
                                     _row("gone", "x", "optimized", 1.0)])
    new = BenchRun(machine={}, rows=[_row("a", "x", "optimized", 2.0, [2.0, 2.02, 1.98] * 4),
                                     _row("a", "x", "baseline", 1.0)])
    changes = compare_runs(old, new)
    assert [(r.key, c.verdict) for r, c in changes] == [(("a", "x", "optimized", 1),
                                                          "regression")]


def test_fingerprint_differences_name_the_field() -> None:
    here = fingerprint({"iree": {"iree-base-compiler": "3.1"}})
    assert {"cpu", "cores", "platform", "python", "torch"} <= set(here)
    there = json.loads(json.dumps(here))
    there["cpu"] = "Other CPU"
    there["versions"]["iree"]["iree-base-compiler"] = "3.0"
    lines = differences(there, here)
    assert any(line.startswith("cpu: 'Other CPU'") for line in lines)
    assert "iree iree-base-compiler: 3.0 -> 3.1" in lines
    assert differences(here, here) == []


def test_backends_that_need_their_own_process_are_timed_last() -> None:
    from paritykit.bench.runner import order_backends, variants
    from paritykit.core.registry import load_plugin

    load_plugin(str(HARNESS_BACKENDS))
    assert order_backends(["fake-own-process", "inductor", "onnxruntime", "inductor"]) == [
        "inductor", "onnxruntime", "fake-own-process"]
    assert [(v.variant, v.runs_on, v.label) for v in variants("iree")] == [
        ("optimized", "iree", "iree"), ("baseline", "iree", "iree --iree-opt-level=O0")]
    assert [v.variant for v in variants("torch-export")] == ["optimized"]


# --- table and store --------------------------------------------------------------------------

def test_the_table_shows_times_speedups_and_statuses() -> None:
    run = BenchRun(machine={}, rows=[
        _row("c", "torch", "reference", 4e-3, label="torch eager"),
        _row("c", "inductor", "optimized", 1e-3),
        _row("c", "inductor", "baseline", 2e-3, label="aot-eager"),
    ], failures=[BenchFailure("c", "iree", "optimized", "iree", 1, "LOWER_ERROR", "boom")])
    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(bench_table(run))
    text = console.export_text()
    line = next(x for x in text.splitlines() if "inductor" in x)
    assert "aot-eager" in line and "2.00×" in line and "4.00×" in line
    assert "1 ±5%" in line  # 1 ms with IQR 10% of the median
    assert "LOWER_ERROR" in next(x for x in text.splitlines() if "iree" in x)


def test_an_invalid_bench_file_names_the_field(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "bench.json"
    path.write_text(json.dumps({"schema": SCHEMA_ID, "machine": {}, "created": "now",
                                "rows": [{"case": "a"}]}))
    with pytest.raises(ParityError, match=r"bench.json: \$\.rows\[0\]: 'backend' is a required"):
        read_bench(path)


def test_a_new_run_replaces_only_the_rows_it_measured_again(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "bench.json"
    assert merged(path, BenchRun(machine={})).rows == []  # no earlier file
    write_bench(path, BenchRun(machine={}, rows=[_row("a", "x", "optimized", 1.0),
                                                 _row("b", "x", "optimized", 1.0)],
                               failures=[BenchFailure("c", "x", "optimized", "x", 1, "CRASH",
                                                      "c @ x: boom")]))
    new = BenchRun(machine={"cpu": "now"}, rows=[_row("a", "x", "optimized", 2.0)],
                   failures=[BenchFailure("b", "x", "optimized", "x", 1, "TIMEOUT", "b @ x")])
    run = merged(path, new)
    assert run.machine == {"cpu": "now"}
    assert [(r.case, r.median_s) for r in run.rows] == [("a", 2.0)]
    assert [(f.case, f.status) for f in run.failures] == [("c", "CRASH"), ("b", "TIMEOUT")]


# --- end to end -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory,
          registries: Callable[[], contextlib.AbstractContextManager[None]]
          ) -> Iterator[dict[str, Any]]:
    out = tmp_path_factory.mktemp("bench")
    with registries():
        code = main(["bench", *CASES, "-b", "inductor,fake-offset," + ",".join(FAILING),
                     "-p", str(HARNESS_BACKENDS), "-p", str(FAKES / "crashing_backends.py"),
                     "--budget", "0.05", "--artifact-dir", str(out / "art"),
                     "--save", "base", "--bench-dir", str(out / "saved")])
        yield {"code": code, "dir": out, "doc": json.loads((out / "art/bench.json").read_text())}


@pytest.mark.slow
def test_bench_writes_a_valid_bench_json(bench: dict[str, Any]) -> None:
    assert bench["code"] == 0
    doc = bench["doc"]
    run = BenchRun.from_dict(doc, "bench.json")  # validates against the schema
    assert doc["schema"] == SCHEMA_ID
    assert {"cpu", "cores", "platform", "python", "torch"} <= set(doc["machine"])
    assert "inductor" in doc["machine"]["versions"]
    rows = {(r.case, r.backend, r.variant): r for r in run.rows}
    for case in CASES:
        assert rows[(case, "torch", "reference")].label == "torch eager"
        assert rows[(case, "inductor", "optimized")].status == "PASS"
        assert rows[(case, "inductor", "baseline")].label == "aot-eager"
        assert rows[(case, "fake-offset", "optimized")].status == "MISMATCH"
        failures = {(f.backend, f.status) for f in run.failures if f.case == case}
        assert failures == set(FAILING.items())
    for row in run.rows:
        assert row.threads == 1 and row.repeats == len(row.samples_s) >= 10
        assert row.ci_low_s <= row.median_s <= row.ci_high_s
        assert 0 < row.median_s < 0.05


@pytest.mark.slow
def test_bench_prints_one_compact_table(bench: dict[str, Any],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    # The module fixture's output went to an earlier test's capture; render from the file.
    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(bench_table(read_bench(bench["dir"] / "art/bench.json")))
    text = console.export_text()
    line = next(x for x in text.splitlines() if "abs" in x and "inductor" in x)
    assert "aot-eager" in line and line.count("×") >= 2 and line.rstrip(" │").endswith("ok")
    assert "RUN_ERROR" in text and "LOWER_ERROR" in text and "optimized MISMATCH" in text


def _tampered(bench: dict[str, Any], name: str, factor: float, cpu: str | None = None) -> None:
    """A copy of the saved run with every sample scaled (and maybe another CPU)."""
    saved = bench["dir"] / "saved"
    doc = json.loads((saved / "base.json").read_text())
    for row in doc["rows"]:
        row["samples_s"] = [s * factor for s in row["samples_s"]]
        row["median_s"] *= factor
    if cpu:
        doc["machine"]["cpu"] = cpu
    (saved / f"{name}.json").write_text(json.dumps(doc))


@pytest.mark.slow
def test_compare_with_a_faster_saved_run_is_a_regression(
        bench: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    _tampered(bench, "fast", 0.25, cpu="Some Other CPU")
    code = main(["bench", "abs", "-b", "fake-offset", "-p", str(HARNESS_BACKENDS),
                 "--budget", "0.05", "--artifact-dir", str(bench["dir"] / "again"),
                 "--compare", "fast", "--bench-dir", str(bench["dir"] / "saved")])
    captured = capsys.readouterr()
    assert code == 1
    assert "regression" in captured.out and "2 regression(s)" in captured.out
    assert "machine differs from saved run fast: cpu: 'Some Other CPU'" in captured.err


@pytest.mark.slow
def test_compare_with_a_slower_saved_run_passes(
        bench: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    _tampered(bench, "slow", 4.0)
    code = main(["bench", "abs", "-b", "fake-offset", "-p", str(HARNESS_BACKENDS),
                 "--budget", "0.05", "--artifact-dir", str(bench["dir"] / "again2"),
                 "--compare", "slow", "--bench-dir", str(bench["dir"] / "saved")])
    captured = capsys.readouterr()
    assert code == 0
    assert "improvement" in captured.out and "regression" not in captured.out
    assert "machine differs" not in captured.err


@pytest.mark.parametrize(("argv", "message"), [
    (["--compare", "nope"], "no saved bench run 'nope'"),
    (["--save", "../x"], "bench run name '../x'"),
    (["--threads", "0"], "--threads values must be at least 1"),
    (["-b", "no-such-backend"], "unknown backend 'no-such-backend'"),
    (["-k", "no_case_is_called_this"], "no case matches"),
])
def test_usage_errors_exit_2_with_a_message(argv: list[str], message: str,
                                            tmp_path: pathlib.Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["bench", "abs", *argv, "--artifact-dir", str(tmp_path),
                 "--bench-dir", str(tmp_path / "saved")])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "bench.json").exists()
