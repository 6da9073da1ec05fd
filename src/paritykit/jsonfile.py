"""Alias of :mod:`paritykit.files.jsonfile`, where this module moved."""

import sys

from paritykit.files import jsonfile as _moved
from paritykit.files.jsonfile import *  # noqa: F403

sys.modules[__name__] = _moved
