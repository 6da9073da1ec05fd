"""pytest-style ``-k`` expressions: ``softmax and not (fp16 or bf16)``.

A bare word matches when it is a case-insensitive substring of any of the candidate names
(case id, base name, backend, markers), as pytest matches test names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from paritykit.core.errors import ParityError

_TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")
Matcher = Callable[[Iterable[str]], bool]


def compile_keyword(expression: str) -> Matcher:
    """Parse ``expression`` into a predicate over a set of names.

    >>> match = compile_keyword("softmax and not half")
    >>> match(["softmax_dim1"]), match(["softmax_half"]), match(["relu"])
    (True, False, False)
    """
    tokens = [m.group(1) for m in _TOKEN.finditer(expression)]
    pos = 0

    def fail(why: str) -> ParityError:
        return ParityError(f"-k {expression!r}: {why}")

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise fail("expression ends too early")
        pos += 1
        return tokens[pos - 1]

    def parse_or() -> Matcher:
        left = parse_and()
        while peek() == "or":
            take()
            right = parse_and()
            left = (lambda a, b: lambda names: a(names) or b(names))(left, right)
        return left

    def parse_and() -> Matcher:
        left = parse_not()
        while peek() == "and":
            take()
            right = parse_not()
            left = (lambda a, b: lambda names: a(names) and b(names))(left, right)
        return left

    def parse_not() -> Matcher:
        if peek() == "not":
            take()
            inner = parse_not()
            return lambda names: not inner(names)
        return parse_atom()

    def parse_atom() -> Matcher:
        token = take()
        if token == "(":
            inner = parse_or()
            if take() != ")":
                raise fail("missing ')'")
            return inner
        if token in (")", "and", "or"):
            raise fail(f"unexpected {token!r}")
        word = token.lower()
        return lambda names: any(word in n.lower() for n in names)

    if not tokens:
        return lambda names: True
    matcher = parse_or()
    if pos != len(tokens):
        raise fail(f"unexpected {tokens[pos]!r}")
    return matcher
