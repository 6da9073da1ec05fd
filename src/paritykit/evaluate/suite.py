"""``--suite FILE.json``: a list of eval entries, each a model, a workload and options.

Example file::

    [
      {"model": "mlp", "workload": "validate", "backends": ["torch-export", "onnxruntime"]},
      {"model": "small_cnn", "workload": "trace", "trace_depth": 2},
      {"model": "gpt2-tiny", "workload": "bench", "threads": [1, 2], "bench_tokens": [1, 64]}
    ]

Entry keys are the command line's option names with ``_`` for ``-``; an entry's value replaces
the command line's for that entry. Paths in entries are relative to the current directory.
Errors name the file and the JSON path (``suite.json: $[2].threads[0]: 0 is less than the
minimum of 1``).
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Any

from paritykit.core.errors import ParityError
from paritykit.evaluate.options import DUMP_MODES, WORKLOADS, EvalOptions
from paritykit.files.jsonfile import read_json

_INT1 = {"type": "integer", "minimum": 1}
_STRINGS = {"type": "array", "items": {"type": "string", "minLength": 1}}
ENTRY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["model", "workload"],
    "properties": {
        "model": {"type": "string", "minLength": 1},
        "workload": {"enum": list(WORKLOADS)},
        "backends": _STRINGS,
        "seed": {"type": "integer"},
        "weights": {"type": "string"},
        "batch": _INT1,
        "tokens": _INT1,
        "tolerances": {"type": "string"},
        "backend_options": {"type": "object", "additionalProperties": {
            "type": "object", "additionalProperties": {"type": "string"}}},
        "trace_depth": _INT1,
        "trace_all": {"type": "boolean"},
        "stop_on_first_mismatch": {"type": "boolean"},
        "threads": {"type": "array", "items": _INT1, "minItems": 1},
        "bench_tokens": {"type": "array", "items": _INT1, "minItems": 1},
        "bench_budget_s": {"type": "number", "exclusiveMinimum": 0},
        "prompt": {"type": "string"},
        "tokenizer": {"type": "string"},
        "max_tokens": {"type": "integer", "minimum": 0},
        "temperature": {"type": "number", "minimum": 0},
        "kv_cache": {"type": "boolean"},
        "input": {"type": "string"},
        "dump_dir": {"type": "string"},
        "dump_mode": {"enum": list(DUMP_MODES)},
        "profile": {"type": "boolean"},
    },
}
SCHEMA: dict[str, Any] = {"type": "array", "items": ENTRY}

#: Entry keys whose EvalOptions field has another name or type.
_RENAMED = {"tolerances": "tolerances_path", "input": "input_path"}
_TUPLES = {"backends", "threads", "bench_tokens"}


def load_suite(path: str | pathlib.Path, base: EvalOptions) -> list[EvalOptions]:
    """Read and validate a suite file; one EvalOptions per entry (``base`` fills the rest)."""
    p = pathlib.Path(path)
    data = read_json(p, shown=f"--suite {p}", schema=SCHEMA)
    return [_entry(p, i, entry, base) for i, entry in enumerate(data)]


def _entry(path: pathlib.Path, index: int, entry: dict[str, Any],
           base: EvalOptions) -> EvalOptions:
    from paritykit.core.registry import BACKENDS
    from paritykit.models import model_names

    if entry["model"] not in model_names():
        raise ParityError(f"{path}: $[{index}].model: unknown model {entry['model']!r}; "
                          f"built-in models: {', '.join(model_names())}")
    for k, name in enumerate(entry.get("backends", [])):
        if name not in BACKENDS.names():
            raise ParityError(f"{path}: $[{index}].backends[{k}]: unknown backend {name!r}; "
                              f"known: {', '.join(BACKENDS.names())}")
    fields: dict[str, Any] = {}
    for key, value in entry.items():
        fields[_RENAMED.get(key, key)] = tuple(value) if key in _TUPLES else value
    return dataclasses.replace(base, **fields)
