"""Fetching files named by URL (``file:``, ``http(s):``) or local path into the artifact cache.

A download lives at ``<artifact dir>/downloads/<key>/<file name>``, ``key`` a hash of the URL
and the expected sha256: a changed URL or hash fetches again, the same pair reuses the file.
Local paths are read in place (never copied); both are verified against ``sha256`` if given.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import shutil
import urllib.parse
import urllib.request

import filelock

from paritykit.jsontests.definitions import DefinitionError
from paritykit.run.cache import cache_key


def sha256_of(path: pathlib.Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def is_url(text: str) -> bool:
    """Whether ``text`` is a URL (has a scheme of two letters or more) rather than a path."""
    scheme = urllib.parse.urlsplit(text).scheme
    return len(scheme) > 1


class Fetcher:
    """Resolves paths against the external-file directory and downloads URLs into the cache.

    ``where`` in each call is ``"file: $.json.path"``, used in every error message.
    """

    def __init__(self, external_dir: pathlib.Path, artifact_dir: pathlib.Path) -> None:
        self.external_dir = external_dir
        self.root = artifact_dir / "downloads"

    def resolve(self, path: str) -> pathlib.Path:
        """A path relative to the external-file directory (absolute paths are kept)."""
        return self.external_dir / os.path.expanduser(path)

    def fetch(self, url: str, sha256: str | None, where: str) -> pathlib.Path:
        """The local file for ``url`` (a URL or a path), verified against ``sha256``."""
        if not is_url(url):
            path = self.resolve(url)
            if not path.is_file():
                raise DefinitionError(f"{where}: {path}: no such file")
            self._verify(path, sha256, where)
            return path
        name = pathlib.PurePosixPath(urllib.parse.urlsplit(url).path).name or "download"
        entry = self.root / cache_key({"url": url, "sha256": (sha256 or "").lower()})
        target = entry / name
        entry.mkdir(parents=True, exist_ok=True)
        with filelock.FileLock(str(entry) + ".lock"):
            if not target.exists():
                self._download(url, target, where)
        self._verify(target, sha256, where, url)
        return target

    @staticmethod
    def _download(url: str, target: pathlib.Path, where: str) -> None:
        partial = target.with_name(target.name + ".partial")
        try:
            with urllib.request.urlopen(url, timeout=60) as response, partial.open("wb") as out:
                shutil.copyfileobj(response, out)
        except (OSError, ValueError) as exc:
            partial.unlink(missing_ok=True)
            raise DefinitionError(f"{where}: cannot fetch {url}: {exc}") from None
        os.replace(partial, target)

    @staticmethod
    def _verify(path: pathlib.Path, sha256: str | None, where: str, url: str = "") -> None:
        if sha256 is None:
            return
        actual = sha256_of(path)
        if actual != sha256.lower():
            if url:  # a corrupt or changed download must not stay in the cache
                path.unlink(missing_ok=True)
            raise DefinitionError(f"{where}: sha256 mismatch for {url or path}: the definition "
                                  f"says {sha256.lower()}, the file has {actual}")
