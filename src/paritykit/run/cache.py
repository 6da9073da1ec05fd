"""A content-addressed cache of lowered artifacts, safe for parallel workers.

An entry is a directory ``<root>/<backend>/<key>/`` written by ``Backend.prepare`` into a
staging directory and renamed into place under a file lock, so readers never see half an entry.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import os
import pathlib
import shutil
import tempfile
from typing import TYPE_CHECKING, Any

import filelock

from paritykit.files.machine import default_cache_dir as default_cache_dir
from paritykit.files.machine import host_id as host_id  # re-exported: cache keys name the host

if TYPE_CHECKING:
    from paritykit.core.backend import Backend

COMPLETE = ".complete"


def cache_key(parts: dict[str, Any]) -> str:
    """A stable hash of JSON-serialisable ``parts`` (dict order does not matter).

    >>> cache_key({"a": 1, "b": 2}) == cache_key({"b": 2, "a": 1})
    True
    """
    blob = json.dumps(parts, sort_keys=True, default=repr).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


def backend_source_hash(cls: type) -> str:
    """A hash of the code that lowers for ``cls``: a backend fix must not reuse old artifacts.

    For a built-in backend that is every module of ``paritykit.backends`` (they share private
    helpers); for any other, the file that defines the class.
    """
    return _source_hash(inspect.getsourcefile(cls) or "")


def backend_identity(backend: Backend) -> dict[str, Any]:
    """The key parts that identify a backend build on this machine: name, package versions,
    its lowering code and the host CPU (every cache key of a lowered artifact has them)."""
    return {"backend": backend.name, "versions": backend.versions(),
            "source": backend_source_hash(type(backend)), "host": host_id()}


@functools.cache
def _source_hash(source_file: str) -> str:
    digest = hashlib.sha256()
    source = pathlib.Path(source_file)
    package = pathlib.Path(__file__).parents[1] / "backends"
    files = sorted(package.rglob("*.py")) if source.is_relative_to(package) else [source]
    for path in files:
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


class ArtifactCache:
    """Entries per backend and key; ``force`` makes every lookup miss and every commit replace."""

    def __init__(self, root: pathlib.Path, force: bool = False) -> None:
        self.root = root
        self.force = force

    def entry(self, backend: str, key: str) -> pathlib.Path:
        """Where the entry for ``key`` lives (whether or not it exists)."""
        return self.root / "artifacts" / backend / key

    def lookup(self, backend: str, key: str) -> pathlib.Path | None:
        """The complete entry for ``key``, or None (always None when forced)."""
        path = self.entry(backend, key)
        if self.force or not (path / COMPLETE).exists():
            return None
        return path

    def staging(self, backend: str) -> pathlib.Path:
        """A fresh private directory to prepare into."""
        parent = self.root / "staging"
        parent.mkdir(parents=True, exist_ok=True)
        return pathlib.Path(tempfile.mkdtemp(prefix=f"{backend}-", dir=parent))

    def commit(self, backend: str, key: str, staged: pathlib.Path) -> pathlib.Path:
        """Move ``staged`` into place; if another worker won the race, keep theirs."""
        path = self.entry(backend, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        (staged / COMPLETE).write_text("")
        with filelock.FileLock(str(path) + ".lock"):
            if path.exists():
                if (path / COMPLETE).exists() and not self.force:
                    shutil.rmtree(staged, ignore_errors=True)
                    return path
                shutil.rmtree(path)
            os.replace(staged, path)
        return path
