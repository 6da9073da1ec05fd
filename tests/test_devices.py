"""Device detection, the ``device`` field of results, and torch backends on CUDA where present."""

from __future__ import annotations

import pathlib

import pytest
import torch

import paritykit as pk
from conftest import run_task
from paritykit.core.devices import DEVICE_KINDS
from paritykit.core.registry import BACKENDS
from paritykit.core.result import Status

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="no CUDA device visible to torch on this machine")


def _run(tmp_path: pathlib.Path, case: str, backend: str, **options: str) -> pk.Result:
    return run_task(tmp_path, case, backend, cache=False, **options)


def test_detect_devices_always_has_the_cpu_and_only_known_kinds() -> None:
    found = pk.detect_devices()
    assert "cpu" in found and set(found) <= set(DEVICE_KINDS)
    assert ("cuda" in found) == torch.cuda.is_available()


def test_backend_devices_are_its_capabilities_that_are_present() -> None:
    for name in BACKENDS.available():
        devices = BACKENDS.info(name).devices
        assert "cpu" in devices, name
        assert set(devices) <= set(BACKENDS.get(name).capabilities.devices), name


def test_cpu_results_say_cpu(tmp_path: pathlib.Path) -> None:
    result = _run(tmp_path, "relu", "torch", device="cpu")
    assert result.status is Status.PASS and result.device == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_asking_for_an_absent_device_is_a_lower_error_naming_the_choices(
        tmp_path: pathlib.Path) -> None:
    result = _run(tmp_path, "relu", "torch", device="cuda")
    assert result.status is Status.LOWER_ERROR
    assert "torch.device='cuda' is not usable here" in result.message
    assert "can use: cpu" in result.message


@needs_cuda
@pytest.mark.parametrize("backend", ["torch", "inductor"])
def test_torch_backends_run_on_cuda_by_default(tmp_path: pathlib.Path, backend: str) -> None:
    result = _run(tmp_path, "linear", backend)
    assert result.device == "cuda"
    assert result.status is Status.PASS, result.message
