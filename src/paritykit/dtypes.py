"""Alias of :mod:`paritykit.core.dtypes`, where this module moved."""

import sys

from paritykit.core import dtypes as _moved
from paritykit.core.dtypes import *  # noqa: F403

sys.modules[__name__] = _moved
