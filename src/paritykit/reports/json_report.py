"""The JSON report: every result in full plus the run summary, in one strict-JSON file."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from paritykit.core.errors import ParityError
from paritykit.core.result import Result, summarize
from paritykit.files.atomic import atomic_write_bytes

# Written first in each result object, in this order, so that the file reads well; every
# other field of :class:`Result` follows.
_LEADING_KEYS = (
    "case",
    "backend",
    "status",
    "max_abs_error",
    "max_rel_error",
    "message",
    "artifact_dir",
    "prepare_s",
    "run_s",
)

# Strict JSON has no NaN or infinity; they are written as these strings and read back as
# floats in the float fields of Result.
_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_FLOAT_FIELDS = (
    "max_abs_error",
    "max_rel_error",
    "max_ulp",
    "atol",
    "rtol",
    "prepare_s",
    "run_s",
    "setup_s",
)


def _encode_nonfinite(value: Any) -> Any:
    """Replace non-finite floats (anywhere in ``value``) by their strict-JSON-safe names."""
    if isinstance(value, float) and not math.isfinite(value):
        if math.isnan(value):
            return "NaN"
        return "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, dict):
        return {k: _encode_nonfinite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode_nonfinite(v) for v in value]
    return value


def result_to_json(result: Result) -> dict[str, Any]:
    """One result as a strict-JSON-safe dict: the leading keys first, then every other field."""
    data = result.to_dict()
    ordered = {k: data[k] for k in _LEADING_KEYS}
    ordered.update((k, v) for k, v in data.items() if k not in ordered)
    encoded: dict[str, Any] = _encode_nonfinite(ordered)
    return encoded


def result_from_json(data: Mapping[str, Any]) -> Result:
    """Inverse of :func:`result_to_json`; unknown keys are ignored."""
    decoded = dict(data)
    for name in _FLOAT_FIELDS:
        value = decoded.get(name)
        if isinstance(value, str) and value in _NONFINITE:
            decoded[name] = _NONFINITE[value]
    return Result.from_dict(decoded)


def write_json(
    path: str | os.PathLike[str],
    results: Sequence[Result],
    summary_extra: Mapping[str, Any] | None = None,
) -> None:
    """Write ``{"results": [...], "summary": {...}}`` to ``path`` atomically.

    ``summary`` is :func:`paritykit.core.result.summarize` of ``results`` updated with
    ``summary_extra`` (for example the wall time or the command line). The output is strict
    JSON: non-finite floats are written as the strings ``"NaN"``, ``"Infinity"`` and
    ``"-Infinity"``.
    """
    results = list(results)
    summary = summarize(results) | dict(summary_extra or {})
    document = {
        "results": [result_to_json(r) for r in results],
        "summary": _encode_nonfinite(summary),
    }
    text = json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    atomic_write_bytes(path, text.encode("utf-8"))


def read_json(path: str | os.PathLike[str]) -> list[Result]:
    """Read the results of a report written by :func:`write_json`.

    Raises :class:`~paritykit.core.errors.ParityError` when the file is not such a report.
    """
    where = os.fspath(path)
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ParityError(f"{where}: not a paritykit JSON report (invalid JSON: {exc})") from exc
    if not isinstance(document, dict) or not isinstance(document.get("results"), list):
        raise ParityError(f"{where}: not a paritykit JSON report (no 'results' list)")
    try:
        return [result_from_json(item) for item in document["results"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise ParityError(f"{where}: malformed result in JSON report: {exc!r}") from exc
