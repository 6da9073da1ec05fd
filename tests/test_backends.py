"""Each real built-in backend passes a handful of small built-in cases, run in this process.

The cases cover a unary op, broadcasting, a module with weights, a reduction and a dynamic
batch dimension (the ``_dynamic`` configs also run extra input sets of other batch sizes on
the same lowered program). A backend whose package is missing is skipped with the reason.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterator

import pytest

import paritykit.suite  # noqa: F401 - registers the built-in cases
from paritykit.core.cases import CASES as CASE_REGISTRY
from paritykit.core.registry import BACKENDS
from paritykit.core.result import Status
from paritykit.files.artifacts import load_arrays
from paritykit.run.worker import RunConfig, Task, Worker

CASES = ("abs", "add_broadcast", "linear_nobias", "sum_dim0", "add_dynamic")
BASES = {r.id: r.base for r in CASE_REGISTRY.expand() if r.id in CASES}


def _backend_param(name: str) -> object:
    marks = [pytest.mark.slow] if name == "inductor" else []
    return pytest.param(name, marks=marks, id=name)


BACKEND_PARAMS = [_backend_param(b) for b in
                  ("torch", "torch-export", "aot-eager", "onnxruntime", "openvino", "inductor")]


@pytest.fixture(scope="module", autouse=True)
def _private_inductor_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Inductor compiles in this process: keep its on-disk caches out of the user's /tmp."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path_factory.mktemp("inductor")))
        yield


@pytest.fixture(scope="module")
def artifact_root(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    return tmp_path_factory.mktemp("backends")


def test_selected_cases_exist() -> None:
    assert set(BASES) == set(CASES)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("backend", BACKEND_PARAMS)
def test_backend_passes(backend: str, case: str, artifact_root: pathlib.Path) -> None:
    info = BACKENDS.info(backend)
    if not info.available:
        pytest.skip(f"{backend} is not available: {info.reason}")
    root = artifact_root / backend
    worker = Worker(RunConfig(artifact_dir=str(root), cache_dir=None))
    result = worker.run(Task(case, BASES[case], backend))

    assert result.status is Status.PASS, result.message + "\n" + result.traceback
    assert result.max_abs_error is not None
    assert result.total is not None and result.total > 0
    assert result.mismatched == 0
    assert result.cache == "off"
    assert os.path.samefile(result.artifact_dir or "", root / case / backend)
    actual = load_arrays(root / case / backend / "actual.safetensors")
    expected = load_arrays(root / case / "expected.safetensors")
    assert sorted(actual) == sorted(expected)
    if case.endswith("_dynamic"):
        # Extra input sets of other batch sizes ran on the same prepared program.
        batch_sizes = {v.shape[0] for k, v in actual.items()}
        assert len(actual) > 1
        assert len(batch_sizes) > 1


@pytest.mark.parametrize("backend", ["torch-export", "onnxruntime", "openvino"])
def test_program_returning_its_input_unchanged(backend: str, tmp_path: pathlib.Path) -> None:
    """`parity eval --workload trace` lowers lone modules such as nn.Identity; the ONNX exporter
    renames such an input ``NAME_orig``, which once made onnxruntime drop it from the feed."""
    import numpy as np
    import torch

    from paritykit.core.program import Program

    info = BACKENDS.info(backend)
    if not info.available:
        pytest.skip(info.reason)
    program = Program("identity", torch.nn.Identity().eval(), (torch.zeros(2, 3),))
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    (out,) = BACKENDS.get(backend).prepare(program, tmp_path).run([x])
    np.testing.assert_array_equal(out, x)
