"""Shared glue of every workload: one program through one backend's real protocol.

``Program(name, module, example_inputs)`` → ``backend.prepare(program, workdir)`` →
``prepared.run(numpy inputs)``, through :mod:`paritykit.run.attempt` (which classifies failures:
EXPORT_ERROR, LOWER_ERROR, RUN_ERROR); a failure is an :class:`Outcome`, never an exception.
"""

from __future__ import annotations

import pathlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from paritykit.core.backend import Prepared
from paritykit.core.compare import Comparison, compare_outputs
from paritykit.core.dtypes import to_numpy
from paritykit.core.program import Program
from paritykit.core.registry import BACKENDS
from paritykit.core.result import Result, Status
from paritykit.core.tolerance import CaseTolerance, Tolerance, ToleranceRules
from paritykit.run import attempt


@dataclass
class Outcome:
    """What happened when one program went through one backend."""

    status: Status
    message: str = ""
    traceback: str = ""
    prepared: Prepared | None = None
    outputs: list[np.ndarray] = field(default_factory=list)
    prepare_s: float | None = None
    run_s: float | None = None

    @property
    def ran(self) -> bool:
        """True when the backend produced outputs."""
        return self.prepared is not None and self.status is not Status.RUN_ERROR


def numpy_inputs(inputs: Sequence[torch.Tensor]) -> list[np.ndarray]:
    """Tensors as the NumPy arrays a Prepared takes."""
    return [to_numpy(t.detach()) for t in inputs]


def prepare(backend: str, program: Program, workdir: pathlib.Path, label: str) -> Outcome:
    """Lower ``program`` on ``backend``; PASS here only means "prepared" (nothing compared yet).

    ``label`` names the thing in messages (``model:mlp`` or ``model:mlp:fc1``).
    """
    result = Result(label, backend, Status.PASS)
    start = time.perf_counter()
    try:
        prepared = attempt.prepare(BACKENDS.get(backend), program, workdir, result)
    except Exception as exc:
        return _failed(attempt.fail(result, attempt.Stage.PREPARE, exc))
    return Outcome(Status.PASS, prepared=prepared, prepare_s=time.perf_counter() - start)


def run(outcome: Outcome, inputs: list[np.ndarray], label: str, backend: str) -> Outcome:
    """Run a prepared program once; a failure turns the outcome into RUN_ERROR."""
    if outcome.prepared is None:
        return outcome
    result = Result(label, backend, Status.PASS)
    try:
        outcome.outputs = list(attempt.run_sets(outcome.prepared, [inputs], result)[0])
    except Exception as exc:
        failed = _failed(attempt.fail(result, attempt.Stage.RUN, exc))
        failed.prepared, failed.prepare_s = outcome.prepared, outcome.prepare_s
        return failed
    outcome.run_s = result.run_s
    return outcome


def lower_and_run(backend: str, program: Program, workdir: pathlib.Path,
                  label: str) -> Outcome:
    """:func:`prepare` then :func:`run` on the program's own example inputs."""
    outcome = prepare(backend, program, workdir, label)
    return run(outcome, numpy_inputs(program.example_inputs), label, backend)


def _failed(result: Result) -> Outcome:
    return Outcome(result.status, message=result.message, traceback=result.traceback)


def load_rules(path: str | None) -> ToleranceRules:
    """The ``--tolerances`` rules file, or no rules."""
    return ToleranceRules.load(path) if path else ToleranceRules()


def resolver(rules: ToleranceRules, backend: str, case_id: str, base: str,
             case: CaseTolerance | None) -> Callable[[str], Tolerance]:
    """``dtype -> Tolerance`` with the rules file's precedence (``test`` matches case or base)."""
    return rules.resolver(backend, case_id, base, case)


def compare(got: Sequence[np.ndarray], expected: Sequence[np.ndarray],
            tolerance_for: Callable[[str], Tolerance]) -> Comparison:
    """The comparator of ``parity run`` (structure, shape, dtype, values)."""
    return compare_outputs(list(got), list(expected), tolerance_for)
