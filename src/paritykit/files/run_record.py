"""``run.json``: what one ``parity run`` was asked to do, beside its ``results.jsonl``.

It names the selection (every case id and backend before ``--shard``), the shard, the run's
fingerprint (seed, tolerances, options, ``-p`` files) and the machine, so ``parity merge`` can
check that shard and machine outputs belong together and find the results no shard produced.
"""

from __future__ import annotations

import pathlib
from dataclasses import asdict, dataclass, field
from typing import Any

from paritykit.files.artifacts import write_json
from paritykit.files.jsonfile import read_json

RUN_FILE = "run.json"

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["format", "seed", "fingerprint", "cases", "backends", "shard", "machine"],
    "properties": {
        "format": {"const": 1},
        "seed": {"type": "integer"},
        "fingerprint": {"type": "string"},
        "cases": {"type": "array", "items": {"type": "string"}},
        "backends": {"type": "array", "items": {"type": "string"}},
        "shard": {"type": ["string", "null"]},
        "machine": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


@dataclass(frozen=True)
class RunRecord:
    """One run's request and machine.

        >>> r = RunRecord(0, "f", ["relu"], ["torch"], None, {"host": "x"})
        >>> r.pairs
        {('relu', 'torch')}
    """

    seed: int
    fingerprint: str
    cases: list[str]
    backends: list[str]
    shard: str | None
    machine: dict[str, str] = field(default_factory=dict)

    @property
    def pairs(self) -> set[tuple[str, str]]:
        """Every (case, backend) the whole selection asks for (all shards together)."""
        return {(c, b) for c in self.cases for b in self.backends}

    @property
    def selection(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """What two runs must share to be parts of one: the cases and backends, in order."""
        return tuple(self.cases), tuple(self.backends)


def write_run_record(directory: str | pathlib.Path, record: RunRecord) -> None:
    """Write ``DIR/run.json`` atomically."""
    pathlib.Path(directory).mkdir(parents=True, exist_ok=True)
    write_json(pathlib.Path(directory, RUN_FILE), {"format": 1, **asdict(record)})


def read_run_record(directory: str | pathlib.Path) -> RunRecord:
    """``DIR/run.json``, checked; a missing or malformed file is a ParityError naming it."""
    path = pathlib.Path(directory, RUN_FILE)
    data = read_json(path, missing=" (it is written by `parity run`; merge only run outputs)",
                     schema=SCHEMA)
    data.pop("format")
    return RunRecord(**data)
