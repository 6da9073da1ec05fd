"""Loading and validating JSON test and module definitions (the ``pytest-iree`` style format).

Every problem becomes a :class:`DefinitionError` whose message names the file, the JSON path of
the field (``$.inputs[0].value``) and what was expected, so a bad file is one clear line::

    examples/json/bad.json: $.inputs: required field missing (a quality test needs it)
"""

from __future__ import annotations

import functools
import json
import pathlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import jsonschema

from paritykit.core.errors import ParityError
from paritykit.files.jsonfile import json_path, schema_errors
from paritykit.files.jsonfile import read_json as files_read_json
from paritykit.jsontests.argspec import ArgSpec, parse_argspec

TEST_TYPES = ("quality", "benchmark", "compstat")
#: How much slower than ``golden_time_ms`` a benchmark may be before it fails (+20%).
DEFAULT_TIME_MARGIN = 0.2
#: Keys that make a JSON object a module definition rather than a test definition.
MODULE_KEYS = ("mlir", "torch", "onnx")
_REQUIRED = re.compile(r"^'(?P<name>[^']+)' is a required property$")


class DefinitionError(ParityError):
    """A JSON test or module definition is malformed; the message names file and field."""


@functools.cache
def schema(name: str) -> dict[str, Any]:
    """The published JSON Schema ``"test"`` or ``"module"`` (draft 2020-12).

    >>> schema("test")["$schema"]
    'https://json-schema.org/draft/2020-12/schema'
    """
    text = resources.files("paritykit.jsontests").joinpath(f"{name}.schema.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def _describe(error: jsonschema.ValidationError, data: Any) -> tuple[str, str]:
    """(JSON path, what was expected) of one schema error, phrased for a person."""
    path = list(error.absolute_path)
    if error.validator == "required":
        match = _REQUIRED.match(error.message)
        if match:
            kind = data.get("type") if isinstance(data, dict) and not path else None
            why = f" (a {kind} test needs it)" if kind in TEST_TYPES else ""
            return json_path([*path, match["name"]]), f"required field missing{why}"
    if error.validator == "additionalProperties":
        return json_path(path), f"{error.message}; see the schema in docs/json-tests.md"
    if error.validator == "enum" and path == ["type"]:
        return json_path(path), (f"unknown test type {error.instance!r}; expected one of "
                                 f"{', '.join(TEST_TYPES)}")
    if error.validator == "pattern" and path and path[-1] == "sha256":
        return json_path(path), f"{error.instance!r} is not a sha256 (64 hex digits)"
    if error.validator == "oneOf" and error.context:
        # The branch of the instance's JSON type says the most (an argspec object with a bad
        # field: that field, not "not valid under any of the given schemas").
        same_type = [e for e in error.context if e.validator != "type"]
        if same_type:
            best = jsonschema.exceptions.best_match(same_type)
            if best is not None:
                return _describe(best, data)
    return json_path(path), error.message


def validate(data: Any, kind: str, file: str) -> None:
    """Validate ``data`` against the ``kind`` schema; raise one error listing every problem."""
    errors = schema_errors(data, schema(kind))
    if errors:
        lines = dict.fromkeys(": ".join(_describe(e, data)) for e in errors)
        raise DefinitionError("\n".join(f"{file}: {line}" for line in lines))


def read_json(path: pathlib.Path, shown: str) -> Any:
    """Parse a JSON file through :func:`paritykit.files.jsonfile.read_json` (syntax errors with
    line and column; non-UTF-8, too-deep nesting and non-finite numbers such as an ``atol`` of
    Infinity refused), as a DefinitionError naming the file."""
    try:
        return files_read_json(path, shown)
    except ParityError as exc:
        raise DefinitionError(str(exc)) from None


def is_module_definition(data: Any) -> bool:
    """Whether a parsed JSON object is a module definition (skipped when collecting tests)."""
    return isinstance(data, dict) and "type" not in data and any(k in data for k in MODULE_KEYS)


@dataclass(frozen=True)
class WeightSpec:
    """One entry of ``weights``: a file (``url``) or seeded random parameters (``random``)."""

    kind: str
    path: str
    scope: str = ""
    url: str = ""
    sha256: str | None = None
    module: str = ""
    seed: int = 0


@dataclass(frozen=True)
class TestDefinition:
    """A validated test definition; ``name`` is the file's stem, ``file`` its shown path."""

    __test__ = False  # not a pytest test class despite the name

    name: str
    file: str
    type: str
    markers: tuple[str, ...]
    modules: tuple[str, ...]
    inputs: tuple[ArgSpec, ...] = ()
    expected_outputs: tuple[ArgSpec, ...] = ()
    weights: tuple[WeightSpec, ...] = ()
    run_args: tuple[str, ...] = ()
    atol: float | None = None
    rtol: float | None = None
    golden_time_ms: float | None = None
    time_margin: float | None = None
    golden_dispatch_count: float | None = None
    golden_binary_size: float | None = None
    description: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def where(self, path: str) -> str:
        """``file: $.path`` for messages about one field."""
        return f"{self.file}: {path}"


def _argspecs(data: dict[str, Any], key: str, file: str) -> tuple[ArgSpec, ...]:
    specs = []
    for i, item in enumerate(data.get(key, [])):
        path = json_path([key, i])
        try:
            specs.append(parse_argspec(item, path))
        except ValueError as exc:
            raise DefinitionError(f"{file}: {exc}") from None
    return tuple(specs)


def _weights(data: dict[str, Any]) -> tuple[WeightSpec, ...]:
    return tuple(
        WeightSpec(kind=w["type"], path=json_path(["weights", i]), scope=w.get("scope", ""),
                   url=w.get("url", ""), sha256=w.get("sha256"), module=w.get("module", ""),
                   seed=w.get("seed", 0))
        for i, w in enumerate(data.get("weights", []))
    )


def _modules(data: dict[str, Any]) -> tuple[str, ...]:
    # compstat names its module in ``module`` (singular; a string or a one-item list, as seed
    # 003 writes it); the other types use ``modules``.
    value = data.get("modules", data.get("module", []))
    return (value,) if isinstance(value, str) else tuple(value)


def parse_test(data: Any, name: str, file: str) -> TestDefinition:
    """Validate a parsed test definition and build a :class:`TestDefinition`.

    >>> d = parse_test({"type": "quality", "markers": ["cpu"], "modules": ["m"],
    ...                 "inputs": [{"value": "2xf32=1,2"}],
    ...                 "expected_outputs": [{"value": "2xf32=2,4"}]}, "double", "double.json")
    >>> d.type, d.inputs[0].value
    ('quality', '2xf32=1,2')
    """
    validate(data, "test", file)
    run_args = tuple(data.get("run_args", ()))
    from paritykit.jsontests.runargs import parse_run_args

    for i, arg in enumerate(run_args):
        try:
            parse_run_args([arg])
        except ValueError as exc:
            raise DefinitionError(f"{file}: {json_path(['run_args', i])}: {exc}") from None
    return TestDefinition(
        name=name, file=file, type=data["type"], markers=tuple(data.get("markers", ())),
        modules=_modules(data), inputs=_argspecs(data, "inputs", file),
        expected_outputs=_argspecs(data, "expected_outputs", file), weights=_weights(data),
        run_args=run_args, atol=data.get("atol"), rtol=data.get("rtol"),
        golden_time_ms=data.get("golden_time_ms"), time_margin=data.get("time_margin"),
        golden_dispatch_count=data.get("golden_dispatch_count"),
        golden_binary_size=data.get("golden_binary_size"),
        description=data.get("description", ""), raw=data,
    )


def load_test(path: pathlib.Path, shown: str | None = None) -> TestDefinition:
    """Read and validate one test definition file (``shown`` is how messages name it)."""
    shown = shown or str(path)
    return parse_test(read_json(path, shown), path.stem, shown)


def find_definitions(directory: pathlib.Path) -> list[pathlib.Path]:
    """Every ``*.json`` under ``directory`` that is not a module definition, sorted.

    A file that cannot be parsed is kept: loading it reports the problem.
    """
    found = []
    for path in sorted(directory.rglob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            found.append(path)
            continue
        if not is_module_definition(data):
            found.append(path)
    return found


def shown_path(path: pathlib.Path) -> str:
    """``path`` relative to the working directory when it lies under it (for ids/messages)."""
    try:
        return path.resolve().relative_to(pathlib.Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def modules_of(definition: TestDefinition) -> Sequence[str]:
    """The module references of a definition (exactly one is supported)."""
    return definition.modules
