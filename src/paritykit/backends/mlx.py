"""``mlx``: our lowering of the core-ATen graph of the shared export to ``mlx.core`` calls.

There is no torch → MLX converter, so ``paritykit.backends._mlx`` walks the decomposed FX graph
node by node into one closure of MLX calls (optionally ``mx.compile``-d), run on MLX's default
device: the CPU on Linux, the GPU where MLX has Metal or CUDA.
"""

from __future__ import annotations

import importlib.util
import pathlib
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from paritykit.core.backend import Backend, Capabilities, Prepared
from paritykit.core.program import Program
from paritykit.core.registry import register_backend

LISTING = "graph.txt"
_SWITCH = {"1": True, "true": True, "0": False, "false": False}
OPTIONS = ("compile", "device")


def mlx_devices() -> list[str]:
    """The device kinds MLX itself can use here: the CPU, plus Metal or CUDA GPUs."""
    import mlx.core as mx

    found = ["cpu"]
    if mx.metal.is_available():
        found.append("metal")
    if mx.cuda.is_available():
        found.append("cuda")
    return found


class MlxPrepared(Prepared):
    """The lowered closure; ``run`` converts NumPy to MLX, evaluates, converts back."""

    def __init__(self, fn: Callable[..., Any], artifact: pathlib.Path, device: str) -> None:
        super().__init__()
        self.fn = fn
        self.artifact = artifact
        self.device = device

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Evaluate the graph on ``inputs`` on this device (``mx.eval`` before reading back)."""
        import mlx.core as mx

        from paritykit.backends._mlx import run_arrays

        with mx.stream(mx.cpu if self.device == "cpu" else mx.gpu):
            return run_arrays(self.fn, inputs)


def _compile_option(options: dict[str, str]) -> bool:
    """The ``compile`` switch; unknown keys or values are a LowerError naming the choices."""
    from paritykit.core.errors import LowerError

    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise LowerError(f"unknown mlx option {', '.join(unknown)}; known: {', '.join(OPTIONS)}")
    value = options.get("compile", "0").lower()
    if value not in _SWITCH:
        raise LowerError(f"mlx.compile={value!r}; use 0 or 1")
    return _SWITCH[value]


@register_backend
class MlxBackend(Backend):
    """MLX through paritykit's own ATen → ``mlx.core`` lowering.

    Options (``--backend-option mlx.KEY=VALUE``): ``device=cpu|metal|cuda`` (default: the GPU
    where MLX has one), ``compile=1`` wraps the closure in ``mx.compile`` (traced and
    JIT-compiled once per input shape; off by default, see docs/backends/mlx.md).
    """

    name = "mlx"
    option_keys = OPTIONS
    description = "core-ATen graph lowered by paritykit to mlx.core calls (CPU, Metal or CUDA)"
    packages = ("torch", "mlx")
    capabilities = Capabilities(
        dtypes=Capabilities.all_dtypes_except("float64", "complex64", "complex128"),
        devices=("cpu", "metal", "cuda"),
        why="MLX has float64 on the CPU only, where exp/erf/sin are float32-accurate;"
            " complex is not lowered",
    )
    supports_grad = True

    def is_available(self) -> str | None:
        """Needs ``mlx.core`` with its native library (``mlx[cpu]`` on Linux)."""
        if importlib.util.find_spec("mlx") is None:
            return "missing mlx; install with `pip install 'paritykit[mlx]'`"
        try:
            import mlx.core  # noqa: F401 - the native library loads here
        except ImportError as exc:
            return (f"mlx.core does not load ({exc}); install with "
                    "`pip install 'paritykit[mlx]'` (on Linux, mlx[cpu] ships libmlx.so)")
        return None

    def devices(self) -> list[str]:
        """What MLX sees (not torch): the CPU, and a Metal or CUDA GPU where MLX has one."""
        found = mlx_devices()
        return [d for d in self.capabilities.devices if d in found]

    def gradients(self, program: Program, run_seed: int) -> list[tuple[str, np.ndarray]]:
        """The ``--grad`` loss differentiated by MLX: ``mx.vjp`` through the lowered graph as a
        function of the float inputs and the parameters (see ``_mlx/grad.py``)."""
        import mlx.core as mx

        from paritykit.backends._mlx import lower
        from paritykit.backends._mlx.grad import vjp_gradients
        from paritykit.core.dtypes import to_numpy

        device = self.pick_device(program)
        graph = lower(program.exported(), float64=device == "cpu")
        with mx.stream(mx.cpu if device == "cpu" else mx.gpu):
            return vjp_gradients(graph, [to_numpy(t) for t in program.example_inputs],
                                 program.module, run_seed, program.name)

    def prepare(self, program: Program, workdir: pathlib.Path) -> Prepared:
        """Decompose, lower every node (unknown ops fail here), write the listing."""
        import mlx.core as mx

        from paritykit.backends._mlx import lower

        compiled = _compile_option(program.options)
        device = self.pick_device(program)
        start = time.perf_counter()
        graph = lower(program.exported(), float64=device == "cpu")
        lower_s = time.perf_counter() - start
        fn = mx.compile(graph.run) if compiled else graph.run
        path = workdir / LISTING
        path.write_text(graph.listing)
        prepared = MlxPrepared(fn, path, device)
        prepared.stats.update({
            "nodes": graph.nodes,
            "lowered_ops": graph.lowered,
            "ops": dict(sorted(graph.ops.items())),
            "compiled": compiled,
            "lower_s": round(lower_s, 4),
        })
        return prepared
