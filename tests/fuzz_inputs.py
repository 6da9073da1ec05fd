"""Malformed tolerance rules files and expectations files, generated, for fuzz-style tests.

:func:`malformed_tolerance_files` yields ``(name, bytes)`` for a ``--tolerances FILE`` and
:func:`malformed_expectation_files` for a ``BACKEND.toml`` in an ``--expectations DIR`` (written
as ``torch.toml``). Every variant must be refused by the loader (a ParityError naming the file);
none is valid. The variants come from a valid document by changing one thing: a field's type,
a number that is not finite or out of range, an unknown key, a bad dtype or pattern, the
encoding, truncation, nesting, the top-level type.

An empty expectations file is *not* malformed (a backend with no known failures), so it is not
here; an empty rules file is (it is not JSON).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

Variant = tuple[str, bytes]

# --------------------------------------------------------------------------- tolerance rules

VALID_RULES: dict[str, Any] = {
    "default": {"atol": 1e-4, "rtol": 1e-4, "reason": "file default"},
    "rules": [
        {"backend": "torch", "test": "relu", "dtype": "float32", "atol": 1e-3, "rtol": 1e-3,
         "reason": "a valid rule"},
        {"test": "abs*", "rtol": 1e-2, "reason": "a second valid rule"},
    ],
}
"""A valid rules file; each variant breaks it in one place."""

Where = tuple[str | int, ...]
"""A path into a document, ending at a key: ``("rules", 0, "atol")``."""

_NUMBER_FIELDS: list[tuple[Where, str]] = [
    (("default",), "atol"), (("default",), "rtol"), (("rules", 0), "atol"),
    (("rules", 0), "rtol")]
_STRING_FIELDS: list[tuple[Where, str]] = [
    (("rules", 0), "backend"), (("rules", 0), "test"), (("rules", 0), "dtype"),
    (("rules", 0), "reason"), (("default",), "reason")]
_NOT_A_NUMBER: list[Any] = ["1e-3", True, None, [], {}, [1e-3]]
_NOT_A_STRING: list[Any] = [3, 1.5, True, None, [], {"a": "b"}, ["torch"]]
_NON_FINITE = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1e999", "2E+308"]
_OUT_OF_RANGE: dict[str, list[Any]] = {"atol": [-1, -1e-300, 1.0000001e6, 1e7, 10**400],
                                       "rtol": [-0.5, 10.5, 1e6, 10**30]}
_BAD_STRINGS = {
    "backend": ["", "torch,inductor", " torch", "torch ", "tor ch", "torch\n", "a\tb"],
    "test": ["", "   ", "relu\n", " relu", "re\x00lu", "relu\x7f"],
    "dtype": ["", "flaot32", "float8", "FLOAT32", "float32 ", "int128", "torch.float32", "f*64x"],
    "reason": ["", " ", "\n\t"],
}
_SENTINEL = 987654.125  # a number that appears nowhere else in VALID_RULES


def _dump(doc: Any) -> bytes:
    return json.dumps(doc, indent=1).encode()


def _set(doc: Any, where: tuple[Any, ...], value: Any) -> Any:
    out = copy.deepcopy(doc)
    target = out
    for step in where[:-1]:
        target = target[step]
    target[where[-1]] = value
    return out


def _delete(doc: Any, where: tuple[Any, ...]) -> Any:
    out = copy.deepcopy(doc)
    target = out
    for step in where[:-1]:
        target = target[step]
    del target[where[-1]]
    return out


def _label(where: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in where)


def _with_literal(where: tuple[Any, ...], literal: str) -> bytes:
    """VALID_RULES with the number at ``where`` written as ``literal`` (NaN, 1e400, ...), which
    json.dumps cannot write."""
    text = json.dumps(_set(VALID_RULES, where, _SENTINEL), indent=1)
    assert text.count(repr(_SENTINEL)) == 1
    return text.replace(repr(_SENTINEL), literal).encode()


def _truncations(data: bytes, name: str) -> Iterator[Variant]:
    for fraction in (0.1, 0.25, 0.5, 0.75, 0.9):
        cut = int(len(data) * fraction)
        # Not just after a line, a closing bracket or quote: the rest could be a valid document.
        while cut > 1 and data[cut - 1:cut] in (b"\n", b" ", b"]", b"}", b'"'):
            cut -= 1
        yield f"{name}-truncated-{int(fraction * 100)}pct", data[:cut]
    yield f"{name}-truncated-last-byte", data.rstrip()[:-1]


def malformed_tolerance_files() -> Iterator[Variant]:
    """``(name, bytes)`` of rules files that ``parity run --tolerances`` must refuse."""
    valid = _dump(VALID_RULES)
    for parent, key in _NUMBER_FIELDS:
        where = (*parent, key)
        for i, value in enumerate(_NOT_A_NUMBER):
            yield f"{_label(where)}-type-{type(value).__name__}-{i}", _dump(
                _set(VALID_RULES, where, value))
        for literal in _NON_FINITE:
            yield f"{_label(where)}-literal-{literal}", _with_literal(where, literal)
        for value in _OUT_OF_RANGE[key]:
            yield f"{_label(where)}-out-of-range-{str(value)[:12]}", _dump(
                _set(VALID_RULES, where, value))
    for parent, key in _STRING_FIELDS:
        where = (*parent, key)
        for i, value in enumerate(_NOT_A_STRING):
            yield f"{_label(where)}-type-{type(value).__name__}-{i}", _dump(
                _set(VALID_RULES, where, value))
        if parent[0] == "rules":
            for i, text in enumerate(_BAD_STRINGS[key]):
                yield f"{_label(where)}-bad-{i}", _dump(_set(VALID_RULES, where, text))
    # unknown keys at every level
    for where, key in [((), "rulez"), ((), "defaults"), (("default",), "atl"),
                       (("default",), "backend"), (("rules", 0), "oracle"),
                       (("rules", 0), "factor"), (("rules", 0), "bakend"),
                       (("rules", 1), "Atol"), (("rules", 0), "")]:
        yield f"unknown-key-{_label(where) or 'top'}-{key or 'empty'}", _dump(
            _set(VALID_RULES, (*where, key), 1))
    # what a rule needs
    yield "rule-without-reason", _dump(_delete(VALID_RULES, ("rules", 1, "reason")))
    no_tol = _delete(_delete(VALID_RULES, ("rules", 0, "atol")), ("rules", 0, "rtol"))
    yield "rule-without-atol-or-rtol", _dump(no_tol)
    yield "rule-with-only-reason", _dump(_set(VALID_RULES, ("rules",), [{"reason": "r"}]))
    yield "rule-empty-object", _dump(_set(VALID_RULES, ("rules",), [{}]))
    # wrong container types
    for i, value in enumerate([{}, "rules", 3, None, True, {"0": VALID_RULES["rules"][0]}]):
        yield f"rules-type-{type(value).__name__}-{i}", _dump(_set(VALID_RULES, ("rules",), value))
    for i, value in enumerate([3, "x", [], None, [VALID_RULES["rules"][0]]]):
        yield f"rule-item-type-{type(value).__name__}-{i}", _dump(
            _set(VALID_RULES, ("rules", 1), value))
    for i, value in enumerate([[], 1e-3, "x", None]):
        yield f"default-type-{type(value).__name__}-{i}", _dump(
            _set(VALID_RULES, ("default",), value))
    for i, value in enumerate([[], [VALID_RULES], "rules", 3, None, True, 1.5]):
        yield f"top-level-{type(value).__name__}-{i}", _dump(value)
    # encodings and bytes
    yield "latin-1-reason", valid.replace(b"a valid rule", "a valid r\u00e8gle".encode("latin-1"))
    yield "utf-16", json.dumps(VALID_RULES).encode("utf-16")
    yield "invalid-start-byte", b"\xff" + valid
    yield "surrogate-bytes", valid.replace(b"a valid rule", b"a \xed\xa0\x80 rule")
    yield "nul-byte", valid.replace(b"a valid rule", b"a \x00 rule")
    yield "bom-then-json", b"\xef\xbb\xbf" + valid
    yield from _truncations(valid, "rules")
    yield "empty-file", b""
    yield "whitespace-only", b" \n\t\n"
    yield "trailing-garbage", valid + b"\nx"
    yield "two-documents", valid + valid
    yield "trailing-comma", b'{"rules": [],}'
    yield "comment", b'// rules\n{"rules": []}'
    yield "single-quotes", b"{'rules': []}"
    yield "toml-instead-of-json", b'[[rules]]\natol = 1e-3\nreason = "r"\n'
    # nesting
    deep = 100_000
    yield "deep-arrays-in-rules", b'{"rules": ' + b"[" * deep + b"]" * deep + b"}"
    yield "deep-objects-in-default", b'{"default": ' + b'{"a": ' * deep + b"1" + b"}" * deep + b"}"
    yield "moderately-nested-atol", _dump(_set(VALID_RULES, ("default", "atol"),
                                               _nest(50)))
    yield "huge-integer", b'{"default": {"atol": ' + b"9" * 5000 + b"}}"
    yield "huge-exponent", b'{"default": {"atol": 1e99999999999}}'


def _nest(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


# ------------------------------------------------------------------------------ expectations

VALID_EXPECTATIONS = """backend = "torch"

[xfail]
relu = "LOWER_ERROR: pretend"
"abs*" = { reason = "MISMATCH: pretend", strict = false }

[skip]
tanh = "slow"
"""
"""A valid ``torch.toml``; each variant breaks it in one place."""

#: TOML values of each type (for "wrong type" variants).
_TOML_VALUES = {"integer": "3", "float": "1.5", "boolean": "true", "array": "[1, 2]",
                "table": '{ a = "b" }', "date": "1979-05-27", "datetime": "1979-05-27T07:32:00Z",
                "nan": "nan", "inf": "-inf", "string": '"x"', "empty-string": '""',
                "blank-string": '"  "', "empty-table": "{}", "empty-array": "[]"}


def _toml(backend: str = '"torch"', xfail: str | None = None, skip: str | None = None,
          extra: str = "") -> bytes:
    xfail = xfail if xfail is not None else (
        '[xfail]\nrelu = "LOWER_ERROR: pretend"\n'
        '"abs*" = { reason = "MISMATCH: pretend", strict = false }\n')
    skip = skip if skip is not None else '[skip]\ntanh = "slow"\n'
    head = f"backend = {backend}\n" if backend else ""
    return f"{head}{extra}\n{xfail}\n{skip}".encode()


def malformed_expectation_files() -> Iterator[Variant]:
    """``(name, bytes)`` of ``torch.toml`` files that ``--expectations DIR`` must refuse."""
    for kind, value in _TOML_VALUES.items():
        if kind != "string":
            yield f"backend-{kind}", _toml(backend=value)
        if kind not in ("string",):
            yield f"xfail-entry-{kind}", _toml(xfail=f"[xfail]\nrelu = {value}\n")
            yield f"skip-entry-{kind}", _toml(skip=f"[skip]\ntanh = {value}\n")
        if kind not in ("string",):
            yield f"xfail-reason-{kind}", _toml(xfail=f"[xfail]\nrelu = {{ reason = {value} }}\n")
        if kind not in ("boolean",):
            yield f"strict-{kind}", _toml(
                xfail=f'[xfail]\nrelu = {{ reason = "r", strict = {value} }}\n')
        if kind not in ("table", "empty-table"):
            yield f"xfail-table-{kind}", _toml(xfail=f"xfail = {value}\n", extra="")
            yield f"skip-table-{kind}", _toml(skip=f"skip = {value}\n", xfail="")
    for value in ['"yes"', '"true"', '"false"', "0", "1"]:
        yield f"strict-{value.strip(chr(34))}", _toml(
            xfail=f'[xfail]\nrelu = {{ reason = "r", strict = {value} }}\n')
    for key in ["stict", "reasons", "xfail", "Strict", "why"]:
        yield f"entry-unknown-key-{key}", _toml(
            xfail=f'[xfail]\nrelu = {{ reason = "r", {key} = false }}\n')
    yield "entry-without-reason", _toml(xfail="[xfail]\nrelu = { strict = false }\n")
    yield "skip-entry-with-strict", _toml(skip='[skip]\ntanh = { reason = "r", strict = false }\n')
    yield "dotted-key-entry", _toml(xfail='[xfail]\nrelu.why = "r"\n')
    yield "subtable-entry", _toml(xfail='[xfail.relu]\nwhy = "r"\n')
    for table in ["xpass", "skipped", "XFAIL", "expectations", "tolerances"]:
        yield f"unknown-table-{table}", _toml(extra=f'[{table}]\nrelu = "r"\n')
    for key in ["name", "strict", "version"]:
        yield f"unknown-top-key-{key}", _toml(extra=f'{key} = "x"\n')
    for i, pattern in enumerate(['""', '"  "', '"\\t"']):
        yield f"empty-pattern-{i}", _toml(xfail=f'[xfail]\n{pattern} = "r"\n')
    yield "backend-mismatch", _toml(backend='"onnxruntime"')
    yield "backend-empty", _toml(backend='""')
    # not TOML
    valid = VALID_EXPECTATIONS.encode()
    yield from _truncations(valid, "expectations")
    yield "unclosed-table-header", b"[xfail\nrelu = \"r\"\n"
    yield "unterminated-string", b'[xfail]\nrelu = "r\n'
    yield "missing-value", b"[xfail]\nrelu = \n"
    yield "duplicate-key", b'[xfail]\nrelu = "a"\nrelu = "b"\n'
    yield "duplicate-table", b'[xfail]\nrelu = "a"\n[xfail]\nabs = "b"\n'
    yield "json-instead-of-toml", json.dumps({"xfail": {"relu": "r"}}).encode()
    yield "yaml-instead-of-toml", b"xfail:\n  relu: r\n"
    # encodings and bytes
    yield "latin-1-reason", valid.replace(b"pretend", "pr\u00e9tendu".encode("latin-1"))
    yield "utf-16", VALID_EXPECTATIONS.encode("utf-16")
    yield "invalid-start-byte", b"\xff" + valid
    yield "surrogate-bytes", valid.replace(b"pretend", b"\xed\xa0\x80")
    yield "nul-byte", valid.replace(b"pretend", b"\x00")
    yield "control-char-in-string", valid.replace(b"pretend", b"\x07")
    yield "bom-then-toml", b"\xef\xbb\xbf" + valid
    # nesting
    deep = 100_000
    yield "deep-arrays", b"a = " + b"[" * deep + b"]" * deep + b"\n"
    yield "deep-inline-tables", b"a = " + b"{ b = " * deep + b"1" + b" }" * deep + b"\n"
    yield "moderately-nested-entry", _toml(
        xfail="[xfail]\nrelu = " + "[" * 50 + "1" + "]" * 50 + "\n")
    yield "huge-integer-strict", _toml(
        xfail='[xfail]\nrelu = { reason = "r", strict = ' + "9" * 5000 + " }\n")


def all_variants() -> dict[str, list[Variant]]:
    """Both lists, by kind: ``{"tolerances": [...], "expectations": [...]}``."""
    return {"tolerances": list(malformed_tolerance_files()),
            "expectations": list(malformed_expectation_files())}
