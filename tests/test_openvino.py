"""OpenVINO: parity mode pins f32; openvino-default reports the precision the plugin chose."""

from __future__ import annotations

import pathlib

import pytest

from conftest import run_task
from paritykit.core.registry import BACKENDS
from paritykit.core.result import Status

if not BACKENDS.info("openvino").available:
    pytest.skip(f"openvino is not available: {BACKENDS.info('openvino').reason}",
                allow_module_level=True)


def test_parity_mode_pins_f32_and_passes(tmp_path: pathlib.Path) -> None:
    result = run_task(tmp_path, "matmul", "openvino")
    assert result.status is Status.PASS, result.message
    assert result.stats["precision"] == "f32"
    assert (tmp_path / "matmul" / "openvino" / "model.xml").exists()


def test_default_precision_is_recorded_and_never_closer_than_f32(tmp_path: pathlib.Path) -> None:
    pinned = run_task(tmp_path, "matmul", "openvino")
    default = run_task(tmp_path, "matmul", "openvino-default")
    assert default.stats["precision"] in {"f32", "bf16", "f16"}
    assert default.max_abs_error is not None and pinned.max_abs_error is not None
    if default.stats["precision"] == "f32":
        assert default.status is Status.PASS
    else:  # reduced precision (bf16 on CPUs with AMX) is visibly less exact than parity mode
        assert default.max_abs_error > 10 * max(pinned.max_abs_error, 1e-7)


def test_bf16_crosses_the_boundary_bit_exact(tmp_path: pathlib.Path) -> None:
    result = run_task(tmp_path, "add_bf16", "openvino")
    assert result.status is Status.PASS, result.message


def test_cache_hit_reopens_the_ir(tmp_path: pathlib.Path) -> None:
    first = run_task(tmp_path, "linear", "openvino")
    second = run_task(tmp_path, "linear", "openvino")
    assert (first.cache, second.cache) == ("miss", "hit")
    assert second.status is Status.PASS and second.stats["precision"] == "f32"
