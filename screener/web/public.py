"""Public pages that need no account."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from flask.typing import ResponseReturnValue

from screener.rules import CURRENT_RULESET

bp = Blueprint("public", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    return render_template("public/index.html")


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok", ruleset_version=CURRENT_RULESET.version)
