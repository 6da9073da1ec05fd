"""``executorch-portable``: ExecuTorch with no delegate; every op runs on the runtime's kernels."""

from __future__ import annotations

from paritykit.backends._executorch import ExecuTorchBackendBase
from paritykit.core.registry import register_backend


@register_backend
class ExecuTorchPortableBackend(ExecuTorchBackendBase):
    """``to_edge_transform_and_lower(ep)`` with no partitioner -> ``.pte``.

    The reference route of ExecuTorch: every edge op is an instruction for the kernels linked
    into the runtime (the pip wheel's portable/optimized kernel library).
    """

    name = "executorch-portable"
    description = "ExecuTorch: to_edge_transform_and_lower, no delegate -> portable kernels (.pte)"
