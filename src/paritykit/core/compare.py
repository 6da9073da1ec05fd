"""Comparing a backend's outputs with the reference: structure, shape, dtype, then values.

The comparator returns data (:class:`Comparison`); :func:`message` renders the one grammar used
by the CLI, the reports and the pytest plugin::

    softmax_dim1 @ onnxruntime: values differ — 3 / 4096 (0.07%) mismatched; greatest abs diff
    2.1e-3 at [2, 17] (got 0.4121, expected 0.4100); atol=1e-5 rtol=1.3e-6 (float32 default)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import ml_dtypes
import numpy as np

from paritykit.core.dtypes import dtype_name
from paritykit.core.tolerance import Tolerance, sci

_LOW_PRECISION = (np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16))


@dataclass(frozen=True)
class Comparison:
    """The outcome of comparing outputs; ``kind`` is ok/structure/shape/dtype/values."""

    ok: bool
    kind: str
    detail: str = ""
    output: int | None = None
    outputs: int = 0
    max_abs_error: float = 0.0
    max_rel_error: float = 0.0
    max_ulp: float | None = None
    worst_index: tuple[int, ...] | None = None
    got: float | None = None
    expected: float | None = None
    mismatched: int = 0
    total: int = 0
    nan_inf: str = ""
    tolerance: Tolerance | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        d = asdict(self)
        d["worst_index"] = list(self.worst_index) if self.worst_index is not None else None
        return d


def _float64(a: np.ndarray) -> np.ndarray:
    if a.dtype.kind == "c":
        return a.astype(np.complex128)
    return a.astype(np.float64)


def _fmt(x: float | None) -> str:
    return f"{x:.4g}" if x is not None else "?"


def _nan_inf_pattern(got: np.ndarray, exp: np.ndarray) -> str:
    notes = []
    for label, pred in (("NaN", np.isnan), ("Inf", np.isinf)):
        differ = pred(got) != pred(exp)
        if differ.any():
            n = int(differ.sum())
            where = tuple(int(i) for i in np.argwhere(differ)[0])
            notes.append(f"{label} pattern differs at {n} position(s), first at {list(where)}")
    return "; ".join(notes)


def _ulp(got: np.ndarray, exp: np.ndarray, dtype: np.dtype[Any], mask: np.ndarray) -> float | None:
    if (dtype.kind != "f" and dtype not in _LOW_PRECISION) or not mask.any():
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        spacing = np.abs(np.spacing(exp[mask].astype(dtype))).astype(np.float64)
        spacing[spacing == 0] = np.finfo(np.float64).tiny
        return float(np.max(np.abs(got[mask] - exp[mask]) / spacing))


def compare_array(got: np.ndarray, expected: np.ndarray, tol: Tolerance, index: int = 0,
                  outputs: int = 1) -> Comparison:
    """Compare one output array (shape, dtype, then values as ``torch.isclose`` with equal NaNs)."""
    def early(ok: bool, kind: str, detail: str = "") -> Comparison:
        return Comparison(ok, kind, detail, output=index, outputs=outputs, tolerance=tol)

    if tuple(got.shape) != tuple(expected.shape):
        return early(False, "shape", f"got shape {list(got.shape)}, expected "
                     f"{list(expected.shape)}")
    if got.dtype != expected.dtype:
        return early(False, "dtype", f"got {dtype_name(got.dtype)}, expected "
                     f"{dtype_name(expected.dtype)}")
    total = int(expected.size)
    if total == 0:
        return early(True, "ok")
    g, e = _float64(got), _float64(expected)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(g - e)
        both_nan = np.isnan(g) & np.isnan(e)
        same_inf = np.isinf(e) & (g == e)
        close = ((diff <= tol.atol + tol.rtol * np.abs(e)) & np.isfinite(e)) | both_nan | same_inf
        if expected.dtype.kind in "iub" and tol.atol == 0 and tol.rtol == 0:
            # float64 cannot hold every int64: exact integers are compared as integers.
            close = got == expected
        finite = np.isfinite(diff)
        masked = np.where(finite, diff, -1.0)
        rel = np.where(finite & (e != 0), diff / np.abs(np.where(e == 0, 1, e)), 0.0)
    mismatched = int(total - close.sum())
    # The worst element is the largest finite difference among the mismatched ones, if any.
    ranking = np.where(close, -2.0, masked) if mismatched else masked
    worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(ranking)), e.shape))
    stats = Comparison(
        ok=mismatched == 0,
        kind="ok" if mismatched == 0 else "values",
        output=index,
        outputs=outputs,
        tolerance=tol,
        max_abs_error=max(float(masked.max()), 0.0),
        max_rel_error=float(np.abs(rel).max()),
        max_ulp=_ulp(g, e, expected.dtype, finite),
        worst_index=worst,
        got=_scalar(g[worst]),
        expected=_scalar(e[worst]),
        mismatched=mismatched,
        total=total,
        nan_inf=_nan_inf_pattern(g, e) if g.dtype.kind != "c" else "",
    )
    if stats.ok:
        return stats
    # The headline names the worst *mismatched* element, which is what failed the check.
    worst_diff = sci(float(masked[worst])) if masked[worst] >= 0 else "nan"
    detail = (f"{mismatched} / {total} ({100.0 * mismatched / total:.2f}%) mismatched; "
              f"greatest abs diff {worst_diff} at {list(worst)} "
              f"(got {_fmt(stats.got)}, expected {_fmt(stats.expected)})")
    if stats.nan_inf:
        detail += f"; {stats.nan_inf}"
    return dataclasses.replace(stats, detail=detail)


def _scalar(x: Any) -> float:
    return float(np.real(x))


def compare_outputs(
    got: Sequence[np.ndarray],
    expected: Sequence[np.ndarray],
    tolerance_for: Callable[[str], Tolerance],
) -> Comparison:
    """Compare every output in order; the first failing one decides, the worst error is kept.

    >>> from paritykit.core.tolerance import default_tolerance
    >>> c = compare_outputs([np.ones(3, np.float32)], [np.ones(3, np.float32)], default_tolerance)
    >>> c.ok
    True
    """
    if len(got) != len(expected):
        return Comparison(False, "structure",
                          f"got {len(got)} output(s), expected {len(expected)}",
                          outputs=len(expected))
    results = [
        compare_array(np.asarray(g), np.asarray(e), tolerance_for(dtype_name(np.asarray(e).dtype)),
                      i, len(expected))
        for i, (g, e) in enumerate(zip(got, expected, strict=True))
    ]
    if not results:
        return Comparison(True, "ok", outputs=0)
    failing = [r for r in results if not r.ok]
    if failing:
        return failing[0]
    return max(results, key=lambda r: r.max_abs_error)


_HEADLINES = {
    "structure": "structure differs",
    "shape": "shape differs",
    "dtype": "dtype differs",
    "values": "values differ",
}


def message(case: str, backend: str, comparison: Comparison, input_set: int = 0) -> str:
    """The one-line failure message (empty for a passing comparison); input sets after the
    first (the extra sizes of dynamic cases) are named."""
    if comparison.ok:
        return ""
    head = _HEADLINES[comparison.kind]
    if comparison.output is not None and comparison.outputs > 1:
        head += f" at output {comparison.output}"
    where = f"input set {input_set}: " if input_set else ""
    text = f"{case} @ {backend}: {where}{head} — {comparison.detail}"
    if comparison.kind == "values" and comparison.tolerance is not None:
        text += f"; {comparison.tolerance.describe()}"
    return text


def compare_input_sets(actual: Sequence[Sequence[np.ndarray]],
                       expected: Sequence[Sequence[np.ndarray]],
                       tolerance_for: Callable[[str], Tolerance]) -> tuple[int, Comparison]:
    """(input set, comparison) over every input set of a case: the first set that fails, else
    the set with the largest absolute error. Different set counts are a structure failure."""
    if len(actual) != len(expected):
        return 0, Comparison(False, "structure", f"got {len(actual)} input set(s), expected "
                             f"{len(expected)}", outputs=len(expected))
    best: tuple[int, Comparison] | None = None
    for k, (got, exp) in enumerate(zip(actual, expected, strict=True)):
        comparison = compare_outputs(got, exp, tolerance_for)
        if not comparison.ok:
            return k, comparison
        if best is None or comparison.max_abs_error > best[1].max_abs_error:
            best = (k, comparison)
    return best if best is not None else (0, Comparison(True, "ok"))
