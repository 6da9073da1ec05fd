"""``results.jsonl``: one line per finished result, flushed at once, so nothing is lost.

A run killed mid-write leaves at most one partial last line; :func:`read_results` skips it and
``--resume`` reruns that pair. Every line is written by :func:`append_result`, under a lock,
because several processes may share one file (pytest-xdist workers).
"""

from __future__ import annotations

import json
import pathlib

from filelock import FileLock

from paritykit.core.result import Result


def append_result(path: pathlib.Path, result: Result) -> None:
    """Append one result as one line, flushed to the OS before returning.

    The line is written in one call under ``PATH.lock``, so writers in other processes never
    interleave with it.
    """
    line = json.dumps(result.to_dict(), default=str) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{path}.lock"), path.open("a", encoding="utf-8") as fh:
        fh.write(line)


class ResultStore:
    """Appends results to a JSON-lines file: a fresh one, or the old one with ``resume``."""

    def __init__(self, path: pathlib.Path, resume: bool = False) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if resume and path.exists():
            _drop_partial_tail(path)
        else:
            path.write_bytes(b"")

    def append(self, result: Result) -> None:
        """Write one result and flush it to the OS (a killed process loses nothing)."""
        append_result(self.path, result)

    def close(self) -> None:
        """Nothing stays open between appends; kept so callers need not know that."""


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
