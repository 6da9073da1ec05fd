"""Alias of :mod:`paritykit.core.tolerance`, where this module moved."""

import sys

from paritykit.core import tolerance as _moved
from paritykit.core.tolerance import *  # noqa: F403

sys.modules[__name__] = _moved
