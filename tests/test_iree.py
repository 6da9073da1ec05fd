"""IREE: iree-turbine import, iree-compile for llvm-cpu, the runtime on the local-task driver."""

from __future__ import annotations

import pathlib
import zipfile

import numpy as np
import pytest
import torch

import paritykit.suite  # noqa: F401 - registers the built-in cases
from conftest import run_task
from paritykit.backends._iree import compile_error, read_statistics
from paritykit.core.backend import CaseInfo
from paritykit.core.program import Program
from paritykit.core.registry import BACKENDS
from paritykit.core.result import Result, Status

if not BACKENDS.info("iree").available:
    pytest.skip(f"iree is not available: {BACKENDS.info('iree').reason}", allow_module_level=True)


def _run(tmp_path: pathlib.Path, case: str, **options: str) -> Result:
    return run_task(tmp_path, case, "iree", **options)


def test_pass_writes_the_vmfb_and_compiler_statistics(tmp_path: pathlib.Path) -> None:
    result = _run(tmp_path, "linear")
    assert result.status is Status.PASS, result.message
    vmfb = tmp_path / "linear" / "iree" / "model.vmfb"
    # A zip holding module.fb, the VM flatbuffer whose file identifier is "IREE".
    assert zipfile.ZipFile(vmfb).namelist()[0] == "module.fb"
    assert b"IREE" in vmfb.read_bytes()[:256]
    assert result.stats["vmfb_bytes"] == vmfb.stat().st_size
    assert result.stats["dispatches"] >= 1 and result.stats["executables"] >= 1


def test_dynamic_batch_runs_every_input_set_on_one_vmfb(tmp_path: pathlib.Path) -> None:
    result = _run(tmp_path, "conv_bn_relu_dynamic")
    assert result.status is Status.PASS, result.message


def test_bf16_weights_cross_and_compile(tmp_path: pathlib.Path) -> None:
    # A bf16 Linear hits both iree-turbine#1127 (export) and the inlined-constant codegen error.
    result = _run(tmp_path, "linear_bf16")
    assert result.status is Status.PASS, result.message


def test_int64_keeps_its_width(tmp_path: pathlib.Path) -> None:
    result = _run(tmp_path, "add_int64")
    assert result.status is Status.PASS, result.message


def test_unsigned_bits_and_zero_d_outputs_come_back_typed(tmp_path: pathlib.Path) -> None:
    class Outputs(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return x.to(torch.uint8) + 100, x.sum() > 0

    program = Program("outputs", Outputs().eval(), (torch.tensor([120.0, 3.0]),))
    prepared = BACKENDS.get("iree").prepare(program, tmp_path)
    small, positive = prepared.run([np.array([150.0, 3.0], dtype=np.float32)])
    assert small.dtype == np.uint8 and small.tolist() == [250, 103]  # IREE returns signless i8
    assert positive.shape == () and positive.dtype == np.bool_ and bool(positive)


def test_unsupported_op_leads_with_the_compiler_diagnostic(tmp_path: pathlib.Path) -> None:
    result = _run(tmp_path, "matmul_matvec")  # 3-D @ 1-D: torch-mlir has no lowering
    assert result.status is Status.LOWER_ERROR
    assert "IreeCompileError: iree-compile: failed to legalize operation 'torch.aten.matmul'" \
        in result.message
    assert "Error invoking" not in result.message and "loc(" not in result.message


def test_flags_reach_the_compiler(tmp_path: pathlib.Path) -> None:
    result = _run(tmp_path, "relu", flags="--iree-opt-level=O3 --iree-no-such-flag")
    assert result.status is Status.LOWER_ERROR
    assert "Unknown command line argument '--iree-no-such-flag'" in result.message


def test_unknown_option_names_the_known_ones(tmp_path: pathlib.Path) -> None:
    result = _run(tmp_path, "relu", flag="--iree-opt-level=O3")
    assert result.status is Status.LOWER_ERROR
    assert "unknown iree backend option(s) flag; known: flags, driver" in result.message


def test_complex_inputs_are_unsupported_with_the_reason() -> None:
    case = CaseInfo("c", ("complex64",), (1,), dynamic=False)
    reason = BACKENDS.get("iree").unsupported_reason(case)
    assert reason is not None and "complex64" in reason and "torch-mlir" in reason


def test_cache_hit_reopens_the_vmfb_with_its_stats(tmp_path: pathlib.Path) -> None:
    first = _run(tmp_path, "relu", driver="local-sync")
    second = _run(tmp_path, "relu", driver="local-sync")
    assert (first.cache, second.cache) == ("miss", "hit")
    assert second.status is Status.PASS, second.message
    assert second.stats == first.stats


def test_compile_error_without_location_keeps_the_first_error() -> None:
    text = ("Error invoking IREE compiler tool iree-compile\nError code: 1\nDiagnostics:\n"
            "<unknown>:0: error: LLVM Translation failed for operation: x.y\n"
            "m.mlir:1:1: error: failed to serialize executables\n\nInvoked with:\n iree-compile")
    error = compile_error(text)
    assert str(error).splitlines()[0] == (
        "iree-compile: LLVM Translation failed for operation: x.y")
    assert "Invoked with" not in str(error)


def test_statistics_sum_every_module(tmp_path: pathlib.Path) -> None:
    block = ('{"stream-aggregate": {"execution": {"dispatch-count": %d}, '
             '"executable": {"executable-count": 1}}}')
    path = tmp_path / "statistics.json"
    path.write_text(block % 3 + "\n" + block % 4)
    assert read_statistics(path) == {"dispatches": 7, "executables": 2}


def test_leftover_constant_names_the_op_that_uses_it(tmp_path: pathlib.Path) -> None:
    mlir = tmp_path / "model.mlir"
    mlir.write_text("module {\n  func.func @main() {\n    %int-1 = torch.constant.int -1\n"
                    "    %0 = torch.prim.ListConstruct %int-1 : (!torch.int) -> !torch.list<int>\n"
                    "    %1 = torch.aten.logsumexp %arg0, %0, %false : x\n")
    text = ("Diagnostics:\nm.mlir:3:14: error: failed to legalize operation 'torch.constant.int': "
            '%0 = "torch.constant.int"() <{value = -1 : i64}> : () -> !torch.int loc("m":3:14)\n')
    assert str(compile_error(text, mlir)).splitlines()[0] == (
        "iree-compile: failed to legalize operation 'torch.constant.int': () -> !torch.int "
        "(used by torch.aten.logsumexp)")
