"""Which accelerators this machine has, as paritykit's device kinds: cpu, cuda, metal.

Example::

    import paritykit as pk
    pk.detect_devices()  # {'cpu': 'x86_64', 'cuda': 'NVIDIA H200'} on a GPU machine
"""

from __future__ import annotations

import functools
import platform

DEVICE_KINDS = ("cpu", "cuda", "metal")
"""Every device kind a result can name."""


@functools.cache
def detect_devices() -> dict[str, str]:
    """Device kind → what it is, for the kinds torch can see here (the CPU is always there).

    Backends whose frameworks see devices of their own (JAX, MLX) check them themselves;
    this is the torch view, which decides where the torch backends run.
    """
    import torch

    found = {"cpu": platform.machine() or "cpu"}
    if torch.cuda.is_available():
        found["cuda"] = torch.cuda.get_device_name(0)
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found["metal"] = "Apple GPU (torch MPS)"
    return found
