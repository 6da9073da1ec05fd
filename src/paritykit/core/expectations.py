"""Expectations files: per backend, the cases known to fail (``xfail``) or not to run (``skip``).

One TOML file per backend, named ``<backend>.toml``; keys are case-id patterns (``fnmatch``
globs over config ids), values the reason, which is required::

    [xfail]
    cumprod = "LOWER_ERROR: the ONNX exporter has no conversion for prims.prod"
    "median*" = { reason = "MISMATCH: ...", strict = false }

    [skip]
    big_conv = "takes 10 minutes on this backend"

An xfail that fails is XFAIL (the run stays green); one that passes is XPASS and fails the run
(strict), unless the entry says ``strict = false``. The built-in files live in
``paritykit/builtin_expectations/``; ``--expectations DIR`` adds a directory whose files replace the
built-in file of the same backend.

Example::

    exp = Expectations.from_data({"xfail": {"cumprod": "no converter"}}, "onnxruntime", "x.toml")
    exp.match("cumprod").reason  # 'no converter'
"""

from __future__ import annotations

import datetime
import fnmatch
import json
import pathlib
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from paritykit.core.errors import ParityError
from paritykit.core.result import Result, Status

BUILTIN_DIR = pathlib.Path(__file__).parents[1] / "builtin_expectations"
"""Where the expectations shipped for the built-in backends live."""

_REASON = {"type": "string", "minLength": 1, "pattern": r"\S"}
_ENTRY = {
    "oneOf": [
        _REASON,
        {"type": "object", "required": ["reason"], "additionalProperties": False,
         "properties": {"reason": _REASON, "strict": {"type": "boolean"}}},
    ]
}
_PATTERN = {"pattern": r"\S"}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "backend": {"type": "string", "minLength": 1},
        "xfail": {"type": "object", "propertyNames": _PATTERN, "additionalProperties": _ENTRY},
        "skip": {"type": "object", "propertyNames": _PATTERN, "additionalProperties": _REASON},
    },
}
"""JSON Schema of one expectations file (after TOML parsing); :meth:`Expectations.from_data`
refuses exactly what it refuses, with a message that names the key and what is allowed."""

_TABLES = ("backend", "xfail", "skip")
_ENTRY_KEYS = ("reason", "strict")


def _kind(value: Any) -> str:
    """The TOML name of a value's type, for messages."""
    for types, name in ((bool, "boolean"), (str, "string"), (int, "integer"), (float, "float"),
                        (dict, "table"), (list, "array")):
        if isinstance(value, types):
            return name
    return "date/time" if isinstance(value, datetime.date | datetime.time) else type(value).__name__


def _toml_key(key: str) -> str:
    """``relu``, or ``"a.b"`` where the key is not a bare TOML key."""
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _key(table: str, key: str) -> str:
    """``xfail.relu`` / ``xfail."a.b"``: where an entry is, for messages."""
    return f"{table}.{_toml_key(key)}"


def _problem(data: Any) -> str | None:
    """The first way ``data`` breaks :data:`SCHEMA`: ``where: what is wrong; what is allowed``."""
    if not isinstance(data, dict):
        return f"(top level): must be a table, got {_kind(data)}"
    for name in data:
        if name not in _TABLES:
            return f"{name}: unknown table or key; allowed: {', '.join(_TABLES)}"
    backend = data.get("backend", "x")
    if not isinstance(backend, str) or not backend:
        return (f"backend: must be a non-empty string naming the backend (the file name "
                f"without .toml), got {_kind(backend)} {backend!r}")
    for table in ("skip", "xfail"):
        entries = data.get(table, {})
        if not isinstance(entries, dict):
            return (f"{table}: must be a table of `case = \"reason\"` entries ([{table}]), "
                    f"got {_kind(entries)}")
        for pattern, value in entries.items():
            problem = _entry_problem(table, pattern, value)
            if problem:
                return problem
    return None


def _entry_problem(table: str, pattern: str, value: Any) -> str | None:
    where = _key(table, pattern)
    if not pattern.strip():
        return f"{table}: {pattern!r} is an empty pattern; keys are case ids or * patterns"
    needs = f"{where}: needs a non-empty reason: `{_toml_key(pattern)} = \"why it fails\"`"
    if isinstance(value, str):
        return None if value.strip() else needs
    if table == "skip":
        return (f"{where}: must be a reason string (skip entries take nothing else), "
                f"got {_kind(value)}")
    if not isinstance(value, dict):
        return (f"{where}: must be a reason string or a table "
                f"{{ reason = \"...\", strict = false }}, got {_kind(value)} {value!r}")
    unknown = [k for k in value if k not in _ENTRY_KEYS]
    if unknown:
        return f"{where}: unknown key {unknown[0]!r}; allowed: {', '.join(_ENTRY_KEYS)}"
    if "reason" not in value:
        return f"{needs[:-1]} or {{ reason = \"why\", strict = false }}`"
    reason = value["reason"]
    if not isinstance(reason, str) or not reason.strip():
        return (f"{where}.reason: needs a non-empty reason (a string), "
                f"got {_kind(reason)} {reason!r}")
    strict = value.get("strict", True)
    if not isinstance(strict, bool):
        return f"{where}.strict: must be true or false, got {_kind(strict)} {strict!r}"
    return None


@dataclass(frozen=True)
class Entry:
    """One line of an expectations file."""

    pattern: str
    kind: str  # "xfail" | "skip"
    reason: str
    strict: bool = True

    def matches(self, case_id: str) -> bool:
        """Whether ``case_id`` is this entry's id or matches its glob."""
        return case_id == self.pattern or fnmatch.fnmatchcase(case_id, self.pattern)


@dataclass
class Expectations:
    """The expectations of one backend, from one file."""

    backend: str
    path: str
    entries: list[Entry] = field(default_factory=list)

    @classmethod
    def from_data(cls, data: Any, backend: str, path: str) -> Expectations:
        """Validate parsed TOML; errors name the file, the key and what is expected."""
        problem = _problem(data)
        if problem:
            raise ParityError(f"{path}: {problem}")
        declared = data.get("backend", backend)
        if declared != backend:
            raise ParityError(f"{path}: backend = {declared!r} but the file is named for "
                              f"{backend!r}; rename the file or fix the key")
        entries = [Entry(p, "skip", r) for p, r in data.get("skip", {}).items()]
        for pattern, value in data.get("xfail", {}).items():
            if isinstance(value, str):
                entries.append(Entry(pattern, "xfail", value))
            else:
                entries.append(Entry(pattern, "xfail", value["reason"], value.get("strict", True)))
        return cls(backend, path, entries)

    @classmethod
    def load(cls, path: pathlib.Path) -> Expectations:
        """Read ``<backend>.toml``."""
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ParityError(f"{path}: cannot be read: {exc}") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ParityError(f"{path}: not UTF-8 text: byte {raw[exc.start]:#04x} at offset "
                              f"{exc.start} ({exc.reason}); save the file as UTF-8") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ParityError(f"{path}: not valid TOML: {exc}") from None
        except RecursionError:
            raise ParityError(f"{path}: not valid TOML: nested too deeply") from None
        except ValueError as exc:  # e.g. an integer with more digits than int() converts
            what = "an integer has too many digits" if "digits" in str(exc) else str(exc)
            raise ParityError(f"{path}: not valid TOML: {what}") from None
        return cls.from_data(data, path.stem, str(path))

    def match(self, case_id: str, kind: str | None = None) -> Entry | None:
        """The entry for ``case_id``: an exact id beats a glob, skip beats xfail."""
        found = [e for e in self.entries if (kind is None or e.kind == kind) and e.matches(case_id)]
        found.sort(key=lambda e: (e.pattern != case_id, e.kind != "skip"))
        return found[0] if found else None

    def stale(self, case_ids: Iterable[str]) -> list[str]:
        """Patterns that match no case id at all (typos, renamed or deleted cases)."""
        ids = list(case_ids)
        return [e.pattern for e in self.entries if not any(e.matches(i) for i in ids)]


@dataclass
class ExpectationSet:
    """Every backend's expectations: the built-in files, overridden by ``--expectations`` dirs."""

    files: dict[str, Expectations] = field(default_factory=dict)

    @classmethod
    def load(cls, directories: Sequence[str | pathlib.Path] = (),
             builtin: bool = True) -> ExpectationSet:
        """Read ``*.toml`` of the built-in directory, then of each directory given."""
        found: dict[str, Expectations] = {}
        dirs = [BUILTIN_DIR] if builtin else []
        for d in [*dirs, *map(pathlib.Path, directories)]:
            if d is not BUILTIN_DIR and d.is_file():
                raise ParityError(f"--expectations {d}: is a file; give the directory that "
                                  "holds the BACKEND.toml files")
            if d is not BUILTIN_DIR and not d.is_dir():
                raise ParityError(f"--expectations {d}: no such directory")
            for path in sorted(d.glob("*.toml")):
                found[path.stem] = Expectations.load(path)
        return cls(found)

    def skip_reason(self, case_id: str, backend: str) -> str | None:
        """Why ``case_id`` must not run on ``backend`` (a ``skip`` entry), or None."""
        exp = self.files.get(backend)
        entry = exp.match(case_id, "skip") if exp else None
        if entry is None or exp is None:
            return None
        return f"{entry.reason} (skip entry {entry.pattern!r} in {exp.path})"

    def apply(self, result: Result) -> Result:
        """The result with its expectation applied; idempotent (re-applies from ``raw_status``)."""
        raw = Status(result.raw_status) if result.raw_status else result.status
        result = replace(result, status=raw, raw_status=raw.value, expectation="")
        exp = self.files.get(result.backend)
        entry = exp.match(result.case, "xfail") if exp else None
        if entry is None or exp is None or raw in (Status.UNSUPPORTED, Status.SKIPPED):
            return result
        result.expectation = entry.reason
        if raw.failed:
            result.status = Status.XFAIL
        elif entry.strict:
            result.status = Status.XPASS
            result.message = (f"{result.case} @ {result.backend}: passed but is expected to fail "
                              f"({entry.reason}) — remove {entry.pattern!r} from [xfail] in "
                              f"{exp.path}, or run `parity expectations update -b "
                              f"{result.backend}`")
        return result

    def warnings(self, case_ids: Iterable[str], backends: Iterable[str]) -> list[str]:
        """Stale patterns and files for unknown backends, one line each."""
        ids = list(case_ids)
        known = set(backends)
        lines = []
        for name, exp in sorted(self.files.items()):
            if name not in known:
                lines.append(f"{exp.path}: no backend named {name!r} is registered")
                continue
            for pattern in exp.stale(ids):
                lines.append(f"{exp.path}: {pattern!r} matches no case; remove it or fix the id")
        return lines


def short_reason(result: Result) -> str:
    """``STATUS: root cause`` from a failed result, for a new xfail entry."""
    raw = result.raw_status or result.status.value
    text = result.message.split(": ", 1)[1] if ": " in result.message else result.message
    # Machine-specific paths (cache staging dirs, temp files) would make the file differ per run.
    text = _PATH.sub(lambda m: m.group(2), " ".join(text.split()))
    return f"{raw}: {text[:240]}" if text else raw


_PATH = re.compile(r"(?<![\w.])(/[^\s/'\":]+)+/([^\s/'\":]+)")


@dataclass
class Update:
    """What ``parity expectations update`` changed."""

    path: pathlib.Path
    kept: int = 0
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def update(backend: str, results: Sequence[Result], path: pathlib.Path,
           source: str = "") -> Update:
    """Rewrite ``path`` so its xfail entries are exactly the failures in ``results``.

    Entries whose cases still fail keep their reasons (a glob that now also matches passing
    cases is narrowed to the failing ids); entries whose cases all pass are removed; entries
    that match no case in ``results`` (not run) are kept; skip entries are kept as they are.
    """
    old = Expectations.load(path) if path.exists() else Expectations(backend, str(path))
    mine = [r for r in results if r.backend == backend]
    failing = {r.case: r for r in mine
               if Status(r.raw_status or r.status.value).failed}
    ran = {r.case for r in mine if Status(r.raw_status or r.status.value) is not Status.SKIPPED}
    report = Update(path)
    xfail: dict[str, dict[str, Any]] = {}
    covered: set[str] = set()
    for e in (e for e in old.entries if e.kind == "xfail"):
        matched = {c for c in ran if e.matches(c)}
        value: dict[str, Any] = {"reason": e.reason, **({} if e.strict else {"strict": False})}
        if not matched or matched <= set(failing):
            xfail[e.pattern] = value
            covered |= matched
            report.kept += 1
            continue
        still = sorted(matched & set(failing))
        for case in still:
            xfail.setdefault(case, value)
        covered |= set(still)
        if still:
            report.added.extend(still)
        else:
            report.removed.append(e.pattern)
    for case in sorted(set(failing) - covered):
        xfail[case] = {"reason": short_reason(failing[case])}
        report.added.append(case)
    skip = {e.pattern: e.reason for e in old.entries if e.kind == "skip"}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(backend, xfail, skip, source))
    return report


def render(backend: str, xfail: dict[str, dict[str, Any]], skip: dict[str, str],
           source: str = "") -> str:
    """The TOML text of an expectations file (entries sorted, one per line)."""
    import tomli_w

    def toml(value: Any) -> str:
        return tomli_w.dumps({"k": value}).strip()[len("k = "):]

    def line(key: str, value: Any) -> str:
        name = tomli_w.dumps({key: 0}).strip()[:-len(" = 0")]
        if isinstance(value, dict):  # one inline table per entry keeps the file line-oriented
            value_text = "{ " + ", ".join(f"{k} = {toml(v)}" for k, v in value.items()) + " }"
        else:
            value_text = toml(value)
        return f"{name} = {value_text}"

    today = datetime.date.today().isoformat()
    out = [f"# Expectations for the {backend!r} backend: known failures with the error seen.",
           f"# Rewritten by `parity expectations update -b {backend}` on {today}"
           + (f" from {source}." if source else "."),
           "# Keys are case ids or fnmatch globs; every entry needs a reason.",
           line("backend", backend), "", "[xfail]"]
    for key in sorted(xfail):
        value = xfail[key]
        out.append(line(key, value["reason"] if set(value) == {"reason"} else value))
    if skip:
        out += ["", "[skip]"] + [line(k, skip[k]) for k in sorted(skip)]
    return "\n".join(out) + "\n"
