"""The planner: cases × backends, with UNSUPPORTED and SKIPPED decided before anything runs."""

from __future__ import annotations

import pathlib

import pytest

import paritykit as pk
from paritykit.core.cases import CASES, select
from paritykit.core.registry import BACKENDS
from paritykit.core.result import Status
from paritykit.run.plan import build_plan, filter_keyword


class FakeFloat32StaticBackend(pk.Backend):
    """Test-only fake: declares float32 and static shapes only; must never be prepared."""

    name = "fake-f32-static"
    capabilities = pk.Capabilities(dtypes=frozenset({"float32"}), dynamic_shapes=False,
                                   max_rank=3, why="a fake for testing the planner")

    def prepare(self, program: pk.Program, workdir: pathlib.Path) -> pk.Prepared:
        raise AssertionError("the planner should have kept this case away")


class FakeMissingBackend(pk.Backend):
    """Test-only fake whose framework is 'not installed'."""

    name = "fake-missing"

    def is_available(self) -> str | None:
        return "fakeframework is not installed; pip install fakeframework"


@pytest.fixture
def fakes() -> None:
    pk.register_backend(FakeFloat32StaticBackend)
    pk.register_backend(FakeMissingBackend)


def _plan(names: list[str], backends: list[str]):  # type: ignore[no-untyped-def]
    return build_plan(select(CASES.expand(), names), backends, seed=0)


def test_capabilities_make_unsupported_with_reason(fakes: None) -> None:
    plan = _plan(["add_fp16", "add_dynamic", "add", "conv3d"], ["fake-f32-static"])
    decided = {r.case: r for r in plan.decided}
    assert decided["add_fp16"].status is Status.UNSUPPORTED
    assert "dtype float16" in decided["add_fp16"].message
    assert "a fake for testing the planner" in decided["add_fp16"].message
    assert decided["add_dynamic"].status is Status.UNSUPPORTED
    assert "dynamic shapes" in decided["add_dynamic"].message
    conv3d = [r for r in plan.decided if r.base == "conv3d"]
    assert conv3d and all("rank <= 3" in r.message for r in conv3d)
    ran = {t.case for t in plan.tasks}
    assert "add" in ran and not ran & {"add_fp16", "add_dynamic", "add_int32"}
    assert {r.case for r in plan.decided} | ran == {r.id for r in select(
        CASES.expand(), ["add_fp16", "add_dynamic", "add", "conv3d"])}


def test_unavailable_backend_is_skipped_with_install_hint(fakes: None) -> None:
    plan = _plan(["abs"], ["torch", "fake-missing"])
    assert [(t.case, t.backend) for t in plan.tasks] == [("abs", "torch")]
    (skipped,) = plan.decided
    assert skipped.status is Status.SKIPPED
    assert "pip install fakeframework" in skipped.message
    assert "fake-missing" not in BACKENDS.available()


def test_plan_is_case_major_and_skips_done_pairs() -> None:
    refs = select(CASES.expand(), ["abs", "neg"])
    plan = build_plan(refs, ["torch", "torch-export"], seed=0, done=[("abs", "torch")])
    assert [(t.case, t.backend) for t in plan.tasks] == [
        ("abs", "torch-export"), ("neg", "torch"), ("neg", "torch-export")]


def test_keyword_filter_uses_ids_bases_and_markers() -> None:
    ids = {r.id for r in filter_keyword(CASES.expand(), "softmax and not fp16 and not bf16")}
    assert ids and all("softmax" in i and "fp16" not in i and "bf16" not in i for i in ids)
