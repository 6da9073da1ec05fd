"""``trace-<model>-<backend>.json`` (schema ``paritykit-trace/1``): one model traced module by
module on one backend. ``parity eval --workload trace`` writes it, the HTML report reads it.

    >>> report = TraceReport("mlp", "torch", [TraceRow("fc1", "Linear", "PASS")])
    >>> TraceReport.from_dict(report.to_dict(), "t.json").rows[0].module
    'fc1'
"""

from __future__ import annotations

import pathlib
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from paritykit.files.artifacts import write_json
from paritykit.files.jsonfile import check_schema, read_json

SCHEMA_ID = "paritykit-trace/1"

_NUMBER_OR_NULL = {"type": ["number", "null"]}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["schema", "model", "backend", "rows"],
    "properties": {
        "schema": {"const": SCHEMA_ID},
        "model": {"type": "string"},
        "backend": {"type": "string"},
        "first_mismatch": {"type": ["string", "null"]},
        "error": {"type": "string"},
        "stopped_early": {"type": "boolean"},
        "rows": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["module", "status"],
                "properties": {
                    "module": {"type": "string"},
                    "type": {"type": "string"},
                    "status": {"type": "string"},
                    "max_abs": _NUMBER_OR_NULL,
                    "max_rel": _NUMBER_OR_NULL,
                    "message": {"type": "string"},
                },
            },
        },
    },
}


@dataclass
class TraceRow:
    """One module call: how its lowered forward did against the captured output."""

    module: str
    type: str = ""
    status: str = ""
    max_abs: float | None = None
    max_rel: float | None = None
    message: str = ""
    call: int = 1
    #: --profile: median seconds of the module's forward in eager and on the backend.
    eager_s: float | None = None
    backend_s: float | None = None
    #: True when a values mismatch was judged float32 rounding by the float64 oracle.
    oracle: bool = False


@dataclass
class TraceReport:
    """The trace of one model on one backend."""

    model: str
    backend: str
    rows: list[TraceRow] = field(default_factory=list)
    first_mismatch: str | None = None
    #: Set when the trace could not start at all (model setup failed, process crashed).
    error: str = ""
    stopped_early: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The JSON document."""
        return {"schema": SCHEMA_ID, "model": self.model, "backend": self.backend,
                "first_mismatch": self.first_mismatch, "error": self.error,
                "stopped_early": self.stopped_early, "rows": [asdict(r) for r in self.rows]}

    @classmethod
    def from_dict(cls, data: Any, source: str) -> TraceReport:
        """Validate ``data``; an invalid document is a ParityError naming ``source`` and field."""
        check_schema(data, SCHEMA, source)
        known = {f.name for f in fields(TraceRow)}
        rows = [TraceRow(**{k: v for k, v in r.items() if k in known}) for r in data["rows"]]
        return cls(model=data["model"], backend=data["backend"], rows=rows,
                   first_mismatch=data.get("first_mismatch"), error=data.get("error", ""),
                   stopped_early=data.get("stopped_early", False))

    @property
    def failed(self) -> bool:
        """A mismatch, or an error that kept the trace from running."""
        return self.first_mismatch is not None or bool(self.error)


def write_trace(path: pathlib.Path, report: TraceReport) -> None:
    """Write ``report`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, report.to_dict())


def read_trace(path: pathlib.Path) -> TraceReport:
    """Read and validate a trace file."""
    return TraceReport.from_dict(read_json(path), str(path))
