"""Alias of :mod:`paritykit.core.compare`, where this module moved."""

import sys

from paritykit.core import compare as _moved
from paritykit.core.compare import *  # noqa: F403

sys.modules[__name__] = _moved
