"""Autodiff conformance: the seed-002 checks pass on every framework, and wrong rules are caught."""

from __future__ import annotations

import argparse
import io
from typing import Any

import numpy as np
import pytest
from rich.console import Console

from paritykit.autodiff import ADAPTERS, TransformAdapter, check_grads
from paritykit.autodiff.adapters import Bwd, Fn
from paritykit.autodiff.checks import CHECKS, FAIL, PASS, UNSUPPORTED, run_checks
from paritykit.autodiff.vocab import NumpyVocab, Vocab
from paritykit.cli import autodiff as cli_autodiff

AVAILABLE = [n for n in ADAPTERS.names() if ADAPTERS.get(n).is_available() is None]
if not AVAILABLE:
    pytest.skip("no autodiff framework (torch, jax, mlx) is installed", allow_module_level=True)

#: True, specific gaps: (framework, check) -> a phrase the UNSUPPORTED reason must contain.
KNOWN_UNSUPPORTED = {
    ("torch", "checkpoint_gradient_matches"): "saved tensor hooks",
    ("torch", "eval_empty_is_noop"): "eager",
    ("torch", "eval_materializes_all_arrays"): "eager",
    ("mlx", "finite_diff_conv1d_fwd"): "Not implemented for Convolution",
    ("mlx", "finite_diff_conv2d_fwd"): "Not implemented for Convolution",
}
#: The lightest framework here, for the mutant tests (JAX compiles every op: slowest).
BASE = next((n for n in ("mlx", "torch", "jax") if n in AVAILABLE), AVAILABLE[0])


@pytest.mark.parametrize("framework", AVAILABLE)
def test_every_check_passes_or_is_a_known_gap(framework: str) -> None:
    results = run_checks([ADAPTERS.get(framework)])
    assert len(results) == len(CHECKS) >= 30
    for r in results:
        phrase = KNOWN_UNSUPPORTED.get((framework, r.check))
        if phrase is None:
            assert r.status == PASS, f"{r.check}: {r.status}: {r.message}"
        else:
            assert r.status == UNSUPPORTED and phrase in r.message, f"{r.check}: {r.message}"


class _WrongOrderAdapter:
    """Mixin: hands the custom_vjp rule (primals, outputs, cotangents), the regressed order."""

    def custom_vjp(self, fwd: Fn, bwd: Bwd) -> Fn:
        def swapped(primals: list[Any], cots: list[Any], outs: list[Any]) -> list[Any]:
            return bwd(primals, outs, cots)

        return super().custom_vjp(fwd, swapped)  # type: ignore[misc]


class _WrongSinVocab(Vocab):
    """sin with the right value but d/dx sin = sin (not cos): a wrong gradient rule."""

    def __init__(self, inner: Vocab) -> None:
        super().__init__(inner.xp)
        self.real = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def sin(self, x: Any) -> Any:
        v = self.real
        value = v.sin(x)
        # value + (x - sg(x)) * sin(x): same forward value, derivative sin(x) in both modes.
        return v.add(v.stop_gradient(value),
                     v.multiply(v.xp.subtract(x, v.stop_gradient(x)), v.stop_gradient(value)))


def _mutant(mixin: type | None = None, vocab: type[Vocab] | None = None) -> TransformAdapter:
    """A test-only adapter: the BASE framework with a wrong rule mixed in or a wrong vocabulary."""
    base = type(ADAPTERS.get(BASE))
    namespace: dict[str, Any] = {"name": f"mutant-{BASE}"}
    if vocab is not None:
        real = base().vocab
        namespace["vocab"] = property(lambda self: vocab(real))
    bases = (mixin, base) if mixin else (base,)
    cls: type[TransformAdapter] = type("Mutant", bases, namespace)
    return cls()


def test_custom_vjp_argument_order_regression_is_caught() -> None:
    results = {r.check: r for r in run_checks([_mutant(mixin=_WrongOrderAdapter)])}
    bad = results["custom_vjp_argument_order_regression"]
    assert bad.status == FAIL and "3092" in bad.message, bad.message
    # Rules that ignore the cotangent/output slots are unaffected by the swap.
    assert results["custom_vjp_overrides_autograd"].status == PASS


def test_wrong_gradient_rule_in_a_mutant_framework_is_caught() -> None:
    results = {r.check: r for r in run_checks([_mutant(vocab=_WrongSinVocab)])}
    bad = results["finite_diff_sin"]
    assert bad.status == FAIL, bad.message
    assert "argument 0 element (0,)" in bad.message and "rev order 1" in bad.message
    assert "fwd order 1" in bad.message
    assert results["finite_diff_exp"].status == PASS  # only sin's rule is wrong


class _WrongConv2dVocab(_WrongSinVocab):
    """The native conv2d with the right value but twice the weight gradient (x's is right)."""

    def conv2d(self, x: Any, w: Any) -> Any:
        v = self.real
        # conv(x, sg(w)) + 2·conv(sg(x), w - sg(w)): the second term is 0 in value, 2·dW in
        # reverse mode.
        wrong = v.conv2d(v.stop_gradient(x), v.xp.subtract(w, v.stop_gradient(w)))
        return v.add(v.conv2d(x, v.stop_gradient(w)), v.scale(wrong, 2.0))


def test_wrong_conv2d_weight_gradient_is_caught() -> None:
    results = {r.check: r for r in run_checks([_mutant(vocab=_WrongConv2dVocab)])}
    bad = results["finite_diff_conv2d_rev"]
    assert bad.status == FAIL, bad.message
    assert "rev order 1: argument 1 element" in bad.message and "argument 0" not in bad.message
    assert results["finite_diff_conv1d_rev"].status == PASS  # only conv2d's rule is wrong


@pytest.mark.parametrize("framework", AVAILABLE)
def test_native_conv2d_values_match_the_numpy_definition(framework: str) -> None:
    """Layouts (NCHW vs MLX's NHWC) are right: each framework's conv2d equals the oracle's."""
    adapter = ADAPTERS.get(framework)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 5, 6)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3, 2)).astype(np.float32)
    got = adapter.to_numpy(adapter.vocab.conv2d(adapter.asarray(x), adapter.asarray(w)))
    want = NumpyVocab().conv2d(x.astype(np.float64), w.astype(np.float64))
    assert got.shape == (3, 3, 5)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("framework", AVAILABLE)
def test_wrong_custom_vjp_rule_is_caught_by_check_grads(framework: str) -> None:
    adapter = ADAPTERS.get(framework)
    v = adapter.vocab
    # d/dx sin x written as sin x instead of cos x.
    wrong = adapter.custom_vjp(lambda x: v.sin(x),
                               lambda p, c, o: [v.multiply(c[0], v.sin(p[0]))])

    def fn(vocab: Vocab, x: Any) -> Any:
        return vocab.sin(x) if isinstance(vocab, NumpyVocab) else wrong(x)

    x = np.array([0.3, 1.0, -0.7], np.float32)
    report = check_grads(fn, [x], modes=("rev",), framework=framework)
    assert not report.ok
    assert "argument 0 element (1,)" in report.message, report.message


def _bump_second_arg(adapter: TransformAdapter) -> Any:
    """x·y whose framework derivative w.r.t. y[2] is off by 5 (zero in the NumPy oracle)."""
    mask = np.array([0.0, 0.0, 5.0], np.float32)
    framework_mask = adapter.asarray(mask)

    def fn(v: Vocab, x: Any, y: Any) -> Any:
        m = mask if isinstance(v, NumpyVocab) else framework_mask
        return v.add(v.multiply(x, y), v.multiply(v.xp.subtract(y, v.stop_gradient(y)), m))

    return fn


@pytest.mark.parametrize("framework", AVAILABLE)
def test_check_grads_names_the_bad_argument_and_element(framework: str) -> None:
    x = np.array([1.0, 2.0, 3.0], np.float32)
    y = np.array([0.5, -1.0, 2.0], np.float32)
    report = check_grads(_bump_second_arg(ADAPTERS.get(framework)), [x, y], framework=framework)
    assert not report.ok
    assert "rev order 1: argument 1 element (2,)" in report.message, report.message
    assert "argument 0" not in report.message
    assert "fwd order 1 (output element): argument 1 element (2,)" in report.message


@pytest.mark.parametrize("framework", AVAILABLE)
def test_check_grads_second_order_and_half_precision_pass(framework: str) -> None:
    def fn(v: Vocab, x: Any, y: Any) -> Any:
        return v.add(v.multiply(v.sin(x), y), v.power(x, 3.0))

    x = np.array([0.3, -1.2, 2.0], np.float32)
    y = np.array([1.5, 0.5, -0.7], np.float32)
    report = check_grads(fn, [x, y], order=2, framework=framework)
    assert report.ok, report.message
    assert report.checked == 24  # 2 orders × 2 modes × 2 args × 3 elements
    half = check_grads(fn, [x.astype(np.float16), y.astype(np.float16)], modes=("rev",),
                       framework=framework)
    assert half.ok, half.message


def test_check_grads_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="order must be 1 or 2"):
        check_grads(lambda v, x: v.sin(x), [np.ones(2, np.float32)], order=3, framework=BASE)
    with pytest.raises(ValueError, match="modes"):
        check_grads(lambda v, x: v.sin(x), [np.ones(2, np.float32)], modes=("sideways",),
                    framework=BASE)


def _cli(*argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="parity")
    cli_autodiff.add_parser(parser.add_subparsers(dest="command"))
    out = io.StringIO()
    code = cli_autodiff.run(parser.parse_args(["autodiff", *argv]),
                            Console(file=out, width=200, highlight=False))
    return code, out.getvalue()


def test_cli_prints_the_matrix_and_exit_codes() -> None:
    code, out = _cli("-f", BASE, "-k", "custom_vjp")
    assert code == 0, out
    assert "custom_vjp_argument_order_regression" in out and BASE in out
    assert "3 checks × 1 frameworks: 3 pass" in out
    code, out = _cli("-f", "nope")
    assert code == 2 and "unknown autodiff framework 'nope'" in out
