"""The pytest plugin, black-box: pytest runs through the installed ``pytest11`` entry point.

Runs are in-process (``pytester.runpytest_inprocess``: torch is imported once) on tiny cases
(``relu``, ``linear_nobias``) with the ``torch`` reference backend and test-only fakes.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import pathlib
import xml.etree.ElementTree as ET

import pytest

from conftest import CRASHING_BACKENDS, HARNESS_BACKENDS, TESTS

pytest_plugins = ["pytester"]

# An in-process pytester run drops the modules first imported inside it from sys.modules;
# native extensions (MLX's and JAX's nanobind modules, torch's operator libraries) abort the
# process when imported a second time, so they are imported once out here.
for _name in ("torch._dynamo", "mlx.core", "jax"):
    with contextlib.suppress(ImportError):
        importlib.import_module(_name)
# Items run in worker processes: pickle finds the worker's target function by its module's
# name, so that module must be the same object in every in-process run.
importlib.import_module("paritykit.run.pool")

UNAVAILABLE = TESTS / "pytester_data" / "unavailable_backend.py"
# "--opt=PATH", not "--opt PATH": pytest takes any argument that is an existing path into
# account when it picks the rootdir.
FAKES = [f"--parity-plugin={HARNESS_BACKENDS}"]


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", "-rsxX", *args)


def test_help_shows_the_paritykit_options(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--help")
    result.stdout.fnmatch_lines(["paritykit: parity of ML backends with PyTorch eager:",
                                 "*--parity-backend=NAME*", "*--parity-cases=CASES*",
                                 "*--parity-isolate*", "*--parity-autodiff*",
                                 "*--parity-golden-dir=DIR*"])


def test_markers_are_registered_per_backend(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.cuda: *", "@pytest.mark.compstat: *",
                                 "@pytest.mark.onnxruntime: runs on the 'onnxruntime'*",
                                 "@pytest.mark.torch-export: *"])


def test_plain_run_adds_no_items(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_one():\n    assert True\n")
    result = run(pytester, "--collect-only", "-q")
    assert result.ret == 0
    ids = [line for line in result.outlines if "::" in line]
    assert ids == ["test_plain_run_adds_no_items.py::test_one"]
    assert not (pytester.path / "parity-out").exists()


def test_item_ids_and_keyword_selection(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--parity-backend", "torch,fake-offset", *FAKES,
                 "--parity-cases", "relu,linear_nobias", "--collect-only", "-q")
    ids = [line for line in result.outlines if line.startswith("paritykit::")]
    assert ids == [f"paritykit::test_parity[{c}-{b}]" for c in ("relu", "linear_nobias")
                   for b in ("torch", "fake-offset")]
    # -k over ids, -m over the backend's and the device's markers
    result = run(pytester, "--parity-backend", "torch,fake-offset", *FAKES,
                 "--parity-cases", "relu,linear_nobias", "--collect-only", "-q",
                 "-k", "linear_nobias or torch]", "-m", "cpu and not fake-offset")
    assert [line for line in result.outlines if line.startswith("paritykit::")] == [
        "paritykit::test_parity[relu-torch]", "paritykit::test_parity[linear_nobias-torch]"]


def test_parity_shard_partitions_the_items(pytester: pytest.Pytester) -> None:
    def ids(*extra: str) -> list[str]:
        result = run(pytester, "--parity-backend", "torch,torch-export", "--parity-cases",
                     "relu,abs,neg,sigmoid,tanh", "--collect-only", "-q", *extra)
        assert result.ret == 0, result.outlines
        return [line for line in result.outlines if line.startswith("paritykit::")]

    shards = [ids("--parity-shard", f"{k}/2") for k in (1, 2)]
    assert sorted(shards[0] + shards[1]) == sorted(ids()) and not set(shards[0]) & set(shards[1])
    assert {len(s) for s in shards} == {4, 6}  # whole cases: 2 and 3 of them
    bad = run(pytester, "--parity-backend", "torch", "--parity-shard", "3/2", "--collect-only")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    assert "--parity-shard" in "\n".join(bad.errlines) and "1 <= K <= N" in "\n".join(bad.errlines)


def test_outcomes_messages_junit_and_results(pytester: pytest.Pytester) -> None:
    """One run: pass, MISMATCH, RUN_ERROR, an unavailable backend, a cuda-marked test."""
    pytester.makepyfile(test_user="""
        import pytest

        @pytest.mark.cuda
        def test_needs_cuda():
            pass
    """)
    junit = pytester.path / "out.xml"
    result = run(pytester, "--parity-backend", "torch,fake-offset,fake-raise,fake-unavailable",
                 *FAKES, f"--parity-plugin={CRASHING_BACKENDS}", f"--parity-plugin={UNAVAILABLE}",
                 "--parity-cases", "relu", f"--junitxml={junit}")
    result.assert_outcomes(passed=1, failed=2, skipped=2)
    result.stdout.fnmatch_lines([
        "*relu @ fake-offset: values differ — * mismatched; greatest abs diff 1 at *"
        "atol=1e-5 rtol=1.3e-6 (float32 default)",
        "status: MISMATCH", "artifacts: parity-out/relu/fake-offset",
        "repro: parity run relu -b fake-offset --seed 0 -p *harness_backends.py * -v",
    ])
    result.stdout.fnmatch_lines(["*relu @ fake-raise: run failed — RuntimeError: boom-payload*",
                                 "status: RUN_ERROR",
                                 "(the backend's traceback: run with -vv or --tb=long)"])
    result.stdout.fnmatch_lines_random([
        "SKIPPED [[]1[]] *suite/*.py:*: SKIPPED: fake-unavailable is not available: fake: never "
        "available (pip install nothing-at-all)",
        "SKIPPED [[]1[]] test_user.py:3: marked 'cuda': needs CUDA; this machine has cpu",
    ])
    assert "worker.py" not in result.stdout.str()  # no internal traceback
    names = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    assert set(names) == {"test_needs_cuda", *(f"test_parity[relu-{b}]" for b in (
        "torch", "fake-offset", "fake-raise", "fake-unavailable"))}
    assert names["test_parity[relu-fake-offset]"].find("failure") is not None
    lines = (pytester.path / "parity-out" / "results.jsonl").read_text().splitlines()
    assert sorted(json.loads(x)["status"] for x in lines) == ["MISMATCH", "PASS", "RUN_ERROR",
                                                              "SKIPPED"]


def test_grad_option_compares_gradients(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--parity-backend", "fake-bad-grad", *FAKES,
                 "--parity-cases", "linear_nobias", "--parity-grad")
    result.assert_outcomes(failed=1)  # its forward pass is right: the gradient fails it
    result.stdout.fnmatch_lines(["linear_nobias @ fake-bad-grad: gradient w.r.t. op.weight: "
                                 "values differ*"])


@pytest.mark.slow
def test_isolate_turns_a_segfault_into_one_failure(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--parity-backend", "fake-segfault,torch",
                 f"--parity-plugin={CRASHING_BACKENDS}", "--parity-cases", "relu",
                 "--parity-isolate")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*relu @ fake-segfault: worker process killed by signal "
                                 "SIGSEGV*", "status: CRASH"])


def test_expectations_xfail_and_strict_xpass(pytester: pytest.Pytester) -> None:
    exp = pytester.mkdir("exp")
    (exp / "fake-offset.toml").write_text('[xfail]\nrelu = "adds one on purpose"\n')
    (exp / "torch.toml").write_text('[xfail]\n"rel*" = "wrongly expected to fail"\n')
    (exp / "fake-shared-pid.toml").write_text(
        '[xfail]\nrelu = { reason = "flaky", strict = false }\n')
    backends = "torch,fake-offset,fake-shared-pid"
    result = run(pytester, "--parity-backend", backends, *FAKES,
                 "--parity-cases", "relu", "--parity-expectations", str(exp))
    result.assert_outcomes(xfailed=1, failed=1, xpassed=1)
    result.stdout.fnmatch_lines_random([
        "XFAIL *test_parity[[]relu-fake-offset[]]*MISMATCH (expected: adds one on purpose)*",
        "*relu @ torch: passed but is expected to fail (wrongly expected to fail) — remove "
        "'rel*' from [[]xfail[]] in *torch.toml*",
    ])
    result = run(pytester, "--parity-backend", backends, *FAKES,
                 "--parity-cases", "relu", "--parity-expectations", str(exp),
                 "--parity-no-expectations")
    result.assert_outcomes(passed=2, failed=1)


@pytest.mark.slow
def test_xdist_gives_the_same_outcomes(pytester: pytest.Pytester) -> None:
    result = run(pytester, "-n", "2", "--parity-backend", "torch,fake-offset", *FAKES,
                 "--parity-cases", "relu,linear_nobias")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(["*linear_nobias @ fake-offset: values differ*"])
    lines = (pytester.path / "parity-out" / "results.jsonl").read_text().splitlines()
    assert len(lines) == 4  # both workers appended to the one file


def test_cross_backend_assert_uses_the_comparator_and_rules(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import numpy as np
        import torch

        def test_close(assert_allclose_cross_backend):
            assert_allclose_cross_backend(torch.tensor([1.0, 2.1]), [1.0, 2.0], atol=1e-3)
    """)
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "E * AssertionError: test_close @ cpu: values differ — 1 / 2 (50.00%) mismatched; "
        "greatest abs diff 0.1 at [[]1[]] (got 2.1, expected 2); atol=1e-3 *(*rtol/atol given "
        "to assert_allclose_cross_backend)"])
    pytester.makefile(".json", rules='{"rules": [{"backend": "cpu", "test": "test_close", '
                                     '"atol": 0.5, "reason": "loose here"}]}')
    run(pytester, "--parity-tolerances", "rules.json").assert_outcomes(passed=1)


def test_golden_registry_round_trip_across_runs(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_register="""
        import numpy as np

        def test_register(golden_registry):
            assert golden_registry["get"]("softmax_basic", "metal") is None
            golden_registry["register"]("softmax_basic", np.array([0.25, 0.75]), "metal")
    """)
    run(pytester, "--parity-golden-dir", "gold").assert_outcomes(passed=1)
    stored = json.loads((pytester.path / "gold" / "golden_values_metal.json").read_text())
    assert stored["values"]["softmax_basic"]["value"] == [0.25, 0.75]
    pytester.makepyfile(test_register="""
        def test_read(golden_registry, assert_allclose_cross_backend):
            reference = golden_registry["get"]("softmax_basic", "metal")
            assert reference == [0.25, 0.75]
            assert_allclose_cross_backend([0.25, 0.75], reference)
    """)
    run(pytester, "--parity-golden-dir", "gold").assert_outcomes(passed=1)


def test_parametrize_backends_and_backend_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import torch
        from paritykit.pytest import parametrize_backends

        @parametrize_backends("torch", "fake-unavailable")
        def test_each(parity_backend, backend, device, is_metal, has_gpu):
            assert parity_backend.name == "torch"
            assert (backend, device, is_metal, has_gpu) == ("cpu", torch.device("cpu"),
                                                            False, False)

        def test_fixture(parity_backend):
            assert parity_backend.name == "torch"
    """)
    result = run(pytester, "-v", f"--parity-plugin={UNAVAILABLE}", "--parity-backend",
                 "torch,fake-unavailable", "--parity-cases", "none")
    result.assert_outcomes(passed=2, skipped=2)
    result.stdout.fnmatch_lines_random([
        "*::test_each[[]torch[]] PASSED*", "*::test_each[[]fake-unavailable[]] SKIPPED*",
        "*::test_fixture[[]torch[]] PASSED*",
        "SKIPPED *fake-unavailable is not available: fake: never available*"])


def test_autodiff_checks_as_items(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--parity-autodiff=torch", "-k", "grad_of_sum_is_ones_vector", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*collected 36 items / 35 deselected / 1 selected",
                                 "paritykit::test_autodiff[[]grad_of_sum_is_ones_vector-torch[]]"
                                 " PASSED*"])


def test_bad_options_are_usage_errors(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--parity-backend", "no-such-backend")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: paritykit: --parity-backend: unknown backend "
                                 "'no-such-backend'; known backends: *"])
    result = run(pytester, "--parity-autodiff", "no-such-framework")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: paritykit: --parity-autodiff: unknown autodiff "
                                 "framework 'no-such-framework'; known: *"])
    result = run(pytester, "--parity-backend", "torch", "--parity-cases", "no_such_case")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: paritykit: --parity-cases: no case named "
                                 "'no_such_case'*"])


def test_the_docs_example_test_file_runs(pytester: pytest.Pytester) -> None:
    """The ``python`` example of docs/pytest.md marked "example test file" passes as written."""
    doc = (pathlib.Path(__file__).resolve().parents[1] / "docs" / "pytest.md").read_text()
    block = doc.split("<!-- example test file -->\n```python\n", 1)[1].split("```", 1)[0]
    pytester.makepyfile(test_doc_example=block)
    result = run(pytester, "--parity-backend", "torch", "--parity-cases", "none")
    result.assert_outcomes(passed=3, skipped=1)  # the cuda-marked test skips here
