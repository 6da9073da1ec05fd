"""JSON test definitions: quality, benchmark and compstat tests over a module.

A definition names a module (an ``mlir`` or ``onnx`` file, or a ``torch`` factory), inputs and
what to check; :func:`collect` turns a directory of definitions into entries (one per
definition × backend that takes its module) and :func:`run_entry` runs one to a
:class:`paritykit.core.result.Result`. The pytest plugin (``paritykit.pytest.json_items``) and
``parity run --test-file-directory`` are both thin layers over these two. See
docs/json-tests.md for the format and :func:`schema` for the published JSON Schema.
"""

from __future__ import annotations

from paritykit.jsontests.definitions import (
    DefinitionError,
    TestDefinition,
    load_test,
    parse_test,
    schema,
)
from paritykit.jsontests.runner import Entry, JsonOptions, collect, run_entry

__all__ = [
    "DefinitionError",
    "Entry",
    "JsonOptions",
    "TestDefinition",
    "collect",
    "load_test",
    "parse_test",
    "run_entry",
    "schema",
]
