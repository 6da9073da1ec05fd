"""Splitting one selection into N shards of about equal cost, the same on every machine.

A shard is a set of whole cases: a worker builds a case's model, inputs and eager reference
once and runs every backend on them, so a case's (case, backend) pairs stay together. Cases
are placed largest first on the shard with the least cost so far (ties: the lower shard), which
keeps the longest shard close to the mean. The cost of a pair is its time in an earlier run
(``--durations``: a results.jsonl or report.json); a pair without one costs the median of the
known times of its backend, or — with no durations at all — 1, i.e. shards balance pair counts.

    >>> Shard.parse("2/3")
    Shard(index=2, count=3)
"""

from __future__ import annotations

import json
import pathlib
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from paritykit.core.cases import CaseRef
from paritykit.core.errors import ParityError
from paritykit.core.result import Result
from paritykit.files.results import read_results

Durations = Mapping[tuple[str, str], float]


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``K/N`` with 1 ≤ K ≤ N; anything else is a ParityError saying so."""
        k, sep, n = text.partition("/")
        try:
            shard = cls(int(k), int(n))
        except ValueError:
            shard = None
        if not sep or shard is None or not 1 <= shard.index <= shard.count:
            raise ParityError(f"--shard {text!r}: expected K/N with 1 <= K <= N, e.g. 2/3")
        return shard

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def shard_of(refs: Sequence[CaseRef], backends: Sequence[str], spec: str,
             durations_file: str | None = None) -> list[CaseRef]:
    """``--shard K/N [--durations FILE]`` applied to a selection (the CLI's and pytest's)."""
    durations = read_durations(durations_file) if durations_file else None
    return select_shard(refs, backends, Shard.parse(spec), durations)


def read_durations(path: str | pathlib.Path) -> dict[tuple[str, str], float]:
    """Seconds per (case, backend) from a results.jsonl or a ``--json`` report."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise ParityError(f"--durations {path}: no such file (give a results.jsonl or a "
                          "report.json of an earlier run)")
    if path.suffix == ".jsonl":
        results = read_results(path)
    else:
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))["results"]
            results = [Result.from_dict(r) for r in rows]
        except (ValueError, KeyError, TypeError) as exc:
            raise ParityError(f"--durations {path}: not a results.jsonl or a report.json with "
                              f"a results list ({type(exc).__name__}: {exc})") from None
    return {r.key: r.total_s for r in results if r.total_s}


def costs(refs: Sequence[CaseRef], backends: Sequence[str],
          durations: Durations) -> dict[str, float]:
    """The expected cost of each case: the sum over its backends (see the module docstring)."""
    by_backend: dict[str, list[float]] = {}
    for (_, backend), seconds in durations.items():
        by_backend.setdefault(backend, []).append(seconds)
    typical = {b: statistics.median(v) for b, v in by_backend.items()}
    fallback = statistics.median(typical.values()) if typical else 1.0
    return {ref.id: sum(durations.get((ref.id, b), typical.get(b, fallback)) for b in backends)
            for ref in refs}


def assign(refs: Sequence[CaseRef], backends: Sequence[str], count: int,
           durations: Durations | None = None) -> list[list[CaseRef]]:
    """Every case in exactly one of ``count`` shards, each in the selection's order."""
    cost = costs(refs, backends, durations or {})
    loads = [0.0] * count
    placed: dict[str, int] = {}
    for case in sorted(cost, key=lambda c: (-cost[c], c)):
        target = min(range(count), key=lambda i: (loads[i], i))
        placed[case] = target
        loads[target] += cost[case]
    shards: list[list[CaseRef]] = [[] for _ in range(count)]
    for ref in refs:
        shards[placed[ref.id]].append(ref)
    return shards


def select_shard(refs: Sequence[CaseRef], backends: Sequence[str], shard: Shard,
                 durations: Durations | None = None) -> list[CaseRef]:
    """The cases of ``shard``: the same on every machine for the same selection and durations."""
    return assign(refs, backends, shard.count, durations)[shard.index - 1]
