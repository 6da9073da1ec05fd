"""Tolerances as values: per-dtype defaults, case overrides and a rules file.

Precedence, lowest first (the rules file orders ``default < backend < test < backend+test``;
a later rule beats an earlier one of the same specificity):

1. the per-dtype default of ``torch.testing.assert_close``;
2. the rules file's ``default``;
3. rules with only ``backend``;
4. the case's own ``atol`` / ``rtol`` attributes;
5. rules with only ``test``;
6. rules with both ``backend`` and ``test``.

``atol`` and ``rtol`` are resolved independently, so a rule may set just one of them.
"""

from __future__ import annotations

import fnmatch
import math
import pathlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jsonschema

from paritykit.core.errors import ParityError
from paritykit.files.jsonfile import check_schema, json_path, read_json

#: (atol, rtol) per dtype, as ``torch.testing.assert_close`` uses them.
DEFAULTS: dict[str, tuple[float, float]] = {
    "float16": (1e-5, 1e-3),
    "bfloat16": (1e-5, 1.6e-2),
    "float32": (1e-5, 1.3e-6),
    "float64": (1e-7, 1e-7),
    "complex64": (1e-5, 1.3e-6),
    "complex128": (1e-7, 1e-7),
}


@dataclass(frozen=True)
class Tolerance:
    """An (atol, rtol) pair with where it came from and why.

    >>> default_tolerance("float32").describe()
    'atol=1e-5 rtol=1.3e-6 (float32 default)'
    """

    atol: float
    rtol: float
    source: str
    reason: str = ""

    def describe(self) -> str:
        """``atol=… rtol=… (source: reason)`` as used in every failure message."""
        why = f": {self.reason}" if self.reason else ""
        return f"atol={sci(self.atol)} rtol={sci(self.rtol)} ({self.source}{why})"


def sci(x: float) -> str:
    """Compact number for messages: ``2.1e-3``, ``1e-5``, ``0.41``.

    >>> sci(0.0021), sci(1e-5), sci(1.3e-6), sci(0.5)
    ('2.1e-3', '1e-5', '1.3e-6', '0.5')
    """
    if not math.isfinite(x):
        return str(x)
    if x == 0 or 1e-2 <= abs(x) < 1e4:
        return f"{x:.2g}"
    mantissa, exponent = f"{x:.1e}".split("e")
    return f"{mantissa.removesuffix('.0')}e{int(exponent)}"


def default_tolerance(dtype: str) -> Tolerance:
    """The per-dtype default; exact (0, 0) for integer and bool dtypes."""
    atol, rtol = DEFAULTS.get(dtype, (0.0, 0.0))
    return Tolerance(atol, rtol, f"{dtype} default")


#: The largest ``atol`` / ``rtol`` a rules file may set. Beyond them a "tolerance" passes every
#: plausible error (``atol`` 1e6 already hides any activation-sized value; ``rtol`` 10 accepts
#: anything within ten times the expected magnitude), so a larger value is taken for a typo.
ATOL_MAX = 1e6
RTOL_MAX = 10.0
_LIMITS = {"atol": ATOL_MAX, "rtol": RTOL_MAX}

_NO_CONTROL = r"[^\x00-\x1f\x7f]"
_VISIBLE = r"[^\s\x00-\x1f\x7f]"
_REASON = {"type": "string", "pattern": r"\S"}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "default": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "atol": {"type": "number", "minimum": 0, "maximum": ATOL_MAX},
                "rtol": {"type": "number", "minimum": 0, "maximum": RTOL_MAX},
                "reason": {"type": "string"},
            },
        },
        "rules": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["reason"],
                "anyOf": [{"required": ["atol"]}, {"required": ["rtol"]}],
                "properties": {
                    # One backend name or * pattern: no white space, no comma (not a -b list).
                    "backend": {"type": "string", "pattern": r"^[^\s,\x00-\x1f\x7f]+\Z"},
                    # A case id, model:<name>[:<module>] or pytest test name, or a * pattern.
                    "test": {"type": "string",
                             "pattern": rf"^{_VISIBLE}(?:{_NO_CONTROL}*{_VISIBLE})?\Z"},
                    # A dtype name or * pattern; it must match a dtype paritykit carries.
                    "dtype": {"type": "string", "pattern": r"^[A-Za-z0-9_*?\[\]!]+\Z"},
                    "atol": {"type": "number", "minimum": 0, "maximum": ATOL_MAX},
                    "rtol": {"type": "number", "minimum": 0, "maximum": RTOL_MAX},
                    "reason": _REASON,
                },
            },
        },
    },
}
"""JSON Schema of a rules file. :meth:`ToleranceRules.from_dict` also checks that each
``dtype`` pattern matches a dtype of :func:`paritykit.core.dtypes.carried_dtypes`."""


def _shown(value: Any) -> str:
    """A number as messages show it (``1e7``; a huge integer by its magnitude)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return repr(value)
    if isinstance(value, int) and value.bit_length() > 1000:  # float() would overflow
        return f"an integer of about 1e{int(value.bit_length() * math.log10(2))}"
    return sci(float(value))


def _pattern_problem(value: str, key: str) -> str:
    if not value:
        return "is empty"
    if key == "backend" and "," in value:
        return "holds a comma: write one rule per backend (or one * pattern)"
    if any(ord(c) < 32 or ord(c) == 127 for c in value.strip(" ")):
        return "holds a control character or white space other than spaces"
    if value != value.strip():
        return "starts or ends with white space"
    if key == "backend":
        return "holds white space"
    return "holds characters a dtype name has not"


_PATTERN_HINT = {
    "backend": "backend is one backend name or * pattern",
    "test": "test is a case id, its base name or a * pattern over them",
    "dtype": "dtype is a dtype name such as float32, or a * pattern such as float*",
}


def describe_error(error: jsonschema.ValidationError) -> str:
    """``$.rules[3]: rule 3 needs atol or rtol ...``: the JSON path, the problem, what is
    allowed (the ``describe`` of :func:`check_schema` for rules files)."""
    parts = list(error.absolute_path)
    where = json_path(parts)
    key = parts[-1] if parts and isinstance(parts[-1], str) else None
    value = error.instance
    if error.validator == "anyOf":
        return (f"{where}: rule {parts[-1]} needs atol or rtol (or both): set at least one, a "
                f"number from 0 to {sci(ATOL_MAX)} (atol) / {sci(RTOL_MAX)} (rtol)")
    if key in _LIMITS and len(parts) >= 2:
        allowed = f"{key} must be a finite number from 0 to {sci(_LIMITS[key])}"
        if error.validator == "maximum":
            return f"{where}: {_shown(value)} is above the maximum; {allowed}"
        if error.validator == "minimum":
            return f"{where}: {_shown(value)} is below the minimum; {allowed}"
        return f"{where}: {error.message}; {allowed}"
    if key == "reason" and len(parts) >= 2:
        return f"{where}: {value!r}: every rule needs a non-empty reason (a string)"
    if key in _PATTERN_HINT and len(parts) >= 2:
        problem = (_pattern_problem(value, key) if error.validator == "pattern"
                   else f"is {type(value).__name__}, not a string")
        return f"{where}: {value!r} {problem}; {_PATTERN_HINT[key]}"
    if error.validator == "additionalProperties":
        allowed = ", ".join(error.schema.get("properties", {}))
        return f"{where}: {error.message}; allowed keys: {allowed}"
    if error.validator == "required":
        return f"{where}: {error.message}; every rule needs a non-empty reason"
    if error.validator == "type":
        shape = {"$": 'an object with "default" and/or "rules"', "$.default":
                 'an object with "atol", "rtol" and/or "reason"', "$.rules": "an array of rules"}
        return (f"{where}: {error.message}; expected "
                f"{shape.get(where, 'an object with reason and atol and/or rtol')}")
    return f"{where}: {error.message}"


def _check_dtypes(data: dict[str, Any], path: str) -> None:
    if not any("dtype" in r for r in data.get("rules", [])):
        return
    from paritykit.core.dtypes import carried_dtypes  # imports torch: only when needed

    names = carried_dtypes()
    for i, rule in enumerate(data.get("rules", [])):
        pattern = rule.get("dtype")
        if pattern is not None and not any(fnmatch.fnmatchcase(n, pattern) for n in names):
            raise ParityError(f"{path}: {json_path(['rules', i, 'dtype'])}: {pattern!r} matches "
                              f"no dtype paritykit knows; use one of {', '.join(names)}, or a "
                              "* pattern over them")


@dataclass(frozen=True)
class Rule:
    """One entry of the rules file; ``backend``/``test``/``dtype`` are ``*`` patterns."""

    index: int
    reason: str
    backend: str | None = None
    test: str | None = None
    dtype: str | None = None
    atol: float | None = None
    rtol: float | None = None

    @property
    def specificity(self) -> int:
        """0 none, 1 backend, 2 test, 3 backend+test (the rules file's order)."""
        return (self.backend is not None) + 2 * (self.test is not None)

    def matches(self, backend: str, case_id: str, base: str, dtype: str) -> bool:
        """Whether this rule applies; ``test`` matches the case id or its base name."""
        if self.backend is not None and not fnmatch.fnmatchcase(backend, self.backend):
            return False
        if self.test is not None and not (
            fnmatch.fnmatchcase(case_id, self.test) or fnmatch.fnmatchcase(base, self.test)
        ):
            return False
        return self.dtype is None or fnmatch.fnmatchcase(dtype, self.dtype)

    def label(self, path: str) -> str:
        """How the rule is named in messages."""
        parts = [f"{k}={v}" for k, v in (("backend", self.backend), ("test", self.test),
                                         ("dtype", self.dtype)) if v is not None]
        return f"{path} rule {self.index} ({', '.join(parts)})"


@dataclass(frozen=True)
class CaseTolerance:
    """A case's own override (its ``atol`` / ``rtol`` class attributes)."""

    atol: float | None = None
    rtol: float | None = None
    reason: str = ""


@dataclass(frozen=True)
class ToleranceRules:
    """The parsed rules file (empty by default).

    >>> rules = ToleranceRules.from_dict({"rules": [
    ...     {"backend": "inductor", "test": "conv*", "atol": 1e-3, "reason": "tf32-like"}]})
    >>> rules.resolve("inductor", "conv2d_s2", "conv2d", "float32").atol
    0.001
    """

    default_atol: float | None = None
    default_rtol: float | None = None
    default_reason: str = ""
    rules: tuple[Rule, ...] = ()
    path: str = "tolerances"

    @classmethod
    def from_dict(cls, data: Any, path: str = "tolerances") -> ToleranceRules:
        """Validate ``data`` against :data:`SCHEMA`; errors name the file and the JSON path."""
        check_schema(data, SCHEMA, path, describe_error)
        _check_dtypes(data, path)
        default = data.get("default", {})
        rules = tuple(
            Rule(index=i, reason=r["reason"], backend=r.get("backend"), test=r.get("test"),
                 dtype=r.get("dtype"), atol=r.get("atol"), rtol=r.get("rtol"))
            for i, r in enumerate(data.get("rules", []))
        )
        return cls(default.get("atol"), default.get("rtol"), default.get("reason", ""), rules, path)

    @classmethod
    def load(cls, path: str | pathlib.Path) -> ToleranceRules:
        """Read and validate a rules file."""
        data = read_json(path, shown=f"--tolerances {path}")
        return cls.from_dict(data, str(path))

    def resolver(self, backend: str, case_id: str, base: str,
                 case: CaseTolerance | None = None) -> Callable[[str], Tolerance]:
        """``dtype -> tolerance`` for one (case, backend): what the comparator takes."""
        return lambda dtype: self.resolve(backend, case_id, base, dtype, case)

    def resolve(
        self,
        backend: str,
        case_id: str,
        base: str,
        dtype: str,
        case: CaseTolerance | None = None,
    ) -> Tolerance:
        """The tolerance for one output of one case on one backend."""
        default = default_tolerance(dtype)
        layers: list[tuple[int, int, str, float | None, float | None, str]] = [
            (0, 0, default.source, default.atol, default.rtol, ""),
            (1, -1, f"{self.path} default", self.default_atol, self.default_rtol,
             self.default_reason),
        ]
        if case is not None:
            layers.append((_CASE_RANK, 0, f"case {base}", case.atol, case.rtol, case.reason))
        layers.extend(
            (_RULE_RANK[r.specificity], r.index, r.label(self.path), r.atol, r.rtol, r.reason)
            for r in self.rules
            if r.matches(backend, case_id, base, dtype)
        )
        layers.sort(key=lambda layer: layer[:2])
        return _merge([layer[2:] for layer in layers])


# Ranks of the layers: the case's own override sits between backend-wide and test rules.
_CASE_RANK = 3
_RULE_RANK = {0: 1, 1: 2, 2: 4, 3: 5}


def _merge(layers: list[tuple[str, float | None, float | None, str]]) -> Tolerance:
    atol = rtol = 0.0
    atol_from = rtol_from = ("", "")
    for label, a, r, reason in layers:
        if a is not None:
            atol, atol_from = a, (label, reason)
        if r is not None:
            rtol, rtol_from = r, (label, reason)
    if atol_from == rtol_from:
        return Tolerance(atol, rtol, atol_from[0], atol_from[1])
    source = f"atol from {atol_from[0]}, rtol from {rtol_from[0]}"
    reason = "; ".join(dict.fromkeys(x for x in (atol_from[1], rtol_from[1]) if x))
    return Tolerance(atol, rtol, source, reason)

