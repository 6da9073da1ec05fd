"""``bench``: latency and throughput of the model per backend vs torch eager, per thread count.

Each (backend, thread count) is one job: the model is lowered once per program and timed with
:func:`paritykit.core.timing.measure` through ``Prepared.run`` on NumPy inputs; the reference row
times the eager module on tensors. Vision/tabular models time one batch; language models time,
for each ``--bench-tokens N``, a prefill of N tokens (N > 1) or a decode of 1 token with a KV
cache (N = 1), both through :func:`paritykit.models.kv_step_module`. Rows go to
``DIR/bench.json`` (schema ``paritykit-bench/1``, shared with ``parity bench``, merged with an
earlier file); each row adds ``items`` (images or tokens per call): throughput = items / median_s.
"""

from __future__ import annotations

import dataclasses
import pathlib
from dataclasses import dataclass, field
from typing import Any

import torch

from paritykit.core.program import Program
from paritykit.core.result import Status
from paritykit.evaluate import lowering
from paritykit.evaluate.common import workdir
from paritykit.evaluate.model import LoadedModel, load_model
from paritykit.evaluate.options import EvalOptions
from paritykit.files.bench import BenchFailure, BenchRow, BenchRun, merged, write_bench

REFERENCE = "torch eager"
BENCH_FILE = "bench.json"


@dataclass
class BenchProgram:
    """One timed program: a case id, a module, its inputs and items per call."""

    case: str
    module: torch.nn.Module
    inputs: tuple[torch.Tensor, ...]
    items: int


@dataclass
class BenchOutcome:
    """What one (backend, threads) job measured."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)


def programs(options: EvalOptions, loaded: LoadedModel) -> list[BenchProgram]:
    """The programs to time for this model (one, or one per ``--bench-tokens`` for gpt2)."""
    if loaded.spec.kind != "language":
        return [BenchProgram(options.case_id, loaded.module, loaded.inputs, options.batch)]
    from paritykit.models import cache_shape, kv_step_module

    max_len = max(options.bench_tokens) + 1
    step = kv_step_module(loaded.module, max_len)
    shape = cache_shape(loaded.module, max_len, options.batch)
    vocab = int(loaded.module.config["vocab_size"])  # type: ignore[index]
    gen = torch.Generator().manual_seed(options.seed)
    out = []
    for n in options.bench_tokens:
        ids = torch.randint(0, vocab, (options.batch, n), generator=gen)
        # Decode writes at the last free slot of a full cache; prefill starts an empty one.
        pos = torch.tensor([max_len - 1 if n == 1 else 0])
        cache = torch.randn(shape, generator=gen) if n == 1 else torch.zeros(shape)
        name = f"{options.case_id}:decode1" if n == 1 else f"{options.case_id}:prefill{n}"
        out.append(BenchProgram(name, step, (ids, pos, cache, cache.clone()), options.batch * n))
    return out


def _row(timing: Any, case: str, backend: str, variant: str, label: str, threads: int,
         items: int, device: str = "cpu") -> dict[str, Any]:
    row = BenchRow.from_timing(timing, case=case, backend=backend, variant=variant, label=label,
                               threads=threads, device=device, items=items)
    return dataclasses.asdict(row)


def _call(fn: Any, *args: Any) -> Any:
    # Binds the loop's values now (a lambda in a loop would see the last ones).
    return lambda: fn(*args)


def bench_reference(options: EvalOptions) -> BenchOutcome:
    """Time the eager module on each program (``variant = reference``)."""
    from paritykit.core.timing import measure

    threads = options.threads[0]
    outcome = BenchOutcome()
    loaded = load_model(options, with_reference=False)
    for prog in programs(options, loaded):
        with torch.no_grad():
            timing = measure(_call(prog.module, *prog.inputs), budget_s=options.bench_budget_s)
        outcome.rows.append(_row(timing, prog.case, "torch", "reference", REFERENCE, threads,
                                 prog.items))
    return outcome


def pool_reference(before: BenchOutcome, after: BenchOutcome) -> BenchOutcome:
    """One reference outcome from two timings of it: each row's samples pooled, its median,
    IQR and CI recomputed. A row timed only once (the other job failed) is kept as it was."""
    from paritykit.core.timing import summarize

    later = {row["case"]: row for row in after.rows}
    rows = []
    for row in before.rows:
        other = later.get(row["case"])
        if other is not None:
            samples = [*row["samples_s"], *other["samples_s"]]
            median, iqr, low, high = summarize(samples)
            row = {**row, "samples_s": samples, "median_s": median, "iqr_s": iqr,
                   "ci_low_s": low, "ci_high_s": high,
                   "repeats": row["repeats"] + other["repeats"]}
        rows.append(row)
    seen = {row["case"] for row in rows}
    rows += [row for row in after.rows if row["case"] not in seen]
    return BenchOutcome(rows, before.failures + after.failures)


def bench_backend(options: EvalOptions, backend: str) -> BenchOutcome:
    """Lower each program on ``backend`` and time ``Prepared.run`` (``variant = optimized``)."""
    from paritykit.core.timing import measure

    threads = options.threads[0]
    outcome = BenchOutcome()
    loaded = load_model(options, with_reference=False)
    for prog in programs(options, loaded):
        program = Program(prog.case, prog.module, prog.inputs,
                          options=dict(options.backend_options.get(backend, {})))
        directory = workdir(options, backend, f"bench-{prog.case.rsplit(':', 1)[-1]}-t{threads}")
        inputs = lowering.numpy_inputs(prog.inputs)
        result = lowering.run(lowering.prepare(backend, program, directory, prog.case), inputs,
                              prog.case, backend)
        if result.status is not Status.PASS or result.prepared is None:
            outcome.failures.append(failure(prog.case, backend, threads, result.status,
                                            result.message))
            continue
        prepared = result.prepared
        timing = measure(_call(prepared.run, inputs), budget_s=options.bench_budget_s)
        outcome.rows.append(_row(timing, prog.case, backend, "optimized", backend, threads,
                                 prog.items, prepared.device))
    return outcome


def failure(case: str, backend: str, threads: int, status: Status,
            message: str) -> dict[str, Any]:
    """A ``failures`` entry of ``bench.json``."""
    entry = BenchFailure(case=case, backend=backend, variant="optimized", label=backend,
                         threads=threads, status=status.value, message=message)
    return dataclasses.asdict(entry)


def failed_bench(options: EvalOptions, backend: str, status: Status, message: str,
                 detail: str) -> BenchOutcome:
    """The outcome of a job whose process crashed, timed out or raised."""
    return BenchOutcome(failures=[failure(options.case_id, backend, options.threads[0], status,
                                          f"{options.case_id} @ {backend}: {message}")])


def write(options: EvalOptions, outcomes: list[BenchOutcome],
          versions: dict[str, dict[str, str]]) -> pathlib.Path:
    """Write ``DIR/bench.json``: these rows, plus rows of an earlier file that were not
    measured again (same case, backend, variant and threads), so suite entries add up."""
    from paritykit.files.machine import fingerprint

    run = BenchRun(machine=fingerprint(versions),
                   rows=[BenchRow(**row) for o in outcomes for row in o.rows],
                   failures=[BenchFailure(**f) for o in outcomes for f in o.failures])
    path = pathlib.Path(options.artifact_dir, BENCH_FILE)
    write_bench(path, merged(path, run))
    return path


def speedup_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with ``speedup`` = reference median / this median, for the same case and threads."""
    ref = {(r["case"], r["threads"]): r["median_s"] for r in rows if r["variant"] == "reference"}
    out = []
    for r in rows:
        base = ref.get((r["case"], r["threads"]))
        speed = base / r["median_s"] if base and r["median_s"] else None
        out.append({**r, "speedup": speed})
    return out
