"""Tests of tolerance resolution: defaults, the rules file, precedence, and that every override
reaches the comparator of a real (in-process) run."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import paritykit as pk
from paritykit.core.cases import CASES, OpTestCase, register_test
from paritykit.core.dtypes import to_numpy, to_torch
from paritykit.core.errors import ParityError
from paritykit.core.registry import BACKENDS, register_backend
from paritykit.core.result import Status
from paritykit.core.tolerance import CaseTolerance, ToleranceRules, default_tolerance
from paritykit.run.worker import RunConfig, Task, Worker

# The values documented for torch.testing.assert_close.
TORCH_TESTING_DEFAULTS = {
    "float16": (1e-5, 1e-3),
    "bfloat16": (1e-5, 1.6e-2),
    "float32": (1e-5, 1.3e-6),
    "float64": (1e-7, 1e-7),
}

# Seed 004's example, with the `reason` our schema requires.
SEED_004 = {
    "default": {"atol": 5e-4, "rtol": 1e-4},
    "rules": [
        {"backend": "faer", "atol": 1.5e-3, "rtol": 2e-4, "reason": "faer backend"},
        {"test": "torch_feed_forward_*", "atol": 1.5e-3, "reason": "feed forward"},
        {"backend": "faer", "test": "torch_feed_forward_*", "atol": 2e-3, "rtol": 2e-4,
         "reason": "faer feed forward"},
    ],
}


def _write(tmp_path: pathlib.Path, data: Any, name: str = "tolerances.json") -> pathlib.Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


# ------------------------------------------------------------------------------------- defaults


@pytest.mark.parametrize(("dtype", "expected"), sorted(TORCH_TESTING_DEFAULTS.items()))
def test_float_defaults_match_torch_testing(dtype: str, expected: tuple[float, float]) -> None:
    tol = default_tolerance(dtype)
    assert (tol.atol, tol.rtol) == expected
    assert tol.source == f"{dtype} default"
    resolved = ToleranceRules().resolve("inductor", "c", "c", dtype)
    assert (resolved.atol, resolved.rtol) == expected


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "uint8", "bool"])
def test_integer_and_bool_defaults_are_exact(dtype: str) -> None:
    tol = ToleranceRules().resolve("inductor", "c", "c", dtype)
    assert (tol.atol, tol.rtol) == (0.0, 0.0)
    assert tol.describe() == f"atol=0 rtol=0 ({dtype} default)"


def test_describe_of_the_float32_default() -> None:
    assert default_tolerance("float32").describe() == "atol=1e-5 rtol=1.3e-6 (float32 default)"


# ---------------------------------------------------------------------------------- precedence


@pytest.fixture
def seed_004(tmp_path: pathlib.Path) -> tuple[ToleranceRules, str]:
    path = _write(tmp_path, SEED_004)
    return ToleranceRules.load(path), str(path)


def test_seed_004_file_default(seed_004: tuple[ToleranceRules, str]) -> None:
    rules, path = seed_004
    tol = rules.resolve("inductor", "relu", "relu", "float32")
    assert (tol.atol, tol.rtol) == (5e-4, 1e-4)
    assert tol.source == f"{path} default"


def test_seed_004_backend_rule_beats_the_default(seed_004: tuple[ToleranceRules, str]) -> None:
    rules, path = seed_004
    tol = rules.resolve("faer", "relu", "relu", "float32")
    assert (tol.atol, tol.rtol) == (1.5e-3, 2e-4)
    assert tol.source == f"{path} rule 0 (backend=faer)"
    assert tol.reason == "faer backend"


def test_seed_004_test_rule_sets_only_atol(seed_004: tuple[ToleranceRules, str]) -> None:
    rules, path = seed_004
    tol = rules.resolve("inductor", "torch_feed_forward_small", "torch_feed_forward_small",
                        "float32")
    assert (tol.atol, tol.rtol) == (1.5e-3, 1e-4)
    assert tol.source == (f"atol from {path} rule 1 (test=torch_feed_forward_*), "
                          f"rtol from {path} default")
    assert tol.reason == "feed forward"


def test_seed_004_backend_and_test_rule_wins(seed_004: tuple[ToleranceRules, str]) -> None:
    rules, path = seed_004
    tol = rules.resolve("faer", "torch_feed_forward_small", "torch_feed_forward_small", "float32")
    assert (tol.atol, tol.rtol) == (2e-3, 2e-4)
    assert tol.source == f"{path} rule 2 (backend=faer, test=torch_feed_forward_*)"
    assert tol.reason == "faer feed forward"


def test_file_default_sets_one_value_and_keeps_the_dtype_default_for_the_other() -> None:
    rules = ToleranceRules.from_dict({"default": {"rtol": 1e-3}}, "t.json")
    tol = rules.resolve("b", "c", "c", "float16")
    assert (tol.atol, tol.rtol) == (1e-5, 1e-3)
    assert tol.source == "atol from float16 default, rtol from t.json default"


def test_later_rule_of_the_same_specificity_wins() -> None:
    def first_and_second(order: list[float]) -> float:
        rules = ToleranceRules.from_dict({"rules": [
            {"backend": "inductor", "atol": a, "reason": f"r{a}"} for a in order]})
        return rules.resolve("inductor", "c", "c", "float32").atol

    assert first_and_second([1e-3, 2e-3]) == 2e-3
    assert first_and_second([2e-3, 1e-3]) == 1e-3


_LAYERED = [
    {"atol": 0.1, "reason": "everywhere"},
    {"backend": "inductor", "atol": 0.2, "rtol": 0.02, "reason": "backend"},
    {"test": "conv*", "atol": 0.3, "reason": "test"},
    {"backend": "induct*", "test": "conv2d", "rtol": 0.04, "reason": "backend+test"},
    {"dtype": "float32", "rtol": 0.05, "reason": "dtype"},
]


@settings(max_examples=50, deadline=None)
@given(order=st.permutations(_LAYERED))
def test_resolution_does_not_depend_on_the_order_of_rules_of_different_specificity(
    order: list[dict[str, Any]],
) -> None:
    tol = ToleranceRules.from_dict({"rules": order}).resolve(
        "inductor", "conv2d_s2", "conv2d", "float32")
    # atol: the test rule (rank above backend); rtol: the backend+test rule.
    assert (tol.atol, tol.rtol) == (0.3, 0.04)
    assert tol.reason == "test; backend+test"


@pytest.mark.parametrize(
    ("backend_pattern", "backend", "applies"),
    [("*", "anything", True), ("onnx*", "onnxruntime", True), ("onnx*", "inductor", False),
     ("torch-?xport", "torch-export", True), ("inductor", "Inductor", False)],
)
def test_backend_wildcards(backend_pattern: str, backend: str, applies: bool) -> None:
    rules = ToleranceRules.from_dict(
        {"rules": [{"backend": backend_pattern, "atol": 0.5, "reason": "x"}]})
    assert (rules.resolve(backend, "c", "c", "float32").atol == 0.5) is applies


@pytest.mark.parametrize(
    ("test_pattern", "case_id", "base", "applies"),
    [
        ("*", "relu", "relu", True),
        ("soft*", "softmax_dim1", "softmax", True),
        ("*_dim1", "softmax_dim1", "softmax", True),
        ("linear", "linear_nobias", "linear", True),  # the base name selects every config
        ("linear_nobias", "linear_nobias", "linear", True),
        ("linear_nobias", "linear", "linear", False),
        ("conv", "conv2d", "conv2d", False),  # a pattern is not a substring match
    ],
)
def test_test_patterns_match_the_case_id_or_its_base_name(
    test_pattern: str, case_id: str, base: str, applies: bool
) -> None:
    rules = ToleranceRules.from_dict(
        {"rules": [{"test": test_pattern, "atol": 0.5, "reason": "x"}]})
    assert (rules.resolve("b", case_id, base, "float32").atol == 0.5) is applies


def test_dtype_patterns_restrict_a_rule() -> None:
    rules = ToleranceRules.from_dict({"rules": [
        {"backend": "onnxruntime", "dtype": "float16", "atol": 1e-2, "reason": "half"}]})
    assert rules.resolve("onnxruntime", "c", "c", "float16").atol == 1e-2
    assert rules.resolve("onnxruntime", "c", "c", "float32").atol == 1e-5


def test_case_override_sits_between_backend_rules_and_test_rules() -> None:
    case = CaseTolerance(atol=3e-3, rtol=None, reason="case reason")
    backend_only = ToleranceRules.from_dict({
        "default": {"atol": 1e-1},
        "rules": [{"backend": "inductor", "atol": 2e-3, "reason": "backend"}],
    }, "f.json")
    tol = backend_only.resolve("inductor", "gelu_fast", "gelu", "float32", case)
    assert tol.atol == 3e-3
    assert tol.source == "atol from case gelu, rtol from float32 default"
    assert tol.reason == "case reason"

    with_test_rule = ToleranceRules.from_dict({"rules": [
        {"backend": "inductor", "atol": 2e-3, "reason": "backend"},
        {"test": "gelu*", "atol": 4e-3, "reason": "test"},
    ]}, "f.json")
    tol = with_test_rule.resolve("inductor", "gelu_fast", "gelu", "float32", case)
    assert tol.atol == 4e-3
    assert tol.reason == "test"


def test_case_override_without_values_changes_nothing() -> None:
    tol = ToleranceRules().resolve("b", "c", "c", "float32", CaseTolerance(reason="unused"))
    assert tol == default_tolerance("float32")


def test_atol_and_rtol_are_resolved_independently_with_both_sources_named() -> None:
    rules = ToleranceRules.from_dict({"rules": [
        {"backend": "inductor", "rtol": 1e-3, "reason": "tf32 matmul"},
        {"test": "bmm", "atol": 1e-4, "reason": "large k"},
    ]}, "tol.json")
    tol = rules.resolve("inductor", "bmm", "bmm", "float32")
    assert (tol.atol, tol.rtol) == (1e-4, 1e-3)
    assert tol.source == ("atol from tol.json rule 1 (test=bmm), "
                          "rtol from tol.json rule 0 (backend=inductor)")
    assert tol.reason == "large k; tf32 matmul"
    assert tol.describe() == (
        "atol=1e-4 rtol=1e-3 (atol from tol.json rule 1 (test=bmm), rtol from tol.json rule 0 "
        "(backend=inductor): large k; tf32 matmul)")


# ------------------------------------------------------------------------------- schema errors


@pytest.mark.parametrize(
    ("data", "where", "fragment"),
    [
        ({"rules": [{"backend": "x", "atol": 1e-3}]}, "$.rules[0]", "'reason' is a required"),
        ({"rules": [{"atol": "big", "reason": "r"}]}, "$.rules[0].atol", "not of type 'number'"),
        ({"rules": [{"atol": True, "reason": "r"}]}, "$.rules[0].atol", "not of type 'number'"),
        ({"rules": [{"atol": -1, "reason": "r"}]}, "$.rules[0].atol", "minimum"),
        ({"rules": [{"atol": 1, "reason": "r", "bakend": "x"}]}, "$.rules[0]", "'bakend'"),
        # Neither atol nor rtol: says what is missing (not jsonschema's generic anyOf text).
        ({"rules": [{"backend": "x", "reason": "r"}]}, "$.rules[0]", "rule 0 needs atol or rtol"),
        ({"rules": [{"atol": 1, "reason": "r"}, {"test": "t", "reason": "r"}]}, "$.rules[1]",
         "rule 1 needs atol or rtol"),
        ({"rules": [{"atol": 1, "reason": ""}]}, "$.rules[0].reason", "non-empty reason"),
        ({"rules": [{"atol": 1, "reason": "r"}, {"rtol": "x", "reason": "r"}]},
         "$.rules[1].rtol", "not of type 'number'"),
        ({"default": {"atol": "x"}}, "$.default.atol", "not of type 'number'"),
        ({"defaults": {}}, "$", "'defaults'"),
        ({"rules": {}}, "$.rules", "not of type 'array'"),
        ([], "$", "not of type 'object'"),
    ],
)
def test_schema_errors_name_the_file_and_the_json_path(
    tmp_path: pathlib.Path, data: Any, where: str, fragment: str
) -> None:
    path = _write(tmp_path, data)
    with pytest.raises(ParityError) as info:
        ToleranceRules.load(path)
    text = str(info.value)
    assert text.startswith(f"{path}: {where}: ")
    assert fragment in text


def test_a_file_that_is_not_json_names_line_and_column(tmp_path: pathlib.Path) -> None:
    path = _write(tmp_path, '{\n  "default": {"atol": 1e-3,}\n}')
    with pytest.raises(ParityError, match="not valid JSON") as info:
        ToleranceRules.load(path)
    # The stray `}` after the trailing comma is on line 2, column 28.
    assert str(info.value).startswith(f"{path}: not valid JSON: line 2 column 28")


def test_a_missing_file_is_named(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(ParityError) as info:
        ToleranceRules.load(path)
    assert str(path) in str(info.value)
    assert "no such file" in str(info.value)


def test_a_valid_file_loads(tmp_path: pathlib.Path) -> None:
    rules = ToleranceRules.load(_write(tmp_path, SEED_004))
    assert len(rules.rules) == 3
    assert (rules.default_atol, rules.default_rtol) == (5e-4, 1e-4)


# ------------------------------------------------- every override reaches the comparator of a run

OFFSET = 1e-3
LOOSE, TIGHT = 1e-2, 1e-4


class _OffsetPrepared(pk.Prepared):
    def __init__(self, module: torch.nn.Module) -> None:
        super().__init__()
        self.module = module

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        with torch.no_grad():
            out = to_numpy(self.module(*(to_torch(a) for a in inputs)))
        return [(out + OFFSET).astype(out.dtype)]


class FakeOffsetBackend(pk.Backend):
    """Test-only harness backend: the eager output plus a fixed offset of 1e-3."""

    name = "fake-offset"

    def prepare(self, program: pk.Program, workdir: pathlib.Path) -> pk.Prepared:
        return _OffsetPrepared(program.module)


class OffsetCase(OpTestCase):
    name = "ptk_offset_linear"

    def create_model(self) -> torch.nn.Module:
        return torch.nn.Linear(4, 3)

    def create_inputs(self) -> tuple[torch.Tensor, ...]:
        return (pk.randn(2, 4),)


class LooseOffsetCase(OffsetCase):
    name = "ptk_offset_loose"
    atol = LOOSE
    tolerance_reason = "the case says so"


class TightOffsetCase(OffsetCase):
    name = "ptk_offset_tight"
    atol = TIGHT
    tolerance_reason = "tight case"


HARNESS_CASES = (OffsetCase, LooseOffsetCase, TightOffsetCase)


@pytest.fixture
def harness() -> Iterator[None]:
    register_backend(FakeOffsetBackend)
    for case in HARNESS_CASES:
        register_test(case)
    try:
        yield
    finally:
        for case in HARNESS_CASES:
            CASES.remove(case.name)
        BACKENDS.remove(FakeOffsetBackend.name)


def _run(tmp_path: pathlib.Path, data: Any, case: type[OpTestCase] = OffsetCase) -> pk.Result:
    rules = ToleranceRules.load(_write(tmp_path, data)) if data is not None else ToleranceRules()
    config = RunConfig(artifact_dir=str(tmp_path / "out"), suites=(), cache_dir=None,
                       tolerances=rules)
    return Worker(config).run(Task(case.name, case.name, FakeOffsetBackend.name))


def _rule(reason: str, atol: float, backend: bool = False, test: bool = False) -> dict[str, Any]:
    rule: dict[str, Any] = {"atol": atol, "reason": reason}
    if backend:
        rule["backend"] = "fake-*"
    if test:
        rule["test"] = "ptk_offset_*"
    return rule


def test_the_offset_fails_the_default_tolerance(harness: None, tmp_path: pathlib.Path) -> None:
    result = _run(tmp_path, None)
    assert result.status is Status.MISMATCH, result.message
    assert result.atol == 1e-5
    assert result.mismatched == result.total == 6
    assert result.max_abs_error == pytest.approx(OFFSET, rel=1e-3)
    assert result.tolerance_source == "atol=1e-5 rtol=1.3e-6 (float32 default)"
    assert result.message.startswith(
        "ptk_offset_linear @ fake-offset: values differ — 6 / 6 (100.00%) mismatched")
    assert result.message.endswith("; atol=1e-5 rtol=1.3e-6 (float32 default)")


LOOSENERS = {
    "file default": ({"default": {"atol": LOOSE, "reason": "file says so"}},
                     "tolerances.json default", "file says so"),
    "backend rule": ({"rules": [_rule("backend says so", LOOSE, backend=True)]},
                     "tolerances.json rule 0 (backend=fake-*)", "backend says so"),
    "test rule": ({"rules": [_rule("test says so", LOOSE, test=True)]},
                  "tolerances.json rule 0 (test=ptk_offset_*)", "test says so"),
    "backend+test rule": ({"rules": [_rule("both say so", LOOSE, backend=True, test=True)]},
                          "tolerances.json rule 0 (backend=fake-*, test=ptk_offset_*)",
                          "both say so"),
}


@pytest.mark.parametrize("kind", list(LOOSENERS))
def test_each_rules_file_override_reaches_the_comparator(
    harness: None, tmp_path: pathlib.Path, kind: str
) -> None:
    data, label, reason = LOOSENERS[kind]
    result = _run(tmp_path, data)
    assert result.status is Status.PASS, result.message
    assert result.atol == LOOSE
    assert result.rtol == 1.3e-6
    assert label in result.tolerance_source
    assert reason in result.tolerance_source


def test_the_case_attribute_reaches_the_comparator(harness: None, tmp_path: pathlib.Path) -> None:
    result = _run(tmp_path, None, LooseOffsetCase)
    assert result.status is Status.PASS, result.message
    assert result.atol == LOOSE
    assert "case ptk_offset_loose" in result.tolerance_source
    assert "the case says so" in result.tolerance_source


TIGHTENERS = {
    # name: (rules file, case class, label of the winning rule, its reason)
    "backend rule over file default": (
        {"default": {"atol": LOOSE}, "rules": [_rule("tight backend", TIGHT, backend=True)]},
        OffsetCase, "tolerances.json rule 0 (backend=fake-*)", "tight backend"),
    "case attribute over backend rule": (
        {"rules": [_rule("loose backend", 1.0, backend=True)]},
        TightOffsetCase, "case ptk_offset_tight", "tight case"),
    "test rule over case attribute": (
        {"rules": [_rule("tight test", TIGHT, test=True)]},
        LooseOffsetCase, "tolerances.json rule 0 (test=ptk_offset_*)", "tight test"),
    "backend+test rule over test rule": (
        {"rules": [_rule("tight both", TIGHT, backend=True, test=True),
                   _rule("loose test", LOOSE, test=True)]},
        OffsetCase, "tolerances.json rule 0 (backend=fake-*, test=ptk_offset_*)", "tight both"),
}


@pytest.mark.parametrize("kind", list(TIGHTENERS))
def test_a_tighter_higher_precedence_override_turns_it_back_into_a_mismatch(
    harness: None, tmp_path: pathlib.Path, kind: str
) -> None:
    data, case, label, reason = TIGHTENERS[kind]
    result = _run(tmp_path, data, case)
    assert result.status is Status.MISMATCH, result.message
    assert result.atol == TIGHT
    assert label in result.tolerance_source
    assert reason in result.tolerance_source
    assert label in result.message
    assert reason in result.message


# ------------------------------------------------------------ limits, dtypes and patterns (#12)

def _raw(tmp_path: pathlib.Path, text: str | bytes) -> pathlib.Path:
    path = tmp_path / "tolerances.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


@pytest.mark.parametrize(
    ("text", "where", "literal"),
    [
        ('{"rules": [{"atol": NaN, "reason": "r"}]}', "$.rules[0].atol", "NaN"),
        ('{"rules": [{"rtol": Infinity, "reason": "r"}]}', "$.rules[0].rtol", "Infinity"),
        ('{"rules": [{"rtol": -Infinity, "reason": "r"}]}', "$.rules[0].rtol", "-Infinity"),
        ('{"default": {"atol": 1e400}}', "$.default.atol", "1e400"),
        ('{"rules": [{"atol": 1, "reason": "r"}, {"atol": 1e999, "reason": "r"}]}',
         "$.rules[1].atol", "1e999"),
        ('{"rules": [{"atol": 1, "reason": "NaN, Infinity", "test": "x"}], "default": '
         '{"rtol": -1.5E+309}}', "$.default.rtol", "-1.5E+309"),
    ],
)
def test_non_finite_numbers_are_refused_with_the_json_path(
    tmp_path: pathlib.Path, text: str, where: str, literal: str
) -> None:
    path = _raw(tmp_path, text)
    with pytest.raises(ParityError) as info:
        ToleranceRules.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {where}: {literal} is not a finite number")
    assert "finite" in message and "\n" not in message


def test_the_shared_json_reader_refuses_non_finite_numbers(tmp_path: pathlib.Path) -> None:
    from paritykit.files.jsonfile import read_json

    path = _raw(tmp_path, '{"a": [1, 2, {"b": NaN}]}')
    with pytest.raises(ParityError, match=r"\$\.a\[2\]\.b: NaN is not a finite number"):
        read_json(path)
    assert read_json(_raw(tmp_path, '{"reason": "NaN", "x": 1e308, "y": -0.0}')) == {
        "reason": "NaN", "x": 1e308, "y": -0.0}


@pytest.mark.parametrize(
    ("rule", "where", "fragments"),
    [
        ({"atol": 1e7}, "$.rules[0].atol", ("1e7", "maximum", "atol", "0 to 1e6")),
        ({"rtol": 11}, "$.rules[0].rtol", ("maximum", "rtol", "0 to 10")),
        ({"atol": 10**400}, "$.rules[0].atol", ("maximum", "0 to 1e6")),
        ({"dtype": "flaot32", "atol": 1}, "$.rules[0].dtype",
         ("'flaot32'", "no dtype", "float32", "bfloat16", "*")),
        ({"dtype": "float8*", "atol": 1}, "$.rules[0].dtype", ("'float8*'", "no dtype")),
        ({"backend": "inductor,mlx", "atol": 1}, "$.rules[0].backend", ("'inductor,mlx'", "one")),
        ({"backend": " inductor", "atol": 1}, "$.rules[0].backend", ("' inductor'",)),
        ({"test": "  ", "atol": 1}, "$.rules[0].test", ("'  '",)),
        ({"test": "relu\n", "atol": 1}, "$.rules[0].test", ("white space",)),
        ({"atol": 1, "reason": "   "}, "$.rules[0].reason", ("non-empty reason",)),
        ({"atol": 1, "oracle": 2}, "$.rules[0]", ("'oracle'", "allowed", "backend, test")),
    ],
)
def test_limits_dtypes_and_patterns_are_checked(
    tmp_path: pathlib.Path, rule: dict[str, Any], where: str, fragments: tuple[str, ...]
) -> None:
    path = _write(tmp_path, {"rules": [{"reason": "r", **rule}]})
    with pytest.raises(ParityError) as info:
        ToleranceRules.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {where}: ")
    for fragment in fragments:
        assert fragment in message


def test_known_dtypes_patterns_and_the_limits_themselves_are_accepted(
    tmp_path: pathlib.Path,
) -> None:
    rules = ToleranceRules.load(_write(tmp_path, {"default": {"atol": 1e6, "rtol": 10}, "rules": [
        {"dtype": "float32", "atol": 0, "reason": "r"},
        {"dtype": "float*", "rtol": 10, "reason": "r"},
        {"dtype": "int64", "backend": "fake-*", "test": "model:mlp:fc 1[0]", "atol": 1e6,
         "reason": "r"},
    ]}))
    assert [r.dtype for r in rules.rules] == ["float32", "float*", "int64"]


def test_a_non_utf8_tolerances_file_names_the_file(tmp_path: pathlib.Path) -> None:
    path = _raw(tmp_path, b'{"rules": [{"atol": 1, "reason": "caf\xe9"}]}')
    with pytest.raises(ParityError) as info:
        ToleranceRules.load(path)
    assert str(path) in str(info.value) and "UTF-8" in str(info.value)


def test_a_deeply_nested_tolerances_file_is_an_error_naming_the_file(
    tmp_path: pathlib.Path,
) -> None:
    path = _raw(tmp_path, '{"rules": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(ParityError) as info:
        ToleranceRules.load(path)
    assert str(path) in str(info.value) and "nested" in str(info.value)


def test_an_integer_with_too_many_digits_is_an_error_naming_the_file(
    tmp_path: pathlib.Path,
) -> None:
    path = _raw(tmp_path, '{"default": {"atol": ' + "9" * 5000 + "}}")
    with pytest.raises(ParityError) as info:
        ToleranceRules.load(path)
    assert str(info.value) == f"{path}: not valid JSON: an integer has too many digits"


def test_cli_refuses_an_infinite_tolerance_with_exit_2(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before #12 an Infinity atol passed every error: `parity run` exited 0.
    monkeypatch.setenv("COLUMNS", "1000")
    from paritykit.cli.main import main

    path = _raw(tmp_path, '{"default": {"atol": Infinity}}')
    code = main(["run", "-b", "torch", "-k", "relu", "--tolerances", str(path),
                 "--artifact-dir", str(tmp_path / "out"), "--no-cache"])
    captured = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in captured.out + captured.err
    [line] = captured.err.strip().splitlines()
    assert line.startswith("parity: error: ") and str(path) in line and "$.default.atol" in line


def test_pytest_plugin_reports_a_bad_tolerances_file_as_a_usage_error(
    tmp_path: pathlib.Path,
) -> None:
    import subprocess
    import sys

    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    _raw(tmp_path, '{"rules": [{"atol": NaN, "reason": "r"}]}')
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--parity-backend", "torch",
         "--parity-cases", "relu", "--parity-tolerances", "tolerances.json",
         "--parity-artifact-dir", "out", "test_nothing.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, output
    assert "INTERNALERROR" not in output and "Traceback" not in output
    assert "tolerances.json: $.rules[0].atol: NaN is not a finite number" in output


def test_the_documented_limits_are_the_enforced_ones() -> None:
    from paritykit.core.tolerance import ATOL_MAX, RTOL_MAX, sci

    text = (pathlib.Path(__file__).parents[1] / "docs" / "tolerances.md").read_text()
    assert f"`0 <= atol <= {sci(ATOL_MAX)}`" in text
    assert f"`0 <= rtol <= {sci(RTOL_MAX)}`" in text
