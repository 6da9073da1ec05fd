"""Alias of :mod:`paritykit.core.grad_oracle`, where this module moved."""

import sys

from paritykit.core import grad_oracle as _moved
from paritykit.core.grad_oracle import *  # noqa: F403

sys.modules[__name__] = _moved
