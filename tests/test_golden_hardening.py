"""Issue 12: a hand-edited or foreign golden manifest is a usage error naming the file and the
field (never a traceback, never a silently different run), and its case files must lie inside
the golden directory unless ``--allow-outside-paths``."""

from __future__ import annotations

import json
import pathlib
import shutil
from collections.abc import Callable
from typing import Any

import pytest

from paritykit import golden
from paritykit.cli.main import main
from paritykit.core.cases import CASES
from paritykit.core.registry import BACKENDS
from paritykit.core.result import Status

if not BACKENDS.info("torch").available:
    pytest.skip("torch backend is not available", allow_module_level=True)

CASE = "softmax"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("golden") / "g"
    refs = [r for r in CASES.expand() if r.id == CASE]
    assert [r.status for r in golden.generate("torch", refs, out, seed=3)] == [Status.PASS]
    return out


@pytest.fixture
def copy(generated: pathlib.Path, tmp_path: pathlib.Path) -> pathlib.Path:
    return pathlib.Path(shutil.copytree(generated, tmp_path / "g"))


def _edit(directory: pathlib.Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = directory / golden.MANIFEST
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def _compare(directory: pathlib.Path, capsys: pytest.CaptureFixture[str],
             *extra: str) -> tuple[int, str]:
    code = main(["golden", "compare", "-b", "torch", "--golden", str(directory), *extra])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _set(*path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(manifest: dict[str, Any]) -> None:
        node = manifest
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return change


@pytest.mark.parametrize(("change", "field"), [
    (_set("backend", "versions", value="torch 2.13"), "field backend.versions should be dict"),
    (_set("backend", "versions", value={"torch": {"v": 2}}), "field backend.versions.torch"),
    (_set("backend", "options", value=["x"]), "field backend.options should be dict"),
    (_set("platform", "system", value=["Linux"]), "field platform.system"),
    (_set("seed", value=3.0), "field seed should be int, got float"),
    (_set("format", value=1.0), "field format should be int, got float"),
    (_set("cases", CASE, "outputs_sha256", value="abc"), f"field cases.{CASE}.outputs_sha256"),
    (_set("cases", CASE, "sets", value=0), f"field cases.{CASE}.sets"),
    (_set("cases", CASE, "inputs", value=""), f"field cases.{CASE}.inputs"),
    (_set("left_out", value=["x"]), "field left_out should be dict"),
])
def test_loosely_typed_fields_are_rejected_naming_file_and_field(
        copy: pathlib.Path, capsys: pytest.CaptureFixture[str],
        change: Callable[[dict[str, Any]], None], field: str) -> None:
    _edit(copy, change)
    code, out = _compare(copy, capsys)
    assert code == 2, out
    assert f"{copy / golden.MANIFEST}: {field}" in out
    assert "Traceback" not in out


@pytest.mark.parametrize("where", ["dotdot", "absolute"])
def test_case_files_outside_the_golden_directory_are_refused(
        copy: pathlib.Path, capsys: pytest.CaptureFixture[str], where: str) -> None:
    # A valid file with the right hash, just elsewhere: only the path policy can refuse it.
    elsewhere = shutil.copytree(copy / CASE, copy.parent / "elsewhere")
    written = ("../elsewhere/inputs.safetensors" if where == "dotdot"
               else str(pathlib.Path(elsewhere) / "inputs.safetensors"))
    _edit(copy, _set("cases", CASE, "inputs", value=written))
    code, out = _compare(copy, capsys)
    assert code == 2, out
    assert (f"{copy / golden.MANIFEST}: field cases.{CASE}.inputs: '{written}' is outside the "
            "golden directory") in out
    assert "--allow-outside-paths" in out
    assert "Traceback" not in out


def test_allow_outside_paths_reads_them(copy: pathlib.Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(copy / CASE, copy.parent / "elsewhere")
    _edit(copy, _set("cases", CASE, "inputs", value="../elsewhere/inputs.safetensors"))
    code, out = _compare(copy, capsys, "--allow-outside-paths")
    assert code == 0, out
