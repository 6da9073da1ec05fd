"""A content-addressed cache of lowered artifacts, safe for parallel workers.

An entry is a directory ``<root>/<backend>/<key>/`` written by ``Backend.prepare`` into a
staging directory and renamed into place under a file lock, so readers never see half an entry.

Every entry holds a manifest (:data:`MANIFEST`): the sha256 of each of its files, written at
commit. :meth:`ArtifactCache.find` checks it before an entry is reused; an entry with a missing,
extra, changed or non-regular file is dropped, and the caller rebuilds it (``cache ==
"rebuilt"``). A lowered artifact can be native code (``.vmfb``) or a format whose loader runs
code, so an entry that does not match what was committed is never handed to a backend.
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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import filelock

from paritykit.files.machine import default_cache_dir as default_cache_dir
from paritykit.files.machine import host_id as host_id  # re-exported: cache keys name the host

if TYPE_CHECKING:
    from paritykit.core.backend import Backend

#: The entry's digests, ``{"format": 1, "files": {relative path: sha256}}``; written last, so an
#: entry without one is incomplete.
MANIFEST = ".manifest.json"
_FORMAT = 1


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


def file_digests(entry: pathlib.Path) -> dict[str, str]:
    """sha256 of every file under ``entry`` but the manifest, by POSIX relative path.

    Raises :class:`CorruptEntry` for anything that is not a regular file (a symlink could
    point anywhere, and its target is not the entry's to vouch for).

    >>> import tempfile; d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "a").write_text("x")
    >>> file_digests(d)["a"][:12]
    '2d711642b726'
    """
    digests = {}
    for folder, dirs, files in os.walk(entry):
        for name in sorted(dirs + files):
            path = pathlib.Path(folder, name)
            relative = path.relative_to(entry).as_posix()
            if path.is_symlink() or not (path.is_dir() or path.is_file()):
                raise CorruptEntry(f"{relative} is not a regular file")
            if path.is_file() and relative != MANIFEST:
                with path.open("rb") as f:
                    digests[relative] = hashlib.file_digest(f, "sha256").hexdigest()
    return digests


def write_manifest(entry: pathlib.Path) -> None:
    """Record the digests of every file of ``entry`` (at commit, in the staging directory)."""
    manifest = {"format": _FORMAT, "files": file_digests(entry)}
    (entry / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))


def verify(entry: pathlib.Path) -> str:
    """Why ``entry`` does not match its manifest, or ``""`` when every digest matches.

    >>> verify(pathlib.Path("/nonexistent"))
    'no manifest'
    """
    try:
        manifest = json.loads((entry / MANIFEST).read_text())
        recorded = manifest["files"]
        if manifest.get("format") != _FORMAT or not isinstance(recorded, dict):
            return "unreadable manifest"
        actual = file_digests(entry)
    except FileNotFoundError:
        return "no manifest"
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return f"unreadable entry: {exc}"
    except CorruptEntry as exc:
        return str(exc)
    for name in sorted(set(recorded) | set(actual)):
        if name not in actual:
            return f"missing file {name}"
        if name not in recorded:
            return f"unexpected file {name}"
        if actual[name] != recorded[name]:
            return f"digest mismatch: {name}"
    return ""


class CorruptEntry(Exception):
    """An entry holds something that is not a plain file."""


@dataclass(frozen=True)
class Found:
    """What a lookup found: a verified entry, or None and why a bad entry was dropped."""

    entry: pathlib.Path | None
    #: ``""`` for a plain miss; else what was wrong with the entry that was removed.
    dropped: str = ""


class ArtifactCache:
    """Entries per backend and key; ``force`` makes every lookup miss and every commit replace."""

    def __init__(self, root: pathlib.Path, force: bool = False) -> None:
        self.root = root
        self.force = force

    def entry(self, backend: str, key: str) -> pathlib.Path:
        """Where the entry for ``key`` lives (whether or not it exists)."""
        return self.root / "artifacts" / backend / key

    def lookup(self, backend: str, key: str) -> pathlib.Path | None:
        """The verified entry for ``key``, or None (always None when forced); see :meth:`find`."""
        return self.find(backend, key).entry

    def find(self, backend: str, key: str) -> Found:
        """The entry for ``key`` if every file matches its manifest; a bad entry is dropped.

        >>> cache = ArtifactCache(pathlib.Path(tempfile.mkdtemp()))
        >>> cache.find("fake", "k")
        Found(entry=None, dropped='')
        """
        path = self.entry(backend, key)
        if self.force or not path.exists():
            return Found(None)
        problem = verify(path)
        if not problem:
            return Found(path)
        self.drop(backend, key, only_if_bad=True)
        return Found(None, problem)

    def drop(self, backend: str, key: str, only_if_bad: bool = False) -> None:
        """Remove the entry for ``key`` (one that failed its check or could not be loaded).

        It is moved out of the way under the lock, then deleted, so a reader sees the whole
        entry or none. ``only_if_bad`` keeps an entry that verifies by the time the lock is
        held (another worker may just have rebuilt it).
        """
        path = self.entry(backend, key)
        with filelock.FileLock(str(path) + ".lock"):
            if not path.exists() or (only_if_bad and not verify(path)):
                return
            trash = self.staging(f"dropped-{backend}")
            os.replace(path, trash / "entry")
        shutil.rmtree(trash, ignore_errors=True)

    def staging(self, backend: str) -> pathlib.Path:
        """A fresh private directory to prepare into."""
        parent = self.root / "staging"
        parent.mkdir(parents=True, exist_ok=True)
        return pathlib.Path(tempfile.mkdtemp(prefix=f"{backend}-", dir=parent))

    def commit(self, backend: str, key: str, staged: pathlib.Path) -> pathlib.Path:
        """Write ``staged``'s manifest and move it into place; if another worker won the race
        with a whole, unchanged entry, keep theirs."""
        path = self.entry(backend, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_manifest(staged)
        with filelock.FileLock(str(path) + ".lock"):
            if path.exists():
                if not self.force and not verify(path):
                    shutil.rmtree(staged, ignore_errors=True)
                    return path
                shutil.rmtree(path)
            os.replace(staged, path)
        return path
