"""Alias of :mod:`paritykit.core.result`, where this module moved."""

import sys

from paritykit.core import result as _moved
from paritykit.core.result import *  # noqa: F403

sys.modules[__name__] = _moved
