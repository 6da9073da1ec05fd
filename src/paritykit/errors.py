"""Alias of :mod:`paritykit.core.errors`, where this module moved."""

import sys

from paritykit.core import errors as _moved
from paritykit.core.errors import *  # noqa: F403

sys.modules[__name__] = _moved
