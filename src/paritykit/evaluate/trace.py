"""``trace``: every module's forward lowered alone on the backend, fed the reference's inputs.

Eager runs once with forward hooks (see :mod:`paritykit.evaluate.capture`); then each captured
call becomes a ``Program`` named by the module's qualified name, is prepared on the backend,
run on the captured inputs and compared with the captured output. Because every module gets
the reference's inputs, the first MISMATCH in execution order is the first module that
diverges while its inputs still agree. Writes ``DIR/trace-<model>-<backend>.json``::

    {"schema": "paritykit-trace/1", "model": "resnet18", "backend": "openvino",
     "first_mismatch": "layer1.0.conv2" | null,
     "rows": [{"module", "type", "status", "max_abs", "max_rel", "message", ...}]}
"""

from __future__ import annotations

import pathlib
from typing import Any

import torch

from paritykit.core.compare import message
from paritykit.core.program import Program
from paritykit.core.result import Status
from paritykit.evaluate import dump, lowering
from paritykit.evaluate.capture import Call, Replay, capture_calls
from paritykit.evaluate.common import workdir
from paritykit.evaluate.model import load_model
from paritykit.evaluate.options import EvalOptions
from paritykit.files.trace import TraceReport, TraceRow, write_trace


def trace_path(options: EvalOptions, backend: str) -> pathlib.Path:
    """``DIR/trace-<model>-<backend>.json``."""
    return pathlib.Path(options.artifact_dir, f"trace-{options.model}-{backend}.json")


def _median(fn: Any, budget_s: float) -> float:
    from paritykit.core.timing import measure

    return measure(fn, warmup=1, min_repeats=3, budget_s=budget_s).median_s


def _trace_call(options: EvalOptions, backend: str, call: Call, case: str) -> TraceRow:
    row = TraceRow(call.name, call.type, Status.RUN_ERROR.value, call=call.index)
    label = f"{case}:{call.label}"
    program = Program(call.name, Replay(call).eval(), call.tensor_args,
                      options=dict(options.backend_options.get(backend, {})))
    directory = workdir(options, backend, "trace", call.label)
    inputs = lowering.numpy_inputs(call.tensor_args)
    outcome = lowering.run(lowering.prepare(backend, program, directory, label), inputs, label,
                           backend)
    if outcome.status is not Status.PASS:
        row.status, row.message = outcome.status.value, outcome.message
        return row
    if options.dumps_lowered:
        dump.write_lowered(options, backend, directory, sub=f"trace/{call.label}")
    rules = lowering.load_rules(options.tolerances_path)
    tolerance_for = lowering.resolver(rules, backend, label, case, None)
    expected = lowering.numpy_inputs(call.outputs)
    comparison = lowering.compare(outcome.outputs, expected, tolerance_for)
    row.status = (Status.PASS if comparison.ok else Status.MISMATCH).value
    row.max_abs, row.max_rel = comparison.max_abs_error, comparison.max_rel_error
    row.message = message(label, backend, comparison)
    if comparison.kind == "values":
        _judge_by_oracle(row, call, outcome.outputs, expected)
    if options.profile and outcome.prepared is not None:
        prepared = outcome.prepared
        replay = program.module
        with torch.no_grad():
            row.eager_s = _median(lambda: replay(*call.tensor_args), 0.2)
        row.backend_s = _median(lambda: prepared.run(inputs), 0.2)
    return row


def _judge_by_oracle(row: TraceRow, call: Call, got: list[Any], expected: list[Any]) -> None:
    """Turn a values mismatch that is only float32 rounding (see :mod:`.oracle`) into PASS."""
    from paritykit.evaluate.oracle import SLACK, float32_noise, float64_outputs

    reference = float64_outputs(call)
    if reference is None:
        return
    noise, backend_err, eager_err = float32_noise(got, expected, reference)
    if noise:
        row.status = Status.PASS.value
        row.message = (f"float32 rounding: {row.message.split(' — ', 1)[-1]}; its distance to "
                       f"a float64 run ({backend_err:.2g}) is within {SLACK:g}x eager's own "
                       f"({eager_err:.2g})")
        row.oracle = True


def trace_backend(options: EvalOptions, backend: str) -> TraceReport:
    """Trace ``options.model`` on ``backend``; writes the JSON file and returns the report."""
    report = TraceReport(options.model, backend)
    loaded = load_model(options, with_reference=False)
    calls = capture_calls(loaded.module, loaded.inputs, options.trace_depth,
                          options.trace_all)
    for call in calls:
        row = _trace_call(options, backend, call, options.case_id)
        report.rows.append(row)
        if row.status == Status.MISMATCH.value and report.first_mismatch is None:
            report.first_mismatch = call.label
            if options.stop_on_first_mismatch:
                report.stopped_early = True
                break
    write_report(options, report)
    return report


def write_report(options: EvalOptions, report: TraceReport) -> pathlib.Path:
    """Write ``DIR/trace-<model>-<backend>.json``."""
    path = trace_path(options, report.backend)
    write_trace(path, report)
    return path


def failed_trace(options: EvalOptions, backend: str, status: Status, message_: str,
                 detail: str) -> TraceReport:
    """The report of a trace whose process crashed, timed out or raised (file written too)."""
    report = TraceReport(options.model, backend,
                         error=f"{status.value}: {options.case_id} @ {backend}: {message_}")
    write_report(options, report)
    return report
