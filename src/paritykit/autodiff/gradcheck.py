"""``check_grads``: a framework's derivatives vs central differences in float64 NumPy.

The oracle evaluates the SAME definition ``fn(v, *xs)`` with :class:`NumpyVocab` in float64 on the
CPU, so it shares no code with the framework under test. Reverse mode compares the vjp of a fixed
random cotangent ``u`` (the gradient of ``<u, f(x)>``) element by element with central differences
of ``<u, f(x)>``; forward mode perturbs one argument at a time along a random tangent and compares
the jvp with the directional central difference. Order 2 differentiates once more (grad of grad,
jvp of jvp) against nested / second central differences.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from paritykit.autodiff.adapters import ADAPTERS, TransformAdapter
from paritykit.autodiff.vocab import NumpyVocab

VocabFn = Callable[..., Any]

#: (rtol, atol) of the framework's derivative vs the float64 oracle, by the dtype the framework
#: computed at.
TOLERANCES: dict[str, tuple[float, float]] = {
    "float64": (1e-6, 1e-8),
    "float32": (2e-3, 2e-4),
    "float16": (3e-2, 3e-2),
    "bfloat16": (8e-2, 8e-2),
}
#: Step sizes of the float64 central differences, by derivative order.
_STEP = {1: 1e-6, 2: 1e-4}


@dataclass
class GradReport:
    """What ``check_grads`` found: ``ok`` and, when not, which argument/element disagrees."""

    framework: str
    ok: bool = True
    mismatches: list[str] = field(default_factory=list)
    checked: int = 0

    @property
    def message(self) -> str:
        """The first two disagreements of each mode/order (with a count of the rest), or a pass
        summary."""
        if self.ok:
            return (f"{self.framework}: {self.checked} derivative values agree with finite"
                    " differences")
        groups: dict[str, list[str]] = {}
        for line in self.mismatches:
            groups.setdefault(line.split(":", 1)[0], []).append(line)
        parts = []
        for lines in groups.values():
            extra = f" (+{len(lines) - 2} more)" if len(lines) > 2 else ""
            parts.append("; ".join(lines[:2]) + extra)
        return f"{self.framework}: " + "; ".join(parts)

    def __bool__(self) -> bool:
        return self.ok


def _oracle(fn: VocabFn) -> Callable[..., np.ndarray]:
    vocab = NumpyVocab()
    return lambda *xs: np.asarray(fn(vocab, *xs), dtype=np.float64)


def _fd_grad(scalar: Callable[..., float], xs: list[np.ndarray], h: float) -> list[np.ndarray]:
    """Central-difference gradient of a scalar function of float64 arrays, per element."""
    grads = []
    for i, x in enumerate(xs):
        g = np.zeros_like(x)
        for idx in np.ndindex(x.shape):
            up = [a.copy() for a in xs]
            down = [a.copy() for a in xs]
            up[i][idx] += h
            down[i][idx] -= h
            g[idx] = (scalar(*up) - scalar(*down)) / (2 * h)
        grads.append(g)
    return grads


def _compare(report: GradReport, what: str, arg: int, got: np.ndarray, want: np.ndarray) -> None:
    # The tolerance follows the precision the framework really computed at (JAX narrows float64
    # to float32 unless x64 is enabled), not the dtype the caller asked for.
    dtype = got.dtype.name
    rtol, atol = TOLERANCES.get(dtype, TOLERANCES["float32"])
    got = np.asarray(got, dtype=np.float64)
    if got.shape != want.shape:
        report.ok = False
        report.mismatches.append(
            f"{what}: argument {arg} has derivative shape {got.shape}, expected {want.shape}"
        )
        return
    report.checked += want.size
    bad = ~(np.abs(got - want) <= atol + rtol * np.abs(want))
    for idx in zip(*np.nonzero(bad), strict=True) if got.ndim else ([()] if bad else []):
        report.ok = False
        report.mismatches.append(
            f"{what}: argument {arg} element {tuple(int(i) for i in idx)}: framework"
            f" {got[idx]:.6g} vs finite difference {want[idx]:.6g}"
            f" (tolerance rtol={rtol:g} atol={atol:g} for {dtype})"
        )


def _rev(
    adapter: TransformAdapter, fn: VocabFn, args: list[np.ndarray], order: int,
    rng: np.random.Generator, report: GradReport,
) -> None:
    vocab = adapter.vocab
    f = functools.partial(fn, vocab)
    oracle = _oracle(fn)
    x64 = [a.astype(np.float64) for a in args]
    u = rng.standard_normal(np.shape(oracle(*x64)))
    argnums = tuple(range(len(args)))
    cot = adapter.asarray(u.astype(args[0].dtype))

    def loss(*xs: Any) -> Any:  # <u, f(x)>, scalar
        return vocab.sum(vocab.multiply(f(*xs), cot))

    def loss64(*xs: np.ndarray) -> float:
        return float(np.sum(u * oracle(*xs)))

    if order == 1:
        got = adapter.grad(loss, argnums)(*[adapter.asarray(a) for a in args])
        want = _fd_grad(loss64, x64, _STEP[1])
    else:
        ws = [rng.standard_normal(a.shape) for a in args]
        wf = [adapter.asarray(w.astype(a.dtype)) for w, a in zip(ws, args, strict=True)]
        first = adapter.grad(loss, argnums)

        def second(*xs: Any) -> Any:  # <w, grad <u, f>>, scalar
            total = None
            for g, w in zip(first(*xs), wf, strict=True):
                term = vocab.sum(vocab.multiply(g, w))
                total = term if total is None else vocab.add(total, term)
            return total

        def second64(*xs: np.ndarray) -> float:
            gs = _fd_grad(loss64, list(xs), _STEP[2])
            return float(sum(np.sum(g * w) for g, w in zip(gs, ws, strict=True)))

        got = adapter.grad(second, argnums)(*[adapter.asarray(a) for a in args])
        want = _fd_grad(second64, x64, _STEP[2])
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        _compare(report, f"rev order {order}", i, adapter.to_numpy(g), w)


def _fwd(
    adapter: TransformAdapter, fn: VocabFn, args: list[np.ndarray], order: int,
    rng: np.random.Generator, report: GradReport,
) -> None:
    f = functools.partial(fn, adapter.vocab)
    oracle = _oracle(fn)
    x64 = [a.astype(np.float64) for a in args]
    for i, a in enumerate(args):
        t64 = [np.zeros_like(x) for x in x64]
        t64[i] = rng.standard_normal(a.shape)
        tangents = [adapter.asarray(t.astype(a.dtype)) for t, a in zip(t64, args, strict=True)]
        primals = [adapter.asarray(x) for x in args]

        def along(s: float, t64: list[np.ndarray] = t64) -> np.ndarray:
            return oracle(*[x + s * t for x, t in zip(x64, t64, strict=True)])

        if order == 1:
            h = _STEP[1]
            got = adapter.jvp(f, primals, tangents)[1][0]
            want = (along(h) - along(-h)) / (2 * h)
        else:
            h = _STEP[2]

            def d1(*xs: Any, tangents: list[Any] = tangents) -> Any:
                return adapter.jvp(f, list(xs), tangents)[1][0]

            got = adapter.jvp(d1, primals, tangents)[1][0]
            want = (along(h) - 2 * along(0.0) + along(-h)) / (h * h)
        # Forward mode names the perturbed argument; the element is the output's.
        _compare(report, f"fwd order {order} (output element)", i, adapter.to_numpy(got), want)


def check_grads(
    fn: VocabFn,
    args: Sequence[np.ndarray | float],
    order: int = 1,
    modes: Sequence[str] = ("fwd", "rev"),
    framework: str | TransformAdapter = "jax",
    seed: int = 0,
) -> GradReport:
    """Check ``framework``'s derivatives of ``fn(v, *args)`` up to ``order`` against float64 FD.

    ``fn`` is written over the vocabulary (``lambda v, x, y: v.multiply(v.sin(x), y)``); ``args``
    are NumPy arrays (their dtype is the precision the framework computes at and picks the
    tolerance). Returns a :class:`GradReport`; falsy when some derivative disagrees.
    """
    if order not in (1, 2):
        raise ValueError(f"check_grads: order must be 1 or 2, got {order}")
    unknown = set(modes) - {"fwd", "rev"}
    if unknown:
        raise ValueError(f"check_grads: modes must be 'fwd' and/or 'rev', got {sorted(unknown)}")
    adapter = ADAPTERS.get(framework) if isinstance(framework, str) else framework
    arrays = [np.asarray(a, dtype=np.float32) if isinstance(a, float) else np.asarray(a)
              for a in args]
    report = GradReport(framework=adapter.name)
    rng = np.random.default_rng(seed)
    for o in range(1, order + 1):
        if "rev" in modes:
            _rev(adapter, fn, arrays, o, rng, report)
        if "fwd" in modes:
            _fwd(adapter, fn, arrays, o, rng, report)
    return report


__all__ = ["TOLERANCES", "GradReport", "check_grads"]
