"""Pages and endpoints that need no account and hold no answers: health, language choice."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, redirect, request, session
from flask.typing import ResponseReturnValue

from screener.rules import CURRENT_RULESET

bp = Blueprint("public", __name__)

#: The languages every patient-facing string is translated into.
LANGUAGES = {"en": "English", "es": "Español"}


def safe_next(target: str | None, fallback: str = "/") -> str:
    """Only a path on this site: never another host (``//evil``, ``/\\evil``, ``https://evil``)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or "\\" in target:
        return fallback
    return target


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok", ruleset_version=CURRENT_RULESET.version)


@bp.post("/language")
def choose_language() -> ResponseReturnValue:
    language = request.form.get("lang", "")
    if language not in LANGUAGES:
        abort(400)
    session["lang"] = language
    return redirect(safe_next(request.form.get("next")))
