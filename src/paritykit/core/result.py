"""Results as data: one status taxonomy and a record per (case, backend)."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from paritykit.core.compare import Comparison

#: What the artifact cache did for one prepare (empty: nothing was prepared).
#: ``rebuilt``: an entry failed its digest check or its load and was prepared afresh.
CacheState = Literal["", "hit", "miss", "forced", "rebuilt", "off"]


class Status(str, enum.Enum):
    """What happened to one (case, backend) pair."""

    PASS = "PASS"
    MISMATCH = "MISMATCH"
    EXPORT_ERROR = "EXPORT_ERROR"
    LOWER_ERROR = "LOWER_ERROR"
    RUN_ERROR = "RUN_ERROR"
    CRASH = "CRASH"
    TIMEOUT = "TIMEOUT"
    UNSUPPORTED = "UNSUPPORTED"
    SKIPPED = "SKIPPED"
    XFAIL = "XFAIL"
    XPASS = "XPASS"

    @property
    def failed(self) -> bool:
        """Whether this status makes the run fail (exit code 1)."""
        return self not in _OK

    def __str__(self) -> str:
        return self.value


_OK = frozenset({Status.PASS, Status.UNSUPPORTED, Status.SKIPPED, Status.XFAIL})


@dataclass
class Result:
    """The record of one (case, backend) pair; written to ``results.jsonl`` as it finishes."""

    case: str
    backend: str
    status: Status
    base: str = ""
    message: str = ""
    max_abs_error: float | None = None
    max_rel_error: float | None = None
    max_ulp: float | None = None
    mismatched: int | None = None
    total: int | None = None
    worst_index: list[int] | None = None
    atol: float | None = None
    rtol: float | None = None
    tolerance_source: str = ""
    prepare_s: float | None = None
    run_s: float | None = None
    #: Building the case (model, inputs) and running the eager reference; 0 when the worker
    #: reused the case from the previous task (backends of one case share it).
    setup_s: float | None = None
    #: Wall time of the whole task in its worker; harness overhead = total - setup - prepare - run.
    total_s: float | None = None
    cache: CacheState = ""
    device: str = "cpu"
    artifact_dir: str | None = None
    artifact: str | None = None
    repro: str = ""
    traceback: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    #: RunConfig.fingerprint of the run that made it (seed, tolerances, options, plugins).
    fingerprint: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    #: What really happened; ``status`` differs from it only when an expectations entry applied.
    raw_status: str = ""
    #: The reason of the expectations entry that turned this result into XFAIL / XPASS.
    expectation: str = ""

    def record_comparison(self, comparison: Comparison) -> None:
        """Copy the error figures and the tolerance used from a comparison."""
        for name in ("max_abs_error", "max_rel_error", "max_ulp", "mismatched", "total"):
            setattr(self, name, getattr(comparison, name))
        index = comparison.worst_index
        self.worst_index = list(index) if index is not None else None
        if comparison.tolerance is not None:
            self.atol, self.rtol = comparison.tolerance.atol, comparison.tolerance.rtol
            self.tolerance_source = comparison.tolerance.describe()

    @property
    def key(self) -> tuple[str, str]:
        """(case, backend): unique within a run."""
        return (self.case, self.backend)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        d = asdict(self)
        d["status"] = self.status.value
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        """Inverse of :meth:`to_dict`; unknown keys are ignored (newer files stay readable)."""
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["status"] = Status(kwargs["status"])
        return cls(**kwargs)


def summarize(results: list[Result]) -> dict[str, Any]:
    """Counts per status (overall and per backend) and whether the run failed."""
    by_status: dict[str, int] = {}
    by_backend: dict[str, dict[str, int]] = {}
    for r in results:
        by_status[r.status.value] = by_status.get(r.status.value, 0) + 1
        per = by_backend.setdefault(r.backend, {})
        per[r.status.value] = per.get(r.status.value, 0) + 1
    return {
        "total": len(results),
        "failed": sum(r.status.failed for r in results),
        "by_status": by_status,
        "by_backend": by_backend,
    }
