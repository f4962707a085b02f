"""Security checks for the public surface (security-reliability.md S-3, S-4, S-6, S-15, S-17, S-18)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.web.conftest import Patient
from tests.web.test_security_headers import assert_hardened

#: Endpoints that change state: they must refuse GET (S-3).
STATE_CHANGING = {
    "patient.begin",
    "patient.start_again",
    "patient.keep_alive",
    "patient.save_section",
    "patient.preview_section",
    "patient.submit",
    "patient.save_for_later",
    "public.choose_language",
    "api.evaluate",
}
#: Every endpoint anyone may reach without an account: the public side of the product.
PUBLIC = STATE_CHANGING | {
    "static",
    "public.healthz",
    "public.readyz",
    "patient.start",
    "patient.about",
    "patient.contact",  # GET shows the offer, POST keeps it (like resume)
    "patient.section",
    "patient.check",
    "patient.result",
    "patient.saved",
    "patient.resume",
    "api.questionnaire",
    "auth.login",
}


def test_public_endpoints_are_exactly_the_known_list(app: Flask) -> None:
    from screener.web.access import PUBLIC_ENDPOINTS

    assert PUBLIC_ENDPOINTS == PUBLIC
    assert {rule.endpoint for rule in app.url_map.iter_rules()} >= PUBLIC


def test_every_other_endpoint_declares_its_roles(app: Flask) -> None:
    """Deny by default (S-8): a view without ``@requires`` would answer 403 to everyone."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint not in PUBLIC:
            roles = getattr(app.view_functions[rule.endpoint], "required_roles", None)
            assert roles, f"{rule.endpoint} declares no roles"


def test_state_changes_refuse_get(app: Flask) -> None:
    """S-3: an endpoint that writes is POST-only."""
    endpoints = {rule.endpoint: rule for rule in app.url_map.iter_rules()}
    for endpoint in STATE_CHANGING | {"auth.logout"}:
        assert "GET" not in (endpoints[endpoint].methods or set()), endpoint


@pytest.mark.parametrize(
    "path", ["/", "/questions/A", "/check", "/result", "/resume", "/saved", "/about-isotretinoin", "/nope"]
)
def test_patient_pages_are_hardened_and_never_cached(patient: Patient, path: str) -> None:
    patient.start()
    response = patient.get(path)
    assert_hardened(response.headers)
    assert response.headers["Cache-Control"] == "no-store"


def test_session_cookie_is_http_only_and_same_site(client: FlaskClient) -> None:
    response = client.get("/")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_a_body_over_the_cap_is_refused(patient: Patient) -> None:
    patient.start()
    patient.get("/questions/A")
    response = patient.post("/questions/A", {"age_years": "1" * 70_000})
    assert response.status_code == 413


def test_too_many_form_parts_are_refused(patient: Patient) -> None:
    patient.start()
    patient.get("/questions/C")
    response = patient.post("/questions/C", {"sites": ["face"] * 2000}, content_type="multipart/form-data")
    assert response.status_code == 413


@pytest.mark.parametrize(
    "typed", ['"><script>alert(1)</script>', "{{ 7*7 }}", "' onmouseover='alert(1)", "javascript:alert(1)"]
)
def test_typed_text_is_shown_back_escaped_and_literally(patient: Patient, typed: str) -> None:
    patient.start()
    html = patient.answer("A", {"completed_by": "self", "age_years": typed}).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "onmouseover='alert" not in html
    assert "49" not in html.split('id="age_years"')[1].split(">")[0]
    resume = patient.post("/resume", {"code": typed}).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in resume


def test_unknown_section_is_404(patient: Patient) -> None:
    patient.start()
    assert patient.get("/questions/N").status_code == 404  # staff-only section
    assert patient.post("/questions/Z", {}).status_code == 404


def test_cross_site_posts_over_https_are_refused(patient: Patient, app: Flask) -> None:
    """S-2: over HTTPS, a form post must come from this site (Flask-WTF's strict referrer check)."""
    https = "https://clinic.example"
    patient.get("/", base_url=https)
    foreign = patient.post("/start", headers={"Referer": "https://evil.example/form"}, base_url=https)
    missing = patient.post("/start", base_url=https)
    assert foreign.status_code == 400
    assert missing.status_code == 400
    same_site = patient.post("/start", headers={"Referer": "https://clinic.example/"}, base_url=https)
    assert same_site.status_code == 302
