"""``results.jsonl``: one line per finished result, flushed at once, so nothing is lost.

A run killed mid-write leaves at most one partial last line; :func:`read_results` skips it and
``--resume`` reruns that pair.
"""

from __future__ import annotations

import json
import pathlib
from typing import TextIO

from paritykit.result import Result


class ResultStore:
    """Appends results to a JSON-lines file."""

    def __init__(self, path: pathlib.Path, resume: bool = False) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if resume and path.exists():
            _drop_partial_tail(path)
        self._file: TextIO = path.open("a" if resume else "w", encoding="utf-8")

    def append(self, result: Result) -> None:
        """Write one result and flush it to the OS (a killed process loses nothing)."""
        self._file.write(json.dumps(result.to_dict(), default=str) + "\n")
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        self._file.close()


def _drop_partial_tail(path: pathlib.Path) -> None:
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        path.write_bytes(data[: data.rfind(b"\n") + 1])


def read_results(path: pathlib.Path) -> list[Result]:
    """Every complete, valid line of a results file (later lines win for the same pair)."""
    latest: dict[tuple[str, str], Result] = {}
    if not path.exists():
        return []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            result = Result.from_dict(json.loads(line))
        except (ValueError, KeyError, TypeError):
            continue
        latest[result.key] = result
    return list(latest.values())
