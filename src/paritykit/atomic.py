"""Alias of :mod:`paritykit.files.atomic`, where this module moved."""

import sys

from paritykit.files import atomic as _moved
from paritykit.files.atomic import *  # noqa: F403

sys.modules[__name__] = _moved
