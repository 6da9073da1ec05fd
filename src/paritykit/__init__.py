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
    from paritykit.core.backend import Backend, Capabilities, CaseInfo, Prepared
    from paritykit.core.cases import OpTestCase, register_test
    from paritykit.core.compare import Comparison, compare_outputs, message
    from paritykit.core.devices import detect_devices
    from paritykit.core.errors import ExportError, LowerError, ParityError, RegistryError
    from paritykit.core.inputs import rand, randbool, randint, randn, randperm, seeded
    from paritykit.core.program import Program
    from paritykit.core.registry import BACKENDS, register_backend
    from paritykit.core.result import Result, Status
    from paritykit.core.tolerance import Tolerance, ToleranceRules, default_tolerance

# Names are imported on first use (PEP 562): pytest loads the plugin in every run of a project that
# has paritykit installed, and importing torch there would cost seconds for nothing.
_LAZY = {
    "check_grads": "paritykit.autodiff",
    "Backend": "paritykit.core.backend",
    "Capabilities": "paritykit.core.backend",
    "CaseInfo": "paritykit.core.backend",
    "Prepared": "paritykit.core.backend",
    "OpTestCase": "paritykit.core.cases",
    "register_test": "paritykit.core.cases",
    "Comparison": "paritykit.core.compare",
    "compare_outputs": "paritykit.core.compare",
    "message": "paritykit.core.compare",
    "detect_devices": "paritykit.core.devices",
    "ExportError": "paritykit.core.errors",
    "LowerError": "paritykit.core.errors",
    "ParityError": "paritykit.core.errors",
    "RegistryError": "paritykit.core.errors",
    "rand": "paritykit.core.inputs",
    "randbool": "paritykit.core.inputs",
    "randint": "paritykit.core.inputs",
    "randn": "paritykit.core.inputs",
    "randperm": "paritykit.core.inputs",
    "seeded": "paritykit.core.inputs",
    "Program": "paritykit.core.program",
    "BACKENDS": "paritykit.core.registry",
    "register_backend": "paritykit.core.registry",
    "Result": "paritykit.core.result",
    "Status": "paritykit.core.result",
    "Tolerance": "paritykit.core.tolerance",
    "ToleranceRules": "paritykit.core.tolerance",
    "default_tolerance": "paritykit.core.tolerance",
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
