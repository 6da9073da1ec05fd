"""Tests of the comparator: what it reports about crafted arrays, and the one message grammar."""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from paritykit.core.compare import Comparison, compare_array, compare_outputs, message
from paritykit.core.tolerance import Tolerance, default_tolerance

F32 = default_tolerance("float32")
BF16 = np.dtype(ml_dtypes.bfloat16)


def _cmp(got: list[np.ndarray], expected: list[np.ndarray]) -> Comparison:
    return compare_outputs(got, expected, default_tolerance)


def _fmt4(x: float) -> str:
    """Four significant digits, as a reader of the message would expect them."""
    return f"{float(x):.4g}"


def _ulps_away(x: np.float32, n: int) -> np.float32:
    """``x`` moved ``n`` representable float32 values away from zero."""
    target = np.float32(np.inf) if x >= 0 else np.float32(-np.inf)
    for _ in range(n):
        x = np.nextafter(x, target)
    return x


# ---------------------------------------------------------------------------- the full message


def test_full_message_of_a_softmax_with_three_bad_elements() -> None:
    rng = np.random.default_rng(1)
    expected = (rng.random((4, 1024)) * 0.5).astype(np.float32)
    expected[2, 17] = np.float32(0.41)
    got = expected.copy()
    # Three elements off; the worst one is not the first in C order, so the comparator has to
    # find the greatest difference rather than the first mismatch.
    got[0, 3] = expected[0, 3] + np.float32(1e-3)
    got[2, 17] = np.float32(0.4121)
    got[3, 900] = expected[3, 900] - np.float32(5e-4)

    comparison = _cmp([got], [expected])

    got_text = _fmt4(np.float32(0.4121))
    expected_text = _fmt4(np.float32(0.41))
    assert (got_text, expected_text) == ("0.4121", "0.41")
    assert message("softmax_dim1", "onnxruntime", comparison) == (
        "softmax_dim1 @ onnxruntime: values differ — 3 / 4096 (0.07%) mismatched; "
        f"greatest abs diff 2.1e-3 at [2, 17] (got {got_text}, expected {expected_text}); "
        "atol=1e-5 rtol=1.3e-6 (float32 default)"
    )
    assert comparison.kind == "values"
    assert comparison.mismatched == 3
    assert comparison.total == 4096
    assert comparison.worst_index == (2, 17)
    assert comparison.got == pytest.approx(0.4121, abs=1e-7)
    assert comparison.expected == pytest.approx(0.41, abs=1e-7)
    assert comparison.max_abs_error == pytest.approx(2.1e-3, rel=1e-4)


def test_message_of_a_passing_comparison_is_empty() -> None:
    a = np.ones((2, 3), np.float32)
    comparison = _cmp([a], [a.copy()])
    assert comparison.ok
    assert message("relu", "inductor", comparison) == ""


def test_message_names_the_tolerance_source_and_reason() -> None:
    tol = Tolerance(2e-4, 0.0, "rules.json rule 0 (backend=inductor)", "fused reduction")
    comparison = compare_array(np.array([1.0, 2.0]), np.array([1.0, 2.5]), tol)
    text = message("sum", "inductor", comparison)
    assert text.endswith(
        "; atol=2e-4 rtol=0 (rules.json rule 0 (backend=inductor): fused reduction)")
    assert text.startswith("sum @ inductor: values differ — 1 / 2 (50.00%) mismatched; ")


# ------------------------------------------------------------- structure, shape, dtype, in order


def test_output_count_difference_is_a_structure_failure() -> None:
    a = np.zeros(3, np.float32)
    comparison = _cmp([a], [a, a])
    assert not comparison.ok
    assert comparison.kind == "structure"
    assert message("split", "torch-export", comparison) == (
        "split @ torch-export: structure differs — got 1 output(s), expected 2"
    )


def test_structure_is_checked_before_anything_else() -> None:
    # Output 0 also differs in shape, but the count is what is reported.
    comparison = _cmp([np.zeros(2, np.float32)],
                      [np.zeros(3, np.float32), np.zeros(3, np.float32)])
    assert comparison.kind == "structure"


def test_shape_is_checked_before_dtype() -> None:
    got = np.zeros((2, 3), np.float64)
    expected = np.ones((3, 2), np.float32)
    comparison = _cmp([got], [expected])
    assert comparison.kind == "shape"
    assert comparison.detail == "got shape [2, 3], expected [3, 2]"
    assert message("t", "b", comparison) == (
        "t @ b: shape differs — got shape [2, 3], expected [3, 2]")


def test_dtype_is_checked_before_values() -> None:
    got = np.full((2, 2), 5.0, np.float64)
    expected = np.zeros((2, 2), np.float32)
    comparison = _cmp([got], [expected])
    assert comparison.kind == "dtype"
    assert comparison.detail == "got float64, expected float32"
    assert comparison.mismatched == 0  # values were never looked at


def test_dtype_message_uses_framework_neutral_names() -> None:
    got = np.zeros(4, BF16)
    expected = np.zeros(4, np.float32)
    comparison = _cmp([got], [expected])
    assert message("cast", "onnxruntime", comparison) == (
        "cast @ onnxruntime: dtype differs — got bfloat16, expected float32"
    )
    comparison = _cmp([np.zeros(2, np.bool_)], [np.zeros(2, np.int64)])
    assert comparison.detail == "got bool, expected int64"


# ------------------------------------------------------------------------------ value statistics


def test_mismatched_count_percent_and_errors() -> None:
    expected = np.array([[2.0, 4.0, 8.0], [1.0, 1.0, 1.0]], np.float64)
    got = expected.copy()
    got[0, 1] = 4.5  # abs 0.5, rel 0.125
    got[1, 2] = 1.25  # abs 0.25, rel 0.25
    comparison = _cmp([got], [expected])
    assert comparison.mismatched == 2
    assert comparison.total == 6
    assert "2 / 6 (33.33%) mismatched" in comparison.detail
    assert comparison.max_abs_error == pytest.approx(0.5)
    assert comparison.max_rel_error == pytest.approx(0.25)
    assert comparison.worst_index == (0, 1)
    assert (comparison.got, comparison.expected) == (4.5, 4.0)
    assert "greatest abs diff 0.5 at [0, 1] (got 4.5, expected 4)" in comparison.detail


def test_float32_three_ulp_apart_gives_max_ulp_3() -> None:
    expected = np.array([1.5, -3.25, 1000.0], np.float32)
    got = expected.copy()
    got[1] = _ulps_away(expected[1], 3)
    comparison = _cmp([got], [expected])
    assert comparison.max_ulp == 3.0
    assert comparison.ok  # 3 ulp is within float32's default rtol


@settings(max_examples=100, deadline=None)
@given(
    sign=st.sampled_from([0, 1]),
    exponent=st.integers(1, 253),
    mantissa=st.integers(0, 2**23 - 4),
    ulps=st.integers(0, 3),
)
def test_ulp_distance_of_float32_counts_representable_steps(
    sign: int, exponent: int, mantissa: int, ulps: int
) -> None:
    # The mantissa leaves room for three steps, so the binade (and the ulp size) is unchanged.
    bits = np.array([(sign << 31) | (exponent << 23) | mantissa], np.uint32)
    expected = bits.view(np.float32)
    got = np.array([_ulps_away(expected[0], ulps)], np.float32)
    comparison = _cmp([got], [expected])
    assert comparison.max_ulp == ulps
    assert comparison.ok


def test_bfloat16_arrays_are_compared_in_their_own_precision() -> None:
    expected = np.array([1.0, 2.0, 3.0, 4.0], BF16)
    one_ulp = expected.copy()
    one_ulp[1] = BF16.type(2.015625)  # the next bfloat16 after 2.0
    comparison = _cmp([one_ulp], [expected])
    assert comparison.ok  # within bfloat16's default rtol of 1.6e-2
    assert comparison.max_ulp == 1.0
    assert comparison.tolerance is not None
    assert comparison.tolerance.source == "bfloat16 default"

    far = expected.copy()
    far[2] = BF16.type(3.5)
    comparison = _cmp([far], [expected])
    assert not comparison.ok
    assert comparison.worst_index == (2,)
    assert (comparison.got, comparison.expected) == (3.5, 3.0)
    assert comparison.max_ulp == 32.0  # bfloat16 spacing in [2, 4) is 2**-6
    assert message("gelu_bf16", "inductor", comparison).endswith(
        "atol=1e-5 rtol=0.016 (bfloat16 default)")


def test_float16_uses_its_own_default() -> None:
    expected = np.array([1.0], np.float16)
    got = np.array([1.0 + 2**-10], np.float16)  # one ulp: relative 9.8e-4 < 1e-3
    assert _cmp([got], [expected]).ok
    got = np.array([1.0 + 2 * 2**-10], np.float16)  # two ulp: 2e-3 > 1e-3
    comparison = _cmp([got], [expected])
    assert not comparison.ok
    assert comparison.max_ulp == 2.0


# --------------------------------------------------------------------------------- NaN and Inf


def test_nan_equal_nan_passes() -> None:
    a = np.array([1.0, np.nan, 3.0], np.float32)
    comparison = _cmp([a.copy()], [a])
    assert comparison.ok
    assert comparison.mismatched == 0


def test_nan_against_a_finite_value_is_reported_with_its_position() -> None:
    expected = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    got = expected.copy()
    got[1, 0] = np.nan
    comparison = _cmp([got], [expected])
    assert not comparison.ok
    assert comparison.mismatched == 1
    assert comparison.worst_index == (1, 0)
    assert math.isnan(comparison.got)
    assert comparison.expected == 3.0
    assert "NaN pattern differs at 1 position(s), first at [1, 0]" in comparison.detail


def test_finite_where_nan_was_expected_fails() -> None:
    expected = np.array([np.nan, 1.0])
    comparison = _cmp([np.array([0.0, 1.0])], [expected])
    assert not comparison.ok
    assert comparison.mismatched == 1
    assert "NaN pattern differs at 1 position(s), first at [0]" in comparison.nan_inf


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_equal_infinities_pass(value: float) -> None:
    a = np.array([0.5, value, 2.0], np.float32)
    comparison = _cmp([a.copy()], [a])
    assert comparison.ok


@pytest.mark.parametrize(
    ("got", "expected"),
    [(np.inf, -np.inf), (-np.inf, np.inf), (1.0, np.inf), (np.inf, 1.0), (np.nan, np.inf)],
)
def test_differing_infinities_fail(got: float, expected: float) -> None:
    g = np.array([0.0, got, 0.0], np.float32)
    e = np.array([0.0, expected, 0.0], np.float32)
    comparison = _cmp([g], [e])
    assert not comparison.ok
    assert comparison.mismatched == 1
    assert comparison.worst_index == (1,)


def test_inf_pattern_difference_is_described() -> None:
    expected = np.array([1.0, 2.0, np.inf], np.float64)
    got = np.array([np.inf, 2.0, np.inf], np.float64)
    comparison = _cmp([got], [expected])
    assert not comparison.ok
    assert "Inf pattern differs at 1 position(s), first at [0]" in comparison.detail
    assert "NaN pattern" not in comparison.detail


# ------------------------------------------------------------------------ exact dtypes, empties


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint8])
def test_integers_are_compared_exactly(dtype: type) -> None:
    expected = np.array([10, 20, 30, 40], dtype)
    got = expected.copy()
    got[2] += 1
    comparison = _cmp([got], [expected])
    assert not comparison.ok
    assert comparison.mismatched == 1
    assert comparison.worst_index == (2,)
    name = np.dtype(dtype).name
    assert message("argmax", "b", comparison).endswith(f"atol=0 rtol=0 ({name} default)")
    assert _cmp([expected.copy()], [expected]).ok


def test_large_int64_values_are_compared_exactly() -> None:
    expected = np.array([2**53 + 1], np.int64)
    got = np.array([2**53], np.int64)
    assert not _cmp([got], [expected]).ok


def test_bools_are_compared_exactly() -> None:
    expected = np.array([[True, False], [False, True]])
    got = expected.copy()
    got[0, 1] = True
    comparison = _cmp([got], [expected])
    assert not comparison.ok
    assert comparison.mismatched == 1
    assert comparison.worst_index == (0, 1)
    assert message("lt", "b", comparison).endswith("atol=0 rtol=0 (bool default)")


@pytest.mark.parametrize("shape", [(0,), (0, 3), (2, 0, 5)])
def test_zero_size_arrays_pass(shape: tuple[int, ...]) -> None:
    a = np.zeros(shape, np.float32)
    comparison = _cmp([a], [a.copy()])
    assert comparison.ok
    assert comparison.total == 0


def test_zero_size_arrays_still_check_shape() -> None:
    comparison = _cmp([np.zeros((0, 3), np.float32)], [np.zeros((0, 4), np.float32)])
    assert comparison.kind == "shape"


# ----------------------------------------------------------------------------- multiple outputs


def test_failure_at_output_1_is_named_in_the_message() -> None:
    first = np.arange(6, dtype=np.float32).reshape(2, 3)
    second = np.ones(4, np.float32)
    bad = second.copy()
    bad[3] = 2.0
    comparison = _cmp([first.copy(), bad], [first, second])
    assert comparison.output == 1
    assert comparison.outputs == 2
    assert comparison.worst_index == (3,)
    text = message("topk", "onnxruntime", comparison)
    assert text.startswith("topk @ onnxruntime: values differ at output 1 — 1 / 4 (25.00%)")


def test_first_failing_output_decides() -> None:
    e0, e1 = np.zeros(3, np.float32), np.zeros(3, np.float32)
    g0, g1 = e0 + 1, e1 + 100
    comparison = _cmp([g0, g1], [e0, e1])
    assert comparison.output == 0
    assert comparison.max_abs_error == 1.0


def test_passing_outputs_keep_the_worst_error() -> None:
    e0, e1 = np.ones(3, np.float64), np.ones(3, np.float64)
    g0 = e0 + 1e-9
    g1 = e1.copy()
    g1[2] += 5e-8
    comparison = _cmp([g0, g1], [e0, e1])
    assert comparison.ok
    assert comparison.output == 1
    assert comparison.max_abs_error == pytest.approx(5e-8)


def test_each_output_gets_the_tolerance_of_its_dtype() -> None:
    seen: list[str] = []

    def tolerance_for(dtype: str) -> Tolerance:
        seen.append(dtype)
        return default_tolerance(dtype)

    outs = [np.zeros(2, np.float32), np.zeros(2, np.int64), np.zeros(2, BF16)]
    assert compare_outputs(outs, [o.copy() for o in outs], tolerance_for).ok
    assert seen == ["float32", "int64", "bfloat16"]


def test_no_outputs_at_all_pass() -> None:
    assert _cmp([], []).ok


# ------------------------------------------------------------------------------- properties

_FLOAT_DTYPES = st.sampled_from([np.float16, np.float32, np.float64])


@settings(max_examples=60, deadline=None)
@given(data=st.data(), dtype=_FLOAT_DTYPES)
def test_identical_arrays_always_pass(data: st.DataObject, dtype: type) -> None:
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6))
    a = data.draw(hnp.arrays(dtype, shape, elements=st.floats(allow_nan=True, width=16)))
    comparison = _cmp([a.copy()], [a])
    assert comparison.ok
    assert comparison.mismatched == 0
    assert comparison.max_abs_error == 0.0


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_one_perturbed_element_is_reported_exactly(data: st.DataObject) -> None:
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6))
    expected = data.draw(hnp.arrays(np.float32, shape,
                                    elements=st.floats(-100, 100, width=32)))
    index = tuple(data.draw(st.integers(0, n - 1)) for n in shape)
    delta = data.draw(st.floats(0.01, 10.0) | st.floats(-10.0, -0.01))
    got = expected.copy()
    got[index] = np.float32(expected[index] + delta)

    comparison = _cmp([got], [expected])

    assert not comparison.ok
    assert comparison.mismatched == 1
    assert comparison.total == expected.size
    assert comparison.worst_index == index
    assert comparison.got == float(got[index])
    assert comparison.expected == float(expected[index])
    assert comparison.max_abs_error == pytest.approx(abs(comparison.got - comparison.expected))
    assert f"1 / {expected.size} (" in comparison.detail
    assert f" at {list(index)} (" in comparison.detail


# Elements next to 0.0 have a subnormal ulp; the ULP division overflows to inf (and warns).
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@settings(max_examples=60, deadline=None)
@given(
    expected=hnp.arrays(np.float64, st.integers(1, 20), elements=st.floats(-1e3, 1e3)),
    atol=st.floats(0, 1),
    rtol=st.floats(0, 1),
)
def test_values_inside_the_tolerance_band_pass(expected: np.ndarray, atol: float,
                                               rtol: float) -> None:
    # Every element moved by (a hair less than) its full allowance still passes.
    allowance = (atol + rtol * np.abs(expected)) * 0.999
    comparison = compare_array(expected + allowance, expected, Tolerance(atol, rtol, "t"))
    assert comparison.ok
