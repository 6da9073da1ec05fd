"""``executorch-xnnpack``: ExecuTorch with the XNNPACK delegate, the rest on portable kernels."""

from __future__ import annotations

from typing import Any

from paritykit.backends._executorch import ExecuTorchBackendBase
from paritykit.core.registry import register_backend


@register_backend
class ExecuTorchXnnpackBackend(ExecuTorchBackendBase):
    """``to_edge_transform_and_lower(ep, partitioner=[XnnpackPartitioner()])`` -> ``.pte``.

    What XNNPACK does not take (``stats["non_delegated_ops"]``) runs on the runtime's kernels.
    """

    name = "executorch-xnnpack"
    baseline = ("executorch-portable", {})  # the same runtime without the delegate
    description = "ExecuTorch: to_edge_transform_and_lower + XnnpackPartitioner -> runtime (.pte)"

    def partitioners(self) -> list[Any] | None:
        """XNNPACK's partitioner with its default configs (fp32/fp16 ops it supports)."""
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner

        return [XnnpackPartitioner()]
