"""Pages and endpoints that need no account and hold no answers: health, readiness, language choice."""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote, urlsplit

from flask import Blueprint, abort, jsonify, redirect, request, session
from flask.typing import ResponseReturnValue

from screener.observability import readiness
from screener.rules import CURRENT_RULESET

bp = Blueprint("public", __name__)

#: The languages every patient-facing string is translated into.
LANGUAGES = {"en": "English", "es": "Español"}


def _plain_path(text: str) -> bool:
    """A path of this site as our own links write it: printable ASCII, one leading slash, no backslash.

    Browsers drop tabs and line breaks from a URL and read ``/\\`` like ``//``, so ``/<tab>/evil`` is
    ``//evil``: another host. A line break in a ``Location`` header is a forged header (and a 500).
    """
    return (
        text.startswith("/")
        and not text.startswith("//")
        and "\\" not in text
        and all("!" <= char <= "~" for char in text)  # no spaces, controls, format or non-ASCII characters
    )


def safe_next(target: str | None, fallback: str = "/") -> str:
    """Only a path on this site: never another host (``//evil``, ``/\\evil``, ``https://evil``, ``/%09/evil``).

    Checked as sent and percent-decoded (``/%2F/evil``, ``/%09/evil``), so no later normalisation by a
    browser or proxy can turn it into another site; anything else gives ``fallback``.
    """
    if not target or not _plain_path(target):
        return fallback
    decoded = unquote(target)
    if decoded.startswith("//") or "\\" in decoded or any(unicodedata.category(char) == "Cc" for char in decoded):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    return target


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Liveness: the process answers (it touches no dependency)."""
    return jsonify(status="ok", ruleset_version=CURRENT_RULESET.version)


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    """Readiness: the database answers a trivial query, and Redis a ping when throttling uses it.

    Only the database decides readiness (503, naming it). Without Redis the app still serves: the
    limiter falls back to per-process counts (web/limits.py), so Redis is reported as "degraded".
    No error text (it stays in the log).
    """
    checks = readiness()
    failing = ["database"] if not checks["database"] else []
    degraded = sorted(name for name, ready in checks.items() if not ready and name != "database")
    body: dict[str, object] = {
        "status": "unavailable" if failing else ("degraded" if degraded else "ready"),
        "checks": {n: "ok" if r else ("failing" if n == "database" else "degraded") for n, r in checks.items()},
    }
    if failing:
        body["failing"] = failing
    return jsonify(body), 503 if failing else 200


@bp.post("/language")
def choose_language() -> ResponseReturnValue:
    language = request.form.get("lang", "")
    if language not in LANGUAGES:
        abort(400)
    session["lang"] = language
    return redirect(safe_next(request.form.get("next")))
