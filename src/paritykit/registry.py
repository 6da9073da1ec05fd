"""Alias of :mod:`paritykit.core.registry`, where this module moved."""

import sys

from paritykit.core import registry as _moved
from paritykit.core.registry import *  # noqa: F403

sys.modules[__name__] = _moved
