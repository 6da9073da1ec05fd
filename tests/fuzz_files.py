"""Malformed JSON test definitions, module definitions, weight archives and golden directories,
generated, for fuzz-style tests (issue 12; :mod:`fuzz_inputs` covers tolerance and expectations
files).

Every variant is a :class:`FileVariant`: files to write over a valid layout, and the file whose
name the error must carry (the *culprit*). None is valid: each one changes one thing of

- **JSON definitions** — :data:`VALID_DEFINITION` (a quality test of the torch module
  ``linear``, a ``Linear(3, 2)`` factory, weights ``linear.safetensors`` with sha256 and scope),
  its module definition :data:`VALID_MODULE` and its weights archive. Paths are relative to a
  layout root: ``defs/`` (``--test-file-directory``), ``mods/`` (``--module-directory``),
  ``data/`` (``--external-file-directory``); :func:`json_base_files` is the valid layout, whose
  ``defs/z_good.json`` passes. A variant that breaks a module or a weights archive brings its
  own (``mods/<variant>.json``, ``data/<variant>.safetensors``) and a definition pointing at it,
  so every variant can share one test-file directory (a module definition's name differs from
  its test's: ``defs/mod-X.json`` names ``mods/M_X.json``).
- **golden directories** — one made by ``parity golden generate`` (``manifest.json``,
  ``<case>/inputs.safetensors``, ``<case>/outputs.safetensors``), passed in as its files; paths
  are relative to the golden directory.

Weight and golden archives are broken at the byte level (:func:`safetensors_variants`: empty,
truncated, header length or offsets that lie, a wrong dtype string, renamed, reshaped, extra
tensors, garbled bytes) as well as by swapping tensors and files.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import pickle
import random
import re
import struct
import zipfile
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np
from safetensors.numpy import save


class FileVariant(NamedTuple):
    """``files`` (relative path → bytes) written over the valid layout; the error must name
    ``culprit`` (its file name, at least)."""

    name: str
    files: dict[str, bytes]
    culprit: str


Where = tuple[str | int, ...]

# ---------------------------------------------------------------------------------- helpers

#: A value of each JSON type, for "wrong type" variants (those of the field's own type are
#: left out).
WRONG_TYPES: list[tuple[str, Any]] = [("null", None), ("number", 7), ("string", "x"),
                                      ("list", ["x"]), ("object", {"x": 1}), ("bool", True)]
NON_FINITE = ["NaN", "Infinity", "-Infinity", "1e999"]
ESCAPES = {"dotdot": "../outside/{file}", "absolute": "{outside}/{file}", "tilde": "~/{file}",
           "file-url": "file:///etc/passwd"}
"""Paths leading out of the named directories (``{outside}``: the layout's ``outside/``, an
absolute path filled in by the test; ``~`` is the test's ``$HOME``, holding the same files)."""
_SENTINEL = 987654.125  # a number that appears nowhere in the valid documents


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "list", dict: "object"}[type(value)]


def _dump(doc: Any) -> bytes:
    return json.dumps(doc, indent=1).encode()


def _get(doc: Any, where: Where) -> Any:
    for step in where:
        doc = doc[step]
    return doc


def _set(doc: Any, where: Where, value: Any) -> Any:
    out = copy.deepcopy(doc)
    _get(out, where[:-1])[where[-1]] = value
    return out


def _delete(doc: Any, where: Where) -> Any:
    out = copy.deepcopy(doc)
    del _get(out, where[:-1])[where[-1]]
    return out


def _with_literal(doc: Any, where: Where, literal: str) -> bytes:
    """``doc`` with the number at ``where`` written as ``literal`` (NaN, 1e999, ...), which
    json.dumps cannot write."""
    text = json.dumps(_set(doc, where, _SENTINEL), indent=1)
    assert text.count(repr(_SENTINEL)) == 1
    return text.replace(repr(_SENTINEL), literal).encode()


def _slug(where: Where) -> str:
    return ".".join(str(p) for p in where) or "top"


def _fields(doc: Any, where: Where = ()) -> Iterator[Where]:
    """Every field of ``doc`` (object keys and list items, depth first)."""
    items = (doc.items() if isinstance(doc, dict)
             else enumerate(doc) if isinstance(doc, list) else ())
    for key, value in items:
        yield (*where, key)
        yield from _fields(value, (*where, key))


def _wrong_types(doc: Any, where: Where) -> Iterator[tuple[str, bytes]]:
    own = _json_type(_get(doc, where))
    for kind, value in WRONG_TYPES:
        if kind != own:
            yield f"{_slug(where)}-type-{kind}", _dump(_set(doc, where, value))


def json_byte_variants(valid: bytes) -> Iterator[tuple[str, bytes]]:
    """A valid JSON document broken as bytes: truncated, garbled, empty, not UTF-8, ..."""
    for fraction in (0.1, 0.5, 0.9):
        cut = int(len(valid) * fraction)
        while cut > 1 and valid[cut - 1:cut] in (b"\n", b" ", b"]", b"}", b'"'):
            cut -= 1
        yield f"truncated-{int(fraction * 100)}pct", valid[:cut]
    yield "empty", b""
    yield "whitespace-only", b" \n"
    rng = random.Random(12)
    garbled = bytearray(valid)
    for i in rng.sample(range(len(garbled)), max(3, len(garbled) // 20)):
        garbled[i] = rng.choice(b"{}[],:\"\\\x00\xff")
    yield "garbled", bytes(garbled)
    yield "latin-1", valid[:-2] + "\u00e8".encode("latin-1") + valid[-2:]
    yield "utf-16", valid.decode().encode("utf-16")
    yield "invalid-start-byte", b"\xff" + valid
    yield "bom-then-json", b"\xef\xbb\xbf" + valid
    yield "trailing-garbage", valid + b"\nx"
    yield "two-documents", valid + valid
    yield "top-level-list", b"[" + valid + b"]"
    deep = 100_000
    yield "deeply-nested", b'{"type": ' + b"[" * deep + b"]" * deep + b"}"
    yield "huge-integer", valid[:-1].rstrip() + b', "x": ' + b"9" * 5000 + b"}"


# ------------------------------------------------------------------------ safetensors bytes

def _st_split(data: bytes) -> tuple[dict[str, Any], bytes]:
    (length,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + length]), data[8 + length:]


def _st_join(header: dict[str, Any], body: bytes, length: int | None = None) -> bytes:
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text) if length is None else length) + text + body


def safetensors_variants(valid: bytes) -> Iterator[tuple[str, bytes]]:
    """``(what, bytes)``: ``valid`` (a .safetensors file) broken in one place; each is a file
    safetensors cannot read, or one whose tensors (names, shapes, count) are not the valid
    file's. Tensor names are taken from the file."""
    header, body = _st_split(valid)
    (length,) = struct.unpack("<Q", valid[:8])
    names = sorted(k for k in header if k != "__metadata__")
    first = names[0]
    yield "st-empty", b""
    yield "st-length-only", valid[:8]
    yield "st-short-length", valid[:5]
    yield "st-truncated-header", valid[:8 + len(valid[8:]) // 3]
    yield "st-truncated-data", valid[:-4]
    yield "st-trailing-bytes", valid + b"\0" * 8
    yield "st-header-length-huge", struct.pack("<Q", 2**62) + valid[8:]
    yield "st-header-length-past-end", struct.pack("<Q", len(valid)) + valid[8:]
    yield "st-header-not-json", valid[:8] + b"{" * length + body
    yield "st-header-not-utf8", valid.replace(first.encode(), b"\xff" * len(first), 1)
    begin, end = header[first]["data_offsets"]
    yield "st-offsets-past-end", _st_join(_set(header, (first, "data_offsets"),
                                                [begin, end + 4096]), body)
    yield "st-offsets-reversed", _st_join(_set(header, (first, "data_offsets"), [end, begin]),
                                          body)
    yield "st-dtype-unknown", _st_join(_set(header, (first, "dtype"), "F33"), body)
    yield "st-dtype-lowercase", _st_join(_set(header, (first, "dtype"), "f32"), body)
    yield "st-dtype-wrong-size", _st_join(_set(header, (first, "dtype"), "F64"), body)
    yield "st-shape-huge", _st_join(_set(header, (first, "shape"), [100000, 100000, 1000]), body)
    yield "st-shape-negative", _st_join(_set(header, (first, "shape"), [-1]), body)
    yield "st-shape-string", _st_join(_set(header, (first, "shape"), "2x3"), body)
    rng = random.Random(5)
    yield "st-random-bytes", bytes(rng.randrange(256) for _ in range(len(valid)))
    garbled = bytearray(valid)
    for i in range(8, 8 + 24):
        garbled[i] ^= 0x5A
    yield "st-garbled-header", bytes(garbled)
    yield "st-npz-bytes", _npz({n: np.zeros(2, np.float32) for n in names})
    yield "st-json-text", b'{"not": "safetensors"}'


def _arrays(data: bytes) -> dict[str, np.ndarray]:
    from safetensors.numpy import load

    return dict(load(data))


def renamed(data: bytes, old: str, new: str) -> bytes:
    arrays = _arrays(data)
    arrays[new] = arrays.pop(old)
    return save(arrays)


def reshaped(data: bytes, name: str) -> bytes:
    arrays = _arrays(data)
    arrays[name] = arrays[name].reshape(arrays[name].shape[::-1] if arrays[name].ndim > 1
                                        else (1, -1))
    return save(arrays)


def swapped_values(data: bytes) -> bytes:
    """The file's two first tensors' names swapped (each name now holds the other's data)."""
    arrays = _arrays(data)
    a, b = sorted(arrays)[:2]
    arrays[a], arrays[b] = arrays[b], arrays[a]
    return save(arrays)


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    out = io.BytesIO()
    np.savez(out, **arrays)  # type: ignore[arg-type]
    return out.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -------------------------------------------------------------------------- JSON definitions

FACTORY = '''"""The torch factory of the fuzz layout."""
import torch


def linear():
    return torch.nn.Linear(3, 2)
'''
VALID_MODULE: dict[str, Any] = {"torch": "fuzz_linear:linear",
                                "description": "Linear(3, 2) for the fuzz tests"}
#: ``weight`` all ones, ``bias`` zeros, under the scope ``model``: 1x3 ones → 1x2 threes.
WEIGHTS = save({"model.weight": np.ones((2, 3), np.float32),
                "model.bias": np.zeros(2, np.float32)})
VALID_DEFINITION: dict[str, Any] = {
    "type": "quality",
    "markers": ["cpu"],
    "modules": ["linear"],
    "weights": [{"type": "url", "url": "linear.safetensors", "sha256": sha256(WEIGHTS),
                 "scope": "model"}],
    "inputs": [{"value": "1x3xf32=1"}],
    "expected_outputs": ["1x2xf32=3"],
    "atol": 1e-5,
    "rtol": 1e-4,
    "description": "the fuzz tests' valid definition",
}
"""The valid definition every JSON variant is derived from."""
GOOD = "z_good"
#: ``outside/`` holds a copy of each file a definition may name, so that a path leading there
#: is refused by the path rule, not found missing.
OUTSIDE = {"x.npy": b"", "linear.json": _dump(VALID_MODULE), "linear.safetensors": WEIGHTS}


def _npy(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


OUTSIDE["x.npy"] = _npy(np.ones((1, 3), np.float32))


def json_base_files() -> dict[str, bytes]:
    """The valid layout: module, factory, weights, ``outside/`` and ``defs/z_good.json``."""
    files = {"mods/fuzz_linear.py": FACTORY.encode(), "mods/linear.json": _dump(VALID_MODULE),
             "data/linear.safetensors": WEIGHTS, f"defs/{GOOD}.json": _dump(VALID_DEFINITION)}
    files.update({f"outside/{k}": v for k, v in OUTSIDE.items()})
    files.update({f"home/{k}": v for k, v in OUTSIDE.items()})
    return files


def _definition_variants() -> Iterator[tuple[str, bytes]]:
    """``(name, bytes)`` of test definitions (with the shared valid module and weights)."""
    doc = VALID_DEFINITION
    for where in _fields(doc):
        yield from _wrong_types(doc, where)
    for where in [("type",), ("markers",), ("modules",), ("inputs",), ("expected_outputs",),
                  ("weights", 0, "type"), ("weights", 0, "url"), ("inputs", 0, "value")]:
        yield f"{_slug(where)}-missing", _dump(_delete(doc, where))
    for where in [(), ("weights", 0), ("inputs", 0)]:
        yield f"unknown-key-{_slug(where)}", _dump(_set(doc, (*where, "colour"), "blue"))
    for where in [("atol",), ("rtol",)]:
        for literal in NON_FINITE:
            yield f"{_slug(where)}-literal-{literal}", _with_literal(doc, where, literal)
        yield f"{_slug(where)}-negative", _dump(_set(doc, where, -1e-3))
    for value in ("speed", "", "Quality"):
        yield f"type-bad-{value or 'empty'}", _dump(_set(doc, ("type",), value))
    yield "markers-bad-name", _dump(_set(doc, ("markers",), ["not a marker"]))
    yield "modules-empty", _dump(_set(doc, ("modules",), []))
    yield "modules-two", _dump(_set(doc, ("modules",), ["linear", "linear"]))
    yield "modules-missing-file", _dump(_set(doc, ("modules",), ["no_such_module"]))
    yield "weights-type-bad", _dump(_set(doc, ("weights", 0, "type"), "zip"))
    yield "weights-sha256-short", _dump(_set(doc, ("weights", 0, "sha256"), "abc"))
    yield "weights-sha256-wrong", _dump(_set(doc, ("weights", 0, "sha256"), "0" * 64))
    yield "weights-scope-wrong", _dump(_set(doc, ("weights", 0, "scope"), "encoder"))
    yield "weights-url-missing-file", _dump(_set(doc, ("weights", 0, "url"), "nope.safetensors"))
    yield "weights-url-scheme", _dump(_set(doc, ("weights", 0, "url"), "ftp://example/w.pt"))
    yield "weights-random-no-seed", _dump(_set(doc, ("weights", 0), {"type": "random",
                                                                     "module": "linear"}))
    yield "weights-random-seed-float", _dump(_set(doc, ("weights", 0), {
        "type": "random", "module": "linear", "seed": 1.5}))
    for i, (what, value) in enumerate([
            ("huge", "100000x100000x1000xf32=1"), ("huge-zeros", "100000x100000x1000xf32"),
            ("huge-dim", "99999999999999999999x1xf32"), ("elem-unknown", "1x3xq7=1"),
            ("count-wrong", "1x3xf32=1,2"), ("not-numbers", "1x3xf32=a,b,c"),
            ("raw-empty-at", "1x3xf32=@"), ("raw-missing", "1x3xf32=@none.bin")]):
        yield f"inputs.0.value-{what}", _dump(_set(doc, ("inputs", 0, "value"), value))
        if i < 4:
            yield f"expected_outputs.0-{what}", _dump(_set(doc, ("expected_outputs", 0), value))
    yield "run_args-unsupported", _dump(_set(doc, ("run_args",), ["--print-statistics"]))
    yield "run_args-not-flag", _dump(_set(doc, ("run_args",), ["device=cpu"]))
    for kind, template in ESCAPES.items():
        written = template.format(file="x.npy", outside="{outside}")
        yield f"inputs-escape-{kind}", _dump(_set(doc, ("inputs", 0), {
            "url" if kind == "file-url" else "value": written}))
        yield f"weights-escape-{kind}", _dump(_set(doc, ("weights", 0), {
            "type": "url", "url": template.format(file="linear.safetensors",
                                                  outside="{outside}"), "scope": "model"}))
        if kind != "file-url":
            yield f"modules-escape-{kind}", _dump(_set(doc, ("modules",), [
                template.format(file="linear", outside="{outside}")]))
    for what, data in json_byte_variants(_dump(doc)):
        yield f"bytes-{what}", data


def _module_variants() -> Iterator[tuple[str, bytes]]:
    doc = VALID_MODULE
    for where in _fields(doc):
        yield from _wrong_types(doc, where)
    yield "torch-missing", _dump(_delete(doc, ("torch",)))
    yield "unknown-key", _dump(_set(doc, ("weights",), "w.safetensors"))
    yield "torch-and-onnx", _dump(_set(doc, ("onnx",), "m.onnx"))
    yield "mlir-without-flags", _dump({"mlir": "m.mlir"})
    for value in ("fuzz_linear", "fuzz linear:linear", "no_such_package:factory",
                  "fuzz_linear:missing", "os:getcwd"):
        yield f"torch-{re.sub(r'[^a-z]+', '-', value)}", _dump(_set(doc, ("torch",), value))
    yield "sha256-short", _dump(_set(doc, ("sha256",), "abc"))
    for what, data in json_byte_variants(_dump(doc)):
        yield f"bytes-{what}", data


def _pickled(obj: Any) -> bytes:
    return pickle.dumps(obj, protocol=2)


class _Pwn:
    """A pickle that, if loaded unsafely, creates ``pwned-by-pickle`` in the working directory
    (the test's snapshot of its tree would see it)."""

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[str, str]]:
        return open, ("pwned-by-pickle", "w")


def _torch_zip(payload: bytes) -> bytes:
    """A zip laid out like ``torch.save``'s with ``payload`` as its pickle."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("archive/data.pkl", payload)
        z.writestr("archive/version", "3\n")
    return out.getvalue()


def _weights_variants() -> Iterator[tuple[str, str, bytes]]:
    """``(name, suffix, bytes)`` of weight archives the valid definition must refuse."""
    for what, data in safetensors_variants(WEIGHTS):
        yield f"w-{what}", ".safetensors", data
    yield "w-name-mismatch", ".safetensors", renamed(WEIGHTS, "model.weight", "model.wieght")
    yield "w-extra-tensor", ".safetensors", save({**_arrays(WEIGHTS),
                                                  "model.extra": np.zeros(1, np.float32)})
    yield "w-shape-transposed", ".safetensors", reshaped(WEIGHTS, "model.weight")
    yield "w-no-tensors", ".safetensors", save({})
    npz = _npz({"model.weight": np.ones((2, 3), np.float32),
                "model.bias": np.zeros(2, np.float32)})
    yield "w-npz-truncated", ".npz", npz[:len(npz) // 2]
    yield "w-npz-empty", ".npz", b""
    yield "w-npz-pickled-object", ".npz", _npz({"model.weight": np.array([{"a": 1}], object),
                                                "model.bias": np.zeros(2, np.float32)})
    yield "w-pt-garbled", ".pt", b"PK\x03\x04" + bytes(range(200))
    yield "w-pt-empty", ".pt", b""
    yield "w-pt-not-a-dict", ".pt", _torch_zip(_pickled([1, 2, 3]))
    yield "w-pt-pickle-payload", ".pt", _torch_zip(_pickled(_Pwn()))
    yield "w-pt-raw-pickle-payload", ".pt", _pickled(_Pwn())


def json_variants() -> Iterator[FileVariant]:
    """Every malformed definition, module definition and weight archive, each with the
    definition that names it (``defs/<name>.json``)."""
    for name, data in _definition_variants():
        yield FileVariant(f"def-{name}", {f"defs/def-{name}.json": data},
                          f"defs/def-{name}.json")
    for name, data in _module_variants():
        stem = f"mod-{name}"
        module = f"M_{name}"  # a name of its own: the error must name this file, not the test
        definition = _set(VALID_DEFINITION, ("modules",), [module])
        yield FileVariant(stem, {f"defs/{stem}.json": _dump(definition),
                                 f"mods/{module}.json": data}, f"mods/{module}.json")
    for name, suffix, data in _weights_variants():
        # The definition carries the broken file's own sha256, so that the reader is what
        # refuses it (w-sha256-wrong, below, is the one whose hash lies).
        definition = _set(VALID_DEFINITION, ("weights", 0), {
            "type": "url", "url": f"{name}{suffix}", "sha256": sha256(data), "scope": "model"})
        yield FileVariant(name, {f"defs/{name}.json": _dump(definition),
                                 f"data/{name}{suffix}": data}, f"data/{name}{suffix}")
    definition = _set(VALID_DEFINITION, ("weights", 0, "url"), "w-sha256-wrong.safetensors")
    yield FileVariant("w-sha256-wrong", {
        "defs/w-sha256-wrong.json": _dump(definition),
        "data/w-sha256-wrong.safetensors": WEIGHTS + b"\0"}, "data/w-sha256-wrong.safetensors")
    for what, data in list(safetensors_variants(save({"x": np.ones((1, 3), np.float32)})))[:6]:
        name = f"in-{what}"
        definition = _set(VALID_DEFINITION, ("inputs", 0), {"value": f"{name}.safetensors"})
        yield FileVariant(name, {f"defs/{name}.json": _dump(definition),
                                 f"data/{name}.safetensors": data}, f"data/{name}.safetensors")


# ------------------------------------------------------------------------------- goldens

def golden_variants(valid: dict[str, bytes]) -> Iterator[FileVariant]:
    """Malformed versions of a golden directory whose files are ``valid`` (``manifest.json``
    and each case's archives): the manifest's fields, its bytes, and the archives."""
    manifest: dict[str, Any] = json.loads(valid["manifest.json"])
    case = next(iter(manifest["cases"]))
    entry = manifest["cases"][case]
    m = "manifest.json"

    def doc(data: Any) -> dict[str, bytes]:
        return {m: data if isinstance(data, bytes) else _dump(data)}

    for where in _fields(manifest):
        for name, data in _wrong_types(manifest, where):
            yield FileVariant(f"g-{name}", doc(data), m)
    for where in [("format",), ("backend",), ("cases",), ("seed",), ("device",), ("platform",),
                  ("backend", "name"), *(("cases", case, k) for k in entry if k != "sets")]:
        yield FileVariant(f"g-{_slug(where)}-missing", doc(_delete(manifest, where)), m)
    for where in [("seed",), ("format",), ("cases", case, "sets")]:
        for literal in NON_FINITE:
            yield FileVariant(f"g-{_slug(where)}-literal-{literal}",
                              doc(_with_literal(manifest, where, literal)), m)
    for where, label, value in [
            (("format",), "2", 2), (("format",), "float", 1.0), (("seed",), "float", 0.0),
            (("cases", case, "sets"), "0", 0), (("backend", "name"), "empty", ""),
            (("cases", case, "inputs"), "empty", ""),
            (("cases", case, "inputs_sha256"), "uppercase", entry["inputs_sha256"].upper()),
            (("cases", case, "outputs_sha256"), "short", "0" * 63)]:
        yield FileVariant(f"g-{_slug(where)}-bad-{label}", doc(_set(manifest, where, value)), m)
    for kind in ("inputs", "outputs"):
        for what, template in ESCAPES.items():
            written = template.format(file=f"{kind}.safetensors", outside="{outside}")
            yield FileVariant(f"g-{kind}-escape-{what}",
                              doc(_set(manifest, ("cases", case, kind), written)), m)
        wrong = "f" * 64 if entry[f"{kind}_sha256"] != "f" * 64 else "e" * 64
        yield FileVariant(f"g-{kind}_sha256-wrong",
                          doc(_set(manifest, ("cases", case, f"{kind}_sha256"), wrong)), m)
    for what, data in json_byte_variants(valid[m]):
        yield FileVariant(f"g-bytes-{what}", doc(data), m)
    # the archives
    files = {kind: entry[kind] for kind in ("inputs", "outputs")}
    for kind, rel in files.items():
        for what, data in safetensors_variants(valid[rel]):
            yield FileVariant(f"g-{kind}-{what}", {rel: data}, rel)
        yield FileVariant(f"g-{kind}-empty-archive", {rel: save({})}, rel)
    swapped = {files["inputs"]: valid[files["outputs"]], files["outputs"]: valid[files["inputs"]]}
    yield FileVariant("g-archives-swapped", swapped, files["inputs"])
    # ... and the same with the manifest's hashes made to match, so that the names refuse it
    from paritykit.golden import content_hash

    def rehashed(kind: str, data: bytes) -> dict[str, bytes]:
        changed = _set(manifest, ("cases", case, f"{kind}_sha256"), content_hash(_arrays(data)))
        return {files[kind]: data, m: _dump(changed)}

    both = _set(manifest, ("cases", case, "inputs_sha256"),
                content_hash(_arrays(valid[files["outputs"]])))
    both = _set(both, ("cases", case, "outputs_sha256"),
                content_hash(_arrays(valid[files["inputs"]])))
    yield FileVariant("g-archives-swapped-rehashed", {**swapped, m: _dump(both)}, files["inputs"])
    inputs = valid[files["inputs"]]
    first = sorted(_arrays(inputs))[0]
    yield FileVariant("g-inputs-renamed-rehashed",
                      rehashed("inputs", renamed(inputs, first, "x")), files["inputs"])
    yield FileVariant("g-inputs-set-gap-rehashed",
                      rehashed("inputs", renamed(inputs, first, f"set2_{first}")),
                      files["inputs"])
    if len(_arrays(inputs)) > 1:
        yield FileVariant("g-inputs-tensors-swapped", {files["inputs"]: swapped_values(inputs)},
                          files["inputs"])


def all_variants(golden: dict[str, bytes]) -> dict[str, list[FileVariant]]:
    """Both lists, by kind: ``{"json": [...], "golden": [...]}``."""
    return {"json": list(json_variants()), "golden": list(golden_variants(golden))}
