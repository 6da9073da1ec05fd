"""Reporters: they receive results and render them (console, JSON, JUnit XML).

Reporters never compute comparisons; together with the CLI and the pytest plugin they are
the only parts of paritykit that print.
"""

from __future__ import annotations

from paritykit.reports.console import (
    ConsoleReporter,
    format_error,
    print_failures,
    print_matrix,
    summary_line,
)
from paritykit.reports.json_report import read_json, write_json
from paritykit.reports.junit import build_junit, write_junit

__all__ = [
    "ConsoleReporter",
    "build_junit",
    "format_error",
    "print_failures",
    "print_matrix",
    "read_json",
    "summary_line",
    "write_json",
    "write_junit",
]
