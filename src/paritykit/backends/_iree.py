"""Helpers of the ``iree`` backend: options, compiler diagnostics, statistics, runtime setup."""

from __future__ import annotations

import contextlib
import json
import math
import pathlib
import re
import shlex
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from unittest import mock

from paritykit.core.backend import check_option_keys

DRIVERS = ("local-task", "local-sync")
OPTION_KEYS = ("flags", "driver")
#: Always passed before the user's flags (a later repetition of a flag wins in iree-compile).
#: ``host``: code for this CPU (IREE warns that its generic default is slow); f64 demotion is
#: IREE's default and would turn float64 programs into float32 ones.
DEFAULT_FLAGS = ("--iree-llvmcpu-target-cpu=host", "--iree-input-demote-f64-to-f32=false")
#: Added for programs holding bf16 constants: a bf16 constant inlined into a dispatch fails
#: codegen ("'arith.constant' op failed to verify that all of {value, result} have same type").
BF16_CONSTANT_FLAGS = ("--iree-flow-inline-constants-max-byte-length=0",)

# "model.mlir:3:10: error: failed to ..." or "<unknown>:0: error: ..." -> text after "error:".
_DIAGNOSTIC = re.compile(r"^(?P<loc>\S.*?):\s*(?P<sev>error|warning|note|remark):\s*(?P<msg>.*)$")

_LOC = re.compile(r"\s*loc\(.*\)\s*$")
# An op printed in generic form after the message: '%2 = "torch.operator"(%a) <{name = "x"}> :
# (types) -> types'. Only the op's name (torch.operator's real one) and its types are kept.
_GENERIC_OP = re.compile(r":\s*(%\S+\s*=\s*)?\"(?P<op>[\w.]+)\"\(.*?\)\s*(<\{(?P<attrs>.*?)\}>\s*)?"
                         r":\s*(?P<types>.*)$")
_OPERATOR_NAME = re.compile(r'name\s*=\s*"(?P<name>[\w.]+)"')


@dataclass(frozen=True)
class IreeOptions:
    """``--backend-option iree.KEY=VALUE`` parsed: extra compiler flags and the runtime driver."""

    flags: tuple[str, ...] = ()
    driver: str = "local-task"


def parse_options(options: dict[str, str]) -> IreeOptions:
    """Validate the backend options; unknown keys and drivers are errors naming what is allowed."""
    check_option_keys("iree", options, OPTION_KEYS)
    driver = options.get("driver", "local-task")
    if driver not in DRIVERS:
        raise ValueError(f"iree.driver={driver!r} is not one of {', '.join(DRIVERS)}")
    # shlex so that a flag value may itself be quoted; plain space separation is the common case.
    return IreeOptions(flags=tuple(shlex.split(options.get("flags", ""))), driver=driver)


class IreeCompileError(RuntimeError):
    """iree-compile failed; the message leads with its first error diagnostic."""


def compile_error(tool_message: str, mlir: pathlib.Path | None = None) -> IreeCompileError:
    """Turn a ``CompilerToolError`` text into an error that leads with the real diagnostic.

    The tool's message opens with "Error invoking IREE compiler tool" and buries the reason in
    a Diagnostics section followed by the command line; the first ``error:`` diagnostic
    (trimmed) becomes the first line, the whole section follows for the traceback. When that
    diagnostic is about a leftover constant, the op consuming it in ``mlir`` is named too.
    """
    diagnostics = _section(tool_message)
    lines = [x.rstrip() for x in diagnostics.splitlines() if x.strip()]
    first = next((m for m in map(_DIAGNOSTIC.match, (x.strip() for x in lines))
                  if m is not None and m["sev"] == "error"), None)
    if first is None:  # no diagnostic (e.g. an unknown flag or a crash): first meaningful line
        headline = next((x.strip() for x in lines if not x.strip().endswith(":")),
                        "iree-compile failed without diagnostics")
    else:
        headline = f"iree-compile: {trim_diagnostic(first['msg'])}"
        user = _constant_user(first["msg"], first["loc"], mlir)
        if user is not None:
            headline += f" (used by {user})"
    return IreeCompileError(f"{headline}\n{diagnostics.strip()}")


def _constant_user(message: str, loc: str, mlir: pathlib.Path | None) -> str | None:
    """The torch op that consumes the constant a diagnostic at ``loc`` complains about.

    torch-mlir reports "failed to legalize operation 'torch.constant.int'" when the op using
    the constant (e.g. ``torch.aten.logsumexp``) was left unlowered without a diagnostic.
    """
    where = re.search(r":(\d+):\d+$", loc)
    if "'torch.constant." not in message or where is None or mlir is None or not mlir.exists():
        return None
    lines = mlir.read_text(errors="replace").splitlines()
    row = int(where.group(1)) - 1
    values = re.findall(r"(%[\w-]+)\s*=", lines[row]) if row < len(lines) else []
    for line in lines[row + 1:]:
        if not any(re.search(rf"{re.escape(v)}(?![\w-])", line.split("=", 1)[-1]) for v in values):
            continue
        op = re.search(r"=\s*(?:torch\.operator\s+\"(?P<named>[\w.]+)\"|(?P<op>[\w.]+))", line)
        if op is None:
            return None
        if (op["op"] or "").startswith("torch.prim."):  # a list of constants: follow the list
            values = re.findall(r"(%[\w-]+)\s*=", line)
            continue
        return op["named"] or op["op"]
    return None


def _section(tool_message: str) -> str:
    start = tool_message.find("Diagnostics:")
    if start < 0:
        return tool_message
    end = tool_message.find("\nInvoked with:", start)
    return tool_message[start + len("Diagnostics:"):end if end >= 0 else None]


def trim_diagnostic(message: str) -> str:
    """Drop the location and the generic op dump of a diagnostic; name torch.operator's op.

    >>> trim_diagnostic("failed to legalize operation 'torch.operator': %1 = "
    ...                 '"torch.operator"(%a) <{name = "torch.aten.lstm"}> : (f32) -> f32')
    "failed to legalize operation 'torch.aten.lstm': (f32) -> f32"
    """
    message = _LOC.sub("", message).strip()
    op = _GENERIC_OP.search(message)
    if op is None:
        return message
    head = message[:op.start()]
    name = _OPERATOR_NAME.search(op["attrs"] or "")
    if op["op"] == "torch.operator" and name is not None:
        # torch-mlir imports ops it has no definition for as torch.operator; say which.
        head = head.replace("'torch.operator'", f"'{name['name']}'")
    return f"{head}: {op['types']}"


class IreeImportError(RuntimeError):
    """iree-turbine's torch-mlir import produced IR that does not verify."""


def import_error(exc: Any) -> IreeImportError:
    """An ``MLIRError`` from the import, led by its first diagnostic without call-site noise."""
    diagnostics = list(getattr(exc, "error_diagnostics", []))
    first = trim_diagnostic(diagnostics[0].message) if diagnostics else str(exc).strip()
    return IreeImportError(f"iree-turbine import: {first}\n{exc}")


def read_statistics(path: pathlib.Path) -> dict[str, int]:
    """Counts from ``--iree-scheduling-dump-statistics-format=json`` (summed over modules)."""
    counts = {"dispatches": 0, "executables": 0}
    if not path.exists():  # e.g. a user flag redirected the statistics elsewhere
        return {}
    for block in _json_objects(path.read_text()):
        aggregate: dict[str, Any] = block.get("stream-aggregate", {})
        counts["dispatches"] += int(aggregate.get("execution", {}).get("dispatch-count", 0))
        counts["executables"] += int(aggregate.get("executable", {}).get("executable-count", 0))
    return counts


def _json_objects(text: str) -> list[dict[str, Any]]:
    # One JSON object per compiled module, concatenated without a separator.
    decoder = json.JSONDecoder()
    objects: list[dict[str, Any]] = []
    index = 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return objects
        value, index = decoder.raw_decode(text, index)
        if isinstance(value, dict):
            objects.append(value)


def has_bf16_constants(ep: Any) -> bool:
    """Whether the exported program carries bf16 parameters, buffers or lifted constants."""
    import torch

    tensors = [*ep.state_dict.values(), *ep.constants.values()]
    return any(isinstance(t, torch.Tensor) and t.dtype == torch.bfloat16 for t in tensors)


@contextlib.contextmanager
def bf16_constants_inline() -> Iterator[None]:
    """Import every tensor constant inline while exporting a program with bf16 constants.

    iree-turbine lifts constants of more than 1024 elements to globals through
    ``np.array(tensor)``, which raises "Got unsupported ScalarType BFloat16"
    (iree-org/iree-turbine#1127); the inline path (torch-mlir's importer) writes bf16 bits.
    """
    from iree.turbine.aot.support.procedural import exported_program

    with mock.patch.object(exported_program, "INLINE_TENSOR_VOLUME_LIMIT", math.inf):
        yield


_threads_configured: int | None = None


def configure_task_threads(threads: int) -> None:
    """Cap the ``local-task`` executor at ``threads`` workers (the worker's thread budget).

    The runtime reads task-topology flags when the driver is first created and then caches the
    driver for the process, so this must run before the first device; later calls are no-ops.
    """
    global _threads_configured
    if _threads_configured is not None:
        return
    import iree.runtime as rt

    rt.flags.parse_flags(f"--task_topology_group_count={max(1, threads)}")
    _threads_configured = threads


#: The target of a JSON test's ``mlir`` module when its flags name none: this CPU.
CPU_TARGET_FLAGS = ("--iree-hal-target-device=local",
                    "--iree-hal-local-target-device-backends=llvm-cpu",
                    "--iree-llvmcpu-target-cpu=host")
_TARGET_PREFIXES = ("--iree-hal-target-device", "--iree-hal-target-backends")


def module_flags(flags: Sequence[str], statistics: pathlib.Path) -> list[str]:
    """iree-compile flags for a module file: this CPU unless ``flags`` name a target, then the
    user's flags, then the statistics dump (dispatch counts for compstat tests)."""
    own_target = any(f.startswith(_TARGET_PREFIXES) for f in flags)
    return [*(() if own_target else CPU_TARGET_FLAGS), *flags,
            "--iree-scheduling-dump-statistics-format=json",
            f"--iree-scheduling-dump-statistics-file={statistics}"]


def import_onnx(model: pathlib.Path, mlir: pathlib.Path) -> pathlib.Path:
    """``iree-import-onnx MODEL -o MLIR`` in a child process (it exits on bad input)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "iree.compiler.tools.import_onnx", str(model),
                           "-o", str(mlir)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise IreeImportError(f"iree-import-onnx {model.name}: {last}\n{done.stderr}")
    return mlir


def entry_function(names: Sequence[str], wanted: str) -> str:
    """The function to call: ``wanted``, or with ``"*"`` ``main`` / the only public one.

    >>> entry_function(["main", "__init"], "*")
    'main'
    """
    # "__init" is the module initialiser; "f$async" the async twin iree-import-onnx emits.
    public = [n for n in names if not n.startswith("__") and "$" not in n]
    if wanted != "*":
        if wanted not in names:
            raise ValueError(f"the module has no function {wanted!r}; it has "
                             f"{', '.join(public) or 'none'}")
        return wanted
    if "main" in public or len(public) != 1:
        if "main" not in public:
            raise ValueError(f"the module has functions {', '.join(public) or 'none'}; pick "
                             "one with run_args --function=NAME")
        return "main"
    return public[0]
