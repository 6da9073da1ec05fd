"""Golden values: a backend's outputs stored on one machine, compared on another.

``generate`` runs cases on a backend and stores, per case, the inputs and the outputs plus one
``manifest.json`` describing where they came from (the format:
:mod:`paritykit.files.golden_manifest`).

``compare`` runs a backend here on the *stored* inputs and compares with the stored outputs
under the tolerance rules. It also rebuilds each case here: when the inputs (or weights) this
machine generates for the case and seed hash differently from the golden's, that is reported as
its own finding, because the golden then describes a different computation.

Both run their cases like ``parity run`` does, in the worker pool (``jobs``, ``timeout``), so a
backend that crashes or hangs costs its own result: CRASH or TIMEOUT.
"""

from __future__ import annotations

import contextlib
import datetime
import pathlib
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from paritykit.core.cases import CASES, CaseRef
from paritykit.core.expectations import ExpectationSet
from paritykit.core.registry import BACKENDS
from paritykit.core.result import Result, Status
from paritykit.core.tolerance import ToleranceRules
from paritykit.files.artifacts import (
    backend_dir,
    case_dir,
    content_hash,
    load_arrays,
    named_arrays,
    split_sets,
    write_json,
)
from paritykit.files.golden_manifest import (
    FORMAT,
    INPUTS_DIFFER_HINT,
    INPUTS_FILE,
    MANIFEST,
    OUTPUTS_FILE,
    GoldenCase,
    Manifest,
    check_confined,
    load_checked,
    load_manifest,
)
from paritykit.files.machine import framework_versions, platform_info
from paritykit.run.plan import build_plan
from paritykit.run.pool import Pool
from paritykit.run.worker import Expected, RunConfig

__all__ = ["FORMAT", "INPUTS_DIFFER_HINT", "INPUTS_FILE", "MANIFEST", "OUTPUTS_FILE",
           "GoldenCase", "Manifest", "PoolOptions", "compare", "content_hash", "generate",
           "load_manifest", "named_arrays", "platform_info", "split_sets"]


@dataclass(frozen=True)
class PoolOptions:
    """How golden runs its cases: workers, per-case timeout, ``-p`` plugins, artifacts.

    Without ``artifact_dir`` the workers' files (logs, lowered programs) go to a temporary
    directory that is removed afterwards.
    """

    jobs: int = 1
    timeout: float = 600.0
    plugins: tuple[str, ...] = ()
    artifact_dir: str | None = None
    on_result: Callable[[Result], None] = field(default=lambda r: None)


@contextlib.contextmanager
def _artifact_root(pool: PoolOptions) -> Iterator[pathlib.Path]:
    if pool.artifact_dir is not None:
        yield pathlib.Path(pool.artifact_dir)
        return
    with tempfile.TemporaryDirectory(prefix="paritykit-golden-") as tmp:
        yield pathlib.Path(tmp)


def _run(refs: Sequence[CaseRef], backend: str, config: RunConfig, known: ExpectationSet,
         pool: PoolOptions) -> list[Result]:
    """Plan and run ``refs`` on ``backend`` in the pool; results in ``refs`` order."""
    plan = build_plan(list(refs), [backend], config.seed, expectations=known)
    results: list[Result] = []

    def record(result: Result) -> None:
        result = known.apply(result)
        results.append(result)
        pool.on_result(result)

    for result in plan.decided:
        record(result)
    if plan.tasks:
        Pool(config, jobs=pool.jobs, timeout=pool.timeout).run(plan.tasks, record)
    order = {r.id: k for k, r in enumerate(refs)}
    return sorted(results, key=lambda r: order.get(r.case, len(order)))


def generate(backend: str, refs: Sequence[CaseRef], out_dir: str | pathlib.Path, seed: int = 0,
             options: dict[str, str] | None = None,
             expectations: ExpectationSet | None = None,
             pool: PoolOptions | None = None) -> list[Result]:
    """Run ``refs`` on ``backend`` and store inputs, outputs and ``manifest.json`` in ``out_dir``.

    Cases that fail (lowering, running, crashing) or are unsupported are returned with their
    status and left out of the manifest; ``expectations`` skip entries are not run and xfail
    entries turn known failures into XFAIL. The manifest is written last, so a directory with a
    manifest is complete.

    Example::

        results = generate("torch", CASES.expand()[:3], "goldens/", seed=0)
    """
    known = expectations or ExpectationSet()
    pool = pool or PoolOptions()
    impl = BACKENDS.get(backend)
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    entries: dict[str, dict[str, Any]] = {}
    with _artifact_root(pool) as root:
        config = RunConfig(seed=seed, artifact_dir=str(root), plugins=pool.plugins,
                           backend_options={backend: dict(options or {})},
                           expected=Expected.NONE, golden_dir=str(out))
        results = _run(refs, backend, config, known, pool)
        for result in results:
            if result.raw_status in ("", Status.PASS.value) and result.status is Status.PASS:
                entries[result.case] = _store(root, out, result)
    devices = sorted({e["device"] for e in entries.values()}) or ["cpu"]
    from paritykit import __version__

    write_json(out / MANIFEST, {
        "format": FORMAT,
        "paritykit": __version__,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "seed": seed,
        "backend": {"name": backend, "versions": impl.versions(), "options": options or {}},
        "device": ",".join(devices),
        "platform": platform_info(),
        "frameworks": framework_versions(),
        "cases": entries,
        "left_out": {r.case: r.message or r.status.value for r in results
                     if r.case not in entries},
    })
    return results


def _store(root: pathlib.Path, out: pathlib.Path, result: Result) -> dict[str, Any]:
    """Copy one case's inputs and the backend's outputs from the run into the golden dir."""
    directory = case_dir(out, result.case)
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(case_dir(root, result.case) / "inputs.safetensors", directory / INPUTS_FILE)
    shutil.copyfile(backend_dir(root, result.case, result.backend) / "actual.safetensors",
                    directory / OUTPUTS_FILE)
    inputs = load_arrays(directory / INPUTS_FILE)
    rel = directory.relative_to(out).as_posix()
    result.artifact_dir = str(directory)
    return {
        "base": result.base,
        "inputs": f"{rel}/{INPUTS_FILE}",
        "outputs": f"{rel}/{OUTPUTS_FILE}",
        "inputs_sha256": content_hash(inputs),
        "outputs_sha256": content_hash(load_arrays(directory / OUTPUTS_FILE)),
        "weights_sha256": result.stats.pop("weights_sha256"),
        "sets": len(split_sets(inputs, "input", directory / INPUTS_FILE)),
        "device": result.device,
    }


def compare(backend: str, golden_dir: str | pathlib.Path,
            tolerances: ToleranceRules | None = None, options: dict[str, str] | None = None,
            expectations: ExpectationSet | None = None,
            pool: PoolOptions | None = None,
            allow_outside_paths: bool = False) -> list[Result]:
    """Run ``backend`` here on each golden case's stored inputs and compare with its outputs.

    Every stored file is checked against the manifest first (a ParityError names the file and
    field); each must lie inside the golden directory unless ``allow_outside_paths``. A case
    whose inputs or weights, rebuilt here from the case and seed, hash differently from the
    golden's is a MISMATCH of its own ("inputs differ: ..."), even when the outputs agree on the
    stored inputs. ``expectations`` apply as in ``parity run``.

    Example::

        results = compare("mlx", "goldens/")
    """
    known = expectations or ExpectationSet()
    pool = pool or PoolOptions()
    manifest = load_manifest(golden_dir)
    if not allow_outside_paths:
        check_confined(manifest)
    for entry in manifest.cases:  # every problem with the files is found before anything runs
        load_checked(manifest, entry, "input")
        load_checked(manifest, entry, "output")
    registered = {r.id: r for r in CASES.expand()}
    refs = [registered[e.case] for e in manifest.cases if e.case in registered]
    missing = [_unregistered(e, backend) for e in manifest.cases if e.case not in registered]
    with _artifact_root(pool) as root:
        config = RunConfig(seed=manifest.seed, artifact_dir=str(root), plugins=pool.plugins,
                           tolerances=tolerances or ToleranceRules(),
                           backend_options={backend: dict(options or {})},
                           expected=Expected.GOLDEN, golden_dir=str(manifest.path.parent))
        results = _run(refs, backend, config, known, pool)
    order = {e.case: k for k, e in enumerate(manifest.cases)}
    return sorted([*results, *(known.apply(r) for r in missing)], key=lambda r: order[r.case])


def _unregistered(entry: GoldenCase, backend: str) -> Result:
    return Result(entry.case, backend, Status.RUN_ERROR, base=entry.base,
                  message=f"{entry.case} @ {backend}: case setup failed — case {entry.case!r} "
                          "is not registered here (load its -p plugin?)")
