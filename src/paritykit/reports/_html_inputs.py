"""What the HTML report reads: ``results.jsonl``, ``bench.json`` and ``trace-*.json`` files.

The bench and trace files are checked against their schemas (``paritykit-bench/1``,
``paritykit-trace/1``); a file that does not fit is a :class:`~paritykit.core.errors.ParityError`
naming the file, the field and what is wrong. A bench file is read by
:func:`paritykit.files.bench.read_bench`, the reader ``parity bench --compare`` uses, so its
rows are :class:`paritykit.files.bench.BenchRow`.

Example::

    >>> inputs = load_inputs("parity-out")            # doctest: +SKIP
    >>> len(inputs.results), inputs.bench is not None  # doctest: +SKIP
    (6588, False)
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paritykit.core.errors import ParityError
from paritykit.core.result import Result
from paritykit.files.bench import SCHEMA_ID as BENCH_SCHEMA_ID
from paritykit.files.bench import BenchRow, BenchRun, read_bench
from paritykit.files.jsonfile import read_json
from paritykit.files.results import read_results
from paritykit.files.trace import SCHEMA_ID as TRACE_ID
from paritykit.files.trace import TraceReport, TraceRow, read_trace

RESULTS_NAME = "results.jsonl"
BENCH_NAME = "bench.json"
TRACE_GLOB = "trace-*.json"
@dataclass(frozen=True)
class Bench:
    """A ``bench.json`` file."""

    path: str
    machine: Mapping[str, Any]
    created: str
    rows: tuple[BenchRow, ...]
    #: The ``failures`` of the file: programs that could not be timed, with status and message
    #: (the fields of :class:`paritykit.files.bench.BenchFailure`).
    failures: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def of(cls, path: str | os.PathLike[str], run: BenchRun) -> Bench:
        """The report's view of a run read from ``path``."""
        return cls(path=os.fspath(path), machine=run.machine, created=run.created,
                   rows=tuple(run.rows),
                   failures=tuple(dataclasses.asdict(f) for f in run.failures))


@dataclass(frozen=True)
class Trace:
    """A ``trace-<model>-<backend>.json`` file."""

    path: str
    model: str
    backend: str
    first_mismatch: str | None
    rows: tuple[TraceRow, ...]
    #: Why the trace could not run at all ("" when it ran).
    error: str = ""
    #: Whether it stopped at the first mismatch (``--stop-on-first-mismatch``).
    stopped_early: bool = False

    @classmethod
    def of(cls, path: str | os.PathLike[str], report: TraceReport) -> Trace:
        """The report's view of a trace file read from ``path``."""
        return cls(path=os.fspath(path), model=report.model, backend=report.backend,
                   first_mismatch=report.first_mismatch, rows=tuple(report.rows),
                   error=report.error, stopped_early=report.stopped_early)


@dataclass
class ReportInputs:
    """Everything one report shows; ``source`` names where the results came from."""

    results: list[Result]
    source: str = ""
    bench: Bench | None = None
    traces: list[Trace] = field(default_factory=list)
    #: Lines of the results file that were not a complete result (a killed run's last line).
    skipped_lines: int = 0


def load_inputs(
    path: str | os.PathLike[str],
    *,
    bench: str | os.PathLike[str] | None = None,
    traces: Iterable[str | os.PathLike[str]] = (),
) -> ReportInputs:
    """Read an artifact directory (its ``results.jsonl``, ``bench.json`` and ``trace-*.json``)
    or one file (a ``results.jsonl``, a ``--json`` report, a bench or a trace file).

    ``bench`` and ``traces`` add files from elsewhere (they replace the directory's bench file).
    """
    where = Path(path)
    inputs = ReportInputs(results=[], source=os.fspath(path))
    if where.is_dir():
        _load_dir(where, inputs)
    elif where.is_file():
        _load_file(where, inputs)
    else:
        raise ParityError(f"{where}: no such file or directory; pass an artifact directory "
                          f"(`parity run --artifact-dir DIR`) or a {RESULTS_NAME} file")
    if bench is not None:
        inputs.bench = load_bench(bench)
    inputs.traces.extend(load_trace(t) for t in traces)
    return inputs


def _load_dir(where: Path, inputs: ReportInputs) -> None:
    results = where / RESULTS_NAME
    bench = where / BENCH_NAME
    traces = sorted(where.glob(TRACE_GLOB))
    if not (results.is_file() or bench.is_file() or traces):
        raise ParityError(f"{where}: has no {RESULTS_NAME}, {BENCH_NAME} or {TRACE_GLOB}; "
                          f"run `parity run --artifact-dir {where}` first")
    if results.is_file():
        inputs.results, inputs.skipped_lines = load_results(results)
    if bench.is_file():
        inputs.bench = load_bench(bench)
    inputs.traces.extend(load_trace(t) for t in traces)


def _load_file(where: Path, inputs: ReportInputs) -> None:
    if where.suffix != ".json":
        inputs.results, inputs.skipped_lines = load_results(where)
        return
    document = read_json(where)
    schema = document.get("schema") if isinstance(document, dict) else None
    if schema == BENCH_SCHEMA_ID:
        inputs.bench = Bench.of(where, BenchRun.from_dict(document, str(where)))
    elif schema == TRACE_ID:
        inputs.traces.append(load_trace(where))
    else:
        from paritykit.reports.json_report import read_json as read_report

        inputs.results = read_report(where)  # a `parity run --json` report, or a clear error


def load_results(path: Path) -> tuple[list[Result], int]:
    """The results of a ``results.jsonl`` file and how many lines were skipped as incomplete.

    Raises :class:`ParityError` when the file has lines but none is a result.
    """
    try:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except UnicodeDecodeError as exc:
        raise ParityError(f"{path}: not a {RESULTS_NAME} file (not UTF-8 text: {exc})") from exc
    results = read_results(path)
    skipped = sum(not _is_result_line(line) for line in lines)
    if lines and not results:
        raise ParityError(f"{path}: no line is a result; expected the {RESULTS_NAME} that "
                          f"`parity run --artifact-dir DIR` writes")
    return results, skipped


def _is_result_line(line: str) -> bool:
    try:
        Result.from_dict(json.loads(line))
    except (ValueError, KeyError, TypeError):
        return False
    return True


def load_bench(path: str | os.PathLike[str]) -> Bench:
    """Read and check a ``bench.json`` file (schema ``paritykit-bench/1``)."""
    return Bench.of(path, read_bench(Path(path)))


def load_trace(path: str | os.PathLike[str]) -> Trace:
    """Read and check a ``trace-<model>-<backend>.json`` file (schema ``paritykit-trace/1``)."""
    return Trace.of(path, read_trace(Path(path)))
