"""The compiled-artifact cache with the real ``torch-export`` and ``onnxruntime`` backends.

Timings are never asserted: the cache status of each result, the files in the artifact
directory and the entries in the cache are.
"""

from __future__ import annotations

import pathlib
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import paritykit.suite  # noqa: F401 - the built-in cases, for the in-process Worker
from conftest import HARNESS_BACKENDS, by_key, read_report
from paritykit.cli.main import main
from paritykit.core.registry import BACKENDS, load_plugin
from paritykit.core.result import Status
from paritykit.run.cache import MANIFEST, ArtifactCache, Found, verify
from paritykit.run.worker import RunConfig, Task, Worker

ARTIFACT = {"torch-export": "program.pt2", "onnxruntime": "model.onnx"}
CACHED = tuple(ARTIFACT)
# "abs" has no weights, so its lowered program is independent of the seed; "linear_nobias"
# has a weight (a config id, not a base name: "linear" would select all its configs).
CASES = ("abs", "linear_nobias")

pytestmark = pytest.mark.skipif(
    not BACKENDS.info("onnxruntime").available,
    reason="onnxruntime backend not installed (pip install 'paritykit[onnxruntime]')",
)


def _run(tmp_path: pathlib.Path, name: str, *extra: str) -> dict[tuple[str, str], Any]:
    """One ``parity run`` of CASES on the cacheable backends; results by (case, backend)."""
    report = tmp_path / f"{name}.json"
    code = main([
        "run", *CASES, "-b", ",".join(CACHED), "--artifact-dir", str(tmp_path / name),
        "--json", str(report), *extra,
    ])
    results = by_key(read_report(report)["results"])
    assert code == 0, {k: r["message"] for k, r in results.items()}
    assert set(results) == {(c, b) for c in CASES for b in CACHED}
    assert all(r["status"] == "PASS" for r in results.values())
    return results


def _entries(cache: pathlib.Path) -> dict[str, pathlib.Path]:
    """Cache entries as ``backend/key`` -> path (lock files are not entries)."""
    root = cache / "artifacts"
    return {f"{p.parent.name}/{p.name}": p for p in root.glob("*/*") if p.is_dir()}


def _cache_of(result: dict[str, Any], cache: pathlib.Path) -> pathlib.Path:
    """The entry holding the file this result's artifact was linked from."""
    local = pathlib.Path(result["artifact"])
    data = local.read_bytes()
    matches = [p for p in _entries(cache).values()
               if (p / local.name).is_file() and (p / local.name).read_bytes() == data]
    assert matches, f"no cache entry holds {local}"
    return matches[0]


def test_miss_then_hit_then_forced_then_off(
    tmp_path: pathlib.Path, _isolated_cache: pathlib.Path
) -> None:
    cache = _isolated_cache  # $PARITYKIT_CACHE_DIR: the default --cache-dir

    cold = _run(tmp_path, "cold")
    assert {r["cache"] for r in cold.values()} == {"miss"}
    entries = _entries(cache)
    assert len(entries) == len(cold)
    assert all((p / MANIFEST).is_file() for p in entries.values())
    for (case, backend), r in cold.items():
        artifact = tmp_path / "cold" / case / backend / ARTIFACT[backend]
        assert artifact.is_file()
        assert pathlib.Path(r["artifact"]) == artifact

    warm = _run(tmp_path, "warm")
    assert {r["cache"] for r in warm.values()} == {"hit"}
    assert _entries(cache) == entries  # nothing new written
    for (case, backend), r in warm.items():
        artifact = tmp_path / "warm" / case / backend / ARTIFACT[backend]
        assert artifact.is_file()
        assert pathlib.Path(r["artifact"]) == artifact
        assert artifact.read_bytes() == (_cache_of(r, cache) / artifact.name).read_bytes()
        # A copy, not a link: writing the artifact dir must not reach the cache.
        assert artifact.stat().st_nlink == 1

    before = {name: p.stat().st_ino for name, p in entries.items()}
    forced = _run(tmp_path, "forced", "--force-recompile")
    assert {r["cache"] for r in forced.values()} == {"forced"}
    after = _entries(cache)
    assert set(after) == set(entries)  # same keys ...
    assert all(after[name].stat().st_ino != ino for name, ino in before.items())  # ... rewritten
    assert all((p / MANIFEST).is_file() for p in after.values())

    snapshot = sorted(str(p) for p in cache.rglob("*"))
    off = _run(tmp_path, "off", "--no-cache")
    assert {r["cache"] for r in off.values()} == {"off"}
    assert sorted(str(p) for p in cache.rglob("*")) == snapshot
    assert all((tmp_path / "off" / c / b / ARTIFACT[b]).is_file() for c, b in off)


def test_seed_changes_weights_and_so_the_key(tmp_path: pathlib.Path) -> None:
    """In process: a new seed means new weights (a miss) unless the case has none (a hit)."""
    cache = tmp_path / "cache"

    def run(seed: int, case: str, backend: str) -> str:
        config = RunConfig(seed=seed, artifact_dir=str(tmp_path / f"seed{seed}"),
                           cache_dir=str(cache))
        result = Worker(config).run(Task(case, case.split("_")[0], backend))
        assert result.status is Status.PASS, result.message
        return result.cache

    for backend in CACHED:
        assert [run(0, c, backend) for c in CASES] == ["miss", "miss"]
        assert [run(0, c, backend) for c in CASES] == ["hit", "hit"]
        assert run(1, "linear_nobias", backend) == "miss"
        assert run(1, "abs", backend) == "hit"
    assert len(_entries(cache)) == len(CACHED) * (len(CASES) + 1)


def test_parallel_workers_fill_an_empty_cache_completely(
    tmp_path: pathlib.Path, _isolated_cache: pathlib.Path
) -> None:
    """``-j 2`` on an empty cache: every entry whole, nothing left in the staging dir."""
    cases = ("abs", "neg", "linear_nobias")
    cache = _isolated_cache
    report = tmp_path / "report.json"
    code = main(["run", *cases, "-b", ",".join(CACHED), "-j", "2",
                 "--artifact-dir", str(tmp_path / "out"), "--json", str(report)])
    results = by_key(read_report(report)["results"])
    assert code == 0, {k: r["message"] for k, r in results.items()}
    assert set(results) == {(c, b) for c in cases for b in CACHED}
    assert {r["cache"] for r in results.values()} == {"miss"}
    assert all(r["status"] == "PASS" for r in results.values())
    entries = _entries(cache)
    assert len(entries) == len(results)
    for entry in entries.values():
        assert (entry / MANIFEST).is_file()
        assert (entry / ARTIFACT[entry.parent.name]).stat().st_size > 0
    assert list((cache / "staging").iterdir()) == []


def test_failed_prepare_leaves_no_staging_dir(tmp_path: pathlib.Path) -> None:
    load_plugin(str(HARNESS_BACKENDS))
    cache = tmp_path / "cache"
    worker = Worker(RunConfig(artifact_dir=str(tmp_path / "out"), cache_dir=str(cache)))
    result = worker.run(Task("abs", "abs", "fake-cacheable-lower-error"))
    assert result.status is Status.LOWER_ERROR
    assert "fake lowering failure" in result.message
    assert result.cache == "miss"
    assert list((cache / "staging").iterdir()) == []
    assert _entries(cache) == {}


# -- ArtifactCache unit tests -------------------------------------------------------------


def _staged(cache: ArtifactCache, content: str) -> pathlib.Path:
    staged = cache.staging("fake")
    (staged / "artifact.bin").write_text(content)
    return staged


def test_commit_race_keeps_first_entry(tmp_path: pathlib.Path) -> None:
    cache = ArtifactCache(tmp_path)
    assert cache.lookup("fake", "k1") is None
    first, second = _staged(cache, "first"), _staged(cache, "second")
    assert first != second
    entry = cache.commit("fake", "k1", first)
    assert cache.commit("fake", "k1", second) == entry  # the loser gets the winner's entry
    assert (entry / "artifact.bin").read_text() == "first"
    assert (entry / MANIFEST).is_file()
    assert cache.lookup("fake", "k1") == entry
    assert not first.exists() and not second.exists()
    assert list((tmp_path / "staging").iterdir()) == []


def test_forced_cache_misses_and_replaces(tmp_path: pathlib.Path) -> None:
    entry = ArtifactCache(tmp_path).commit("fake", "k1", _staged(ArtifactCache(tmp_path), "old"))
    forced = ArtifactCache(tmp_path, force=True)
    assert forced.lookup("fake", "k1") is None
    assert forced.commit("fake", "k1", _staged(forced, "new")) == entry
    assert (entry / "artifact.bin").read_text() == "new"
    assert (entry / MANIFEST).is_file()
    assert ArtifactCache(tmp_path).lookup("fake", "k1") == entry


def test_incomplete_entry_is_a_miss_and_gets_replaced(tmp_path: pathlib.Path) -> None:
    cache = ArtifactCache(tmp_path)
    broken = cache.entry("fake", "k1")
    broken.mkdir(parents=True)
    (broken / "artifact.bin").write_text("half")
    assert cache.lookup("fake", "k1") is None
    entry = cache.commit("fake", "k1", _staged(cache, "whole"))
    assert (entry / "artifact.bin").read_text() == "whole"
    assert cache.lookup("fake", "k1") == entry


def test_changed_file_fails_the_digest_check_and_is_dropped(tmp_path: pathlib.Path) -> None:
    cache = ArtifactCache(tmp_path)
    entry = cache.commit("fake", "k1", _staged(cache, "whole"))
    assert verify(entry) == ""
    (entry / "artifact.bin").write_text("changed")
    assert verify(entry) == "digest mismatch: artifact.bin"
    assert cache.find("fake", "k1") == Found(None, "digest mismatch: artifact.bin")
    assert not entry.exists()  # dropped ...
    assert cache.find("fake", "k1") == Found(None)  # ... so the next lookup is a plain miss
    assert list((tmp_path / "staging").iterdir()) == []


def test_extra_or_missing_file_fails_the_digest_check(tmp_path: pathlib.Path) -> None:
    cache = ArtifactCache(tmp_path)
    entry = cache.commit("fake", "k1", _staged(cache, "whole"))
    (entry / "extra.onnx.data").write_bytes(b"\0")
    assert verify(entry) == "unexpected file extra.onnx.data"
    (entry / "extra.onnx.data").unlink()
    (entry / "artifact.bin").unlink()
    assert verify(entry) == "missing file artifact.bin"


def test_commit_replaces_a_bad_entry_instead_of_keeping_it(tmp_path: pathlib.Path) -> None:
    cache = ArtifactCache(tmp_path)
    entry = cache.commit("fake", "k1", _staged(cache, "first"))
    (entry / "artifact.bin").write_text("tampered")
    assert cache.commit("fake", "k1", _staged(cache, "second")) == entry
    assert (entry / "artifact.bin").read_text() == "second"
    assert verify(entry) == ""


def test_concurrent_commits_of_one_key_agree_on_one_whole_entry(tmp_path: pathlib.Path) -> None:
    cache = ArtifactCache(tmp_path)
    staged = [_staged(cache, f"writer {i}") for i in range(8)]
    barrier = threading.Barrier(len(staged))

    def commit(path: pathlib.Path) -> pathlib.Path:
        barrier.wait()
        return cache.commit("fake", "k1", path)

    with ThreadPoolExecutor(len(staged)) as pool:
        entries = set(pool.map(commit, staged))
    assert entries == {cache.entry("fake", "k1")}
    entry = entries.pop()
    assert (entry / "artifact.bin").read_text() in {f"writer {i}" for i in range(8)}
    assert sorted(p.name for p in entry.iterdir()) == [MANIFEST, "artifact.bin"]
    assert list((tmp_path / "staging").iterdir()) == []



def test_key_follows_the_backend_source_and_the_host_cpu(tmp_path: pathlib.Path) -> None:
    """Editing a backend's code must not reuse artifacts its old code wrote."""
    import importlib.util
    import sys

    from paritykit.run.cache import backend_source_hash, host_id

    def load(text: str, name: str) -> type:
        path = tmp_path / f"{name}.py"
        path.write_text(text)
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module.Thing  # type: ignore[no-any-return]

    first = load("class Thing:\n    x = 1\n", "paritykit_srchash_a")
    same = load("class Thing:\n    x = 1\n", "paritykit_srchash_b")
    edited = load("class Thing:\n    x = 2\n", "paritykit_srchash_c")
    assert backend_source_hash(first) == backend_source_hash(same)
    assert backend_source_hash(first) != backend_source_hash(edited)
    assert host_id().split()[1] in {"x86_64", "aarch64", "arm64", "AMD64"}
