"""``parity eval``: validate / trace / bench / run on built-in models, suites, dumps.

Most tests run backends in this process (``--in-process``) to stay fast; one test checks that
an isolated backend which crashes costs exactly its own result.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

from conftest import CRASHING_BACKENDS, FAKES, read_jsonl
from paritykit.cli.main import main

PERTURB = str(FAKES / "perturb_backend.py")
ROOT = pathlib.Path(__file__).resolve().parents[1]


def _eval(tmp_path: pathlib.Path, *args: str, isolate: bool = False) -> list[str]:
    argv = ["eval", *args, "--artifact-dir", str(tmp_path / "out")]
    return argv if isolate else [*argv, "--in-process"]


def _err(capsys: pytest.CaptureFixture[str]) -> str:
    """stderr with rich's line wrapping undone."""
    return " ".join(capsys.readouterr().err.split())


def _trace(tmp_path: pathlib.Path, model: str) -> dict:
    return json.loads((tmp_path / "out" / f"trace-{model}-fake-perturb.json").read_text())


@pytest.mark.parametrize(("model", "module"), [("small_cnn", "features.4"), ("mlp", "layers.2")])
def test_trace_names_exactly_the_perturbed_module(tmp_path: pathlib.Path, model: str,
                                                  module: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code = main(_eval(tmp_path, "--model", model, "--workload", "trace", "-b", "fake-perturb",
                      "-p", PERTURB, "--backend-option", f"fake-perturb.module={module}"))
    out = capsys.readouterr().out
    assert code == 1, out
    report = _trace(tmp_path, model)
    assert report["schema"] == "paritykit-trace/1"
    assert report["first_mismatch"] == module
    statuses = {r["module"]: r["status"] for r in report["rows"]}
    # Every other module gets the reference's inputs, so only the planted one diverges.
    assert [m for m, s in statuses.items() if s != "PASS"] == [module]
    assert f"first mismatch: {module}" in out


def test_trace_stops_on_first_mismatch_in_resnet(tmp_path: pathlib.Path) -> None:
    code = main(_eval(tmp_path, "--model", "resnet18", "--workload", "trace", "-b",
                      "fake-perturb", "-p", PERTURB, "--stop-on-first-mismatch",
                      "--backend-option", "fake-perturb.module=layer1.0.conv2"))
    report = _trace(tmp_path, "resnet18")
    assert code == 1
    assert report["first_mismatch"] == "layer1.0.conv2"
    assert report["rows"][-1]["module"] == "layer1.0.conv2"  # nothing traced after it
    assert report["rows"][0]["module"] == "conv1"


def test_trace_depth_traces_coarser_modules(tmp_path: pathlib.Path) -> None:
    code = main(_eval(tmp_path, "--model", "small_cnn", "--workload", "trace", "-b",
                      "fake-perturb", "-p", PERTURB, "--trace-depth", "1",
                      "--backend-option", "fake-perturb.module=features.4"))
    report = _trace(tmp_path, "small_cnn")
    assert code == 1
    assert [r["module"] for r in report["rows"]] == ["features", "pool", "classifier"]
    assert report["first_mismatch"] == "features"  # the stage that contains features.4


def test_trace_all_covers_parents_after_their_children(tmp_path: pathlib.Path) -> None:
    # A parent whose own code (between its children) diverges: leaves alone cannot see it.
    code = main(_eval(tmp_path, "--model", "mlp", "--workload", "trace", "-b", "fake-perturb",
                      "-p", PERTURB, "--trace-all",
                      "--backend-option", "fake-perturb.module=layers"))
    report = _trace(tmp_path, "mlp")
    assert code == 1
    assert [r["module"] for r in report["rows"]] == [
        "layers.0", "layers.1", "layers.2", "layers.3", "layers", "head"]
    assert report["first_mismatch"] == "layers"


def test_trace_float64_oracle_tells_rounding_from_errors(tmp_path: pathlib.Path) -> None:
    # Exact tolerances make every rounding difference a values mismatch; a backend computing
    # in float64 is closer to the truth than eager, so the oracle calls each of them rounding.
    rules = tmp_path / "exact.json"
    rules.write_text(json.dumps({"rules": [{"backend": "fake-perturb", "atol": 0, "rtol": 0,
                                            "reason": "exact, to exercise the oracle"}]}))
    code = main(_eval(tmp_path, "--model", "small_cnn", "--workload", "trace", "-b",
                      "fake-perturb", "-p", PERTURB, "--tolerances", str(rules),
                      "--backend-option", "fake-perturb.float64=1"))
    report = _trace(tmp_path, "small_cnn")
    assert code == 0 and report["first_mismatch"] is None
    judged = [r for r in report["rows"] if r["oracle"]]
    assert judged and all(r["status"] == "PASS" and "float32 rounding" in r["message"]
                          for r in judged)


def test_oracle_does_not_excuse_a_real_error() -> None:
    import torch

    from paritykit.evaluate.capture import capture_calls
    from paritykit.evaluate.oracle import float32_noise, float64_outputs

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(512, 64))
    (call,) = capture_calls(model, (torch.randn(4, 512),))
    oracle = float64_outputs(call)
    assert oracle is not None
    expected = [t.numpy() for t in call.outputs]
    assert float32_noise(expected, expected, oracle)[0]
    assert not float32_noise([expected[0] + np.float32(1e-3)], expected, oracle)[0]


@pytest.mark.slow
def test_validate_passes_on_real_backends_and_appends_results(
        tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    for model in ("mlp", "small_cnn"):
        code = main(_eval(tmp_path, "--model", model, "-b", "torch,onnxruntime"))
        assert code == 0, capsys.readouterr().out
    lines = read_jsonl(tmp_path / "out" / "results.jsonl")
    assert {(r["case"], r["backend"], r["status"]) for r in lines} == {
        (f"model:{m}", b, "PASS") for m in ("mlp", "small_cnn") for b in ("torch", "onnxruntime")}
    onnx = next(r for r in lines if r["backend"] == "onnxruntime")
    assert onnx["atol"] == 1e-4 and "many layers" in onnx["tolerance_source"]


def test_validate_reports_mismatch_of_a_perturbed_layer(
        tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(_eval(tmp_path, "--model", "mlp", "-b", "torch,fake-perturb", "-p", PERTURB,
                      "--backend-option", "fake-perturb.module=layers.0"))
    out = capsys.readouterr().out
    assert code == 1
    results = {r["backend"]: r for r in read_jsonl(tmp_path / "out" / "results.jsonl")}
    assert results["torch"]["status"] == "PASS"
    assert results["fake-perturb"]["status"] == "MISMATCH"
    assert "model:mlp @ fake-perturb: values differ" in results["fake-perturb"]["message"]
    assert "MISMATCH" in out


def test_validate_tolerance_rules_reach_the_comparator(tmp_path: pathlib.Path) -> None:
    rules = tmp_path / "tol.json"
    rules.write_text(json.dumps({"rules": [{"backend": "fake-perturb", "test": "model:mlp",
                                            "atol": 0.5, "reason": "planted offset"}]}))
    code = main(_eval(tmp_path, "--model", "mlp", "-b", "fake-perturb", "-p", PERTURB,
                      "--tolerances", str(rules),
                      "--backend-option", "fake-perturb.module=layers.0"))
    (result,) = read_jsonl(tmp_path / "out" / "results.jsonl")
    assert code == 0 and result["status"] == "PASS"
    assert result["atol"] == 0.5 and "planted offset" in result["tolerance_source"]


@pytest.mark.slow
def test_isolated_backend_crash_costs_only_its_result(tmp_path: pathlib.Path) -> None:
    code = main(_eval(tmp_path, "--model", "mlp", "-b", "fake-segfault,torch", "-p",
                      str(CRASHING_BACKENDS), isolate=True))
    results = {r["backend"]: r for r in read_jsonl(tmp_path / "out" / "results.jsonl")}
    assert code == 1
    assert results["fake-segfault"]["status"] == "CRASH"
    assert "signal" in results["fake-segfault"]["message"]
    assert results["torch"]["status"] == "PASS"


def test_lowering_error_is_a_result_not_a_crash(tmp_path: pathlib.Path) -> None:
    code = main(_eval(tmp_path, "--model", "mlp", "-b", "fake-raise,torch", "-p",
                      str(CRASHING_BACKENDS)))
    results = {r["backend"]: r["status"] for r in read_jsonl(tmp_path / "out" / "results.jsonl")}
    assert code == 1
    assert results == {"fake-raise": "RUN_ERROR", "torch": "PASS"}


def test_bench_writes_schema_rows_per_thread_count(tmp_path: pathlib.Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from paritykit.files.bench import read_bench

    code = main(_eval(tmp_path, "--model", "mlp", "--workload", "bench", "-b", "torch-export",
                      "--threads", "1", "2", "--bench-budget", "0.05"))
    out = capsys.readouterr().out
    assert code == 0, out
    run = read_bench(tmp_path / "out" / "bench.json")  # validates paritykit-bench/1
    keys = {(r.case, r.backend, r.variant, r.threads) for r in run.rows}
    assert keys == {("model:mlp", b, v, t) for b, v in (("torch", "reference"),
                                                         ("torch-export", "optimized"))
                    for t in (1, 2)}
    assert all(r.median_s > 0 and r.ci_low_s <= r.median_s <= r.ci_high_s for r in run.rows)
    assert "speedup vs eager" in out and "1.00x" in out  # the reference against itself


def test_bench_reference_timed_before_and_after_is_pooled() -> None:
    from paritykit.evaluate.bench import BenchOutcome, pool_reference

    def outcome(samples: list[float]) -> BenchOutcome:
        return BenchOutcome([{"case": "model:mlp", "samples_s": samples, "median_s": 0.0,
                              "iqr_s": 0.0, "ci_low_s": 0.0, "ci_high_s": 0.0,
                              "repeats": len(samples)}])

    # A burst of load during the first timing: pooled, the median follows the majority.
    pooled = pool_reference(outcome([9.0, 9.0, 9.0]), outcome([1.0, 1.0, 1.0, 1.0, 1.0]))
    (row,) = pooled.rows
    assert row["median_s"] == 1.0 and row["repeats"] == 8 and len(row["samples_s"]) == 8
    assert row["ci_low_s"] <= row["median_s"] <= row["ci_high_s"]
    # A reference timed only once (the other job failed) is kept as it was.
    (alone,) = pool_reference(outcome([2.0]), BenchOutcome()).rows
    assert alone["samples_s"] == [2.0]


def test_bench_language_model_prefill_and_decode(tmp_path: pathlib.Path) -> None:
    for model in ("mlp", "gpt2-tiny"):  # the second run adds to the first one's file
        code = main(_eval(tmp_path, "--model", model, "--workload", "bench", "-b", "torch",
                          "--bench-tokens", "1", "8", "--bench-budget", "0.05"))
        assert code == 0
    data = json.loads((tmp_path / "out" / "bench.json").read_text())
    items = {(r["case"], r["variant"]): r["items"] for r in data["rows"]}
    assert items == {("model:mlp", "reference"): 1, ("model:mlp", "optimized"): 1,
                     ("model:gpt2-tiny:decode1", "reference"): 1,
                     ("model:gpt2-tiny:decode1", "optimized"): 1,
                     ("model:gpt2-tiny:prefill8", "reference"): 8,
                     ("model:gpt2-tiny:prefill8", "optimized"): 8}


def _run_table(out: str) -> dict[str, str]:
    return {line.split("│")[1].strip(): line for line in out.splitlines()
            if line.startswith("│") and "│" in line[1:]}


@pytest.mark.slow
@pytest.mark.parametrize("extra", [[], ["--kv-cache"], ["--temperature", "0.8"]])
def test_run_generation_matches_eager_on_torch_export(
        tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], extra: list[str]) -> None:
    from paritykit.evaluate import EvalOptions, execute

    options = EvalOptions("gpt2-tiny", "run", backends=("torch-export",), prompt="Hi there",
                          max_tokens=6, artifact_dir=str(tmp_path / "out"), isolate=False,
                          kv_cache="--kv-cache" in extra,
                          temperature=0.8 if "--temperature" in extra else 0.0, seed=3)
    first = execute(options)
    assert first.eager is not None and len(first.eager.tokens) == 6
    assert [r.status for r in first.runs] == ["PASS"]
    assert first.runs[0].tokens == first.eager.tokens  # the compiled step generates the same
    if options.temperature:  # sampling: --seed makes it repeatable
        assert execute(options).runs[0].tokens == first.runs[0].tokens


def test_run_classification_reads_input_file(tmp_path: pathlib.Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    image = np.random.default_rng(0).standard_normal((3, 32, 32)).astype(np.float32)
    np.save(tmp_path / "img.npy", image)
    code = main(_eval(tmp_path, "--model", "small_cnn", "--workload", "run", "-b",
                      "torch-export", "--input", str(tmp_path / "img.npy")))
    out = capsys.readouterr().out
    assert code == 0, out
    rows = _run_table(out)
    assert set(rows) >= {"torch eager", "torch-export"}
    assert "yes" in rows["torch-export"]
    assert "top-1 class: every backend agrees with eager" in out


def test_run_input_of_wrong_shape_is_a_usage_error(tmp_path: pathlib.Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    np.save(tmp_path / "bad.npy", np.zeros((5, 5), np.float32))
    code = main(_eval(tmp_path, "--model", "small_cnn", "--workload", "run", "-b", "torch",
                      "--input", str(tmp_path / "bad.npy")))
    err = _err(capsys)
    assert code == 2
    assert "bad.npy: shape [5, 5] does not fit model small_cnn (wants [N, 3, 32, 32])" in err


def test_dump_writes_lowered_program_and_activations(tmp_path: pathlib.Path) -> None:
    from safetensors.numpy import load_file

    dump = tmp_path / "dump"
    code = main(_eval(tmp_path, "--model", "mlp", "-b", "torch-export", "--dump-dir", str(dump),
                      "--dump-mode", "all"))
    assert code == 0
    assert (dump / "mlp" / "torch-export" / "program.pt2").is_file()
    assert "aten.linear" in (dump / "mlp" / "exported_program.txt").read_text()
    activations = load_file(str(dump / "mlp" / "activations.safetensors"))
    assert {"layers.0.input_0", "layers.0.output_0", "head.output_0"} <= set(activations)
    assert activations["head.output_0"].shape == (1, 10)


def test_profile_prints_torch_profiler_table(tmp_path: pathlib.Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code = main(_eval(tmp_path, "--model", "mlp", "-b", "torch-export", "--profile"))
    out = capsys.readouterr().out
    assert code == 0
    assert "torch.profiler" in out and "aten::" in out


@pytest.mark.parametrize(("entry", "where"), [
    ({"model": "mlp", "workload": "train"}, "$[1].workload"),
    ({"model": "mlp", "workload": "bench", "threads": [0]}, "$[1].threads[0]"),
    ({"model": "nope", "workload": "validate"}, "$[1].model: unknown model 'nope'"),
    ({"model": "mlp", "workload": "run", "backends": ["nope"]}, "$[1].backends[0]"),
    ({"model": "mlp", "workload": "run", "colour": "red"}, "$[1]: Additional properties"),
])
def test_suite_errors_name_file_and_json_path(tmp_path: pathlib.Path, entry: dict, where: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    suite = tmp_path / "suite.json"
    suite.write_text(json.dumps([{"model": "mlp", "workload": "validate"}, entry]))
    code = main(_eval(tmp_path, "--suite", str(suite)))
    err = _err(capsys)
    assert code == 2
    assert f"{suite}: {where}" in err


def test_suite_runs_entries_in_order(tmp_path: pathlib.Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    suite = tmp_path / "suite.json"
    suite.write_text(json.dumps([
        {"model": "mlp", "workload": "validate", "backends": ["torch"]},
        {"model": "small_cnn", "workload": "validate", "backends": ["torch"], "seed": 4}]))
    code = main(_eval(tmp_path, "--suite", str(suite)))
    out = capsys.readouterr().out
    assert code == 0, out
    assert [r["case"] for r in read_jsonl(tmp_path / "out" / "results.jsonl")] == [
        "model:mlp", "model:small_cnn"]
    assert out.index("validate mlp") < out.index("validate small_cnn")


@pytest.mark.parametrize("name", ["vision.json", "gpt2-tiny.json"])
def test_example_suites_are_valid(name: str) -> None:
    from paritykit.evaluate import EvalOptions, load_suite

    entries = load_suite(ROOT / "examples" / "eval_suites" / name, EvalOptions("", "validate"))
    assert entries and {e.workload for e in entries} <= {"validate", "trace", "bench", "run"}


def test_unknown_model_is_a_usage_error(tmp_path: pathlib.Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    code = main(_eval(tmp_path, "--model", "resnet9000"))
    assert code == 2
    assert "unknown model 'resnet9000'" in _err(capsys)
