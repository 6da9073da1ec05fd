"""ExecuTorch: XNNPACK delegates what it supports, portable delegates nothing, both run a .pte."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
import torch

from conftest import run_task
from paritykit.core.errors import LowerError
from paritykit.core.program import Program
from paritykit.core.registry import BACKENDS
from paritykit.core.result import Status

if not BACKENDS.info("executorch-xnnpack").available:
    pytest.skip(f"executorch is not available: {BACKENDS.info('executorch-xnnpack').reason}",
                allow_module_level=True)


class _SumAndDouble(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x.sum(), x * 2


def test_xnnpack_delegates_linear_writes_the_pte_and_hits_the_cache(tmp_path: pathlib.Path) -> None:
    first = run_task(tmp_path, "linear", "executorch-xnnpack")
    assert first.status is Status.PASS, first.message
    pte = tmp_path / "linear" / "executorch-xnnpack" / "model.pte"
    assert pte.exists() and first.stats["pte_bytes"] == pte.stat().st_size
    assert first.stats["delegated_subgraphs"] == 1 and first.stats["delegated_nodes"] >= 1
    assert first.stats["non_delegated_ops"] == []
    second = run_task(tmp_path, "linear", "executorch-xnnpack")
    assert (first.cache, second.cache) == ("miss", "hit")
    assert second.status is Status.PASS and second.stats == first.stats


def test_bounded_dynamic_batch_runs_every_size(tmp_path: pathlib.Path) -> None:
    result = run_task(tmp_path, "gelu_dynamic", "executorch-xnnpack")  # batch 8, 1, 7 and 64
    assert result.status is Status.PASS, result.message


def test_portable_runs_bf16_on_its_kernels_bit_exact(tmp_path: pathlib.Path) -> None:
    result = run_task(tmp_path, "add_bf16", "executorch-portable")
    assert result.status is Status.PASS, result.message
    assert result.max_abs_error == 0
    assert result.stats["delegated_nodes"] == 0
    assert result.stats["non_delegated_ops"] == ["aten.add.Tensor"]


def test_missing_kernel_is_a_lower_error_naming_the_operator(tmp_path: pathlib.Path) -> None:
    result = run_task(tmp_path, "scatter_reduce", "executorch-portable")
    assert result.status is Status.LOWER_ERROR
    assert "no ExecuTorch kernel for aten::scatter_reduce.two_out" in result.message


def test_a_dim_narrowed_while_lowering_is_a_lower_error(tmp_path: pathlib.Path) -> None:
    # XNNPACK's passes re-run conv's fake kernel, which guards batch < 16 on a Dim(max=16).
    result = run_task(tmp_path, "conv2d_dynamic", "executorch-xnnpack")
    assert result.status is Status.LOWER_ERROR
    assert "narrowed dynamic dim x axis 0 to <= 15 (Dim max 16)" in result.message


def test_unbounded_dim_is_refused_before_lowering(tmp_path: pathlib.Path) -> None:
    program = Program("gelu", torch.nn.GELU(), (torch.randn(4, 8),),
                      {"input": {0: torch.export.Dim("batch")}})
    with pytest.raises(LowerError, match=r"unbounded dynamic dim \(input axis 0\)"):
        BACKENDS.get("executorch-portable").prepare(program, tmp_path)


def test_zero_d_outputs_stay_zero_d_and_run_errors_lead_with_the_runtime_reason(
        tmp_path: pathlib.Path) -> None:
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    program = Program("sum", _SumAndDouble(), (torch.from_numpy(x),))
    prepared = BACKENDS.get("executorch-portable").prepare(program, tmp_path)
    total, double = prepared.run([x])
    assert total.shape == () and total == 15 and np.array_equal(double, x * 2)
    with pytest.raises(RuntimeError, match=r"^Attempted to resize a static tensor"):
        prepared.run([np.zeros((4, 3), np.float32)])
