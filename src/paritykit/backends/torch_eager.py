"""``torch``: PyTorch eager on CPU, the reference itself run as a backend (a determinism check)."""

from __future__ import annotations

import pathlib

from paritykit.backend import Backend, Prepared
from paritykit.backends._torch_common import TorchPrepared
from paritykit.program import Program
from paritykit.registry import register_backend


@register_backend
class TorchEagerBackend(Backend):
    """PyTorch eager mode (the reference)."""

    name = "torch"
    rank = 0
    description = "PyTorch eager on CPU (the reference, rerun as a determinism check)"

    def prepare(self, program: Program, workdir: pathlib.Path) -> Prepared:
        """Nothing to lower: the module runs as it is."""
        return TorchPrepared(program.module)
