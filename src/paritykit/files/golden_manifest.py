"""The golden directory format: ``manifest.json`` plus input and output set archives.

::

    <dir>/manifest.json
    <dir>/<case>/inputs.safetensors     input_0, ... (set k > 0 as set{k}_input_0 ...)
    <dir>/<case>/outputs.safetensors    output_0, ...

Reading checks every field and every file's content hash against the manifest; problems are
ParityErrors that name the file and the field.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from paritykit.core.errors import ParityError
from paritykit.files.artifacts import content_hash, load_arrays, split_sets
from paritykit.files.jsonfile import as_field, read_json
from paritykit.files.paths import inside

MANIFEST = "manifest.json"
FORMAT = 1
INPUTS_FILE = "inputs.safetensors"
OUTPUTS_FILE = "outputs.safetensors"
#: Packages whose versions can change numbers, recorded next to the backend's own.
#: The reason attached to an input-hash finding (the likely causes, for the reader).
INPUTS_DIFFER_HINT = "generated elsewhere with different RNG/dtype?"



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

    def entry(self, case: str) -> GoldenCase:
        """The manifest's entry of ``case`` (a ParityError naming the file if there is none)."""
        for entry in self.cases:
            if entry.case == case:
                return entry
        raise ParityError(f"{self.path}: no case {case!r} under field cases")

    @property
    def origin(self) -> str:
        """``backend on device (system machine)`` for messages."""
        where = " ".join(x for x in (self.platform.get("system"), self.platform.get("machine"))
                         if x)
        return f"{self.backend} on {self.device} ({where})" if where else self.backend


_STRING = {"type": "string"}
_SHA256 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
#: name -> version, name -> option value: what ``generate`` writes (a version is text).
_STRINGS = {"type": "object", "additionalProperties": _STRING}
_PATH = {"type": "string", "minLength": 1}
_CASE_FIELDS = ("base", "inputs", "outputs", "inputs_sha256", "outputs_sha256", "weights_sha256",
                "device")
_CASE = {
    "type": "object", "required": list(_CASE_FIELDS),
    "properties": {"base": _STRING, "inputs": _PATH, "outputs": _PATH, "inputs_sha256": _SHA256,
                   "outputs_sha256": _SHA256, "weights_sha256": _SHA256, "device": _STRING,
                   "sets": {"type": "integer", "minimum": 1}},
}
#: What ``manifest.json`` must hold (more is allowed: newer writers may add fields). Every
#: field paritykit reads has its type here, down to the values of objects, so a hand-edited
#: manifest fails with the field's name rather than a traceback further on.
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["format", "backend", "cases", "seed", "device", "platform"],
    "properties": {
        "format": {"type": "integer"},
        "paritykit": _STRING,
        "created": _STRING,
        "seed": {"type": "integer"},
        "device": _STRING,
        "platform": _STRINGS,
        "frameworks": _STRINGS,
        "backend": {"type": "object", "required": ["name"],
                    "properties": {"name": {"type": "string", "minLength": 1},
                                   "versions": _STRINGS, "options": _STRINGS}},
        "cases": {"type": "object", "additionalProperties": _CASE},
        "left_out": _STRINGS,
    },
}


def _exact_integers(data: dict[str, Any], path: pathlib.Path) -> None:
    """JSON Schema counts ``7.0`` as an integer; a seed of 7.0 would seed other inputs."""
    for name in ("format", "seed"):
        if not isinstance(data[name], int):
            raise ParityError(f"{path}: field {name} should be int, got "
                              f"{type(data[name]).__name__} {data[name]!r}")


def load_manifest(golden_dir: str | pathlib.Path) -> Manifest:
    """Read and validate ``manifest.json``; problems are ParityErrors naming the file and field."""
    path = pathlib.Path(golden_dir) / MANIFEST
    data = read_json(path, missing=" (not a golden directory; make one with `parity golden "
                                   "generate`)", schema=SCHEMA, describe=as_field)
    _exact_integers(data, path)
    if data["format"] != FORMAT:
        raise ParityError(f"{path}: field format is {data['format']}, this paritykit reads "
                          f"{FORMAT}")
    backend = data["backend"]
    return Manifest(
        path=path,
        seed=data["seed"],
        backend=backend["name"],
        device=data["device"],
        platform=dict(data["platform"]),
        versions=dict(backend.get("versions", {})),
        cases=tuple(GoldenCase(case=case, **{k: entry[k] for k in _CASE_FIELDS})
                    for case, entry in data["cases"].items()),
    )


def check_confined(manifest: Manifest) -> None:
    """Refuse a manifest whose case files lie outside its own directory.

    A manifest travels (a CI artifact, a download); an absolute path, ``../`` or a symlink in
    ``cases.<id>.inputs`` / ``outputs`` must not make compare read files elsewhere on the
    machine. ``parity golden compare --allow-outside-paths`` skips this check.
    """
    root = manifest.path.parent
    for entry in manifest.cases:
        for kind, rel in (("inputs", entry.inputs), ("outputs", entry.outputs)):
            if not inside(root / rel, root):
                raise ParityError(f"{manifest.path}: field cases.{entry.case}.{kind}: {rel!r} "
                                  f"is outside the golden directory {manifest.path.parent}; "
                                  "pass --allow-outside-paths to read it anyway")


def load_checked(manifest: Manifest, entry: GoldenCase, kind: str) -> list[list[np.ndarray]]:
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




def provenance_findings(entry: GoldenCase, inputs_sha256: str, weights_sha256: str,
                        seed: int) -> list[str]:
    """What this machine generates for the case and seed that differs from the golden."""
    findings = []
    if inputs_sha256 != entry.inputs_sha256:
        findings.append(f"inputs differ — golden inputs sha256 {entry.inputs_sha256[:12]}, this "
                        f"machine generates {inputs_sha256[:12]} for seed {seed}")
    if weights_sha256 != entry.weights_sha256:
        findings.append(f"weights differ — golden weights sha256 {entry.weights_sha256[:12]}, "
                        f"this machine generates {weights_sha256[:12]}")
    return findings
