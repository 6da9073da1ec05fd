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
