"""JAX through torchax, always in worker processes of its own.

Importing torchax renames torch's private-use device, which breaks torch.compile in the same
process, so nothing here imports torchax or lowers to JAX in the pytest process: every task runs
on the real worker pool (``session.execute``), and one run mixes ``jax`` with ``aot-eager`` to
show that the runner keeps them apart.
"""

from __future__ import annotations

import pathlib
import re
from collections.abc import Callable
from typing import Any

import pytest

from paritykit.core.cases import CASES
from paritykit.core.registry import BACKENDS
from paritykit.core.result import Result, Status
from paritykit.files.artifacts import load_arrays
from paritykit.run.plan import build_plan
from paritykit.run.session import SessionOptions, execute
from paritykit.run.worker import RunConfig

if not BACKENDS.info("jax").available:
    pytest.skip(f"jax is not available: {BACKENDS.info('jax').reason}", allow_module_level=True)

JAX_CASES = ("linear", "add_dynamic", "rope_dynamic", "add_bf16", "add_int64", "max",
             "max_keepdim", "one_hot")
Run = dict[tuple[str, str], Result]


def _execute(root: pathlib.Path, pairs: list[tuple[str, str]]) -> Run:
    """Run (case, backend) pairs on the worker pool; results by (case, backend)."""
    refs = {r.id: r for r in CASES.expand()}
    config = RunConfig(artifact_dir=str(root / "out"), cache_dir=str(root / "cache"))
    plan = build_plan([], [], config.seed)
    for case, backend in pairs:
        one = build_plan([refs[case]], [backend], config.seed)
        plan.tasks += one.tasks
        plan.decided += one.decided
    results = execute(plan, config, SessionOptions(jobs=1, timeout=300), lambda r: None)
    return {(r.case, r.backend): r for r in results}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory,
        registries: Callable[[], Any]) -> tuple[pathlib.Path, Run]:
    """One pool run: the JAX cases, and ``linear`` on aot-eager (torch.compile) beside them."""
    root = tmp_path_factory.mktemp("jax")
    with registries():
        results = _execute(root, [*((c, "jax") for c in JAX_CASES), ("linear", "aot-eager")])
    return root, results


def test_plain_case_passes_with_artifact_and_stats(run: tuple[pathlib.Path, Run]) -> None:
    root, results = run
    result = results[("linear", "jax")]
    assert result.status is Status.PASS, result.message
    assert result.max_abs_error is not None and result.max_abs_error < 1e-5
    artifact = root / "out" / "linear" / "jax" / "model.jax_exported"
    assert result.artifact == str(artifact) and artifact.stat().st_size > 0
    assert result.stats["artifact_bytes"] == artifact.stat().st_size
    assert result.stats["stablehlo_ops"] > 0
    assert result.stats["compile_s"] > 0 and result.stats["export_s"] > 0
    assert result.stats["matmul_precision"] == "highest"
    assert result.device in {"cpu", "cuda"}


def test_dynamic_case_is_one_shape_polymorphic_export(run: tuple[pathlib.Path, Run]) -> None:
    _, results = run
    result = results[("add_dynamic", "jax")]
    # The extra input sets (other batch sizes) ran through the same export.
    assert result.status is Status.PASS, result.message
    assert result.stats["symbolic_dims"]
    assert "symbolic_dims" not in results[("linear", "jax")].stats


def test_dynamic_case_torchax_cannot_trace_symbolically_is_exported_per_shape(
        run: tuple[pathlib.Path, Run]) -> None:
    # torchax's aten.arange needs a concrete end; each input size gets its own export instead.
    result = run[1][("rope_dynamic", "jax")]
    assert result.status is Status.PASS, result.message
    assert "_DimExpr" in result.stats["per_shape_export"]
    assert "symbolic_dims" not in result.stats


def test_bf16_in_and_out(run: tuple[pathlib.Path, Run]) -> None:
    result = run[1][("add_bf16", "jax")]
    assert result.status is Status.PASS, result.message
    assert result.max_abs_error == 0.0


def test_int64_is_computed_in_64_bits(run: tuple[pathlib.Path, Run]) -> None:
    # The case's values need more than 32 bits; JAX's 32-bit default would wrap them.
    result = run[1][("add_int64", "jax")]
    assert result.status is Status.PASS, result.message
    assert result.stats["x64"] is True and result.max_abs_error == 0.0


def test_zero_dim_and_multiple_outputs(run: tuple[pathlib.Path, Run]) -> None:
    root, results = run
    for case in ("max", "max_keepdim"):  # a 0-d output; (values, int64 indices)
        assert results[(case, "jax")].status is Status.PASS, results[(case, "jax")].message
    actual = load_arrays(root / "out" / "max" / "jax" / "actual.safetensors")
    assert actual["output_0"].shape == ()
    actual = load_arrays(root / "out" / "max_keepdim" / "jax" / "actual.safetensors")
    assert [str(actual[k].dtype) for k in ("output_0", "output_1")] == ["float32", "int64"]


def test_missing_lowering_is_lower_error_naming_the_op(run: tuple[pathlib.Path, Run]) -> None:
    # one_hot's export checks its class values with aten._assert_async, which torchax lacks.
    result = run[1][("one_hot", "jax")]
    assert result.status is Status.LOWER_ERROR
    assert result.message == ("one_hot @ jax: lowering failed — NotImplementedError: torchax has "
                              "no JAX lowering for aten._assert_async.msg"), result.message


def test_runs_beside_torch_compile_in_separate_processes(run: tuple[pathlib.Path, Run]) -> None:
    # In one process, importing torchax makes torch.compile fail ("PyTorch is not linked with
    # support for jax devices"); the pool gives jax a worker of its own, so both pass.
    results = run[1]
    for backend in ("aot-eager", "jax"):
        result = results[("linear", backend)]
        assert result.status is Status.PASS, result.message


def test_cache_hit_reloads_the_export(run: tuple[pathlib.Path, Run],
                                      registries: Callable[[], Any]) -> None:
    root, first = run
    with registries():
        second = _execute(root, [("add_dynamic", "jax")])[("add_dynamic", "jax")]
    assert (first[("add_dynamic", "jax")].cache, second.cache) == ("miss", "hit")
    assert second.status is Status.PASS, second.message
    assert second.stats["symbolic_dims"] == first[("add_dynamic", "jax")].stats["symbolic_dims"]


@pytest.mark.parametrize(("options", "error"), [
    ({"bogus": "1"}, "unknown jax backend option(s) bogus; known: x64, matmul_precision"),
    ({"matmul_precision": "fast"}, "jax.matmul_precision must be one of default, high, highest"),
    ({"x64": "yes"}, "jax.x64 must be 0 or 1"),
])
def test_bad_options_are_errors_naming_them(options: dict[str, str], error: str) -> None:
    # Pure validation: importing the backend module imports neither jax nor torchax.
    from paritykit.backends.jax_torchax import parse_options

    with pytest.raises(ValueError, match=re.escape(error)):
        parse_options(options)
    assert parse_options({"x64": "0"}).x64 is False
