"""Per-case and per-backend files: input/output set archives (safetensors), JSON written
atomically. This module owns the set archive format (tensor names, content hash) for every route.

Layout under the artifact directory::

    <case>/inputs.safetensors        input_0, input_1, ... (set k > 0 as set{k}_input_0 ...)
    <case>/expected.safetensors      the reference outputs
    <case>/<backend>/actual.safetensors
    <case>/<backend>/<artifact>      the lowered file (.pt2, .onnx, ...)
    <case>/<backend>/result.json     the Result record
    <case>/<backend>/repro.txt       one command that reruns just this pair
"""

from __future__ import annotations

import hashlib
import json
import pathlib
import re
import shutil
from collections.abc import Sequence
from typing import Any

import numpy as np
import safetensors.torch

from paritykit.core.dtypes import dtype_name, to_numpy, to_torch
from paritykit.core.errors import ParityError
from paritykit.files.atomic import atomic_write_bytes
from paritykit.files.paths import inside


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def under(root: pathlib.Path, name: str) -> pathlib.Path:
    """``root / name`` as one folder name, proven to stay inside ``root`` (links resolved).

    Registration refuses such names already; this holds for any name that reaches a path
    (a results file read back, a JSON definition's id), because results are written and
    ``--clean-after`` deletes below it.

        >>> under(pathlib.Path("out"), "relu.fp16").as_posix()
        'out/relu.fp16'
    """
    part = _safe(name)
    if part in ("", ".", ".."):
        raise ParityError(f"{name!r} cannot name a folder under {root}: use letters, digits "
                          "and -_.")
    path = root / part
    if not inside(path, root):
        raise ParityError(f"{path} resolves to {path.resolve()}, outside {root}; remove that "
                          "link")
    return path


def case_dir(root: pathlib.Path, case: str) -> pathlib.Path:
    """The directory of one case."""
    return under(root, case)


def backend_dir(root: pathlib.Path, case: str, backend: str) -> pathlib.Path:
    """The directory of one (case, backend) pair."""
    return under(case_dir(root, case), backend)


def save_arrays(path: pathlib.Path, sets: Sequence[Sequence[np.ndarray]], stem: str,
                atomic: bool = True) -> None:
    """Save input/output sets as one safetensors file, named by :func:`named_arrays`.

    ``atomic`` matters for files that several workers may write at once (a case's inputs);
    a (case, backend) folder has a single writer.
    """
    tensors = {k: to_torch(a).contiguous() for k, a in named_arrays(sets, stem).items()}
    if atomic:
        atomic_write_bytes(path, safetensors.torch.save(tensors), durable=False)
    else:
        safetensors.torch.save_file(tensors, str(path))


def load_arrays(path: pathlib.Path) -> dict[str, np.ndarray]:
    """Every tensor of a safetensors file as NumPy (bf16 as ml_dtypes.bfloat16)."""
    return {k: to_numpy(v) for k, v in safetensors.torch.load_file(str(path)).items()}


def write_json(path: pathlib.Path, data: Any) -> None:
    """Write JSON atomically (a reader never sees a partial file)."""
    text = json.dumps(data, indent=2, default=str)
    atomic_write_bytes(path, text.encode(), durable=False)


#: Linux's FICLONE ioctl: a copy-on-write clone (btrfs, XFS), as cheap as a link.
_FICLONE = 0x40049409


def copy_file(src: pathlib.Path, dst: pathlib.Path) -> None:
    """Copy ``src`` to ``dst`` (a reflink where the file system has them); replaces ``dst``.

    Never a hard link: ``src`` is a cache entry and ``dst`` sits in the artifact directory,
    which others may write; through a link they would rewrite the entry.

    >>> import tempfile; d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "a").write_text("x")
    >>> copy_file(d / "a", d / "b"); (d / "b").stat().st_nlink, (d / "b").read_text()
    (1, 'x')
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.unlink(missing_ok=True)  # it may be a hard link into the cache (older paritykit)
    if not _reflink(src, dst):
        shutil.copyfile(src, dst)


def _reflink(src: pathlib.Path, dst: pathlib.Path) -> bool:
    try:
        import fcntl

        with src.open("rb") as source, dst.open("wb") as target:
            fcntl.ioctl(target.fileno(), _FICLONE, source.fileno())
    except (ImportError, OSError):  # no fcntl (Windows), or the file system cannot clone
        return False
    return True


_SET = re.compile(r"^(?:set(\d+)_)?(input|output)_(\d+)$")


def named_arrays(sets: Sequence[Sequence[np.ndarray]], stem: str) -> dict[str, np.ndarray]:
    """Input/output sets by tensor name: ``{stem}_{i}`` for set 0, ``set{k}_{stem}_{i}`` after."""
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
