"""Reading a user's JSON file with an error that names it: one wording for every such file."""

from __future__ import annotations

import json
import pathlib
from typing import Any

from paritykit.errors import ParityError


def read_json(path: str | pathlib.Path, shown: str | None = None, missing: str = "") -> Any:
    """The parsed content of ``path``, or a ParityError naming it (as ``shown``, e.g. with the
    option that named it) and what is wrong: missing (plus the ``missing`` hint), unreadable,
    or not JSON with the line and column.

    Example::

        rules = read_json("tolerances.json", shown="--tolerances tolerances.json")
    """
    path = pathlib.Path(path)
    shown = shown or str(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParityError(f"{shown}: no such file{missing}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ParityError(f"{shown}: cannot be read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ParityError(f"{path}: not valid JSON: line {exc.lineno} column {exc.colno}: "
                          f"{exc.msg}") from None
