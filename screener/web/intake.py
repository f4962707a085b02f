"""Nurse intake: new intakes, finding a self-screen by its reference code, amendments; urgent alerts."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("intake", __name__, url_prefix="/staff")
