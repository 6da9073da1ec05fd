"""MLX: our ATen → mlx.core lowering passes real cases, keeps sizes symbolic, names its gaps."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
import torch

from conftest import run_task
from paritykit.artifacts import load_arrays
from paritykit.backend import CaseInfo
from paritykit.program import Program
from paritykit.registry import BACKENDS
from paritykit.result import Result, Status

if not BACKENDS.info("mlx").available:
    pytest.skip(f"mlx is not available: {BACKENDS.info('mlx').reason}", allow_module_level=True)


def _run(tmp_path: pathlib.Path, case: str, **options: str) -> Result:
    return run_task(tmp_path, case, "mlx", **options)


def test_linear_passes_with_the_listing_and_op_stats(tmp_path: pathlib.Path) -> None:
    result = _run(tmp_path, "linear")
    assert result.status is Status.PASS, result.message
    listing = tmp_path / "linear" / "mlx" / "graph.txt"
    assert listing.exists() and "aten.addmm.default" in listing.read_text()
    assert result.stats["ops"] == {"aten.addmm.default": 1, "aten.permute.default": 1}
    assert result.stats["lowered_ops"] == 2 and result.stats["nodes"] == 6
    assert result.stats["compiled"] is False
    assert result.device in BACKENDS.get("mlx").devices()
    # Lowering is fast and there is nothing to reload: never cached, even with a cache dir.
    assert result.cache == "off"


def test_dynamic_sizes_run_every_input_set_on_one_lowering(tmp_path: pathlib.Path) -> None:
    result = _run(tmp_path, "masked_attention_dynamic")  # sym_size nodes feed view/expand
    assert result.status is Status.PASS, result.message
    assert result.stats["ops"]["aten.sym_size.int"] >= 1
    actual = load_arrays(tmp_path / "masked_attention_dynamic" / "mlx" / "actual.safetensors")
    assert len({a.shape for a in actual.values()}) > 1


@pytest.mark.parametrize("case", ["add_bf16", "softmax_fp16", "add_int64"])
def test_half_and_int64_values_cross_exactly(tmp_path: pathlib.Path, case: str) -> None:
    result = _run(tmp_path, case)
    assert result.status is Status.PASS, result.message
    if case != "softmax_fp16":
        assert result.max_abs_error == 0  # bf16 bits and 2**40-sized int64 survive


def test_max_pool_indices_and_conv_transpose_match_torch(tmp_path: pathlib.Path) -> None:
    for case in ("max_pool2d_ceil", "conv_transpose2d_groups"):
        result = _run(tmp_path, case)
        assert result.status is Status.PASS, f"{case}: {result.message}"


def test_mx_compile_option_is_recorded_and_passes(tmp_path: pathlib.Path) -> None:
    result = _run(tmp_path, "gelu_tanh", compile="1")
    assert result.status is Status.PASS, result.message
    assert result.stats["compiled"] is True


class _GridSample(torch.nn.Module):
    def forward(self, x: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.grid_sample(x, grid, align_corners=False)


def test_an_op_without_lowering_fails_prepare_naming_it(tmp_path: pathlib.Path) -> None:
    from paritykit.backends._mlx import LoweringError

    program = Program("grid_sample", _GridSample(), (torch.randn(1, 2, 4, 4),
                                                     torch.rand(1, 3, 3, 2) * 2 - 1))
    missing = r"^no MLX lowering for aten\.grid_sampler_2d\.default$"
    with pytest.raises(LoweringError, match=missing):
        BACKENDS.get("mlx").prepare(program, tmp_path)


def test_an_unknown_option_is_a_lower_error_naming_the_known_ones(tmp_path: pathlib.Path) -> None:
    result = _run(tmp_path, "relu", fuse="1")
    assert result.status is Status.LOWER_ERROR
    assert "unknown mlx option fuse; known: compile, device" in result.message


def test_float64_and_complex_are_unsupported_with_the_reason() -> None:
    backend = BACKENDS.get("mlx")
    reason = backend.unsupported_reason(CaseInfo("x", ("float64",), (2,), False))
    assert reason is not None and "dtype float64" in reason and "CPU only" in reason
    assert "complex64" in (backend.unsupported_reason(CaseInfo("x", ("complex64",), (2,), False))
                           or "")
    assert backend.unsupported_reason(CaseInfo("x", ("bfloat16", "int64"), (2,), True)) is None


class _SumAndProduct(torch.nn.Module):
    def forward(self, x: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return (x @ w).sum(), x @ w


def test_zero_d_outputs_stay_zero_d_and_run_errors_lead_with_the_op(tmp_path: pathlib.Path) -> None:
    x, w = np.ones((2, 3), np.float32), np.full((3, 4), 2, np.float32)
    program = Program("mm", _SumAndProduct(), (torch.from_numpy(x), torch.from_numpy(w)))
    prepared = BACKENDS.get("mlx").prepare(program, tmp_path)
    total, product = prepared.run([x, w])
    assert total.shape == () and total == 48 and np.array_equal(product, x @ w)
    with pytest.raises(ValueError, match=r"^aten\.mm\.default \(mm\): \[matmul\]"):
        prepared.run([np.ones((2, 5), np.float32), w])
