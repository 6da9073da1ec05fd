"""Golden values: a backend's outputs stored on one machine, compared on another.

``generate`` runs cases on a backend and stores, per case, the inputs and the outputs as
safetensors plus one ``manifest.json`` describing where they came from::

    <out>/manifest.json
    <out>/<case>/inputs.safetensors     input_0, ... (set k > 0 as set{k}_input_0 ...)
    <out>/<case>/outputs.safetensors    output_0, ...

``compare`` runs a backend here on the *stored* inputs and compares with the stored outputs
under the tolerance rules. It also rebuilds each case here: when the inputs (or weights) this
machine generates for the case and seed hash differently from the golden's, that is reported as
its own finding, because the golden then describes a different computation.
"""

from __future__ import annotations

import datetime
import hashlib
import pathlib
import platform
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from paritykit.artifacts import case_dir, load_arrays, save_arrays, write_json
from paritykit.backend import Backend, Prepared
from paritykit.cases import CASES, CaseRef
from paritykit.compare import compare_input_sets, message
from paritykit.dtypes import dtype_name, to_numpy
from paritykit.errors import ExportError, ParityError
from paritykit.expectations import ExpectationSet
from paritykit.jsonfile import read_json
from paritykit.reference import CaseMaterial, build_case, case_info
from paritykit.registry import BACKENDS
from paritykit.result import Result, Status
from paritykit.tolerance import ToleranceRules

MANIFEST = "manifest.json"
FORMAT = 1
INPUTS_FILE = "inputs.safetensors"
OUTPUTS_FILE = "outputs.safetensors"
#: Packages whose versions can change numbers, recorded next to the backend's own.
FRAMEWORKS = ("torch", "numpy", "ml_dtypes", "safetensors")
#: The reason attached to an input-hash finding (the likely causes, for the reader).
INPUTS_DIFFER_HINT = "generated elsewhere with different RNG/dtype?"

_SET = re.compile(r"^(?:set(\d+)_)?(input|output)_(\d+)$")


def named_arrays(sets: Sequence[Sequence[np.ndarray]], stem: str) -> dict[str, np.ndarray]:
    """The tensor names :func:`paritykit.artifacts.save_arrays` gives ``sets``."""
    named = {}
    for k, arrays in enumerate(sets):
        prefix = "" if k == 0 else f"set{k}_"
        for i, a in enumerate(arrays):
            named[f"{prefix}{stem}_{i}"] = np.asarray(a)
    return named


def content_hash(arrays: dict[str, np.ndarray]) -> str:
    """sha256 over names, dtypes, shapes and bytes: equal iff the tensors are bit-identical.

    The file bytes are not hashed because safetensors' header layout is not part of the data.

    >>> a = {"input_0": np.zeros(2, np.float32)}
    >>> content_hash(a) == content_hash({"input_0": np.zeros(2, np.float32)})
    True
    >>> content_hash(a) == content_hash({"input_0": np.zeros(2, np.float64)})
    False
    """
    digest = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{dtype_name(a.dtype)}|{list(a.shape)}|".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def split_sets(arrays: dict[str, np.ndarray], stem: str,
               path: pathlib.Path) -> list[list[np.ndarray]]:
    """Inverse of :func:`named_arrays`; a name that does not fit is a ParityError."""
    sets: dict[int, dict[int, np.ndarray]] = {}
    for name, a in arrays.items():
        m = _SET.match(name)
        if m is None or m.group(2) != stem:
            raise ParityError(f"{path}: unexpected tensor {name!r} (expected {stem}_N or "
                              f"setK_{stem}_N)")
        sets.setdefault(int(m.group(1) or 0), {})[int(m.group(3))] = a
    if sorted(sets) != list(range(len(sets))):
        raise ParityError(f"{path}: input sets {sorted(sets)} are not numbered 0..{len(sets) - 1}")
    return [[s[i] for i in sorted(s)] for _, s in sorted(sets.items())]


@dataclass(frozen=True)
class GoldenCase:
    """One case's entry in the manifest."""

    case: str
    base: str
    inputs: str
    outputs: str
    inputs_sha256: str
    outputs_sha256: str
    weights_sha256: str
    device: str


@dataclass(frozen=True)
class Manifest:
    """The parsed ``manifest.json`` of a golden directory."""

    path: pathlib.Path
    seed: int
    backend: str
    device: str
    platform: dict[str, str]
    versions: dict[str, str]
    cases: tuple[GoldenCase, ...]

    @property
    def origin(self) -> str:
        """``backend on device (system machine)`` for messages."""
        where = " ".join(x for x in (self.platform.get("system"), self.platform.get("machine"))
                         if x)
        return f"{self.backend} on {self.device} ({where})" if where else self.backend


def platform_info() -> dict[str, str]:
    """The machine a golden was made on."""
    return {"system": platform.system(), "machine": platform.machine(),
            "platform": platform.platform(), "python": platform.python_version()}


def _framework_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in FRAMEWORKS:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "missing"
    return out


def _refs_by_id() -> dict[str, CaseRef]:
    return {r.id: r for r in CASES.expand()}


def _prepare(backend: Backend, material: CaseMaterial, options: dict[str, str],
             workdir: pathlib.Path) -> Prepared:
    program = material.program
    program.options = dict(options)
    workdir.mkdir(parents=True, exist_ok=True)
    return backend.prepare(program, workdir)


def _error(result: Result, status: Status, what: str, exc: BaseException) -> Result:
    from paritykit.worker import error_message

    result.status = status
    result.message = error_message(result.case, result.backend, what, exc)
    return result


def _lower(backend: Backend, ref: CaseRef, seed: int, material: CaseMaterial,
           options: dict[str, str], workdir: pathlib.Path, result: Result) -> Prepared | Result:
    """Prepare ``material`` or return the finished error/unsupported Result."""
    reason = backend.unsupported_reason(case_info(ref, seed))
    if reason:
        result.status = Status.UNSUPPORTED
        result.message = f"{ref.id} @ {backend.name}: {reason}"
        return result
    start = time.perf_counter()
    try:
        prepared = _prepare(backend, material, options, workdir)
    except ExportError as exc:
        return _error(result, Status.EXPORT_ERROR, "export failed", exc)
    except Exception as exc:
        return _error(result, Status.LOWER_ERROR, "lowering failed", exc)
    result.prepare_s = time.perf_counter() - start
    result.device = prepared.device
    return prepared


def _run_sets(prepared: Prepared, sets: list[list[np.ndarray]],
              result: Result) -> list[list[np.ndarray]] | None:
    """Every input set through ``prepared`` (on copies, so a backend that writes into its
    inputs cannot change what is stored or compared), timed into ``result.run_s``; None after
    recording a RUN_ERROR on ``result``."""
    try:
        start = time.perf_counter()
        outputs = [prepared.run([a.copy() for a in s]) for s in sets]
    except Exception as exc:
        _error(result, Status.RUN_ERROR, "run failed", exc)
        return None
    result.run_s = time.perf_counter() - start
    return outputs


def generate(backend: str, refs: Sequence[CaseRef], out_dir: str | pathlib.Path, seed: int = 0,
             options: dict[str, str] | None = None,
             expectations: ExpectationSet | None = None) -> list[Result]:
    """Run ``refs`` on ``backend`` and store inputs, outputs and ``manifest.json`` in ``out_dir``.

    Cases that fail (lowering, running) or are unsupported are returned with their status and
    left out of the manifest; ``expectations`` skip entries are not run and xfail entries turn
    known failures into XFAIL. The manifest is written last, so a directory with a manifest is
    complete.
    """
    known = expectations or ExpectationSet()
    impl = BACKENDS.get(backend)
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    entries: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="paritykit-golden-") as tmp:
        for ref in refs:
            result = Result(ref.id, backend, Status.RUN_ERROR, base=ref.base,
                            versions=impl.versions())
            if not _skipped(known, result):
                entry = _generate_one(impl, ref, seed, options or {}, out,
                                      pathlib.Path(tmp) / ref.id, result)
                if entry is not None:
                    entries[ref.id] = entry
            results.append(known.apply(result))
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
        "frameworks": _framework_versions(),
        "cases": entries,
        "left_out": {r.case: r.message or r.status.value for r in results
                     if r.case not in entries},
    })
    return results


def _skipped(expectations: ExpectationSet, result: Result) -> bool:
    """Mark ``result`` SKIPPED when a skip entry says the pair must not run (it may crash)."""
    reason = expectations.skip_reason(result.case, result.backend)
    if reason:
        result.status = Status.SKIPPED
        result.message = f"{result.case} @ {result.backend}: skipped: {reason}"
    return reason is not None


def _generate_one(impl: Backend, ref: CaseRef, seed: int, options: dict[str, str],
                  out: pathlib.Path, workdir: pathlib.Path,
                  result: Result) -> dict[str, Any] | None:
    try:
        material = build_case(ref, seed)
    except Exception as exc:
        _error(result, Status.RUN_ERROR, "case setup or torch reference failed", exc)
        return None
    prepared = _lower(impl, ref, seed, material, options, workdir, result)
    if isinstance(prepared, Result):
        return None
    inputs = [[to_numpy(t) for t in s] for s in material.input_sets]
    outputs = _run_sets(prepared, inputs, result)
    if outputs is None:
        return None
    directory = case_dir(out, ref.id)
    directory.mkdir(parents=True, exist_ok=True)
    save_arrays(directory / INPUTS_FILE, inputs, "input")
    save_arrays(directory / OUTPUTS_FILE, outputs, "output")
    result.status = Status.PASS
    result.artifact_dir = str(directory)
    rel = directory.relative_to(out).as_posix()
    return {
        "base": ref.base,
        "inputs": f"{rel}/{INPUTS_FILE}",
        "outputs": f"{rel}/{OUTPUTS_FILE}",
        "inputs_sha256": content_hash(named_arrays(inputs, "input")),
        "outputs_sha256": content_hash(named_arrays(outputs, "output")),
        "weights_sha256": material.key_parts["state"],
        "sets": len(inputs),
        "device": prepared.device,
    }


def _field(data: Any, key: str, kind: type | tuple[type, ...], path: pathlib.Path,
           where: str) -> Any:
    if not isinstance(data, dict) or key not in data:
        raise ParityError(f"{path}: missing field {where}{key}")
    value = data[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        name = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ParityError(f"{path}: field {where}{key} should be {name}, got "
                          f"{type(value).__name__}")
    return value


def load_manifest(golden_dir: str | pathlib.Path) -> Manifest:
    """Read and validate ``manifest.json``; problems are ParityErrors naming the file and field."""
    path = pathlib.Path(golden_dir) / MANIFEST
    data = read_json(path, missing=" (not a golden directory; make one with `parity golden "
                                   "generate`)")
    fmt = _field(data, "format", int, path, "")
    if fmt != FORMAT:
        raise ParityError(f"{path}: field format is {fmt}, this paritykit reads {FORMAT}")
    backend = _field(data, "backend", dict, path, "")
    cases = _field(data, "cases", dict, path, "")
    parsed = []
    for case, entry in cases.items():
        where = f"cases.{case}."
        strings = {k: _field(entry, k, str, path, where)
                   for k in ("base", "inputs", "outputs", "inputs_sha256", "outputs_sha256",
                             "weights_sha256", "device")}
        parsed.append(GoldenCase(case=case, **strings))
    return Manifest(
        path=path,
        seed=_field(data, "seed", int, path, ""),
        backend=_field(backend, "name", str, path, "backend."),
        device=_field(data, "device", str, path, ""),
        platform={str(k): str(v) for k, v in _field(data, "platform", dict, path, "").items()},
        versions={str(k): str(v) for k, v in backend.get("versions", {}).items()},
        cases=tuple(parsed),
    )


def _load_checked(manifest: Manifest, entry: GoldenCase, kind: str) -> list[list[np.ndarray]]:
    """Load one stored file and check it against the manifest's hash of it."""
    rel = entry.inputs if kind == "input" else entry.outputs
    path = manifest.path.parent / rel
    if not path.is_file():
        raise ParityError(f"{path}: no such file (named by {manifest.path} field "
                          f"cases.{entry.case}.{kind}s)")
    try:
        arrays = load_arrays(path)
    except Exception as exc:
        raise ParityError(f"{path}: not a readable safetensors file: {exc}") from None
    expected = entry.inputs_sha256 if kind == "input" else entry.outputs_sha256
    if content_hash(arrays) != expected:
        raise ParityError(f"{path}: content does not match {manifest.path} field "
                          f"cases.{entry.case}.{kind}s_sha256 (file changed after generation)")
    return split_sets(arrays, kind, path)


def compare(backend: str, golden_dir: str | pathlib.Path,
            tolerances: ToleranceRules | None = None, options: dict[str, str] | None = None,
            workdir: str | pathlib.Path | None = None,
            expectations: ExpectationSet | None = None) -> list[Result]:
    """Run ``backend`` here on each golden case's stored inputs and compare with its outputs.

    Every stored file is checked against the manifest first (a ParityError names the file and
    field). A case whose inputs or weights, rebuilt here from the case and seed, hash
    differently from the golden's is a MISMATCH of its own ("inputs differ: ..."), even when the
    outputs agree on the stored inputs. ``expectations`` apply as in ``parity run``.
    """
    known = expectations or ExpectationSet()
    manifest = load_manifest(golden_dir)
    rules = tolerances or ToleranceRules()
    impl = BACKENDS.get(backend)
    stored = {e.case: (_load_checked(manifest, e, "input"), _load_checked(manifest, e, "output"))
              for e in manifest.cases}
    refs = _refs_by_id()
    results = []
    with tempfile.TemporaryDirectory(prefix="paritykit-golden-") as tmp:
        root = pathlib.Path(workdir) if workdir is not None else pathlib.Path(tmp)
        for entry in manifest.cases:
            result = Result(entry.case, backend, Status.RUN_ERROR, base=entry.base,
                            versions=impl.versions(),
                            stats={"seed": manifest.seed, "golden": str(manifest.path.parent),
                                   "golden_origin": manifest.origin})
            if not _skipped(known, result):
                inputs, outputs = stored[entry.case]
                _compare_one(impl, refs.get(entry.case), entry, manifest, inputs, outputs, rules,
                             options or {}, root / entry.case, result)
            results.append(known.apply(result))
    return results


def _compare_one(impl: Backend, ref: CaseRef | None, entry: GoldenCase, manifest: Manifest,
                 inputs: list[list[np.ndarray]], outputs: list[list[np.ndarray]],
                 rules: ToleranceRules, options: dict[str, str], workdir: pathlib.Path,
                 result: Result) -> None:
    if ref is None:
        result.message = (f"{entry.case} @ {impl.name}: case setup failed — case "
                          f"{entry.case!r} is not registered here (load its -p plugin?)")
        return
    start = time.perf_counter()
    try:
        material = build_case(ref, manifest.seed)
    except Exception as exc:
        _error(result, Status.RUN_ERROR, "case setup failed", exc)
        return
    result.setup_s = time.perf_counter() - start
    findings = _provenance_findings(entry, material, manifest.seed)
    prepared = _lower(impl, ref, manifest.seed, material, options, workdir, result)
    if isinstance(prepared, Result):
        return
    actual = _run_sets(prepared, inputs, result)
    if actual is None:
        return
    result.stats.update(prepared.stats)
    k, worst = compare_input_sets(actual, outputs,
                                  rules.resolver(impl.name, entry.case, entry.base,
                                                 material.tolerance))
    result.record_comparison(worst)
    label = f"{impl.name} vs golden {manifest.origin}"
    values = message(entry.case, label, worst, k)
    if findings:
        result.status = Status.MISMATCH
        outcome = (values.removeprefix(f"{entry.case} @ {label}: ") if values
                   else "outputs on the stored inputs agree")
        result.message = (f"{entry.case} @ {label}: {'; '.join(findings)} "
                          f"({INPUTS_DIFFER_HINT}); {outcome}")
        result.stats["finding"] = "inputs"
    elif values:
        result.status = Status.MISMATCH
        result.message = values
    else:
        result.status = Status.PASS


def _provenance_findings(entry: GoldenCase, material: CaseMaterial, seed: int) -> list[str]:
    """What this machine generates for the case and seed that differs from the golden."""
    here = content_hash(named_arrays([[to_numpy(t) for t in s] for s in material.input_sets],
                                     "input"))
    findings = []
    if here != entry.inputs_sha256:
        findings.append(f"inputs differ — golden inputs sha256 {entry.inputs_sha256[:12]}, this "
                        f"machine generates {here[:12]} for seed {seed}")
    if material.key_parts["state"] != entry.weights_sha256:
        findings.append(f"weights differ — golden weights sha256 {entry.weights_sha256[:12]}, "
                        f"this machine generates {material.key_parts['state'][:12]}")
    return findings
