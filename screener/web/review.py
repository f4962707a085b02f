"""Clinician review: the queue, a screening's detail and explanation, sign-off, re-evaluation."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("review", __name__, url_prefix="/staff")
