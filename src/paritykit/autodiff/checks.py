"""The transform checks of an array framework's test suite (grad, vjp, jvp, vmap, …), made
framework-neutral.

Each check takes a :class:`TransformAdapter` and either returns a short note (PASS), raises
:class:`CheckFailed` (FAIL, with what was expected and what came back), or lets
:class:`UnsupportedTransform` through (UNSUPPORTED, with the framework's reason). Any other
exception is ERROR. Checks that are about Rust closure lifetimes in the seed (construction, drop,
double free) become the Python equivalents that can go wrong: captured values in custom_vjp and
value_and_grad closures.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from paritykit.autodiff.adapters import EmptyArgnums, TransformAdapter, UnsupportedTransform
from paritykit.autodiff.gradcheck import check_grads
from paritykit.autodiff.vocab import Vocab

PASS, FAIL, UNSUPPORTED, ERROR = "PASS", "FAIL", "UNSUPPORTED", "ERROR"


class CheckFailed(AssertionError):
    """A check's expectation did not hold; the message says expected vs got."""


@dataclass(frozen=True)
class Check:
    """One named check and the transform group it exercises (used by ``-k``)."""

    name: str
    group: str
    fn: Callable[[TransformAdapter], str]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check on one framework."""

    check: str
    framework: str
    status: str
    message: str
    seconds: float

    @property
    def failed(self) -> bool:
        """FAIL or ERROR (UNSUPPORTED is a true status, not a failure)."""
        return self.status in (FAIL, ERROR)


CHECKS: list[Check] = []


def check(group: str) -> Callable[[Callable[[TransformAdapter], str]], Callable[..., str]]:
    """Register a check function under its own name."""

    def deco(fn: Callable[[TransformAdapter], str]) -> Callable[..., str]:
        CHECKS.append(Check(fn.__name__, group, fn))
        return fn

    return deco


def _num(a: TransformAdapter, x: Any) -> np.ndarray:
    return np.asarray(a.to_numpy(x), dtype=np.float64)


def _expect(a: TransformAdapter, what: str, got: Any, want: Any, tol: float = 1e-4) -> str:
    """Check ``got`` (framework array) against ``want`` (numbers); return ``what=got``."""
    g = _num(a, got)
    w = np.asarray(want, dtype=np.float64)
    if g.shape != np.broadcast_shapes(g.shape, w.shape) or not np.allclose(g, w, atol=tol, rtol=0):
        raise CheckFailed(f"{what}: expected {w.tolist()}, got {g.tolist()} (shape {g.shape})")
    return f"{what}={np.round(g, 4).tolist()}"


def _count(what: str, items: Sequence[Any], n: int) -> None:
    if len(items) != n:
        raise CheckFailed(f"{what}: expected {n} result(s), got {len(items)}")


def _s(a: TransformAdapter, value: float) -> Any:
    return a.asarray(np.asarray(value, dtype=np.float32))


def _v(a: TransformAdapter, values: Sequence[float], shape: tuple[int, ...] = ()) -> Any:
    arr = np.asarray(values, dtype=np.float32)
    return a.asarray(arr.reshape(shape) if shape else arr)


# --- value_and_grad / grad ------------------------------------------------------------------


@check("value_and_grad")
def value_and_grad_simple_quadratic(a: TransformAdapter) -> str:
    """d/dx x² at 3: value 9, grad 6."""
    v = a.vocab
    val, grads = a.value_and_grad(lambda x: v.square(x), (0,))(_s(a, 3.0))
    return _expect(a, "value", val, 9.0) + " " + _expect(a, "grad", grads[0], 6.0)


@check("value_and_grad")
def value_and_grad_multivariate(a: TransformAdapter) -> str:
    """x² + y³ at (2, 1): grads (4, 3)."""
    v = a.vocab
    _, grads = a.value_and_grad(lambda x, y: v.add(v.square(x), v.power(y, 3.0)), (0, 1))(
        _s(a, 2.0), _s(a, 1.0)
    )
    _count("grads", grads, 2)
    return _expect(a, "dx", grads[0], 4.0) + " " + _expect(a, "dy", grads[1], 3.0)


@check("value_and_grad")
def value_and_grad_argnums_selects_second_arg_only(a: TransformAdapter) -> str:
    """x² + y² with argnums=(1,) at (2, 5): one grad, 2y = 10 (4 would mean arg 0)."""
    v = a.vocab
    val, grads = a.value_and_grad(lambda x, y: v.add(v.square(x), v.square(y)), (1,))(
        _s(a, 2.0), _s(a, 5.0)
    )
    _count("grads", grads, 1)
    return _expect(a, "value", val, 29.0) + " " + _expect(a, "dy", grads[0], 10.0)


@check("value_and_grad")
def value_and_grad_rejects_empty_argnums(a: TransformAdapter) -> str:
    """Empty argnums is an error naming the site (value_and_grad / grad) and argnums."""
    v = a.vocab
    notes = []
    for site, make in (("value_and_grad", a.value_and_grad), ("grad", a.grad)):
        try:
            fn = make(lambda x: v.square(x), ())
            fn(_s(a, 3.0))
        except EmptyArgnums as exc:
            msg = str(exc)
            if site not in msg or "argnums" not in msg:
                raise CheckFailed(
                    f"{site}: error does not name {site!r} and 'argnums': {msg}"
                ) from exc
            notes.append(site)
            continue
        raise CheckFailed(f"{site} accepted argnums=() without an error")
    return "rejected by " + ", ".join(notes)


@check("value_and_grad")
def value_and_grad_closure_captures(a: TransformAdapter) -> str:
    """A closure capturing a multiplier outlives its scope: 2x² at 3 → 18, grad 12."""
    v = a.vocab

    def make() -> Callable[..., Any]:
        mult = 2.0
        return a.value_and_grad(lambda x: v.scale(v.square(x), mult), (0,))

    val, grads = make()(_s(a, 3.0))
    return _expect(a, "value", val, 18.0) + " " + _expect(a, "grad", grads[0], 12.0)


@check("grad")
def grad_composition_yields_second_derivative(a: TransformAdapter) -> str:
    """grad(grad(x³)) at 2 = 6x = 12."""
    v = a.vocab
    g = a.grad(lambda x: v.power(x, 3.0), (0,))
    gg = a.grad(lambda x: g(x)[0], (0,))
    return _expect(a, "d2", gg(_s(a, 2.0))[0], 12.0, 1e-3)


@check("grad")
def grad_user_error_propagates(a: TransformAdapter) -> str:
    """An exception raised inside the user's function surfaces with its own message."""

    def boom(x: Any) -> Any:
        raise ValueError("USER_ERROR_PAYLOAD")

    try:
        a.grad(boom, (0,))(_s(a, 3.0))
    except Exception as exc:
        if "USER_ERROR_PAYLOAD" not in str(exc):
            raise CheckFailed(f"user error lost its message: {type(exc).__name__}: {exc}") from exc
        return f"surfaced as {type(exc).__name__}"
    raise CheckFailed("grad of a raising function returned normally")


@check("grad")
def grad_of_sum_is_ones_vector(a: TransformAdapter) -> str:
    """d/dx Σx = ones, same element count as x."""
    v = a.vocab
    grads = a.grad(lambda x: v.sum(x), (0,))(_v(a, [1, 2, 3, 4]))
    return _expect(a, "grad", grads[0], [1.0, 1.0, 1.0, 1.0])


@check("value_and_grad")
def value_and_grad_of_dot(a: TransformAdapter) -> str:
    """x·c with c = [4,5,6] at [1,2,3]: value 32, grad c."""
    v = a.vocab
    c = _v(a, [4, 5, 6])
    val, grads = a.value_and_grad(lambda x: v.inner(x, c), (0,))(_v(a, [1, 2, 3]))
    return _expect(a, "value", val, 32.0) + " " + _expect(a, "grad", grads[0], [4.0, 5.0, 6.0])


@check("value_and_grad")
def grad_through_matmul_sum(a: TransformAdapter) -> str:
    """Σ(X W), X = ones(2,2), W = ones(2,3): value 12, ∂/∂X = 3·ones."""
    v = a.vocab
    w = _v(a, [1] * 6, (2, 3))
    val, grads = a.value_and_grad(lambda x: v.sum(v.matmul(x, w)), (0,))(_v(a, [1] * 4, (2, 2)))
    return _expect(a, "value", val, 12.0) + " " + _expect(a, "grad", grads[0], np.full((2, 2), 3))


# --- vjp / jvp ------------------------------------------------------------------------------


@check("vjp")
def vjp_matches_grad_for_scalar_output(a: TransformAdapter) -> str:
    """vjp of x² at 3 with cotangent 1 = grad = 6."""
    v = a.vocab
    outs, grads = a.vjp(lambda x: v.square(x), [_s(a, 3.0)], [_s(a, 1.0)])
    return _expect(a, "value", outs[0], 9.0) + " " + _expect(a, "vjp", grads[0], 6.0)


@check("vjp")
def vjp_scales_by_nonunit_cotangent(a: TransformAdapter) -> str:
    """vjp of x² at 3 with cotangent 2 = 2·6 = 12."""
    v = a.vocab
    outs, grads = a.vjp(lambda x: v.square(x), [_s(a, 3.0)], [_s(a, 2.0)])
    return _expect(a, "value", outs[0], 9.0) + " " + _expect(a, "vjp", grads[0], 12.0)


@check("vjp")
def vjp_of_vector_sum_broadcasts_cotangent(a: TransformAdapter) -> str:
    """vjp of Σx at [1,2,3] with cotangent 2 = [2,2,2] (the primal's shape)."""
    v = a.vocab
    outs, grads = a.vjp(lambda x: v.sum(x), [_v(a, [1, 2, 3])], [_s(a, 2.0)])
    return _expect(a, "value", outs[0], 6.0) + " " + _expect(a, "vjp", grads[0], [2.0, 2.0, 2.0])


@check("jvp")
def jvp_matches_directional_derivative(a: TransformAdapter) -> str:
    """jvp of x² at 3 along 1 = 6."""
    v = a.vocab
    outs, tans = a.jvp(lambda x: v.square(x), [_s(a, 3.0)], [_s(a, 1.0)])
    return _expect(a, "value", outs[0], 9.0) + " " + _expect(a, "jvp", tans[0], 6.0)


@check("jvp")
def jvp_of_vector_sum_contracts_tangent(a: TransformAdapter) -> str:
    """jvp of Σx at [1,2,3] along [2,3,4] = 9."""
    v = a.vocab
    outs, tans = a.jvp(lambda x: v.sum(x), [_v(a, [1, 2, 3])], [_v(a, [2, 3, 4])])
    return _expect(a, "value", outs[0], 6.0) + " " + _expect(a, "jvp", tans[0], 9.0)


@check("jvp")
def jvp_multi_primal_sums_directional_contributions(a: TransformAdapter) -> str:
    """jvp of x·y at (2,3) along (1,1) = y + x = 5."""
    v = a.vocab
    outs, tans = a.jvp(lambda x, y: v.multiply(x, y), [_s(a, 2.0), _s(a, 3.0)],
                       [_s(a, 1.0), _s(a, 1.0)])
    return _expect(a, "value", outs[0], 6.0) + " " + _expect(a, "jvp", tans[0], 5.0)


# --- custom_vjp -----------------------------------------------------------------------------


@check("custom_vjp")
def custom_vjp_overrides_autograd(a: TransformAdapter) -> str:
    """A custom rule returning 42 replaces autograd's 2x."""
    v = a.vocab
    f = a.custom_vjp(lambda x: v.square(x),
                     lambda primals, cot, outs: [v.add(v.scale(primals[0], 0.0),
                                                       v.const(42.0, primals[0]))])
    return _expect(a, "grad", a.grad(f, (0,))(_s(a, 3.0))[0], 42.0)


@check("custom_vjp")
def custom_vjp_closure_captures(a: TransformAdapter) -> str:
    """Rules built in a loop each return their own captured value (no shared/stale closure)."""
    v = a.vocab
    def rule_returning(c: float) -> Callable[[list[Any], list[Any], list[Any]], list[Any]]:
        return lambda primals, cot, outs: [v.add(v.scale(primals[0], 0.0), v.const(c, primals[0]))]

    for i in range(0, 32, 7):
        captured = float(i)
        f = a.custom_vjp(lambda x: v.square(x), rule_returning(captured))
        _expect(a, f"grad (captured {captured})", a.grad(f, (0,))(_s(a, 2.0))[0], captured)
    return "5 captured rules"


@check("custom_vjp")
def custom_vjp_argument_order_regression(a: TransformAdapter) -> str:
    """bwd(primals, cotangents, outputs) = 10·c + out + 1000·p at x=3, c=2: 3029, not 3092."""
    v = a.vocab

    def rule(primals: list[Any], cots: list[Any], outs: list[Any]) -> list[Any]:
        return [v.add(v.add(v.scale(cots[0], 10.0), outs[0]), v.scale(primals[0], 1000.0))]

    f = a.custom_vjp(lambda x: v.square(x), rule)
    _, grads = a.vjp(f, [_s(a, 3.0)], [_s(a, 2.0)])
    _count("grads", grads, 1)
    got = float(_num(a, grads[0]))
    if abs(got - 3092.0) < 1e-2:
        raise CheckFailed("got 3092: the rule received (primals, outputs, cotangents)")
    return _expect(a, "vjp", grads[0], 3029.0, 1e-2)


# --- checkpoint / eval ----------------------------------------------------------------------


@check("checkpoint")
def checkpoint_returns_same_value(a: TransformAdapter) -> str:
    """checkpoint(x²)(3) == x²(3)."""
    v = a.vocab
    direct = v.square(_s(a, 3.0))
    ck = a.checkpoint(lambda x: v.square(x))(_s(a, 3.0))
    return _expect(a, "value", ck, float(_num(a, direct)), 1e-6)


@check("checkpoint")
def checkpoint_gradient_matches(a: TransformAdapter) -> str:
    """grad(checkpoint(x²))(4) == grad(x²)(4) = 8."""
    v = a.vocab
    direct = a.grad(lambda x: v.square(x), (0,))(_s(a, 4.0))[0]
    ck = a.grad(a.checkpoint(lambda x: v.square(x)), (0,))(_s(a, 4.0))[0]
    return _expect(a, "grad", ck, float(_num(a, direct)), 1e-5)


@check("eval")
def eval_empty_is_noop(a: TransformAdapter) -> str:
    """eval() with no arrays does nothing and raises nothing."""
    a.eval()
    return "ok"


@check("eval")
def eval_materializes_all_arrays(a: TransformAdapter) -> str:
    """eval(a+b, b*c) on 2x2 constants gives 3s and 6s."""
    v = a.vocab
    x, y, z = (_v(a, [k] * 4, (2, 2)) for k in (1, 2, 3))
    d, e = v.add(x, y), v.multiply(y, z)
    a.eval(d, e)
    return _expect(a, "d", d, np.full((2, 2), 3)) + " " + _expect(a, "e", e, np.full((2, 2), 6))


# --- finite differences (float64 NumPy oracle via check_grads) ----------------------------


def _fd(a: TransformAdapter, fn: Callable[..., Any], args: list[np.ndarray], order: int = 1) -> str:
    report = check_grads(fn, args, order=order, framework=a)
    if not report.ok:
        raise CheckFailed(report.message)
    return f"{report.checked} values"


def _pts(values: Sequence[float] | float) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


@check("finite_diff")
def finite_diff_sin(a: TransformAdapter) -> str:
    """sin at the seed's points, fwd and rev."""
    return _fd(a, lambda v, x: v.sin(x), [_pts([-1.5, -0.3, 0.0, 0.7, 2.0])])


@check("finite_diff")
def finite_diff_exp(a: TransformAdapter) -> str:
    """exp at the seed's points."""
    return _fd(a, lambda v, x: v.exp(x), [_pts([-1.0, -0.2, 0.5, 1.2])])


@check("finite_diff")
def finite_diff_tanh(a: TransformAdapter) -> str:
    """tanh at the seed's points."""
    return _fd(a, lambda v, x: v.tanh(x), [_pts([-1.3, -0.4, 0.0, 0.6, 1.5])])


def _cubic_plus_linear(v: Vocab, x: Any) -> Any:
    return v.add(v.power(x, 3.0), v.scale(x, 2.0))


@check("finite_diff")
def finite_diff_cubic_plus_linear(a: TransformAdapter) -> str:
    """x³ + 2x at the seed's points, first and second order."""
    return _fd(a, _cubic_plus_linear, [_pts([-1.4, -0.5, 0.3, 1.1, 2.0])], order=2)


@check("finite_diff")
def finite_diff_partial_grads_multivariate(a: TransformAdapter) -> str:
    """x²y + y at (1.5, 2): ∂x = 2xy, ∂y = x² + 1."""
    return _fd(a, lambda v, x, y: v.add(v.multiply(v.square(x), y), y),
               [_pts(1.5), _pts(2.0)])


def _rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@check("finite_diff")
def finite_diff_softmax(a: TransformAdapter) -> str:
    """softmax over the last axis of a (2, 5) input."""
    return _fd(a, lambda v, x: v.softmax(x), [_rand(2, 5)])


@check("finite_diff")
def finite_diff_logsumexp(a: TransformAdapter) -> str:
    """logsumexp over the last axis of a (3, 4) input."""
    return _fd(a, lambda v, x: v.logsumexp(x), [_rand(3, 4, seed=1)])


@check("finite_diff")
def finite_diff_layer_norm(a: TransformAdapter) -> str:
    """layer norm (no affine) of a (2, 6) input."""
    return _fd(a, lambda v, x: v.layer_norm(x), [_rand(2, 6, seed=2)])


@check("finite_diff")
def finite_diff_attention(a: TransformAdapter) -> str:
    """softmax(q kᵀ/√d) v for (3, 4) q, k, v; gradients w.r.t. all three."""
    return _fd(a, lambda v, q, k, w: v.attention(q, k, w),
               [_rand(3, 4, seed=3), _rand(3, 4, seed=4), _rand(3, 4, seed=5)])


def _conv(a: TransformAdapter, mode: str, dims: int = 1) -> str:
    if dims == 1:
        fn: Callable[..., Any] = lambda v, x, w: v.conv1d(x, w)  # noqa: E731
        args = [_rand(2, 7, seed=6), _rand(3, 2, 3, seed=7)]
    else:
        # Non-square input and kernel: a swapped H/W axis in a layout change cannot hide.
        fn = lambda v, x, w: v.conv2d(x, w)  # noqa: E731
        args = [_rand(2, 5, 6, seed=8), _rand(3, 2, 3, 2, seed=9)]
    report = check_grads(fn, args, modes=(mode,), framework=a)
    if not report.ok:
        raise CheckFailed(report.message)
    return f"{report.checked} values"


@check("finite_diff")
def finite_diff_conv1d_rev(a: TransformAdapter) -> str:
    """The framework's native 1-D convolution, (2, 7) input, (3, 2, 3) weight: reverse mode."""
    return _conv(a, "rev")


@check("finite_diff")
def finite_diff_conv1d_fwd(a: TransformAdapter) -> str:
    """The same convolution in forward mode (separate: MLX has no jvp rule for it)."""
    return _conv(a, "fwd")


@check("finite_diff")
def finite_diff_conv2d_rev(a: TransformAdapter) -> str:
    """The framework's native 2-D convolution, (2, 5, 6) input, (3, 2, 3, 2) weight: reverse."""
    return _conv(a, "rev", dims=2)


@check("finite_diff")
def finite_diff_conv2d_fwd(a: TransformAdapter) -> str:
    """The same 2-D convolution in forward mode."""
    return _conv(a, "fwd", dims=2)


def run_check(chk: Check, adapter: TransformAdapter) -> CheckResult:
    """Run one check on one adapter and classify the outcome."""
    start = time.perf_counter()
    try:
        status, message = PASS, chk.fn(adapter)
    except UnsupportedTransform as exc:
        status, message = UNSUPPORTED, str(exc)
    except CheckFailed as exc:
        status, message = FAIL, str(exc)
    except Exception as exc:
        status, message = ERROR, f"{type(exc).__name__}: {exc}"
    return CheckResult(chk.name, adapter.name, status, message, time.perf_counter() - start)


def select_checks(keyword: str | None = None) -> list[Check]:
    """Checks whose name or group matches a pytest-style ``-k`` expression."""
    if not keyword:
        return list(CHECKS)
    from paritykit.core.keyword import compile_keyword

    match = compile_keyword(keyword)
    return [c for c in CHECKS if match([c.name, c.group])]


def run_checks(
    adapters: Iterable[TransformAdapter], checks: Iterable[Check] | None = None
) -> list[CheckResult]:
    """Every check on every adapter, check-major."""
    chosen = list(CHECKS if checks is None else checks)
    adapters = list(adapters)
    return [run_check(c, ad) for c in chosen for ad in adapters]
