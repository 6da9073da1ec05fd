"""``torch``: PyTorch eager on CPU, the reference itself run as a backend (a determinism check)."""

from __future__ import annotations

import pathlib

from paritykit.backends._torch_common import TorchPrepared, on_device
from paritykit.core.backend import Backend, Capabilities, Prepared
from paritykit.core.program import Program
from paritykit.core.registry import register_backend


@register_backend
class TorchEagerBackend(Backend):
    """PyTorch eager mode (the reference)."""

    name = "torch"
    option_keys = ("device",)
    rank = 0
    description = ("PyTorch eager (the reference, rerun: a determinism check on the CPU, "
                   "device parity on a GPU)")
    capabilities = Capabilities(devices=("cpu", "cuda", "metal"))

    def prepare(self, program: Program, workdir: pathlib.Path) -> Prepared:
        """Nothing to lower: the module runs as it is, on the GPU when there is one."""
        device = self.pick_device(program)
        return TorchPrepared(on_device(program.module, device), device)
