"""Judging ``--grad`` results, with a float64 oracle for gradients that miss the tolerance.

Gradients of half-precision or long-reduction cases carry rounding error on *both* sides: eager
autograd's own gradient is only an approximation at the dtype's precision, so a backend that sums
in another order can miss the forward tolerance against it without being any worse. When a
gradient tensor fails the plain comparison with eager, the same loss is differentiated once more
in float64 on the CPU (the module deep-copied and converted, inputs upcast, the same seeded
cotangents drawn in the reference's dtypes), and the tensor is accepted when

    backend error <= ORACLE_FACTOR × eager error + atol

where each error is the greatest absolute difference from the float64 gradient and ``atol`` is
the tolerance's own (a floor for a reference that happens to be exact). A wrong rule is off by
far more than rounding, so it still fails; its message names both errors.

Example::

    verdict = compare_gradients(got, expected, tolerance_for,
                                lambda: oracle_gradients(model, inputs, run_seed=0, case_id="mlp"))
    verdict.ok, verdict.note()  # (True, '3 gradients: ...; oracle-judged: op.weight (backend ...)')
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from paritykit.core.compare import Comparison, compare_array, compare_outputs, message
from paritykit.core.dtypes import dtype_name
from paritykit.core.gradients import torch_gradients, tracked_output_dtypes
from paritykit.core.tolerance import Tolerance, sci

#: How much larger than eager autograd's own error (against float64) a backend's may be. Both
#: carry rounding of the same size; measured backends stay within 1.4x, a wrong rule is orders
#: of magnitude beyond (see docs/autodiff.md, "Gradient parity").
ORACLE_FACTOR = 2.0

Gradients = Sequence[tuple[str, np.ndarray]]


@dataclass(frozen=True)
class Judgement:
    """One gradient tensor measured against the float64 oracle.

    >>> j = judge("w", np.array([1.001]), np.array([0.999]), np.array([1.0]), factor=2, floor=0)
    >>> j.ok, j.describe()
    (True, 'w (backend 1e-3 vs eager 1e-3 against float64)')
    """

    name: str
    backend_error: float
    eager_error: float
    factor: float
    floor: float

    @property
    def allowed(self) -> float:
        """The largest backend error accepted."""
        return self.factor * self.eager_error + self.floor

    @property
    def ok(self) -> bool:
        """Within the allowance (a non-finite backend error never is)."""
        return bool(np.isfinite(self.backend_error)) and self.backend_error <= self.allowed

    def describe(self) -> str:
        """The note for an accepted tensor."""
        return (f"{self.name} (backend {sci(self.backend_error)} vs eager "
                f"{sci(self.eager_error)} against float64)")

    def failure(self) -> str:
        """The clause appended to a rejected tensor's message."""
        return (f"against float64 gradients: backend error {sci(self.backend_error)} > "
                f"{sci(self.factor)} × eager error {sci(self.eager_error)} + atol "
                f"{sci(self.floor)}")


def _error(got: np.ndarray, oracle: np.ndarray) -> float:
    """Greatest |got - oracle| in float64; equal non-finite values count as exact, others inf."""
    g, o = got.astype(np.float64), oracle.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(g - o)
    same = (g == o) | (np.isnan(g) & np.isnan(o))
    diff = np.where(same, 0.0, np.where(np.isfinite(diff), diff, np.inf))
    return float(diff.max()) if diff.size else 0.0


def judge(name: str, got: np.ndarray, eager: np.ndarray, oracle: np.ndarray, *,
          factor: float = ORACLE_FACTOR, floor: float = 0.0) -> Judgement:
    """The backend's and eager's errors against the float64 gradient, and the decision."""
    if got.shape != oracle.shape or eager.shape != oracle.shape:
        raise ValueError(f"{name}: shapes {list(got.shape)}, {list(eager.shape)} and "
                         f"{list(oracle.shape)} differ")
    return Judgement(name, _error(got, oracle), _error(eager, oracle), factor, floor)


def oracle_gradients(module: torch.nn.Module, inputs: Sequence[torch.Tensor], run_seed: int,
                     case_id: str) -> list[tuple[str, np.ndarray]]:
    """The ``--grad`` loss differentiated in float64 on the CPU, names and order as eager's.

    Raises whatever torch raises where the module cannot run in float64 (e.g. an op without a
    float64 kernel, or a dtype fixed inside ``forward``).
    """
    dtypes = tracked_output_dtypes(module, inputs)
    wide = copy.deepcopy(module).to(device="cpu", dtype=torch.float64)
    wide_inputs = [x.detach().to(device="cpu", dtype=torch.float64) if x.is_floating_point()
                   else x.detach().cpu() for x in inputs]
    return torch_gradients(wide, wide, wide_inputs, run_seed, case_id, cotangent_dtypes=dtypes)


@dataclass(frozen=True)
class GradientVerdict:
    """The outcome of ``--grad`` for one pair: the deciding comparison with eager, the oracle's
    judgements of the tensors that missed the tolerance, or why there was no oracle."""

    names: list[str]
    comparison: Comparison
    judgements: list[Judgement] = field(default_factory=list)
    oracle_unavailable: str = ""

    @property
    def ok(self) -> bool:
        """Every tensor within tolerance of eager or accepted by the oracle."""
        return self.comparison.ok or (bool(self.judgements)
                                      and all(j.ok for j in self.judgements))

    def note(self) -> str:
        """``stats["grad"]``: what was checked, and which tensors the oracle judged."""
        text = f"{len(self.names)} gradients: {', '.join(self.names)}"
        accepted = [j.describe() for j in self.judgements if j.ok]
        if accepted and self.ok:
            text += f"; oracle-judged: {', '.join(accepted)}"
        if self.oracle_unavailable:
            text += f"; float64 oracle unavailable: {self.oracle_unavailable}"
        return text

    def oracle_stats(self) -> dict[str, dict[str, float | None]]:
        """``stats["grad_oracle"]``: both errors per judged tensor (None where not finite, so
        the report stays plain JSON)."""
        def finite(x: float) -> float | None:
            return x if np.isfinite(x) else None

        return {j.name: {"backend": finite(j.backend_error), "eager": finite(j.eager_error)}
                for j in self.judgements}

    def message(self, case: str, backend: str) -> str:
        """The comparator's one-line message, naming the gradient (empty when ok)."""
        if self.ok:
            return ""
        c = self.comparison
        where = self.names[c.output] if c.output is not None and c.output < len(self.names) \
            else "gradients"
        text = message(case, backend, c).replace(": ", f": gradient w.r.t. {where}: ", 1)
        rejected = [j for j in self.judgements if j.name == where and not j.ok]
        if rejected:
            text += f"; {rejected[0].failure()}"
        elif self.oracle_unavailable:
            text += f"; float64 oracle unavailable ({self.oracle_unavailable})"
        return text


def compare_gradients(got: Gradients, expected: Gradients,
                      tolerance_for: Callable[[str], Tolerance],
                      oracle: Callable[[], Gradients],
                      factor: float = ORACLE_FACTOR) -> GradientVerdict:
    """Compare a backend's gradients with eager's; ``oracle`` is called only when a tensor
    misses the tolerance with a value difference (not for a shape, dtype or count mismatch)."""
    names = [name for name, _ in expected]
    if len(got) != len(expected):
        return GradientVerdict(names, compare_outputs([g for _, g in got],
                                                      [e for _, e in expected], tolerance_for))
    tolerances = [tolerance_for(dtype_name(e.dtype)) for _, e in expected]
    plain = [compare_array(np.asarray(g), np.asarray(e), tol, i, len(expected))
             for i, ((_, g), (_, e), tol) in enumerate(zip(got, expected, tolerances, strict=True))]
    failing = [c for c in plain if not c.ok]
    worst = max(plain, key=lambda c: c.max_abs_error, default=Comparison(True, "ok"))
    if not failing:
        return GradientVerdict(names, worst)
    if any(c.kind != "values" for c in failing):
        return GradientVerdict(names, failing[0])
    try:
        reference = list(oracle())
        if [name for name, _ in reference] != names:
            raise ValueError(f"float64 gradients are of {[n for n, _ in reference]}, "
                             f"not {names}")
        judgements = [judge(names[c.output], np.asarray(got[c.output][1]),
                            np.asarray(expected[c.output][1]), reference[c.output][1],
                            factor=factor, floor=tolerances[c.output].atol)
                      for c in failing if c.output is not None]
    except Exception as exc:  # any reason the oracle cannot run: keep the plain verdict
        return GradientVerdict(names, failing[0], oracle_unavailable=_headline(exc))
    rejected = [c for c, j in zip(failing, judgements, strict=True) if not j.ok]
    return GradientVerdict(names, rejected[0] if rejected else worst, judgements)


def _headline(exc: BaseException) -> str:
    first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    return f"{type(exc).__name__}: {first[:200]}"
