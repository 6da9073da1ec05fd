"""``parity run --grad``: backward passes of compiled backends against eager autograd."""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from conftest import HARNESS_BACKENDS, read_report
from paritykit.cli.main import main
from paritykit.core.grad_oracle import ORACLE_FACTOR, compare_gradients, judge, oracle_gradients
from paritykit.core.gradients import NotDifferentiable, torch_gradients
from paritykit.core.tolerance import default_tolerance


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "1000")


def test_reference_gradients_match_a_hand_derivation() -> None:
    """For y = x @ W.T + b and loss = sum(y * c): dW = c.T @ x, db = sum(c), dx = c @ W."""
    torch.manual_seed(0)
    module = torch.nn.Linear(4, 3)
    x = torch.randn(2, 4)
    grads = dict(torch_gradients(module, module, (x,), run_seed=0, case_id="lin"))
    assert list(grads) == ["input 0", "weight", "bias"]
    # Recover the cotangent the function drew from d/db = sum over the batch, then check dW, dx.
    dx, dw, db = (torch.from_numpy(grads[k]) for k in ("input 0", "weight", "bias"))
    c = torch.linalg.lstsq(module.weight.detach().T, dx.T).solution.T  # dx = c @ W
    torch.testing.assert_close(c.sum(0), db, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(c.T @ x, dw, rtol=1e-4, atol=1e-5)


def test_integer_only_cases_are_not_differentiable() -> None:
    module = torch.nn.Identity()
    with pytest.raises(NotDifferentiable, match="no floating-point input or parameter"):
        torch_gradients(module, module, (torch.arange(4),), 0, "ints")


def _run(tmp_path: pathlib.Path, *argv: str) -> tuple[int, dict[tuple[str, str], Any]]:
    report = tmp_path / "r.json"
    code = main(["run", *argv, "--grad", "--no-cache", "--artifact-dir", str(tmp_path / "o"),
                 "--json", str(report)])
    return code, {(r["case"], r["backend"]): r for r in read_report(report)["results"]}


@pytest.mark.slow
def test_compiled_backward_passes_and_lists_what_it_checked(tmp_path: pathlib.Path) -> None:
    code, results = _run(tmp_path, "linear", "argmax", "floor_divide", "-b",
                         "aot-eager,inductor,onnxruntime")
    assert code == 0  # linear_bf16 on onnxruntime is a known gap (XFAIL)
    for backend in ("aot-eager", "inductor"):
        linear = results[("linear", backend)]
        assert linear["status"] == "PASS"
        assert linear["stats"]["grad"] == "3 gradients: input 0, op.weight, op.bias"
        assert linear["stats"]["grad_max_abs_error"] < 1e-5
        assert "not checked: no floating-point" in results[("argmax", backend)]["stats"]["grad"]
        floor = results[("floor_divide", backend)]
        assert floor["status"] == "PASS"  # torch has no derivative: nothing to compare
        assert "eager autograd fails" in floor["stats"]["grad"]
    assert "has no training path" in results[("linear", "onnxruntime")]["stats"]["grad"]
    assert "--grad" in results[("linear", "inductor")]["repro"]


def test_a_wrong_backward_rule_is_a_mismatch_naming_the_parameter(
        tmp_path: pathlib.Path, registries: Callable[[], Any]) -> None:
    with registries():
        code, results = _run(tmp_path, "linear", "-b", "fake-bad-grad",
                             "-p", str(HARNESS_BACKENDS))
    bad = results[("linear", "fake-bad-grad")]
    assert code == 1 and bad["status"] == "MISMATCH"
    assert bad["message"].startswith("linear @ fake-bad-grad: gradient w.r.t. op.weight: ")
    assert np.isfinite(bad["stats"]["grad_max_abs_error"])
    # The oracle is consulted and still rejects it: both errors and the factor are named.
    assert "against float64 gradients: backend error " in bad["message"]
    assert "> 2 × eager error " in bad["message"]
    oracle = bad["stats"]["grad_oracle"]["op.weight"]
    assert oracle["backend"] > 1e3 * oracle["eager"]


def test_the_oracle_accepts_rounding_of_eager_size_and_rejects_a_wrong_rule() -> None:
    truth = np.linspace(-1.0, 1.0, 64)
    eager = (truth + 4e-3).astype(np.float16)  # eager's own rounding: 4e-3 off float64
    assert judge("w", (truth - 7e-3).astype(np.float16), eager, truth).ok  # 7e-3 <= 2 × 4e-3
    beyond = judge("w", (truth + 9e-3).astype(np.float16), eager, truth)
    assert not beyond.ok and beyond.backend_error > beyond.allowed
    assert not judge("w", (truth * 1.5).astype(np.float16), eager, truth).ok
    with_nan = (truth - 1e-3).astype(np.float16)
    with_nan[3] = np.nan
    assert not judge("w", with_nan, eager, truth).ok
    # An exact reference would allow nothing; the floor (the tolerance's atol) allows a hair.
    assert not judge("w", truth + 1e-6, truth, truth).ok
    assert judge("w", truth + 1e-6, truth, truth, floor=1e-5).ok


def _never() -> list[tuple[str, np.ndarray]]:
    raise AssertionError("the oracle must not run when the plain comparison passes")


def test_compare_gradients_consults_the_oracle_only_for_tensors_that_miss() -> None:
    truth = {"input 0": np.linspace(-2.0, 2.0, 32), "w": np.linspace(0.5, 1.5, 8)}
    expected = [("input 0", (truth["input 0"] + 2e-3).astype(np.float16)),
                ("w", truth["w"].astype(np.float16))]
    same = compare_gradients(expected, expected, default_tolerance, _never)
    assert same.ok and same.note() == "2 gradients: input 0, w" and same.message("c", "b") == ""

    got = [("input 0", (truth["input 0"] - 3e-3).astype(np.float16)), expected[1]]
    rounding = compare_gradients(got, expected, default_tolerance, lambda: list(truth.items()))
    assert rounding.ok and not rounding.comparison.ok  # missed the tolerance, then accepted
    assert "; oracle-judged: input 0 (backend " in rounding.note()
    assert "against float64)" in rounding.note() and "w (" not in rounding.note()

    wrong = [expected[0], ("w", (truth["w"] * 1.5).astype(np.float16))]
    verdict = compare_gradients(wrong, expected, default_tolerance, lambda: list(truth.items()))
    assert not verdict.ok
    text = verdict.message("c", "b")
    assert text.startswith("c @ b: gradient w.r.t. w: values differ at output 1 — ")
    # float16 rounding of 1.5 puts eager 4.2e-4 off float64; the wrong rule is 0.75 off.
    assert text.endswith("(float16 default); against float64 gradients: backend error 0.75 > "
                         "2 × eager error 4.2e-4 + atol 1e-5")

    def broken() -> list[tuple[str, np.ndarray]]:
        raise RuntimeError('"addmm" not implemented for \'Double\'')

    fallback = compare_gradients(got, expected, default_tolerance, broken)
    assert not fallback.ok
    assert fallback.message("c", "b").endswith(
        "; float64 oracle unavailable (RuntimeError: \"addmm\" not implemented for 'Double')")


def test_the_oracle_differentiates_the_same_loss_in_float64() -> None:
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(16, 8), torch.nn.Tanh()).half()
    x = torch.randn(4, 16).half()
    eager = torch_gradients(module, module, (x,), run_seed=3, case_id="mlp")
    oracle = oracle_gradients(module, (x,), run_seed=3, case_id="mlp")
    assert [n for n, _ in oracle] == [n for n, _ in eager] == ["input 0", "0.weight", "0.bias"]
    assert all(g.dtype == np.float64 for _, g in oracle)
    assert module[0].weight.dtype == torch.float16  # the reference's module is left alone
    for (name, e), (_, o) in zip(eager, oracle, strict=True):
        # Same cotangents and weights: eager is float64's answer rounded at float16's precision.
        np.testing.assert_allclose(e.astype(np.float64), o, rtol=2e-2, atol=2e-3, err_msg=name)
        assert np.abs(e.astype(np.float64) - o).max() > 0  # and it really is float64


@pytest.mark.slow
def test_half_precision_rounding_passes_with_an_oracle_note(tmp_path: pathlib.Path) -> None:
    code, results = _run(tmp_path, "softmax_fp16", "-b", "mlx")
    softmax = results[("softmax_fp16", "mlx")]
    assert code == 0 and softmax["status"] == "PASS"  # it missed float16's rtol against eager
    assert softmax["stats"]["grad"].startswith("1 gradients: input 0; oracle-judged: input 0 (")
    oracle = softmax["stats"]["grad_oracle"]["input 0"]
    assert oracle["backend"] <= ORACLE_FACTOR * oracle["eager"]


def test_a_nan_gradient_is_rejected_and_reported_as_plain_json() -> None:
    truth = [("input 0", np.linspace(-1.0, 1.0, 16))]
    expected = [("input 0", truth[0][1].astype(np.float32))]
    got = [("input 0", expected[0][1].copy())]
    got[0][1][5] = np.nan
    verdict = compare_gradients(got, expected, default_tolerance, lambda: truth)
    assert not verdict.ok
    assert verdict.oracle_stats()["input 0"]["backend"] is None
    assert "backend error inf > 2 × eager error" in verdict.message("c", "b")


class _FixedFloat32(torch.nn.Module):
    """A dtype fixed inside forward: fine in float32, impossible in float64."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ torch.eye(4, dtype=torch.float32)


def test_a_module_that_cannot_run_in_float64_keeps_the_plain_verdict() -> None:
    module, x = _FixedFloat32(), torch.randn(2, 4)
    expected = torch_gradients(module, module, (x,), run_seed=0, case_id="fixed")
    got = [(name, g + np.float32(1e-3)) for name, g in expected]
    verdict = compare_gradients(got, expected, default_tolerance,
                                lambda: oracle_gradients(module, (x,), 0, "fixed"))
    assert not verdict.ok and not verdict.judgements
    assert "; float64 oracle unavailable (RuntimeError: " in verdict.message("fixed", "b")
    assert "float64 oracle unavailable: RuntimeError: " in verdict.note()
