"""Tests of ``-k`` expressions: and/or/not, parentheses, precedence, matching and errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paritykit.core.errors import ParityError
from paritykit.core.keyword import compile_keyword


def test_a_bare_word_is_a_case_insensitive_substring_of_any_name() -> None:
    match = compile_keyword("SoftMax")
    assert match(["softmax_dim1"])
    assert match(["relu", "LOG_SOFTMAX"])
    assert not match(["soft_max"])
    assert not match([])


@pytest.mark.parametrize(
    ("expression", "names", "expected"),
    [
        ("a and b", ["a", "b"], True),
        ("a and b", ["a"], False),
        ("a or b", ["b"], True),
        ("a or b", ["c"], False),
        ("not a", ["b"], True),
        ("not a", ["xax"], False),
        ("not not a", ["a"], True),
        ("(a)", ["a"], True),
        ("softmax and not (fp16 or bf16)", ["softmax_dim1", "inductor"], True),
        ("softmax and not (fp16 or bf16)", ["softmax_bf16", "inductor"], False),
        ("softmax and not (fp16 or bf16)", ["relu", "inductor"], False),
    ],
)
def test_operators(expression: str, names: list[str], expected: bool) -> None:
    assert compile_keyword(expression)(names) is expected


def test_and_binds_tighter_than_or() -> None:
    # a or (b and c), not (a or b) and c
    match = compile_keyword("a or b and c")
    assert match(["a"])
    assert not match(["b"])
    assert match(["b", "c"])


def test_not_binds_tighter_than_and() -> None:
    # (not a) and b, not not (a and b)
    match = compile_keyword("not a and b")
    assert match(["b"])
    assert not match(["a", "b"])
    assert not match(["a"])


def test_parentheses_override_precedence() -> None:
    match = compile_keyword("(a or b) and c")
    assert not match(["a"])
    assert match(["a", "c"])
    assert compile_keyword("not (a and b)")(["a"])


def test_parentheses_need_no_spaces() -> None:
    match = compile_keyword("not(fp16 or(bf16))")
    assert match(["relu"])
    assert not match(["relu_bf16"])


def test_operators_are_words_only_in_lower_case() -> None:
    # Like pytest: "AND" is a keyword to look for, not the operator.
    assert compile_keyword("AND")(["sandwich"])


def test_an_empty_expression_matches_everything() -> None:
    assert compile_keyword("")(["anything"])
    assert compile_keyword("   ")([])


@pytest.mark.parametrize(
    ("expression", "why"),
    [
        ("and", "unexpected 'and'"),
        ("or a", "unexpected 'or'"),
        ("(a", "ends too early"),
        ("(a b", "missing ')'"),
        ("a b", "unexpected 'b'"),
        ("a)", "unexpected ')'"),
        ("()", "unexpected ')'"),
        ("a and", "ends too early"),
        ("not", "ends too early"),
    ],
)
def test_errors_name_the_expression(expression: str, why: str) -> None:
    with pytest.raises(ParityError) as info:
        compile_keyword(expression)
    text = str(info.value)
    assert text.startswith(f"-k {expression!r}: ")
    assert why in text


# ------------------------------------------------------- property: Python's own boolean grammar

WORDS = ["alpha", "beta", "gamma"]


@st.composite
def expressions(draw: st.DrawFn, depth: int = 0) -> list[str]:
    """A token list of a valid expression (not > and > or, like Python)."""
    kind = draw(st.sampled_from(["word", "word", "not", "and", "or", "paren"] if depth < 4
                                else ["word"]))
    if kind == "word":
        return [draw(st.sampled_from(WORDS))]
    if kind == "not":
        return ["not", *draw(expressions(depth + 1))]
    if kind == "paren":
        return ["(", *draw(expressions(depth + 1)), ")"]
    return [*draw(expressions(depth + 1)), kind, *draw(expressions(depth + 1))]


@settings(max_examples=200, deadline=None)
@given(tokens=expressions(), present=st.sets(st.sampled_from(WORDS)))
def test_evaluation_agrees_with_python(tokens: list[str], present: set[str]) -> None:
    # Python's `not`/`and`/`or` have the precedence -k promises, so it is the oracle.
    python = " ".join(str(t in present) if t in WORDS else t for t in tokens)
    expected = eval(python)  # only True/False/and/or/not/parentheses
    names = [f"case_{w}_x" for w in present]
    assert compile_keyword(" ".join(tokens))(names) is expected
