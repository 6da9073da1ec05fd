"""Getting a module file (``mlir``/``onnx``) onto a backend through the compiled-module cache.

A ``torch`` module goes through :func:`paritykit.run.attempt.prepare` like every other program.

Entries live at ``<artifact dir>/artifacts/<backend>/<key>/``
(:class:`paritykit.run.cache.ArtifactCache`).
The key hashes what decides the compiled output — never whether a file exists:

- module files (``mlir``/``onnx``): the file's sha256, its kind and the compiler flags;
- ``torch`` modules: the factory name, a hash of its source file, the weights (file sha256 +
  scope, or the random seed), the input shapes/dtypes and the backend options;
- always: the backend name, its package versions, a hash of paritykit's backend code and the
  host CPU (IREE compiles for ``target-cpu=host``).

``--force-recompile`` makes every lookup miss and replaces the entry.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import pathlib
from collections.abc import Sequence
from typing import Any

from paritykit.core.backend import Backend, Prepared
from paritykit.core.result import Result
from paritykit.run.attempt import cached
from paritykit.run.cache import ArtifactCache, backend_identity, cache_key

#: Written into a module-file entry: which file in it is the compiled artifact.
ENTRY_INFO = "jsontest-module.json"


def factory_source_hash(model: Any) -> str:
    """A hash of the file defining the factory's module class (an edit recompiles)."""
    try:
        source = inspect.getsourcefile(type(model))
    except TypeError:
        source = None
    data = pathlib.Path(source).read_bytes() if source else type(model).__qualname__.encode()
    return hashlib.sha256(data).hexdigest()[:16]


def module_file_key(backend: Backend, kind: str, content_sha256: str,
                    flags: Sequence[str]) -> str:
    """The key of a compiled ``mlir``/``onnx`` file.

    >>> from paritykit.core.registry import BACKENDS
    >>> iree = BACKENDS.get("iree")
    >>> module_file_key(iree, "mlir", "ab", ["-O1"]) != module_file_key(iree, "mlir", "ab", [])
    True
    """
    return cache_key({"kind": kind, "content": content_sha256, "flags": list(flags),
                      **backend_identity(backend)})


def load_module_file(cache: ArtifactCache, backend: Backend, kind: str, path: pathlib.Path,
                     key: str, flags: Sequence[str], options: dict[str, str],
                     result: Result) -> Prepared:
    """Compile ``path`` on ``backend`` through the cache (or reopen the cached artifact);
    ``result.cache`` says which, as for programs (:func:`paritykit.run.attempt.cached`)."""

    def reuse(entry: pathlib.Path) -> Prepared:
        name = json.loads((entry / ENTRY_INFO).read_text())["artifact"]
        if name is None:  # nothing was compiled (e.g. ONNX Runtime reads the file itself)
            return backend.prepare_module(kind, path, entry, flags, options)
        artifact = entry / name
        return backend.prepare_module(artifact.suffix[1:], artifact, entry, (), options)

    def build(staged: pathlib.Path) -> Prepared:
        prepared = backend.prepare_module(kind, path, staged, flags, options)
        artifact = prepared.artifact.resolve() if prepared.artifact is not None else None
        inside = artifact is not None and artifact.is_relative_to(staged.resolve())
        relative = str(artifact.relative_to(staged.resolve())) if artifact and inside else None
        (staged / ENTRY_INFO).write_text(json.dumps({"artifact": relative}))
        return prepared

    prepared = cached(cache, backend.name, key, result, build=build, reuse=reuse)
    if result.cache != "hit" and prepared.artifact is not None and \
            prepared.artifact.is_relative_to(cache.root):
        # Reopen from the committed entry: the staged files the backend opened were moved.
        prepared = reuse(prepared.artifact.parent)
    return prepared
