"""``aot-eager``: ``torch.compile`` through Dynamo and AOTAutograd, run by eager kernels."""

from __future__ import annotations

from paritykit.backends._torch_compile import TorchCompileBackend
from paritykit.core.registry import register_backend


@register_backend
class AotEagerBackend(TorchCompileBackend):
    """``torch.compile(backend="aot_eager")``: tracing and decompositions without codegen."""

    name = "aot-eager"
    compiler = "aot_eager"
    description = "torch.compile(backend='aot_eager'): Dynamo + AOTAutograd, eager kernels"
