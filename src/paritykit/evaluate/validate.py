"""``validate``: the model's outputs (logits) on a backend vs torch eager, as one Result.

Example::

    result = validate_backend(EvalOptions("mlp", "validate"), "onnxruntime")
    result.status  # Status.PASS
"""

from __future__ import annotations

import time

from paritykit.core.compare import message
from paritykit.core.program import Program
from paritykit.core.registry import BACKENDS
from paritykit.core.result import Result, Status
from paritykit.evaluate import dump, lowering, profiling
from paritykit.evaluate.common import repro, workdir
from paritykit.evaluate.model import MODEL_TOLERANCE, load_model
from paritykit.evaluate.options import EvalOptions


def validate_backend(options: EvalOptions, backend: str) -> Result:
    """Lower the whole model on ``backend``, run it on the example inputs, compare the outputs.

    Never raises for a backend's failure: the Result carries EXPORT_ERROR / LOWER_ERROR /
    RUN_ERROR / MISMATCH with the message grammar of ``parity run``.
    """
    started = time.perf_counter()
    case = options.case_id
    result = Result(case=case, backend=backend, base=case, status=Status.RUN_ERROR,
                    repro=repro(options, backend, "validate"))
    result.versions = BACKENDS.get(backend).versions()
    start = time.perf_counter()
    loaded = load_model(options)
    result.setup_s = time.perf_counter() - start
    program = Program(case, loaded.module, loaded.inputs,
                      options=dict(options.backend_options.get(backend, {})))
    directory = workdir(options, backend, "validate")
    outcome = lowering.lower_and_run(backend, program, directory, case)
    result.prepare_s, result.run_s = outcome.prepare_s, outcome.run_s
    result.artifact_dir = str(directory)
    if outcome.prepared is not None:
        result.stats = dict(outcome.prepared.stats)
        result.device = outcome.prepared.device
        if outcome.prepared.artifact is not None:
            result.artifact = str(outcome.prepared.artifact)
        if options.dumps_lowered:
            dump.write_lowered(options, backend, directory)
        if options.profile and outcome.status is Status.PASS:
            result.stats["profile"] = profiling.profile_run(
                backend, outcome.prepared, lowering.numpy_inputs(loaded.inputs))
    if outcome.status is not Status.PASS:
        result.status, result.message = outcome.status, outcome.message
        result.traceback = outcome.traceback
    else:
        rules = lowering.load_rules(options.tolerances_path)
        tolerance_for = lowering.resolver(rules, backend, case, options.model, MODEL_TOLERANCE)
        comparison = lowering.compare(outcome.outputs, loaded.expected, tolerance_for)
        result.status = Status.PASS if comparison.ok else Status.MISMATCH
        result.message = message(case, backend, comparison)
        result.record_comparison(comparison)
    result.total_s = time.perf_counter() - started
    return result
