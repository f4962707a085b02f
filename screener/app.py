"""The application factory: configuration, extensions, security headers, blueprints, errors."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Request, Response, current_app, g, jsonify, render_template, request, session
from flask_babel import Babel, get_locale, get_translations
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge
from werkzeug.formparser import FormDataParser
from werkzeug.middleware.proxy_fix import ProxyFix

from screener import config, db, observability
from screener.rules import CRISIS_CONTACTS, patient_texts
from screener.web.ids import RowIdConverter

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
    # same-origin: our own HTTPS form posts carry the Referer that the CSRF check requires (S-2),
    # and no address leaves for another site.
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
HSTS = "max-age=31536000; includeSubDomains"

csrf = CSRFProtect()
babel = Babel()


class _FormParser(FormDataParser):
    """Werkzeug caps the parts of a multipart body only: an urlencoded one gets the same cap here."""

    def _parse_urlencoded(self, *args: Any, **kwargs: Any) -> Any:
        stream, form, files = super()._parse_urlencoded(*args, **kwargs)
        if self.max_form_parts is not None and sum(len(values) for values in form.listvalues()) > self.max_form_parts:
            raise RequestEntityTooLarge()
        return stream, form, files


class ScreenerRequest(Request):
    """``MAX_FORM_PARTS`` (413 above it) holds for every form body, multipart and urlencoded alike."""

    form_data_parser_class = _FormParser


class NulCharacter(BadRequest):
    """A NUL character in a form field or URL parameter: nothing we store or look up can hold one."""

    description = "What was sent contains a character that cannot be used (NUL, code 0). Remove it and try again."


def _refuse_nul_characters() -> None:
    """No field of any form or query takes a NUL (PostgreSQL text cannot hold one): a clear 400, never a 500."""
    for source in (request.args, request.form):
        for name, value in source.items(multi=True):
            if "\x00" in name or (isinstance(value, str) and "\x00" in value):
                raise NulCharacter()


def _asset_folder(name: str) -> str:
    """Inside the installed wheel first (force-included), else the repository's top level."""
    packaged = PACKAGE_DIR / name
    return str(packaged if packaged.is_dir() else PACKAGE_DIR.parent / name)


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=_asset_folder("templates"),
        static_folder=_asset_folder("static"),
        instance_path=db.default_instance_path(),  # the same file `screener db upgrade` prepares
    )
    app.request_class = ScreenerRequest
    # Every <int:...> in a path is a row id within the database's range (else 404): screener.web.ids.
    app.url_map.converters["int"] = RowIdConverter
    app.config.from_mapping(config.load(overrides=overrides))
    app.config["AUDIT_KEY"] = config.audit_key(app.config, app.instance_path)
    observability.init_app(app)  # first: the request id and clock, before any other hook can answer
    if app.config["PROXY_COUNT"]:
        # Behind nginx: trust its X-Forwarded-For/-Proto, so throttling sees the client's address,
        # the audit trail records it, and HTTPS is recognised (HSTS, secure CSRF checks).
        proxies = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = db.default_database_url(app.instance_path)

    from screener.web import access, admin, api, auth, governance, intake, patient, public, review
    from screener.web.limits import limiter
    from screener.web.public import LANGUAGES

    app.before_request(_refuse_nul_characters)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    # Added to the environment by the i18n extension that Flask-Babel loads.
    app.jinja_env.install_gettext_callables(_template_gettext, _template_ngettext, newstyle=True)  # type: ignore[attr-defined]
    limiter.init_app(app)
    db.init_app(app)
    access.init_app(app)  # deny by default: before any view runs

    app.register_blueprint(public.bp)
    app.register_blueprint(patient.bp)
    app.register_blueprint(api.bp)
    for staff_blueprint in (auth.bp, review.bp, intake.bp, admin.bp, governance.bp):
        app.register_blueprint(staff_blueprint)
    csrf.exempt(api.bp)  # stateless JSON for other systems: no cookies, nothing stored

    @app.context_processor
    def page_context() -> dict[str, Any]:
        clinic = current_app.config["CLINIC_CONFIG"]
        return {
            "clinic_name": current_app.config["CLINIC_NAME"],
            "clinic_phone": current_app.config["CLINIC_PHONE"],
            # Clinical wording comes from the rule catalogue, in the clinic's jurisdiction.
            "jurisdiction": clinic.jurisdiction,
            "patient_texts": patient_texts,
            "crisis_contacts": CRISIS_CONTACTS[clinic.jurisdiction],
            "languages": LANGUAGES,
            "current_locale": str(get_locale() or "en"),
        }

    app.after_request(_security_headers)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(db.DatabaseUnavailable, _database_unavailable)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    return app


def _translations() -> Any:
    """This request's catalogue, looked up once: a page makes dozens of gettext calls."""
    found = g.get("_translations")
    if found is None:
        found = g._translations = get_translations()
    return found


def _template_gettext(text: str) -> str:
    return str(_translations().ugettext(text))


def _template_ngettext(singular: str, plural: str, number: int) -> str:
    return str(_translations().ungettext(singular, plural, number))


def _select_locale() -> str:
    """The language chosen on the page, else the browser's preference, else English."""
    from screener.web.public import LANGUAGES

    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(list(LANGUAGES), default="en") or "en"


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


def _error_page(status: int, title: str, message: str) -> tuple[Response | str, int]:
    """Every error page shows the request id: quoted by the person, it finds the log line."""
    if _wants_json():
        return jsonify(errors=[{"field": "request", "message": message}]), status
    request_id = observability.request_id()
    return render_template(
        "errors/error.html", status=status, title=title, message=message, request_id=request_id
    ), status


def _http_error(error: HTTPException) -> tuple[Response | str, int]:
    status = error.code or 500
    titles = {
        400: _("Something was wrong with the request"),
        404: _("Page not found"),
        405: _("That did not work"),
        413: _("Too much was sent"),
        429: _("Too many attempts"),
    }
    messages = {
        404: _("We could not find that page. Check the address, or go back to the start page."),
        405: _("That page cannot be used like this. Go back and try again."),
        413: _("What was sent is too large. Go back and try again."),
        429: _("Too many attempts. Wait a few minutes, then try again."),
    }
    if _wants_json():
        return _error_page(status, error.name, error.description or error.name)
    if isinstance(error, NulCharacter):
        return _error_page(
            status, titles[400], _("What was sent contains a character that cannot be used. Remove it and try again.")
        )
    return _error_page(
        status,
        titles.get(status, _("Something was wrong with the request")),
        messages.get(status, _("We could not handle that request. Go back and try again.")),
    )


def _csrf_error(error: CSRFError) -> tuple[Response | str, int]:
    return _error_page(
        400,
        _("This page has expired"),
        _("For your security, forms expire. Go back, reload the page and try again. Your saved answers are kept."),
    )


def _database_unavailable(error: db.DatabaseUnavailable) -> tuple[Response | str, int]:
    log.warning("database unavailable: %s", type(error.__cause__).__name__)
    return _error_page(
        503,
        _("Sorry, the service is busy"),
        _("Nothing was saved from your last step. Wait a moment, then try again."),
    )


def _unexpected_error(error: Exception) -> tuple[Response | str, int]:
    """Generic 500 with the request id to quote; the exception's type and stack go to the log only."""
    # The record carries the exception's type and frames only, never the exception: its message may
    # quote what was typed, and any handler could print it.
    log.error("unhandled error", extra={"fields": observability.exception_fields(error)})
    return _error_page(
        500,
        _("Sorry, something went wrong"),
        _("Please try again. If it keeps happening, tell a member of staff this reference."),
    )
