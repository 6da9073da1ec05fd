"""``parity merge OUT_DIR IN_DIR...``: one results.jsonl and report from shard or machine outputs.

Listed in :data:`paritykit.cli.main.COMMAND_MODULES`.

Example::

    parity run -b torch --shard 1/2 --artifact-dir s1
    parity run -b torch --shard 2/2 --artifact-dir s2
    parity merge merged s1 s2
"""

from __future__ import annotations

import argparse
import pathlib
from typing import Any

from rich.console import Console
from rich.markup import escape

from paritykit.cli.common import EXIT_FAILED, EXIT_OK, directory

NAME = "merge"
#: How many gaps the console lists (all of them are in report.json).
SHOWN_GAPS = 20


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``merge`` to ``parity``'s subparsers."""
    p = subparsers.add_parser(
        NAME, help="merge shard or machine outputs into one results.jsonl, report.json, "
                   "JUnit and HTML report; report duplicates, conflicts and gaps")
    p.add_argument("out", type=directory, metavar="OUT_DIR",
                   help="where the merged results.jsonl, report.json, junit.xml and "
                        "report.html go")
    p.add_argument("inputs", nargs="+", metavar="IN_DIR",
                   help="artifact directories of `parity run` (each with results.jsonl and "
                        "run.json)")
    return p


def run(args: argparse.Namespace, console: Console) -> int:
    """Merge, write the files, print what did not fit; exit 1 on failures, conflicts, gaps."""
    from paritykit.core.result import summarize
    from paritykit.files.results import RESULTS_FILE, ResultStore
    from paritykit.files.run_record import write_run_record
    from paritykit.merge import merge
    from paritykit.reports import write_json, write_junit
    from paritykit.reports.html import ReportInputs, write_html

    out = pathlib.Path(args.out)
    outcome = merge([pathlib.Path(d) for d in args.inputs])
    store = ResultStore(out / RESULTS_FILE)
    try:
        for result in outcome.results:
            store.append(result)
    finally:
        store.close()
    write_run_record(out, outcome.record)
    extra = {"merged_from": list(args.inputs), "duplicates": [list(k) for k in outcome.duplicates],
             "conflicts": [{"case": c.key[0], "backend": c.key[1], "found": c.found}
                           for c in outcome.conflicts],
             "gaps": [list(k) for k in outcome.gaps]}
    write_json(out / "report.json", outcome.results, extra)
    write_junit(out / "junit.xml", outcome.results)
    write_html(out / "report.html", ReportInputs(outcome.results, source=str(out / RESULTS_FILE)),
               title=f"parity merge of {len(args.inputs)} runs",
               backends=outcome.record.backends)
    summary = summarize(outcome.results)
    counts = ", ".join(f"{n} {s}" for s, n in summary["by_status"].items())
    console.print(f"{len(outcome.results)} results from {len(args.inputs)} runs: {counts}; "
                  f"wrote {escape(str(out))}/results.jsonl, report.json, junit.xml, report.html")
    _print_problems(console, outcome)
    bad = summary["failed"] or outcome.conflicts or outcome.gaps
    return EXIT_FAILED if bad else EXIT_OK


def _print_problems(console: Console, outcome: Any) -> None:
    if outcome.duplicates:
        console.print(f"{len(outcome.duplicates)} duplicates (the same status from two runs; "
                      "kept once)")
    for c in outcome.conflicts:
        found = ", ".join(f"{status} in {d}" for d, status in c.found)
        console.print(f"[red]conflict:[/] {escape(c.key[0])} @ {escape(c.key[1])}: "
                      f"{escape(found)}", highlight=False)
    if outcome.gaps:
        console.print(f"[red]{len(outcome.gaps)} gaps[/] (results no run produced; a shard "
                      "missing or cut short?):", highlight=False)
        for case, backend in outcome.gaps[:SHOWN_GAPS]:
            console.print(f"  {escape(case)} @ {escape(backend)}", highlight=False)
        if len(outcome.gaps) > SHOWN_GAPS:
            console.print(f"  ... and {len(outcome.gaps) - SHOWN_GAPS} more in report.json")
