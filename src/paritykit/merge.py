"""Merging the outputs of shards or machines into one set of results.

Each input is an artifact directory of ``parity run`` (its ``results.jsonl`` and ``run.json``).
The inputs must be parts of one request — the same seed, fingerprint (tolerances, options,
``-p`` files) and selection — else nothing is merged. Every merged result says which machine
and directory it came from (``stats.machine``, ``stats.merged_from``). A pair that two inputs
both produced is a duplicate when they agree and a conflict when their statuses differ; a pair
of the selection that no input produced is a gap. None of these is resolved silently.

Example::

    outcome = merge([Path("s1"), Path("s2"), Path("s3")])
    outcome.gaps, outcome.conflicts
"""

from __future__ import annotations

import pathlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from paritykit.core.errors import ParityError
from paritykit.core.result import Result
from paritykit.files.results import RESULTS_FILE, read_results
from paritykit.files.run_record import RunRecord, read_run_record

Key = tuple[str, str]


@dataclass
class Conflict:
    """One (case, backend) with different statuses from different inputs."""

    key: Key
    found: list[tuple[str, str]]  # (input directory, status)


@dataclass
class MergeOutcome:
    """The merged results (one per pair, in input order) and what did not fit."""

    record: RunRecord
    results: list[Result] = field(default_factory=list)
    duplicates: list[Key] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    gaps: list[Key] = field(default_factory=list)


def merge(inputs: Sequence[pathlib.Path]) -> MergeOutcome:
    """Read, check and merge ``inputs`` (see the module docstring)."""
    if not inputs:
        raise ParityError("parity merge needs at least one input directory")
    records = [read_run_record(d) for d in inputs]
    _check_together(inputs, records)
    found: dict[Key, list[tuple[pathlib.Path, Result]]] = {}
    for directory, record in zip(inputs, records, strict=True):
        for result in read_results(directory / RESULTS_FILE):
            result.stats.setdefault("machine", record.machine)
            result.stats.setdefault("merged_from", str(directory))
            found.setdefault(result.key, []).append((directory, result))
    first = records[0]
    outcome = MergeOutcome(RunRecord(first.seed, first.fingerprint, first.cases,
                                     first.backends, None, {}))
    for key, copies in found.items():
        outcome.results.append(copies[0][1])
        if len(copies) > 1 and len({r.status for _, r in copies}) == 1:
            outcome.duplicates.append(key)
        elif len(copies) > 1:
            outcome.conflicts.append(Conflict(key, [(str(d), r.status.value)
                                                    for d, r in copies]))
    outcome.gaps = sorted(first.pairs - set(found))
    return outcome


def _check_together(inputs: Sequence[pathlib.Path], records: Sequence[RunRecord]) -> None:
    first = records[0]
    for directory, record in zip(inputs[1:], records[1:], strict=True):
        for what, mine, theirs in (("seed", record.seed, first.seed),
                                   ("fingerprint (tolerances, backend options, -p files)",
                                    record.fingerprint, first.fingerprint),
                                   ("selection (cases and backends)", record.selection,
                                    first.selection)):
            if mine != theirs:
                raise ParityError(f"{directory} and {inputs[0]} are not parts of one run: "
                                  f"their {what} differ; merge outputs of the same command "
                                  "with different --shard values (or machines)")
