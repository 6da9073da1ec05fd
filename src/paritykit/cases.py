"""Alias of :mod:`paritykit.core.cases`, where this module moved."""

import sys

from paritykit.core import cases as _moved
from paritykit.core.cases import *  # noqa: F403

sys.modules[__name__] = _moved
