"""Alias of :mod:`paritykit.core.timing`, where this module moved."""

import sys

from paritykit.core import timing as _moved
from paritykit.core.timing import *  # noqa: F403

sys.modules[__name__] = _moved
