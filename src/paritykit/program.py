"""Alias of :mod:`paritykit.core.program`, where this module moved."""

import sys

from paritykit.core import program as _moved
from paritykit.core.program import *  # noqa: F403

sys.modules[__name__] = _moved
