"""onnxruntime feeds every graph input, also one the exporter renamed (issue 13).

A program that returns an input unchanged (``mean`` of a 0-d tensor with ``keepdim``, ``.t()``
of a 1-d tensor, ``lambda x: x``) exports to an ONNX graph whose input is named after the
output plus ``_orig`` (``mean_orig``, ``t_orig``, ``x_orig``); feeding inputs by the program's
names once left it out of the feed ("Required inputs (['mean_orig']) are missing from input
feed ([])"). These run the real exporter and ONNX Runtime: fresh, from a cache entry, and as
user cases through the Worker.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable

import numpy as np
import pytest
import torch

import paritykit as pk
from paritykit.backends.onnxruntime import OnnxRuntimePrepared, feed_plan
from paritykit.core.cases import CASES
from paritykit.core.program import Program, flatten_outputs
from paritykit.core.registry import BACKENDS
from paritykit.core.result import Status
from paritykit.run.worker import RunConfig, Task, Worker

pytestmark = pytest.mark.skipif(not BACKENDS.info("onnxruntime").available,
                                reason="onnxruntime is not available")


class Lambda(torch.nn.Module):
    def __init__(self, fn: Callable[..., object]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, *args: torch.Tensor) -> object:
        return self.fn(*args)


class Scaled(torch.nn.Module):
    """A weight (an initializer, never fed) next to an input returned unchanged."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.full((3,), 2.0))

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return b, a * self.w, b.t()


#: name -> (module, inputs)
PROGRAMS: dict[str, tuple[torch.nn.Module, tuple[torch.Tensor, ...]]] = {
    "mean_0d_keepdim": (Lambda(lambda x: torch.mean(x, dim=[], keepdim=True)),
                        (torch.tensor(1.5),)),
    "t_1d": (Lambda(lambda x: x.t()), (torch.arange(4.0),)),
    "identity": (Lambda(lambda x: x), (torch.arange(6.0).reshape(2, 3),)),
    # Inputs renamed and not, in both orders, one of them used twice, with a weight.
    "mixed": (Lambda(lambda a, b: (b.t(), a + 1, b * 2)), (torch.ones(2), torch.arange(3.0))),
    "weight_and_alias": (Scaled(), (torch.ones(3), torch.arange(3.0))),
    "no_inputs": (Lambda(lambda: torch.ones(2, 2)), ()),
}


def _check(prepared: pk.Prepared, module: torch.nn.Module,
           inputs: tuple[torch.Tensor, ...]) -> None:
    with torch.no_grad():
        expected = [t.numpy() for t in flatten_outputs(module(*inputs))]
    actual = prepared.run([x.numpy() for x in inputs])
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        assert a.shape == e.shape
        np.testing.assert_array_equal(a, e)


@pytest.mark.parametrize("name", PROGRAMS)
def test_fresh_and_cached_sessions_feed_every_input(name: str, tmp_path: pathlib.Path) -> None:
    module, inputs = PROGRAMS[name]
    program = Program(name, module.eval(), inputs)
    backend = BACKENDS.get("onnxruntime")
    _check(backend.prepare(program, tmp_path), module, inputs)
    # The cached path: a new session on the saved model and inputs.json.
    _check(backend.load(program, tmp_path), module, inputs)


def test_the_examples_are_the_renamed_case(tmp_path: pathlib.Path) -> None:
    """Guard the premise: the exporter does rename these inputs (else the tests above would
    pass without the fix)."""
    backend = BACKENDS.get("onnxruntime")
    for name, renamed in (("mean_0d_keepdim", "mean_orig"), ("t_1d", "t_orig"),
                          ("identity", "args_0_orig")):
        module, inputs = PROGRAMS[name]
        (tmp_path / name).mkdir()
        prepared = backend.prepare(Program(name, module.eval(), inputs), tmp_path / name)
        assert isinstance(prepared, OnnxRuntimePrepared)
        assert [i.name for i in prepared.session.get_inputs()] == [renamed]
        assert prepared.input_names == ["args_0"]


def test_feed_plan() -> None:
    assert feed_plan(["mean_orig"], ["x"]) == ["mean_orig"]
    assert feed_plan(["a", "t_orig"], ["a", "b"]) == ["a", "t_orig"]
    assert feed_plan([], []) == []
    # A graph that dropped an unused input pairs up by name.
    assert feed_plan(["b"], ["a", "b"]) == [None, "b"]
    # A graph input nobody feeds is an error up front, not ORT's "missing from input feed".
    with pytest.raises(ValueError, match="t_orig"):
        feed_plan(["t_orig"], ["a", "b"])
    with pytest.raises(ValueError, match="cannot match"):
        feed_plan(["a", "b"], ["a"])


def test_user_cases_pass_through_the_worker_fresh_and_cached(tmp_path: pathlib.Path) -> None:
    """The issue's examples as OpTestCases, run as `parity run` runs them, twice on one cache."""

    @pk.register_test
    class MeanKeepdim0d(pk.OpTestCase):
        name = "issue13_mean_0d_keepdim"

        def create_model(self) -> torch.nn.Module:
            return Lambda(lambda x: torch.mean(x, dim=[], keepdim=True))

        def create_inputs(self) -> tuple[torch.Tensor, ...]:
            return (pk.randn(),)

    @pk.register_test
    class Transpose1d(pk.OpTestCase):
        name = "issue13_t_1d"

        def create_model(self) -> torch.nn.Module:
            return Lambda(lambda x: x.t())

        def create_inputs(self) -> tuple[torch.Tensor, ...]:
            return (pk.randn(5),)

    @pk.register_test
    class Identity(pk.OpTestCase):
        name = "issue13_identity"

        def create_model(self) -> torch.nn.Module:
            return Lambda(lambda x: x)

        def create_inputs(self) -> tuple[torch.Tensor, ...]:
            return (pk.randn(2, 3),)

    bases = {r.id: r.base for r in CASES.expand()}
    config = RunConfig(artifact_dir=str(tmp_path / "artifacts"), cache_dir=str(tmp_path / "cache"))
    for case in ("issue13_mean_0d_keepdim", "issue13_t_1d", "issue13_identity"):
        for cache in ("miss", "hit"):
            result = Worker(config).run(Task(case, bases[case], "onnxruntime"))
            assert result.status is Status.PASS, result.message + "\n" + result.traceback
            assert result.cache == cache
