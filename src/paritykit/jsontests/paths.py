"""Which files a JSON definition may read: only those under the directories the user named.

A definition is data, often from someone else (a downloaded suite, a pull request); a path in
it — absolute, ``../``, ``~`` or a ``file:`` URL — must not make paritykit read (and copy into
its cache, or print parts of) a file elsewhere on the machine. So every path a definition
names must resolve, symlinks followed, under the test file, module or external-file
directory. ``--allow-outside-paths`` (``parity run`` and pytest) lifts the rule for a run whose
definitions are trusted. Writes go only under the artifact directory (downloads, compiled
modules, scratch), whatever the flag.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Sequence
from dataclasses import dataclass

from paritykit.files.paths import inside
from paritykit.jsontests.definitions import DefinitionError

#: The flag that lets definitions read outside their directories (``parity run``, pytest).
ALLOW_FLAG = "--allow-outside-paths"


@dataclass(frozen=True)
class PathPolicy:
    """The directories reads are confined to; ``allow_outside`` turns the check off."""

    roots: tuple[pathlib.Path, ...]
    allow_outside: bool = False

    @classmethod
    def of(cls, roots: Sequence[pathlib.Path], allow_outside: bool = False) -> PathPolicy:
        """A policy over ``roots`` (duplicates dropped, order kept for messages)."""
        return cls(tuple(dict.fromkeys(pathlib.Path(r) for r in roots)), allow_outside)

    def check(self, path: pathlib.Path, where: str, written: str) -> pathlib.Path:
        """``path`` if reading it is allowed, else a DefinitionError naming ``where`` (``file:
        $.field``, or nothing when the caller adds it), the path as ``written`` in the
        definition and the directories."""
        if self.allow_outside or any(inside(path, root) for root in self.roots):
            return path
        dirs = ", ".join(str(r) for r in self.roots)
        head = f"{where}: " if where else ""
        raise DefinitionError(f"{head}{written!r} is outside the directories JSON definitions "
                              f"may read ({dirs}); pass {ALLOW_FLAG} to read it anyway")


def expand(base: pathlib.Path, written: str) -> pathlib.Path:
    """``written`` (``~`` expanded) relative to ``base``; an absolute path stays absolute."""
    return base / os.path.expanduser(written)
