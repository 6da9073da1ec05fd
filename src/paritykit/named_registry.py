"""Alias of :mod:`paritykit.core.named_registry`, where this module moved."""

import sys

from paritykit.core import named_registry as _moved
from paritykit.core.named_registry import *  # noqa: F403

sys.modules[__name__] = _moved
