"""Reading a user's JSON file with an error that names it: one wording for every such file.

Files with a JSON schema are validated here too (:func:`read_json` with ``schema``, or
:func:`check_schema` for data parsed elsewhere); an error names the file and the JSON path.
"""

from __future__ import annotations

import json
import math
import pathlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jsonschema

from paritykit.core.errors import ParityError

Describe = Callable[[jsonschema.ValidationError], str]


def json_path(parts: Iterable[str | int]) -> str:
    """``$.inputs[0].value`` from a jsonschema path.

    >>> json_path(["inputs", 0, "value"])
    '$.inputs[0].value'
    """
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def at_path(error: jsonschema.ValidationError) -> str:
    """``$.rules[0]: 'reason' is a required property``: the JSON path, then jsonschema's text."""
    return f"{json_path(error.absolute_path)}: {error.message}"


_PY_TYPES = {"integer": "int", "string": "str", "object": "dict", "array": "list",
             "number": "float", "boolean": "bool", "null": "None"}


def as_field(error: jsonschema.ValidationError) -> str:
    """``missing field cases.relu.inputs`` / ``field seed should be int, got str``: for files
    people read as nested fields rather than JSON paths (the golden manifest)."""
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = next((k for k in error.validator_value if k not in error.instance), "?")
        return f"missing field {'.'.join([*path, missing])}"
    where = ".".join(path) or "(top level)"
    if error.validator == "type":
        wanted = error.validator_value
        names = [wanted] if isinstance(wanted, str) else list(wanted)
        return (f"field {where} should be {' or '.join(_PY_TYPES.get(n, n) for n in names)}, "
                f"got {type(error.instance).__name__}")
    return f"field {where}: {error.message}"


def schema_errors(data: Any, schema: Mapping[str, Any]) -> list[jsonschema.ValidationError]:
    """Every way ``data`` breaks ``schema``, outermost path first."""
    validator = jsonschema.Draft202012Validator(schema)
    return sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])


def check_schema(data: Any, schema: Mapping[str, Any], shown: str,
                 describe: Describe = at_path) -> None:
    """Raise a ParityError ``SHOWN: problem`` for the first way ``data`` breaks ``schema``.

    >>> check_schema({"seed": "x"}, {"properties": {"seed": {"type": "integer"}}}, "m.json",
    ...              as_field)
    Traceback (most recent call last):
    paritykit.core.errors.ParityError: m.json: field seed should be int, got str
    """
    errors = schema_errors(data, schema)
    if errors:
        raise ParityError(f"{shown}: {describe(errors[0])}")


def read_json(path: str | pathlib.Path, shown: str | None = None, missing: str = "",
              schema: Mapping[str, Any] | None = None, describe: Describe = at_path) -> Any:
    """The parsed content of ``path``, or a ParityError naming it (as ``shown``, e.g. with the
    option that named it) and what is wrong: missing (plus the ``missing`` hint), unreadable,
    not UTF-8, not JSON with the line and column, nested too deeply, a number that is not
    finite (``NaN``, ``Infinity``, ``1e400``: Python's json would accept them) with its JSON
    path, or (with ``schema``) not valid with the JSON path.

    Example::

        rules = read_json("tolerances.json", shown="--tolerances tolerances.json")
    """
    data = _parse(pathlib.Path(path), shown or str(path), missing)
    if schema is not None:
        check_schema(data, schema, str(path), describe)
    return data


def _parse(path: pathlib.Path, shown: str, missing: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParityError(f"{shown}: no such file{missing}") from None
    except UnicodeDecodeError as exc:
        raise ParityError(f"{shown}: not UTF-8 text: byte {exc.object[exc.start]:#04x} at "
                          f"offset {exc.start} ({exc.reason})") from None
    except OSError as exc:
        raise ParityError(f"{shown}: cannot be read: {exc}") from None
    found: list[_NonFinite] = []
    try:
        data = json.loads(text, parse_constant=lambda s: _non_finite(s, found),
                          parse_float=lambda s: _finite_float(s, found))
    except json.JSONDecodeError as exc:
        raise ParityError(f"{path}: not valid JSON: line {exc.lineno} column {exc.colno}: "
                          f"{exc.msg}") from None
    except RecursionError:
        raise ParityError(f"{path}: not valid JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer with more digits than int() converts
        what = "an integer has too many digits" if "digits" in str(exc) else str(exc)
        raise ParityError(f"{path}: not valid JSON: {what}") from None
    if found:
        where, literal = _first_non_finite(data)
        raise ParityError(f"{path}: {json_path(where)}: {literal} is not a finite number; "
                          "JSON numbers here must be finite (no NaN, Infinity or magnitude "
                          "beyond 1.8e308)")
    return data


class _NonFinite:
    """Stands for a NaN / Infinity literal or a number that overflows a float while parsing,
    so that the error can name its JSON path."""

    def __init__(self, literal: str) -> None:
        self.literal = literal


def _non_finite(literal: str, found: list[_NonFinite]) -> _NonFinite:
    found.append(_NonFinite(literal))
    return found[-1]


def _finite_float(literal: str, found: list[_NonFinite]) -> float | _NonFinite:
    value = float(literal)
    return value if math.isfinite(value) else _non_finite(literal, found)


def _first_non_finite(data: Any) -> tuple[list[str | int], str]:
    """The path and literal of the first non-finite number in ``data`` (document order)."""
    stack: list[tuple[list[str | int], Any]] = [([], data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, _NonFinite):
            return where, value.literal
        items: Iterable[tuple[str | int, Any]] = (
            value.items() if isinstance(value, dict)
            else enumerate(value) if isinstance(value, list) else ())
        stack.extend(reversed([([*where, k], v) for k, v in items]))
    raise AssertionError("no non-finite number found")  # pragma: no cover
