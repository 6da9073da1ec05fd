"""Alias of :mod:`paritykit.core.backend`, where this module moved."""

import sys

from paritykit.core import backend as _moved
from paritykit.core.backend import *  # noqa: F403

sys.modules[__name__] = _moved
