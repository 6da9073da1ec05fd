"""Alias of :mod:`paritykit.files.artifacts`, where this module moved."""

import sys

from paritykit.files import artifacts as _moved
from paritykit.files.artifacts import *  # noqa: F403

sys.modules[__name__] = _moved
