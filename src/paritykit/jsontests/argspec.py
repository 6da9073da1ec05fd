"""argspec: an input or expected output written as iree-run-module writes ``--input=``.

Forms of ``value`` (``url`` downloads a file and appends it as ``<value>=@<file>``):

- ``2x3xf32=1,2,3,4,5,6`` literal elements (commas, spaces or brackets separate them);
- ``2x3xf32=1`` one element splatted over the shape; ``2x3xf32`` zeros; ``f32=1.5`` a scalar;
- ``data/x.npy``, ``data/x.safetensors`` (one tensor, or ``file.safetensors#name``) — a file
  path, relative to the external-file directory; ``@`` in front is allowed;
- ``2x3xf32=@data/x.bin`` raw little-endian bytes of that shape and element type.

Every tensor is checked against :mod:`paritykit.jsontests.limits` before it is allocated: the
type when the definition is parsed, a file's header (``.npy``, ``.safetensors``) or size (raw)
before it is read.
"""

from __future__ import annotations

import pathlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ml_dtypes
import numpy as np

from paritykit.jsontests.limits import check_size

#: IREE element types → NumPy (IREE integers are signless: ``i32`` reads as int32).
ELEMENT_TYPES: dict[str, Any] = {
    "f16": np.float16, "f32": np.float32, "f64": np.float64, "bf16": ml_dtypes.bfloat16,
    "i1": np.bool_, "i8": np.int8, "i16": np.int16, "i32": np.int32, "i64": np.int64,
    "si8": np.int8, "si16": np.int16, "si32": np.int32, "si64": np.int64,
    "ui8": np.uint8, "ui16": np.uint16, "ui32": np.uint32, "ui64": np.uint64,
}
FILE_SUFFIXES = (".npy", ".safetensors", ".bin")
_TYPE = re.compile(r"^(?P<dims>(\d+x)*)(?P<elem>[a-z]+\d+)$")
_SEPARATORS = re.compile(r"[\s,\[\]]+")


@dataclass(frozen=True)
class ArgSpec:
    """One argspec as written; ``path`` is its JSON path (``$.inputs[0]``) for messages."""

    path: str
    value: str = ""
    url: str = ""
    sha256: str | None = None


@dataclass(frozen=True)
class TensorType:
    """``2x3xf32`` parsed."""

    shape: tuple[int, ...]
    dtype: np.dtype[Any]


def parse_type(text: str) -> TensorType:
    """``2x3xf32`` → shape (2, 3), float32; raises ValueError naming what is allowed.

    >>> parse_type("2x3xf32")
    TensorType(shape=(2, 3), dtype=dtype('float32'))
    """
    match = _TYPE.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a tensor type like 2x3xf32")
    elem = match["elem"]
    if elem not in ELEMENT_TYPES:
        raise ValueError(f"unknown element type {elem!r} in {text!r}; expected one of "
                         f"{', '.join(ELEMENT_TYPES)}")
    dims = tuple(int(d) for d in match["dims"].split("x") if d)
    dtype = np.dtype(ELEMENT_TYPES[elem])
    check_size(dims, dtype, text.strip())
    return TensorType(dims, dtype)


def is_file_value(value: str) -> bool:
    """Whether ``value`` names a file rather than a literal."""
    name = value.removeprefix("@").split("#", 1)[0]
    return "=" not in value and name.endswith(FILE_SUFFIXES)


def parse_argspec(item: Any, path: str) -> ArgSpec:
    """Check an argspec's syntax (no file is read); errors name ``path``.

    >>> parse_argspec({"value": "2xf32=1,2"}, "$.inputs[0]").value
    '2xf32=1,2'
    """
    spec = ArgSpec(path, value=item) if isinstance(item, str) else ArgSpec(
        path, value=item.get("value", ""), url=item.get("url", ""), sha256=item.get("sha256"))
    where = f"{path}.value" if not isinstance(item, str) else path
    value = spec.value
    try:
        if spec.url:
            if value:
                parse_type(value)
        elif is_file_value(value):
            pass
        else:
            head, sep, rest = value.partition("=")
            kind = parse_type(head)
            if sep and rest.startswith("@"):
                if not rest[1:]:
                    raise ValueError("'@' must be followed by a file path")
            elif sep:
                _elements(rest, kind)  # checked, not splatted: the worker allocates it
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    return spec


def _elements(text: str, kind: TensorType) -> np.ndarray:
    """The elements written after ``=`` (one, to splat, or one per element of the shape)."""
    count = int(np.prod(kind.shape, dtype=np.int64))
    parts = [p for p in _SEPARATORS.split(text.strip()) if p]
    if len(parts) not in (1, count):
        raise ValueError(f"{len(parts)} element(s) given for shape {list(kind.shape)} "
                         f"({count} elements, or 1 to splat)")
    try:
        if kind.dtype == np.bool_:
            return np.array([p.lower() in ("1", "true") for p in parts])
        return np.array([float(p) if kind.dtype.kind in "fV" or "." in p or "e" in p.lower()
                         else int(p, 0) for p in parts]).astype(kind.dtype)
    except ValueError:
        raise ValueError(f"elements {text!r} are not {kind.dtype} numbers") from None


def _literal(text: str, kind: TensorType) -> np.ndarray:
    values = _elements(text, kind)
    if len(values) == 1:  # one element splats over the shape (a scalar when the shape is ())
        return np.full(kind.shape, values[0], dtype=kind.dtype)
    return values.reshape(kind.shape)


def _from_file(path: pathlib.Path, kind: TensorType | None, shown: str) -> np.ndarray:
    name, _, tensor = shown.partition("#")
    if path.is_dir():
        raise ValueError(f"{name}: is a directory, not a file")
    if not path.exists():
        raise FileNotFoundError(f"{name}: no such file")
    if path.suffix == ".npy":
        return _npy(path, name)
    if path.suffix == ".safetensors":
        return _safetensors(path, name, tensor)
    if kind is None:
        raise ValueError(f"{name}: a raw file needs its type in front, e.g. 2x3xf32=@{name}")
    count = int(np.prod(kind.shape, dtype=np.int64))
    size = path.stat().st_size
    if size != count * kind.dtype.itemsize:  # checked before reading: the file may be huge
        raise ValueError(f"{name} holds {size // kind.dtype.itemsize} {kind.dtype} element(s); "
                         f"{list(kind.shape)} needs {count}")
    return np.fromfile(path, dtype=kind.dtype).reshape(kind.shape)


def _npy(path: pathlib.Path, name: str) -> np.ndarray:
    """A ``.npy`` file, its header's shape checked against the limits before the data is read."""
    try:
        with path.open("rb") as f:
            version = np.lib.format.read_magic(f)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read_header(f)
    except (ValueError, EOFError) as exc:
        raise ValueError(f"{name}: not a readable .npy file: {exc}") from None
    check_size(shape, np.dtype(dtype), name)
    return np.load(path, allow_pickle=False)


def stored_dtype(code: str) -> np.dtype:
    """A NumPy dtype of the item size safetensors' ``F32``, ``BF16``, ``F8_E4M3``, ``BOOL`` has.

    >>> stored_dtype("BF16").itemsize, stored_dtype("BOOL").itemsize
    (2, 1)
    """
    bits = re.search(r"\d+", code)
    return np.dtype(f"V{int(bits.group()) // 8 if bits else 1}")


def _safetensors(path: pathlib.Path, name: str, tensor: str) -> np.ndarray:
    """One tensor of a ``.safetensors`` file (the named one, or its only one), size-checked
    from the header before it is read."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), "np") as f:
            names = sorted(f.keys())
            if tensor and tensor not in names:
                raise ValueError(f"{name} has no tensor {tensor!r}; it has {', '.join(names)}")
            if not tensor and len(names) != 1:
                raise ValueError(f"{name} holds {len(names)} tensors; name one as "
                                 f"{name}#NAME ({', '.join(names)})")
            chosen = tensor or names[0]
            part = f.get_slice(chosen)
            check_size(part.get_shape(), stored_dtype(part.get_dtype()), f"{name}#{chosen}")
            array: np.ndarray = f.get_tensor(chosen)
            return array
    except SafetensorError as exc:
        raise ValueError(f"{name}: not a readable .safetensors file: {exc}") from None


def materialize(spec: ArgSpec, resolve: Callable[[str], pathlib.Path],
                download: Callable[[str, str | None, str], pathlib.Path]) -> np.ndarray:
    """The array an argspec stands for.

    ``resolve`` turns a relative file path into a path under the external-file directory;
    ``download(url, sha256, json_path)`` fetches a ``url`` into the artifact cache.
    """
    value = spec.value
    if spec.url:
        file = download(spec.url, spec.sha256, f"{spec.path}.url")
        kind = parse_type(value) if value else None
        if kind is None and file.suffix not in (".npy", ".safetensors"):
            raise ValueError(f"{spec.path}: {spec.url} is a raw file; give its type in "
                             "`value`, e.g. 2x3xf32")
        return _from_file(file, kind, file.name)
    if is_file_value(value):
        name = value.removeprefix("@")
        file_name = name.split("#", 1)[0]
        return _from_file(resolve(file_name), None, name)
    head, sep, rest = value.partition("=")
    kind = parse_type(head)
    if not sep:
        return np.zeros(kind.shape, kind.dtype)
    if rest.startswith("@"):
        return _from_file(resolve(rest[1:]), kind, rest[1:])
    return _literal(rest, kind)
