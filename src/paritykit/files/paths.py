"""Whether a path stays inside a directory: the one check behind every confinement rule.

Folders named after cases and backends, files a JSON definition names and archives a golden
manifest names must each stay under their root; ``resolve()`` follows symlinks, so a link
inside the root that points elsewhere counts as outside.

    >>> import pathlib
    >>> inside(pathlib.Path("out/relu"), pathlib.Path("out"))
    True
    >>> inside(pathlib.Path("out/../etc"), pathlib.Path("out"))
    False
"""

from __future__ import annotations

import pathlib


def inside(path: pathlib.Path, root: pathlib.Path) -> bool:
    """True when ``path``, links followed, is ``root`` or lies below it."""
    return path.resolve().is_relative_to(root.resolve())
