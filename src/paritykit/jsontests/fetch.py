"""Fetching files named by URL (``file:``, ``http(s):``) or local path into the artifact cache.

A download lives at ``<artifact dir>/downloads/<key>/<file name>``, ``key`` a hash of the URL
and the expected sha256: a changed URL or hash fetches again, the same pair reuses the file.
Local paths are read in place (never copied); paths and ``file:`` URLs must lie under the
directories the user named (:mod:`paritykit.jsontests.paths`), and only ``file:``, ``http:``
and ``https:`` URLs are fetched. Every file is verified against ``sha256`` if given.
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
from paritykit.jsontests.paths import PathPolicy, expand
from paritykit.run.cache import cache_key

#: URL schemes fetched over the network (``file:`` is checked against the path policy first).
DOWNLOAD_SCHEMES = ("http", "https")


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

    ``where`` in each call is ``"file: $.json.path"``, used in every error message. Reads are
    confined by ``policy`` (default: the external-file directory only).
    """

    def __init__(self, external_dir: pathlib.Path, artifact_dir: pathlib.Path,
                 policy: PathPolicy | None = None) -> None:
        self.external_dir = external_dir
        self.root = artifact_dir / "downloads"
        self.policy = policy or PathPolicy.of([external_dir])

    def resolve(self, path: str, where: str = "") -> pathlib.Path:
        """A path relative to the external-file directory, checked against the policy."""
        return self.policy.check(expand(self.external_dir, path), where, path)

    def fetch(self, url: str, sha256: str | None, where: str) -> pathlib.Path:
        """The local file for ``url`` (a URL or a path), verified against ``sha256``."""
        if not is_url(url):
            path = self.resolve(url, where)
            if not path.is_file():
                what = "a directory, not a file" if path.is_dir() else "no such file"
                raise DefinitionError(f"{where}: {path}: {what}")
            self._verify(path, sha256, where)
            return path
        parts = urllib.parse.urlsplit(url)
        source = url
        if parts.scheme == "file":  # read the very file the policy checked (not one via cwd)
            source = self.resolve(urllib.request.url2pathname(parts.path), where).as_uri()
        elif parts.scheme not in DOWNLOAD_SCHEMES:
            raise DefinitionError(f"{where}: {url}: unsupported URL scheme {parts.scheme!r}; "
                                  f"expected a path, a file: URL or "
                                  f"{', '.join(DOWNLOAD_SCHEMES)}")
        name = pathlib.PurePosixPath(parts.path).name
        if name in ("", ".", ".."):  # the name becomes a file under downloads/: keep it there
            name = "download"
        entry = self.root / cache_key({"url": url, "sha256": (sha256 or "").lower()})
        target = entry / name
        entry.mkdir(parents=True, exist_ok=True)
        with filelock.FileLock(str(entry) + ".lock"):
            if not target.exists():
                self._download(source, target, where)
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
