"""``torch-export``: the ``torch.export`` program's ``ep.module()``, saved as a ``.pt2`` file."""

from __future__ import annotations

import pathlib
from typing import Any

from paritykit.backends._torch_common import TorchPrepared
from paritykit.core.backend import Backend, Prepared
from paritykit.core.program import Program
from paritykit.core.registry import register_backend

ARTIFACT = "program.pt2"
SAVE_ERROR = "program.pt2.error.txt"


def _prepared(ep: Any, path: pathlib.Path | None) -> Prepared:
    prepared = TorchPrepared(ep.module())
    prepared.artifact = path
    prepared.stats["graph_nodes"] = len(ep.graph.nodes)
    return prepared


@register_backend
class TorchExportBackend(Backend):
    """``torch.export.export`` then ``ExportedProgram.module()``."""

    name = "torch-export"
    description = "torch.export.export -> ExportedProgram.module() (artifact: .pt2)"
    cacheable = True

    def prepare(self, program: Program, workdir: pathlib.Path) -> Prepared:
        """Export, save the ``.pt2`` and run the exported graph module.

        Some programs run but cannot be serialised (outputs of type ``torch.return_types.topk``
        and friends have no serialisation name in torch 2.13). That is a limit of the ``.pt2``
        format, not of the program: the run goes on without an artifact and ``stats`` says why.
        """
        import torch

        ep = program.exported()
        path = workdir / ARTIFACT
        try:
            torch.export.save(ep, path)
        except Exception as exc:  # recorded, and the graph still runs
            path.unlink(missing_ok=True)
            (workdir / SAVE_ERROR).write_text(f"{type(exc).__name__}: {exc}\n")
            prepared = _prepared(ep, None)
            prepared.stats["pt2_save_error"] = f"{type(exc).__name__}: {exc}"[:300]
            return prepared
        return _prepared(ep, path)

    def load(self, program: Program, workdir: pathlib.Path) -> Prepared:
        """Reload the cached ``.pt2`` (or export again when it could not be saved)."""
        import torch

        path = workdir / ARTIFACT
        if not path.exists():
            prepared = _prepared(program.exported(), None)
            prepared.stats["pt2_save_error"] = (workdir / SAVE_ERROR).read_text().strip()[:300]
            return prepared
        return _prepared(torch.export.load(path), path)
