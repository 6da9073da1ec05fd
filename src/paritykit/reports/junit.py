"""The JUnit XML report, for CI systems that display test results."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from paritykit.core.result import Result, Status
from paritykit.files.atomic import atomic_write_bytes

FAILURE_STATUSES = frozenset({Status.MISMATCH, Status.XPASS})
"""Statuses written as ``<failure>``: the backend ran and computed the wrong thing."""

ERROR_STATUSES = frozenset(
    {Status.EXPORT_ERROR, Status.LOWER_ERROR, Status.RUN_ERROR, Status.CRASH, Status.TIMEOUT}
)
"""Statuses written as ``<error>``: the pipeline broke before a comparison was possible."""

SKIPPED_STATUSES = frozenset({Status.UNSUPPORTED, Status.SKIPPED, Status.XFAIL})
"""Statuses written as ``<skipped>``."""

# Characters that XML 1.0 cannot carry at all (compiler output often holds ANSI escapes).
_XML_ILLEGAL = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: str) -> str:
    return _XML_ILLEGAL.sub("\ufffd", text)


def _seconds(result: Result) -> float:
    return (result.prepare_s or 0.0) + (result.run_s or 0.0)


def _failure_text(result: Result) -> str:
    lines = [result.message] if result.message else []
    for label, value in (
        ("max_abs_error", result.max_abs_error),
        ("max_rel_error", result.max_rel_error),
        ("atol", result.atol),
        ("rtol", result.rtol),
    ):
        if value is not None:
            lines.append(f"{label}: {value:.6g}")
    if result.mismatched is not None and result.total is not None:
        lines.append(f"mismatched: {result.mismatched}/{result.total}")
    if result.worst_index is not None:
        lines.append(f"worst_index: {result.worst_index}")
    if result.artifact_dir:
        lines.append(f"artifacts: {result.artifact_dir}")
    if result.repro:
        lines.append(f"repro: {result.repro}")
    return "\n".join(lines)


def _error_text(result: Result) -> str:
    lines = [result.traceback.rstrip("\n") if result.traceback else result.message]
    if result.artifact_dir:
        lines.append(f"artifacts: {result.artifact_dir}")
    if result.repro:
        lines.append(f"repro: {result.repro}")
    return "\n".join(line for line in lines if line)


def _testcase(result: Result, classname: str) -> ET.Element:
    case = ET.Element(
        "testcase",
        {"classname": classname, "name": _clean(result.case), "time": f"{_seconds(result):.3f}"},
    )
    status = result.status
    if status in FAILURE_STATUSES:
        child = ET.SubElement(
            case, "failure", {"message": _clean(result.message), "type": status.value}
        )
        child.text = _clean(_failure_text(result))
    elif status in ERROR_STATUSES:
        child = ET.SubElement(
            case, "error", {"message": _clean(result.message), "type": status.value}
        )
        child.text = _clean(_error_text(result))
    elif status in SKIPPED_STATUSES:
        reason = f"{status.value}: {result.message}" if result.message else status.value
        ET.SubElement(case, "skipped", {"message": _clean(reason), "type": status.value})
    return case


def build_junit(results: Sequence[Result], suite_name: str = "paritykit") -> ET.Element:
    """The ``<testsuites>`` element for ``results``: one ``<testsuite>`` per backend.

    Backends appear in the order first seen. Each result is a ``<testcase>`` with
    ``classname=f"{suite_name}.{backend}"``, ``name=case`` and ``time=prepare_s + run_s``;
    MISMATCH and XPASS carry a ``<failure>``, EXPORT_ERROR, LOWER_ERROR, RUN_ERROR, CRASH and
    TIMEOUT an ``<error>`` (with the traceback), UNSUPPORTED, SKIPPED and XFAIL a ``<skipped>``.
    """
    by_backend: dict[str, list[Result]] = {}
    for r in results:
        by_backend.setdefault(r.backend, []).append(r)

    root = ET.Element("testsuites", {"name": _clean(suite_name)})
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    for backend, items in by_backend.items():
        counts = {
            "tests": len(items),
            "failures": sum(r.status in FAILURE_STATUSES for r in items),
            "errors": sum(r.status in ERROR_STATUSES for r in items),
            "skipped": sum(r.status in SKIPPED_STATUSES for r in items),
        }
        suite_time = sum(_seconds(r) for r in items)
        suite = ET.SubElement(
            root,
            "testsuite",
            {
                "name": _clean(f"{suite_name}.{backend}"),
                **{k: str(v) for k, v in counts.items()},
                "time": f"{suite_time:.3f}",
            },
        )
        classname = _clean(f"{suite_name}.{backend}")
        for r in items:
            suite.append(_testcase(r, classname))
        for k, v in counts.items():
            totals[k] += v
        total_time += suite_time
    for k, v in totals.items():
        root.set(k, str(v))
    root.set("time", f"{total_time:.3f}")
    return root


def write_junit(
    path: str | os.PathLike[str], results: Sequence[Result], suite_name: str = "paritykit"
) -> None:
    """Write the JUnit XML report of ``results`` to ``path`` atomically.

    The document is :func:`build_junit` of ``results``.
    """
    root = build_junit(results, suite_name)
    ET.indent(root)
    data = ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
    atomic_write_bytes(path, data)
