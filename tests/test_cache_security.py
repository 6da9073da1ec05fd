"""A tampered or corrupt cache entry never runs code and never sticks (issue 12, items 1 and 6).

Every entry carries a manifest of sha256 digests, checked before reuse; a ``.pt2`` holding a
pickle is refused even when its digests were rewritten to match; the artifact dir gets a copy,
so writing ``parity-out/`` cannot reach the cache. A bad entry is dropped and rebuilt, and the
result says ``cache == "rebuilt"``.
"""

from __future__ import annotations

import io
import json
import pathlib
import pickle
import re
import zipfile
from collections.abc import Callable
from typing import Any

import pytest

from conftest import run_task
from paritykit.core.cases import CASES
from paritykit.core.registry import BACKENDS
from paritykit.core.result import Result, Status
from paritykit.run.plan import build_plan
from paritykit.run.session import SessionOptions, execute
from paritykit.run.worker import RunConfig

#: Every built-in backend that caches, found from the registry (not a hand-kept list).
CACHEABLE = tuple(n for n in BACKENDS.names()
                  if BACKENDS.get(n).cacheable and BACKENDS.info(n).available
                  and type(BACKENDS.get(n)).__module__.startswith("paritykit.backends."))
WEIGHTS = "program/data/weights/"
SAMPLE_INPUTS = "program/data/sample_inputs/model.pt"


class _Touch:
    """Unpickling this writes ``marker``: proof that a pickle from the cache was executed."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        return (pathlib.Path.write_text, (self.marker, "pickle from the cache ran"))


def _rewrite_zip(path: pathlib.Path, edits: dict[str, bytes]) -> None:
    """Replace members of the zip at ``path`` (stored, like torch's own writer)."""
    source = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as target:
        for info in source.infolist():
            target.writestr(info.filename, edits.get(info.filename, source.read(info)))
    path.unlink()  # a hard link to the cache entry would otherwise be written through
    path.write_bytes(out.getvalue())


def poison_pt2(path: pathlib.Path, marker: pathlib.Path, part: str) -> None:
    """Make ``part`` of a ``.pt2`` a pickle payload torch's loader would unpickle.

    ``weights``: the first weight marked ``use_pickle`` (torch.load(weights_only=False));
    ``sample_inputs``: a payload the safe unpickler rejects, so torch falls back to the unsafe one.
    """
    payload = pickle.dumps(_Touch(marker))
    names = zipfile.ZipFile(path).namelist()
    if part == "sample_inputs":
        _rewrite_zip(path, {SAMPLE_INPUTS: payload})
        return
    config_name = WEIGHTS + "model_weights_config.json"
    config = json.loads(zipfile.ZipFile(path).read(config_name))
    fqn, meta = next(iter(config["config"].items()))
    meta["use_pickle"] = True
    assert WEIGHTS + meta["path_name"] in names
    config["config"][fqn] = meta
    _rewrite_zip(path, {config_name: json.dumps(config).encode(),
                        WEIGHTS + meta["path_name"]: payload})


def _entries(cache: pathlib.Path, backend: str) -> list[pathlib.Path]:
    return sorted(p for p in (cache / "artifacts" / backend).glob("*") if p.is_dir())


def _only_entry(cache: pathlib.Path, backend: str) -> pathlib.Path:
    entries = _entries(cache, backend)
    assert len(entries) == 1, entries
    return entries[0]


def _reseal(entry: pathlib.Path) -> None:
    """What an attacker who can write the cache can do: make the digests match again."""
    from paritykit.run.cache import write_manifest

    write_manifest(entry)


# -- torch-export: a real pickle payload inside the cached .pt2 -------------------------------


@pytest.mark.parametrize("part", ["weights", "sample_inputs"])
@pytest.mark.parametrize("resealed", [False, True], ids=["stale-digest", "resealed"])
def test_pickle_in_cached_pt2_never_runs(tmp_path: pathlib.Path, part: str,
                                         resealed: bool) -> None:
    """A poisoned ``program.pt2`` in the cache: no code runs, the entry is rebuilt, PASS.

    With a stale digest the manifest check catches it; resealed (digests rewritten to match) the
    ``.pt2`` inspection refuses the pickled part before torch's loader sees it.
    """
    marker = tmp_path / "pwned"
    first = run_task(tmp_path, "linear_nobias", "torch-export")
    assert (first.status, first.cache) == (Status.PASS, "miss"), first.message
    entry = _only_entry(tmp_path / "cache", "torch-export")
    poison_pt2(entry / "program.pt2", marker, part)
    if resealed:
        _reseal(entry)

    second = run_task(tmp_path, "linear_nobias", "torch-export")

    assert not marker.exists(), "a pickle from the cache was executed"
    assert second.status is Status.PASS, second.message
    assert second.cache == "rebuilt"
    reason = second.stats["cache_rebuilt"]
    assert ("pickle" in reason or "sample inputs" in reason) if resealed else "digest" in reason
    third = run_task(tmp_path, "linear_nobias", "torch-export")
    assert (third.status, third.cache) == (Status.PASS, "hit"), third.message
    assert not marker.exists()


@pytest.mark.parametrize("part", ["weights", "sample_inputs"])
def test_load_refuses_a_pt2_with_a_pickle(tmp_path: pathlib.Path, part: str) -> None:
    """The backend itself, without the cache: ``load`` refuses before unpickling anything."""
    from paritykit.backends.torch_export import UnsafeArtifactError

    marker = tmp_path / "pwned"
    run_task(tmp_path, "linear_nobias", "torch-export", cache=False)
    workdir = tmp_path / "linear_nobias" / "torch-export"
    poison_pt2(workdir / "program.pt2", marker, part)
    with pytest.raises(UnsafeArtifactError):
        BACKENDS.get("torch-export").load(_program("linear_nobias", tmp_path), workdir)
    assert not marker.exists()


# -- corrupt entries are dropped and rebuilt, not blamed on the backend -----------------------


@pytest.mark.parametrize(("backend", "artifact", "damage"), [
    ("torch-export", "program.pt2", "truncate"),
    ("onnxruntime", "model.onnx", "garble"),
])
def test_corrupt_entry_is_rebuilt(tmp_path: pathlib.Path, backend: str, artifact: str,
                                  damage: str) -> None:
    assert run_task(tmp_path, "linear_nobias", backend).cache == "miss"
    path = _only_entry(tmp_path / "cache", backend) / artifact
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    else:
        middle = len(data) // 2
        path.write_bytes(data[:middle] + bytes(b ^ 0xFF for b in data[middle:middle + 64])
                         + data[middle + 64:])

    result = run_task(tmp_path, "linear_nobias", backend)

    assert result.status is Status.PASS, result.message
    assert result.cache == "rebuilt"
    assert "digest" in result.stats["cache_rebuilt"]
    assert (_only_entry(tmp_path / "cache", backend) / artifact).read_bytes() == data


@pytest.mark.parametrize("backend", ["torch-export", "onnxruntime"])
def test_load_error_on_a_valid_entry_rebuilds_once(tmp_path: pathlib.Path, backend: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A digest-valid entry that the backend cannot load: rebuilt once, the error kept."""
    assert run_task(tmp_path, "abs", backend).cache == "miss"
    cls = type(BACKENDS.get(backend))

    def broken(self: Any, program: Any, workdir: pathlib.Path) -> Any:
        raise OSError("cannot reopen the artifact")

    monkeypatch.setattr(cls, "load", broken)
    result = run_task(tmp_path, "abs", backend)
    assert result.status is Status.PASS, result.message
    assert result.cache == "rebuilt"
    assert "OSError: cannot reopen the artifact" in result.stats["cache_rebuilt"]
    monkeypatch.undo()
    assert run_task(tmp_path, "abs", backend).cache == "hit"


def test_missing_file_is_rebuilt(tmp_path: pathlib.Path) -> None:
    assert run_task(tmp_path, "abs", "onnxruntime").cache == "miss"
    (_only_entry(tmp_path / "cache", "onnxruntime") / "inputs.json").unlink()
    result = run_task(tmp_path, "abs", "onnxruntime")
    assert (result.status, result.cache) == (Status.PASS, "rebuilt"), result.message
    assert "inputs.json" in result.stats["cache_rebuilt"]


def test_onnx_external_data_outside_the_entry_is_refused(tmp_path: pathlib.Path) -> None:
    """An initializer whose external data points outside the entry is never read."""
    import onnx

    from paritykit.backends.onnxruntime import UnsafeArtifactError

    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"\0" * 2048)
    run_task(tmp_path, "linear_nobias", "onnxruntime", cache=False)
    workdir = tmp_path / "linear_nobias" / "onnxruntime"
    model = onnx.load(str(workdir / "model.onnx"))
    tensor = model.graph.initializer[0]
    tensor.ClearField("raw_data")
    tensor.data_location = onnx.TensorProto.EXTERNAL
    for key, value in {"location": "../../secret.bin", "offset": "0", "length": "2048"}.items():
        tensor.external_data.add(key=key, value=value)
    onnx.save(model, str(workdir / "model.onnx"))
    with pytest.raises(UnsafeArtifactError, match="outside"):
        BACKENDS.get("onnxruntime").load(_program("linear_nobias", tmp_path), workdir)


def _program(case: str, root: pathlib.Path) -> Any:
    """The built program of ``case`` (its tensors are written under ``root``)."""
    from paritykit.run.worker import Worker

    return Worker(RunConfig(artifact_dir=str(root / "material"))).material(case).program


# -- every cacheable backend: tampered entries rebuilt, the artifact dir holds a copy ---------


def _pool_run(root: pathlib.Path, name: str, cases: tuple[str, ...]) -> dict[tuple[str, str],
                                                                              Result]:
    """``cases`` x every cacheable backend on the worker pool (jax needs its own process)."""
    refs = {r.id: r for r in CASES.expand()}
    config = RunConfig(artifact_dir=str(root / name), cache_dir=str(root / "cache"))
    plan = build_plan([refs[c] for c in cases], list(CACHEABLE), config.seed)
    results = execute(plan, config, SessionOptions(jobs=1, timeout=300), lambda r: None)
    return {(r.case, r.backend): r for r in results}


def _entry_of(cache: pathlib.Path, result: Result) -> pathlib.Path:
    """The cache entry whose artifact the result's copy came from."""
    assert result.artifact is not None, result
    local = pathlib.Path(result.artifact)
    matches = [e for e in _entries(cache, result.backend)
               if (e / local.name).is_file() and (e / local.name).read_bytes()
               == local.read_bytes()]
    assert len(matches) == 1, (result.backend, matches)
    return matches[0]


@pytest.mark.slow
def test_every_cacheable_backend_rebuilds_tampered_entries(tmp_path: pathlib.Path) -> None:
    """``abs`` gets ``neg``'s valid artifact (a MISMATCH blamed on the backend before),
    ``neg``'s artifact gets bytes appended; writing the artifact-dir copy leaves the cache be."""
    assert {"torch-export", "onnxruntime"} <= set(CACHEABLE)
    cache = tmp_path / "cache"
    cold = _pool_run(tmp_path, "cold", ("abs", "neg"))
    assert {(k, r.status, r.cache) for k, r in cold.items()} == {
        (k, Status.PASS, "miss") for k in cold}, {k: r.message for k, r in cold.items()}
    assert {b for _, b in cold} == set(CACHEABLE)

    for backend in CACHEABLE:
        abs_entry = _entry_of(cache, cold[("abs", backend)])
        neg_entry = _entry_of(cache, cold[("neg", backend)])
        name = pathlib.Path(str(cold[("abs", backend)].artifact)).name
        clean = (abs_entry / name).read_bytes()
        local = pathlib.Path(str(cold[("abs", backend)].artifact))
        with local.open("ab") as f:  # whoever can write parity-out/ ...
            f.write(b"written into the artifact dir")
        assert (abs_entry / name).read_bytes() == clean, f"{backend}: the cache changed"
        (abs_entry / name).write_bytes((neg_entry / name).read_bytes())
        with (neg_entry / name).open("ab") as f:
            f.write(b"\0garbage")

    warm = _pool_run(tmp_path, "warm", ("abs", "neg"))
    assert {(k, r.status, r.cache) for k, r in warm.items()} == {
        (k, Status.PASS, "rebuilt") for k in warm}, {k: (r.cache, r.message)
                                                      for k, r in warm.items()}


def test_symlink_in_an_entry_is_rebuilt(tmp_path: pathlib.Path) -> None:
    """A link in an entry could point anywhere (e.g. external data outside the cache)."""
    assert run_task(tmp_path, "abs", "onnxruntime").cache == "miss"
    entry = _only_entry(tmp_path / "cache", "onnxruntime")
    outside = tmp_path / "elsewhere.onnx"
    (entry / "model.onnx").rename(outside)
    (entry / "model.onnx").symlink_to(outside)
    result = run_task(tmp_path, "abs", "onnxruntime")
    assert (result.status, result.cache) == (Status.PASS, "rebuilt"), result.message
    assert "not a regular file" in result.stats["cache_rebuilt"]
    assert not (_only_entry(tmp_path / "cache", "onnxruntime") / "model.onnx").is_symlink()


def test_load_refuses_code_in_a_symbolic_size(tmp_path: pathlib.Path) -> None:
    """torch's deserializer hands each ``expr_str`` of ``model.json`` to ``sympy.sympify``, an
    ``eval``: a ``.pt2`` whose symbolic size is Python code is refused before that."""
    from paritykit.backends.torch_export import UnsafeArtifactError

    marker = tmp_path / "pwned"
    result = run_task(tmp_path, "add_dynamic", "torch-export", cache=False)
    assert result.status is Status.PASS, result.message
    workdir = tmp_path / "add_dynamic" / "torch-export"
    model = zipfile.ZipFile(workdir / "program.pt2").read("program/models/model.json").decode()
    exprs = set(re.findall(r'"expr_str": ("(?:[^"\\]|\\.)*")', model))
    assert exprs, "add_dynamic should export a symbolic size"
    code = f"__import__('pathlib').Path({str(marker)!r}).write_text('ran') and "
    for expr in exprs:
        model = model.replace(expr, json.dumps(code + json.loads(expr)))
    _rewrite_zip(workdir / "program.pt2", {"program/models/model.json": model.encode()})
    with pytest.raises(UnsafeArtifactError, match="symbolic expression"):
        BACKENDS.get("torch-export").load(_program("add_dynamic", tmp_path), workdir)
    assert not marker.exists()
