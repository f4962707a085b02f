"""Strict security headers on every response, error pages included; generic error pages."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

REQUIRED = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def assert_hardened(headers: dict[str, str] | object) -> None:
    csp = headers["Content-Security-Policy"]  # type: ignore[index]
    for directive in ("frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'", "script-src 'self'"):
        assert directive in csp
    assert "unsafe-inline" not in csp
    for name, value in REQUIRED.items():
        assert headers[name] == value  # type: ignore[index]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 200),
        ("GET", "/healthz", 200),
        ("GET", "/api/v1/questionnaire", 200),
        ("GET", "/no/such/page", 404),
        ("POST", "/", 405),
        ("POST", "/api/v1/evaluate", 415),
    ],
)
def test_every_response_has_the_security_headers(client: FlaskClient, method: str, path: str, status: int) -> None:
    response = client.open(path, method=method)
    assert response.status_code == status
    assert_hardened(response.headers)


def test_hsts_only_over_https(client: FlaskClient) -> None:
    assert "Strict-Transport-Security" not in client.get("/").headers
    secure = client.get("/", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_an_unexpected_error_gives_a_generic_page_with_an_incident_id(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from screener.web import access

    app.config["PROPAGATE_EXCEPTIONS"] = False
    monkeypatch.setattr(access, "PUBLIC_ENDPOINTS", access.PUBLIC_ENDPOINTS | {"boom"})

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert b"secret internals" not in response.data
    assert b"Traceback" not in response.data
    assert b"this reference" in response.data
    assert_hardened(response.headers)


def test_html_pages_are_not_cached(client: FlaskClient) -> None:
    assert client.get("/").headers["Cache-Control"] == "no-store"


def test_behind_a_proxy_https_and_the_client_address_are_recognised(database_url: str) -> None:
    from screener.app import create_app

    proxied = create_app({"TESTING": True, "DATABASE_URL": database_url, "PROXY_COUNT": 1})
    try:
        response = proxied.test_client().get(
            "/healthz", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
        )
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    finally:
        proxied.extensions["screener.db"].dispose()
