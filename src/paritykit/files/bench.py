"""``bench.json`` (schema ``paritykit-bench/1``) and named runs kept for ``--compare``.

A row is one timed program: the ``reference`` (torch eager), a backend's ``optimized`` route or
its ``baseline`` (the same backend with optimisations off). Speedups are derived, never
stored. Rows also keep their per-call ``samples_s`` so a later run can test for a regression.
Pairs that could not be timed are listed under ``failures`` with their status.

This module is the one reader and writer of the format: ``parity bench``, ``parity eval
--workload bench`` and the HTML report all go through :class:`BenchRun`.
"""

from __future__ import annotations

import dataclasses
import datetime
import pathlib
import re
from dataclasses import dataclass, field
from typing import Any

from paritykit.core.errors import ParityError
from paritykit.core.timing import Timing
from paritykit.files.artifacts import write_json
from paritykit.files.jsonfile import at_path, check_schema, read_json

SCHEMA_ID = "paritykit-bench/1"
BENCH_FILE = "bench.json"
VARIANTS = ("reference", "baseline", "optimized")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

_NUMBER = {"type": "number", "minimum": 0}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["schema", "machine", "created", "rows"],
    "properties": {
        "schema": {"const": SCHEMA_ID},
        "machine": {"type": "object"},
        "created": {"type": "string"},
        "rows": {"type": "array", "items": {
            "type": "object",
            "required": ["case", "backend", "variant", "label", "threads", "median_s", "iqr_s",
                         "ci_low_s", "ci_high_s", "repeats"],
            "properties": {
                "case": {"type": "string"}, "backend": {"type": "string"},
                "variant": {"enum": list(VARIANTS)}, "label": {"type": "string"},
                "threads": {"type": "integer", "minimum": 1},
                "median_s": _NUMBER, "iqr_s": _NUMBER, "ci_low_s": _NUMBER,
                "ci_high_s": _NUMBER, "repeats": {"type": "integer", "minimum": 1},
                "samples_s": {"type": "array", "items": _NUMBER},
                "items": {"type": ["integer", "null"], "minimum": 1},
            },
        }},
        "failures": {"type": "array", "items": {
            "type": "object", "required": ["case", "backend", "variant", "status", "message"],
        }},
    },
}


@dataclass
class BenchRow:
    """One timed program (a row of ``bench.json``)."""

    case: str
    backend: str
    variant: str
    label: str
    threads: int
    median_s: float
    iqr_s: float
    ci_low_s: float
    ci_high_s: float
    repeats: int
    samples_s: list[float] = field(default_factory=list)
    calls_per_sample: int = 1
    #: PASS or MISMATCH: the first run's outputs against the eager reference.
    status: str = "PASS"
    device: str = "cpu"
    options: dict[str, str] = field(default_factory=dict)
    #: Images or tokens per call (``parity eval``'s rows): throughput = items / median_s.
    items: int | None = None

    @classmethod
    def from_timing(cls, timing: Timing, **fields: Any) -> BenchRow:
        """A row from a :class:`~paritykit.core.timing.Timing` plus its identifying fields."""
        return cls(median_s=timing.median_s, iqr_s=timing.iqr_s, ci_low_s=timing.ci_low_s,
                   ci_high_s=timing.ci_high_s, repeats=timing.repeats,
                   samples_s=list(timing.samples_s),
                   calls_per_sample=timing.calls_per_sample, **fields)

    @property
    def key(self) -> tuple[str, str, str, int]:
        """What identifies the row across runs: case, backend, variant, threads."""
        return (self.case, self.backend, self.variant, self.threads)


@dataclass
class BenchFailure:
    """A program that could not be timed: UNSUPPORTED, EXPORT/LOWER/RUN_ERROR."""

    case: str
    backend: str
    variant: str
    label: str
    threads: int
    status: str
    message: str

    @property
    def key(self) -> tuple[str, str, str, int]:
        """The same key as :attr:`BenchRow.key`."""
        return (self.case, self.backend, self.variant, self.threads)


@dataclass
class BenchRun:
    """A whole ``parity bench`` run."""

    machine: dict[str, Any]
    rows: list[BenchRow] = field(default_factory=list)
    failures: list[BenchFailure] = field(default_factory=list)
    created: str = field(default_factory=lambda: datetime.datetime.now(
        datetime.UTC).isoformat(timespec="seconds"))

    def to_dict(self) -> dict[str, Any]:
        """The ``paritykit-bench/1`` document."""
        return {"schema": SCHEMA_ID, "machine": self.machine, "created": self.created,
                "rows": [dataclasses.asdict(r) for r in self.rows],
                "failures": [dataclasses.asdict(f) for f in self.failures]}

    @classmethod
    def from_dict(cls, data: Any, source: str) -> BenchRun:
        """Validate ``data``; an invalid document is a ParityError naming ``source`` and field."""
        check_schema(data, SCHEMA, source, lambda e: f"{at_path(e)} (not a {SCHEMA_ID} file; "
                                                     "rerun `parity bench` to write a new one)")
        known = {f.name for f in dataclasses.fields(BenchRow)}
        rows = [BenchRow(**{k: v for k, v in r.items() if k in known}) for r in data["rows"]]
        fknown = {f.name for f in dataclasses.fields(BenchFailure)}
        failures = [BenchFailure(**{"label": "", "threads": 1,
                                    **{k: v for k, v in f.items() if k in fknown}})
                    for f in data.get("failures", [])]
        return cls(machine=data["machine"], rows=rows, failures=failures,
                   created=data["created"])


def write_bench(path: pathlib.Path, run: BenchRun) -> None:
    """Write ``run`` as JSON atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, run.to_dict())


def read_bench(path: pathlib.Path) -> BenchRun:
    """Read and validate a ``bench.json`` or a saved run."""
    return BenchRun.from_dict(read_json(path), str(path))


def merged(path: pathlib.Path, run: BenchRun) -> BenchRun:
    """``run`` after the rows and failures of an earlier ``path`` that ``run`` did not measure
    again (same case, backend, variant and threads), so runs of parts of a suite add up in one
    file. A missing or unreadable earlier file counts as empty: it is about to be replaced.
    """
    try:
        earlier = read_bench(path)
    except ParityError:
        return run
    fresh = {r.key for r in run.rows} | {f.key for f in run.failures}
    return dataclasses.replace(
        run, rows=[r for r in earlier.rows if r.key not in fresh] + run.rows,
        failures=[f for f in earlier.failures if f.key not in fresh] + run.failures)


def default_bench_dir() -> pathlib.Path:
    """Where ``--save`` keeps runs: ``bench/`` under paritykit's cache directory."""
    from paritykit.files.machine import default_cache_dir

    return default_cache_dir() / "bench"


def saved_path(name: str, bench_dir: pathlib.Path | None = None) -> pathlib.Path:
    """The file of the saved run ``name``; a name that is not a plain file stem is an error.

    >>> saved_path("main", pathlib.Path("/tmp/b")).as_posix()
    '/tmp/b/main.json'
    """
    if not _NAME.match(name):
        raise ParityError(f"bench run name {name!r}: use letters, digits, '.', '_' and '-' "
                          "(it becomes a file name)")
    return (bench_dir or default_bench_dir()) / f"{name}.json"


def save_run(run: BenchRun, name: str, bench_dir: pathlib.Path | None = None) -> pathlib.Path:
    """Keep ``run`` under ``name`` (replacing an earlier one); returns its file."""
    path = saved_path(name, bench_dir)
    write_bench(path, run)
    return path


def load_run(name: str, bench_dir: pathlib.Path | None = None) -> BenchRun:
    """The saved run ``name``; a missing one is a ParityError listing the saved names."""
    path = saved_path(name, bench_dir)
    if not path.is_file():
        saved = sorted(p.stem for p in path.parent.glob("*.json"))
        listing = ", ".join(saved) if saved else "none"
        raise ParityError(f"no saved bench run {name!r} in {path.parent} (saved: {listing}); "
                          f"save one with `parity bench ... --save {name}`")
    return read_bench(path)
