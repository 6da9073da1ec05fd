"""``iree``: iree-turbine import of the shared export → iree-compile for llvm-cpu → IREE runtime."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import pathlib
from collections.abc import Sequence
from typing import Any

import ml_dtypes
import numpy as np

from paritykit.backends._iree import (
    BF16_CONSTANT_FLAGS,
    DEFAULT_FLAGS,
    OPTION_KEYS,
    IreeOptions,
    bf16_constants_inline,
    compile_error,
    configure_task_threads,
    entry_function,
    has_bf16_constants,
    import_error,
    import_onnx,
    module_flags,
    parse_options,
    read_statistics,
)
from paritykit.core.backend import Backend, Capabilities, Prepared
from paritykit.core.program import Program
from paritykit.core.registry import register_backend

MLIR = "model.mlir"
VMFB = "model.vmfb"
STATISTICS = "statistics.json"
SIGNATURE = "iree.json"
ENTRY = "main"  # the function name iree-turbine gives an exported program


class IreePrepared(Prepared):
    """A ``.vmfb`` in a runtime context on the ``local-task`` (or ``local-sync``) driver."""

    def __init__(self, path: pathlib.Path, driver: str, output_dtypes: list[str | None],
                 entry: str | None = None) -> None:
        super().__init__()
        import iree.runtime as rt
        import torch

        if driver == "local-task":
            configure_task_threads(torch.get_num_threads())
        self.context = rt.SystemContext(config=rt.Config(driver))
        # mmap: the runtime reads the vmfb in place instead of copying it into memory.
        module = rt.VmModule.mmap(self.context.instance, str(path))
        self.context.add_vm_module(module)
        self.function = self.context.modules[module.name][
            entry_function(module.function_names, entry) if entry else ENTRY]
        self.output_dtypes = [None if d is None else _numpy_dtype(d) for d in output_dtypes]
        self.artifact = path
        self.stats["vmfb_bytes"] = path.stat().st_size

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Call ``main``; outputs are copied to host NumPy arrays in the flattened order."""
        result = self.function(*[np.require(a, requirements="C") for a in inputs])
        outputs = [np.array(x.to_host(), copy=True) for x in _leaves(result)]
        if len(outputs) != len(self.output_dtypes):
            return outputs
        return [_retype(out, dtype) for out, dtype in zip(outputs, self.output_dtypes, strict=True)]


def _leaves(result: Any) -> list[Any]:
    # One output comes back bare, several as a (possibly nested) tuple.
    if isinstance(result, tuple | list):
        return [leaf for item in result for leaf in _leaves(item)]
    return [result]


def _retype(out: np.ndarray, dtype: np.dtype[Any] | None) -> np.ndarray:
    # IREE integers are signless: uint8 comes back as int8 with the same bits.
    if dtype is None or out.dtype == dtype or out.dtype.itemsize != dtype.itemsize:
        return out
    if out.dtype.kind in "iu" and dtype.kind in "iu":
        return out.view(dtype)
    return out


def _numpy_dtype(name: str) -> np.dtype[Any]:
    # Names come from paritykit.core.dtypes.dtype_name; NumPy itself has no "bfloat16".
    return np.dtype(ml_dtypes.bfloat16) if name == "bfloat16" else np.dtype(name)


def _output_dtypes(ep: Any) -> list[str | None]:
    """The dtype of each user output of the exported program (None where not a tensor)."""
    import torch

    from paritykit.core.dtypes import dtype_name

    user = {spec.arg.name for spec in ep.graph_signature.output_specs
            if spec.kind == torch.export.graph_signature.OutputKind.USER_OUTPUT
            and hasattr(spec.arg, "name")}
    dtypes: list[str | None] = []
    for node in ep.graph.output_node().args[0]:
        if not isinstance(node, torch.fx.Node) or node.name not in user:
            continue
        value = node.meta.get("val")
        dtypes.append(dtype_name(value.dtype) if isinstance(value, torch.Tensor) else None)
    return dtypes


def compile_flags(options: IreeOptions, statistics: pathlib.Path, bf16: bool) -> list[str]:
    """Defaults, then the user's ``iree.flags`` (later flags win), then the statistics dump."""
    return [*DEFAULT_FLAGS, *(BF16_CONSTANT_FLAGS if bf16 else ()), *options.flags,
            "--iree-scheduling-dump-statistics-format=json",
            f"--iree-scheduling-dump-statistics-file={statistics}"]


@register_backend
class IreeBackend(Backend):
    """IREE on the CPU: the torch-mlir import by iree-turbine, compiled for ``llvm-cpu``."""

    name = "iree"
    option_keys = OPTION_KEYS
    description = ("iree-turbine aot.export(ExportedProgram) -> iree-compile llvm-cpu -> "
                   "runtime local-task (.vmfb)")
    packages = ("torch", "iree-base-compiler", "iree-base-runtime", "iree-turbine")
    cacheable = True
    baseline = ("iree", {"flags": "--iree-opt-level=O0"})
    module_kinds = frozenset({"mlir", "onnx", "vmfb"})
    capabilities = Capabilities(
        dtypes=Capabilities.all_dtypes_except("complex64", "complex128"),
        why="torch-mlir lowers no complex arithmetic to linalg for llvm-cpu",
    )

    def is_available(self) -> str | None:
        """Needs the compiler, the runtime and iree-turbine (the torch importer)."""
        missing = [m for m in ("iree.compiler", "iree.runtime", "iree.turbine") if _missing(m)]
        if missing:
            return f"missing {', '.join(missing)}; install with `pip install 'paritykit[iree]'`"
        return None

    def prepare(self, program: Program, workdir: pathlib.Path) -> Prepared:
        """Import the shared export to torch MLIR, compile it to a ``.vmfb``, load it."""
        from iree.compiler.ir import MLIRError
        from iree.compiler.tools import CompilerToolError, compile_file
        from iree.turbine import aot

        options = parse_options(program.options)
        ep = program.exported()
        bf16 = has_bf16_constants(ep)
        mlir = workdir / MLIR
        try:
            with bf16_constants_inline() if bf16 else contextlib.nullcontext():
                aot.export(ep).save_mlir(str(mlir))
        except MLIRError as exc:
            raise import_error(exc) from None  # the full diagnostics are in the message
        vmfb = workdir / VMFB
        try:
            compile_file(str(mlir), target_backends=["llvm-cpu"], input_type="torch",
                         output_file=str(vmfb),
                         extra_args=compile_flags(options, workdir / STATISTICS, bf16))
        except CompilerToolError as exc:
            raise compile_error(str(exc), mlir) from None  # the full diagnostics are in the message
        signature = {"outputs": _output_dtypes(ep),
                     "stats": read_statistics(workdir / STATISTICS)}
        (workdir / SIGNATURE).write_text(json.dumps(signature))
        return self._open(workdir, options, signature)

    def load(self, program: Program, workdir: pathlib.Path) -> Prepared:
        """Reopen the cached ``.vmfb`` (statistics and output dtypes come from ``iree.json``)."""
        signature = json.loads((workdir / SIGNATURE).read_text())
        return self._open(workdir, parse_options(program.options), signature)

    def prepare_module(self, kind: str, path: pathlib.Path, workdir: pathlib.Path,
                       flags: Sequence[str] = (), options: dict[str, str] | None = None
                       ) -> Prepared:
        """Compile an ``mlir`` file (``onnx``: imported by iree-import-onnx first) with
        ``flags``, or open a ``vmfb``; ``options``: ``driver``, ``function`` (default ``main``
        when the module has it, else its only function)."""
        from iree.compiler.tools import CompilerToolError, compile_file

        options = dict(options or {})
        function = options.pop("function", "")
        driver = parse_options(options).driver
        if kind == "vmfb":
            stats_file = path.with_name(STATISTICS)
            stats = read_statistics(stats_file) if stats_file.exists() else {}
        else:
            source = import_onnx(path, workdir / MLIR) if kind == "onnx" else path
            vmfb = workdir / VMFB
            try:
                compile_file(str(source), output_file=str(vmfb),
                             extra_args=module_flags(flags, workdir / STATISTICS))
            except CompilerToolError as exc:
                raise compile_error(str(exc), source) from None
            path, stats = vmfb, read_statistics(workdir / STATISTICS)
        prepared = IreePrepared(path, driver, [], entry=function or "*")
        prepared.stats.update(stats)
        return prepared

    def _open(self, workdir: pathlib.Path, options: IreeOptions,
              signature: dict[str, Any]) -> Prepared:
        prepared = IreePrepared(workdir / VMFB, options.driver, signature["outputs"])
        prepared.stats.update(signature["stats"])
        return prepared


def _missing(module: str) -> bool:
    # find_spec of a submodule raises instead of returning None when the parent is missing.
    try:
        return importlib.util.find_spec(module) is None
    except ModuleNotFoundError:
        return True
