"""``jax``: torchax turns the shared ExportedProgram into a JAX function, ``jax.export`` saves it.

The module is not called ``jax.py`` so that nothing can mistake it for the ``jax`` package.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import pathlib
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from paritykit.core.backend import Backend, Capabilities, Prepared, check_option_keys
from paritykit.core.program import Program
from paritykit.core.registry import register_backend
from paritykit.files.artifacts import load_arrays, save_arrays

ARTIFACT = "model.jax_exported"  # jax.export serialisation: StableHLO bytecode + signature
STABLEHLO = "model.stablehlo.mlir"  # the same module as text, for people
WEIGHTS = "weights.safetensors"  # parameters, buffers and constants, in call order
SIGNATURE = "signature.json"
MATMUL_PRECISIONS = ("default", "high", "highest")
OPTION_KEYS = ("x64", "matmul_precision")
_OP_NAME = re.compile(r"[a-z_]+\.[A-Za-z_]\w*(\.\w+)?")  # aten.index_add.default
# An op of the StableHLO/CHLO dialects, not an attribute (``#stablehlo.<...>``) or a location.
_OP = re.compile(r"(?<![#\w.])(?:stablehlo|chlo)\.[a-z_]+")

#: (shape, NumPy dtype) of each input: what one compiled executable is specialised to.
Signature = tuple[tuple[tuple[int, ...], Any], ...]


@dataclass(frozen=True)
class JaxOptions:
    """What ``--backend-option jax.KEY=VALUE`` can set."""

    #: 64-bit types (int64, float64) computed in 64 bits; JAX's own default is 32-bit.
    x64: bool = True
    #: ``jax_default_matmul_precision`` while tracing; it is baked into each dot/conv.
    matmul_precision: str = "highest"


def parse_options(options: dict[str, str]) -> JaxOptions:
    """Validate backend options; unknown keys and values are errors naming what is allowed."""
    check_option_keys("jax", options, OPTION_KEYS)
    x64 = options.get("x64", "1").lower()
    if x64 not in {"0", "1", "true", "false"}:
        raise ValueError(f"jax.x64 must be 0 or 1, got {x64!r}")
    precision = options.get("matmul_precision", "highest")
    if precision not in MATMUL_PRECISIONS:
        raise ValueError(f"jax.matmul_precision must be one of {', '.join(MATMUL_PRECISIONS)}, "
                         f"got {precision!r}")
    return JaxOptions(x64=x64 in {"1", "true"}, matmul_precision=precision)


def import_jax(options: JaxOptions) -> Any:
    """Import JAX with this process's settings and apply ``options`` (process-wide flags).

    Environment variables only count before the first ``import jax``: GPU memory is allocated
    on demand instead of 75% up front, so other work on the machine keeps its memory.
    """
    if "jax" not in sys.modules:
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    import jax

    jax.config.update("jax_enable_x64", options.x64)
    jax.config.update("jax_default_matmul_precision", options.matmul_precision)
    return jax


def jax_device(jax: Any) -> str:
    """paritykit's device name for JAX's default backend."""
    return "cuda" if jax.default_backend() in {"gpu", "cuda", "rocm"} else "cpu"


def count_ops(mlir_text: str) -> int:
    """StableHLO and CHLO operations in a module's text (location lines excluded)."""
    return sum(len(_OP.findall(line)) for line in mlir_text.splitlines()
               if not line.startswith("#"))


def input_avals(ep: Any, jax: Any) -> list[Any]:
    """``jax.ShapeDtypeStruct`` of each user input; dynamic dims become symbolic dimensions.

    torchax's ``extract_avals`` creates one symbolic scope per symbol, which ``jax.export``
    rejects as soon as a program has two dynamic dims ("Invalid mixing of symbolic scopes"),
    so every symbol is declared here in one scope, with torch.export's ranges as constraints.
    """
    import torch

    from paritykit.core.dtypes import numpy_dtype

    symbols = sorted(str(s) for s in ep.range_constraints if s.is_symbol)
    constraints = [c for s, r in ep.range_constraints.items() if s.is_symbol
                   for c in _constraints(str(s), r)]
    dims: tuple[Any, ...] = ()
    if symbols:
        dims = jax.export.symbolic_shape(", ".join(symbols), constraints=constraints)
    by_name = dict(zip(symbols, dims, strict=True))

    def dim(d: Any) -> Any:
        if isinstance(d, int):
            return d
        if str(d) not in by_name:  # a derived dim such as 2*s0, in the same scope
            by_name[str(d)] = jax.export.symbolic_shape(str(d), scope=dims[0].scope)[0]
        return by_name[str(d)]

    user = torch.export.graph_signature.InputKind.USER_INPUT
    placeholders = [n for n in ep.graph.nodes if n.op == "placeholder"]
    avals = []
    for node, spec in zip(placeholders, ep.graph_signature.input_specs, strict=True):
        if spec.kind != user:
            continue
        val = node.meta["val"]
        if not isinstance(val, torch.Tensor):
            raise TypeError(f"input {node.name} is a {type(val).__name__}, not a tensor")
        avals.append(jax.ShapeDtypeStruct(tuple(dim(d) for d in val.shape),
                                          numpy_dtype(val.dtype)))
    return avals


def _constraints(symbol: str, bounds: Any) -> list[str]:
    # torch.export's default lower bound is 2 (it specialises sizes 0 and 1); JAX's symbolic
    # dims are >= 1 already, and size-1 inputs must keep working, as they do in torchax.
    out = []
    if int(bounds.lower) > 2:
        out.append(f"{symbol} >= {int(bounds.lower)}")
    if math.isfinite(float(bounds.upper)):
        out.append(f"{symbol} <= {int(bounds.upper)}")
    return out


def _no_lowering(exc: AssertionError) -> Exception | None:
    # torchax's interpreter asserts ``op is not None, target`` when it has no JAX lowering;
    # torch.fx then appends "While executing ..." to the message, so the op is its first line.
    first = str(exc).strip().split("\n", 1)[0]
    if _OP_NAME.fullmatch(first):
        return NotImplementedError(f"torchax has no JAX lowering for {first}")
    return None


def _headline(exc: BaseException) -> str:
    first = str(exc).strip().split("\n", 1)[0]
    return f"{type(exc).__name__}: {first}"[:200]


class Exporter:
    """``jax.export`` of the program for given input avals; torchax converts it once, lazily.

    Lazily, because a cache hit only needs torchax again when a new input shape shows up for a
    program that could not be exported shape-polymorphically.
    """

    def __init__(self, program: Program, jax: Any) -> None:
        self.program = program
        self.jax = jax
        self._converted: tuple[list[Any], Callable[..., Any]] | None = None

    def convert(self) -> tuple[list[Any], Callable[..., Any]]:
        """torchax: (weights as JAX arrays in call order, ``func(weights, inputs)``)."""
        if self._converted is None:
            from torchax import export as tx_export

            states, func = tx_export.exported_program_to_jax(self.program.exported())
            self._converted = (list(states), func)
        return self._converted

    def __call__(self, avals: list[Any]) -> Any:
        """The ``jax.export.Exported`` of ``func`` traced for ``avals``."""
        jax = self.jax
        states, func = self.convert()
        try:
            return jax.export.export(jax.jit(func))(states, tuple(avals))
        except AssertionError as exc:
            better = _no_lowering(exc)
            if better is None:
                raise
            # Not "from exc": the harness reports the root cause, which would be the bare
            # assert; the assert stays in the traceback as the context.
            raise better  # noqa: B904


class JaxPrepared(Prepared):
    """A ``jax.export.Exported`` with its weights, compiled by XLA once per input signature.

    ``reexport`` is set when the export is specialised to the example shapes: each other
    signature then gets a fresh export (torchax retraces the graph for it).
    """

    def __init__(self, exported: Any, states: list[Any], example: Signature,
                 options: JaxOptions, reexport: Exporter | None = None) -> None:
        super().__init__()
        jax = import_jax(options)
        self.options = options
        self.example = example
        self.exported = exported
        self.reexport = reexport
        # Weights live on the device once; only the inputs cross per run.
        self.states = [jax.device_put(s) for s in states]
        self.device = jax_device(jax)
        self._compiled: dict[Signature, Any] = {}
        start = time.perf_counter()
        self._compile(example)
        self.stats["compile_s"] = round(time.perf_counter() - start, 4)

    def _compile(self, signature: Signature) -> Any:
        # A shape-polymorphic module is refined to the concrete shapes here, then compiled.
        import jax

        if signature not in self._compiled:
            avals = [jax.ShapeDtypeStruct(shape, dtype) for shape, dtype in signature]
            exported = self.exported
            if self.reexport is not None and signature != self.example:
                exported = self.reexport(avals)
            lowered = jax.jit(exported.call).lower(self.states, tuple(avals))
            self._compiled[signature] = lowered.compile()
        return self._compiled[signature]

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Run the executable compiled for these input shapes (compiling it on first sight)."""
        import_jax(self.options)
        arrays = [np.require(a, requirements="C") for a in inputs]
        compiled = self._compile(tuple((a.shape, a.dtype) for a in arrays))
        outputs = compiled(self.states, tuple(arrays))
        # Copies: a NumPy view of a JAX CPU buffer is read-only and dies with the buffer.
        return [np.array(o, copy=True) for o in outputs]


def _example_signature(program: Program) -> Signature:
    from paritykit.core.dtypes import numpy_dtype

    return tuple((tuple(t.shape), numpy_dtype(t.dtype)) for t in program.example_inputs)


def _concrete(jax: Any, signature: Signature) -> list[Any]:
    return [jax.ShapeDtypeStruct(shape, dtype) for shape, dtype in signature]


@register_backend
class JaxBackend(Backend):
    """JAX through torchax: ``exported_program_to_jax`` -> ``jax.export`` -> XLA (default device).

    Importing torchax renames torch's private-use device to ``jax``, after which torch.compile,
    iree-turbine and ExecuTorch lowering fail in that process, hence ``needs_own_process``.
    """

    name = "jax"
    option_keys = OPTION_KEYS
    description = ("torchax exported_program_to_jax -> jax.export (StableHLO) -> XLA on JAX's "
                   "default device (.jax_exported)")
    packages = ("torch", "jax", "jaxlib", "torchax")
    capabilities = Capabilities(devices=("cpu", "cuda"))
    needs_own_process = True
    cacheable = True

    def is_available(self) -> str | None:
        """Needs jax, jaxlib and torchax."""
        missing = [m for m in ("jax", "jaxlib", "torchax") if importlib.util.find_spec(m) is None]
        if missing:
            return f"missing {', '.join(missing)}; install with `pip install 'paritykit[jax]'`"
        return None

    def prepare(self, program: Program, workdir: pathlib.Path) -> Prepared:
        """Convert with torchax, export to StableHLO, save it with the weights, compile.

        Dynamic dims are exported as symbolic dims (one module for every size); where a torchax
        op cannot take a symbolic size, the export is made for the example shapes instead and
        ``stats["per_shape_export"]`` says why.
        """
        options = parse_options(program.options)
        jax = import_jax(options)
        example = _example_signature(program)
        exporter = Exporter(program, jax)
        start = time.perf_counter()
        avals = input_avals(program.exported(), jax)
        symbolic = sorted({str(d) for a in avals for d in a.shape if not isinstance(d, int)})
        stats: dict[str, Any] = {}
        try:
            exported = exporter(avals)
        except Exception as exc:
            if not symbolic or isinstance(exc, NotImplementedError):  # no shape would help
                raise
            stats["per_shape_export"] = _headline(exc)
            exported = exporter(_concrete(jax, example))
        else:
            if symbolic:
                stats["symbolic_dims"] = symbolic
        stats["export_s"] = round(time.perf_counter() - start, 4)
        states = exporter.convert()[0]
        path = workdir / ARTIFACT
        path.write_bytes(exported.serialize())
        text = exported.mlir_module()
        (workdir / STABLEHLO).write_text(text)
        save_arrays(workdir / WEIGHTS, [[np.asarray(s) for s in states]], "state", atomic=False)
        stats.update(stablehlo_ops=count_ops(text), artifact_bytes=path.stat().st_size,
                     x64=options.x64, matmul_precision=options.matmul_precision)
        (workdir / SIGNATURE).write_text(json.dumps({"weights": len(states), "stats": stats}))
        reexport = exporter if "per_shape_export" in stats else None
        prepared = JaxPrepared(exported, states, example, options, reexport)
        prepared.artifact = path
        prepared.stats.update(stats)
        return prepared

    def load(self, program: Program, workdir: pathlib.Path) -> Prepared:
        """Deserialize the cached export and its weights, compile (torchax only if retracing)."""
        options = parse_options(program.options)
        jax = import_jax(options)
        path = workdir / ARTIFACT
        exported = jax.export.deserialize(bytearray(path.read_bytes()))
        signature = json.loads((workdir / SIGNATURE).read_text())
        arrays = load_arrays(workdir / WEIGHTS)
        states = [arrays[f"state_{i}"] for i in range(signature["weights"])]
        stats = signature["stats"]
        reexport = Exporter(program, jax) if "per_shape_export" in stats else None
        prepared = JaxPrepared(exported, states, _example_signature(program), options, reexport)
        prepared.artifact = path
        prepared.stats.update(stats)
        return prepared
