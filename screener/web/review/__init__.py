"""Clinician review: the queue, a screening's detail and explanation, sign-off, re-evaluation."""

from .views import bp

__all__ = ["bp"]
