"""Golden values: generate on one backend, compare on another; altered goldens must be caught."""

from __future__ import annotations

import argparse
import json
import pathlib
import shutil
from typing import Any

import numpy as np
import pytest
from rich.console import Console

from paritykit import golden
from paritykit.cli import golden as cli_golden
from paritykit.core.cases import CASES
from paritykit.core.errors import ParityError
from paritykit.core.registry import BACKENDS
from paritykit.core.result import Status
from paritykit.core.tolerance import ToleranceRules
from paritykit.files.artifacts import load_arrays, save_arrays

for _name in ("torch", "torch-export"):
    if not BACKENDS.info(_name).available:
        pytest.skip(f"{_name} is not available: {BACKENDS.info(_name).reason}",
                    allow_module_level=True)

CASE_IDS = ("linear", "softmax_dynamic", "add_bf16")
SEED = 7


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """One golden directory made on ``torch`` (tests copy it before altering anything)."""
    out = tmp_path_factory.mktemp("golden")
    refs = [r for r in CASES.expand() if r.id in CASE_IDS]
    results = golden.generate("torch", refs, out, seed=SEED)
    assert [r.status for r in results] == [Status.PASS] * len(CASE_IDS)
    return out


@pytest.fixture
def copy(generated: pathlib.Path, tmp_path: pathlib.Path) -> pathlib.Path:
    """A private copy of the golden directory."""
    return pathlib.Path(shutil.copytree(generated, tmp_path / "golden"))


def _manifest(directory: pathlib.Path) -> dict[str, Any]:
    return json.loads((directory / golden.MANIFEST).read_text())


def _rewrite(directory: pathlib.Path, case: str, kind: str, change: float) -> None:
    """Add ``change`` to the first element of a stored file and re-hash it in the manifest,
    as if the golden had been generated that way elsewhere."""
    path = directory / case / f"{kind}s.safetensors"
    arrays = load_arrays(path)
    first = f"{kind}_0"
    altered = arrays[first].astype(np.float64)
    altered.flat[0] += change
    arrays[first] = altered.astype(arrays[first].dtype)
    sets = golden.split_sets(arrays, kind, path)
    save_arrays(path, sets, kind)
    manifest = _manifest(directory)
    manifest["cases"][case][f"{kind}s_sha256"] = golden.content_hash(arrays)
    (directory / golden.MANIFEST).write_text(json.dumps(manifest))


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="parity")
    cli_golden.add_parser(parser.add_subparsers(dest="command", required=True))
    return cli_golden.run(parser.parse_args(["golden", *argv]), Console(width=200))


def test_manifest_records_provenance_and_hashes(generated: pathlib.Path) -> None:
    manifest = _manifest(generated)
    assert manifest["seed"] == SEED and manifest["backend"]["name"] == "torch"
    assert manifest["backend"]["versions"]["torch"] == manifest["frameworks"]["torch"]
    assert manifest["platform"]["system"] and manifest["device"] == "cpu"
    assert set(manifest["cases"]) == set(CASE_IDS)
    entry = manifest["cases"]["softmax_dynamic"]
    stored = load_arrays(generated / entry["inputs"])
    assert golden.content_hash(stored) == entry["inputs_sha256"]
    assert entry["sets"] > 1 and "set1_input_0" in stored  # every dynamic input set is kept
    bf16 = load_arrays(generated / "add_bf16" / "outputs.safetensors")["output_0"]
    assert str(bf16.dtype) == "bfloat16"


def test_round_trip_passes_on_another_backend(generated: pathlib.Path) -> None:
    results = golden.compare("torch-export", generated)
    assert {r.case: r.status for r in results} == dict.fromkeys(CASE_IDS, Status.PASS)
    assert all(r.max_abs_error == 0.0 for r in results)
    assert _cli("compare", "-b", "torch-export", "--golden", str(generated)) == 0


def test_altered_output_fails_naming_the_case(copy: pathlib.Path, tmp_path: pathlib.Path) -> None:
    _rewrite(copy, "linear", "output", 0.5)
    results = {r.case: r for r in golden.compare("torch-export", copy)}
    bad = results["linear"]
    assert bad.status is Status.MISMATCH
    assert bad.message.startswith("linear @ torch-export vs golden torch on cpu")
    assert "values differ" in bad.message and bad.worst_index is not None
    assert results["add_bf16"].status is Status.PASS
    assert _cli("compare", "-b", "torch-export", "--golden", str(copy)) == 1
    # A rules file that allows the difference makes the same golden pass.
    rules = tmp_path / "tol.json"
    rules.write_text(json.dumps({"rules": [{"test": "linear", "atol": 1.0,
                                            "reason": "altered on purpose"}]}))
    loose = golden.compare("torch-export", copy, ToleranceRules.load(rules))
    assert all(r.status is Status.PASS for r in loose)


def test_altered_input_is_reported_as_an_input_hash_difference(copy: pathlib.Path) -> None:
    _rewrite(copy, "softmax_dynamic", "input", 1.0)
    result = next(r for r in golden.compare("torch", copy) if r.case == "softmax_dynamic")
    assert result.status is Status.MISMATCH and result.stats["finding"] == "inputs"
    assert "inputs differ" in result.message and golden.INPUTS_DIFFER_HINT in result.message
    # torch run on the stored inputs reproduces torch's stored outputs except where input 0
    # changed; the message says which.
    assert f"for seed {SEED}" in result.message


def test_file_changed_after_generation_names_file_and_field(copy: pathlib.Path) -> None:
    path = copy / "linear" / "outputs.safetensors"
    arrays = load_arrays(path)
    arrays["output_0"] = arrays["output_0"] + 1
    save_arrays(path, [[arrays["output_0"]]], "output")
    with pytest.raises(ParityError, match=r"linear/outputs\.safetensors: .*"
                                          r"cases\.linear\.outputs_sha256"):
        golden.compare("torch", copy)


def test_broken_manifest_gives_a_clear_error(copy: pathlib.Path) -> None:
    original = (copy / golden.MANIFEST).read_text()
    manifest = json.loads(original)
    del manifest["cases"]["linear"]["inputs_sha256"]
    (copy / golden.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ParityError, match=r"manifest\.json: missing field "
                                          r"cases\.linear\.inputs_sha256"):
        golden.compare("torch", copy)
    manifest = json.loads(original)
    manifest["seed"] = "seven"
    (copy / golden.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ParityError, match=r"manifest\.json: field seed should be int"):
        golden.load_manifest(copy)
    (copy / golden.MANIFEST).write_text("{not json")
    with pytest.raises(ParityError, match=r"manifest\.json: not valid JSON: line 1"):
        golden.load_manifest(copy)
    (copy / golden.MANIFEST).unlink()
    with pytest.raises(ParityError, match=r"manifest\.json: no such file"):
        golden.load_manifest(copy)


def test_missing_golden_file_names_the_manifest_field(copy: pathlib.Path) -> None:
    (copy / "add_bf16" / "inputs.safetensors").unlink()
    with pytest.raises(ParityError, match=r"add_bf16/inputs\.safetensors: no such file .*"
                                          r"cases\.add_bf16\.inputs"):
        golden.compare("torch", copy)


def test_cli_generate_writes_a_manifest(tmp_path: pathlib.Path) -> None:
    out = tmp_path / "g"
    assert _cli("generate", "-b", "torch", "matmul", "-k", "not fp16 and not int64",
                "--out", str(out), "--seed", "1") == 0
    cases = _manifest(out)["cases"]
    assert "matmul" in cases and all(c.startswith("matmul") for c in cases)
    assert not any("fp16" in c or "int64" in c for c in cases)


def test_other_seed_is_an_input_finding_even_when_outputs_agree(copy: pathlib.Path) -> None:
    manifest = _manifest(copy)
    manifest["seed"] = SEED + 1  # as if this machine's RNG produced other inputs
    (copy / golden.MANIFEST).write_text(json.dumps(manifest))
    results = {r.case: r for r in golden.compare("torch", copy)}
    softmax = results["softmax_dynamic"]  # no weights: the stored inputs still give the outputs
    assert softmax.status is Status.MISMATCH
    assert "inputs differ" in softmax.message
    assert softmax.message.endswith("outputs on the stored inputs agree")
    assert "weights differ" in results["linear"].message
