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

from paritykit.files.jsonfile import check_schema, read_json

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


_NUMBER = {"type": "number", "minimum": 0}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "default": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"atol": _NUMBER, "rtol": _NUMBER, "reason": {"type": "string"}},
        },
        "rules": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["reason"],
                "anyOf": [{"required": ["atol"]}, {"required": ["rtol"]}],
                "properties": {
                    "backend": {"type": "string", "minLength": 1},
                    "test": {"type": "string", "minLength": 1},
                    "dtype": {"type": "string", "minLength": 1},
                    "atol": _NUMBER,
                    "rtol": _NUMBER,
                    "reason": {"type": "string", "minLength": 1},
                },
            },
        },
    },
}


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
        check_schema(data, SCHEMA, path)
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

