"""``inductor``: ``torch.compile`` with the default Inductor compiler (C++/OpenMP on CPU)."""

from __future__ import annotations

from paritykit.backends._torch_compile import TorchCompileBackend
from paritykit.core.registry import register_backend


@register_backend
class InductorBackend(TorchCompileBackend):
    """``torch.compile(backend="inductor")``."""

    name = "inductor"
    compiler = "inductor"
    baseline = ("aot-eager", {})  # the same Dynamo/AOTAutograd graph without codegen
    description = "torch.compile(backend='inductor'): generated C++ kernels on CPU"
