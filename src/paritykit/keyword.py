"""Alias of :mod:`paritykit.core.keyword`, where this module moved."""

import sys

from paritykit.core import keyword as _moved
from paritykit.core.keyword import *  # noqa: F403

sys.modules[__name__] = _moved
