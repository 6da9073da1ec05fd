"""Issue 12: one bad JSON definition costs its own result, never the run.

Each bad definition below (a raising factory, ``sys:exit``, a KeyboardInterrupt, a corrupt
weights file, a directory where a file is named, tensors over the size limit, paths outside the
named directories) must be a RUN_ERROR naming its file and field, with no traceback, while the
definition sorted after all of them (``z_good``) still runs and passes. The CLI runs once per
module (``parity run --test-file-directory`` in a subprocess) and each test checks its lines.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from paritykit.jsontests.limits import MAX_TENSOR_ELEMENTS

pytest_plugins = ["pytester"]

FACTORIES = '''
import torch

def good():
    return torch.nn.ReLU()

def boom():
    raise RuntimeError("factory exploded")

def interrupt():
    raise KeyboardInterrupt
'''
HUGE = "100000x100000x1000xf32"


def _quality(module: str, inputs: list[Any], **more: Any) -> dict[str, Any]:
    return {"type": "quality", "markers": [], "modules": [module], "inputs": inputs,
            "expected_outputs": ["2xf32=1"], **more}


def _write(path: pathlib.Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def _layout(root: pathlib.Path) -> dict[str, pathlib.Path]:
    """defs/ (definitions), mods/ (modules and factories), data/ (files), outside/ (elsewhere)."""
    dirs = {name: root / name for name in ("defs", "mods", "data", "outside", "home")}
    for directory in dirs.values():
        directory.mkdir(parents=True, exist_ok=True)
    (dirs["mods"] / "facts.py").write_text(FACTORIES)
    for name, source in (("good", "facts:good"), ("boom", "facts:boom"), ("exit", "sys:exit"),
                         ("interrupt", "facts:interrupt")):
        _write(dirs["mods"] / f"{name}.json", {"torch": source})
    _write(dirs["outside"] / "m.json", {"torch": "facts:good"})
    for where in ("outside", "home"):
        np.save(dirs[where] / "x.npy", np.ones(2, np.float32))
    return dirs


def _bad_definitions(dirs: dict[str, pathlib.Path]) -> None:
    data = dirs["data"]
    (data / "corrupt.safetensors").write_bytes(b"not a safetensors file")
    (data / "folder.npy").mkdir()
    with (data / "claims_huge.npy").open("wb") as f:  # a header claiming 36 TiB, no data
        np.lib.format.write_array_header_1_0(
            f, {"descr": "<f4", "fortran_order": False, "shape": (100000, 100000, 1000)})
    defs = dirs["defs"]
    _write(defs / "a_boom.json", _quality("boom", ["2xf32=1"]))
    _write(defs / "b_exit.json", _quality("exit", ["2xf32=1"]))
    _write(defs / "c_interrupt.json", _quality("interrupt", ["2xf32=1"]))
    _write(defs / "d_corrupt.json", _quality(
        "good", ["2xf32=1"], weights=[{"type": "url", "url": "corrupt.safetensors"}]))
    _write(defs / "e_folder.json", _quality("good", ["folder.npy"]))
    _write(defs / "f_huge.json", _quality("good", [f"{HUGE}=1"]))
    _write(defs / "g_huge_zeros.json", _quality("good", [HUGE]))
    _write(defs / "h_huge_npy.json", _quality("good", ["claims_huge.npy"]))
    _write(defs / "z_good.json", _quality("good", ["2xf32=1"]))


def _outside_definitions(dirs: dict[str, pathlib.Path], defs: pathlib.Path) -> None:
    outside = dirs["outside"]
    _write(defs / "p_absolute.json", _quality("good", [str(outside / "x.npy")]))
    _write(defs / "q_dotdot.json", _quality("../outside/m", ["2xf32=1"]))
    _write(defs / "r_tilde.json", _quality("good", ["~/x.npy"]))
    _write(defs / "s_file_url.json", _quality("good", [{"url": (outside / "x.npy").as_uri()}]))
    _write(defs / "z_good.json", _quality("good", ["2xf32=1"]))


def _parity(dirs: dict[str, pathlib.Path], defs: pathlib.Path, *extra: str) -> tuple[int, str]:
    """``parity run --test-file-directory`` in a subprocess: (exit code, stdout + stderr)."""
    env = {**os.environ, "COLUMNS": "400", "HOME": str(dirs["home"])}
    argv = [sys.executable, "-m", "paritykit.cli", "run", "--test-file-directory", str(defs),
            "--module-directory", str(dirs["mods"]), "--external-file-directory",
            str(dirs["data"]), "-b", "torch", "-v", "--artifact-dir",
            str(defs.parent / f"out-{defs.name}"), *extra]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    return done.returncode, done.stdout + done.stderr


def _statuses(defs: pathlib.Path) -> dict[str, str]:
    lines = (defs.parent / f"out-{defs.name}" / "results.jsonl").read_text().splitlines()
    return {json.loads(x)["case"]: json.loads(x)["status"] for x in lines}


@pytest.fixture(scope="module")
def bad_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, dict[str, str]]:
    dirs = _layout(tmp_path_factory.mktemp("bad"))
    _bad_definitions(dirs)
    code, out = _parity(dirs, dirs["defs"])
    return code, out, _statuses(dirs["defs"])


def _line(out: str, needle: str) -> str:
    found = [x for x in out.splitlines() if needle in x]
    assert found, f"no line with {needle!r} in:\n{out}"
    return found[0]


def test_bad_definitions_cost_their_own_results_and_later_files_run(
        bad_run: tuple[int, str, dict[str, str]]) -> None:
    code, out, statuses = bad_run
    assert code == 1, out
    assert "Traceback" not in out
    assert statuses.pop("z_good") == "PASS", out
    assert set(statuses.values()) == {"RUN_ERROR"}, statuses
    assert len(statuses) == 8


@pytest.mark.parametrize(("needle", "expected"), [
    ("a_boom @ torch:", ["RuntimeError: factory exploded", "boom.json: $.torch"]),
    ("b_exit @ torch:", ["SystemExit: sys.exit() was called", "exit.json: $.torch"]),
    ("c_interrupt @ torch:", ["KeyboardInterrupt", "interrupt.json: $.torch"]),
])
def test_factory_failures_name_module_file_and_field(
        bad_run: tuple[int, str, dict[str, str]], needle: str, expected: list[str]) -> None:
    line = _line(bad_run[1], needle)
    assert "case setup" in line  # the Stage phrase, as on every other route
    for part in expected:
        assert part in line, line


@pytest.mark.parametrize(("file", "expected"), [
    ("d_corrupt.json", ["$.weights[0]", "corrupt.safetensors is not a readable weights file",
                        "SafetensorError"]),
    ("e_folder.json", ["$.inputs[0]", "folder.npy: is a directory"]),
    ("f_huge.json", ["$.inputs[0]", f"{HUGE} has 10000000000000 elements (36.38 TiB)",
                     f"the limit is {MAX_TENSOR_ELEMENTS} elements"]),
    ("g_huge_zeros.json", ["$.inputs[0]", "10000000000000 elements"]),
    ("h_huge_npy.json", ["$.inputs[0]", "claims_huge.npy has 10000000000000 elements"]),
])
def test_file_problems_name_file_field_and_size(bad_run: tuple[int, str, dict[str, str]],
                                                file: str, expected: list[str]) -> None:
    line = _line(bad_run[1], f"{file}: $.")
    for part in expected:
        assert part in line, line


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, pathlib.Path],
                                                                pathlib.Path]:
    dirs = _layout(tmp_path_factory.mktemp("paths"))
    defs = dirs["defs"]
    _outside_definitions(dirs, defs)
    return dirs, defs


def test_paths_outside_the_directories_are_refused(
        outside: tuple[dict[str, pathlib.Path], pathlib.Path]) -> None:
    dirs, defs = outside
    code, out = _parity(dirs, defs)
    assert code == 1, out
    assert "Traceback" not in out
    statuses = _statuses(defs)
    assert statuses.pop("z_good") == "PASS", out
    assert set(statuses.values()) == {"RUN_ERROR"}, (statuses, out)
    for file, field, written in (
            ("p_absolute.json", "$.inputs[0]", str(dirs["outside"] / "x.npy")),
            ("q_dotdot.json", "$.modules[0]", "../outside/m"),
            ("r_tilde.json", "$.inputs[0]", "~/x.npy"),
            ("s_file_url.json", "$.inputs[0].url", str(dirs["outside"] / "x.npy"))):
        line = _line(out, f"{file}: {field}: ")
        assert f"'{written}' is outside the directories" in line, line
        assert "--allow-outside-paths" in line


def test_allow_outside_paths_reads_them(
        outside: tuple[dict[str, pathlib.Path], pathlib.Path]) -> None:
    dirs, defs = outside
    code, out = _parity(dirs, defs, "--allow-outside-paths")
    assert code == 0, out
    assert set(_statuses(defs).values()) == {"PASS"}


def test_pytest_items_are_headed_by_their_id_and_exit_is_a_failure(
        pytester: pytest.Pytester) -> None:
    dirs = _layout(pytester.path)
    defs = dirs["defs"]
    _write(defs / "a_boom.json", _quality("boom", ["2xf32=1"]))
    _write(defs / "b_exit.json", _quality("exit", ["2xf32=1"]))
    _write(defs / "f_huge.json", _quality("good", [f"{HUGE}=1"]))
    _write(defs / "z_good.json", _quality("good", ["2xf32=1"]))
    # In pytest's own process: sys.exit() in a factory must not end the session.
    run = pytester.runpytest_subprocess(
        str(defs), f"--test-file-directory={defs}", f"--module-directory={dirs['mods']}",
        f"--external-file-directory={dirs['data']}", "--parity-backend=torch",
        "--parity-in-process", f"--artifact-directory={pytester.path / 'art'}",
        "-p", "no:cacheprovider")
    run.assert_outcomes(passed=1, failed=3)
    text = run.stdout.str()
    assert " test session _" not in text  # pytest's headline for an item with no location
    assert "Traceback" not in text and "INTERNALERROR" not in text
    run.stdout.fnmatch_lines_random([
        "*_ a_boom[[]torch[]] _*",
        "*_ b_exit[[]torch[]] _*",
        "*_ f_huge _*",
        "*f_huge.json: $.inputs[[]0[]]: *10000000000000 elements*",
        "*SystemExit: sys.exit() was called*exit.json: $.torch*",
    ])
