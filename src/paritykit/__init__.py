"""paritykit: prove a backend computes the same numbers as PyTorch, and how fast.

Example::

    import paritykit as pk

    @pk.register_test
    class ReluTest(pk.OpTestCase):
        name = "relu"

        def create_model(self):
            return torch.nn.ReLU()

        def create_inputs(self):
            return (pk.randn(4, 8),)
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from paritykit.autodiff import check_grads
    from paritykit.backend import Backend, Capabilities, CaseInfo, Prepared
    from paritykit.cases import OpTestCase, register_test
    from paritykit.compare import Comparison, compare_outputs, message
    from paritykit.devices import detect_devices
    from paritykit.errors import ExportError, LowerError, ParityError, RegistryError
    from paritykit.inputs import rand, randbool, randint, randn, randperm, seeded
    from paritykit.program import Program
    from paritykit.registry import BACKENDS, register_backend
    from paritykit.result import Result, Status
    from paritykit.tolerance import Tolerance, ToleranceRules, default_tolerance

# Names are imported on first use (PEP 562): pytest loads the plugin in every run of a project that
# has paritykit installed, and importing torch there would cost seconds for nothing.
_LAZY = {
    "check_grads": "paritykit.autodiff",
    "Backend": "paritykit.backend",
    "Capabilities": "paritykit.backend",
    "CaseInfo": "paritykit.backend",
    "Prepared": "paritykit.backend",
    "OpTestCase": "paritykit.cases",
    "register_test": "paritykit.cases",
    "Comparison": "paritykit.compare",
    "compare_outputs": "paritykit.compare",
    "message": "paritykit.compare",
    "detect_devices": "paritykit.devices",
    "ExportError": "paritykit.errors",
    "LowerError": "paritykit.errors",
    "ParityError": "paritykit.errors",
    "RegistryError": "paritykit.errors",
    "rand": "paritykit.inputs",
    "randbool": "paritykit.inputs",
    "randint": "paritykit.inputs",
    "randn": "paritykit.inputs",
    "randperm": "paritykit.inputs",
    "seeded": "paritykit.inputs",
    "Program": "paritykit.program",
    "BACKENDS": "paritykit.registry",
    "register_backend": "paritykit.registry",
    "Result": "paritykit.result",
    "Status": "paritykit.result",
    "Tolerance": "paritykit.tolerance",
    "ToleranceRules": "paritykit.tolerance",
    "default_tolerance": "paritykit.tolerance",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'paritykit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__version__ = "0.1.0"

__all__ = [
    "BACKENDS",
    "Backend",
    "Capabilities",
    "CaseInfo",
    "Comparison",
    "ExportError",
    "LowerError",
    "OpTestCase",
    "ParityError",
    "Prepared",
    "Program",
    "RegistryError",
    "Result",
    "Status",
    "Tolerance",
    "ToleranceRules",
    "__version__",
    "check_grads",
    "compare_outputs",
    "default_tolerance",
    "detect_devices",
    "message",
    "rand",
    "randbool",
    "randint",
    "randn",
    "randperm",
    "register_backend",
    "register_test",
    "seeded",
]
