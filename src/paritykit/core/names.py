"""Names that become directory names: case ids and backend names.

Every result lives in ``<artifact dir>/<case>/<backend>/``, and ``--clean-after`` deletes such
folders, so a name that is empty, ``.``, ``..`` or holds a path separator would point outside its
own folder. Such names are refused where they are registered, naming the class that made them.

    >>> path_name_problem("softmax.fp16") is None
    True
    >>> path_name_problem("..")
    "is '.' or '..', which name a folder's own or parent directory"
"""

from __future__ import annotations

import unicodedata

_SEPARATORS = ("/", "\\")


def path_name_problem(name: object) -> str | None:
    """Why ``name`` cannot name a folder of its own, or None when it can."""
    if not isinstance(name, str) or not name:
        return f"must be a non-empty string, not {name!r}"
    if name in (".", ".."):
        return "is '.' or '..', which name a folder's own or parent directory"
    if any(s in name for s in _SEPARATORS):
        return "contains a path separator ('/' or '\\')"
    if any(unicodedata.category(c) == "Cc" for c in name):
        return "contains a control character"
    if name != name.strip():
        return "starts or ends with white space"
    return None
