"""Every malformed JSON definition, module definition, weight archive and golden directory of
:mod:`fuzz_files` fails cleanly through the real CLI (issue 12).

For each variant: exit 1 (the run went through; the variant is a failed result) or 2 (a usage
error), the message names the offending file, no traceback, and nothing outside the artifact
directory is created, modified or deleted — the inputs themselves included (a snapshot of the
whole tree, with a sentinel directory beside the inputs, before and after; ``$TMPDIR`` and
``$HOME`` point into the tree too).

- JSON: ONE in-process ``parity run --test-file-directory defs --module-directory mods
  --external-file-directory data -b torch`` over every variant plus ``z_good``, which must still
  PASS; each variant's result in ``results.jsonl`` must be a failure whose message names the
  culprit (definition, module definition or weights archive). ~10 s.
- golden: one in-process ``parity golden compare -b torch`` per variant, on a copy of a golden
  directory made once by ``parity golden generate -b torch relu``. Each is refused before any
  worker starts (a usage error, exit 2).

Counts (``fuzz_files``): JSON 247 (171 test definitions, 35 module definitions, 35 weight
archives, 6 input archives), golden 264 (199 manifest fields, 15 manifest bytes, 50 archives):
511 variants, ~25 s on 2 cores (the generate and the JSON run ~6 s each, compares ~30 ms).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import pathlib
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from fuzz_files import GOOD, FileVariant, golden_variants, json_base_files, json_variants
from paritykit.cli.main import main
from paritykit.core.registry import BACKENDS

if not BACKENDS.info("torch").available:
    pytest.skip("torch backend is not available", allow_module_level=True)

pytestmark = pytest.mark.slow

ARTIFACTS = "out"
CASE = "relu"
FAILED = {"MISMATCH", "RUN_ERROR", "LOWER_ERROR", "EXPORT_ERROR", "CRASH", "TIMEOUT", "ERROR"}

#: Variants that show a bug not fixed here: name -> the bug (strict xfail).
KNOWN_BUGS: dict[str, str] = {}


# ------------------------------------------------------------------------------- the tree

def _snapshot(root: pathlib.Path) -> dict[str, str]:
    """relative path -> sha256 of its bytes (or ``dir`` / ``link -> target``), outside
    ``ARTIFACTS``."""
    found = {}
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if rel.parts[0] == ARTIFACTS:
            continue
        if path.is_symlink():
            found[rel.as_posix()] = f"link -> {path.readlink()}"
        elif path.is_dir():
            found[rel.as_posix()] = "dir"
        else:
            found[rel.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _changes(before: dict[str, str], after: dict[str, str],
             allowed: tuple[str, ...] = ()) -> list[str]:
    changes = [f"created {p}" for p in sorted(set(after) - set(before))]
    changes += [f"deleted {p}" for p in sorted(set(before) - set(after))]
    changes += [f"modified {p}" for p in sorted(set(before) & set(after))
                if before[p] != after[p]]
    return [c for c in changes if not any(a in c for a in allowed)]


def _write(root: pathlib.Path, files: dict[str, bytes]) -> None:
    outside = str(root / "outside").encode()
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.replace(b"{outside}", outside))


@contextlib.contextmanager
def _confined(root: pathlib.Path) -> Iterator[io.StringIO]:
    """cwd, ``$HOME`` and ``$TMPDIR`` in ``root`` (a sentinel directory beside the inputs);
    stdout and stderr into the StringIO yielded."""
    _write(root, {"sentinel/keep.txt": b"must stay as it is\n"})
    (root / "tmp").mkdir(exist_ok=True)
    captured = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("HOME", str(root / "home"))
        mp.setenv("TMPDIR", str(root / "tmp"))
        mp.setattr(tempfile, "tempdir", str(root / "tmp"))
        mp.setenv("COLUMNS", "1000")  # rich wraps at $COLUMNS when output is not a terminal
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            yield captured


def _params(names: list[str]) -> list[Any]:
    return [pytest.param(n, marks=[pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[n])]
                         if n in KNOWN_BUGS else []) for n in names]


# ------------------------------------------------------------------------ JSON definitions

JSON_VARIANTS = list(json_variants())
JSON_BY_NAME = {v.name: v for v in JSON_VARIANTS}


class JsonRun:
    """The one ``parity run --test-file-directory`` over every JSON variant."""

    def __init__(self, root: pathlib.Path) -> None:
        self.root = root
        _write(root, json_base_files())
        for variant in JSON_VARIANTS:
            _write(root, variant.files)
        with _confined(root) as captured:
            self.before = _snapshot(root)
            try:
                self.code: int | str = main([
                    "run", "--test-file-directory", "defs", "--module-directory", "mods",
                    "--external-file-directory", "data", "-b", "torch", "-v",
                    "--artifact-dir", ARTIFACTS, "--timeout", "300"])
            except BaseException as exc:  # the point: nothing escapes
                self.code = f"raised {type(exc).__name__}: {exc}"[:500]
            self.after = _snapshot(root)
        self.output = captured.getvalue()
        store = root / ARTIFACTS / "results.jsonl"
        lines = store.read_text().splitlines() if store.is_file() else []
        self.results: dict[str, dict[str, Any]] = {}
        for line in lines:
            record = json.loads(line)
            self.results.setdefault(record["case"], record)


@pytest.fixture(scope="module")
def json_run(tmp_path_factory: pytest.TempPathFactory) -> JsonRun:
    return JsonRun(tmp_path_factory.mktemp("json"))


def test_json_run_exits_1_without_traceback_and_the_good_definition_passes(
        json_run: JsonRun) -> None:
    assert json_run.code == 1, (json_run.code, json_run.output[-3000:])
    assert "Traceback" not in json_run.output
    assert json_run.results[GOOD]["status"] == "PASS", json_run.results[GOOD]
    assert len(json_run.results) == len(JSON_VARIANTS) + 1


def test_json_run_touches_nothing_outside_the_artifact_dir(json_run: JsonRun) -> None:
    # Not paritykit's writes: importing the factory (in the worker) writes Python's bytecode
    # cache next to it, and torch.export makes torch's (empty) cache directory in $TMPDIR.
    changes = _changes(json_run.before, json_run.after,
                       allowed=("created mods/__pycache__", "created tmp/torchinductor_"))
    assert not changes, changes


@pytest.mark.parametrize("name", _params([v.name for v in JSON_VARIANTS]))
def test_json_variant_is_a_failed_result_naming_its_file(json_run: JsonRun, name: str) -> None:
    variant = JSON_BY_NAME[name]
    stem = pathlib.PurePosixPath(next(iter(variant.files))).stem
    result = json_run.results.get(stem)
    assert result is not None, f"no result for {stem}"
    assert result["status"] in FAILED, result
    message = result["message"]
    culprit = pathlib.PurePosixPath(variant.culprit).name
    assert culprit in message, f"{culprit} not named: {message}"
    assert "Traceback" not in message and not result["traceback"], result


# --------------------------------------------------------------------------------- goldens

@pytest.fixture(scope="module")
def golden_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("golden") / "g"
    with contextlib.redirect_stdout(io.StringIO()) as said:
        code = main(["golden", "generate", "-b", "torch", CASE, "--out", str(out), "--seed",
                     "0", "--artifact-dir", str(out.parent / ARTIFACTS)])
    assert code == 0, said.getvalue()
    return {p.relative_to(out).as_posix(): p.read_bytes()
            for p in sorted(out.rglob("*")) if p.is_file()}


def _stand_in() -> dict[str, bytes]:
    """A golden directory shaped like the one ``golden_files`` generates (same fields, same
    tensor names), made without running anything: the variants' ids at collection time."""
    import numpy as np
    from safetensors.numpy import save

    from paritykit.files.machine import framework_versions, platform_info

    entry = {"base": CASE, "inputs": f"{CASE}/inputs.safetensors",
             "outputs": f"{CASE}/outputs.safetensors", "inputs_sha256": "a" * 64,
             "outputs_sha256": "b" * 64, "weights_sha256": "c" * 64, "sets": 1, "device": "cpu"}
    manifest = {"format": 1, "paritykit": "0", "created": "t", "seed": 0,
                "backend": {"name": "torch", "versions": BACKENDS.get("torch").versions(),
                            "options": {}},
                "device": "cpu", "platform": platform_info(), "frameworks": framework_versions(),
                "cases": {CASE: entry}, "left_out": {}}
    return {"manifest.json": json.dumps(manifest).encode(),
            entry["inputs"]: save({"input_0": np.zeros((2, 3), np.float32)}),
            entry["outputs"]: save({"output_0": np.zeros((2, 3), np.float32)})}


GOLDEN_NAMES = [v.name for v in golden_variants(_stand_in())]


@pytest.fixture(scope="module")
def golden_by_name(golden_files: dict[str, bytes]) -> dict[str, FileVariant]:
    return {v.name: v for v in golden_variants(golden_files)}


def test_golden_variants_are_those_collected(golden_by_name: dict[str, FileVariant]) -> None:
    assert sorted(golden_by_name) == sorted(GOLDEN_NAMES)
    assert len(GOLDEN_NAMES) == len(set(GOLDEN_NAMES)), "variant names must be unique"


@pytest.mark.parametrize("name", _params(GOLDEN_NAMES))
def test_golden_variant_is_refused_naming_its_file(
        golden_files: dict[str, bytes], golden_by_name: dict[str, FileVariant], name: str,
        tmp_path: pathlib.Path) -> None:
    variant = golden_by_name[name]
    # outside/ and home/ hold the case's real files: a path leading there must be refused
    # by the path rule, not found missing.
    archives = {k: v for k, v in golden_files.items() if k.endswith(".safetensors")}
    _write(tmp_path, {f"g/{k}": v for k, v in golden_files.items()})
    _write(tmp_path, {f"{where}/{pathlib.PurePosixPath(k).name}": v
                      for k, v in archives.items() for where in ("outside", "home")})
    _write(tmp_path, {f"g/{k}": v for k, v in variant.files.items()})
    with _confined(tmp_path) as captured:
        before = _snapshot(tmp_path)
        try:
            code: int | str = main(["golden", "compare", "-b", "torch", "--golden", "g",
                                    "--artifact-dir", ARTIFACTS, "--timeout", "120"])
        except BaseException as exc:  # the point: nothing escapes
            code = f"raised {type(exc).__name__}: {exc}"[:500]
        after = _snapshot(tmp_path)
    output = captured.getvalue()
    problems = []
    if code not in (1, 2):
        problems.append(f"exit {code!r}")
    if f"g/{variant.culprit}" not in output:
        problems.append(f"g/{variant.culprit} not named")
    if "Traceback" in output:
        problems.append("a traceback")
    problems += _changes(before, after)
    assert not problems, f"{problems}; output: {output[-2000:]}"
