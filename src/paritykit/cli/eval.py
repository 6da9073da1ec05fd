"""``parity eval``: validate / trace / bench / run a built-in model on backends.

Listed in :data:`paritykit.cli.main.COMMAND_MODULES` (``NAME``, ``add_parser``, ``run``).
Exit codes: 0 nothing failed, 1 a backend failed (mismatch, error, crash, a run that disagrees
with eager), 2 usage error (unknown model or backend, bad suite file, bad weights).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from paritykit.cli.common import EXIT_FAILED, EXIT_OK, add_option, directory

NAME = "eval"
_STYLE = {"PASS": "green", "MISMATCH": "bold red", "UNSUPPORTED": "dim", "SKIPPED": "dim"}


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``eval`` sub-command to ``parity``'s sub-parsers."""
    from paritykit.evaluate.options import DUMP_MODES, WORKLOADS

    p: argparse.ArgumentParser = subparsers.add_parser(
        NAME, help="model-level workloads: validate logits, trace layer by layer, bench, run "
                   "(generate / classify) on backends vs torch eager")
    p.add_argument("--model", metavar="NAME", help="built-in model (`parity eval --list-models`)")
    p.add_argument("--workload", choices=WORKLOADS, default="validate",
                   help="what to do (default validate)")
    p.add_argument("--suite", metavar="FILE.json",
                   help="run a list of {model, workload, backends?, options...} entries")
    p.add_argument("--list-models", action="store_true", help="list the built-in models")
    p.add_argument("-b", "--backend", action="append", default=[], metavar="NAME",
                   help="backend (repeatable or comma-separated); default: every available one")
    add_option(p.add_argument, "plugin",
               help="load a Python file or module that registers backends (repeatable)")
    add_option(p.add_argument, "backend-option")
    p.add_argument("--weights", metavar="FILE", help="safetensors weight archive to load")
    add_option(p.add_argument, "seed")
    p.add_argument("--batch", type=int, default=1, help="batch size of the inputs (default 1)")
    p.add_argument("--tokens", type=int, metavar="N",
                   help="sequence length of language-model inputs (validate / trace)")
    add_option(p.add_argument, "tolerances")
    p.add_argument("--artifact-dir", type=directory, default="parity-out", metavar="DIR",
                   help="results.jsonl, trace-*.json, bench.json and lowered files "
                        "(default parity-out)")
    p.add_argument("--in-process", action="store_true",
                   help="run backends in this process instead of one process each (faster; a "
                        "crash then ends the command; jax is always isolated)")
    add_option(p.add_argument, "timeout", default=900.0,
               help="limit per backend job; the worker is killed past it (default 900)")
    g = p.add_argument_group("trace")
    g.add_argument("--trace-depth", type=int, metavar="N",
                   help="trace the modules N levels down (default: every leaf module)")
    g.add_argument("--trace-all", action="store_true",
                   help="trace every module at every depth (parents after their children): "
                        "also covers code between child modules, e.g. attention's softmax")
    g.add_argument("--stop-on-first-mismatch", action="store_true",
                   help="stop a backend's trace at the first diverging module")
    g = p.add_argument_group("bench")
    g.add_argument("--threads", type=int, nargs="+", default=[1], metavar="N",
                   help="thread counts to time (default 1)")
    g.add_argument("--bench-tokens", type=int, nargs="+", default=[1, 64], metavar="N",
                   help="language models: 1 = decode one token with a KV cache, N > 1 = "
                        "prefill of N tokens (default 1 64)")
    g.add_argument("--bench-budget", type=float, default=2.0, metavar="SECONDS",
                   help="time budget per timed program (default 2)")
    g = p.add_argument_group("run")
    g.add_argument("--prompt", default="Hello", help="generation prompt (default 'Hello')")
    g.add_argument("--tokenizer", metavar="FILE", help="tokenizer file (default: bytes)")
    g.add_argument("--max-tokens", type=int, default=16, help="tokens to generate (default 16)")
    g.add_argument("--temperature", type=float, default=0.0,
                   help="0 = greedy (default); > 0 samples, deterministic given --seed")
    g.add_argument("--kv-cache", action="store_true",
                   help="generate with a KV-cache step (prefill + decode programs)")
    g.add_argument("--input", metavar="FILE", help="classification input (.npy/.safetensors)")
    g = p.add_argument_group("dumps and profiles")
    g.add_argument("--dump-dir", metavar="DIR", help="write lowered programs / activations here")
    g.add_argument("--dump-mode", choices=DUMP_MODES, default="lowered",
                   help="what --dump-dir gets (default lowered)")
    g.add_argument("--profile", action="store_true",
                   help="per-op table (torch-family backends, validate/run) or per-layer "
                        "times (trace)")
    return p


def _options(args: argparse.Namespace) -> Any:
    from paritykit.core.errors import ParityError
    from paritykit.core.registry import parse_backend_options
    from paritykit.evaluate.options import EvalOptions

    if args.batch < 1 or args.max_tokens < 0 or args.temperature < 0 or args.timeout <= 0:
        raise ParityError("--batch must be >= 1, --max-tokens and --temperature >= 0, "
                          "--timeout > 0")
    if min(args.threads) < 1 or min(args.bench_tokens) < 1:
        raise ParityError("--threads and --bench-tokens values must be at least 1")
    backends = tuple(n.strip() for spec in args.backend for n in spec.split(",") if n.strip())
    return EvalOptions(
        model=args.model or "", workload=args.workload, backends=backends, seed=args.seed,
        weights=args.weights, artifact_dir=args.artifact_dir, plugins=tuple(args.plugin),
        backend_options=parse_backend_options(args.backend_option),
        tolerances_path=args.tolerances, batch=args.batch, tokens=args.tokens,
        trace_depth=args.trace_depth, trace_all=args.trace_all,
        stop_on_first_mismatch=args.stop_on_first_mismatch,
        threads=tuple(args.threads), bench_tokens=tuple(args.bench_tokens),
        bench_budget_s=args.bench_budget, prompt=args.prompt, tokenizer=args.tokenizer,
        max_tokens=args.max_tokens, temperature=args.temperature, kv_cache=args.kv_cache,
        input_path=args.input, dump_dir=args.dump_dir, dump_mode=args.dump_mode,
        profile=args.profile, isolate=not args.in_process, timeout_s=args.timeout)


def run(args: argparse.Namespace, console: Console) -> int:
    """Run one entry (``--model``) or a suite; print each entry's tables."""
    from paritykit.core.errors import ParityError
    from paritykit.evaluate.session import execute, load_plugins
    from paritykit.evaluate.suite import load_suite
    from paritykit.models import get_model, model_names

    load_plugins(args.plugin)
    if args.list_models:
        for name in model_names():
            spec = get_model(name)
            console.print(f"{name:<14} {spec.kind:<9} {escape(spec.description)}")
        return EXIT_OK
    base = _options(args)
    if args.suite:
        entries = load_suite(args.suite, base)
    elif args.model:
        get_model(args.model)
        entries = [base]
    else:
        raise ParityError("give --model NAME (see --list-models) or --suite FILE.json")
    failed = False
    for options in entries:
        start = time.perf_counter()
        console.print(f"[bold]{options.workload}[/] {escape(options.model)}", highlight=False)
        with console.status("") as status:
            outcome = execute(options, lambda text: status.update(escape(text)))
        failed |= render(console, outcome)
        console.print(f"{options.workload} {escape(options.model)}: "
                      f"{time.perf_counter() - start:.1f} s", style="dim")
    return EXIT_FAILED if failed else EXIT_OK


def render(console: Console, outcome: Any) -> bool:
    """Print one entry's outcome; True when something failed."""
    for name, reason in outcome.skipped.items():
        console.print(f"{escape(name)}: unavailable: {escape(reason)}", style="yellow")
    for path in outcome.dumps:
        console.print(f"dumped {escape(str(path))}", style="dim")
    workload = outcome.options.workload
    if workload == "validate":
        return _render_validate(console, outcome)
    if workload == "trace":
        return _render_traces(console, outcome)
    if workload == "bench":
        return _render_bench(console, outcome)
    return _render_runs(console, outcome)


def _render_validate(console: Console, outcome: Any) -> bool:
    from paritykit.core.result import summarize
    from paritykit.reports.console import print_failures, print_matrix, summary_line

    print_matrix(console, outcome.results, outcome.backends)
    print_failures(console, outcome.results)
    for r in outcome.results:
        if "profile" in r.stats:
            console.print(escape(str(r.stats["profile"])), highlight=False)
    console.print(summary_line(outcome.results))
    return bool(summarize(outcome.results)["failed"])


def _fmt(x: float | None) -> str:
    from paritykit.reports.console import format_error

    return format_error(x) or "-"


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x * 1e3:.3f}"


def _render_traces(console: Console, outcome: Any) -> bool:
    from paritykit.evaluate.oracle import SLACK
    from paritykit.evaluate.trace import trace_path

    failed = False
    for report in outcome.traces:
        if report.error:
            console.print(escape(report.error), style="bold red")
            failed = True
            continue
        table = Table(title=f"trace {report.model} @ {report.backend}", title_justify="left")
        for col in ("module", "type", "status", "max abs", "max rel"):
            table.add_column(col)
        profiled = any(r.backend_s is not None for r in report.rows)
        if profiled:
            table.add_column("eager ms", justify="right")
            table.add_column("backend ms", justify="right")
        for r in report.rows:
            label = r.module if r.call == 1 else f"{r.module}#{r.call}"
            status = f"[{_STYLE.get(r.status, 'red')}]{r.status}[/]" + ("*" if r.oracle else "")
            cells = [escape(label), r.type, status,
                     _fmt(r.max_abs), _fmt(r.max_rel)]
            if profiled:
                cells += [_ms(r.eager_s), _ms(r.backend_s)]
            table.add_row(*cells)
        console.print(table)
        noise = sum(r.oracle for r in report.rows)
        if noise:
            console.print(f"* {noise} module(s) differ from eager past the tolerance only by "
                          "float32 rounding: no further from a float64 run than "
                          f"{SLACK:g}x eager's own distance", style="dim")
        errors = [r for r in report.rows if r.status not in ("PASS", "MISMATCH")]
        for r in errors:
            console.print(escape(r.message), style="magenta", highlight=False)
        if report.first_mismatch:
            first = next(r for r in report.rows if r.status == "MISMATCH")
            console.print(f"first mismatch: [bold red]{escape(report.first_mismatch)}[/] "
                          f"({first.type}) — {escape(first.message)}", highlight=False)
            failed = True
        else:
            console.print(f"no module diverges ({len(report.rows)} traced, "
                          f"{len(errors)} could not be lowered alone)", style="green")
        console.print(f"wrote {escape(str(trace_path(outcome.options, report.backend)))}",
                      style="dim")
    return failed


def _render_bench(console: Console, outcome: Any) -> bool:
    from paritykit.evaluate.bench import speedup_table

    rows = speedup_table([r for o in outcome.bench for r in o.rows])
    failures = [f for o in outcome.bench for f in o.failures]
    table = Table(title=f"bench {outcome.options.model}", title_justify="left")
    for col in ("case", "backend", "threads", "median ms", "IQR ms", "95% CI ms", "repeats",
                "items/s", "speedup vs eager"):
        table.add_column(col, justify="left" if col in ("case", "backend") else "right")
    for r in sorted(rows, key=lambda r: (r["case"], r["threads"], r["variant"] != "reference")):
        speed = "-" if r["speedup"] is None else f"{r['speedup']:.2f}x"
        rate = r["items"] / r["median_s"] if r["median_s"] else 0.0
        table.add_row(escape(r["case"]), escape(r["label"]), str(r["threads"]),
                      _ms(r["median_s"]), _ms(r["iqr_s"]),
                      f"{_ms(r['ci_low_s'])}–{_ms(r['ci_high_s'])}", str(r["repeats"]),
                      f"{rate:,.1f}", speed)
    console.print(table)
    _warn_if_loaded(console)
    for f in failures:
        console.print(escape(f"{f['status']} {f['message']}"), style="red", highlight=False)
    if outcome.bench_path:
        console.print(f"wrote {escape(str(outcome.bench_path))}", style="dim")
    return bool(failures)


def _warn_if_loaded(console: Console) -> None:
    """Timings taken while other work holds the cores measure the contention, not the backend
    (with more threads than free cores, OpenMP barriers wait out scheduler time slices)."""
    import os

    cores = os.cpu_count() or 1
    load = os.getloadavg()[0]
    if load > cores:
        console.print(f"warning: load average {load:.1f} on {cores} cores while timing: other "
                      "processes shared the CPU, so these numbers (multi-thread rows most) "
                      "measure contention as much as the backends", style="yellow")


def _render_runs(console: Console, outcome: Any) -> bool:
    eager = outcome.eager
    failed = False
    language = eager.task == "generate"
    table = Table(title=f"run {outcome.options.model}", title_justify="left")
    table.add_column("backend")
    table.add_column("status")
    table.add_column("generated" if language else "top-5 (class: prob)")
    table.add_column("agrees with eager")
    table.add_column("prepare s", justify="right")
    for out in [eager, *outcome.runs]:
        if language:
            answer = f"{out.text!r} {out.tokens}" if out.ok else out.message
            agree = out.tokens == eager.tokens
        else:
            answer = (", ".join(f"{c}: {p:.3f}" for c, p in out.top5) if out.ok
                      else out.message)
            agree = bool(out.top5) and out.top5[0][0] == eager.top5[0][0]
        mark = "-" if out is eager else ("[green]yes[/]" if agree else "[red]no[/]")
        if out is not eager and (not out.ok or not agree):
            failed = True
        status = f"[{_STYLE.get(out.status, 'red')}]{out.status}[/]"
        prep = "-" if out.prepare_s is None else f"{out.prepare_s:.2f}"
        table.add_row(escape(out.backend), status, escape(answer), mark, prep)
    console.print(table)
    what = "tokens" if language else "top-1 class"
    console.print(f"{what}: {'every backend agrees with eager' if not failed else 'see above'}")
    for out in outcome.runs:
        if out.profile:
            console.print(escape(out.profile), highlight=False)
    return failed


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m paritykit.cli.eval`` (the same as ``parity eval``)."""
    import sys

    from paritykit.cli.common import subcommand_main

    return subcommand_main(sys.modules[__name__], argv)
