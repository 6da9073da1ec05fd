"""Alias of :mod:`paritykit.core.inputs`, where this module moved."""

import sys

from paritykit.core import inputs as _moved
from paritykit.core.inputs import *  # noqa: F403

sys.modules[__name__] = _moved
