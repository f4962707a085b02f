"""The application factory: configuration, security headers, blueprints and error pages."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException

from screener import config

PACKAGE_DIR = Path(__file__).resolve().parent
log = logging.getLogger(__name__)

#: Strict CSP: self-hosted assets only, no inline script or style, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
HSTS = "max-age=31536000; includeSubDomains"

csrf = CSRFProtect()


def _asset_folder(name: str) -> str:
    """Inside the installed wheel first (force-included), else the repository's top level."""
    packaged = PACKAGE_DIR / name
    return str(packaged if packaged.is_dir() else PACKAGE_DIR.parent / name)


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=_asset_folder("templates"),
        static_folder=_asset_folder("static"),
    )
    app.config.from_mapping(config.load(overrides=overrides))
    csrf.init_app(app)

    from screener.web import api, public

    app.register_blueprint(public.bp)
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)  # stateless JSON for other systems: no cookies, nothing stored

    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    return app


def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if request.path.startswith("/api/") or response.mimetype == "text/html":
        # Answers and results must not linger in shared caches or a shared tablet's history.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _http_error(error: HTTPException) -> tuple[Response | str, int]:
    status = error.code or 500
    if _wants_json():
        return jsonify(errors=[{"field": "request", "message": error.description or error.name}]), status
    return render_template("errors/error.html", status=status, title=error.name, incident=None), status


def _unexpected_error(error: Exception) -> tuple[Response | str, int]:
    """Generic 500 with an incident ID to quote; the traceback goes to the log only."""
    incident = uuid.uuid4().hex[:12]
    log.exception("unhandled error, incident %s", incident)
    if _wants_json():
        return jsonify(errors=[{"field": "request", "message": f"internal error, incident {incident}"}]), 500
    return render_template("errors/error.html", status=500, title="Something went wrong", incident=incident), 500
