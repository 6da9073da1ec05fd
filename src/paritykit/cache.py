"""Alias of :mod:`paritykit.run.cache`, where this module moved."""

import sys

from paritykit.run import cache as _moved
from paritykit.run.cache import *  # noqa: F403

sys.modules[__name__] = _moved
