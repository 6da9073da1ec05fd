"""``parity run --grad``: backward passes of compiled backends against eager autograd."""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from conftest import HARNESS_BACKENDS, read_report
from paritykit.cli import main
from paritykit.gradients import NotDifferentiable, torch_gradients


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
