"""Alias of :mod:`paritykit.core.reference`, where this module moved."""

import sys

from paritykit.core import reference as _moved
from paritykit.core.reference import *  # noqa: F403

sys.modules[__name__] = _moved
