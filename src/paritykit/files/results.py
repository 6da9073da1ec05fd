"""``results.jsonl``: one line per finished result, flushed at once, so nothing is lost.

A run killed mid-write leaves at most one partial last line; :func:`read_results` skips it and
``--resume`` reruns that pair. Every line is written by :func:`append_result`, under a lock,
because several processes may share one file (pytest-xdist workers).
"""

from __future__ import annotations

import json
import pathlib

from filelock import FileLock, Timeout

from paritykit.core.errors import ParityError
from paritykit.core.result import Result

#: The name of an artifact directory's results file.
RESULTS_FILE = "results.jsonl"
#: Held by the one run that writes a directory's results.jsonl.
WRITER_LOCK = ".parity-writer.lock"


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
        self._writer = _claim(path)
        if resume and path.exists():
            _drop_partial_tail(path)
        else:
            path.write_bytes(b"")

    def append(self, result: Result) -> None:
        """Write one result and flush it to the OS (a killed process loses nothing)."""
        append_result(self.path, result)

    def close(self) -> None:
        """Let another run write this directory."""
        self._writer.release()


def _claim(path: pathlib.Path) -> FileLock:
    """The directory's writer lock, held for the store's life: a second run on the same
    directory would empty or interleave with this run's file, so it is refused instead."""
    lock = FileLock(path.parent / WRITER_LOCK)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise ParityError(f"{path.parent} is in use by another parity run (it holds "
                          f"{path.parent / WRITER_LOCK}); wait for it to end or give this run "
                          "another --artifact-dir") from None
    return lock


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
