"""JSON test definitions (seed 003): schema errors, argspec, weights, cache keys, the three test
types on real backends, the pytest items and ``parity run --test-file-directory``."""

from __future__ import annotations

import hashlib
import json
import pathlib
import shutil
from typing import Any

import numpy as np
import pytest

from paritykit.cli.main import main
from paritykit.core.registry import BACKENDS
from paritykit.core.result import Status
from paritykit.jsontests import (
    DefinitionError,
    JsonOptions,
    collect,
    load_test,
    parse_test,
    run_entry,
)
from paritykit.jsontests.argspec import ArgSpec, materialize, parse_argspec
from paritykit.jsontests.definitions import schema
from paritykit.jsontests.weights import random_state, scoped

pytest_plugins = ["pytester"]

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples" / "json"
needs_iree = pytest.mark.skipif(BACKENDS.get("iree").is_available() is not None,
                                reason="iree is not installed")
needs_ort = pytest.mark.skipif(BACKENDS.get("onnxruntime").is_available() is not None,
                               reason="onnxruntime is not installed")

QUALITY: dict[str, Any] = {
    "type": "quality", "markers": ["cpu"], "modules": ["modules/add"],
    "inputs": [{"value": "2x3xf32=1,2,3,4,5,6"}, {"value": "2x3xf32=1"}],
    "expected_outputs": [{"value": "2x3xf32=4,9,16,25,36,49"}],
}


def write(directory: pathlib.Path, name: str, data: Any) -> pathlib.Path:
    """Write ``data`` as ``directory/name`` (JSON unless it is a string)."""
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def options(tmp_path: pathlib.Path, test_dir: pathlib.Path | None = None,
            **kwargs: Any) -> JsonOptions:
    """Tests in ``test_dir`` (default tmp_path/tests), modules and files from the examples."""
    return JsonOptions(test_dir=test_dir or tmp_path / "tests", module_dir=EXAMPLES,
                       external_dir=EXAMPLES, artifact_dir=tmp_path / "artifacts",
                       benchmark_budget_s=0.2, **kwargs)


def run_one(tmp_path: pathlib.Path, data: dict[str, Any], backend: str, name: str = "t.json",
            **kwargs: Any) -> Any:
    """Write one definition, collect it for ``backend`` and run the single entry."""
    write(tmp_path / "tests", name, data)
    opts = options(tmp_path, **kwargs)
    entries = [e for e in collect(opts, [backend]) if e.name == pathlib.Path(name).stem]
    assert len(entries) == 1, entries
    return run_entry(entries[0], opts)


# --- validation: every message names the file and the JSON path of the field -----------------

@pytest.mark.parametrize(("change", "path", "expected"), [
    ({"inputs": None}, "$.inputs", "required field missing (a quality test needs it)"),
    ({"markers": "cpu"}, "$.markers", "is not of type 'array'"),
    ({"type": "qualty"}, "$.type", "unknown test type 'qualty'; expected one of quality"),
    ({"inputs": [{"value": "2x3xq7=1"}]}, "$.inputs[0].value", "unknown element type 'q7'"),
    ({"inputs": [{"value": "2x3xf32=1,2"}]}, "$.inputs[0].value", "2 element(s) given"),
    ({"inputs": [{"size": 3}]}, "$.inputs[0]", "Additional properties"),
    ({"weights": [{"type": "url", "url": "w.safetensors", "sha256": "abc"}]},
     "$.weights[0].sha256", "'abc' is not a sha256 (64 hex digits)"),
    ({"run_args": ["--print-statistics"]}, "$.run_args[0]", "unsupported run argument"),
    ({"golden_time_ms": 3}, "$", "'golden_time_ms' was unexpected"),
])
def test_schema_errors_name_file_and_field(tmp_path: pathlib.Path, change: dict[str, Any],
                                           path: str, expected: str) -> None:
    data = {k: v for k, v in {**QUALITY, **change}.items() if v is not None}
    file = write(tmp_path, "broken.json", data)
    with pytest.raises(DefinitionError) as info:
        load_test(file, "tests/broken.json")
    text = str(info.value)
    assert f"tests/broken.json: {path}" in text
    assert expected in text
    assert "Traceback" not in text


def test_invalid_json_names_line(tmp_path: pathlib.Path) -> None:
    file = write(tmp_path, "bad.json", '{"type": "quality",\n "markers": [}')
    with pytest.raises(DefinitionError, match=r"bad\.json: not valid JSON: .*line 2"):
        load_test(file, "bad.json")


def test_module_definition_is_validated(tmp_path: pathlib.Path) -> None:
    write(tmp_path / "mods", "m.json", {"mlir": "x.mlir"})  # compiler_flags missing
    write(tmp_path / "tests", "t.json", {**QUALITY, "modules": ["m"]})
    opts = JsonOptions(tmp_path / "tests", tmp_path / "mods", tmp_path, tmp_path / "a")
    (entry,) = collect(opts, ["iree"])
    assert entry.error.startswith(f"{tmp_path / 'mods' / 'm.json'}: $")
    assert "compiler_flags" in entry.error


def test_published_schema_is_draft_2020_12() -> None:
    assert schema("test")["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema("test")["$defs"]) >= {"quality", "benchmark", "compstat", "argspec"}


def test_docs_publish_the_schema_and_a_valid_example() -> None:
    import re

    doc = (EXAMPLES.parents[1] / "docs" / "json-tests.md").read_text()
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", doc, re.S)]
    assert schema("test") in blocks and schema("module") in blocks
    examples = [b for b in blocks if b.get("type") in ("quality", "benchmark", "compstat")]
    assert examples
    for example in examples:
        parse_test(example, "doc", "docs/json-tests.md")


def test_bad_file_is_one_error_entry_and_others_still_collect(tmp_path: pathlib.Path) -> None:
    write(tmp_path / "tests", "good.json", QUALITY)
    write(tmp_path / "tests", "bad.json", {**QUALITY, "type": "speed"})
    entries = collect(options(tmp_path), ["iree", "onnxruntime"])
    by_name = {e.id: e for e in entries}
    assert set(by_name) == {"bad", "good[iree]"}  # onnxruntime takes no mlir module
    result = run_entry(by_name["bad"], options(tmp_path))
    assert result.status is Status.RUN_ERROR
    assert "bad.json: $.type: unknown test type 'speed'" in result.message


# --- argspec and weights -------------------------------------------------------------------

def test_argspec_forms(tmp_path: pathlib.Path) -> None:
    np.save(tmp_path / "x.npy", np.arange(3, dtype=np.int64))
    np.arange(6, dtype=np.float32).tofile(tmp_path / "raw.bin")
    from safetensors.numpy import save_file

    save_file({"a": np.ones(2, np.float16), "b": np.zeros(1, np.float32)},
              str(tmp_path / "t.safetensors"))

    def get(value: str) -> np.ndarray:
        spec = parse_argspec({"value": value}, "$.inputs[0]")
        return materialize(spec, lambda p: tmp_path / p, lambda *a: pathlib.Path())

    assert get("2x2xi32=1 2 3 4").tolist() == [[1, 2], [3, 4]]
    assert get("[2]x3xf32=7".replace("[2]", "2")).tolist() == [[7.0] * 3] * 2
    assert get("2xf16").dtype == np.float16 and not get("2xf16").any()
    assert get("f32=1.5").shape == ()
    assert get("x.npy").tolist() == [0, 1, 2]
    assert get("2x3xf32=@raw.bin")[1, 2] == 5.0
    assert get("t.safetensors#a").dtype == np.float16
    with pytest.raises(ValueError, match="holds 2 tensors"):
        get("t.safetensors")
    with pytest.raises(ValueError, match="holds 6 float32 element"):
        get("4xf32=@raw.bin")


def test_argspec_url_is_downloaded_once_and_verified(tmp_path: pathlib.Path) -> None:
    from paritykit.jsontests.fetch import Fetcher

    np.save(tmp_path / "x.npy", np.ones(2, np.float32))
    digest = hashlib.sha256((tmp_path / "x.npy").read_bytes()).hexdigest()
    fetcher = Fetcher(tmp_path, tmp_path / "art")
    spec = ArgSpec("$.inputs[0]", url=(tmp_path / "x.npy").as_uri(), sha256=digest)
    assert materialize(spec, fetcher.resolve, fetcher.fetch).tolist() == [1.0, 1.0]
    assert len(list((tmp_path / "art" / "downloads").rglob("x.npy"))) == 1
    wrong = ArgSpec("$.inputs[0]", url=(tmp_path / "x.npy").as_uri(), sha256="0" * 64)
    with pytest.raises(DefinitionError, match=f"sha256 mismatch .* says {'0' * 64}, the file "
                                              f"has {digest}"):
        materialize(wrong, fetcher.resolve, fetcher.fetch)


def test_random_weights_are_seeded_and_scope_strips_prefix() -> None:
    import torch

    a, b = random_state(torch.nn.Linear(3, 2), 1), random_state(torch.nn.Linear(3, 2), 1)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["weight"], random_state(torch.nn.Linear(3, 2), 2)["weight"])
    assert sorted(scoped({"model.fc.weight": 1, "opt.x": 2}, "model")) == ["fc.weight"]


def test_weights_sha256_mismatch_names_file_path_and_hashes(tmp_path: pathlib.Path) -> None:
    data = json.loads((EXAMPLES / "mlp_quality.json").read_text())
    data["weights"][0]["sha256"] = "f" * 64
    result = run_one(tmp_path, data, "torch", name="mlp_bad.json")
    assert result.status is Status.RUN_ERROR
    assert "mlp_bad.json: $.weights[0].url: sha256 mismatch" in result.message
    assert "f" * 64 in result.message
    actual = hashlib.sha256((EXAMPLES / "data" / "mlp.safetensors").read_bytes()).hexdigest()
    assert actual in result.message


# --- the three test types on real backends ---------------------------------------------------

@needs_iree
def test_quality_pass_and_wrong_expected_output(tmp_path: pathlib.Path) -> None:
    assert run_one(tmp_path, QUALITY, "iree", "good.json").status is Status.PASS
    wrong = {**QUALITY, "expected_outputs": [{"value": "2x3xf32=4,9,16,25,36,50"}]}
    result = run_one(tmp_path, wrong, "iree", "wrong.json")
    assert result.status is Status.MISMATCH
    assert result.message.startswith("wrong @ iree: values differ — 1 / 6 (16.67%) mismatched")
    assert "at [1, 2] (got 49, expected 50)" in result.message


@pytest.mark.slow
def test_quality_torch_module_with_file_weights(tmp_path: pathlib.Path) -> None:
    data = json.loads((EXAMPLES / "mlp_quality.json").read_text())
    result = run_one(tmp_path, data, "torch-export", "mlp.json")
    assert result.status is Status.PASS, result.message
    data["expected_outputs"] = [{"value": "data/mlp_random_expected.npy"}]
    assert run_one(tmp_path, data, "torch-export", "mlp2.json").status is Status.MISMATCH


@needs_iree
@pytest.mark.slow
def test_compiled_cache_key_follows_flags_and_force(tmp_path: pathlib.Path) -> None:
    mods = tmp_path / "mods"
    shutil.copy(EXAMPLES / "data" / "add.mlir", tmp_path / "add.mlir")
    write(mods, "add.json", {"mlir": "add.mlir", "compiler_flags": []})
    write(tmp_path / "tests", "t.json", {**QUALITY, "modules": ["add"]})

    def cache(force: bool = False) -> str:
        opts = JsonOptions(tmp_path / "tests", mods, tmp_path, tmp_path / "art",
                           force_recompile=force)
        (entry,) = collect(opts, ["iree"])
        result = run_entry(entry, opts)
        assert result.status is Status.PASS, result.message
        return result.cache

    assert cache() == "miss"
    assert cache() == "hit"
    write(mods, "add.json", {"mlir": "add.mlir", "compiler_flags": ["--iree-opt-level=O1"]})
    assert cache() == "miss"  # flags changed: recompiled
    assert cache() == "hit"
    assert cache(force=True) == "forced"
    (tmp_path / "add.mlir").write_text((tmp_path / "add.mlir").read_text() + "\n// edited\n")
    assert cache() == "miss"  # content changed: recompiled


@needs_iree
def test_benchmark_generous_passes_impossible_fails(tmp_path: pathlib.Path) -> None:
    data = json.loads((EXAMPLES / "add_benchmark.json").read_text())
    ok = run_one(tmp_path, {**data, "golden_time_ms": 1000.0}, "iree", "slow_ok.json")
    assert ok.status is Status.PASS, ok.message
    assert "median" in ok.message and "IQR" in ok.message
    assert ok.stats["median_ms"] < 1200.0
    bad = run_one(tmp_path, {**data, "golden_time_ms": 1e-6}, "iree", "fast.json")
    assert bad.status is Status.MISMATCH
    assert "slower than golden_time_ms 1e-06 ms + 20% = 1.2e-06 ms" in bad.message


@needs_iree
def test_compstat_pass_and_fail(tmp_path: pathlib.Path) -> None:
    data = json.loads((EXAMPLES / "add_compstat.json").read_text())
    ok = run_one(tmp_path, data, "iree", "ok.json")
    assert ok.status is Status.PASS, ok.message
    assert ok.stats["dispatch_count"] >= 1
    bad = run_one(tmp_path, {**data, "golden_dispatch_count": 0, "golden_binary_size": 10},
                  "iree", "bad.json")
    assert bad.status is Status.MISMATCH
    size = bad.stats["binary_size"]
    assert f"binary size {size:g} exceeds golden_binary_size 10" in bad.message
    assert "exceeds golden_dispatch_count 0" in bad.message


@needs_ort
def test_compstat_dispatch_count_skips_where_backend_has_none(tmp_path: pathlib.Path) -> None:
    data = {"type": "compstat", "markers": [], "module": "modules/relu2",
            "golden_dispatch_count": 3}
    result = run_one(tmp_path, data, "onnxruntime")
    assert result.status is Status.SKIPPED
    assert "onnxruntime reports no dispatch count" in result.message


@needs_ort
def test_onnx_module_on_onnxruntime_and_gpu_device_skips(tmp_path: pathlib.Path) -> None:
    data = json.loads((EXAMPLES / "relu2_quality.json").read_text())
    assert run_one(tmp_path, data, "onnxruntime", "a.json").status is Status.PASS
    skipped = run_one(tmp_path, {**data, "run_args": ["--device=hip"]}, "onnxruntime", "b.json")
    assert skipped.status is Status.SKIPPED
    assert "--device=hip: not on this machine" in skipped.message


# --- pytest items and parity run -------------------------------------------------------------

@needs_iree
@pytest.mark.slow
def test_pytest_items_ids_markers_and_bad_file(pytester: pytest.Pytester) -> None:
    tests = pytester.path / "defs"
    shutil.copytree(EXAMPLES, tests)
    write(tests, "broken.json", {**QUALITY, "inputs": [{"value": "2x3xq7=1"}]})
    # -m "not quality": the benchmark and compstat items, and the broken file's item (which
    # has no markers); the quality items are deselected.
    run = pytester.runpytest_subprocess(
        f"--test-file-directory={tests}", "--parity-backend=iree,onnxruntime",
        "--parity-cases=none", f"--artifact-directory={pytester.path / 'art'}",
        "-p", "no:cacheprovider", "-v", "-m", "not quality", str(tests))
    run.assert_outcomes(passed=2, failed=1)
    run.stdout.fnmatch_lines_random([
        "*defs/add_benchmark.json::add_benchmark[[]iree[]] PASSED*",
        "*defs/add_compstat.json::add_compstat[[]iree[]] PASSED*",
        "*defs/broken.json::broken FAILED*",
        "*defs/broken.json: $.inputs[[]0[]].value: unknown element type 'q7'*",
        "*7 deselected*",
    ])
    assert "Traceback" not in run.stdout.str()


def test_one_entry_per_backend_that_takes_the_module(tmp_path: pathlib.Path) -> None:
    opts = JsonOptions(EXAMPLES, EXAMPLES, EXAMPLES, tmp_path)
    ids = {f"{e.file.rsplit('/', 1)[-1]}::{e.id}" for e in collect(opts, ["iree", "onnxruntime"])}
    assert {"add_quality.json::add_quality[iree]", "relu2_quality.json::relu2_quality[iree]",
            "relu2_quality.json::relu2_quality[onnxruntime]",
            "mlp_quality.json::mlp_quality[onnxruntime]"} <= ids
    assert "add_quality.json::add_quality[onnxruntime]" not in ids  # mlir modules: iree only


@needs_iree
def test_parity_run_test_file_directory(tmp_path: pathlib.Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "tests", "good.json", QUALITY)
    write(tmp_path / "tests", "bad.json", {**QUALITY, "inputs": "2xf32"})
    code = main(["run", "--test-file-directory", str(tmp_path / "tests"), "--module-directory",
                 str(EXAMPLES), "--external-file-directory", str(EXAMPLES), "-b", "iree", "-v",
                 "--artifact-dir", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 1
    assert "PASS" in out and "good @ iree" in out
    assert "bad.json: $.inputs: '2xf32' is not of type 'array'" in out
    lines = (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    assert sorted(json.loads(x)["status"] for x in lines) == ["PASS", "RUN_ERROR"]
