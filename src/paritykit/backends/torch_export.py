"""``torch-export``: the ``torch.export`` program's ``ep.module()``, saved as a ``.pt2`` file."""

from __future__ import annotations

import pathlib

from paritykit.backend import Backend, Prepared
from paritykit.backends._torch_common import TorchPrepared
from paritykit.program import Program
from paritykit.registry import register_backend

ARTIFACT = "program.pt2"


@register_backend
class TorchExportBackend(Backend):
    """``torch.export.export`` then ``ExportedProgram.module()``."""

    name = "torch-export"
    description = "torch.export.export -> ExportedProgram.module() (artifact: .pt2)"
    cacheable = True

    def prepare(self, program: Program, workdir: pathlib.Path) -> Prepared:
        """Export, save the ``.pt2`` and run the exported graph module."""
        import torch

        ep = program.exported()
        path = workdir / ARTIFACT
        torch.export.save(ep, path)
        prepared = TorchPrepared(ep.module())
        prepared.artifact = path
        prepared.stats["graph_nodes"] = len(ep.graph.nodes)
        return prepared

    def load(self, program: Program, workdir: pathlib.Path) -> Prepared:
        """Reload the cached ``.pt2``."""
        import torch

        path = workdir / ARTIFACT
        ep = torch.export.load(path)
        prepared = TorchPrepared(ep.module())
        prepared.artifact = path
        prepared.stats["graph_nodes"] = len(ep.graph.nodes)
        return prepared
