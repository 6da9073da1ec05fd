"""Alias of :mod:`paritykit.core.expectations`, where this module moved."""

import sys

from paritykit.core import expectations as _moved
from paritykit.core.expectations import *  # noqa: F403

sys.modules[__name__] = _moved
