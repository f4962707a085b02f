"""Nurse intake: new intakes, amendments, finding a self-screen by its code; urgent alerts.

The blueprint lives in ``common``; importing the view modules registers their routes on it.
"""

from . import entry, lookup
from .common import bp

__all__ = ["bp", "entry", "lookup"]
